/* api.c - the playground's entry points for JavaScript (docs/PLAYGROUND.md).
 * One network at a time lives here: its data (generated from the seed, or a
 * CSV read by the library's reader), model, optimizer and trainer. Every
 * number the page shows comes from the library through these functions; the
 * page itself computes nothing of the network. Compiled by emcc with the
 * library (Makefile, playground-site); each pg_* is exported to JavaScript.
 * Returns follow the library: 0 is success, else pg_error() has the message. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define PG_API EMSCRIPTEN_KEEPALIVE
#else
#define PG_API
#endif

#define PG_FEATURES 7  /* x1 x2 x1^2 x2^2 x1x2 sin x1 sin x2 (bit i of the mask) */
#define PG_MAX_POINTS 100000
#define PG_MAX_CSV_INPUTS 256
#define PG_PI 3.14159265358979323846
#define PG_HALF 6.0    /* the built-in plane is [-6, 6]^2; data lie within 5 */

enum { PG_XOR, PG_CIRCLE, PG_SPIRAL, PG_GAUSS, PG_CHECKER, PG_CURVE, PG_CSV };
enum { PG_OUT_SIGMOID, PG_OUT_SOFTMAX, PG_OUT_LINEAR };

typedef struct pg_data {
    int kind;           /* PG_* */
    int raw_in;         /* raw columns per point: 2 built in, CSV: its inputs */
    int classes;        /* 2 built in (0 for the curve), CSV: its labels (0: regression) */
    size_t n;           /* points */
    bp_real *raw;       /* (n, raw_in) */
    bp_real *target;    /* (n): class index, or the value */
    char **labels;      /* CSV class names (classes of them), else NULL */
    char **names;       /* CSV column names (raw_in), else NULL */
} pg_data;

typedef struct pg_net {
    bp_model *m;
    bp_optim *o;
    bp_trainer *t;
    int mask, output, axes[2];
    size_t ntr, nte;
    bp_real *ftr, *fte;     /* features before normalization (n, inputs) */
    bp_real *xtr, *xte;     /* normalized: what the model trains on */
    bp_real *ytr, *yte;     /* (n, outputs) */
    size_t *idx_tr, *idx_te;/* their points in the data */
    bp_real *grid;          /* (res*res, inputs), normalized */
    int grid_res;
    bp_real lo[2], hi[2];   /* the plane drawn */
    bp_real *center;        /* CSV: the normalized training mean (all 0) of the other columns */
} pg_net;

static pg_data D;            /* the data of the network on the page */
static pg_data P;            /* data read or generated for the next pg_configure(.., 1) */
static pg_net N;             /* the network on the page */
static char err[1024];
static bp_real *buf;         /* scratch handed to JavaScript (pg_buffer) */
static size_t buf_len;
static bp_real *zbuf[BP_MAX_LAYERS];  /* pg_inspect: each layer's z for one point */
static bp_real *gfull;       /* pg_inspect: the training set's gradient */
static bp_real *upd;         /* pg_inspect: the optimizer's update of each parameter */

static int fail(const char *msg)
{
    snprintf(err, sizeof err, "%s", msg && *msg ? msg : "failed");
    return 1;
}

static int lib_fail(const char *what)
{
    snprintf(err, sizeof err, "%s: %s", what, bp_last_error());
    return 1;
}

PG_API const char *pg_error(void) { return err; }

/* A buffer of n reals that JavaScript fills or reads (grown, never shrunk). */
PG_API bp_real *pg_buffer(size_t n)
{
    if (n > buf_len) {
        bp_real *b = realloc(buf, n * sizeof *b);
        if (!b) return NULL;
        buf = b;
        buf_len = n;
    }
    return buf;
}

/* ------------------------------------------------------------------ data */

static void data_free(pg_data *d)
{
    for (int i = 0; d->labels && i < d->classes; i++) free(d->labels[i]);
    for (int i = 0; d->names && i < d->raw_in; i++) free(d->names[i]);
    free(d->labels);
    free(d->names);
    free(d->raw);
    free(d->target);
    memset(d, 0, sizeof *d);
}

static double nrm(bp_rng *r) { return bp_rng_normal(r); }
static double unif(bp_rng *r, double a, double b) { return a + (b - a) * bp_rng_uniform(r); }

/* Point i of n of a built-in set, before shuffling: (x1, x2) and its target. */
static void gen_point(int kind, size_t i, size_t n, double noise, bp_rng *r, double *p, double *t)
{
    int c = (int)(i % 2);
    switch (kind) {
    case PG_XOR: { /* the notes' four points, as clusters: class 1 where the signs differ */
        int q = (int)(i % 4);
        double sx = (q & 1) ? 2.5 : -2.5, sy = (q & 2) ? 2.5 : -2.5, sd = 0.4 + 1.6 * noise;
        p[0] = sx + sd * nrm(r);
        p[1] = sy + sd * nrm(r);
        *t = (sx > 0) != (sy > 0);
        return;
    }
    case PG_CIRCLE: { /* class 1 inside radius 2, class 0 on the ring 3..5 */
        double rad = c ? unif(r, 0, 2) : unif(r, 3, 5), a = unif(r, 0, 2 * PG_PI);
        p[0] = rad * sin(a) + 2.0 * noise * nrm(r);
        p[1] = rad * cos(a) + 2.0 * noise * nrm(r);
        *t = c;
        return;
    }
    case PG_SPIRAL: { /* two arms, half a turn apart */
        double k = (double)(i / 2) / (double)((n + 1) / 2), rad = 5 * k;
        double a = 1.75 * k * 2 * PG_PI + (c ? PG_PI : 0);
        p[0] = rad * sin(a) + 1.5 * noise * nrm(r);
        p[1] = rad * cos(a) + 1.5 * noise * nrm(r);
        *t = c;
        return;
    }
    case PG_GAUSS: {
        double m = c ? 2 : -2, sd = 0.7 + 2.0 * noise;
        p[0] = m + sd * nrm(r);
        p[1] = m + sd * nrm(r);
        *t = c;
        return;
    }
    case PG_CHECKER: { /* 4 x 4 squares of side 2.5 */
        p[0] = unif(r, -5, 5);
        p[1] = unif(r, -5, 5);
        int cx = (int)floor(p[0] / 2.5), cy = (int)floor(p[1] / 2.5);
        *t = ((cx + cy) % 2 + 2) % 2;
        p[0] += noise * nrm(r);
        p[1] += noise * nrm(r);
        return;
    }
    default: { /* curve: y = 2 sin(x1) + x1 / 2 (+ noise), drawn as the point (x1, y) */
        p[0] = unif(r, -5, 5);
        p[1] = 2 * sin(p[0]) + p[0] / 2 + 2.0 * noise * nrm(r);
        *t = p[1];
        return;
    }
    }
}

/* Generates a built-in set of n points, shuffled, all from seed. */
PG_API int pg_generate(int kind, int n, double noise, unsigned seed)
{
    if (kind < PG_XOR || kind > PG_CURVE) return fail("unknown dataset");
    if (n < 4 || n > PG_MAX_POINTS) return fail("points must be 4..100000");
    if (!(noise >= 0 && noise <= 1)) return fail("noise must be in [0, 1]");
    pg_data d = {.kind = kind, .raw_in = 2, .classes = kind == PG_CURVE ? 0 : 2, .n = (size_t)n};
    d.raw = malloc((size_t)n * 2 * sizeof *d.raw);
    d.target = malloc((size_t)n * sizeof *d.target);
    if (!d.raw || !d.target) {
        data_free(&d);
        return fail("out of memory");
    }
    bp_rng r;
    bp_rng_seed(&r, (uint64_t)seed * 2654435761u + 17);
    for (size_t i = 0; i < d.n; i++) {
        double p[2], t;
        gen_point(kind, i, d.n, noise, &r, p, &t);
        d.raw[2 * i] = (bp_real)p[0];
        d.raw[2 * i + 1] = (bp_real)p[1];
        d.target[i] = (bp_real)t;
    }
    for (size_t i = d.n - 1; i > 0; i--) { /* Fisher-Yates, so that any split is mixed */
        size_t j = (size_t)bp_rng_below(&r, i + 1);
        bp_real t0 = d.raw[2 * i], t1 = d.raw[2 * i + 1], tt = d.target[i];
        d.raw[2 * i] = d.raw[2 * j], d.raw[2 * i + 1] = d.raw[2 * j + 1], d.target[i] = d.target[j];
        d.raw[2 * j] = t0, d.raw[2 * j + 1] = t1, d.target[j] = tt;
    }
    data_free(&P);
    P = d;
    return 0;
}

static char *dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

/* Reads the CSV file at path (MEMFS) with the library's reader; the target
 * column by name (NULL or "": the last column). Every other column is an
 * input. On failure the data stay as they were. */
PG_API int pg_load_csv(const char *path, const char *target, int target_index)
{
    bp_csv_options o = bp_csv_options_default();
    if (target && *target) o.target_name = target;
    else o.target_index = target_index;
    bp_dataset *s;
    if (bp_dataset_load_csv(&s, path, &o)) return lib_fail("CSV");
    int in = bp_dataset_inputs(s), out = bp_dataset_outputs(s);
    size_t n = bp_dataset_count(s);
    if (in > PG_MAX_CSV_INPUTS) {
        bp_dataset_free(s);
        snprintf(err, sizeof err, "CSV: %d input columns; the playground takes at most %d", in,
                 PG_MAX_CSV_INPUTS);
        return 1;
    }
    if (n < 4 || n > PG_MAX_POINTS) {
        bp_dataset_free(s);
        snprintf(err, sizeof err, "CSV: %zu rows; the playground takes 4 to %d", n, PG_MAX_POINTS);
        return 1;
    }
    pg_data d = {.kind = PG_CSV, .raw_in = in, .classes = bp_dataset_label_count(s), .n = n};
    d.raw = malloc(n * (size_t)in * sizeof *d.raw);
    d.target = malloc(n * sizeof *d.target);
    d.labels = d.classes ? calloc((size_t)d.classes, sizeof *d.labels) : NULL;
    int ok = d.raw && d.target && (!d.classes || d.labels);
    for (int i = 0; ok && i < d.classes; i++) ok = (d.labels[i] = dup(bp_dataset_label(s, i))) != 0;
    if (!ok) {
        bp_dataset_free(s);
        data_free(&d);
        return fail("out of memory");
    }
    memcpy(d.raw, bp_dataset_x(s), n * (size_t)in * sizeof *d.raw);
    const bp_real *y = bp_dataset_y(s);
    for (size_t i = 0; i < n; i++) {
        const bp_real *yi = y + i * (size_t)out;
        int best = 0;
        for (int j = 1; j < out; j++)
            if (yi[j] > yi[best]) best = j;
        d.target[i] = d.classes ? (bp_real)best : yi[0];
    }
    bp_dataset_free(s);
    data_free(&P);
    P = d;
    return 0;
}

/* The data on the page (pending 0) or the data read for the next configure (1). */
PG_API int pg_data_kind(int pending) { return (pending ? &P : &D)->kind; }
PG_API int pg_data_inputs(int pending) { return (pending ? &P : &D)->raw_in; }
PG_API int pg_data_classes(int pending) { return (pending ? &P : &D)->classes; }
PG_API int pg_data_count(int pending) { return (int)(pending ? &P : &D)->n; }
PG_API bp_real *pg_data_raw(void) { return D.raw; }
PG_API bp_real *pg_data_target(void) { return D.target; }
PG_API const char *pg_data_label(int pending, int i)
{
    const pg_data *d = pending ? &P : &D;
    return d->labels && i >= 0 && i < d->classes ? d->labels[i] : "";
}

/* ------------------------------------------------------------- features */

static int feature_count(int mask)
{
    int k = 0;
    for (int i = 0; i < PG_FEATURES; i++) k += (mask >> i) & 1;
    return k;
}

/* The features of raw points p (n, raw_in) into f (n, inputs). */
static void features(const pg_data *d, int mask, const bp_real *p, size_t n, bp_real *f)
{
    if (d->kind == PG_CSV) {
        memcpy(f, p, n * (size_t)d->raw_in * sizeof *f);
        return;
    }
    int k = feature_count(mask);
    for (size_t i = 0; i < n; i++) {
        double x1 = p[2 * i], x2 = d->kind == PG_CURVE ? 0 : p[2 * i + 1];
        double v[PG_FEATURES] = {x1, x2, x1 * x1, x2 * x2, x1 * x2, sin(x1), sin(x2)};
        bp_real *fi = f + i * (size_t)k;
        for (int j = 0, o = 0; j < PG_FEATURES; j++)
            if ((mask >> j) & 1) fi[o++] = (bp_real)v[j];
    }
}

/* ---------------------------------------------------------------- network */

static void net_free(pg_net *s)
{
    bp_trainer_free(s->t);
    bp_optim_free(s->o);
    bp_model_free(s->m);
    free(s->ftr), free(s->fte), free(s->xtr), free(s->xte), free(s->ytr), free(s->yte);
    free(s->idx_tr), free(s->idx_te), free(s->grid), free(s->center);
    memset(s, 0, sizeof *s);
}

static void targets(const pg_data *d, const size_t *idx, size_t n, int out, bp_real *y)
{
    for (size_t i = 0; i < n; i++) {
        bp_real t = d->target[idx[i]];
        bp_real *yi = y + i * (size_t)out;
        if (out == 1) yi[0] = t;
        else for (int j = 0; j < out; j++) yi[j] = (bp_real)(j == (int)t);
    }
}

/* The normalization: built in, a fixed scale per feature (|x| <= 6 -> about
 * [-1, 1]), so that any seed draws the same; CSV, standardized on training. */
static int set_norm(pg_net *s, const pg_data *d, int in)
{
    bp_real shift[PG_MAX_CSV_INPUTS], scale[PG_MAX_CSV_INPUTS];
    if (d->kind == PG_CSV) {
        bp_dataset *tr;
        if (bp_dataset_create(&tr, s->ntr, in, 0)) return lib_fail("normalization");
        memcpy(bp_dataset_x(tr), s->ftr, s->ntr * (size_t)in * sizeof(bp_real));
        bp_status st = bp_normalization_compute(tr, BP_NORM_STANDARD, shift, scale);
        bp_dataset_free(tr);
        if (st) return lib_fail("normalization");
    } else {
        static const double sc[PG_FEATURES] = {0.2, 0.2, 0.08, 0.08, 0.08, 1, 1};
        for (int j = 0, o = 0; j < PG_FEATURES; j++)
            if ((s->mask >> j) & 1) shift[o] = 0, scale[o++] = (bp_real)sc[j];
    }
    if (bp_model_set_normalization(s->m, shift, scale)) return lib_fail("normalization");
    return 0;
}

static int split_data(pg_net *s, const pg_data *d, double frac, int in, int out)
{
    size_t ntr = (size_t)llround(frac * (double)d->n);
    if (ntr < 1 || ntr >= d->n) return fail("trainFraction leaves no training or no test points");
    s->ntr = ntr, s->nte = d->n - ntr;
    s->idx_tr = malloc(ntr * sizeof(size_t)), s->idx_te = malloc(s->nte * sizeof(size_t));
    s->ftr = malloc(ntr * in * sizeof(bp_real)), s->fte = malloc(s->nte * in * sizeof(bp_real));
    s->xtr = malloc(ntr * in * sizeof(bp_real)), s->xte = malloc(s->nte * in * sizeof(bp_real));
    s->ytr = malloc(ntr * out * sizeof(bp_real)), s->yte = malloc(s->nte * out * sizeof(bp_real));
    bp_real *p = malloc((size_t)d->raw_in * sizeof(bp_real));
    if (!s->idx_tr || !s->idx_te || !s->ftr || !s->fte || !s->xtr || !s->xte || !s->ytr ||
        !s->yte || !p) {
        free(p);
        return fail("out of memory");
    }
    for (size_t i = 0; i < d->n; i++) {
        int tr = i < ntr;
        size_t k = tr ? i : i - ntr;
        (tr ? s->idx_tr : s->idx_te)[k] = i;
        features(d, s->mask, d->raw + i * (size_t)d->raw_in, 1, (tr ? s->ftr : s->fte) + k * in);
    }
    free(p);
    targets(d, s->idx_tr, ntr, out, s->ytr);
    targets(d, s->idx_te, s->nte, out, s->yte);
    return 0;
}

static int build_model(pg_net *s, const pg_data *d, int n_hidden, const int *widths,
                       const int *acts, int in, int out, int init, unsigned seed)
{
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = n_hidden + 1;
    mc.sizes[0] = in;
    for (int l = 0; l < n_hidden; l++) mc.sizes[l + 1] = widths[l], mc.act[l] = acts[l];
    mc.sizes[n_hidden + 1] = out;
    mc.act[n_hidden] = s->output == PG_OUT_SIGMOID ? BP_ACT_SIGMOID
                       : s->output == PG_OUT_SOFTMAX ? BP_ACT_SOFTMAX : BP_ACT_IDENTITY;
    mc.loss = s->output == PG_OUT_SIGMOID ? BP_LOSS_BCE
              : s->output == PG_OUT_SOFTMAX ? BP_LOSS_XENT : BP_LOSS_MSE;
    mc.init = init;
    mc.seed = seed;
    if (bp_model_create(&s->m, &mc)) return lib_fail("network");
    if (d->classes && s->output != PG_OUT_LINEAR) {
        static const char *const two[2] = {"0", "1"};
        const char *const *names = d->labels ? (const char *const *)d->labels : two;
        if (bp_model_set_labels(s->m, d->classes, names)) return lib_fail("labels");
    }
    return 0;
}

/* The plane drawn: built in, [-6, 6]^2; CSV, the range of the two columns. */
static void plane(pg_net *s, const pg_data *d)
{
    for (int a = 0; a < 2; a++) {
        if (d->kind != PG_CSV) {
            s->lo[a] = -PG_HALF, s->hi[a] = PG_HALF;
            continue;
        }
        bp_real lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < d->n; i++) {
            bp_real v = d->raw[i * (size_t)d->raw_in + s->axes[a]];
            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
        bp_real pad = (hi - lo) * (bp_real)0.05 + (bp_real)1e-3;
        s->lo[a] = lo - pad, s->hi[a] = hi + pad;
    }
}

/* Builds the whole network from the current data; the old one stays on any
 * failure. widths, acts: n_hidden each. opt: bp_optim_kind. */
PG_API int pg_configure(double frac, int mask, int n_hidden, const int *widths, const int *acts,
                        int output, int init, int opt, double lr, int batch, double l2,
                        unsigned seed, int ax0, int ax1, int pending)
{
    const pg_data *d = pending ? &P : &D;
    if (!d->n) return fail("no data");
    if (n_hidden < 0 || n_hidden > 8) return fail("layers: 0 to 8 hidden layers");
    for (int l = 0; l < n_hidden; l++) {
        if (widths[l] < 1 || widths[l] > 64) return fail("layers: each 1 to 64 units");
        if (acts[l] < BP_ACT_SIGMOID || acts[l] > BP_ACT_LEAKY_RELU)
            return fail("activation: sigmoid, tanh, relu or leaky_relu");
    }
    if (d->kind != PG_CSV && !(mask & 0x7f)) return fail("features: choose at least one");
    if (d->kind == PG_CURVE && (mask & 0x5a)) return fail("features: the curve has x1 alone");
    if (output == PG_OUT_LINEAR ? 0 : !d->classes)
        return fail("output: a regression target needs the linear output");
    if (output == PG_OUT_SIGMOID && d->classes > 2)
        return fail("output: more than two classes need softmax");
    if (!(lr > 0 && lr <= 10)) return fail("lr must be in (0, 10]");
    if (!(l2 >= 0 && l2 <= 10)) return fail("l2 must be in [0, 10]");
    if (batch < 1) return fail("batch must be at least 1");
    pg_net s = {.mask = mask & 0x7f, .output = output, .axes = {ax0, ax1}};
    if (ax0 < 0 || ax1 < 0 || ax0 >= d->raw_in || ax1 >= d->raw_in) return fail("axes out of range");
    int in = d->kind == PG_CSV ? d->raw_in : feature_count(s.mask);
    int out = output == PG_OUT_SOFTMAX ? d->classes : 1;
    int rc = split_data(&s, d, frac, in, out) ||
             build_model(&s, d, n_hidden, widths, acts, in, out, init, seed) ||
             set_norm(&s, d, in);
    if (!rc) {
        memcpy(s.xtr, s.ftr, s.ntr * in * sizeof(bp_real));
        memcpy(s.xte, s.fte, s.nte * in * sizeof(bp_real));
        bp_model_normalize(s.m, s.xtr, s.ntr);
        bp_model_normalize(s.m, s.xte, s.nte);
        bp_optim_config oc = bp_optim_config_default((bp_optim_kind)opt);
        oc.lr = lr;
        bp_train_config tc = bp_train_config_default();
        tc.batch_size = batch;
        tc.seed = seed;
        tc.l2 = l2;
        rc = bp_optim_create(&s.o, &oc, bp_model_param_count(s.m)) ? lib_fail("optimizer")
             : bp_trainer_create(&s.t, s.m, s.o, &tc)             ? lib_fail("trainer")
             : bp_model_reserve(s.m, batch < (int)s.ntr ? batch : (int)s.ntr) ? lib_fail("network")
                                                                         : 0;
    }
    if (!rc) {
        s.center = calloc((size_t)in, sizeof(bp_real));
        if (!s.center) rc = fail("out of memory");
    }
    if (rc) {
        net_free(&s);
        return 1;
    }
    plane(&s, d);
    net_free(&N);
    N = s;
    if (pending) {
        data_free(&D);
        D = P;
        memset(&P, 0, sizeof P);
    }
    return 0;
}

/* ---------------------------------------------------------------- training */

/* One mini-batch: the trainer is asked to stop after its current batch, so
 * bp_trainer_epoch runs exactly one (and resumes there the next time). */
PG_API int pg_step(int n)
{
    if (!N.t) return fail("no network");
    bp_epoch_stats st;
    for (int i = 0; i < n; i++) {
        bp_trainer_request_stop(N.t);
        bp_status s = bp_trainer_epoch(N.t, N.xtr, N.ytr, N.ntr, &st);
        if (s && s != BP_ERR_INTERRUPTED) return lib_fail("training");
    }
    return 0;
}

/* n whole epochs, or the rest of the running one and n - 1 more. */
PG_API int pg_epoch(int n)
{
    if (!N.t) return fail("no network");
    bp_epoch_stats st;
    for (int i = 0; i < n; i++)
        if (bp_trainer_epoch(N.t, N.xtr, N.ytr, N.ntr, &st)) return lib_fail("training");
    return 0;
}

/* stats: epoch, steps, train loss, test loss, train accuracy, test accuracy
 * (-1: regression), into the first 6 reals of pg_buffer. */
PG_API bp_real *pg_stats(void)
{
    static double v[6];
    bp_real *b = pg_buffer(6);
    if (!N.t || !b) return NULL;
    v[0] = bp_trainer_epochs_done(N.t);
    v[1] = (double)bp_optim_steps(N.o);
    if (bp_model_evaluate(N.m, N.xtr, N.ytr, N.ntr, 0, &v[2], &v[4]) ||
        bp_model_evaluate(N.m, N.xte, N.yte, N.nte, 0, &v[3], &v[5]))
        return lib_fail("evaluate"), NULL;
    for (int i = 0; i < 6; i++) b[i] = (bp_real)v[i];
    return b;
}

/* Separate doubles for the exact counters (bp_real float rounds past 2^24). */
PG_API double pg_epochs(void) { return N.t ? bp_trainer_epochs_done(N.t) : 0; }
PG_API double pg_steps(void) { return N.o ? (double)bp_optim_steps(N.o) : 0; }

/* Outputs for n raw points p (n, raw_in) into out (n, outputs). */
PG_API int pg_predict(const bp_real *p, int n, bp_real *out)
{
    if (!N.m) return fail("no network");
    int in = bp_model_inputs(N.m);
    bp_real *f = malloc((size_t)n * in * sizeof *f);
    if (!f) return fail("out of memory");
    features(&D, N.mask, p, (size_t)n, f);
    bp_model_normalize(N.m, f, (size_t)n);
    int rc = bp_model_predict(N.m, f, (size_t)n, 0, out) ? lib_fail("predict") : 0;
    free(f);
    return rc;
}

PG_API int pg_inputs(void) { return N.m ? bp_model_inputs(N.m) : 0; }
PG_API int pg_outputs(void) { return N.m ? bp_model_outputs(N.m) : 0; }
PG_API int pg_train_count(void) { return (int)N.ntr; }
PG_API int pg_test_count(void) { return (int)N.nte; }
PG_API size_t *pg_train_index(void) { return N.idx_tr; }
PG_API size_t *pg_test_index(void) { return N.idx_te; }
PG_API bp_real *pg_plane(void)
{
    bp_real *b = pg_buffer(4);
    if (b) b[0] = N.lo[0], b[1] = N.hi[0], b[2] = N.lo[1], b[3] = N.hi[1];
    return b;
}

/* ------------------------------------------------------------- pictures */

/* Runs the network over a res x res grid of the plane (row 0 at the top:
 * the largest second coordinate), so that pg_layer_out(l) holds every
 * neuron's output there, (res*res, width of l). */
PG_API int pg_grid_forward(int res)
{
    if (!N.m || res < 2 || res > 256) return fail("grid");
    int in = bp_model_inputs(N.m);
    if (res != N.grid_res) {
        bp_real *g = realloc(N.grid, (size_t)res * res * in * sizeof *g);
        if (!g) return fail("out of memory");
        N.grid = g, N.grid_res = res;
    }
    bp_real p[2 * 256];
    for (int r = 0; r < res; r++) {
        bp_real v = N.hi[1] - (N.hi[1] - N.lo[1]) * (bp_real)r / (bp_real)(res - 1);
        for (int c = 0; c < res; c++) {
            bp_real u = N.lo[0] + (N.hi[0] - N.lo[0]) * (bp_real)c / (bp_real)(res - 1);
            bp_real *g = N.grid + ((size_t)r * res + c) * in;
            if (D.kind == PG_CSV) { /* the other columns at their training mean */
                memcpy(g, N.center, (size_t)in * sizeof *g);
                const bp_real *sh = bp_model_norm_shift(N.m), *sc = bp_model_norm_scale(N.m);
                g[N.axes[0]] = (u - sh[N.axes[0]]) * sc[N.axes[0]];
                g[N.axes[1]] = (v - sh[N.axes[1]]) * sc[N.axes[1]];
            } else {
                p[2 * c] = u, p[2 * c + 1] = v;
            }
        }
        if (D.kind != PG_CSV) {
            bp_real *row = N.grid + (size_t)r * res * in;
            features(&D, N.mask, p, (size_t)res, row);
            bp_model_normalize(N.m, row, (size_t)res);
        }
    }
    if (bp_model_forward(N.m, N.grid, res * res, NULL)) return lib_fail("forward");
    return 0;
}

/* The outputs of layer l (0-based; the last is the network's) of the last
 * forward, (batch, width): the model's own workspace. */
PG_API bp_real *pg_layer_out(int l) { return N.m && l >= 0 && l < N.m->cfg.n_layers ? N.m->acts[l] : NULL; }
PG_API bp_real *pg_grid_inputs(void) { return N.grid; }
PG_API int pg_layers(void) { return N.m ? N.m->cfg.n_layers : 0; }
PG_API int pg_width(int l) { return N.m ? N.m->cfg.sizes[l] : 0; }
PG_API int pg_act(int l) { return N.m ? N.m->cfg.act[l] : 0; }
PG_API bp_real *pg_weight(int l) { return N.m ? bp_model_weight(N.m, l) : NULL; }
PG_API bp_real *pg_bias(int l) { return N.m ? bp_model_bias(N.m, l) : NULL; }
PG_API int pg_param_count(void) { return N.m ? (int)bp_model_param_count(N.m) : 0; }
PG_API bp_real *pg_params(void) { return N.m ? bp_model_params(N.m) : NULL; }

/* ------------------------------------------------------------ the notes, live */

/* For training point i: the forward pass keeping each layer's z (pg_inspect_z)
 * and a (pg_layer_out), then the backward pass of that point alone, whose
 * gradient is dJ/dW = delta a_prev^T and dJ/db = delta (bp_model_weight_grad,
 * bp_model_bias_grad: for one point the bias gradient IS the layer's delta).
 * Before that, the gradient of the whole training set with the L2 term
 * (bp_trainer_objective) into pg_inspect_gfull, and the update the optimizer
 * would make with it into pg_inspect_update: a copy of the optimizer (its
 * configuration, step count and state) stepped on a copy of the parameters. */
PG_API int pg_inspect(int i)
{
    if (!N.m || i < 0 || (size_t)i >= N.ntr) return fail("inspect: no such training point");
    size_t np = bp_model_param_count(N.m);
    int L = N.m->cfg.n_layers, in = bp_model_inputs(N.m), out = bp_model_outputs(N.m);
    free(gfull), free(upd);
    gfull = malloc(np * sizeof *gfull), upd = malloc(np * sizeof *upd);
    bp_real *g2 = malloc(np * sizeof *g2);
    bp_optim *o2 = NULL;
    int rc = !gfull || !upd || !g2 ? fail("out of memory") : 0;
    double loss;
    if (!rc && bp_trainer_objective(N.t, N.xtr, N.ytr, N.ntr, &loss, NULL)) rc = lib_fail("gradient");
    if (!rc && bp_optim_create(&o2, bp_optim_cfg(N.o), np)) rc = lib_fail("optimizer");
    if (!rc) {
        memcpy(gfull, bp_model_grads(N.m), np * sizeof *gfull);
        memcpy(g2, gfull, np * sizeof *g2);
        memcpy(upd, bp_model_params(N.m), np * sizeof *upd);
        bp_optim_set_steps(o2, bp_optim_steps(N.o));
        for (int k = 0; k < bp_optim_state_count(N.o); k++)
            memcpy(bp_optim_state(o2, k), bp_optim_state(N.o, k), np * sizeof(bp_real));
        bp_optim_step(o2, upd, g2); /* a non-finite update shows as such */
        const bp_real *p = bp_model_params(N.m);
        for (size_t k = 0; k < np; k++) upd[k] -= p[k];
        for (int l = 0; l < L; l++) {
            free(zbuf[l]);
            if (!(zbuf[l] = malloc((size_t)N.m->cfg.sizes[l + 1] * sizeof(bp_real))))
                rc = fail("out of memory");
        }
    }
    if (!rc && bp__model_forward_keep(N.m, N.xtr + (size_t)i * in, 1, zbuf)) rc = lib_fail("forward");
    if (!rc) memcpy(zbuf[L - 1], N.m->logits, (size_t)out * sizeof(bp_real));
    if (!rc && bp_model_backward(N.m, N.ytr + (size_t)i * out, 1)) rc = lib_fail("backward");
    bp_optim_free(o2);
    free(g2);
    return rc;
}

PG_API bp_real *pg_inspect_z(int l) { return l >= 0 && l < BP_MAX_LAYERS ? zbuf[l] : NULL; }
PG_API bp_real *pg_inspect_gfull(void) { return gfull; }
PG_API bp_real *pg_inspect_update(void) { return upd; }
PG_API bp_real *pg_inspect_x(int i) { return N.xtr && i >= 0 && (size_t)i < N.ntr ? N.xtr + (size_t)i * bp_model_inputs(N.m) : NULL; }
PG_API bp_real *pg_inspect_y(int i) { return N.ytr && i >= 0 && (size_t)i < N.ntr ? N.ytr + (size_t)i * bp_model_outputs(N.m) : NULL; }
PG_API bp_real *pg_weight_grad(int l) { return N.m ? bp_model_weight_grad(N.m, l) : NULL; }
PG_API bp_real *pg_bias_grad(int l) { return N.m ? bp_model_bias_grad(N.m, l) : NULL; }
/* The optimizer's state slot k (pg_optim_state_name) and its step count. */
PG_API int pg_optim_state_count(void) { return N.o ? bp_optim_state_count(N.o) : 0; }
PG_API bp_real *pg_optim_state(int k) { return N.o ? bp_optim_state(N.o, k) : NULL; }
PG_API const char *pg_optim_state_name(int k) { return N.o ? bp_optim_state_name(N.o, k) : ""; }
PG_API double pg_optim_value(int which)
{
    if (!N.o) return 0;
    const bp_optim_config *c = bp_optim_cfg(N.o);
    double v[] = {c->lr, c->momentum, c->beta1, c->beta2, c->eps, (double)bp_optim_steps(N.o)};
    return which >= 0 && which < 6 ? v[which] : 0;
}

/* How far training point i's pre-activations of relu and leaky_relu units lie
 * from the kink at 0, in units of what one parameter moved by h can move them
 * (h times the layer's largest input, at least 1); z[l] holds the layer's z
 * for the candidates, a batch of c rows. */
static double kink_margin(bp_model *m, bp_real *const *z, const bp_real *x, int i, double h)
{
    double best = INFINITY;
    const bp_model_config *c = &m->cfg;
    for (int l = 0; l + 1 < c->n_layers; l++) {
        if (c->act[l] != BP_ACT_RELU && c->act[l] != BP_ACT_LEAKY_RELU) continue;
        int in = c->sizes[l], out = c->sizes[l + 1];
        const bp_real *ap = l ? m->acts[l - 1] + (size_t)i * in : x + (size_t)i * in;
        double amax = 1;
        for (int k = 0; k < in; k++) amax = fabs(ap[k]) > amax ? fabs(ap[k]) : amax;
        for (int j = 0; j < out; j++) {
            double r = fabs(z[l][(size_t)i * out + j]) / (h * amax);
            best = r < best ? r : best;
        }
    }
    return best;
}

/* The training points of the check: the first 4, or in a network with relu
 * or leaky_relu units the 4 (of the first 1000) whose pre-activations lie
 * farthest from the kink: a finite difference across it is wrong (the CLI's
 * help says as much), and that failure would be the check's, not
 * backpropagation's. idx gets m indices; returns m. */
static int check_points(size_t *idx, double h)
{
    int m = N.ntr < 4 ? (int)N.ntr : 4, L = N.m->cfg.n_layers, kinks = 0;
    for (int i = 0; i < m; i++) idx[i] = (size_t)i;
    for (int l = 0; l + 1 < L; l++) kinks |= N.m->cfg.act[l] == BP_ACT_RELU || N.m->cfg.act[l] == BP_ACT_LEAKY_RELU;
    if (!kinks) return m;
    int c = N.ntr < 1000 ? (int)N.ntr : 1000;
    bp_real *z[BP_MAX_LAYERS] = {0};
    double *marg = malloc((size_t)c * sizeof *marg);
    int ok = marg != NULL;
    for (int l = 0; ok && l < L; l++) ok = (z[l] = malloc((size_t)c * N.m->cfg.sizes[l + 1] * sizeof(bp_real))) != NULL;
    if (ok && !bp__model_forward_keep(N.m, N.xtr, c, z)) {
        for (int i = 0; i < c; i++) marg[i] = kink_margin(N.m, z, N.xtr, i, h);
        for (int k = 0; k < m; k++) { /* the m largest margins, in order */
            int b = -1;
            for (int i = 0; i < c; i++)
                if (marg[i] >= 0 && (b < 0 || marg[i] > marg[b])) b = i;
            idx[k] = (size_t)b;
            marg[b] = -1;
        }
    }
    for (int l = 0; l < L; l++) free(z[l]);
    free(marg);
    return m;
}

/* The library's gradient check (bp_gradcheck, central differences with its
 * default h) on 4 training points (check_points), with the tolerances
 * `backprop gradcheck` applies. Into pg_buffer: largest element error,
 * whole-gradient error, pass (1/0), gradient norm, tolerance, and the 4
 * points' indices. */
PG_API bp_real *pg_gradcheck(void)
{
    if (!N.m) return fail("no network"), NULL;
    int f32 = bp_real_size() == 4, in = bp_model_inputs(N.m), out = bp_model_outputs(N.m);
    double tol = f32 ? 2e-2 : 1e-6, floor = f32 ? 1e-3 : 1e-4, h = f32 ? 1e-2 : 1e-5;
    size_t idx[4];
    int m = check_points(idx, h);
    bp_real x[4 * PG_MAX_CSV_INPUTS], y[4 * PG_MAX_CSV_INPUTS];
    for (int i = 0; i < m; i++) {
        memcpy(x + (size_t)i * in, N.xtr + idx[i] * in, (size_t)in * sizeof *x);
        memcpy(y + (size_t)i * out, N.ytr + idx[i] * out, (size_t)out * sizeof *y);
    }
    bp_gradcheck_result r;
    if (bp_gradcheck(N.m, x, y, m, h, floor, &r)) return lib_fail("gradcheck"), NULL;
    bp_real *b = pg_buffer(9);
    if (!b) return NULL;
    b[0] = (bp_real)r.max_rel_error, b[1] = (bp_real)r.norm_rel_error;
    b[2] = r.max_rel_error <= tol && r.grad_norm > 0, b[3] = (bp_real)r.grad_norm, b[4] = (bp_real)tol;
    for (int i = 0; i < 4; i++) b[5 + i] = i < m ? (bp_real)idx[i] : -1;
    return b;
}

/* ---------------------------------------------------------------- exports */

/* fmt 0: the model file, 1: ONNX, 2: C float, 3: C int8 calibrated on the
 * training points; written at path (MEMFS; C: path ends in .c, the header
 * beside it), which JavaScript then reads back. */
PG_API int pg_export(int fmt, const char *path)
{
    if (!N.m) return fail("no network");
    bp_extra *x = NULL;
    if (bp_extra_create(&x) || bp_extra_set(x, "source", "backprop playground"))
        return bp_extra_free(x), lib_fail("export");
    bp_status st = BP_OK;
    if (fmt == 0) st = bp_model_save(N.m, path, x);
    else if (fmt == 1) st = bp_model_save_onnx(N.m, path, x);
    else {
        bp_qmodel *q = NULL;
        if (fmt == 3) st = bp_qmodel_create(&q, N.m, N.ftr, N.ntr);
        bp_export_info info = bp_export_info_default();
        info.source = "backprop playground";
        if (!st) st = bp_model_export_c(N.m, q, path, "playground", &info);
        bp_qmodel_free(q);
    }
    bp_extra_free(x);
    return st ? lib_fail("export") : 0;
}

/* The features of training (0) or test (1) point i, before normalization,
 * for the data CSV (pg_inputs of them). */
PG_API bp_real *pg_features(int test, int i)
{
    size_t n = test ? N.nte : N.ntr;
    if (!N.m || i < 0 || (size_t)i >= n) return NULL;
    return (test ? N.fte : N.ftr) + (size_t)i * bp_model_inputs(N.m);
}

/* The features (before normalization) of n raw points p into f (n, pg_inputs). */
PG_API int pg_features_of(const bp_real *p, int n, bp_real *f)
{
    if (!N.m) return fail("no network");
    features(&D, N.mask, p, (size_t)n, f);
    return 0;
}

PG_API void pg_threads(void) { bp_set_threads(1); }
