/* Each optimizer's first steps against values computed here, by hand, from
 * its formula (torch.optim's for SGD/momentum/Nesterov/Adam/AdamW/RMSprop, the
 * notes' for bias-corrected momentum and eps-inside-the-root Adam), with and
 * without weight decay and clipping. */
#include "test.h"
#include "internal.h"

#include <time.h>

#define N 3
#define STEPS 4
static const double w0[N] = {0.5, -1.25, 2.0};
/* g_t(i): a fixed gradient sequence, different per step and parameter */
static double grad_at(int t, int i) { return 0.3 * (i + 1) * (t % 2 ? -1 : 1) + 0.1 * t - 0.2 * i; }

#define TOL (TEST_DOUBLE ? 1e-14 : 2e-6)

/* Steps already taken before the STEPS compared (the bias corrections' t). */
static uint64_t start_step = 0;

/* Runs the library optimizer for STEPS steps and compares with expect(). */
static void run_against(const bp_optim_config *c,
                        void (*expect)(const bp_optim_config *, double w[N]), const char *what)
{
    bp_optim *o;
    CHECK_OK(bp_optim_create(&o, c, N));
    if (!o) return;
    bp_optim_set_steps(o, start_step);
    bp_real w[N], g[N];
    for (int i = 0; i < N; i++) w[i] = (bp_real)w0[i];
    for (int t = 1; t <= STEPS; t++) {
        for (int i = 0; i < N; i++) g[i] = (bp_real)grad_at(t, i);
        CHECK_OK(bp_optim_step(o, w, g));
    }
    double e[N];
    expect(c, e);
    for (int i = 0; i < N; i++)
        CHECK(fabs(w[i] - e[i]) <= TOL * (1 + fabs(e[i])), "%s: w[%d] = %.17g, expected %.17g",
              what, i, (double)w[i], e[i]);
    CHECK(bp_optim_steps(o) == start_step + STEPS, "%s: steps %llu", what,
          (unsigned long long)bp_optim_steps(o));
    bp_optim_free(o);
}

/* The gradient as the optimizer sees it: clipped by global norm, then + wd w. */
static void effective_grad(const bp_optim_config *c, int t, const double w[N], double g[N], bool coupled)
{
    double norm = 0;
    for (int i = 0; i < N; i++) g[i] = grad_at(t, i), norm += g[i] * g[i];
    norm = sqrt(norm);
    if (c->clip_norm > 0 && c->clip_norm / (norm + 1e-6) < 1)
        for (int i = 0; i < N; i++) g[i] *= c->clip_norm / (norm + 1e-6);
    if (coupled)
        for (int i = 0; i < N; i++) g[i] += c->weight_decay * w[i];
}

static void expect_sgd(const bp_optim_config *c, double w[N])
{
    memcpy(w, w0, sizeof w0);
    for (int t = 1; t <= STEPS; t++) {
        double g[N];
        effective_grad(c, t, w, g, true);
        for (int i = 0; i < N; i++) w[i] -= c->lr * g[i];
    }
}

static void expect_momentum(const bp_optim_config *c, double w[N])
{
    double v[N] = {0};
    memcpy(w, w0, sizeof w0);
    for (int t = 1; t <= STEPS; t++) {
        double g[N];
        effective_grad(c, t, w, g, true);
        for (int i = 0; i < N; i++) {
            v[i] = c->momentum * v[i] + g[i];
            w[i] -= c->lr * (c->kind == BP_OPTIM_NESTEROV ? g[i] + c->momentum * v[i] : v[i]);
        }
    }
}

static void expect_notes_momentum(const bp_optim_config *c, double w[N])
{
    double m[N] = {0};
    memcpy(w, w0, sizeof w0);
    for (int t = 1; t <= STEPS; t++) {
        double g[N];
        effective_grad(c, t, w, g, true);
        for (int i = 0; i < N; i++) {
            m[i] = c->momentum * m[i] + (1 - c->momentum) * g[i];
            w[i] -= c->lr * m[i] / (1 - pow(c->momentum, t));
        }
    }
}

static void expect_adam(const bp_optim_config *c, double w[N])
{
    double m[N] = {0}, v[N] = {0};
    memcpy(w, w0, sizeof w0);
    for (int t = 1; t <= STEPS; t++) {
        double g[N];
        bool adamw = c->kind == BP_OPTIM_ADAMW;
        effective_grad(c, t, w, g, !adamw);
        for (int i = 0; i < N; i++) {
            if (adamw) w[i] *= 1 - c->lr * c->weight_decay;
            m[i] = c->beta1 * m[i] + (1 - c->beta1) * g[i];
            v[i] = c->beta2 * v[i] + (1 - c->beta2) * g[i] * g[i];
            double k = (double)(start_step + t);
            double mh = m[i] / (1 - pow(c->beta1, k)), vh = v[i] / (1 - pow(c->beta2, k));
            w[i] -= c->lr * mh / (c->eps_inside_sqrt ? sqrt(vh + c->eps) : sqrt(vh) + c->eps);
        }
    }
}

static void expect_rmsprop(const bp_optim_config *c, double w[N])
{
    double v[N] = {0}, b[N] = {0};
    memcpy(w, w0, sizeof w0);
    for (int t = 1; t <= STEPS; t++) {
        double g[N];
        effective_grad(c, t, w, g, true);
        for (int i = 0; i < N; i++) {
            v[i] = c->alpha * v[i] + (1 - c->alpha) * g[i] * g[i];
            double s = g[i] / (sqrt(v[i]) + c->eps);
            b[i] = c->momentum * b[i] + s;
            w[i] -= c->lr * (c->momentum > 0 ? b[i] : s);
        }
    }
}

static void (*expectation(bp_optim_kind k))(const bp_optim_config *, double *)
{
    switch (k) {
    case BP_OPTIM_SGD: return expect_sgd;
    case BP_OPTIM_MOMENTUM: case BP_OPTIM_NESTEROV: return expect_momentum;
    case BP_OPTIM_NOTES_MOMENTUM: return expect_notes_momentum;
    case BP_OPTIM_ADAM: case BP_OPTIM_ADAMW: return expect_adam;
    default: return expect_rmsprop;
    }
}

static void test_every_optimizer_by_hand(void)
{
    for (int k = 0; k < BP_OPTIM_COUNT_; k++)
        for (int variant = 0; variant < 4; variant++) {
            bp_optim_config c = bp_optim_config_default((bp_optim_kind)k);
            c.lr = 0.1;
            c.weight_decay = variant & 1 ? 0.05 : 0;
            c.clip_norm = variant & 2 ? 0.5 : 0;
            char what[96];
            snprintf(what, sizeof what, "%s wd=%g clip=%g", bp_optim_name(c.kind), c.weight_decay, c.clip_norm);
            run_against(&c, expectation(c.kind), what);
        }
}

static void test_notes_variants(void)
{
    bp_optim_config c = bp_optim_config_default(BP_OPTIM_ADAM);
    c.eps_inside_sqrt = 1;
    c.eps = 1e-4; /* large enough for inside vs outside to differ */
    run_against(&c, expect_adam, "adam eps inside sqrt");
    c = bp_optim_config_default(BP_OPTIM_RMSPROP);
    c.momentum = 0.5;
    run_against(&c, expect_rmsprop, "rmsprop with momentum");
    c = bp_optim_config_default(BP_OPTIM_NOTES_MOMENTUM);
    c.momentum = 0.5;
    run_against(&c, expect_notes_momentum, "notes momentum beta 0.5");
}

/* Late steps, where sqrt(1 - beta2^t) has rounded to 1 and Adam's loop skips
 * that division (float: after about 17,000 steps; double: 36,000). */
static void test_adam_late_steps(void)
{
    const uint64_t starts[] = {15000, 20000, 40000, 1000000};
    for (int s = 0; s < 4; s++) {
        start_step = starts[s];
        for (int k = BP_OPTIM_ADAM; k <= BP_OPTIM_ADAMW; k++) {
            bp_optim_config c = bp_optim_config_default((bp_optim_kind)k);
            c.lr = 0.1;
            char what[64];
            snprintf(what, sizeof what, "%s from step %llu", bp_optim_name(c.kind),
                     (unsigned long long)start_step);
            run_against(&c, expect_adam, what);
        }
    }
    start_step = 0;
}

/* The notes: bias correction makes the first step exactly lr * g. */
static void test_notes_momentum_first_step_is_unbiased(void)
{
    bp_optim_config c = bp_optim_config_default(BP_OPTIM_NOTES_MOMENTUM);
    c.lr = 0.25;
    bp_optim *o;
    CHECK_OK(bp_optim_create(&o, &c, 1));
    bp_real w = 1, g = 2;
    CHECK_OK(bp_optim_step(o, &w, &g));
    CHECK_CLOSE(w, 1 - 0.25 * 2, 1e-7);
    bp_optim_free(o);
}

static void test_nonfinite_gradient_is_refused(void)
{
    bp_optim_config c = bp_optim_config_default(BP_OPTIM_ADAM);
    bp_optim *o;
    CHECK_OK(bp_optim_create(&o, &c, 2));
    bp_real w[2] = {1, 2}, g[2] = {0.5, NAN};
    CHECK(bp_optim_step(o, w, g) == BP_ERR_NUMERIC, "NaN gradient accepted");
    CHECK(w[0] == 1 && w[1] == 2, "parameters changed by a refused step");
    CHECK(strstr(bp_last_error(), "gradient norm") != NULL, "message: %s", bp_last_error());
    CHECK(bp_optim_steps(o) == 0, "step counted");
    bp_optim_free(o);
}

/* A finite gradient can still overflow the update: the step reports it. */
static void test_overflowing_update_is_reported(void)
{
    const double big = TEST_DOUBLE ? 1e308 : 3e38; /* near the type's largest */
    bp_optim_config c = bp_optim_config_default(BP_OPTIM_SGD);
    c.lr = big / 2;
    bp_optim *o;
    CHECK_OK(bp_optim_create(&o, &c, 2));
    bp_real w[2] = {(bp_real)(big / 2), 1}, g[2] = {-4, 0};
    CHECK(bp_optim_step(o, w, g) == BP_ERR_NUMERIC, "overflow to %g not reported", (double)w[0]);
    CHECK(strstr(bp_last_error(), "step 1 made parameter 0 inf"), "message: %s", bp_last_error());
    bp_optim_free(o);
    /* Adam with eps 0 divides 0 by 0 where the gradient is exactly 0. */
    bp_optim_kind kinds[] = {BP_OPTIM_ADAM, BP_OPTIM_RMSPROP};
    for (int k = 0; k < 2; k++) {
        c = bp_optim_config_default(kinds[k]);
        c.eps = 0;
        CHECK_OK(bp_optim_create(&o, &c, 2));
        bp_real w2[2] = {1, 2}, g2[2] = {0.5, 0};
        CHECK(bp_optim_step(o, w2, g2) == BP_ERR_NUMERIC, "%s: 0/0 not reported", bp_optim_name(kinds[k]));
        CHECK(strstr(bp_last_error(), "parameter 1 nan") || strstr(bp_last_error(), "parameter 1 -nan"),
              "message: %s", bp_last_error());
        bp_optim_free(o);
    }
    /* In float, g^2 overflows RMSprop's v while the norm (in double) is fine;
     * the message names the state. (In double the norm overflows first.) */
    if (TEST_DOUBLE) return;
    c = bp_optim_config_default(BP_OPTIM_RMSPROP);
    CHECK_OK(bp_optim_create(&o, &c, 1));
    bp_real w3[1] = {0}, g3[1] = {(bp_real)1e21};
    CHECK(bp_optim_step(o, w3, g3) == BP_ERR_NUMERIC, "v overflow not reported");
    CHECK(strstr(bp_last_error(), "step 1 made v 0 inf"), "message: %s", bp_last_error());
    bp_optim_free(o);
}

static void test_config_validation_and_names(void)
{
    bp_optim_config c = bp_optim_config_default(BP_OPTIM_SGD);
    bp_optim *o = (bp_optim *)1;
    c.lr = -1;
    CHECK(bp_optim_create(&o, &c, 3) == BP_ERR_INVALID && o == NULL, "negative lr accepted");
    CHECK(strstr(bp_last_error(), "lr") != NULL, "message: %s", bp_last_error());
    c = bp_optim_config_default(BP_OPTIM_ADAM);
    c.beta2 = 1;
    CHECK(bp_optim_create(&o, &c, 3) == BP_ERR_INVALID, "beta2 = 1 accepted");
    CHECK(strstr(bp_last_error(), "beta2") != NULL, "message: %s", bp_last_error());
    for (int k = 0; k < BP_OPTIM_COUNT_; k++) {
        bp_optim_kind back;
        CHECK_OK(bp_optim_from_name(bp_optim_name((bp_optim_kind)k), &back));
        CHECK(back == (bp_optim_kind)k, "name round trip %d", k);
    }
    bp_optim_kind k;
    CHECK(bp_optim_from_name("adagrad", &k) == BP_ERR_INVALID, "unknown name accepted");
    CHECK(strstr(bp_last_error(), "adagrad") != NULL, "message: %s", bp_last_error());
    bp_optim_free(NULL);
}

static void test_state_slots(void)
{
    bp_optim_config c = bp_optim_config_default(BP_OPTIM_ADAM);
    bp_optim *o;
    CHECK_OK(bp_optim_create(&o, &c, 4));
    CHECK(bp_optim_state_count(o) == 2, "adam slots %d", bp_optim_state_count(o));
    CHECK(strcmp(bp_optim_state_name(o, 0), "m") == 0 && strcmp(bp_optim_state_name(o, 1), "v") == 0,
          "slot names");
    CHECK(bp_optim_state(o, 2) == NULL, "slot out of range");
    CHECK(bp_optim_param_count(o) == 4, "param count %zu", bp_optim_param_count(o));
    bp_optim_free(o);
    c = bp_optim_config_default(BP_OPTIM_SGD);
    CHECK_OK(bp_optim_create(&o, &c, 4));
    CHECK(bp_optim_state_count(o) == 0, "sgd slots %d", bp_optim_state_count(o));
    bp_optim_free(o);
}

/* The gradient norm (summed in float blocks, then double) against a plain
 * double sum: within 1e-6 relative in float; and gradients whose squares
 * overflow a float block sum (16 · (4e18)² > FLT_MAX) still give the exact,
 * finite norm. */
static void test_gradient_norm(void)
{
    enum { NN = 5000 };
    bp_real *w = calloc(NN, sizeof *w), *g = malloc(NN * sizeof *g);
    bp_optim_config c = bp_optim_config_default(BP_OPTIM_SGD);
    c.lr = 1e-30;
    for (int big = 0; big < 2; big++) {
        double ref = 0;
        for (int i = 0; i < NN; i++) {
            g[i] = (bp_real)(big ? 4e18 * (1 + i % 3) : sin(0.37 * i) * (1 + i % 11));
            ref += (double)g[i] * (double)g[i];
        }
        bp_optim *o;
        CHECK_OK(bp_optim_create(&o, &c, NN));
        CHECK_OK(bp_optim_step(o, w, g));
        double norm = bp_optim_last_grad_norm(o), want = sqrt(ref);
        CHECK(fabs(norm - want) <= (TEST_DOUBLE ? 1e-13 : 1e-6) * want, "%s gradients: norm %.17g, want %.17g",
              big ? "huge" : "ordinary", norm, want);
        bp_optim_free(o);
    }
    free(w), free(g);
}

/* The side job of bp__optim_step_blocks: counts its runs, and holds its
 * thread ~1 ms, so that the other thread takes over part of its rows. */
static void slow_side(void *ctx)
{
    ++*(int *)ctx;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

/* The trainer's 2-thread update (the layers' row blocks, chunks taken over
 * while one thread runs the side job) leaves w and the state bit-for-bit as
 * one thread's bp_optim_step does, for every optimizer, and runs the side job
 * once a step, but not for a step refused on a non-finite gradient. */
static void test_split_update_matches_one_thread(void)
{
    enum { IN = 300, H = 200, OUT = 70, STEPS2 = 3 };
    const bp__block blocks[] = {{0, H, IN, true}, {H * IN, H, 1, false},
                                {H * IN + H, OUT, H, true}, {H * IN + H + OUT * H, OUT, 1, false}};
    const size_t n = H * IN + H + OUT * H + OUT;
    bp_real *w[2], *g = malloc(n * sizeof *g);
    for (int kind = 0; kind < BP_OPTIM_COUNT_; kind++) {
        bp_optim_config c = bp_optim_config_default((bp_optim_kind)kind);
        c.weight_decay = 0.01, c.clip_norm = kind % 2 ? 0.5 : 0;
        bp_optim *o[2];
        int runs = 0;
        bp__side_job side = {slow_side, &runs};
        for (int v = 0; v < 2; v++) {
            CHECK_OK(bp_optim_create(&o[v], &c, n));
            w[v] = malloc(n * sizeof *w[v]);
            for (size_t i = 0; i < n; i++) w[v][i] = (bp_real)(0.001 * (double)(i % 997) - 0.4);
        }
        for (int t = 1; t <= STEPS2; t++) {
            for (int v = 0; v < 2; v++) {
                for (size_t i = 0; i < n; i++) g[i] = (bp_real)(0.01 * (double)((i * 7 + t) % 101) - 0.5);
                bp_set_threads(v ? 2 : 1);
                CHECK_OK(v ? bp__optim_step_blocks(o[1], w[1], g, blocks, 4, &side, NULL)
                           : bp_optim_step(o[0], w[0], g));
            }
        }
        bp_set_threads(1);
        CHECK(runs == STEPS2, "%s: side job ran %d times in %d steps", bp_optim_name(c.kind), runs, STEPS2);
        CHECK(memcmp(w[0], w[1], n * sizeof *g) == 0, "%s: parameters differ", bp_optim_name(c.kind));
        for (int sl = 0; sl < bp_optim_state_count(o[0]); sl++)
            CHECK(memcmp(bp_optim_state(o[0], sl), bp_optim_state(o[1], sl), n * sizeof *g) == 0,
                  "%s: state %s differs", bp_optim_name(c.kind), bp_optim_state_name(o[0], sl));
        g[n / 2] = NAN;
        bp_set_threads(2);
        CHECK(bp__optim_step_blocks(o[1], w[1], g, blocks, 4, &side, NULL) == BP_ERR_NUMERIC,
              "%s: a NaN gradient was accepted", bp_optim_name(c.kind));
        bp_set_threads(1);
        CHECK(runs == STEPS2, "%s: the side job ran for a refused step", bp_optim_name(c.kind));
        for (int v = 0; v < 2; v++) bp_optim_free(o[v]), free(w[v]);
    }
    free(g);
}

/* Weight decay is folded into each rule's own loop. It must give the bits
 * of the separate pass it replaced, done here by hand on a copy: clip g as
 * the step does (the norm the library reports, g *= max / (norm + 1e-6) when
 * that is < 1), then g += wd w (coupled) or w *= 1 - lr wd (AdamW), then
 * the same rule with no decay. Every kind and variant, clipping on and off,
 * Adam also past the step where sqrt(c2) rounds to 1; a length with a
 * vector loop's tail. */
static void test_decay_fused_matches_separate_pass(void)
{
    enum { NP = 1003, STEPS3 = 5 };
    bp_real *w[2], *g[2];
    for (int v = 0; v < 2; v++) w[v] = malloc(NP * sizeof(bp_real)), g[v] = malloc(NP * sizeof(bp_real));
    for (int kind = 0; kind < BP_OPTIM_COUNT_; kind++)
        for (int variant = 0; variant < 8; variant++) {
            bp_optim_config c = bp_optim_config_default((bp_optim_kind)kind);
            c.weight_decay = variant & 1 ? 0.05 : 0.003;
            c.clip_norm = variant & 2 ? 0.5 : 0;
            bool alt = variant & 4; /* each kind's other form */
            c.step_in_velocity = alt && (kind == BP_OPTIM_MOMENTUM || kind == BP_OPTIM_NESTEROV);
            c.eps_inside_sqrt = alt && kind == BP_OPTIM_ADAM && (variant & 1);
            c.folded_bias_correction = alt && kind == BP_OPTIM_ADAMW;
            if (kind == BP_OPTIM_RMSPROP && alt) c.momentum = 0.5;
            bool adamw = kind == BP_OPTIM_ADAMW;
            bp_optim_config r = c; /* the reference: no decay, no clipping, Adam for AdamW */
            r.weight_decay = 0, r.clip_norm = 0;
            if (adamw) r.kind = BP_OPTIM_ADAM;
            uint64_t t0 = alt && (kind == BP_OPTIM_ADAM || adamw) && !(variant & 1) ? 40000 : 0;
            bp_optim *o[2];
            CHECK_OK(bp_optim_create(&o[0], &c, NP));
            CHECK_OK(bp_optim_create(&o[1], &r, NP));
            if (!o[0] || !o[1]) return;
            for (int v = 0; v < 2; v++) {
                bp_optim_set_steps(o[v], t0);
                for (size_t i = 0; i < NP; i++) w[v][i] = (bp_real)(0.002 * (double)(i % 499) - 0.45);
            }
            char what[96];
            snprintf(what, sizeof what, "%s wd=%g clip=%g variant %d", bp_optim_name(c.kind),
                     c.weight_decay, c.clip_norm, variant);
            for (int t = 1; t <= STEPS3; t++) {
                for (size_t i = 0; i < NP; i++)
                    g[0][i] = g[1][i] = (bp_real)(0.01 * (double)((i * 13 + 5 * t) % 97) - 0.47);
                CHECK_OK(bp_optim_step(o[0], w[0], g[0]));
                double coef = c.clip_norm > 0 ? c.clip_norm / (bp_optim_last_grad_norm(o[0]) + 1e-6) : 1;
                for (size_t i = 0; i < NP; i++) {
                    if (coef < 1) g[1][i] *= (bp_real)coef;
                    if (adamw) w[1][i] *= (bp_real)(1 - c.lr * c.weight_decay);
                    else g[1][i] += (bp_real)c.weight_decay * w[1][i];
                }
                CHECK_OK(bp_optim_step(o[1], w[1], g[1]));
            }
            CHECK(memcmp(w[0], w[1], NP * sizeof(bp_real)) == 0, "%s: parameters differ", what);
            for (int sl = 0; sl < bp_optim_state_count(o[0]); sl++)
                CHECK(memcmp(bp_optim_state(o[0], sl), bp_optim_state(o[1], sl),
                             NP * sizeof(bp_real)) == 0, "%s: state %s differs", what,
                      bp_optim_state_name(o[0], sl));
            bp_optim_free(o[0]), bp_optim_free(o[1]);
        }
    for (int v = 0; v < 2; v++) free(w[v]), free(g[v]);
}

/* The trainer's l2 (bp__l2_step) is folded into the step's passes. It must
 * give the bits of the separate pass it replaced, done here by hand on a
 * copy: g += c w on the penalized blocks, then the same step without l2 on
 * the same blocks and thread count. Every kind and variant, weight decay and
 * clipping on and off, 1 and 2 threads (a flat buffer long enough that the
 * norm splits too), blocks whose ends fall inside rows and BLOCKs of the
 * norm's lanes; gradients near 1e19, where the norm's float lanes overflow
 * and it sums the exact way. The check gets Σ w² of the penalized blocks;
 * when it refuses, nothing is updated, and the status is its own. */
typedef struct {
    double w2;
    int calls;
    bool refuse;
} l2_seen;

static bp_status l2_check(void *ctx, double w2)
{
    l2_seen *s = ctx;
    s->w2 = w2, s->calls++;
    return s->refuse ? bp__fail(BP_ERR_NUMERIC, "loss is %g", INFINITY) : BP_OK;
}

static void test_l2_folded_matches_separate_pass(void)
{
    enum { IN = 700, H = 301, OUT = 7, STEPS3 = 3 };
    const bp__block blocks[] = {{0, H, IN, true}, {H * IN, H, 1, false},
                                {H * IN + H, OUT, H, true}, {H * IN + H + OUT * H, OUT, 1, false}};
    const size_t n = H * IN + H + OUT * H + OUT; /* 213,115: 10 n flops split the norm */
    bp_real *w[2], *g[2];
    for (int v = 0; v < 2; v++) w[v] = malloc(n * sizeof(bp_real)), g[v] = malloc(n * sizeof(bp_real));
    const bp_real c = (bp_real)(0.37 / 64);
    for (int kind = 0; kind < BP_OPTIM_COUNT_; kind++)
        for (int variant = 0; variant < 16; variant++)
            for (int threads = 1; threads <= 2; threads++) {
                bp_optim_config oc = bp_optim_config_default((bp_optim_kind)kind);
                oc.weight_decay = variant & 1 ? 0.01 : 0;
                oc.clip_norm = variant & 2 ? 0.5 : 0;
                bool alt = variant & 4, huge = variant & 8;
                oc.step_in_velocity = alt && (kind == BP_OPTIM_MOMENTUM || kind == BP_OPTIM_NESTEROV);
                oc.eps_inside_sqrt = alt && kind == BP_OPTIM_ADAM;
                oc.folded_bias_correction = alt && kind == BP_OPTIM_ADAMW;
                if (kind == BP_OPTIM_RMSPROP && alt) oc.momentum = 0.5;
                if (huge) oc.lr = 1e-30, oc.clip_norm = variant & 2 ? 1e18 : 0;
                bp_optim *o[2];
                CHECK_OK(bp_optim_create(&o[0], &oc, n));
                CHECK_OK(bp_optim_create(&o[1], &oc, n));
                if (!o[0] || !o[1]) return;
                for (int v = 0; v < 2; v++)
                    for (size_t i = 0; i < n; i++) w[v][i] = (bp_real)(0.002 * (double)(i % 499) - 0.45);
                char what[128];
                snprintf(what, sizeof what, "%s wd=%g clip=%g variant %d, %d threads",
                         bp_optim_name(oc.kind), oc.weight_decay, oc.clip_norm, variant, threads);
                bp_set_threads(threads);
                for (int t = 1; t <= STEPS3; t++) {
                    for (size_t i = 0; i < n; i++)
                        g[0][i] = g[1][i] = (bp_real)((huge ? 1e17 : 0.01) * (double)((i * 13 + 5 * t) % 97) - 0.47);
                    double want = 0;
                    for (int b = 0; b < 4; b++)
                        for (size_t i = blocks[b].off; blocks[b].penalized && i < blocks[b].off + blocks[b].rows * blocks[b].cols; i++) {
                            want += (double)w[1][i] * w[1][i];
                            g[1][i] += c * w[1][i];
                        }
                    l2_seen seen = {0};
                    bp__l2_step l2 = {c, l2_check, &seen};
                    CHECK_OK(bp__optim_step_blocks(o[0], w[0], g[0], blocks, 4, NULL, &l2));
                    CHECK_OK(bp__optim_step_blocks(o[1], w[1], g[1], blocks, 4, NULL, NULL));
                    CHECK(seen.calls == 1 && fabs(seen.w2 - want) <= (TEST_DOUBLE ? 1e-12 : 1e-7) * want,
                          "%s: check called %d times with sum w^2 %.17g, want %.17g", what, seen.calls,
                          seen.w2, want);
                    CHECK(bp_optim_last_grad_norm(o[0]) == bp_optim_last_grad_norm(o[1]),
                          "%s: norm %.17g, the separate pass's %.17g", what,
                          bp_optim_last_grad_norm(o[0]), bp_optim_last_grad_norm(o[1]));
                }
                CHECK(memcmp(w[0], w[1], n * sizeof(bp_real)) == 0, "%s: parameters differ", what);
                for (int sl = 0; sl < bp_optim_state_count(o[0]); sl++)
                    CHECK(memcmp(bp_optim_state(o[0], sl), bp_optim_state(o[1], sl),
                                 n * sizeof(bp_real)) == 0, "%s: state %s differs", what,
                          bp_optim_state_name(o[0], sl));
                if (kind == BP_OPTIM_ADAM && variant == 3) { /* refused: nothing moves */
                    l2_seen seen = {.refuse = true};
                    bp__l2_step l2 = {c, l2_check, &seen};
                    memcpy(w[1], w[0], n * sizeof(bp_real));
                    CHECK(bp__optim_step_blocks(o[0], w[0], g[0], blocks, 4, NULL, &l2) == BP_ERR_NUMERIC &&
                          strstr(bp_last_error(), "loss is inf"), "%s: refusal: %s", what, bp_last_error());
                    CHECK(seen.calls == 1 && bp_optim_steps(o[0]) == STEPS3 &&
                          memcmp(w[0], w[1], n * sizeof(bp_real)) == 0,
                          "%s: a refused step moved the parameters or the step count", what);
                }
                bp_optim_free(o[0]), bp_optim_free(o[1]);
            }
    bp_set_threads(1);
    for (int v = 0; v < 2; v++) free(w[v]), free(g[v]);
}

/* Adam's wide form (optim.c: a run whose m, v or g is small enough for a
 * float product to fall into the subnormals takes its products, quotients and
 * roots in double, rounded once to float) against Adam done here by hand in
 * bp_real, operation by operation in the library's order: the same bits,
 * whether the runs choose (bp__wide_form 2), all take the wide form (1), none
 * does (-1, one float loop) or the core's rule decides (0: -1 on AMD's cores,
 * else 2). The gradients reach from 0 through float's subnormals to 1,
 * and most stop after a few steps, so that m and v decay through the
 * subnormals to 0 (about 900 steps for v); 1,000 values, runs of every kind.
 * Between them, values 256 to 767 keep a gradient of 0.01 to 0.7 at every
 * step: two of the update's blocks of 256 with nothing small, the first after
 * a block with something small (run by run), the second its float loop. */
#define WN 1512
#define WSTEPS 1000

static bp_real wide_grad(int t, int i)
{
    static const double mag[] = {0, 1e-44, 3e-39, 1e-37, 1e-30, 1e-25, 3e-19, 2e-18,
                                 1e-12, 1e-6, 1e-3, 0.7};
    if (i >= 256 && i < 768) return (bp_real)((t % 2 ? 0.01 : -0.7) * (1 + 0.01 * (i % 89)));
    if (i >= 768) i -= 512;
    int kind = i % 12, stop = (i / 12) % 5 == 0 ? WSTEPS : 1 + (i / 12) % 9; /* steps with g */
    if (t > stop) return 0;
    double sign = (i / 7 + t) % 3 == 0 ? -1 : 1;
    return (bp_real)(sign * mag[kind] * (1 + 0.01 * (i % 97)));
}

/* Step t of Adam (or AdamW) over n values, by hand in bp_real, operation by
 * operation in the library's order. */
static void adam_step_by_hand(const bp_optim_config *c, uint64_t t, bp_real *w, bp_real *m,
                              bp_real *v, const bp_real *grad, int n)
{
    bool adamw = c->kind == BP_OPTIM_ADAMW, folded = c->folded_bias_correction && !c->eps_inside_sqrt;
    bp_real b1 = (bp_real)c->beta1, b2 = (bp_real)c->beta2, one_b1 = (bp_real)(1 - c->beta1),
            one_b2 = (bp_real)(1 - c->beta2), eps = (bp_real)c->eps;
    bp_real d = adamw ? (bp_real)(1 - c->lr * c->weight_decay) : (bp_real)c->weight_decay;
    double c1 = 1 - pow(c->beta1, (double)t), c2 = 1 - pow(c->beta2, (double)t);
    bp_real step = (bp_real)(folded ? c->lr * sqrt(c2) / c1 : c->lr / c1);
    bp_real c2_sqrt = folded ? 1 : (bp_real)sqrt(c2), inv_c2 = folded ? 1 : (bp_real)(1 / c2);
    for (int i = 0; i < n; i++) {
        bp_real g = grad[i];
        if (!adamw && c->weight_decay != 0) g = g + d * w[i];
        m[i] = b1 * m[i] + one_b1 * g;
        v[i] = b2 * v[i] + one_b2 * g * g;
        bp_real denom = c->eps_inside_sqrt ? R_SQRT(v[i] * inv_c2 + eps)
                      : c2_sqrt != 1 ? R_SQRT(v[i]) / c2_sqrt + eps : R_SQRT(v[i]) + eps;
        bp_real wi = adamw ? w[i] * d : w[i];
        w[i] = wi - step * m[i] / denom;
    }
}

static void adam_by_hand(const bp_optim_config *c, bp_real *w, bp_real *m, bp_real *v)
{
    static bp_real g[WN];
    for (int t = 1; t <= WSTEPS; t++) {
        for (int i = 0; i < WN; i++) g[i] = wide_grad(t, i);
        adam_step_by_hand(c, (uint64_t)t, w, m, v, g, WN);
    }
}

static void test_adam_wide_form_same_bits(void)
{
    static bp_real w[WN], m[WN], v[WN], wl[WN], g[WN];
    int subnormal_m = 0, subnormal_v = 0;
    for (int variant = 0; variant < 4; variant++)
        for (int mode = -1; mode <= 2; mode++) {
            bp_optim_config c = bp_optim_config_default(variant == 2 ? BP_OPTIM_ADAMW : BP_OPTIM_ADAM);
            c.eps_inside_sqrt = variant == 1;
            if (variant == 3) c.weight_decay = 1e-4;
            for (int i = 0; i < WN; i++) w[i] = wl[i] = (bp_real)(0.01 * (i % 37) - 0.2), m[i] = v[i] = 0;
            adam_by_hand(&c, w, m, v);
            bp_optim *o;
            CHECK_OK(bp_optim_create(&o, &c, WN));
            if (!o) return;
            bp__wide_form = mode;
            for (int t = 1; t <= WSTEPS; t++) {
                for (int i = 0; i < WN; i++) g[i] = wide_grad(t, i);
                CHECK_OK(bp_optim_step(o, wl, g));
            }
            bp__wide_form = 0;
            const bp_real *ml = bp_optim_state(o, 0), *vl = bp_optim_state(o, 1);
            int diff = -1;
            for (int i = 0; i < WN && diff < 0; i++)
                if (memcmp(&wl[i], &w[i], sizeof *w) || memcmp(&ml[i], &m[i], sizeof *m) ||
                    memcmp(&vl[i], &v[i], sizeof *v))
                    diff = i;
            CHECK(diff < 0, "%s variant %d, wide %d: value %d: w %.9g m %.9g v %.9g, by hand %.9g %.9g %.9g",
                  bp_optim_name(c.kind), variant, mode, diff, (double)wl[diff < 0 ? 0 : diff],
                  (double)ml[diff < 0 ? 0 : diff], (double)vl[diff < 0 ? 0 : diff],
                  (double)w[diff < 0 ? 0 : diff], (double)m[diff < 0 ? 0 : diff], (double)v[diff < 0 ? 0 : diff]);
            bp_optim_free(o);
        }
    /* the test reaches what it is for: states in the subnormals on the way (at the end, 0) */
    bp_optim_config c = bp_optim_config_default(BP_OPTIM_ADAM);
    for (int i = 0; i < WN; i++) w[i] = 0, m[i] = v[i] = 0;
    bp_optim *o;
    CHECK_OK(bp_optim_create(&o, &c, WN));
    if (!o) return;
    for (int t = 1; t <= 200; t++) {
        for (int i = 0; i < WN; i++) g[i] = wide_grad(t, i);
        CHECK_OK(bp_optim_step(o, w, g));
        const bp_real *ml = bp_optim_state(o, 0), *vl = bp_optim_state(o, 1);
        for (int i = 0; i < WN; i++)
            subnormal_m += fpclassify(ml[i]) == FP_SUBNORMAL, subnormal_v += fpclassify(vl[i]) == FP_SUBNORMAL;
    }
    bp_optim_free(o);
    CHECK(TEST_DOUBLE || (subnormal_m > 1000 && subnormal_v > 1000),
          "subnormal states seen: m %d, v %d", subnormal_m, subnormal_v);
}

/* One step of Adam from states of every kind, against the step by hand: the
 * same bits whatever the wide form's rule (bp__wide_form -1 to 2: the float
 * loop alone, all wide, run by run, the core's choice), from states that a
 * training run's 1,000 steps above may not reach. The values are bit
 * patterns drawn towards the edges: zeros of both signs, m of ±k 2^-149 for k
 * up to 40 (a dead unit's m stays at k <= 4 for good: b1 k rounds back to k),
 * subnormal and tiny normal m (on their way down), v, g and w, moderate
 * values; vectors of 16 dead lanes alone, dead lanes among live ones,
 * anything, live ones alone; steps t from 1 to 30,000 (the torch form with
 * sqrt(c2), and past it without), eps inside the root, scikit-learn's folded
 * correction, eps 0, learning rates up to 0.16 (where step m no longer rounds
 * to 0), a b1 of 0.01 (where b1 m does). States stay finite. */
static uint64_t edge_state = 0x9E3779B97F4A7C15ull;

static uint32_t edge_next(void)
{
    edge_state ^= edge_state << 13, edge_state ^= edge_state >> 7, edge_state ^= edge_state << 17;
    return (uint32_t)(edge_state >> 16);
}

/* A finite float of the kind `kind` picks, either sign, at most `top` in size. */
static float edge_value(int kind, float top)
{
    uint32_t u = edge_next(), sign = u & 0x80000000u;
    float f;
    switch (kind % 6) {
    case 0: u = sign; break;                                         /* ±0 */
    case 1: u = sign | (1 + edge_next() % 40); break;                /* ±k 2^-149 */
    case 2: u = sign | (u & 0x7fffff); break;                        /* subnormal */
    case 3: u = sign | (1 + edge_next() % 40) << 23 | (u & 0x7fffff); break; /* tiny normal */
    default: u = sign | (97 + edge_next() % 40) << 23 | (u & 0x7fffff); break; /* 2^-30 .. 2^9 */
    }
    memcpy(&f, &u, sizeof f);
    return fabsf(f) > top ? (f < 0 ? -top : top) : f;
}

static void test_adam_edge_states_same_bits(void)
{
    enum { LN = 16 * 40 + 7 };
    static bp_real w[LN], m[LN], v[LN], g[LN], wh[LN], mh[LN], vh[LN], wl[LN], gl[LN];
    int mismatches = 0, trials = 0, dead_seen = 0;
    for (int trial = 0; trial < 300; trial++) {
        bp_optim_config c = bp_optim_config_default(BP_OPTIM_ADAM);
        c.eps_inside_sqrt = trial % 5 == 1;
        c.folded_bias_correction = trial % 5 == 2;
        if (trial % 7 == 3) c.eps = 0;
        if (trial % 6 == 5) c.lr = 0.01 + 0.05 * (trial % 4); /* step m away from 0 */
        if (trial % 8 == 7) c.beta1 = 0.01; /* b1 k 2^-149 rounds to 0 up to k = 50 */
        uint64_t t = trial % 3 == 0 ? 1 + edge_next() % 20 : 1 + edge_next() % 30000;
        for (int i = 0; i < LN; i++) {
            /* vectors of 16: dead lanes alone (an m stuck at ±k 2^-149, k <= 40, or on
             * its way down), dead lanes among live ones, anything, live ones alone */
            int kind = (i / 16) % 4;
            bool dead = kind == 0 || (kind == 1 && edge_next() % 2) || (kind == 2 && edge_next() % 3 == 0);
            int any = (int)(edge_next() % 6); /* of the "anything" vectors */
            g[i] = dead ? (edge_next() % 2 ? -0.0f : 0.0f) : edge_value(kind == 2 ? any : 4, 1e3f);
            uint32_t mb = (edge_next() & 0x80000000u) | edge_next() % 41;
            int way = (int)(edge_next() % 5); /* a dead m stuck (3 in 5), or on its way down */
            float mf;
            memcpy(&mf, &mb, sizeof mf);
            if (dead && kind != 2 && way < 3) m[i] = mf;
            else if (dead && kind != 2) m[i] = edge_value(way == 3 ? 2 : 3, 1e3f);
            else m[i] = edge_value(kind == 2 ? (int)(edge_next() % 6) : 4, 1e3f);
            /* v > 0: with eps 0, no 0 / 0 */
            v[i] = (bp_real)fabsf(edge_value(kind == 2 ? 1 + (int)(edge_next() % 5) : 4, 1e6f));
            w[i] = edge_value((int)(edge_next() % 6), 1e3f);
            dead_seen += dead && kind != 2;
        }
        memcpy(wh, w, sizeof w), memcpy(mh, m, sizeof m), memcpy(vh, v, sizeof v);
        adam_step_by_hand(&c, t, wh, mh, vh, g, LN);
        for (int mode = -1; mode <= 2; mode++) {
            bp_optim *o;
            CHECK_OK(bp_optim_create(&o, &c, LN));
            if (!o) return;
            memcpy(wl, w, sizeof w), memcpy(gl, g, sizeof g);
            memcpy(bp_optim_state(o, 0), m, sizeof m), memcpy(bp_optim_state(o, 1), v, sizeof v);
            bp_optim_set_steps(o, t - 1);
            bp__wide_form = mode;
            bp_status st = bp_optim_step(o, wl, gl);
            bp__wide_form = 0;
            const bp_real *ml = bp_optim_state(o, 0), *vl = bp_optim_state(o, 1);
            int diff = st ? 0 : -1;
            for (int i = 0; i < LN && diff < 0; i++)
                if (memcmp(&wl[i], &wh[i], sizeof *w) || memcmp(&ml[i], &mh[i], sizeof *m) ||
                    memcmp(&vl[i], &vh[i], sizeof *v))
                    diff = i;
            if (diff >= 0 && mismatches++ < 3)
                CHECK(0, "trial %d (t %llu, wide %d, status %d): value %d: w %a m %a v %a, "
                      "by hand %a %a %a; from w %a m %a v %a g %a",
                      trial, (unsigned long long)t, mode, (int)st, diff,
                      (double)wl[diff], (double)ml[diff], (double)vl[diff], (double)wh[diff],
                      (double)mh[diff], (double)vh[diff], (double)w[diff], (double)m[diff],
                      (double)v[diff], (double)g[diff]);
            trials++;
            bp_optim_free(o);
        }
    }
    CHECK(mismatches == 0, "%d of %d steps differ from the step by hand", mismatches, trials);
    CHECK(dead_seen > 10000, "dead lanes: %d", dead_seen);
}

/* The momentum rules' wide form, as Adam's above: torch's momentum and
 * Nesterov, scikit-learn's (the step kept in the velocity) and the notes'
 * bias-corrected momentum, each against the rule done here by hand in
 * bp_real in the library's order: the same bits, whether the runs choose,
 * all take the wide form or none does; and states in the subnormals on the
 * way (the velocity of a weight whose gradient stopped decays through them). */
static void momentum_by_hand(const bp_optim_config *c, bp_real *w, bp_real *v)
{
    bool nesterov = c->kind == BP_OPTIM_NESTEROV;
    bp_real a = (bp_real)c->lr, m = (bp_real)c->momentum, d = (bp_real)c->weight_decay;
    for (int t = 1; t <= WSTEPS; t++) {
        bp_real b = (bp_real)c->momentum, one_b = (bp_real)(1 - c->momentum);
        bp_real step = (bp_real)(c->lr / (1 - pow(c->momentum, (double)t)));
        for (int i = 0; i < WN; i++) {
            bp_real g = wide_grad(t, i);
            if (c->weight_decay != 0) g = g + d * w[i];
            if (c->kind == BP_OPTIM_NOTES_MOMENTUM) {
                v[i] = b * v[i] + one_b * g;
                w[i] -= step * v[i];
            } else if (c->step_in_velocity) {
                v[i] = m * v[i] - a * g;
                w[i] += nesterov ? m * v[i] - a * g : v[i];
            } else {
                v[i] = m * v[i] + g;
                w[i] -= a * (nesterov ? g + m * v[i] : v[i]);
            }
        }
    }
}

static void test_momentum_wide_form_same_bits(void)
{
    static bp_real w[WN], v[WN], wl[WN], g[WN];
    for (int variant = 0; variant < 6; variant++)
        for (int mode = -1; mode <= 2; mode++) {
            bp_optim_kind kind = variant == 5 ? BP_OPTIM_NOTES_MOMENTUM
                               : variant % 2 ? BP_OPTIM_NESTEROV : BP_OPTIM_MOMENTUM;
            bp_optim_config c = bp_optim_config_default(kind);
            c.lr = 0.01, c.momentum = 0.9;
            c.step_in_velocity = variant == 2 || variant == 3;
            if (variant == 4) c.weight_decay = 1e-4;
            for (int i = 0; i < WN; i++) w[i] = wl[i] = (bp_real)(0.01 * (i % 37) - 0.2), v[i] = 0;
            momentum_by_hand(&c, w, v);
            bp_optim *o;
            CHECK_OK(bp_optim_create(&o, &c, WN));
            if (!o) return;
            bp__wide_form = mode;
            int subnormal = 0;
            for (int t = 1; t <= WSTEPS; t++) {
                for (int i = 0; i < WN; i++) g[i] = wide_grad(t, i);
                CHECK_OK(bp_optim_step(o, wl, g));
                const bp_real *vl = bp_optim_state(o, 0);
                for (int i = 0; i < WN; i++) subnormal += fpclassify(vl[i]) == FP_SUBNORMAL;
            }
            bp__wide_form = 0;
            const bp_real *vl = bp_optim_state(o, 0);
            int diff = -1;
            for (int i = 0; i < WN && diff < 0; i++)
                if (memcmp(&wl[i], &w[i], sizeof *w) || memcmp(&vl[i], &v[i], sizeof *v)) diff = i;
            int at = diff < 0 ? 0 : diff;
            CHECK(diff < 0, "%s variant %d, wide %d: value %d: w %.9g v %.9g, by hand %.9g %.9g",
                  bp_optim_name(kind), variant, mode, diff, (double)wl[at], (double)vl[at],
                  (double)w[at], (double)v[at]);
            CHECK(TEST_DOUBLE || subnormal > 1000, "%s variant %d: %d subnormal states seen",
                  bp_optim_name(kind), variant, subnormal);
            bp_optim_free(o);
        }
}

/* The choice each run makes (bp__adam_tiny_set): a value x is small for its
 * bound t where 0 < |x| < t, checked here by that definition on runs of 16
 * (the vector check) and of 1-15 (the loop), with values at and beside each
 * bound, zeros of both signs, subnormals, NaN and infinities. A wrong choice
 * changes no bits (the test above), only the speed, so it is checked here. */
static int small_by_definition(const float *x, int n, float t)
{
    for (int i = 0; i < n; i++)
        if (x[i] != 0 && fabsf(x[i]) < t) return 1; /* NaN compares false */
    return 0;
}

static void test_adam_run_choice(void)
{
    const float tg = 1e-30f, tm = 3e-36f, tv = 2e-33f, bound[3] = {tg, tm, tv};
    uint64_t state = 7;
    int seen[4] = {0}, masks_seen[2] = {0}; /* 256-bit, 512-bit */
    for (int trial = 0; trial < 30000; trial++) {
        float x[3][16];
        int n = trial % 4 ? 16 : 1 + trial % 15;
        for (int a = 0; a < 3; a++)
            for (int i = 0; i < n; i++) {
                state = state * 6364136223846793005ULL + 1442695040888963407ULL;
                unsigned r = (unsigned)(state >> 33);
                float t = bound[r % 3], pool[] = {
                    0.0f, -0.0f, t, nextafterf(t, 0), -nextafterf(t, 0), nextafterf(t, 1),
                    0x1p-149f, -0x1p-149f, 0x1p-126f, NAN, -NAN, INFINITY, -INFINITY, 1, -0.5f};
                /* mostly large values, so that every set of outcomes turns up */
                x[a][i] = (r >> 8) % 8 ? 0.25f * (float)((r >> 12) % 9) : pool[(r >> 4) % 15];
            }
        int want = small_by_definition(x[0], n, tg) | small_by_definition(x[2], n, tv) ? 3
                 : small_by_definition(x[1], n, tm) ? 1 : 0;
        int got = bp__adam_tiny_set(x[0], x[1], x[2], (size_t)n, tg, tm, tv);
        if (got == -1) { /* a build without the wide form: the float build on x86 has it */
#if defined(__x86_64__) || defined(__i386__)
            CHECK(TEST_DOUBLE, "no wide form in the float build");
#endif
            return;
        }
        CHECK(got == want, "run %d of %d values: set %d, by the definition %d", trial, n, got, want);
        if (got != want) return;
        seen[want]++;
        /* each vector mask compiled in, lane by lane (the AVX2 one on an AVX-512 core too) */
        for (int bits = 256; n == 16 && bits <= 512; bits *= 2)
            for (int a = 0; a < 3; a++) {
                long mask = bp__small_lanes(x[a], bound[a], bits), lanes = 0;
                if (mask < 0) continue;
                masks_seen[bits / 512]++;
                for (int i = 0; i < 16; i++) lanes |= (long)small_by_definition(&x[a][i], 1, bound[a]) << i;
                CHECK(mask == lanes, "run %d, %d-bit mask %#lx, by the definition %#lx", trial, bits,
                      mask, lanes);
                if (mask != lanes) return;
            }
    }
    CHECK(seen[0] > 1000 && seen[1] > 1000 && seen[3] > 1000, "sets seen: none %d, m %d, all %d",
          seen[0], seen[1], seen[3]);
#if defined(__AVX2__)
    CHECK(masks_seen[0] > 1000, "256-bit masks checked: %d", masks_seen[0]);
#endif
#if defined(__AVX512F__)
    CHECK(masks_seen[1] > 1000, "512-bit masks checked: %d", masks_seen[1]);
#endif
}

int main(void)
{
    RUN(test_every_optimizer_by_hand);
    RUN(test_notes_variants);
    RUN(test_adam_late_steps);
    RUN(test_notes_momentum_first_step_is_unbiased);
    RUN(test_nonfinite_gradient_is_refused);
    RUN(test_overflowing_update_is_reported);
    RUN(test_config_validation_and_names);
    RUN(test_state_slots);
    RUN(test_split_update_matches_one_thread);
    RUN(test_gradient_norm);
    RUN(test_decay_fused_matches_separate_pass);
    RUN(test_l2_folded_matches_separate_pass);
    RUN(test_adam_wide_form_same_bits);
    RUN(test_adam_edge_states_same_bits);
    RUN(test_momentum_wide_form_same_bits);
    RUN(test_adam_run_choice);
    return test_summary("test_optim");
}
