/* The library features that let another trainer's algorithm be followed
 * exactly (scikit-learn's MLPs, python/backprop): the half_sse and bce_sum
 * losses, L2 on the weights only (bp_train_config.l2), probability clipping
 * of the reported loss, the step-in-velocity momentum, Adam's folded bias
 * correction, bp_trainer_epoch_order, bp_trainer_objective and
 * bp_shuffle_mt19937. Each against
 * values computed here from the formulas, or central finite differences. */
#include "util.h"
#include "internal.h"

#define TOL (TEST_DOUBLE ? 1e-12 : 1e-5)

/* ---------------------------------------------------------------- optimizers */

#define N 3
static const double w0[N] = {0.5, -1.25, 2.0};
static double grad_at(int t, int i) { return 0.3 * (i + 1) * (t % 2 ? -1 : 1) + 0.1 * t - 0.2 * i; }
static double lr_at(int t) { return t <= 2 ? 0.1 : 0.02; } /* a schedule: lr changes after step 2 */

static void test_step_in_velocity_momentum(void)
{
    for (int nesterov = 0; nesterov < 2; nesterov++) {
        bp_optim_config c = bp_optim_config_default(nesterov ? BP_OPTIM_NESTEROV : BP_OPTIM_MOMENTUM);
        c.momentum = 0.8, c.step_in_velocity = 1;
        bp_optim *o;
        CHECK_OK(bp_optim_create(&o, &c, N));
        if (!o) return;
        bp_real w[N], g[N];
        double ew[N], v[N] = {0};
        for (int i = 0; i < N; i++) w[i] = (bp_real)w0[i], ew[i] = w0[i];
        for (int t = 1; t <= 5; t++) {
            bp_optim_set_lr(o, lr_at(t));
            for (int i = 0; i < N; i++) {
                g[i] = (bp_real)grad_at(t, i);
                /* scikit-learn's SGDOptimizer._get_updates */
                v[i] = c.momentum * v[i] - lr_at(t) * grad_at(t, i);
                ew[i] += nesterov ? c.momentum * v[i] - lr_at(t) * grad_at(t, i) : v[i];
            }
            CHECK_OK(bp_optim_step(o, w, g));
        }
        for (int i = 0; i < N; i++) CHECK_CLOSE(w[i], ew[i], TOL);
        CHECK_CLOSE(bp_optim_state(o, 0)[1], v[1], TOL);
        bp_optim_free(o);
    }
}

static void test_adam_folded_bias_correction(void)
{
    bp_optim_config c = bp_optim_config_default(BP_OPTIM_ADAM);
    c.lr = 0.05, c.eps = 1e-3, c.folded_bias_correction = 1; /* eps large enough to tell forms apart */
    bp_optim *o;
    CHECK_OK(bp_optim_create(&o, &c, N));
    if (!o) return;
    bp_real w[N], g[N];
    double ew[N], tw[N], m[N] = {0}, v[N] = {0};
    for (int i = 0; i < N; i++) w[i] = (bp_real)w0[i], ew[i] = tw[i] = w0[i];
    for (int t = 1; t <= 6; t++) {
        /* scikit-learn's AdamOptimizer: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) */
        double lr_t = c.lr * sqrt(1 - pow(c.beta2, t)) / (1 - pow(c.beta1, t));
        for (int i = 0; i < N; i++) {
            g[i] = (bp_real)grad_at(t, i);
            m[i] = c.beta1 * m[i] + (1 - c.beta1) * grad_at(t, i);
            v[i] = c.beta2 * v[i] + (1 - c.beta2) * grad_at(t, i) * grad_at(t, i);
            ew[i] += -lr_t * m[i] / (sqrt(v[i]) + c.eps);
            /* torch's form, to show the two differ at this eps */
            tw[i] -= c.lr / (1 - pow(c.beta1, t)) * m[i] / (sqrt(v[i] / (1 - pow(c.beta2, t))) + c.eps);
        }
        CHECK_OK(bp_optim_step(o, w, g));
    }
    for (int i = 0; i < N; i++) CHECK_CLOSE(w[i], ew[i], TOL);
    CHECK(fabs(ew[0] - tw[0]) > 1e-4, "the folded form should differ from torch's: %g vs %g",
          ew[0], tw[0]);
    bp_optim_free(o);
}

/* ----------------------------------------------------------------- losses */

/* A 3-4-k model with the given output and loss, fixed x (n, 3), y (n, k). */
#define NS 5
static bp_model *small_model(int k, bp_activation out_act, bp_loss loss)
{
    const int sizes[] = {3, 4, k};
    const bp_activation acts[] = {BP_ACT_TANH, out_act};
    bp_model *m = make_model(2, sizes, acts, loss, 3);
    if (m)
        for (int j = 0; j < k; j++) bp_model_bias(m, 1)[j] = (bp_real)(0.2 * j - 0.1);
    return m;
}

static void data(bp_real *x, bp_real *y, int k, bool binary)
{
    bp_rng r;
    bp_rng_seed(&r, 5);
    for (int i = 0; i < NS * 3; i++) x[i] = (bp_real)(2 * bp_rng_uniform(&r) - 1);
    for (int i = 0; i < NS * k; i++)
        y[i] = binary ? (bp_real)bp_rng_below(&r, 2) : (bp_real)(2 * bp_rng_uniform(&r) - 1);
}

static void test_half_sse_and_bce_sum_values_and_gradients(void)
{
    for (int which = 0; which < 2; which++) {
        bool bce = which == 1;
        int k = 3;
        bp_model *m = small_model(k, bce ? BP_ACT_SIGMOID : BP_ACT_IDENTITY,
                                  bce ? BP_LOSS_BCE_SUM : BP_LOSS_HALF_SSE);
        CHECK(m != NULL, "create");
        if (!m) return;
        bp_real x[NS * 3], y[NS * 3];
        const bp_real *a;
        data(x, y, k, bce);
        CHECK_OK(bp_model_forward(m, x, NS, &a));
        double expect = 0;
        for (int i = 0; i < NS * k; i++) /* the definitions, from the probabilities */
            expect += bce ? -(y[i] * log(a[i]) + (1 - y[i]) * log(1 - a[i]))
                          : 0.5 * (a[i] - y[i]) * (a[i] - y[i]);
        expect /= NS; /* summed over outputs, mean over samples */
        bp_real l;
        CHECK_OK(bp_model_loss(m, y, NS, &l));
        CHECK_CLOSE(l, expect, TEST_DOUBLE ? 1e-12 : 1e-5);
        bp_gradcheck_result r;
        CHECK_OK(bp_gradcheck(m, x, y, NS, 0, 1e-4, &r));
        CHECK(r.max_rel_error < (TEST_DOUBLE ? 1e-6 : 5e-2), "%s: gradcheck max rel %g",
              bp_loss_name(bp_model_cfg(m)->loss), r.max_rel_error);
        bp_model_free(m);
    }
    bp_init in;
    CHECK_OK(bp_init_from_name("zeros", &in));
    CHECK(in == BP_INIT_ZEROS && !strcmp(bp_init_name(in), "zeros"), "init zeros by name");
    bp_loss l;
    CHECK_OK(bp_loss_from_name("half_sse", &l));
    CHECK(l == BP_LOSS_HALF_SSE, "half_sse");
    CHECK_OK(bp_loss_from_name("bce_sum", &l));
    CHECK(l == BP_LOSS_BCE_SUM, "bce_sum");
    /* bce_sum needs a sigmoid output */
    bp_model_config c = bp_model_config_default();
    c.n_layers = 1, c.sizes[0] = 2, c.sizes[1] = 2, c.act[0] = BP_ACT_IDENTITY, c.loss = BP_LOSS_BCE_SUM;
    bp_model *bad;
    CHECK(bp_model_create(&bad, &c) == BP_ERR_INVALID && strstr(bp_last_error(), "bce_sum"),
          "bce_sum on identity: %s", bp_last_error());
}

/* init zeros: every parameter 0, also after re-initialization */
static void test_init_zeros(void)
{
    bp_model_config c = bp_model_config_default();
    c.n_layers = 2, c.sizes[0] = 3, c.sizes[1] = 4, c.sizes[2] = 2, c.init = BP_INIT_ZEROS;
    bp_model *m;
    CHECK_OK(bp_model_create(&m, &c));
    if (!m) return;
    bp_real *p = bp_model_params(m);
    size_t n = bp_model_param_count(m), nonzero = 0;
    p[0] = 1;
    bp_model_init_params(m, 42);
    for (size_t i = 0; i < n; i++) nonzero += p[i] != 0;
    CHECK(nonzero == 0, "%zu parameters not zero", nonzero);
    bp_model_free(m);
}

/* ---------------------------------------------------------- the objective */

static bp_trainer *objective_trainer(bp_model *m, double l2, double clip)
{
    bp_train_config tc = bp_train_config_default();
    tc.l2 = l2, tc.prob_clip = clip;
    bp_trainer *t = NULL;
    CHECK_OK(bp_trainer_create(&t, m, NULL, &tc));
    return t;
}

/* J(θ) = loss + (l2 / 2n) Σ W²: its gradient against central differences, and
 * its penalty against the sum; biases carry no penalty. */
static void test_objective_l2_against_finite_differences(void)
{
    int k = 3;
    bp_model *m = small_model(k, BP_ACT_SOFTMAX, BP_LOSS_XENT);
    CHECK(m != NULL, "create");
    if (!m) return;
    bp_real x[NS * 3], y[NS * 3];
    data(x, y, k, true);
    for (int i = 0; i < NS; i++) /* one-hot */
        for (int j = 0; j < k; j++) y[i * k + j] = j == i % k;
    double l2 = 0.3;
    bp_trainer *t = objective_trainer(m, l2, 0);
    if (!t) return;
    double loss, pen;
    CHECK_OK(bp_trainer_objective(t, x, y, NS, &loss, &pen));
    size_t n = bp_model_param_count(m);
    bp_real *p = bp_model_params(m), *g = bp_model_grads(m);
    double sumsq = 0;
    for (int l = 0; l < 2; l++) {
        const bp_real *w = bp_model_weight(m, l);
        int cnt = bp_model_cfg(m)->sizes[l] * bp_model_cfg(m)->sizes[l + 1];
        for (int i = 0; i < cnt; i++) sumsq += (double)w[i] * w[i];
    }
    CHECK_CLOSE(pen, 0.5 * l2 * sumsq / NS, 1e-12);
    bp_real *analytic = malloc(n * sizeof *analytic);
    memcpy(analytic, g, n * sizeof *g);
    double h = TEST_DOUBLE ? 1e-6 : 1e-2, worst = 0;
    for (size_t i = 0; i < n; i++) {
        bp_real keep = p[i];
        double lp, lm;
        p[i] = keep + (bp_real)h;
        CHECK_OK(bp_trainer_objective(t, x, y, NS, &lp, NULL));
        p[i] = keep - (bp_real)h;
        CHECK_OK(bp_trainer_objective(t, x, y, NS, &lm, NULL));
        p[i] = keep;
        double num = (lp - lm) / (2 * h), e = fabs(num - analytic[i]) / fmax(1e-3, fabs(num));
        if (e > worst) worst = e;
    }
    CHECK(worst < (TEST_DOUBLE ? 1e-6 : 5e-2), "objective gradient vs finite differences: %g", worst);
    /* the bias gradient has no penalty: equal to the unregularized one */
    bp_trainer *t0 = objective_trainer(m, 0, 0);
    double loss0;
    CHECK_OK(bp_trainer_objective(t0, x, y, NS, &loss0, &pen));
    CHECK(pen == 0, "no l2, no penalty");
    CHECK_CLOSE(loss, loss0 + 0.5 * l2 * sumsq / NS, 1e-12);
    const bp_real *b0 = bp_model_bias_grad(m, 1);
    size_t boff = (size_t)(bp_model_bias(m, 1) - p);
    for (int j = 0; j < k; j++) CHECK_CLOSE(b0[j], analytic[boff + j], 1e-12);
    free(analytic);
    bp_trainer_free(t), bp_trainer_free(t0);
    bp_model_free(m);
}

/* prob_clip: a saturated sigmoid's loss is -log(clip) per wrong sample, as
 * scikit-learn's log_loss; unclipped it is the (large) logit. */
static void test_prob_clip(void)
{
    const int sizes[] = {1, 1};
    const bp_activation acts[] = {BP_ACT_SIGMOID};
    bp_model *m = make_model(1, sizes, acts, BP_LOSS_BCE_SUM, 1);
    if (!m) return;
    bp_model_weight(m, 0)[0] = 1, bp_model_bias(m, 0)[0] = 0;
    bp_real x[2] = {60, -1}, y[2] = {0, 0}; /* sigma(60) rounds to 1 */
    double eps = TEST_DOUBLE ? 2.220446049250313e-16 : 1.1920928955078125e-07;
    bp_trainer *tc = objective_trainer(m, 0, eps), *tu = objective_trainer(m, 0, 0);
    double lc, lu;
    CHECK_OK(bp_trainer_objective(tc, x, y, 2, &lc, NULL));
    CHECK_OK(bp_trainer_objective(tu, x, y, 2, &lu, NULL));
    double s1 = 1 / (1 + exp(1.0)); /* sigma(-1) */
    CHECK_CLOSE(lc, (-log(eps) - log(1 - s1)) / 2, TEST_DOUBLE ? 1e-12 : 1e-5);
    CHECK_CLOSE(lu, (60 + log1p(exp(-60.0)) - log(1 - s1)) / 2, 1e-6);
    bp_trainer_free(tc), bp_trainer_free(tu);
    bp_model_free(m);
}

/* ------------------------------------------------------------ epoch order */

/* An epoch over a given order equals an unshuffled epoch over the rows
 * permuted by hand, bit for bit (the same batches, the same arithmetic). */
static void test_epoch_order(void)
{
    enum { NN = 23, IN = 3, K = 2 };
    const int sizes[] = {IN, 5, K};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_IDENTITY};
    bp_model *a = make_model(2, sizes, acts, BP_LOSS_HALF_SSE, 9);
    bp_model *b = make_model(2, sizes, acts, BP_LOSS_HALF_SSE, 9);
    if (!a || !b) return;
    bp_real x[NN * IN], y[NN * K], xp[NN * IN], yp[NN * K];
    random_data(x, y, NN, IN, K, BP_LOSS_MSE, 4);
    size_t order[NN];
    for (int i = 0; i < NN; i++) order[i] = (size_t)((i * 7 + 3) % NN);
    for (int i = 0; i < NN; i++) {
        memcpy(xp + i * IN, x + order[i] * IN, sizeof(bp_real) * IN);
        memcpy(yp + i * K, y + order[i] * K, sizeof(bp_real) * K);
    }
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    oc.folded_bias_correction = 1;
    bp_optim *oa, *ob;
    CHECK_OK(bp_optim_create(&oa, &oc, bp_model_param_count(a)));
    CHECK_OK(bp_optim_create(&ob, &oc, bp_model_param_count(b)));
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 5, tc.l2 = 0.1;
    bp_trainer *ta, *tb;
    CHECK_OK(bp_trainer_create(&ta, a, oa, &tc));
    tc.shuffle = 0;
    CHECK_OK(bp_trainer_create(&tb, b, ob, &tc));
    bp_epoch_stats sa, sb;
    for (int e = 0; e < 3; e++) {
        CHECK_OK(bp_trainer_epoch_order(ta, x, y, NN, order, &sa));
        CHECK_OK(bp_trainer_epoch(tb, xp, yp, NN, &sb));
    }
    CHECK(memcmp(bp_model_params(a), bp_model_params(b),
                 bp_model_param_count(a) * sizeof(bp_real)) == 0, "parameters differ");
    CHECK(sa.loss == sb.loss && sa.penalty == sb.penalty && sa.penalty > 0,
          "loss %g/%g penalty %g/%g", sa.loss, sb.loss, sa.penalty, sb.penalty);
    order[4] = NN;
    CHECK(bp_trainer_epoch_order(ta, x, y, NN, order, &sa) == BP_ERR_INVALID &&
          strstr(bp_last_error(), "order[4]"), "out of range index: %s", bp_last_error());
    bp_trainer *none;
    CHECK_OK(bp_trainer_create(&none, a, NULL, &tc));
    CHECK(bp_trainer_epoch(none, x, y, NN, &sa) == BP_ERR_INVALID, "epoch without optimizer");
    bp_trainer_free(none);
    bp_trainer_free(ta), bp_trainer_free(tb);
    bp_optim_free(oa), bp_optim_free(ob);
    bp_model_free(a), bp_model_free(b);
}

/* bp_shuffle_mt19937 against the reference MT19937 (init_genrand(5489), the
 * C++ std::mt19937 default): a shuffle of 2 elements consumes exactly one
 * draw and swaps them iff that draw is even (NumPy's random_interval(1) is
 * draw & 1), so 10,000 of them replay the low bits of the first outputs
 * (3499211612, 581869302, 3890346734, 3586334585, 545404204) and of the
 * 10,000th (4123659995). Its identity with NumPy's RandomState.shuffle, draw
 * for draw, is tests/python/test_parity.py's. */
static void test_shuffle_mt19937(void)
{
    static uint32_t key[BP_MT19937_WORDS];
    key[0] = 5489;
    for (uint32_t i = 1; i < BP_MT19937_WORDS; i++)
        key[i] = 1812433253u * (key[i - 1] ^ (key[i - 1] >> 30)) + i;
    int pos = BP_MT19937_WORDS; /* numpy's state after seeding: regenerate first */
    const int first_odd[5] = {0, 0, 0, 1, 0};
    for (int d = 1; d <= 10000; d++) {
        size_t two[2] = {0, 1};
        CHECK_OK(bp_shuffle_mt19937(key, &pos, two, 2));
        int swapped = two[0] == 1;
        if (d <= 5) CHECK(swapped == !first_odd[d - 1], "draw %d: swapped %d", d, swapped);
        if (d == 10000) CHECK(!swapped, "the 10,000th draw (4123659995) is odd");
    }
    enum { M = 1000 };
    size_t idx[M], seen[M] = {0};
    for (size_t i = 0; i < M; i++) idx[i] = i;
    CHECK_OK(bp_shuffle_mt19937(key, &pos, idx, M));
    int moved = 0;
    for (size_t i = 0; i < M; i++) seen[idx[i]]++, moved += idx[i] != i;
    for (size_t i = 0; i < M; i++) CHECK(seen[i] == 1, "index %zu seen %zu times", i, seen[i]);
    CHECK(moved > M / 2, "only %d of %d moved", moved, M);
    CHECK_OK(bp_shuffle_mt19937(key, &pos, NULL, 0));
    pos = BP_MT19937_WORDS + 1;
    CHECK(bp_shuffle_mt19937(key, &pos, idx, M) == BP_ERR_INVALID && strstr(bp_last_error(), "pos"),
          "bad position: %s", bp_last_error());
}

int main(void)
{
    RUN(test_step_in_velocity_momentum);
    RUN(test_adam_folded_bias_correction);
    RUN(test_half_sse_and_bce_sum_values_and_gradients);
    RUN(test_init_zeros);
    RUN(test_objective_l2_against_finite_differences);
    RUN(test_prob_clip);
    RUN(test_epoch_order);
    RUN(test_shuffle_mt19937);
    return test_summary("test_sklearn_features");
}
