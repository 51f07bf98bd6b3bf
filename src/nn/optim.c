/* optim.c - optimizers, each one loop over the flat parameter, gradient and
 * state buffers. Formulas and operation order follow torch.optim (1.13) so
 * that trajectories agree with PyTorch; the notes' bias-corrected momentum and
 * eps-inside-the-root Adam are their own cases (docs/MATH.md). */
#include "internal.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SLOTS 2

struct bp_optim {
    bp__alloc alloc;              /* where its memory comes from (alloc.c) */
    bp_optim_config cfg;
    size_t n;
    uint64_t t;                   /* steps taken */
    double last_norm;
    int n_slots;
    const char *slot_names[MAX_SLOTS];
    bp_real *slot[MAX_SLOTS];     /* (n) each */
};

static const char *const optim_names[BP_OPTIM_COUNT_] = {
    "sgd", "momentum", "nesterov", "notes-momentum", "adam", "adamw", "rmsprop"};

const char *bp_optim_name(bp_optim_kind k)
{
    return (unsigned)k < BP_OPTIM_COUNT_ ? optim_names[k] : "unknown";
}

bp_status bp_optim_from_name(const char *name, bp_optim_kind *out)
{
    int i;
    bp_status st = bp__lookup("optimizer", optim_names, BP_OPTIM_COUNT_, name, &i);
    if (!st) *out = (bp_optim_kind)i;
    return st;
}

bp_optim_config bp_optim_config_default(bp_optim_kind kind)
{
    bp_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    bool adam = kind == BP_OPTIM_ADAM || kind == BP_OPTIM_ADAMW;
    c.lr = adam ? 1e-3 : 1e-2;
    c.momentum = kind == BP_OPTIM_RMSPROP ? 0.0 : 0.9;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.alpha = 0.99;
    c.eps = 1e-8;
    c.weight_decay = kind == BP_OPTIM_ADAMW ? 1e-2 : 0.0;
    return c;
}

static bp_status validate(const bp_optim_config *c)
{
#define RANGE(field, ok, what)                                                         \
    if (!(ok)) return bp__fail(BP_ERR_INVALID, "optimizer config: " #field " = %g, %s", \
                               (double)c->field, what)
    RANGE(kind, (unsigned)c->kind < BP_OPTIM_COUNT_, "not an optimizer");
    RANGE(lr, c->lr > 0 && isfinite(c->lr), "must be > 0");
    RANGE(momentum, c->momentum >= 0 && c->momentum < 1, "must be in [0, 1)");
    RANGE(beta1, c->beta1 >= 0 && c->beta1 < 1, "must be in [0, 1)");
    RANGE(beta2, c->beta2 >= 0 && c->beta2 < 1, "must be in [0, 1)");
    RANGE(alpha, c->alpha >= 0 && c->alpha < 1, "must be in [0, 1)");
    RANGE(eps, c->eps >= 0 && isfinite(c->eps), "must be >= 0");
    RANGE(weight_decay, c->weight_decay >= 0 && isfinite(c->weight_decay), "must be >= 0");
    RANGE(clip_norm, c->clip_norm >= 0 && isfinite(c->clip_norm), "must be >= 0 (0: off)");
    if (c->kind == BP_OPTIM_NOTES_MOMENTUM && c->momentum == 0)
        return bp__fail(BP_ERR_INVALID, "optimizer config: momentum = 0: notes-momentum "
                        "needs beta in (0, 1) (use sgd for none)");
#undef RANGE
    return BP_OK;
}

static void name_slots(bp_optim *o)
{
    switch (o->cfg.kind) {
    case BP_OPTIM_SGD: o->n_slots = 0; break;
    case BP_OPTIM_MOMENTUM:
    case BP_OPTIM_NESTEROV: o->n_slots = 1, o->slot_names[0] = "velocity"; break;
    case BP_OPTIM_NOTES_MOMENTUM: o->n_slots = 1, o->slot_names[0] = "m"; break;
    case BP_OPTIM_ADAM:
    case BP_OPTIM_ADAMW: o->n_slots = 2, o->slot_names[0] = "m", o->slot_names[1] = "v"; break;
    case BP_OPTIM_RMSPROP:
        o->n_slots = o->cfg.momentum > 0 ? 2 : 1;
        o->slot_names[0] = "v", o->slot_names[1] = "velocity";
        break;
    case BP_OPTIM_COUNT_: BP_ASSERT(0);
    }
}

bp_status bp_optim_create(bp_optim **out, const bp_optim_config *cfg, size_t n)
{
    *out = NULL;
    bp_status st = validate(cfg);
    if (st) return st;
    if (n == 0) return bp__fail(BP_ERR_INVALID, "optimizer: no parameters");
    bp__alloc a = bp__alloc_current();
    bp_optim *o = bp__alloc_calloc(&a, 1, sizeof *o);
    if (!o) return BP_ERR_NOMEM;
    o->alloc = a;
    o->cfg = *cfg;
    o->n = n;
    name_slots(o);
    for (int s = 0; s < o->n_slots; s++)
        if (!(o->slot[s] = bp__alloc_calloc(&a, n, sizeof(bp_real)))) {
            bp_optim_free(o);
            return BP_ERR_NOMEM;
        }
    *out = o;
    return BP_OK;
}

void bp_optim_free(bp_optim *o)
{
    if (!o) return;
    bp__alloc a = o->alloc;
    for (int s = 0; s < MAX_SLOTS; s++) bp__alloc_free(&a, o->slot[s]);
    bp__alloc_free(&a, o);
}

bp_status bp__optim_bytes(const bp_optim_config *cfg, size_t n, size_t *bytes)
{
    bp_status st = validate(cfg);
    if (st) return st;
    bp_optim o = {.cfg = *cfg};
    name_slots(&o);
    *bytes = bp__alloc_bytes(1, sizeof o) + (size_t)o.n_slots * bp__alloc_bytes(n, sizeof(bp_real));
    return BP_OK;
}

/* Σ g², accumulated in double (the exact way, for the fallback below). */
static double sum_squares_double(const bp_real *restrict g, size_t n)
{
    double lane[8] = {0}, sum = 0; /* independent lanes: vectorizes without reordering */
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) lane[j] += (double)g[i + j] * g[i + j];
    for (; i < n; i++) sum += (double)g[i] * g[i];
    for (int j = 0; j < 8; j++) sum += lane[j];
    return sum;
}

/* Σ g². Converting every value to double made this 26 us a step for 235,146
 * values; instead each of 64 lanes sums 16 squares at bp_real precision (in
 * float a relative error under 16 · 2^-24, 8e-10 measured on the whole sum),
 * and the lanes' block sums are added in double: 11 us. A float block sum
 * that overflows (|g| beyond ~4e18) sends the whole sum to the exact way. */
static double sum_squares(const bp_real *restrict g, size_t n)
{
    enum { LANES = 64, DEPTH = 16, BLOCK = LANES * DEPTH };
    double total[LANES] = {0}, sum = 0;
    size_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK) {
        bp_real lane[LANES] = {0};
        for (int d = 0; d < DEPTH; d++) {
            const bp_real *row = g + i + (size_t)d * LANES;
            for (int j = 0; j < LANES; j++) lane[j] += row[j] * row[j];
        }
        for (int j = 0; j < LANES; j++) total[j] += lane[j];
    }
    for (; i < n; i++) sum += (double)g[i] * g[i];
    for (int j = 0; j < LANES; j++) sum += total[j];
    return isfinite(sum) ? sum : sum_squares_double(g, n);
}

static void scale(bp_real *restrict g, size_t n, bp_real c)
{
    for (size_t i = 0; i < n; i++) g[i] *= c;
}

/* Weight decay, applied inside each rule's own loop (one pass over w, g and
 * the state, not a pass of its own before it): the decay of the pass, with
 * the step's constant d.
 *   DECAY_L2: coupled, the rule sees g + d w (torch.optim's weight_decay,
 *     grad.add(param, alpha=wd)), in the same order of operations as the
 *     separate pass g += d w it replaced, so the same bits; g is left as it was.
 *   DECAY_SHRINK: decoupled (AdamW), w is first multiplied by d = 1 - lr wd
 *     (torch's param.mul_(1 - lr wd)), then the rule updates it.
 * Each rule is instantiated for each decay it takes (always_inline, constant
 * `decay`), so that no choice is left in the vectorized body; not at -Os (a
 * device's core, make embedded-core), where the copies cost 1.7 KB of flash
 * and a branch in the loop costs little beside a scalar FPU's division. */
typedef enum { DECAY_NONE, DECAY_L2, DECAY_SHRINK } decay_kind;

#define GRAD(i) (decay == DECAY_L2 ? g[i] + d * w[i] : g[i])
#ifdef __OPTIMIZE_SIZE__
#define INLINE static
#else
#define INLINE static inline __attribute__((always_inline))
#endif

/* Each update returns nonzero when a parameter or state value it wrote is
 * not finite: a finite gradient times too large a step can still overflow.
 * The test is fused into the loops, where it costs next to nothing.
 * w, g and each state slot are separate buffers: `restrict` says so, and
 * without it GCC's vector loops reload after every store (Adam ran 2.5x slower). */
#define BAD(x) (!isfinite(x))

INLINE int sgd(bp_real *restrict w, const bp_real *restrict g, size_t n, double lr,
               bp_real d, decay_kind decay)
{
    bp_real a = (bp_real)lr;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] -= a * GRAD(i);
        bad |= BAD(w[i]);
    }
    return bad;
}

/* v = mu v + g; w -= lr v (or lr (g + mu v), Nesterov). */
INLINE int momentum(bp_real *restrict w, bp_real *restrict v, const bp_real *restrict g, size_t n,
                    double lr, double mu, bool nesterov, bp_real d, decay_kind decay)
{
    bp_real a = (bp_real)lr, m = (bp_real)mu;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        bp_real gi = GRAD(i);
        v[i] = m * v[i] + gi;
        w[i] -= a * (nesterov ? gi + m * v[i] : v[i]);
        bad |= BAD(v[i]) | BAD(w[i]);
    }
    return bad;
}

/* The step kept in the velocity (scikit-learn's SGD): v = mu v - lr g;
 * w += v, or w += mu v - lr g (Nesterov), in its order of operations. */
INLINE int momentum_step(bp_real *restrict w, bp_real *restrict v, const bp_real *restrict g,
                         size_t n, double lr, double mu, bool nesterov, bp_real d, decay_kind decay)
{
    bp_real a = (bp_real)lr, m = (bp_real)mu;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        bp_real gi = GRAD(i);
        v[i] = m * v[i] - a * gi;
        w[i] += nesterov ? m * v[i] - a * gi : v[i];
        bad |= BAD(v[i]) | BAD(w[i]);
    }
    return bad;
}

/* The notes: m = b m + (1 - b) g;  m^ = m / (1 - b^t);  w -= lr m^. */
INLINE int notes_momentum(bp_real *restrict w, bp_real *restrict m, const bp_real *restrict g,
                          size_t n, double lr, double beta, uint64_t t, bp_real d, decay_kind decay)
{
    bp_real b = (bp_real)beta, one_b = (bp_real)(1 - beta);
    bp_real step = (bp_real)(lr / (1 - pow(beta, (double)t)));
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        m[i] = b * m[i] + one_b * GRAD(i);
        w[i] -= step * m[i];
        bad |= BAD(m[i]) | BAD(w[i]);
    }
    return bad;
}

/* Adam's per-step constants, with c_k = 1 - b_k^t (computed once a step). */
typedef struct {
    bp_real b1, b2, one_b1, one_b2;
    bp_real step;          /* lr / c1 */
    bp_real eps, c2_sqrt, inv_c2;
} adam_consts;

static adam_consts adam_at(const bp_optim_config *c, uint64_t t)
{
    double c1 = 1 - pow(c->beta1, (double)t), c2 = 1 - pow(c->beta2, (double)t);
    if (c->folded_bias_correction && !c->eps_inside_sqrt) /* lr sqrt(c2) / c1, no c2 in the loop */
        return (adam_consts){
            .b1 = (bp_real)c->beta1, .b2 = (bp_real)c->beta2,
            .one_b1 = (bp_real)(1 - c->beta1), .one_b2 = (bp_real)(1 - c->beta2),
            .step = (bp_real)(c->lr * sqrt(c2) / c1), .eps = (bp_real)c->eps,
            .c2_sqrt = 1, .inv_c2 = 1};
    return (adam_consts){
        .b1 = (bp_real)c->beta1, .b2 = (bp_real)c->beta2,
        .one_b1 = (bp_real)(1 - c->beta1), .one_b2 = (bp_real)(1 - c->beta2),
        .step = (bp_real)(c->lr / c1), .eps = (bp_real)c->eps,
        .c2_sqrt = (bp_real)sqrt(c2), .inv_c2 = (bp_real)(1 / c2)};
}

/* Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
 * w -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps)   (torch's order), or the
 * notes' w -= lr m^ / sqrt(v^ + eps). Once sqrt(c2) rounds to 1 (after about
 * 17,000 steps in float, 36,000 in double), dividing by it changes nothing and
 * is skipped. Each form is its own loop, so that no choice is left in the
 * vectorized body (one pass over w, m, v and g). */
typedef enum { ADAM_NOTES, ADAM_TORCH_C2, ADAM_TORCH } adam_form;

INLINE int adam_loop(bp_real *restrict w, bp_real *restrict m, bp_real *restrict v,
                    const bp_real *restrict g, size_t n, const adam_consts *k, adam_form form,
                    bp_real d, decay_kind decay)
{
    bp_real b1 = k->b1, b2 = k->b2, one_b1 = k->one_b1, one_b2 = k->one_b2;
    bp_real step = k->step, eps = k->eps, c2_sqrt = k->c2_sqrt, inv_c2 = k->inv_c2;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        bp_real gi = GRAD(i);
        m[i] = b1 * m[i] + one_b1 * gi;
        v[i] = b2 * v[i] + one_b2 * gi * gi;
        bp_real denom = form == ADAM_NOTES ? R_SQRT(v[i] * inv_c2 + eps)
                      : form == ADAM_TORCH_C2 ? R_SQRT(v[i]) / c2_sqrt + eps
                      : R_SQRT(v[i]) + eps;
        bp_real wi = decay == DECAY_SHRINK ? w[i] * d : w[i];
        w[i] = wi - step * m[i] / denom;
        bad |= BAD(m[i]) | BAD(v[i]) | BAD(w[i]);
    }
    return bad;
}

INLINE int adam(bp_real *restrict w, bp_real *restrict m, bp_real *restrict v,
                const bp_real *restrict g, size_t n, const adam_consts *k, bool eps_inside,
                bp_real d, decay_kind decay)
{
    if (eps_inside) return adam_loop(w, m, v, g, n, k, ADAM_NOTES, d, decay);
    if (k->c2_sqrt != 1) return adam_loop(w, m, v, g, n, k, ADAM_TORCH_C2, d, decay);
    return adam_loop(w, m, v, g, n, k, ADAM_TORCH, d, decay);
}

/* RMSprop: v = a v + (1-a) g²; w -= lr g / (sqrt(v) + eps), or with momentum
 * buf = mu buf + g / (sqrt(v) + eps); w -= lr buf. */
INLINE int rmsprop(bp_real *restrict w, bp_real *restrict v, bp_real *restrict buf,
                   const bp_real *restrict g, size_t n, const bp_optim_config *c, bp_real d,
                   decay_kind decay)
{
    bp_real a = (bp_real)c->alpha, one_a = (bp_real)(1 - c->alpha);
    bp_real lr = (bp_real)c->lr, eps = (bp_real)c->eps, mu = (bp_real)c->momentum;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        bp_real gi = GRAD(i);
        v[i] = a * v[i] + one_a * gi * gi;
        bp_real scaled = gi / (R_SQRT(v[i]) + eps);
        if (buf) {
            buf[i] = mu * buf[i] + scaled;
            w[i] -= lr * buf[i];
            bad |= BAD(buf[i]);
        } else {
            w[i] -= lr * scaled;
        }
        bad |= BAD(v[i]) | BAD(w[i]);
    }
    return bad;
}

/* The message for an update that left w or the state non-finite. */
static bp_status overflowed(const bp_optim *o, const bp_real *w)
{
    const char *what = "parameter";
    const bp_real *bad = w;
    for (int s = 0; s < o->n_slots && bad == w; s++)
        for (size_t i = 0; i < o->n && bad == w; i++)
            if (BAD(o->slot[s][i])) bad = o->slot[s], what = o->slot_names[s];
    size_t i = 0;
    while (i < o->n && !BAD(bad[i])) i++;
    return bp__fail(BP_ERR_NUMERIC, "step %llu made %s %zu %g from a finite gradient "
                    "(learning rate %g, eps %g): the parameters are no longer usable",
                    (unsigned long long)o->t, what, i, i < o->n ? (double)bad[i] : 0.0,
                    o->cfg.lr, o->cfg.eps);
}

/* One step's work on the library's threads: each part takes its share of
 * the rows of every block (bp__block), or everything on one part. The norm
 * is split so; the update is cut into chunks that each part takes from its
 * own share first, then from the others', so that a part busy with the side
 * job is covered. */
typedef struct {
    bp_optim *o;
    bp_real *w, *g;                  /* (n) */
    const bp__block *blocks;
    int n_blocks;
    const bp__side_job *side;
    atomic_size_t next[BP__MAX_THREADS]; /* the next chunk of each part's share */
    double partial[BP__MAX_THREADS]; /* Σ g² of each part */
    int bad[BP__MAX_THREADS];        /* whether each part's update left a value non-finite */
    bp_real clip_coef;               /* 1: no clipping */
    adam_consts adam;                /* Adam's and AdamW's, for this step */
} step_job;

typedef void range_fn(step_job *j, int part, size_t lo, size_t hi);

/* Part `part`'s rows of block b, as the range [lo, hi) of the flat buffers. */
static void share(const bp__block *b, int part, int parts, size_t *lo, size_t *hi)
{
    size_t r0, r1;
    bp__split(b->rows, part, parts, &r0, &r1);
    *lo = b->off + r0 * b->cols, *hi = b->off + r1 * b->cols;
}

/* Runs fn on each range of the flat buffers that is this part's: its rows of
 * every block, or everything on one part. */
static void for_part_ranges(step_job *j, int part, int parts, range_fn *fn)
{
    if (parts == 1) {
        fn(j, 0, 0, j->o->n);
        return;
    }
    for (int b = 0; b < j->n_blocks; b++) {
        size_t lo, hi;
        share(&j->blocks[b], part, parts, &lo, &hi);
        if (hi > lo) fn(j, part, lo, hi);
    }
}

/* Values per chunk of the update: about 6 us of work. */
#define CHUNK ((size_t)16384)

/* Chunk k of part owner's share (parts > 1), as [lo, hi); false past its end. */
static bool chunk(const step_job *j, int owner, int parts, size_t k, size_t *lo, size_t *hi)
{
    for (int b = 0; b < j->n_blocks; b++) {
        size_t a, z;
        share(&j->blocks[b], owner, parts, &a, &z);
        size_t count = (z - a + CHUNK - 1) / CHUNK;
        if (k < count) {
            *lo = a + k * CHUNK;
            *hi = z - *lo < CHUNK ? z : *lo + CHUNK;
            return true;
        }
        k -= count;
    }
    return false;
}

static void norm_range(step_job *j, int part, size_t lo, size_t hi)
{
    j->partial[part] += sum_squares(j->g + lo, hi - lo);
}

/* The kind's rule on w[lo, hi), with the decay `decay` folded into its loop. */
INLINE int apply_rule(step_job *j, bp_real *restrict w, const bp_real *restrict g, bp_real *s0,
                      bp_real *s1, size_t n, bp_real d, decay_kind decay)
{
    bp_optim *o = j->o;
    const bp_optim_config *c = &o->cfg;
    switch (c->kind) {
    case BP_OPTIM_SGD: return sgd(w, g, n, c->lr, d, decay);
    case BP_OPTIM_MOMENTUM:
    case BP_OPTIM_NESTEROV:
        if (c->step_in_velocity)
            return momentum_step(w, s0, g, n, c->lr, c->momentum, c->kind == BP_OPTIM_NESTEROV, d, decay);
        return momentum(w, s0, g, n, c->lr, c->momentum, c->kind == BP_OPTIM_NESTEROV, d, decay);
    case BP_OPTIM_NOTES_MOMENTUM: return notes_momentum(w, s0, g, n, c->lr, c->momentum, o->t, d, decay);
    case BP_OPTIM_ADAMW:
    case BP_OPTIM_ADAM: return adam(w, s0, s1, g, n, &j->adam, c->eps_inside_sqrt, d, decay);
    case BP_OPTIM_RMSPROP: return rmsprop(w, s0, o->n_slots > 1 ? s1 : NULL, g, n, c, d, decay);
    case BP_OPTIM_COUNT_: BP_ASSERT(0);
    }
    return 0;
}

/* The update of w[lo, hi): clip, then the kind's rule with its decay:
 * coupled (g + wd w) for every kind but AdamW, decoupled (w (1 - lr wd)
 * first) for AdamW, each inside the rule's own pass. */
static void update_range(step_job *j, int part, size_t lo, size_t hi)
{
    bp_optim *o = j->o;
    const bp_optim_config *c = &o->cfg;
    size_t n = hi - lo;
    bp_real *w = j->w + lo, *g = j->g + lo;
    bp_real *s0 = o->slot[0] ? o->slot[0] + lo : NULL, *s1 = o->slot[1] ? o->slot[1] + lo : NULL;
    if (j->clip_coef != 1) scale(g, n, j->clip_coef);
    int bad;
    if (c->weight_decay == 0)
        bad = apply_rule(j, w, g, s0, s1, n, 0, DECAY_NONE);
    else if (c->kind == BP_OPTIM_ADAMW)
        bad = apply_rule(j, w, g, s0, s1, n, (bp_real)(1 - c->lr * c->weight_decay), DECAY_SHRINK);
    else
        bad = apply_rule(j, w, g, s0, s1, n, (bp_real)c->weight_decay, DECAY_L2);
    j->bad[part] |= bad;
}

static void norm_part(void *ctx, int part, int parts) { for_part_ranges(ctx, part, parts, norm_range); }

static void update_part(void *ctx, int part, int parts)
{
    step_job *j = ctx;
    if (parts == 1) { /* the side job last: the batch it gathers is then in cache for the forward */
        for_part_ranges(j, 0, 1, update_range);
        if (j->side) j->side->fn(j->side->ctx);
        return;
    }
    if (j->side && part == parts - 1) j->side->fn(j->side->ctx);
    for (int i = 0; i < parts; i++) {
        int owner = (part + i) % parts;
        size_t lo, hi;
        while (chunk(j, owner, parts, atomic_fetch_add(&j->next[owner], 1), &lo, &hi))
            update_range(j, part, lo, hi);
    }
}

bp_status bp__optim_step_blocks(bp_optim *o, bp_real *w, bp_real *g, const bp__block *blocks,
                                int n_blocks, const bp__side_job *side)
{
    step_job j = {.o = o, .w = w, .g = g, .blocks = blocks, .n_blocks = n_blocks, .side = side,
                  .clip_coef = 1};
    /* Work in GEMM-flop equivalents (a flop is about 0.01 ns here): Σ g² costs
     * 0.05-0.1 ns a value, an update about 0.4 (memory-bound). Counted as 2
     * flops, the norm of 235,146 values stayed on one thread. */
    bp__parallel(norm_part, &j, 10.0 * o->n);
    double sum = 0; /* over every slot: the parts a job ran in are not read back (parallel.c), */
    for (int p = 0; p < BP__MAX_THREADS; p++) sum += j.partial[p]; /* and the unused ones add 0 */
    double norm = sqrt(sum);
    o->last_norm = norm;
    if (!isfinite(norm))
        return bp__fail(BP_ERR_NUMERIC, "gradient norm is %g at step %llu", norm,
                        (unsigned long long)(o->t + 1));
    /* As torch.nn.utils.clip_grad_norm_: g *= max / (norm + 1e-6) when that is < 1. */
    double coef = o->cfg.clip_norm > 0 ? o->cfg.clip_norm / (norm + 1e-6) : 1;
    if (coef < 1) j.clip_coef = (bp_real)coef;
    o->t++;
    if (o->cfg.kind == BP_OPTIM_ADAM || o->cfg.kind == BP_OPTIM_ADAMW) j.adam = adam_at(&o->cfg, o->t);
    bp__parallel(update_part, &j, 40.0 * o->n);
    for (int p = 0; p < BP__MAX_THREADS; p++)
        if (j.bad[p]) return overflowed(o, w);
    return BP_OK;
}

bp_status bp_optim_step(bp_optim *o, bp_real *w, bp_real *g)
{
    bp__block all = {0, o->n, 1};
    return bp__optim_step_blocks(o, w, g, &all, 1, NULL);
}

void bp_optim_set_lr(bp_optim *o, double lr) { o->cfg.lr = lr; }
double bp_optim_lr(const bp_optim *o) { return o->cfg.lr; }
const bp_optim_config *bp_optim_cfg(const bp_optim *o) { return &o->cfg; }
uint64_t bp_optim_steps(const bp_optim *o) { return o->t; }
size_t bp_optim_param_count(const bp_optim *o) { return o->n; }
void bp_optim_set_steps(bp_optim *o, uint64_t t) { o->t = t; }
double bp_optim_last_grad_norm(const bp_optim *o) { return o->last_norm; }
int bp_optim_state_count(const bp_optim *o) { return o->n_slots; }
bp_real *bp_optim_state(bp_optim *o, int s) { return s >= 0 && s < o->n_slots ? o->slot[s] : NULL; }
const char *bp_optim_state_name(const bp_optim *o, int s)
{
    return s >= 0 && s < o->n_slots ? o->slot_names[s] : NULL;
}
