/* optim.c - optimizers, each one loop over the flat parameter, gradient and
 * state buffers. Formulas and operation order follow torch.optim (1.13) so
 * that trajectories agree with PyTorch; the notes' bias-corrected momentum and
 * eps-inside-the-root Adam are their own cases (docs/MATH.md). */
#include "internal.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if (defined(__AVX512F__) || defined(__AVX2__)) && !defined(BP_REAL_DOUBLE)
#include <immintrin.h>
#endif

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

/* The trainer's l2 (bp__l2_step) on a penalized block comes first, with its
 * rounding: the rule sees (g + c w) + d w, as after the separate pass g += c w.
 * Not at -Os: there the norm pass first writes g + c w into g, as that pass
 * did, and sums as before (L2_FOLDED 0): the folded passes cost 400 bytes of
 * flash, and a device has no cache for them to spare. */
#ifdef __OPTIMIZE_SIZE__
#define INLINE static
#define L2_FOLDED 0
#else
#define INLINE static inline __attribute__((always_inline))
#define L2_FOLDED 1
#endif
#define L2GRAD(i) (L2_FOLDED && l2 ? g[i] + c * w[i] : g[i])
#define GRAD(i) (decay == DECAY_L2 ? L2GRAD(i) + d * w[i] : L2GRAD(i))

/* Each update returns nonzero when a parameter or state value it wrote is
 * not finite: a finite gradient times too large a step can still overflow.
 * The test is fused into the loops, where it costs next to nothing.
 * w, g and each state slot are separate buffers: `restrict` says so, and
 * without it GCC's vector loops reload after every store (Adam ran 2.5x slower). */
#define BAD(x) (!isfinite(x))

/* The wide form. Where a gradient is 0 (a dead unit, a pixel that is 0 in
 * every image), a rule's state decays by a constant factor a step (Adam's m
 * by b1, momentum's v by mu) through float's subnormals. An x86 core takes a
 * microcode assist of 50-75 ns for a product, quotient or root of float with
 * a subnormal operand or result (measured on an Emerald Rapids core; a sum,
 * a conversion and a masked-off lane take none), and the tabular model
 * (20-64-64-1, batch 32) trained 1.4-1.9x faster with subnormals flushed, by
 * Adam or by momentum. But flushing them changes the bits against PyTorch,
 * which keeps them. So the float build on x86 takes those operations in
 * double, where float's subnormals are normal numbers, and rounds each
 * result once to float: a product of two floats is exact in double, and for
 * a quotient and a root the double rounding is innocuous (53 >= 2 x 24 + 2
 * bits), so the bits are the float operation's. It costs converting (and
 * double's slower divider), so it is taken only for runs of RUN values in
 * which g or a state has a nonzero value small enough for that (a rule's
 * bounds: tiny_for); the rest runs the float loop. The choice is only about
 * speed: both give the same bits (tests/test_optim.c compares them, with
 * bp__wide_form forcing each rule). On AMD's cores no run takes it: a Zen 5
 * core takes no assist, but runs a quotient, a root or a conversion with a
 * subnormal operand at about half speed, the wide form's conversions
 * included, and there the float loop over all values measured faster in
 * training (the tabular model's update 4.8 -> 3.8 us a step with Adam, 2.0 ->
 * 1.3 with momentum). Subnormal states still cost it: the tabular update
 * takes 1.8 us with none, 3.7-4.2 with its dead units' (docs/PERFORMANCE.md). */
#if !defined(BP_REAL_DOUBLE) && !defined(__OPTIMIZE_SIZE__) && (defined(__x86_64__) || defined(__i386__))
#define WIDE_FORM 1
#else
#define WIDE_FORM 0 /* double: its subnormals are 1e-308 away; a device: double is software */
#endif
int bp__wide_form = 0;

/* bp__wide_form's rules: 0 resolves to one of the others by the core. */
enum { FORM_NONE = -1, FORM_BY_CORE = 0, FORM_ALL = 1, FORM_BY_RUN = 2 };
#if WIDE_FORM
static int form_rule(void)
{
    if (bp__wide_form != FORM_BY_CORE) return bp__wide_form;
    return bp__cpu_amd() ? FORM_NONE : FORM_BY_RUN;
}
#endif

/* Which operations a run takes in double: none, Adam's m's (b1 m, step m and
 * the quotient: the runs where only m is small, nearly all of them), or all. */
enum { WIDE_NONE = 0, WIDE_M = 1, WIDE_REST = 2, WIDE_ALL = WIDE_M | WIDE_REST };

/* x in double, through `one` (1, read from a volatile): otherwise the compiler
 * may narrow (float)((double)a * (double)b) back to a float product, which
 * gives the same bits, but with the assist. `in` is the set of runs that take
 * the operation in double. */
#define WD(x) ((double)(x) * one)
#define MUL(a, b, in) (wide & (in) ? (bp_real)(WD(a) * WD(b)) : (a) * (b))
#define DIV(a, b, in) (wide & (in) ? (bp_real)(WD(a) / WD(b)) : (a) / (b))
#define ROOT(a) (wide & WIDE_REST ? (bp_real)sqrt(WD(a)) : R_SQRT(a))
#define WGRAD(i) (L2_FOLDED && l2 ? g[i] + MUL(c, w[i], WIDE_REST) : g[i])
#define WIDE_GRAD(i) (decay == DECAY_L2 ? WGRAD(i) + MUL(d, w[i], WIDE_REST) : WGRAD(i))

static volatile const double one_volatile = 1;

/* Under tiny_for(f), a value times f may be subnormal: float's least normal
 * over f, with a margin of 2^8 for the sums between; f the least positive
 * factor the rule multiplies the value by (tiny_factor: 1 at most, and a
 * factor of 0 makes no subnormal). */
#define TINY_LEAST (0x1p-126 * 0x1p8) /* float's least normal, with the margin */
static double tiny_factor(double f) { return f > 0 && f < 1 ? f : 1; }
static float tiny_for(double f) { return (float)fmin(TINY_LEAST / f, 0x1p60); }

#if WIDE_FORM
enum { RUN = 16 };

/* A whole run's small lanes as a bit mask, x small iff 0 < |x| < t: with
 * AVX-512 one unsigned compare of the bits, |x| - 1 < t - 1 (0 wraps to the
 * top; NaN and infinity are above any t), into a mask register; with AVX2
 * two signed ones (|x| < t, |x| != 0), moved out as sign bits. gcc's own
 * loop (any_small's) ORs the lanes with a chain of shuffles, which made
 * Adam's step 25% slower on normal states (1.01 against 0.88 ns a value). */
#if defined(__AVX2__)
static inline unsigned small_lanes256(const float *x, float t)
{
    int tb;
    memcpy(&tb, &t, sizeof tb);
    unsigned mask = 0;
    for (int h = 0; h < 16; h += 8) {
        __m256i bits = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + h)),
                                        _mm256_set1_epi32(0x7fffffff));
        __m256i small = _mm256_andnot_si256(_mm256_cmpeq_epi32(bits, _mm256_setzero_si256()),
                                            _mm256_cmpgt_epi32(_mm256_set1_epi32(tb), bits));
        mask |= (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(small)) << h;
    }
    return mask;
}
#endif
#if defined(__AVX512F__)
#define RUN_MASK 1
static inline unsigned small_lanes(const float *x, float t)
{
    int tb;
    memcpy(&tb, &t, sizeof tb);
    __m512i bits = _mm512_and_si512(_mm512_loadu_si512(x), _mm512_set1_epi32(0x7fffffff));
    return _mm512_cmplt_epu32_mask(_mm512_sub_epi32(bits, _mm512_set1_epi32(1)),
                                   _mm512_set1_epi32(tb - 1));
}
#elif defined(__AVX2__)
#define RUN_MASK 1
#define small_lanes small_lanes256
#else
#define RUN_MASK 0
#endif

/* Whether x[0 .. n) holds a value with 0 < |x| < t. */
static inline bool any_small(const float *x, size_t n, float t)
{
#if RUN_MASK
    if (n % RUN == 0) {
        unsigned mask = 0;
        for (size_t i = 0; i < n; i += RUN) mask |= small_lanes(x + i, t);
        return mask != 0;
    }
#endif
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0 && fabsf(x[i]) < t) return true; /* NaN compares false */
    return false;
}

/* A run of a one-state rule takes the wide form where g or s is small. */
static inline int wide_of(const float *g, const float *s, size_t n, float tiny_g, float tiny_s,
                          int rule)
{
    if (rule != FORM_BY_RUN) return rule == FORM_ALL ? WIDE_ALL : WIDE_NONE;
    return any_small(g, n, tiny_g) || any_small(s, n, tiny_s) ? WIDE_ALL : WIDE_NONE;
}

/* A one-state rule's LOOP(offset, length, wide) over n values. Its loop is
 * cheap beside Adam's divisions, and run by run it took 0.49 ns a value
 * against 0.30 in one loop: so a RUN_BLOCK of values with nothing small (nearly
 * every one) runs as one loop, and only a block that has one goes run by run,
 * each run with its wide set. The lengths are constants but the tail's.
 * Where no run takes the wide form (form_rule), it is one loop over all. */
enum { RUN_BLOCK = 16 * RUN };
#define BY_RUNS(n, g, s, tiny_g, tiny_s, LOOP)                                                \
    do {                                                                                      \
        size_t i_ = 0, r_, rest_;                                                             \
        int rule_ = form_rule();                                                              \
        if (rule_ == FORM_NONE) {                                                             \
            bad |= LOOP(0, (n), WIDE_NONE);                                                   \
            break;                                                                            \
        }                                                                                     \
        for (; i_ + RUN_BLOCK <= (n); i_ += RUN_BLOCK) {                                      \
            if (!wide_of(g + i_, s + i_, RUN_BLOCK, tiny_g, tiny_s, rule_)) {                 \
                bad |= LOOP(i_, RUN_BLOCK, WIDE_NONE);                                        \
                continue;                                                                     \
            }                                                                                 \
            for (r_ = i_; r_ < i_ + RUN_BLOCK; r_ += RUN)                                     \
                bad |= wide_of(g + r_, s + r_, RUN, tiny_g, tiny_s, rule_)                    \
                           ? LOOP(r_, RUN, WIDE_ALL) : LOOP(r_, RUN, WIDE_NONE);              \
        }                                                                                     \
        rest_ = (n) - i_;                                                                     \
        bad |= wide_of(g + i_, s + i_, rest_, tiny_g, tiny_s, rule_)                          \
                   ? LOOP(i_, rest_, WIDE_ALL) : LOOP(i_, rest_, WIDE_NONE);                  \
    } while (0)
#else
#define BY_RUNS(n, g, s, tiny_g, tiny_s, LOOP) \
    ((void)(tiny_g), (void)(tiny_s), bad |= LOOP(0, n, WIDE_NONE))
#endif

INLINE int sgd(bp_real *restrict w, const bp_real *restrict g, size_t n, double lr,
               bp_real d, decay_kind decay, bp_real c, bool l2)
{
    bp_real a = (bp_real)lr;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] -= a * GRAD(i);
        bad |= BAD(w[i]);
    }
    return bad;
}

/* torch's momentum: v = mu v + g; w -= lr v (or lr (g + mu v), Nesterov).
 * With the step kept in the velocity (scikit-learn's SGD, in_velocity):
 * v = mu v - lr g; w += v, or w += mu v - lr g (Nesterov). Each in its order
 * of operations. */
INLINE int momentum_loop(bp_real *restrict w, bp_real *restrict v, const bp_real *restrict g,
                         size_t n, bp_real a, bp_real m, bool nesterov, bool in_velocity,
                         bp_real d, decay_kind decay, bp_real c, bool l2, int wide)
{
    double one = wide ? one_volatile : 1;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        bp_real gi = WIDE_GRAD(i);
        if (in_velocity) {
            v[i] = MUL(m, v[i], WIDE_REST) - MUL(a, gi, WIDE_REST);
            w[i] += nesterov ? MUL(m, v[i], WIDE_REST) - MUL(a, gi, WIDE_REST) : v[i];
        } else {
            v[i] = MUL(m, v[i], WIDE_REST) + gi;
            w[i] -= MUL(a, nesterov ? gi + MUL(m, v[i], WIDE_REST) : v[i], WIDE_REST);
        }
        bad |= BAD(v[i]) | BAD(w[i]);
    }
    return bad;
}

INLINE int momentum(bp_real *restrict w, bp_real *restrict v, const bp_real *restrict g, size_t n,
                    double lr, double mu, bool nesterov, bool in_velocity, bp_real d,
                    decay_kind decay, bp_real c, bool l2)
{
    bp_real a = (bp_real)lr, m = (bp_real)mu;
    /* v's products: m v, a v, and Nesterov's a (m v) in torch's form */
    float tiny_v = tiny_for(tiny_factor(m) * (in_velocity ? 1 : tiny_factor(a)));
    float tiny_g = tiny_for(tiny_factor(a));
    int bad = 0;
#define LOOP(o, len, wide) momentum_loop(w + (o), v + (o), g + (o), len, a, m, nesterov, \
                                         in_velocity, d, decay, c, l2, wide)
    BY_RUNS(n, g, v, tiny_g, tiny_v, LOOP);
#undef LOOP
    return bad;
}

/* The notes: m = b m + (1 - b) g;  m^ = m / (1 - b^t);  w -= lr m^. */
INLINE int notes_momentum_loop(bp_real *restrict w, bp_real *restrict m, const bp_real *restrict g,
                               size_t n, bp_real b, bp_real one_b, bp_real step, bp_real d,
                               decay_kind decay, bp_real c, bool l2, int wide)
{
    double one = wide ? one_volatile : 1;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        m[i] = MUL(b, m[i], WIDE_REST) + MUL(one_b, WIDE_GRAD(i), WIDE_REST);
        w[i] -= MUL(step, m[i], WIDE_REST);
        bad |= BAD(m[i]) | BAD(w[i]);
    }
    return bad;
}

INLINE int notes_momentum(bp_real *restrict w, bp_real *restrict m, const bp_real *restrict g,
                          size_t n, double lr, double beta, uint64_t t, bp_real d, decay_kind decay,
                          bp_real c, bool l2)
{
    bp_real b = (bp_real)beta, one_b = (bp_real)(1 - beta);
    bp_real step = (bp_real)(lr / (1 - pow(beta, (double)t)));
    float tiny_g = tiny_for(tiny_factor(one_b));
    float tiny_m = tiny_for(fmin(tiny_factor(b), tiny_factor(step)));
    int bad = 0;
#define LOOP(o, len, wide) \
    notes_momentum_loop(w + (o), m + (o), g + (o), len, b, one_b, step, d, decay, c, l2, wide)
    BY_RUNS(n, g, m, tiny_g, tiny_m, LOOP);
#undef LOOP
    return bad;
}

/* Adam's per-step constants, with c_k = 1 - b_k^t (computed once a step). */
typedef struct {
    bp_real b1, b2, one_b1, one_b2;
    bp_real step;          /* lr / c1 */
    bp_real eps, c2_sqrt, inv_c2;
    float tiny_g, tiny_m, tiny_v; /* under these, a product may be subnormal (adam_form_loop) */
} adam_consts;

static adam_consts adam_consts_at(const bp_optim_config *c, uint64_t t)
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

/* The magnitudes under which a g, m or v may make one of the float loop's
 * products subnormal (tiny_for): m's b1 m and step m, v's b2 v and v / c2,
 * g's (1 - b1) g and ((1 - b2) g) g. Only the speed depends on them
 * (adam_form_loop). */
static void tiny_bounds(adam_consts *k)
{
    k->tiny_m = tiny_for(fmin(tiny_factor(k->b1), tiny_factor(k->step)));
    k->tiny_v = tiny_for(fmin(tiny_factor(k->b2), tiny_factor(k->inv_c2)));
    k->tiny_g = fmaxf(tiny_for(fmin(tiny_factor(k->one_b1), tiny_factor(k->one_b2))),
                      (float)sqrt(TINY_LEAST / tiny_factor(k->one_b2)));
}

static adam_consts adam_at(const bp_optim_config *c, uint64_t t)
{
    adam_consts k = adam_consts_at(c, t);
    tiny_bounds(&k);
    return k;
}

/* Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
 * w -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps)   (torch's order), or the
 * notes' w -= lr m^ / sqrt(v^ + eps). Once sqrt(c2) rounds to 1 (after about
 * 17,000 steps in float, 36,000 in double), dividing by it changes nothing and
 * is skipped. Each form is its own loop, so that no choice is left in the
 * vectorized body (one pass over w, m, v and g).
 * Runs whose m, v or g is small take the wide form (above), with m's
 * operations alone where only m is small. */
typedef enum { ADAM_NOTES, ADAM_TORCH_C2, ADAM_TORCH } adam_form;

INLINE int adam_loop(bp_real *restrict w, bp_real *restrict m, bp_real *restrict v,
                    const bp_real *restrict g, size_t n, const adam_consts *k, adam_form form,
                    bp_real d, decay_kind decay, bp_real c, bool l2, int wide)
{
    bp_real b1 = k->b1, b2 = k->b2, one_b1 = k->one_b1, one_b2 = k->one_b2;
    bp_real step = k->step, eps = k->eps, c2_sqrt = k->c2_sqrt, inv_c2 = k->inv_c2;
    double one = wide ? one_volatile : 1;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        bp_real gi = WIDE_GRAD(i);
        m[i] = MUL(b1, m[i], WIDE_M) + MUL(one_b1, gi, WIDE_REST);
        v[i] = MUL(b2, v[i], WIDE_REST) + MUL(MUL(one_b2, gi, WIDE_REST), gi, WIDE_REST);
        bp_real denom = form == ADAM_NOTES ? ROOT(MUL(v[i], inv_c2, WIDE_REST) + eps)
                      : form == ADAM_TORCH_C2 ? DIV(ROOT(v[i]), c2_sqrt, WIDE_REST) + eps
                      : ROOT(v[i]) + eps;
        bp_real wi = decay == DECAY_SHRINK ? MUL(w[i], d, WIDE_REST) : w[i];
        w[i] = wi - DIV(MUL(step, m[i], WIDE_M), denom, WIDE_M);
        bad |= BAD(m[i]) | BAD(v[i]) | BAD(w[i]);
    }
    return bad;
}

#if WIDE_FORM
/* The run's wide set: WIDE_ALL where g or v has a value that is nonzero and
 * under its bound in k, else WIDE_M where m has one, else WIDE_NONE. */
static inline int tiny_set(const float *restrict g, const float *restrict m,
                           const float *restrict v, size_t n, const adam_consts *k)
{
    return any_small(g, n, k->tiny_g) || any_small(v, n, k->tiny_v) ? WIDE_ALL
         : any_small(m, n, k->tiny_m) ? WIDE_M : WIDE_NONE;
}

/* Test hook: a run's small lanes by the mask of width `bits` (512 or 256:
 * each compiled in, so the AVX2 one is checked on an AVX-512 core too), or
 * -1 where that one is not in this build. */
long bp__small_lanes(const float *x, float t, int bits)
{
#if defined(__AVX512F__)
    if (bits == 512) return small_lanes(x, t);
#endif
#if defined(__AVX2__)
    if (bits == 256) return small_lanes256(x, t);
#endif
    (void)x, (void)t, (void)bits;
    return -1;
}

/* Test hook: tiny_set with the given bounds (3 WIDE_ALL, 1 WIDE_M, 0 none). */
int bp__adam_tiny_set(const float *g, const float *m, const float *v, size_t n, float tiny_g,
                      float tiny_m, float tiny_v)
{
    adam_consts k = {.tiny_g = tiny_g, .tiny_m = tiny_m, .tiny_v = tiny_v};
    return tiny_set(g, m, v, n, &k);
}

/* One run (or the tail) of the form's loop, with its wide set (by the rule:
 * FORM_BY_RUN its values', FORM_ALL all), which it ORs into *sets. */
INLINE int adam_run(bp_real *restrict w, bp_real *restrict m, bp_real *restrict v,
                    const bp_real *restrict g, size_t n, const adam_consts *k, adam_form form,
                    bp_real d, decay_kind decay, bp_real c, bool l2, int rule, int *sets)
{
    int wide = rule == FORM_BY_RUN ? tiny_set(g, m, v, n, k) : WIDE_ALL;
    *sets |= wide;
    switch (wide) {
    case WIDE_NONE: return adam_loop(w, m, v, g, n, k, form, d, decay, c, l2, WIDE_NONE);
    case WIDE_M: return adam_loop(w, m, v, g, n, k, form, d, decay, c, l2, WIDE_M);
    default: return adam_loop(w, m, v, g, n, k, form, d, decay, c, l2, WIDE_ALL);
    }
}
#endif

#if !WIDE_FORM
long bp__small_lanes(const float *x, float t, int bits)
{
    (void)x, (void)t, (void)bits;
    return -1;
}

int bp__adam_tiny_set(const float *g, const float *m, const float *v, size_t n, float tiny_g,
                      float tiny_m, float tiny_v)
{
    (void)g, (void)m, (void)v, (void)n, (void)tiny_g, (void)tiny_m, (void)tiny_v;
    return -1; /* no wide form here */
}
#endif

/* The form's loop by blocks of ADAM_BLOCK values: a block with nothing small
 * (nearly every one where no unit is dead) is one float loop; a block with
 * something small goes run by run, each run with its wide set (above), and so
 * does the block after it without a test of its own (small values come in
 * rows: a dead unit's weights), until a block's runs find nothing small. Run
 * by run everywhere, the dispatch and each run's own test of its loop's
 * finite values made the step 0.49 ns a value against 0.27 in one loop (a
 * Zen 5 core, values in L1; docs/PERFORMANCE.md). Where no run takes the wide
 * form (form_rule), it is one loop over all. */
INLINE int adam_form_loop(bp_real *restrict w, bp_real *restrict m, bp_real *restrict v,
                          const bp_real *restrict g, size_t n, const adam_consts *k,
                          adam_form form, bp_real d, decay_kind decay, bp_real c, bool l2)
{
#if WIDE_FORM
    enum { ADAM_BLOCK = 16 * RUN };
    int rule = form_rule();
    if (rule == FORM_NONE) return adam_loop(w, m, v, g, n, k, form, d, decay, c, l2, WIDE_NONE);
    int bad = 0, sets = WIDE_NONE; /* of the last block that went run by run */
    size_t i = 0;
    for (; i + ADAM_BLOCK <= n; i += ADAM_BLOCK) {
        if (rule == FORM_BY_RUN && sets == WIDE_NONE &&
            tiny_set(g + i, m + i, v + i, ADAM_BLOCK, k) == WIDE_NONE) {
            bad |= adam_loop(w + i, m + i, v + i, g + i, ADAM_BLOCK, k, form, d, decay, c, l2,
                             WIDE_NONE);
            continue;
        }
        sets = WIDE_NONE;
        for (size_t r = i; r < i + ADAM_BLOCK; r += RUN)
            bad |= adam_run(w + r, m + r, v + r, g + r, RUN, k, form, d, decay, c, l2, rule, &sets);
    }
    for (; i + RUN <= n; i += RUN)
        bad |= adam_run(w + i, m + i, v + i, g + i, RUN, k, form, d, decay, c, l2, rule, &sets);
    return bad | adam_run(w + i, m + i, v + i, g + i, n - i, k, form, d, decay, c, l2, rule, &sets);
#else
    return adam_loop(w, m, v, g, n, k, form, d, decay, c, l2, WIDE_NONE);
#endif
}

INLINE int adam(bp_real *restrict w, bp_real *restrict m, bp_real *restrict v,
                const bp_real *restrict g, size_t n, const adam_consts *k, bool eps_inside,
                bp_real d, decay_kind decay, bp_real c, bool l2)
{
    if (eps_inside) return adam_form_loop(w, m, v, g, n, k, ADAM_NOTES, d, decay, c, l2);
    if (k->c2_sqrt != 1) return adam_form_loop(w, m, v, g, n, k, ADAM_TORCH_C2, d, decay, c, l2);
    return adam_form_loop(w, m, v, g, n, k, ADAM_TORCH, d, decay, c, l2);
}

/* RMSprop: v = a v + (1-a) g²; w -= lr g / (sqrt(v) + eps), or with momentum
 * buf = mu buf + g / (sqrt(v) + eps); w -= lr buf. */
INLINE int rmsprop(bp_real *restrict w, bp_real *restrict v, bp_real *restrict buf,
                   const bp_real *restrict g, size_t n, const bp_optim_config *cfg, bp_real d,
                   decay_kind decay, bp_real c, bool l2)
{
    bp_real a = (bp_real)cfg->alpha, one_a = (bp_real)(1 - cfg->alpha);
    bp_real lr = (bp_real)cfg->lr, eps = (bp_real)cfg->eps, mu = (bp_real)cfg->momentum;
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
 * job is covered. A build without threads runs one part, and keeps one
 * part's sums: on the M4F 1 KB less stack than 64 parts', and 6,000 fewer
 * instructions a step (zeroing them, adding them in software double). */
#ifdef BP__SINGLE_THREAD
#define PARTS 1
#else
#define PARTS BP__MAX_THREADS
#endif

typedef struct {
    bp_optim *o;
    bp_real *w, *g;                  /* (n) */
    const bp__block *blocks;
    int n_blocks;
    const bp__side_job *side;
    const bp__l2_step *l2;           /* NULL: none */
    atomic_size_t next[PARTS];       /* the next chunk of each part's share */
    double partial[PARTS];           /* Σ g² of each part */
    double w2[PARTS];                /* Σ w² of each part's penalized values */
    int bad[PARTS];                  /* whether each part's update left a value non-finite */
    bp_real clip_coef;               /* 1: no clipping */
    adam_consts adam;                /* Adam's and AdamW's, for this step */
} step_job;

static bool penalized(const step_job *j, int b) { return j->l2 && j->blocks[b].penalized; }

/* Part `part`'s rows of block b, as the range [lo, hi) of the flat buffers. */
static void share(const bp__block *b, int part, int parts, size_t *lo, size_t *hi)
{
    size_t r0, r1;
    bp__split(b->rows, part, parts, &r0, &r1);
    *lo = b->off + r0 * b->cols, *hi = b->off + r1 * b->cols;
}

/* Values per chunk of the update: about 6 us of work. */
#define CHUNK ((size_t)16384)

/* Chunk k of part owner's share (parts > 1), as [lo, hi) in block *b; false
 * past its end. */
static bool chunk(const step_job *j, int owner, int parts, size_t k, size_t *lo, size_t *hi,
                  int *b)
{
    for (*b = 0; *b < j->n_blocks; ++*b) {
        size_t a, z;
        share(&j->blocks[*b], owner, parts, &a, &z);
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

#if L2_FOLDED
/* The end of the run of blocks from b that one part (parts == 1) takes as one
 * piece: every block, but where l2 tells weights from biases; more parts take
 * a block at a time. Returns the run's end, its range in lo, hi. */
static int run_of(const step_job *j, int b, int part, int parts, size_t *lo, size_t *hi)
{
    int e = b + 1;
    if (parts == 1)
        while (e < j->n_blocks && penalized(j, e) == penalized(j, b)) e++;
    size_t unused;
    share(&j->blocks[b], part, parts, lo, &unused);
    share(&j->blocks[e - 1], part, parts, &unused, hi);
    return e;
}

/* Σ x² over a range of the flat buffers, x = g + c w on a penalized block
 * (rounded to bp_real, as the separate pass g += c w left it in g) and x = g
 * elsewhere: the squared norm of the gradient with l2 in it. Converting every
 * x to double made this 26 us a step for 235,146 values; instead each of 64
 * lanes sums 16 squares at bp_real precision (in float a relative error under
 * 16 · 2^-24, 8e-10 measured on the whole sum), and the lanes' sums of each
 * BLOCK are added in double: 11 us. A last BLOCK that the range does not
 * fill goes into the lanes the same way (its values were added one by one in
 * double, a chain of dependent adds: 0.45 us of the tabular model's 12 us
 * step, whose 5,569 values leave 449 past the last whole BLOCK). A float sum
 * that overflows (|x| beyond ~4e18) sends the whole range to the exact way:
 * in double over 8 lanes.
 * Σ w² over the penalized values (the penalty's) comes in the same pass, the
 * same way (in float 1e-10 to 1e-9 relative, measured on uniform weights; the
 * separate pass summed in double over 8 lanes, bound by the adds' latency,
 * and took 35 us for the demo's 234,752 weights).
 * One part's range is the whole flat buffer, weights and biases: it comes in
 * runs of blocks (run_of), each with its own c. A value's lane depends only on
 * its position in the range, so Σ x² is that of the range in one piece, as
 * before l2 was folded in: whole BLOCKs the fast way, the rows of a BLOCK
 * that a run's ends cut row by row. */
enum { LANES = 64, DEPTH = 16, BLOCK = LANES * DEPTH, EXACT_LANES = 8 };

typedef struct {
    size_t n, pos;       /* the range's length; the values fed so far */
    bool exact;          /* the fallback: double over EXACT_LANES lanes */
    bp_real lane[LANES]; /* of the BLOCK being fed value by value */
    double total[LANES]; /* of each lane over the BLOCKs fed (exact: each lane's sum) */
    double tail;         /* exact: of the values past the last whole group of EXACT_LANES */
    double w2[LANES];    /* of the penalized values' w², over the BLOCKs fed and the rest */
} sq_sum;

/* k values (a multiple of BLOCK) from a BLOCK boundary, the fast way. */
INLINE void whole_blocks(sq_sum *a, const bp_real *restrict g, const bp_real *restrict w,
                         bp_real c, size_t k, bool l2)
{
    double total[LANES], w2[LANES];
    memcpy(total, a->total, sizeof total), memcpy(w2, a->w2, sizeof w2);
    for (size_t i = 0; i < k; i += BLOCK) {
        bp_real lane[LANES] = {0}, wlane[LANES] = {0};
        for (int d = 0; d < DEPTH; d++) {
            const bp_real *row = g + i + (size_t)d * LANES, *wr = w + i + (size_t)d * LANES;
            for (int j = 0; j < LANES; j++) {
                bp_real x = l2 ? row[j] + c * wr[j] : row[j];
                lane[j] += x * x;
                if (l2) wlane[j] += wr[j] * wr[j];
            }
        }
        for (int j = 0; j < LANES; j++) total[j] += lane[j], w2[j] += wlane[j];
    }
    memcpy(a->total, total, sizeof total), memcpy(a->w2, w2, sizeof w2);
}

/* k values from position p of a BLOCK, within one row (p % LANES + k <=
 * LANES): into the lanes of the BLOCK being fed, which go to the totals at
 * its end. */
INLINE void in_row(sq_sum *a, size_t p, const bp_real *restrict g, const bp_real *restrict w,
                   bp_real c, size_t k, bool l2)
{
    bp_real *restrict lane = a->lane + p % LANES;
    double *restrict w2 = a->w2 + p % LANES; /* Σ w² in double: a few rows a run */
    for (size_t j = 0; j < k; j++) {
        bp_real x = l2 ? g[j] + c * w[j] : g[j];
        lane[j] += x * x;
        if (l2) w2[j] += (double)w[j] * w[j];
    }
}

/* Feeds the range's next len values; l2: x = g + c w, and Σ w². */
static void sq_feed(sq_sum *a, const bp_real *g, const bp_real *w, bp_real c, size_t len,
                    bool l2)
{
    size_t full = a->n - a->n % EXACT_LANES, p = a->pos; /* the exact way's groups */
    for (size_t i = 0, k; i < len; p += k, i += k) {
        k = len - i;
        if (a->exact) { /* the exact way (its Σ w² is not read: the fast way's stands) */
            double tail = a->tail;
            if (p < full && k > full - p) k = full - p; /* up to its tail */
            for (size_t t = 0; t < k; t++) {
                bp_real x = l2 ? g[i + t] + c * w[i + t] : g[i + t];
                if (p < full) a->total[(p + t) % EXACT_LANES] += (double)x * x;
                else tail += (double)x * x;
            }
            a->tail = tail;
            continue;
        }
        if (p % BLOCK == 0 && k >= BLOCK) {
            k -= k % BLOCK;
            if (l2) whole_blocks(a, g + i, w + i, c, k, true);
            else whole_blocks(a, g + i, w + i, 0, k, false);
            continue;
        }
        if (k > LANES - p % LANES) k = LANES - p % LANES;
        if (l2) in_row(a, p, g + i, w + i, c, k, true);
        else in_row(a, p, g + i, w + i, 0, k, false);
        if ((p + k) % BLOCK == 0) /* the end of a BLOCK fed in pieces */
            for (int j = 0; j < LANES; j++) a->total[j] += a->lane[j], a->lane[j] = 0;
    }
    a->pos = p;
}

/* Σ x² over the n values that blocks b0 .. b1 of part `part` make, as above;
 * adds their Σ w² to *w2. */
static double range_norm(const step_job *j, int part, int parts, int b0, int b1, size_t n,
                         double *w2)
{
    sq_sum a;
    double sum = 0;
    for (int exact = 0; exact < 2; exact++) {
        memset(&a, 0, sizeof a);
        a.n = n, a.exact = exact;
        for (int b = b0; b < b1;) {
            bool l2 = penalized(j, b);
            size_t lo, hi;
            b = run_of(j, b, part, parts, &lo, &hi);
            sq_feed(&a, j->g + lo, j->w + lo, l2 ? j->l2->c : 0, hi - lo, l2);
        }
        sum = a.tail;
        for (int l = 0; !exact && l < LANES; l++) a.total[l] += a.lane[l]; /* the last BLOCK's part */
        for (int l = 0; l < (exact ? EXACT_LANES : LANES); l++) sum += a.total[l];
        for (int l = 0; j->l2 && !exact && l < LANES; l++) *w2 += a.w2[l];
        if (isfinite(sum)) break;
    }
    return sum;
}

/* This part's Σ x² and Σ w²: on one part the whole flat buffer as one range,
 * else its rows of each block as a range of their own. */
static void norm_part(void *ctx, int part, int parts)
{
    step_job *j = ctx;
    if (parts == 1) {
        j->partial[0] = range_norm(j, 0, 1, 0, j->n_blocks, j->o->n, &j->w2[0]);
        return;
    }
    for (int b = 0; b < j->n_blocks; b++) {
        size_t lo, hi;
        share(&j->blocks[b], part, parts, &lo, &hi);
        j->partial[part] += range_norm(j, part, parts, b, b + 1, hi - lo, &j->w2[part]);
    }
}

#else /* -Os */

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

/* Σ g², in the host's order (above): 64 lanes of 16 squares at bp_real
 * precision, their sums added in double, a last part BLOCK the same way. */
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
    bp_real lane[LANES] = {0}; /* the last BLOCK's part, the same way */
    for (size_t d = 0; i + d < n; d++) lane[d % LANES] += g[i + d] * g[i + d];
    for (int j = 0; j < LANES; j++) sum += total[j] + lane[j];
    return isfinite(sum) ? sum : sum_squares_double(g, n);
}

/* This part's Σ g² and Σ w², l2 written into g first, as the separate pass
 * did: on one part the whole flat buffer as one range, else its rows of each
 * block as a range of their own. */
static void norm_part(void *ctx, int part, int parts)
{
    step_job *j = ctx;
    for (int b = 0; b < j->n_blocks; b++) {
        size_t lo, hi;
        share(&j->blocks[b], part, parts, &lo, &hi);
        for (size_t i = lo; penalized(j, b) && i < hi; i++) {
            j->w2[part] += (double)j->w[i] * j->w[i];
            j->g[i] += j->l2->c * j->w[i];
        }
        if (parts > 1) j->partial[part] += sum_squares(j->g + lo, hi - lo);
    }
    if (parts == 1) j->partial[0] = sum_squares(j->g, j->o->n);
}
#endif

/* g = coef (g + c w), or coef g: clipping, of the gradient with the penalty. */
static void clip(bp_real *restrict g, const bp_real *restrict w, size_t n, bp_real coef,
                 bp_real c, bool l2)
{
    for (size_t i = 0; i < n; i++) g[i] = L2GRAD(i) * coef;
}

/* The kind's rule on w[lo, hi), with the decay `decay` folded into its loop. */
INLINE int apply_rule(step_job *j, bp_real *restrict w, const bp_real *restrict g, bp_real *s0,
                      bp_real *s1, size_t n, bp_real d, decay_kind decay, bp_real c, bool l2)
{
    bp_optim *o = j->o;
    const bp_optim_config *cfg = &o->cfg;
    double lr = cfg->lr, mu = cfg->momentum;
    bool nesterov = cfg->kind == BP_OPTIM_NESTEROV;
    switch (cfg->kind) {
    case BP_OPTIM_SGD: return sgd(w, g, n, lr, d, decay, c, l2);
    case BP_OPTIM_MOMENTUM:
    case BP_OPTIM_NESTEROV:
        if (cfg->step_in_velocity) /* each its own loop: no choice left in the body */
            return momentum(w, s0, g, n, lr, mu, nesterov, true, d, decay, c, l2);
        return momentum(w, s0, g, n, lr, mu, nesterov, false, d, decay, c, l2);
    case BP_OPTIM_NOTES_MOMENTUM: return notes_momentum(w, s0, g, n, lr, mu, o->t, d, decay, c, l2);
    case BP_OPTIM_ADAMW:
    case BP_OPTIM_ADAM: return adam(w, s0, s1, g, n, &j->adam, cfg->eps_inside_sqrt, d, decay, c, l2);
    case BP_OPTIM_RMSPROP: return rmsprop(w, s0, o->n_slots > 1 ? s1 : NULL, g, n, cfg, d, decay, c, l2);
    case BP_OPTIM_COUNT_: BP_ASSERT(0);
    }
    return 0;
}

/* The update of w[lo, hi), penalized by l2 or not: clip, then the kind's rule
 * with its decay: coupled (g + wd w) for every kind but AdamW, decoupled
 * (w (1 - lr wd) first) for AdamW, each inside the rule's own pass, as is l2's
 * g + c w (in the clipping's pass when it clips). */
static void update_range(step_job *j, int part, size_t lo, size_t hi, bool l2)
{
    bp_optim *o = j->o;
    const bp_optim_config *cfg = &o->cfg;
    size_t n = hi - lo;
    bp_real *w = j->w + lo, *g = j->g + lo, c = l2 ? j->l2->c : 0;
    bp_real *s0 = o->slot[0] ? o->slot[0] + lo : NULL, *s1 = o->slot[1] ? o->slot[1] + lo : NULL;
    if (j->clip_coef != 1) {
        clip(g, w, n, j->clip_coef, c, l2);
        l2 = false;
    }
    bp_real d = cfg->weight_decay == 0 ? 0
              : cfg->kind == BP_OPTIM_ADAMW ? (bp_real)(1 - cfg->lr * cfg->weight_decay)
              : (bp_real)cfg->weight_decay;
    decay_kind decay = cfg->weight_decay == 0 ? DECAY_NONE
                     : cfg->kind == BP_OPTIM_ADAMW ? DECAY_SHRINK : DECAY_L2;
#define RULE(decay) (l2 ? apply_rule(j, w, g, s0, s1, n, d, decay, c, true) \
                        : apply_rule(j, w, g, s0, s1, n, d, decay, 0, false))
    int bad = decay == DECAY_NONE ? RULE(DECAY_NONE)
            : decay == DECAY_SHRINK ? RULE(DECAY_SHRINK) : RULE(DECAY_L2);
#undef RULE
    j->bad[part] |= bad;
}

static void update_part(void *ctx, int part, int parts)
{
    step_job *j = ctx;
    size_t lo, hi;
    if (parts == 1) { /* the side job last: the batch it gathers is then in cache for the forward */
        /* Backwards, a chunk at a time: the norm pass went forwards, and the
         * values it read last are still in cache (the demo's w and g, 1.9 MB,
         * about fill a core's 2 MB L2). */
        for (int b = j->n_blocks - 1; b >= 0; b--) {
            lo = j->blocks[b].off;
            for (hi = lo + j->blocks[b].rows * j->blocks[b].cols; hi > lo;) {
                size_t start = hi - lo > CHUNK ? hi - CHUNK : lo;
                update_range(j, 0, start, hi, L2_FOLDED && penalized(j, b));
                hi = start;
            }
        }
        if (j->side) j->side->fn(j->side->ctx);
        return;
    }
    if (j->side && part == parts - 1) j->side->fn(j->side->ctx);
    for (int i = 0; i < parts; i++) {
        int owner = (part + i) % parts, b;
        while (chunk(j, owner, parts, atomic_fetch_add(&j->next[owner], 1), &lo, &hi, &b))
            update_range(j, part, lo, hi, L2_FOLDED && penalized(j, b));
    }
}

bp_status bp__optim_step_blocks(bp_optim *o, bp_real *w, bp_real *g, const bp__block *blocks,
                                int n_blocks, const bp__side_job *side, const bp__l2_step *l2)
{
    step_job j = {.o = o, .w = w, .g = g, .blocks = blocks, .n_blocks = n_blocks, .side = side,
                  .l2 = l2, .clip_coef = 1};
    /* Work in GEMM-flop equivalents (a flop is about 0.01 ns here): Σ g² costs
     * 0.05-0.1 ns a value, an update about 0.4 (memory-bound). Counted as 2
     * flops, the norm of 235,146 values stayed on one thread. */
    bp__parallel(norm_part, &j, 10.0 * o->n);
    double sum = 0, w2 = 0; /* over every slot: the parts a job ran in are not read back */
    for (int p = 0; p < PARTS; p++) sum += j.partial[p]; /* (parallel.c), and */
    if (l2) {                                                      /* the unused ones add 0 */
        for (int p = 0; p < PARTS; p++) w2 += j.w2[p];
        bp_status st = l2->check(l2->ctx, w2);
        if (st) return st;
    }
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
    for (int p = 0; p < PARTS; p++)
        if (j.bad[p]) return overflowed(o, w);
    return BP_OK;
}

bp_status bp_optim_step(bp_optim *o, bp_real *w, bp_real *g)
{
    bp__block all = {0, o->n, 1, false};
    return bp__optim_step_blocks(o, w, g, &all, 1, NULL, NULL);
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
