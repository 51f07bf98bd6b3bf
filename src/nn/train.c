/* train.c - the notes' Algorithm 1: for each epoch, shuffle, cut mini-batches
 * (the last partial one included), forward, backward, update. Batch size 1 is
 * SGD, batch size n is full-batch gradient descent: one code path. */
#include "internal.h"
#include "train_policy.h"

#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bp_trainer {
    bp__alloc alloc;       /* where its memory comes from (alloc.c) */
    bp_model *model;
    bp_optim *opt;
    bp_train_config cfg;
    bp_rng rng;            /* state at the start of the next (or interrupted) epoch */
    int epochs_done;
    size_t next_batch;     /* where an interrupted epoch resumes */
    double loss_sum;       /* sums over the current epoch's batches run so far */
    double penalty_sum;    /* the part of loss_sum that is cfg.l2's penalty */
    long correct;          /* -1 when accuracy does not apply */
    size_t seen;
    atomic_int stop;       /* lock-free: set from a signal handler or another thread */
    size_t *order;         /* (order_n) sample permutation */
    bool gather;           /* batches are gathered through order (shuffled or given) */
    size_t order_n;
    size_t rows;           /* capacity of xb, yb: this shard's slice of min(batch_size, samples); 0 before the first epoch */
    bp_real *xb[2], *yb[2]; /* (rows, inputs), (rows, outputs): a gathered batch, and the next */
    bp__block blocks[2 * BP_MAX_LAYERS]; /* the trained layers', for the optimizer's split */
    int n_blocks;
    int first;             /* the first trained layer (cfg.train_layers): earlier ones are frozen */
    size_t n_train;        /* parameters of layers first..: the optimizer's size */
    bp__policy policy;     /* the stopping rule's state (train_policy.c) */
};

bp_train_config bp_train_config_default(void)
{
    bp_train_config c = {.batch_size = 32, .shuffle = 1, .seed = 0, .shard = 0, .shards = 1,
                         .schedule = BP_SCHEDULE_CONSTANT, .step_epochs = 5, .gamma = 0.1,
                         .monitor = BP_MONITOR_AUTO};
    return c;
}

/* The first trained layer: the last cfg->train_layers (0: all of the model's
 * own, those after any borrowed ones). */
static bp_status trained_layers(const bp_model *m, const bp_train_config *cfg, int *first)
{
    int L = m->cfg.n_layers, own = L - m->n_borrowed, k = cfg->train_layers;
    if (k < 0 || k > own)
        return bp__fail(BP_ERR_INVALID, "train config: train_layers = %d, must be 0 (all) .. %d "
                        "(the model has %d layers%s)", k, own, L,
                        m->n_borrowed ? ", the first ones borrowed and frozen" : "");
    *first = L - (k ? k : own);
    return BP_OK;
}

/* The layer whose input the epoch's x are: the first trained one when they
 * are its features (cfg.features), else 0; and the width of a row of x. */
static int x_layer(const bp_trainer *t) { return t->cfg.features ? t->first : 0; }
static int x_width(const bp_trainer *t) { return t->model->cfg.sizes[x_layer(t)]; }

size_t bp_model_train_param_count(const bp_model *m, int train_layers)
{
    int L = m->cfg.n_layers, own = L - m->n_borrowed;
    if (train_layers <= 0 || train_layers > own) train_layers = own;
    return m->n_params - m->layers[L - train_layers].w_off;
}

bp_status bp_trainer_create(bp_trainer **out, bp_model *model, bp_optim *opt,
                            const bp_train_config *cfg)
{
    *out = NULL;
    if (cfg->batch_size < 1)
        return bp__fail(BP_ERR_INVALID, "train config: batch_size = %d, must be >= 1",
                        cfg->batch_size);
    int shards = cfg->shards > 1 ? cfg->shards : 1; /* 0 (a zeroed config) is 1 */
    if (cfg->shard < 0 || cfg->shard >= shards)
        return bp__fail(BP_ERR_INVALID, "train config: shard = %d, must be 0 .. shards - 1 = %d",
                        cfg->shard, shards - 1);
    if (shards > 1 && !cfg->reduce)
        return bp__fail(BP_ERR_INVALID, "train config: %d shards need a reduce function", shards);
    int first = 0;
    bp_status st = trained_layers(model, cfg, &first);
    if (st) return st;
    size_t n_train = bp_model_param_count(model) - model->layers[first].w_off;
    /* The optimizer's state and split cover its own n values: another n would
     * update past the model's buffers, or only part of them. */
    if (opt && bp_optim_param_count(opt) != n_train && n_train == bp_model_param_count(model))
        return bp__fail(BP_ERR_INVALID,
                        "trainer: the optimizer has %zu parameters, the model %zu "
                        "(create the optimizer with bp_model_param_count(model))",
                        bp_optim_param_count(opt), bp_model_param_count(model));
    if (opt && bp_optim_param_count(opt) != n_train)
        return bp__fail(BP_ERR_INVALID,
                        "trainer: the optimizer has %zu parameters, the trained layers %d..%d "
                        "have %zu (create the optimizer with bp_model_train_param_count(model, "
                        "train_layers = %d))",
                        bp_optim_param_count(opt), first, model->cfg.n_layers - 1, n_train,
                        cfg->train_layers);
    st = bp__policy_check(cfg);
    if (st) return st;
    bp__alloc a = bp__alloc_current();
    bp_trainer *t = bp__alloc_calloc(&a, 1, sizeof *t);
    if (!t) return BP_ERR_NOMEM;
    t->alloc = a;
    t->model = model, t->opt = opt, t->cfg = *cfg;
    t->cfg.shards = shards;
    if (t->cfg.lr == 0 && opt) t->cfg.lr = bp_optim_lr(opt); /* the schedule's base rate */
    if ((st = bp__policy_init(&t->policy, cfg, model->n_params - model->own_off, &a))) {
        bp_trainer_free(t);
        return st;
    }
    t->first = first, t->n_train = n_train;
    t->n_blocks = bp__model_blocks(model, first, t->blocks);
    bp_rng_seed(&t->rng, cfg->seed);
    *out = t;
    return BP_OK;
}

void bp_trainer_free(bp_trainer *t)
{
    if (!t) return;
    bp__alloc a = t->alloc;
    bp__alloc_free(&a, t->order);
    for (int i = 0; i < 2; i++) bp__alloc_free(&a, t->xb[i]), bp__alloc_free(&a, t->yb[i]);
    bp__policy_free(&t->policy);
    bp__alloc_free(&a, t);
}

/* This shard's slice of the largest batch, min(batch_size, n) samples:
 * sized by the data, so that a batch size far beyond it (a hostile
 * checkpoint's, say) allocates nothing extra. */
static size_t batch_rows(size_t batch_size, size_t shards, size_t n)
{
    size_t batch = n < batch_size ? n : batch_size;
    return (batch + shards - 1) / shards;
}

/* The model's workspace and, when batches are gathered, the batch buffers
 * for batch_rows. They only grow. Unshuffled epochs read the caller's rows
 * in place and need no buffers. */
static bp_status size_batch(bp_trainer *t, size_t n)
{
    size_t rows = batch_rows((size_t)t->cfg.batch_size, (size_t)t->cfg.shards, n);
    bp_status st = bp_model_reserve(t->model, (int)rows);
    if (st || !t->gather || rows <= t->rows) return st;
    t->rows = 0;
    for (int i = 0; i < 2; i++) {
        bp__alloc_free(&t->alloc, t->xb[i]), bp__alloc_free(&t->alloc, t->yb[i]);
        t->xb[i] = t->yb[i] = NULL;
    }
    for (int i = 0; i < 2; i++) {
        if (!(t->xb[i] = bp__alloc_calloc(&t->alloc, rows * (size_t)x_width(t),
                                          sizeof(bp_real))) ||
            !(t->yb[i] = bp__alloc_calloc(&t->alloc, rows * (size_t)bp_model_outputs(t->model),
                                          sizeof(bp_real))))
            return BP_ERR_NOMEM;
    }
    t->rows = rows;
    return BP_OK;
}

/* The epoch's sample order when batches are gathered: `given`, or the
 * identity, then Fisher-Yates with the generator when shuffling. */
static bp_status make_order(bp_trainer *t, size_t n, bp_rng *rng, const size_t *given)
{
    t->gather = given || t->cfg.shuffle;
    bp_status st = size_batch(t, n);
    if (st || !t->gather) return st;
    if (t->order_n != n) { /* only when the data set changes size */
        bp__alloc_free(&t->alloc, t->order);
        t->order_n = 0;
        if (!(t->order = bp__alloc_calloc(&t->alloc, n, sizeof *t->order))) return BP_ERR_NOMEM;
        t->order_n = n;
    }
    if (given) {
        memcpy(t->order, given, n * sizeof *given);
        return BP_OK;
    }
    for (size_t i = 0; i < n; i++) t->order[i] = i;
    if (t->cfg.shuffle)
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)bp_rng_below(rng, i + 1), tmp = t->order[i];
            t->order[i] = t->order[j], t->order[j] = tmp;
        }
    return BP_OK;
}

/* Copies the rows order[start .. start+rows) of src (n, width) into dst. */
static void gather(bp_real *dst, const bp_real *src, const size_t *order, size_t start,
                   int rows, int width)
{
    /* A random row starts with a TLB miss and a DRAM trip: touching the row
     * 4 ahead overlaps them with this copy (20% off the gather, measured).
     * Splitting the copy over 2 threads measured no faster. */
    enum { AHEAD = 4 };
    size_t bytes = (size_t)width * sizeof *dst;
    for (int i = 0; i < rows; i++) {
        if (i + AHEAD < rows) __builtin_prefetch(src + order[start + i + AHEAD] * width);
        memcpy(dst + (size_t)i * width, src + order[start + i] * width, bytes);
    }
}

/* This shard's slice of batch b: `total` samples in the batch, `rows` of
 * them this shard's, from position `start` of the epoch's order. */
typedef struct {
    size_t total, start;
    int rows;
} batch_slice;

static batch_slice slice_of(const bp_trainer *t, size_t n, size_t b)
{
    size_t B = (size_t)t->cfg.batch_size, P = (size_t)t->cfg.shards, r = (size_t)t->cfg.shard;
    size_t total = n - b * B < B ? n - b * B : B;
    return (batch_slice){total, b * B + total * r / P,
                         (int)(total * (r + 1) / P - total * r / P)};
}

/* Gathers a slice of the shuffled epoch into buffer `buf`. */
typedef struct {
    bp_trainer *t;
    const bp_real *x, *y;
    batch_slice s;
    int buf;
    bool done;
} gather_job;

static void gather_batch(void *ctx)
{
    gather_job *g = ctx;
    bp_model *m = g->t->model;
    gather(g->t->xb[g->buf], g->x, g->t->order, g->s.start, g->s.rows, x_width(g->t));
    gather(g->t->yb[g->buf], g->y, g->t->order, g->s.start, g->s.rows, bp_model_outputs(m));
    g->done = true;
}

/* Touches the first line of each row that gather_batch will copy, at the
 * start of the step before it (1 thread: the gather runs after the update,
 * on the critical path). The rows' TLB misses and DRAM trips then overlap
 * with the forward pass instead of waiting in the copy: the demo's gather
 * (128 random rows of 188 MB) went from 147 to 113 us a batch, about 1% of
 * the step (docs/PERFORMANCE.md, Fusions). Nothing is read: no result changes. */
static void prefetch_rows(const gather_job *g)
{
    int in = x_width(g->t), k = bp_model_outputs(g->t->model);
    const size_t *order = g->t->order + g->s.start;
    for (int i = 0; i < g->s.rows; i++) {
        __builtin_prefetch(g->x + order[i] * in);
        __builtin_prefetch(g->y + order[i] * k);
    }
}

/* What one step adds to the epoch's sums: over the whole batch, all shards. */
typedef struct step_sums {
    double loss;   /* loss summed over the batch's samples, penalty included */
    double penalty; /* cfg.l2's penalty times the batch's samples */
    long correct;  /* -1 when accuracy does not apply */
    int stop;      /* a stop was requested (on any shard) */
} step_sums;

/* The gradient and batch sums of every shard added up by cfg.reduce, in one
 * call: the sums ride in the BP__REDUCE_EXTRA values after the gradient. */
static bp_status reduce(bp_trainer *t, step_sums *s)
{
    size_t n = t->n_train; /* the trained layers' gradient, contiguous at the end */
    bp_real *buf = t->model->layers[t->first].dw, *extra = buf + n;
    extra[0] = (bp_real)s->loss, extra[1] = (bp_real)s->correct, extra[2] = (bp_real)s->stop;
    bp_status st = t->cfg.reduce(t->cfg.reduce_user, buf, n + BP__REDUCE_EXTRA);
    if (st) return st;
    s->loss = extra[0];
    s->correct = extra[1] < 0 ? -1 : (long)extra[1];
    s->stop = extra[2] > 0;
    return BP_OK;
}

/* The batch-mean loss of the last forward pass, with cfg.prob_clip. */
static double batch_loss(const bp_trainer *t, const bp_real *y, int rows)
{
    const bp_model *m = t->model;
    int L = m->cfg.n_layers;
    if (t->cfg.prob_clip > 0)
        return bp__loss_clipped(m->cfg.loss, m->acts[L - 1], m->logits, y, rows,
                                m->cfg.sizes[L], t->cfg.prob_clip);
    return bp__loss(m->cfg.loss, m->acts[L - 1], m->logits, y, rows, m->cfg.sizes[L], m->lse);
}

/* cfg.l2 on a batch of `total` rows, for bp_trainer_objective: adds
 * (l2 / total) W to the weight gradients and returns the penalty
 * (l2 / 2) sum W^2, which the batch's summed loss gains (its mean gains that
 * / total). Biases are spared. A training step folds the same into the
 * optimizer's passes instead (penalty_check). */
static double add_l2_penalty(bp_trainer *t, int total)
{
    bp_model *m = t->model;
    double l2 = t->cfg.l2, lane[8] = {0}, sum = 0;
    bp_real c = (bp_real)(l2 / total);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const bp_layer *L = &m->layers[l];
        const bp_real *restrict w = L->w; /* (out, in) */
        bp_real *restrict g = L->dw;      /* (out, in) */
        size_t count = (size_t)L->out * L->in, i = 0;
        if (l < t->first) { /* frozen: in the penalty, as the loss has it, but no gradient */
            for (; i < count; i++) sum += (double)w[i] * w[i];
            continue;
        }
        /* one pass over w; independent lanes: one sum in double would serialize on its adds */
        for (; i + 8 <= count; i += 8)
            for (int j = 0; j < 8; j++) {
                lane[j] += (double)w[i + j] * w[i + j];
                g[i + j] += c * w[i + j];
            }
        for (; i < count; i++) {
            sum += (double)w[i] * w[i];
            g[i] += c * w[i];
        }
    }
    for (int j = 0; j < 8; j++) sum += lane[j];
    return 0.5 * l2 * sum;
}

/* cfg.l2 in a training step: the optimizer folds c W into the trained
 * weights' gradients as its passes read them (c = l2 / total, bp__l2_step),
 * and its norm pass sums their W^2; given that sum, this adds the penalty
 * (l2 / 2) sum W^2, the frozen layers' W included, to the step's sums, and
 * stops the step before its update if the loss is not finite. */
typedef struct {
    const bp_trainer *t;
    step_sums *s;
    int total;
} penalty_job;

static bp_status penalty_check(void *ctx, double sum_w2)
{
    penalty_job *p = ctx;
    const bp_model *m = p->t->model;
    double frozen = 0; /* in the penalty, as the loss has it, but no gradient */
    for (int l = 0; l < p->t->first; l++) {
        const bp_real *w = m->layers[l].w;
        for (size_t i = 0, count = (size_t)m->layers[l].out * m->layers[l].in; i < count; i++)
            frozen += (double)w[i] * w[i];
    }
    p->s->penalty = 0.5 * p->t->cfg.l2 * (frozen + sum_w2);
    p->s->loss += p->s->penalty;
    if (!isfinite(p->s->loss)) return bp__fail(BP_ERR_NUMERIC, "loss is %g", p->s->loss / p->total);
    return BP_OK;
}

/* Forward, loss and backward on this shard's `rows` of a batch of `total`,
 * the reduction across shards, then the update, with cfg.l2 folded in
 * (bp__l2_step says what the gradient buffer holds after it). */
static bp_status train_step(bp_trainer *t, const bp_real *x, const bp_real *y, int rows,
                            int total, step_sums *s, const bp__side_job *side)
{
    bp_model *m = t->model;
    if (side && bp_threads() == 1) prefetch_rows(side->ctx);
    bool count = !t->cfg.skip_accuracy; /* -1 on every shard when skipped: the reduced sum stays < 0 */
    s->loss = 0, s->penalty = 0, s->stop = t->stop;
    s->correct = count ? bp_model_count_correct(m, y, 0) : -1;
    bp_status st = BP_OK;
    if (rows > 0) {
        st = bp__model_forward_from(m, x_layer(t), x, rows);
        if (!st) st = bp__model_backward_from(m, y, rows, total, t->first);
        if (st) return st;
        s->loss = batch_loss(t, y, rows) * rows;
        if (count) s->correct = bp_model_count_correct(m, y, rows);
    } else {
        memset(m->layers[t->first].dw, 0, t->n_train * sizeof(bp_real));
    }
    if (t->cfg.reduce && (st = reduce(t, s))) return st;
    if (!isfinite(s->loss)) /* the same verdict on every shard: it follows the sums */
        return bp__fail(BP_ERR_NUMERIC, "loss is %g", s->loss / total);
    /* l2 on the reduced gradient: the same on every shard */
    penalty_job pj = {t, s, total};
    bp__l2_step l2 = {(bp_real)(t->cfg.l2 / total), penalty_check, &pj};
    const bp_layer *F = &m->layers[t->first]; /* layers first.. are contiguous from its W */
    return bp__optim_step_blocks(t->opt, F->w, F->dw, t->blocks, t->n_blocks, side,
                                 t->cfg.l2 > 0 ? &l2 : NULL);
}

/* Runs batches next_batch.. of the epoch, adding to the trainer's sums. A
 * shuffled batch is gathered during the previous step's update: the gather
 * waits on DRAM, the update streams, and the two overlap (one thread gathers
 * while the other starts the update). */
static bp_status run_batches(bp_trainer *t, const bp_real *x, const bp_real *y, size_t n)
{
    int in = x_width(t), k = bp_model_outputs(t->model);
    size_t B = (size_t)t->cfg.batch_size, n_batches = (n + B - 1) / B;
    gather_job next = {.t = t, .x = x, .y = y, .buf = 0, .done = false};
    for (size_t b = t->next_batch; b < n_batches; b++) {
        batch_slice sl = slice_of(t, n, b);
        const bp_real *xb = x + sl.start * in, *yb = y + sl.start * k;
        bp__side_job side = {gather_batch, &next}, *ahead = NULL;
        if (t->gather) {
            if (!next.done) {
                next.s = sl;
                gather_batch(&next);
            }
            xb = t->xb[next.buf], yb = t->yb[next.buf];
            next.buf ^= 1, next.done = false;
            if (b + 1 < n_batches) next.s = slice_of(t, n, b + 1), ahead = &side;
        }
        step_sums s;
        bp_status st = train_step(t, xb, yb, sl.rows, (int)sl.total, &s, ahead);
        if (st) {
            char why[512];
            snprintf(why, sizeof why, "%s", bp_last_error());
            return bp__fail(st, "epoch %d, batch %zu: %s%s", t->epochs_done + 1, b + 1, why,
                            st == BP_ERR_NUMERIC ? " (try a lower learning rate or gradient clipping)" : "");
        }
        t->loss_sum += s.loss;
        t->penalty_sum += s.penalty;
        t->correct = s.correct < 0 || t->correct < 0 ? -1 : t->correct + s.correct;
        t->seen += sl.total;
        if (t->cfg.on_batch) {
            bp_batch_info info = {t->epochs_done + 1, b + 1, n_batches, t->seen,
                                  t->loss_sum / (double)t->seen};
            t->cfg.on_batch(t->cfg.user, &info);
        }
        /* One process stops on its own flag; shards on the reduced one, so together. */
        if ((t->cfg.reduce ? s.stop : t->stop) && b + 1 < n_batches) {
            t->stop = 0;
            t->next_batch = b + 1;
            return bp__fail(BP_ERR_INTERRUPTED, "epoch %d stopped after batch %zu of %zu",
                            t->epochs_done + 1, b + 1, n_batches);
        }
    }
    return BP_OK;
}

static bp_status run_epoch(bp_trainer *t, const bp_real *x, const bp_real *y, size_t n,
                           const size_t *order, bp_epoch_stats *stats)
{
    if (n == 0) return bp__fail(BP_ERR_INVALID, "train: no samples");
    if (!t->opt) return bp__fail(BP_ERR_INVALID, "train: the trainer has no optimizer");
    double t0 = bp__now();
    if (bp__policy_sets_lr(&t->cfg)) /* the schedule's rate, a resumed epoch's included */
        bp_optim_set_lr(t->opt, bp_train_config_lr(&t->cfg, t->epochs_done));
    size_t B = (size_t)t->cfg.batch_size, n_batches = (n + B - 1) / B;
    bp_rng rng = t->rng;
    bp_status st = make_order(t, n, &rng, order);
    if (st) return st;
    if (t->next_batch >= n_batches) t->next_batch = 0; /* stale position: data changed */
    if (t->next_batch == 0) t->loss_sum = 0, t->penalty_sum = 0, t->correct = 0, t->seen = 0;
    size_t seen_before = t->seen;
    st = run_batches(t, x, y, n);
    if (stats) {
        double secs = bp__now() - t0;
        stats->epoch = t->epochs_done + 1;
        stats->loss = t->seen ? t->loss_sum / (double)t->seen : NAN;
        stats->penalty = t->seen ? t->penalty_sum / (double)t->seen : NAN;
        stats->accuracy = t->correct < 0 || !t->seen ? -1 : (double)t->correct / (double)t->seen;
        stats->seconds = secs;
        stats->samples_per_sec = secs > 0 ? (double)(t->seen - seen_before) / secs : 0;
        stats->steps = bp_optim_steps(t->opt);
    }
    t->policy.reason = st == BP_ERR_INTERRUPTED ? BP_STOP_INTERRUPTED
                       : st == BP_ERR_NUMERIC     ? BP_STOP_NUMERIC : BP_STOP_NONE;
    if (st == BP_ERR_INTERRUPTED) return st; /* the next call resumes the epoch */
    if (!st) {
        t->rng = rng;
        t->epochs_done++;
        t->policy.es.epoch_loss = t->loss_sum / (double)t->seen; /* for bp_trainer_end_epoch */
    }
    t->next_batch = 0; /* done, or abandoned on an error */
    t->loss_sum = 0, t->penalty_sum = 0, t->correct = 0, t->seen = 0;
    return st;
}

bp_status bp_trainer_epoch(bp_trainer *t, const bp_real *x, const bp_real *y, size_t n,
                           bp_epoch_stats *stats)
{
    return run_epoch(t, x, y, n, NULL, stats);
}

bp_status bp_trainer_epoch_order(bp_trainer *t, const bp_real *x, const bp_real *y, size_t n,
                                 const size_t *order, bp_epoch_stats *stats)
{
    if (!order) return bp__fail(BP_ERR_INVALID, "train: order is NULL");
    for (size_t i = 0; i < n; i++)
        if (order[i] >= n)
            return bp__fail(BP_ERR_INVALID, "train: order[%zu] = %zu, must be < n = %zu", i,
                            order[i], n);
    return run_epoch(t, x, y, n, order, stats);
}

bp_status bp_trainer_objective(bp_trainer *t, const bp_real *x, const bp_real *y, size_t n,
                               double *loss, double *penalty)
{
    if (n == 0 || n > INT_MAX)
        return bp__fail(BP_ERR_INVALID, "objective: n = %zu samples, must be 1..%d", n, INT_MAX);
    bp_model *m = t->model;
    int rows = (int)n;
    bp_status st = bp__model_forward_from(m, x_layer(t), x, rows);
    if (!st) st = bp__model_backward_from(m, y, rows, rows, t->first);
    if (st) return st;
    double l = batch_loss(t, y, rows), p = t->cfg.l2 > 0 ? add_l2_penalty(t, rows) / rows : 0;
    *loss = l + p;
    if (penalty) *penalty = p;
    if (!isfinite(*loss)) return bp__fail(BP_ERR_NUMERIC, "objective: loss is %g", *loss);
    return BP_OK;
}

void bp_trainer_request_stop(bp_trainer *t) { t->stop = 1; }
int bp_trainer_epochs_done(const bp_trainer *t) { return t->epochs_done; }
bp_model *bp_trainer_model(const bp_trainer *t) { return t->model; }
bp_optim *bp_trainer_optim(const bp_trainer *t) { return t->opt; }
void bp_trainer_set_epochs_done(bp_trainer *t, int epochs) { t->epochs_done = epochs; }
void bp_trainer_rng(const bp_trainer *t, uint64_t s[4]) { memcpy(s, t->rng.s, sizeof t->rng.s); }
void bp_trainer_set_rng(bp_trainer *t, const uint64_t s[4]) { memcpy(t->rng.s, s, sizeof t->rng.s); }
size_t bp_trainer_next_batch(const bp_trainer *t) { return t->next_batch; }
void bp_trainer_set_next_batch(bp_trainer *t, size_t b) { t->next_batch = b; }
const bp_train_config *bp_trainer_cfg(const bp_trainer *t) { return &t->cfg; }

void bp_trainer_partial(const bp_trainer *t, double *loss_sum, long *correct, size_t *seen)
{
    *loss_sum = t->loss_sum, *correct = t->correct, *seen = t->seen;
}

void bp_trainer_set_partial(bp_trainer *t, double loss_sum, long correct, size_t seen)
{
    t->loss_sum = loss_sum, t->correct = correct, t->seen = seen;
}

bp_status bp_trainer_end_epoch(bp_trainer *t, double val_loss, bp_stop_reason *stop)
{
    if (stop) *stop = BP_STOP_NONE;
    double loss = t->policy.es.epoch_loss;
    if (isnan(loss))
        return bp__fail(BP_ERR_INVALID, "end epoch: no epoch has completed since the last call "
                        "(%d epochs done)", t->epochs_done);
    bp_monitor mon = t->cfg.monitor;
    if (mon == BP_MONITOR_VAL_LOSS || (mon == BP_MONITOR_AUTO && !isnan(val_loss))) {
        if (isnan(val_loss))
            return bp__fail(BP_ERR_INVALID, "end epoch %d: monitor is the validation loss, but "
                            "val_loss is NAN", t->epochs_done);
        loss = val_loss;
    }
    bp_stop_reason r = bp__policy_judge(&t->policy, &t->cfg, t->epochs_done, loss,
                                        bp_model_params(t->model));
    if (stop) *stop = r;
    return BP_OK;
}

bp_stop_reason bp_trainer_stop_reason(const bp_trainer *t) { return t->policy.reason; }
void bp_trainer_early_stop(const bp_trainer *t, bp_early_stop_state *out) { *out = t->policy.es; }
const bp_real *bp_trainer_best_params(const bp_trainer *t) { return t->policy.best; }

void bp_trainer_set_early_stop(bp_trainer *t, const bp_early_stop_state *s, const bp_real *best)
{
    bp__policy_resume(&t->policy, s, best);
}

/* ------------------------------------------------------------ memory */

bp_status bp_train_memory(const bp_model_config *mc, int frozen, const bp_optim_config *oc,
                          const bp_train_config *tc, size_t n_samples, size_t *bytes)
{
    size_t model, optim;
    bp_status st = bp__model_bytes(mc, frozen, &model);
    if (st) return st;
    int L = mc->n_layers, own = L - frozen, k = tc->train_layers;
    if (k < 0 || k > own)
        return bp__fail(BP_ERR_INVALID, "train config: train_layers = %d, must be 0 (all) .. %d",
                        k, own);
    if (tc->batch_size < 1 || n_samples == 0)
        return bp__fail(BP_ERR_INVALID, "memory: batch_size = %d and %zu samples, both must be "
                        ">= 1", tc->batch_size, n_samples);
    size_t n_train = bp_model_config_param_count(mc, L - (k ? k : own), L);
    if ((st = bp__optim_bytes(oc, n_train, &optim))) return st;
    size_t shards = tc->shards > 1 ? (size_t)tc->shards : 1;
    size_t rows = batch_rows((size_t)tc->batch_size, shards, n_samples);
    size_t in = (size_t)mc->sizes[tc->features ? L - (k ? k : own) : 0], out = (size_t)mc->sizes[L],
           s = sizeof(bp_real);
    size_t trainer = bp__alloc_bytes(1, sizeof(bp_trainer));
    if (tc->restore_best) trainer += bp__alloc_bytes(bp_model_config_param_count(mc, frozen, L), s);
    if (tc->shuffle) /* the order and two gathered batches (bp_trainer_epoch_order: count it so) */
        trainer += bp__alloc_bytes(n_samples, sizeof(size_t)) +
                   2 * (bp__alloc_bytes(rows * in, s) + bp__alloc_bytes(rows * out, s));
    *bytes = model + bp__model_workspace_bytes(mc, rows) + optim + trainer;
    return BP_OK;
}
