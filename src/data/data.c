/* data.c - bp_dataset: samples in two row-major buffers, optional class
 * labels; subsets, the seeded train/validation split, normalization stats. */
#include "data.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bp_dataset {
    size_t n;
    int n_in, n_out;
    bp_real *x;     /* (n, n_in) */
    bp_real *y;     /* (n, n_out), NULL when n_out == 0 */
    int n_labels;   /* 0 (regression) or n_out */
    char **labels;  /* (n_labels) */
};

bp_status bp__grow(void **buf, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return BP_OK;
    size_t c = *cap ? *cap : 16;
    while (c < need) c = c > SIZE_MAX / 2 ? need : 2 * c;
    if (c > SIZE_MAX / size) return bp__fail(BP_ERR_NOMEM, "buffer of %zu x %zu bytes overflows", c, size);
    void *p = realloc(*buf, c * size);
    if (!p) return bp__fail(BP_ERR_NOMEM, "out of memory growing a buffer to %zu bytes", c * size);
    *buf = p;
    *cap = c;
    return BP_OK;
}

bp_status bp__dataset_adopt(bp_dataset **out, size_t n, int inputs, int outputs,
                            bp_real *x, bp_real *y)
{
    *out = NULL;
    bp_dataset *d = bp__calloc(1, sizeof *d);
    if (!d) {
        free(x);
        free(y);
        return BP_ERR_NOMEM;
    }
    bp_real *fit = realloc(x, n * (size_t)inputs * sizeof *x); /* drop the growth slack */
    if (fit) x = fit;
    d->n = n;
    d->n_in = inputs;
    d->n_out = outputs;
    d->x = x;
    d->y = y;
    *out = d;
    return BP_OK;
}

bp_status bp_dataset_create(bp_dataset **out, size_t n, int inputs, int outputs)
{
    *out = NULL;
    if (n == 0 || inputs < 1 || outputs < 0)
        return bp__fail(BP_ERR_INVALID, "data set of %zu samples, %d inputs, %d outputs: "
                        "need n >= 1, inputs >= 1, outputs >= 0", n, inputs, outputs);
    if (n > SIZE_MAX / (size_t)inputs || (outputs && n > SIZE_MAX / (size_t)outputs))
        return bp__fail(BP_ERR_NOMEM, "data set of %zu samples of %d + %d values overflows",
                        n, inputs, outputs);
    bp_real *x = bp__calloc(n * (size_t)inputs, sizeof *x);
    bp_real *y = outputs ? bp__calloc(n * (size_t)outputs, sizeof *y) : NULL;
    if (!x || (outputs && !y)) {
        free(x);
        free(y);
        return BP_ERR_NOMEM;
    }
    return bp__dataset_adopt(out, n, inputs, outputs, x, y);
}

static void free_labels(bp_dataset *d)
{
    bp__strings_free(d->labels, d->n_labels);
    d->labels = NULL;
    d->n_labels = 0;
}

void bp_dataset_free(bp_dataset *d)
{
    if (!d) return;
    free_labels(d);
    free(d->x);
    free(d->y);
    free(d);
}

size_t bp_dataset_count(const bp_dataset *d) { return d->n; }
int bp_dataset_inputs(const bp_dataset *d) { return d->n_in; }
int bp_dataset_outputs(const bp_dataset *d) { return d->n_out; }
bp_real *bp_dataset_x(bp_dataset *d) { return d->x; }
bp_real *bp_dataset_y(bp_dataset *d) { return d->y; }
int bp_dataset_label_count(const bp_dataset *d) { return d->n_labels; }
int bp_dataset_is_classification(const bp_dataset *d) { return d->n_labels > 0; }

const char *bp_dataset_label(const bp_dataset *d, int i)
{
    return i >= 0 && i < d->n_labels ? d->labels[i] : NULL;
}

const char *const *bp_dataset_labels(const bp_dataset *d)
{
    return d->n_labels ? (const char *const *)d->labels : NULL;
}

bp_status bp_dataset_set_labels(bp_dataset *d, int n, const char *const *names)
{
    if (n != 0 && n != d->n_out)
        return bp__fail(BP_ERR_INVALID, "%d labels for a data set with %d outputs", n, d->n_out);
    char **labels;
    bp_status st = bp__strings_copy(&labels, n, names);
    if (st) return st;
    free_labels(d);
    d->labels = labels;
    d->n_labels = n;
    return BP_OK;
}

bp_status bp_dataset_subset(bp_dataset **out, const bp_dataset *d, const size_t *idx, size_t n)
{
    *out = NULL;
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= d->n)
            return bp__fail(BP_ERR_INVALID, "subset index %zu (position %zu) out of range: "
                            "the data set has %zu samples", idx[i], i, d->n);
    bp_dataset *s;
    bp_status st = bp_dataset_create(&s, n, d->n_in, d->n_out);
    if (st) return st;
    size_t nin = (size_t)d->n_in, nout = (size_t)d->n_out;
    for (size_t i = 0; i < n; i++) {
        memcpy(s->x + i * nin, d->x + idx[i] * nin, nin * sizeof *s->x);
        if (nout) memcpy(s->y + i * nout, d->y + idx[i] * nout, nout * sizeof *s->y);
    }
    st = bp_dataset_set_labels(s, d->n_labels, bp_dataset_labels(d));
    if (st) {
        bp_dataset_free(s);
        return st;
    }
    *out = s;
    return BP_OK;
}

bp_status bp_dataset_split(bp_dataset **train, bp_dataset **val, const bp_dataset *d,
                           double fraction, uint64_t seed)
{
    *train = *val = NULL;
    if (!(fraction >= 0 && fraction <= 1))
        return bp__fail(BP_ERR_INVALID, "split fraction %g: must be in [0, 1]", fraction);
    size_t n = d->n, n_val = (size_t)floor(fraction * (double)n + 0.5);
    if (n_val == 0 || n_val == n)
        return bp__fail(BP_ERR_INVALID, "split fraction %g of %zu samples leaves an empty part",
                        fraction, n);
    /* A partial Fisher-Yates shuffle picks the validation samples; the
     * membership mask then lets both parts keep the original order. */
    size_t *perm = bp__calloc(n, sizeof *perm);
    unsigned char *in_val = bp__calloc(n, 1);
    size_t *idx_train = bp__calloc(n - n_val, sizeof *idx_train);
    size_t *idx_val = bp__calloc(n_val, sizeof *idx_val);
    bp_status st = BP_ERR_NOMEM;
    if (perm && in_val && idx_train && idx_val) {
        bp_rng rng;
        bp_rng_seed(&rng, seed);
        for (size_t i = 0; i < n; i++) perm[i] = i;
        for (size_t i = 0; i < n_val; i++) {
            size_t j = i + (size_t)bp_rng_below(&rng, n - i);
            size_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
            in_val[perm[i]] = 1;
        }
        size_t a = 0, b = 0;
        for (size_t i = 0; i < n; i++) {
            if (in_val[i]) idx_val[b++] = i;
            else idx_train[a++] = i;
        }
        st = bp_dataset_subset(train, d, idx_train, n - n_val);
        if (!st) st = bp_dataset_subset(val, d, idx_val, n_val);
        if (st) {
            bp_dataset_free(*train);
            *train = NULL;
        }
    }
    free(perm);
    free(in_val);
    free(idx_train);
    free(idx_val);
    return st;
}

/* ------------------------------------------------------------ normalization */

static const char *const norm_names[BP_NORM_COUNT_] = {"none", "scale", "standard",
                                                            "global"};

const char *bp_norm_name(bp_norm_kind k)
{
    return (unsigned)k < BP_NORM_COUNT_ ? norm_names[k] : "?";
}

bp_status bp_norm_from_name(const char *name, bp_norm_kind *out)
{
    int i;
    bp_status st = bp__lookup("normalization", norm_names, BP_NORM_COUNT_, name, &i);
    if (!st) *out = (bp_norm_kind)i;
    return st;
}

/* 1 / spread, or 1 for a constant feature: a scale that would overflow
 * bp_real is as useless as a division by zero. */
static bp_real inverse_spread(double spread, int constant)
{
    if (constant || !(spread > 0)) return 1;
    double inv = 1.0 / spread;
    return isfinite(inv) && inv <= (double)(sizeof(bp_real) == 8 ? DBL_MAX : FLT_MAX)
               ? (bp_real)inv : 1;
}

bp_status bp_normalization_compute(const bp_dataset *d, bp_norm_kind kind,
                                   bp_real *shift, bp_real *scale)
{
    if ((unsigned)kind >= BP_NORM_COUNT_ || !shift || !scale)
        return bp__fail(BP_ERR_INVALID, "normalization: bad kind %d or NULL buffer", (int)kind);
    size_t n = d->n, m = (size_t)d->n_in;
    if (kind == BP_NORM_NONE) {
        for (size_t j = 0; j < m; j++) shift[j] = 0, scale[j] = 1;
        return BP_OK;
    }
    /* Row by row, accumulating per feature, to read x in memory order. */
    double *lo = bp__calloc(m, sizeof *lo), *hi = bp__calloc(m, sizeof *hi);
    double *sum = bp__calloc(m, sizeof *sum), *ss = bp__calloc(m, sizeof *ss);
    if (!lo || !hi || !sum || !ss) {
        free(lo), free(hi), free(sum), free(ss);
        return BP_ERR_NOMEM;
    }
    for (size_t j = 0; j < m; j++) lo[j] = hi[j] = d->x[j];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double v = d->x[i * m + j];
            if (v < lo[j]) lo[j] = v;
            if (v > hi[j]) hi[j] = v;
            sum[j] += v;
        }
    if (kind == BP_NORM_STANDARD) /* two passes: the variance about the mean */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) {
                double e = d->x[i * m + j] - sum[j] / (double)n;
                ss[j] += e * e;
            }
    if (kind == BP_NORM_GLOBAL) /* one range for all: the extremes over every feature */
        for (size_t j = 1; j < m; j++) {
            if (lo[j] < lo[0]) lo[0] = lo[j];
            if (hi[j] > hi[0]) hi[0] = hi[j];
        }
    for (size_t j = 0; j < m; j++) {
        int constant = lo[j] == hi[j];
        if (kind == BP_NORM_GLOBAL) {
            shift[j] = (bp_real)lo[0];
            scale[j] = inverse_spread(hi[0] - lo[0], lo[0] == hi[0]);
        } else if (kind == BP_NORM_SCALE) {
            shift[j] = (bp_real)lo[j];
            scale[j] = inverse_spread(hi[j] - lo[j], constant);
        } else {
            shift[j] = (bp_real)(sum[j] / (double)n);
            scale[j] = inverse_spread(sqrt(ss[j] / (double)n), constant);
        }
    }
    free(lo), free(hi), free(sum), free(ss);
    return BP_OK;
}
