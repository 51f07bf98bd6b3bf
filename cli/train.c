/* train.c - one training run: read the data, build or load the model,
 * normalize, then the epoch loop with evaluation, log, plot and progress;
 * the schedule and early stopping are the trainer's (train_opts.c turns the
 * options into its bp_train_config). Ctrl-C saves a checkpoint from which
 * --resume continues bit-exactly. Nothing in the loop allocates.
 *
 * Under mpirun (make MPI=1) every rank does all of this on its shard of each
 * batch (dist.h), and rank 0, the lead, alone prints and writes files. */
#include "dist.h"
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVAL_BATCH 256

typedef struct run {
    cli_opts *o;
    bp_dataset *train, *val, *test;
    bp_model *model;
    bp_optim *opt;
    bp_trainer *tr;
    bp_checkpoint_info info;
    int resumed, fresh; /* fresh: a new model from --layers */
    bp_extra *src_meta;   /* extra metadata of the --resume / --init-from file */
    json_t *stored;      /* keeps a checkpoint's option texts alive */
    bp_real *legacy_best; /* (params): a 0.1 checkpoint's CKPT.best weights, or NULL */
    const char *norm;    /* normalization name, for the metadata */
    bp_encoder *enc;     /* fitted on a CSV --data for a new model, else NULL */
    int auto_hidden;     /* the model got the default hidden layer (no --layers, --hidden) */
    bp_real *tmean, *tstd; /* (outputs): regression targets standardized by these, or NULL */
    char *ckpt;          /* where Ctrl-C saves, or NULL */
    history h;
    progress pg;
    FILE *log;
    double seconds, last_plot;
    int lead;            /* rank 0 (or the only process): prints, writes files */
} run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(const run *r, const char *what) { return cli_fail(r->o->cmd, what); }

/* ------------------------------------------------------------- sources */

/* A checkpoint of backprop 0.1 kept the early-stopping state in its
 * "early_stop" metadata (into info) and the best weights in CKPT.best. */
static int legacy_early_stop(run *r)
{
    const char *es = bp_extra_get(r->src_meta, "early_stop");
    if (!es || r->info.early_stop.best_epoch > 0) return 0;
    json_t *j = json_loads(es, 0, NULL), *loss = json_object_get(j, "best_loss");
    bp_early_stop_state *s = &r->info.early_stop;
    s->best_epoch = (int)json_integer_value(json_object_get(j, "best_epoch"));
    s->bad_epochs = (int)json_integer_value(json_object_get(j, "bad_epochs"));
    s->best_loss = json_is_number(loss) ? json_number_value(loss) : HUGE_VAL;
    json_decref(j);
    if (s->best_epoch <= 0) return 0;
    size_t n = strlen(r->o->v[O_RESUME].s) + 6;
    char *path = malloc(n);
    bp_model *b = NULL;
    if (path) snprintf(path, n, "%s.best", r->o->v[O_RESUME].s);
    bp_status st = path ? bp_model_load(&b, path, NULL) : BP_ERR_NOMEM;
    free(path);
    if (st) return fail(r, "--resume (best weights of --early-stop)");
    size_t k = bp_model_param_count(b);
    if (k == bp_model_param_count(r->model) && (r->legacy_best = malloc(k * sizeof(bp_real))))
        memcpy(r->legacy_best, bp_model_params(b), k * sizeof(bp_real));
    bp_model_free(b);
    return r->legacy_best ? 0 : cli_error(r->o->cmd, "--resume: the .best file does not match "
                                          "the checkpoint");
}

static int open_checkpoint(run *r)
{
    const char *path = r->o->v[O_RESUME].s;
    if (bp_checkpoint_load(&r->model, &r->opt, path, &r->info, &r->src_meta))
        return fail(r, "--resume");
    const char *args = bp_extra_get(r->src_meta, "train_args");
    if (!args) return cli_error(r->o->cmd, "--resume: %s has no train_args: not a checkpoint "
                                "written by backprop train", path);
    int rc = train_apply_stored(r->o, args, &r->stored);
    if (rc) return rc;
    char err[256];
    const char *hist = bp_extra_get(r->src_meta, "history");
    if (hist && history_from_text(&r->h, hist, 0, err, sizeof err))
        return cli_error(r->o->cmd, "--resume: %s: %s", path, err);
    r->resumed = 1;
    return legacy_early_stop(r);
}

static int open_sources(run *r)
{
    if (r->o->v[O_RESUME].given) return open_checkpoint(r);
    if (r->o->v[O_INIT_FROM].given &&
        bp_model_load(&r->model, r->o->v[O_INIT_FROM].s, &r->src_meta))
        return fail(r, "--init-from");
    return 0;
}

/* ---------------------------------------------------------------- data */

/* --hidden N,N,...: the sizes between the data's inputs and outputs. */
static void hidden_sizes(cli_opts *o, const bp_dataset *d)
{
    char *buf;
    const char **items;
    int n = cli_split_list(o->v[O_HIDDEN].s, &buf, &items);
    if (n < 0) cli_usage(o->cmd, "out of memory");
    if (n + 1 > BP_MAX_LAYERS) cli_usage(o->cmd, "--hidden: %d layers, at most %d", n, BP_MAX_LAYERS - 1);
    o->n_sizes = n + 2;
    o->sizes[0] = bp_dataset_inputs(d);
    for (int i = 0; i < n; i++) {
        char *end;
        long v = strtol(items[i], &end, 10);
        if (!*items[i] || *end || v < 1 || v > BP_MAX_WIDTH)
            cli_usage(o->cmd, "--hidden: \"%s\" is not a layer size in 1..%d (give "
                      "comma-separated sizes, e.g. 64,32)", items[i], BP_MAX_WIDTH);
        o->sizes[i + 1] = (int)v;
    }
    int classes = bp_dataset_label_count(d);
    o->sizes[n + 1] = classes ? classes : bp_dataset_outputs(d);
    free(buf), free(items);
}

static int build_model(run *r, data_kind kind)
{
    bp_model_config mc;
    if (!r->o->v[O_LAYERS].given && !r->o->v[O_HIDDEN].given) {
        /* scikit-learn's model: hidden_layer_sizes (100,), Glorot-uniform weights (He's
         * larger first layer costs 5 points on iris: tests/test_defaults.py) */
        static char text[16]; /* the option keeps the pointer */
        char err[256];
        snprintf(text, sizeof text, "%d", BP_AUTO_HIDDEN);
        if (cli_set(r->o, O_HIDDEN, text, err, sizeof err) ||
            (!r->o->v[O_INIT].given && cli_set(r->o, O_INIT, "xavier", err, sizeof err)))
            cli_usage(r->o->cmd, "%s", err);
        r->auto_hidden = 1;
    }
    if (r->o->v[O_HIDDEN].given) hidden_sizes(r->o, r->train);
    cli_model_config(r->o, kind, &mc);
    if (bp_model_create(&r->model, &mc)) return fail(r, NULL);
    return 0;
}

/* A new model, or one from `backprop init`, takes the data's class names. */
static int take_labels(run *r)
{
    int n = bp_dataset_label_count(r->train), k = bp_model_outputs(r->model);
    if (!n || bp_model_label_count(r->model)) return 0;
    if (n != k && !(k == 1 && n == 2)) return 0; /* cli_match_data reports the mismatch */
    return bp_model_set_labels(r->model, n, bp_dataset_labels(r->train)) ? fail(r, NULL) : 0;
}

/* The seeded validation split; the seed is mixed so that it draws apart from the shuffle. */
static int split_val(run *r)
{
    double f = r->o->v[O_VAL_SPLIT].r;
    if (!(f > 0)) return 0;
    bp_dataset *tr = NULL, *va = NULL;
    if (bp_dataset_split(&tr, &va, r->train, f, r->o->v[O_SEED].u ^ 0x5eed5eed5eedULL))
        return fail(r, "--val-split");
    bp_dataset_free(r->train);
    r->train = tr, r->val = va;
    return 0;
}

/* The model keeps the encoder; a multi-label model's labels are its target columns. */
static int attach_encoder(run *r)
{
    const bp_encoder *e = r->enc;
    if (bp_model_set_encoder(r->model, e)) return fail(r, NULL);
    int n = bp_encoder_targets(e);
    if (bp_encoder_task(e) != BP_TASK_MULTILABEL || n != bp_model_outputs(r->model)) return 0;
    const char **names = malloc((size_t)n * sizeof *names);
    if (!names) return cli_error(r->o->cmd, "out of memory");
    for (int i = 0; i < n; i++) names[i] = bp_encoder_column_name(e, bp_encoder_target_column(e, i));
    bp_status st = bp_model_set_labels(r->model, n, names);
    free(names);
    return st ? fail(r, NULL) : 0;
}

static int load_sets(run *r)
{
    cli_opts *o = r->o;
    r->fresh = r->model == NULL;
    int rc = r->fresh && cli_spec_is_csv(o->v[O_DATA].s)
                 ? cli_fit_encoded(&r->train, &r->enc, o, O_DATA)
                 : cli_load_data(&r->train, o, O_DATA, r->model, 1);
    if (!rc && r->fresh)
        rc = build_model(r, r->enc && bp_encoder_task(r->enc) == BP_TASK_MULTILABEL
                                ? KIND_BINARY : cli_data_kind(r->train));
    if (!rc) rc = take_labels(r);
    if (!rc) rc = cli_match_data(o, r->model, &r->train, O_DATA, r->fresh);
    if (!rc && r->enc) rc = attach_encoder(r);
    if (!rc) rc = split_val(r);
    if (!rc && o->v[O_TEST].given) rc = cli_load_data(&r->test, o, O_TEST, r->model, 1);
    if (!rc && r->test) rc = cli_match_data(o, r->model, &r->test, O_TEST, r->fresh);
    return rc;
}

/* Whether the run computes a normalization: for a new model, and for an
 * --init-from model that has none and never chose one (`backprop init`'s). */
static int computes_norm(const run *r)
{
    if (r->fresh) return 1;
    return !r->resumed && !bp_model_norm_shift(r->model) && !bp_extra_get(r->src_meta, "normalize");
}

static int compute_norm(run *r)
{
    bp_norm_kind kind;
    const char *given = r->o->v[O_NORMALIZE].s;
    r->norm = given ? given : cli_spec_is_csv(r->o->v[O_DATA].s) ? "standard" : "global";
    bp_norm_from_name(r->norm, &kind);
    return bp_model_fit_normalization(r->model, r->train, kind) ? fail(r, "--normalize") : 0;
}

/* Computes the normalization on the training part, or keeps the model's;
 * then applies it to every part. */
static int normalize(run *r)
{
    if (computes_norm(r)) {
        int rc = compute_norm(r);
        if (rc) return rc;
    } else if (r->o->v[O_NORMALIZE].given) {
        cli_usage(r->o->cmd, "--normalize: the model of --%s has its own normalization",
                  r->resumed ? "resume" : "init-from");
    } else {
        const char *n = bp_extra_get(r->src_meta, "normalize");
        r->norm = n ? n : bp_model_norm_shift(r->model) ? "custom" : "none";
    }
    bp_dataset *parts[3] = {r->train, r->val, r->test};
    for (int i = 0; i < 3; i++)
        if (parts[i]) bp_model_normalize(r->model, bp_dataset_x(parts[i]), bp_dataset_count(parts[i]));
    return 0;
}

/* "[m0,m1,...]" of a checkpoint's target_mean / target_std into v (k values). */
static int read_reals(const char *text, bp_real *v, int k)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    int ok = json_is_array(j) && (int)json_array_size(j) == k;
    for (int i = 0; ok && i < k; i++) {
        json_t *x = json_array_get(j, (size_t)i);
        ok = json_is_number(x), v[i] = ok ? (bp_real)json_number_value(x) : 0;
    }
    json_decref(j);
    return ok;
}

/* A new regression model (identity output, squared error) trains on
 * standardized targets, as a person would by hand; finish() folds the
 * inverse into its last layer. A resumed run takes its checkpoint's
 * figures; an --init-from model keeps the units it has. */
static int standardize_targets(run *r)
{
    const bp_model_config *c = bp_model_cfg(r->model);
    int k = bp_model_outputs(r->model);
    if (!(r->fresh || r->resumed) || bp_model_task(r->model) != BP_TASK_REGRESSION ||
        c->act[c->n_layers - 1] != BP_ACT_IDENTITY ||
        !(c->loss == BP_LOSS_MSE || c->loss == BP_LOSS_HALF_SSE) || !bp_dataset_y(r->train))
        return 0;
    if (r->resumed && !bp_extra_get(r->src_meta, "target_mean")) return 0; /* trained in units */
    if (!(r->tmean = calloc((size_t)k, sizeof *r->tmean)) ||
        !(r->tstd = calloc((size_t)k, sizeof *r->tstd)))
        return cli_error(r->o->cmd, "out of memory");
    if (r->resumed) {
        if (!read_reals(bp_extra_get(r->src_meta, "target_mean"), r->tmean, k) ||
            !read_reals(bp_extra_get(r->src_meta, "target_std"), r->tstd, k))
            return cli_error(r->o->cmd, "--resume: the checkpoint's target_mean or target_std "
                             "is not an array of %d numbers", k);
    } else if (bp_dataset_target_stats(r->train, r->tmean, r->tstd)) {
        return fail(r, NULL);
    }
    bp_dataset *parts[3] = {r->train, r->val, r->test};
    for (int i = 0; i < 3; i++)
        if (parts[i]) bp_dataset_standardize_targets(parts[i], r->tmean, r->tstd);
    return 0;
}

/* ----------------------------------------------------- optimizer, trainer */

static int make_optimizer(run *r)
{
    cli_opts *o = r->o;
    bp_optim_kind kind;
    bp_optim_from_name(o->v[O_OPT].s, &kind);
    bp_optim_config c = bp_optim_config_default(kind);
    if (!o->v[O_LR].given) o->v[O_LR].r = c.lr; /* the optimizer's own default */
    if (r->opt) return 0;                         /* from the checkpoint */
    c.lr = o->v[O_LR].r;
    if (o->v[O_MOMENTUM].given) c.momentum = o->v[O_MOMENTUM].r;
    c.beta1 = o->v[O_BETA1].r, c.beta2 = o->v[O_BETA2].r, c.alpha = o->v[O_ALPHA].r;
    c.eps = o->v[O_EPS].r;
    c.eps_inside_sqrt = (int)o->v[O_EPS_INSIDE_SQRT].i;
    if (o->v[O_WEIGHT_DECAY].given) c.weight_decay = o->v[O_WEIGHT_DECAY].r;
    c.clip_norm = o->v[O_CLIP].r;
    int k = (int)o->v[O_TRAIN_LAYERS].i, layers = bp_model_cfg(r->model)->n_layers;
    if (k > layers) /* the trainer would say so too, after the optimizer */
        return cli_error(o->cmd, "--train-layers %d: the model has %d layers", k, layers);
    if (bp_optim_create(&r->opt, &c, bp_model_train_param_count(r->model, k))) return fail(r, NULL);
    return 0;
}

static int make_trainer(run *r)
{
    cli_opts *o = r->o;
    bp_train_config c = bp_train_config_default();
    if (r->resumed) c = r->info.train;
    size_t rows = bp_dataset_count(r->train);
    if (!o->v[O_BATCH].given) /* scikit-learn's min(200, rows), from the library */
        o->v[O_BATCH].i = bp_train_config_auto(rows, 0).batch_size;
    c.batch_size = cli_batch(o, rows); /* beyond the data is full batch */
    c.shuffle = !o->v[O_NO_SHUFFLE].i;
    c.seed = o->v[O_SEED].u;
    train_policy_config(o, &c); /* schedule and early stopping */
    c.train_layers = (int)o->v[O_TRAIN_LAYERS].i;
    c.on_batch = progress_on_batch;
    c.user = &r->pg;
    if (dist_size() > 1) /* each rank runs its shard of every batch */
        c.shard = dist_rank(), c.shards = dist_size(), c.reduce = dist_allreduce;
    if (bp_trainer_create(&r->tr, r->model, r->opt, &c)) return fail(r, NULL);
    if (r->resumed) bp_trainer_resume(r->tr, &r->info);
    if (r->legacy_best) bp_trainer_set_early_stop(r->tr, &r->info.early_stop, r->legacy_best);
    r->pg.trainer = r->tr;
    return 0;
}

/* ----------------------------------------------------------- metadata */

/* Whether the run keeps the best epoch's weights (--early-stop), and which. */
static int best_epoch(const run *r)
{
    bp_early_stop_state es;
    if (!bp_trainer_cfg(r->tr)->restore_best) return 0;
    bp_trainer_early_stop(r->tr, &es);
    return es.best_epoch;
}

/* A model file of an --early-stop run names its best epoch (a checkpoint
 * holds the whole early-stopping state: the library writes it). */
static bp_status set_best_epoch(const run *r, bp_extra *m)
{
    char text[16];
    snprintf(text, sizeof text, "%d", best_epoch(r));
    return bp_extra_set(m, "best_epoch", text);
}

static bp_status set_reals(bp_extra *m, const char *key, const bp_real *v, int k)
{
    json_t *a = json_array();
    for (int i = 0; i < k; i++) json_array_append_new(a, json_real((double)v[i]));
    char *text = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(a);
    bp_status st = text ? bp_extra_set(m, key, text) : BP_ERR_NOMEM;
    free(text);
    return st;
}

/* Why the run stopped, for the summary and the model file's "stopped". */
static void stop_text(const run *r, char *buf, size_t len)
{
    const bp_train_config *c = bp_trainer_cfg(r->tr);
    bp_stop_reason why = bp_trainer_stop_reason(r->tr);
    int done = bp_trainer_epochs_done(r->tr);
    if (why == BP_STOP_NO_IMPROVEMENT)
        snprintf(buf, len, "no improvement: the %s loss did not fall below its best minus %g "
                 "for %d epochs in a row (epoch %d)", c->monitor == BP_MONITOR_VAL_LOSS || r->val
                 ? "validation" : "training", c->tol, c->patience, done);
    else if (train_stops_by_rule(r->o))
        snprintf(buf, len, "reached the limit of %d epochs while still improving", done);
    else
        snprintf(buf, len, "ran the %d epoch%s of --epochs", done, done == 1 ? "" : "s");
}

static bp_status set_stop(const run *r, bp_extra *m)
{
    char text[256];
    stop_text(r, text, sizeof text);
    return bp_extra_set(m, "stopped", text);
}

static bp_extra *make_meta(const run *r, int checkpoint)
{
    bp_extra *m = NULL;
    char *args = train_args_text(r->o), *hist = history_to_text(&r->h, checkpoint);
    bp_status st = args && hist ? bp_extra_create(&m) : BP_ERR_NOMEM;
    if (!st) st = bp_extra_set(m, "train_args", args);
    if (!st) st = bp_extra_set(m, "history", hist);
    if (!st) st = bp_extra_set(m, "normalize", r->norm);
    if (!st && r->tmean) st = set_reals(m, "target_mean", r->tmean, bp_model_outputs(r->model));
    if (!st && r->tmean) st = set_reals(m, "target_std", r->tstd, bp_model_outputs(r->model));
    if (!st && !checkpoint) st = set_stop(r, m);
    if (!st && !checkpoint && bp_trainer_cfg(r->tr)->restore_best) st = set_best_epoch(r, m);
    free(args), free(hist);
    if (st) bp_extra_free(m), m = NULL;
    return m;
}

/* --------------------------------------------------------- checkpoints */

static int save_checkpoint(run *r)
{
    if (!r->lead) return EXIT_INTERRUPTED; /* every rank stopped at this batch; rank 0 saves */
    if (!r->ckpt) {
        fprintf(stderr, "backprop %s: interrupted (no --save, so no checkpoint)\n", r->o->cmd);
        return EXIT_INTERRUPTED;
    }
    bp_extra *m = make_meta(r, 1);
    bp_status st = m ? bp_checkpoint_save(r->tr, r->ckpt, m) : BP_ERR_NOMEM;
    bp_extra_free(m);
    if (st) return fail(r, "checkpoint");
    fprintf(stderr, "\nbackprop %s: interrupted after %d epochs and %zu batches; checkpoint saved "
            "to %s\n  continue with: backprop train --resume %s%s%s\n", r->o->cmd,
            bp_trainer_epochs_done(r->tr), bp_trainer_next_batch(r->tr), r->ckpt, r->ckpt,
            r->o->v[O_SAVE].s ? " --save " : "", r->o->v[O_SAVE].s ? r->o->v[O_SAVE].s : "");
    return EXIT_INTERRUPTED;
}

/* -------------------------------------------------------------- outputs */

static int open_outputs(run *r)
{
    cli_opts *o = r->o;
    if (o->v[O_CHECKPOINT].given || o->v[O_SAVE].given) {
        const char *c = o->v[O_CHECKPOINT].s, *s = o->v[O_SAVE].s;
        size_t n = strlen(c ? c : s) + 6;
        if (!(r->ckpt = malloc(n))) return cli_error(o->cmd, "out of memory");
        snprintf(r->ckpt, n, c ? "%s" : "%s.ckpt", c ? c : s);
    }
    long cap = o->v[O_EPOCHS].i < 4096 ? o->v[O_EPOCHS].i : 4096;
    if (history_reserve(&r->h, (int)cap)) return cli_error(o->cmd, "out of memory");
    if (!o->v[O_LOG].given || !r->lead) return 0;
    if (!(r->log = fopen(o->v[O_LOG].s, "w")))
        return cli_error(o->cmd, "--log: %s: %s", o->v[O_LOG].s, strerror(errno));
    for (int i = 0; i < r->h.n; i++) { /* a resumed run's log holds the whole history */
        json_t *j = epoch_to_json(&r->h.r[i], 1);
        json_dumpf(j, r->log, HISTORY_JSON_FLAGS);
        fputc('\n', r->log);
        json_decref(j);
    }
    return 0;
}

/* The plot is redrawn after an epoch at most once a second (a run of many
 * short epochs would otherwise spend its time drawing), and always at the end. */
static int want_plot(run *r, int last)
{
    double t = now();
    if (!r->o->v[O_PLOT].given || !r->lead || (!last && t - r->last_plot < 1.0)) return 0;
    r->last_plot = t;
    return 1;
}

static int write_outputs(run *r, const epoch_rec *rec, int last)
{
    cli_opts *o = r->o;
    progress_epoch(&r->pg, rec);
    if (r->log) {
        json_t *j = epoch_to_json(rec, 1);
        int bad = json_dumpf(j, r->log, HISTORY_JSON_FLAGS) != 0 || fputc('\n', r->log) == EOF ||
                  fflush(r->log) != 0;
        json_decref(j);
        if (bad) return cli_error(o->cmd, "--log: %s: %s", o->v[O_LOG].s, strerror(errno));
    }
    if (want_plot(r, last)) {
        char title[512], arch[256], err[512];
        snprintf(title, sizeof title, "backprop: %s on %s",
                 cli_arch_text(arch, sizeof arch, bp_model_cfg(r->model)), o->v[O_DATA].s);
        if (plot_svg(o->v[O_PLOT].s, &r->h, title, err, sizeof err))
            return cli_error(o->cmd, "--plot: %s", err);
    }
    return 0;
}

/* --------------------------------------------------------------- loop */

static int evaluate(run *r, bp_dataset *d, double *loss, double *acc)
{
    *loss = *acc = NAN;
    if (!d) return 0;
    if (bp_model_evaluate(r->model, bp_dataset_x(d), bp_dataset_y(d), bp_dataset_count(d),
                          EVAL_BATCH, loss, acc))
        return fail(r, NULL);
    if (*acc < 0) *acc = NAN;
    return 0;
}

#define STOP_EARLY (-1) /* one_epoch's "the trainer stopped", apart from the exit statuses */

/* After each epoch the ranks agree: a signal caught by any rank stops all
 * of them, and their parameters must be identical. (They judge the epoch
 * alike: on rank 0's validation loss, which could differ in the last bits
 * on another kind of CPU.) */
static int agree(run *r, int *caught)
{
    size_t n = bp_model_param_count(r->model);
    unsigned any, mine = signals_caught() ? 1u : 0u;
    if (!dist_agree(dist_hash(DIST_HASH_INIT, bp_model_params(r->model), n * sizeof(bp_real)),
                    mine, &any))
        return cli_error(r->o->cmd, "after epoch %d the ranks' parameters differ (their MPI "
                         "sums or their arithmetic differ)", bp_trainer_epochs_done(r->tr));
    *caught = (any & 1u) != 0;
    return 0;
}

/* Runs one epoch and all that follows it: 0 to go on, STOP_EARLY, or an exit status. */
static int one_epoch(run *r)
{
    progress_epoch_start(&r->pg);
    bp_epoch_stats st;
    double t0 = now();
    bp_status s = bp_trainer_epoch(r->tr, bp_dataset_x(r->train), bp_dataset_y(r->train),
                                   bp_dataset_count(r->train), &st);
    r->seconds += now() - t0;
    if (s == BP_ERR_INTERRUPTED) return save_checkpoint(r);
    if (s) return fail(r, NULL);
    epoch_rec rec = {st.epoch, st.loss, st.accuracy < 0 ? NAN : st.accuracy, NAN, NAN, NAN, NAN,
                     bp_optim_lr(r->opt), st.seconds, st.samples_per_sec};
    int rc = evaluate(r, r->val, &rec.val_loss, &rec.val_acc);
    if (!rc) rc = evaluate(r, r->test, &rec.test_loss, &rec.test_acc);
    if (rc) return rc;
    if (history_add(&r->h, &rec)) return cli_error(r->o->cmd, "out of memory");
    bp_stop_reason stop;
    if (bp_trainer_end_epoch(r->tr, r->val ? dist_lead_value(rec.val_loss) : NAN, &stop))
        return fail(r, NULL);
    int caught = 0;
    rc = agree(r, &caught);
    if (!rc) rc = write_outputs(r, &rec, stop || caught);
    if (rc) return rc;
    if (caught && !stop) return save_checkpoint(r);
    return stop ? STOP_EARLY : 0;
}

static int epoch_loop(run *r)
{
    int rc = 0;
    signals_install(r->tr);
    while (!rc && bp_trainer_epochs_done(r->tr) < r->o->v[O_EPOCHS].i) rc = one_epoch(r);
    signals_restore();
    return rc == STOP_EARLY ? 0 : rc;
}

/* ------------------------------------------------------------- finish */

static const epoch_rec *kept_record(const run *r)
{
    int best = best_epoch(r);
    if (best > 0)
        for (int i = 0; i < r->h.n; i++)
            if (r->h.r[i].epoch == best) return &r->h.r[i];
    return r->h.n ? &r->h.r[r->h.n - 1] : NULL;
}

static void print_summary(const run *r, const epoch_rec *k)
{
    char a[32], b[32], arch[256];
    printf("trained %s on %s: %d epochs in %.1f s\n",
           cli_arch_text(arch, sizeof arch, bp_model_cfg(r->model)), r->o->v[O_DATA].s,
           bp_trainer_epochs_done(r->tr), r->seconds);
    char why[256];
    stop_text(r, why, sizeof why);
    printf("  stopped: %s\n", why);
    int best = best_epoch(r);
    if (best > 0 && best != r->h.r[r->h.n - 1].epoch)
        printf("  early stop: kept the weights of epoch %d (lowest validation loss)\n", best);
    if (!k) return;
    printf("  train loss %.4g acc %s", k->train_loss, fmt_acc(a, sizeof a, k->train_acc));
    if (isfinite(k->val_loss))
        printf("   val loss %.4g acc %s", k->val_loss, fmt_acc(b, sizeof b, k->val_acc));
    if (isfinite(k->test_loss))
        printf("   test loss %.4g acc %s", k->test_loss, fmt_acc(b, sizeof b, k->test_acc));
    putchar('\n');
}

static int finish(run *r, train_result *res)
{
    /* The trainer restored the best weights when it stopped the run; not when
     * a resumed run had its epochs done already (a lower --epochs). */
    if (best_epoch(r) > 0 && !bp_trainer_stop_reason(r->tr))
        memcpy(bp_model_params(r->model), bp_trainer_best_params(r->tr),
               bp_model_param_count(r->model) * sizeof(bp_real));
    const epoch_rec *k = kept_record(r);
    if (res) {
        memset(res, 0, sizeof *res);
        if (k) res->last = *k;
        res->epochs = bp_trainer_epochs_done(r->tr);
        res->seconds = r->seconds;
    }
    if (!r->lead) return 0;
    print_summary(r, k);
    /* the model predicts in the target's units from here on */
    if (r->tmean && bp_model_fold_targets(r->model, r->tmean, r->tstd)) return fail(r, NULL);
    const char *save = r->o->v[O_SAVE].s;
    if (!save) return 0;
    bp_extra *m = make_meta(r, 0);
    bp_status st = m ? bp_model_save(r->model, save, m) : BP_ERR_NOMEM;
    bp_extra_free(m);
    if (st) return fail(r, "--save");
    printf("saved %s\n", save);
    return 0;
}

static void print_header(const run *r)
{
    if (r->o->v[O_QUIET].i || !r->lead) return;
    const cli_opts *o = r->o;
    char arch[256];
    printf("training %s (%zu parameters, %s)",
           cli_arch_text(arch, sizeof arch, bp_model_cfg(r->model)),
           bp_model_param_count(r->model), bp_real_size() == 8 ? "float64" : "float32");
    if (r->auto_hidden)
        printf(": one hidden layer of %d units and xavier weights, the default "
               "(--hidden or --layers to choose)", BP_AUTO_HIDDEN);
    printf("\n");
    printf("  data %s: %zu samples", o->v[O_DATA].s, bp_dataset_count(r->train));
    if (r->val) printf(", validation %zu", bp_dataset_count(r->val));
    if (r->test) printf("; test %s: %zu", o->v[O_TEST].s, bp_dataset_count(r->test));
    printf("; normalize %s\n", r->norm);
    const bp_train_config *c = bp_trainer_cfg(r->tr);
    char epochs[160];
    if (train_stops_by_rule(o))
        snprintf(epochs, sizeof epochs, "at most %ld epochs, stopping after %d without a %s loss "
                 "below best - %g", o->v[O_EPOCHS].i, c->patience, r->val ? "validation"
                 : "training", c->tol);
    else
        snprintf(epochs, sizeof epochs, "%ld epochs", o->v[O_EPOCHS].i);
    printf("  %s lr %g, batch %ld, %s, %d threads%s%s\n", o->v[O_OPT].s, o->v[O_LR].r,
           o->v[O_BATCH].i, epochs, bp_threads(),
           dist_size() > 1 ? " per rank" : "", r->resumed ? " (resumed)" : "");
    if (r->tmean)
        printf("  targets standardized for training (mean %.6g, std %.6g%s); losses shown are in "
               "standard units, the saved model predicts in the target's\n", (double)r->tmean[0],
               (double)r->tstd[0], bp_model_outputs(r->model) > 1 ? ", first output" : "");
    if (dist_size() > 1)
        printf("  %d MPI ranks, each running its shard of every batch\n", dist_size());
    if (r->resumed)
        printf("  resuming at epoch %d, batch %zu\n", r->info.epochs_done + 1, r->info.next_batch);
    fflush(stdout);
}

static void free_run(run *r)
{
    if (r->log) fclose(r->log);
    bp_trainer_free(r->tr);
    bp_optim_free(r->opt);
    bp_model_free(r->model);
    bp_dataset_free(r->train);
    bp_dataset_free(r->val);
    bp_dataset_free(r->test);
    bp_extra_free(r->src_meta);
    bp_encoder_free(r->enc);
    json_decref(r->stored);
    history_free(&r->h);
    bp_checkpoint_info_clear(&r->info);
    free(r->legacy_best);
    free(r->ckpt);
    free(r->tmean), free(r->tstd);
}

/* The ranks must start from the same model, data and settings: one
 * collective compares a hash of them. */
static int check_ranks(run *r)
{
    if (dist_size() == 1) return 0;
    uint64_t h = train_settings_hash(r->o, DIST_HASH_INIT);
    int threads = bp_threads();
    h = dist_hash(h, &threads, sizeof threads);
    h = dist_hash(h, bp_model_params(r->model), bp_model_param_count(r->model) * sizeof(bp_real));
    bp_dataset *parts[3] = {r->train, r->val, r->test};
    for (int i = 0; i < 3; i++) {
        bp_dataset *d = parts[i];
        size_t n = d ? bp_dataset_count(d) : 0;
        h = dist_hash(h, &n, sizeof n);
        if (!d) continue;
        h = dist_hash(h, bp_dataset_x(d), n * (size_t)bp_dataset_inputs(d) * sizeof(bp_real));
        h = dist_hash(h, bp_dataset_y(d), n * (size_t)bp_dataset_outputs(d) * sizeof(bp_real));
    }
    unsigned any;
    if (!dist_agree(h, 0, &any))
        return cli_error(r->o->cmd, "the %d ranks differ in their data, model or settings: "
                         "every rank needs the same options and the same files", dist_size());
    return 0;
}

/* Error messages of ranks other than 0 say which rank. */
static void name_rank(cli_opts *o)
{
    static char name[64];
    if (dist_rank() == 0) return;
    snprintf(name, sizeof name, "%s [rank %d]", o->cmd, dist_rank());
    o->cmd = name;
}

int train_run(cli_opts *o, train_result *res)
{
    run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    dist_init();
    r.lead = dist_rank() == 0;
    name_rank(o);
    bp_set_threads(o->v[O_THREADS].i ? (int)o->v[O_THREADS].i : dist_default_threads());
    train_check_command_line(o);
    if (!o->v[O_EPOCHS].given) o->v[O_EPOCHS].i = BP_AUTO_MAX_EPOCHS;
    if (!o->v[O_RESUME].given) train_check_settings(o);
    int rc = open_sources(&r);
    if (!o->v[O_EPOCHS].given) o->v[O_EPOCHS].i = BP_AUTO_MAX_EPOCHS; /* after a checkpoint's */
    if (!rc && r.resumed) train_check_settings(o); /* with the settings it brought */
    if (!rc) rc = load_sets(&r);
    if (!rc) rc = normalize(&r);
    if (!rc) rc = standardize_targets(&r);
    if (!rc) rc = make_optimizer(&r);
    if (!rc) rc = make_trainer(&r);
    if (!rc) rc = check_ranks(&r);
    if (!rc) rc = open_outputs(&r);
    if (!rc) {
        progress_init(&r.pg, o->v[O_QUIET].i || !r.lead, (int)o->v[O_EPOCHS].i,
                      bp_dataset_count(r.train));
        r.pg.tty &= dist_tty_is_real();
        r.pg.trainer = r.tr;
        print_header(&r);
        rc = epoch_loop(&r);
    }
    if (!rc) rc = finish(&r, res);
    free_run(&r);
    return dist_end(rc);
}
