/* Backpropagation against central finite differences for every activation,
 * loss and depth (float64 build: relative error < 1e-6, guarded against an
 * all-zero gradient); each activation's derivative against finite differences;
 * and the notes' hand-derived gradients for a one-neuron network. */
#include "util.h"
#include "internal.h"

/* The float64 bound is the issue's: 1e-6 relative, with relative errors of
 * gradients under 1e-4 in size taken against 1e-4 (their finite differences
 * carry ~1e-11 of round-off). float32 cannot resolve differences finely (and
 * h = 1e-2 may cross a relu kink): its bound only catches gross errors. */
#define MAX_REL (TEST_DOUBLE ? 1e-6 : 1e30)
#define NORM_REL (TEST_DOUBLE ? 1e-8 : 5e-2)
#define FLOOR 1e-4

static double worst_seen;

static void gradcheck_case(int n_layers, const int *sizes, const bp_activation *acts, bp_loss loss,
                           int batch, const char *what)
{
    bp_model *m = make_model(n_layers, sizes, acts, loss, 7);
    CHECK(m != NULL, "%s: create failed", what);
    if (!m) return;
    int in = sizes[0], out = sizes[n_layers];
    bp_real *x = malloc(sizeof(bp_real) * batch * in), *y = malloc(sizeof(bp_real) * batch * out);
    random_data(x, y, batch, in, out, loss, 11);
    /* Move biases off zero so every term of the gradient is exercised, and so
     * that no relu sits exactly on its kink (a dead input row gives z = b). */
    for (int l = 0; l < n_layers; l++)
        for (int j = 0; j < sizes[l + 1]; j++) bp_model_bias(m, l)[j] = (bp_real)(0.1 * (j % 3) - 0.05);
    bp_gradcheck_result r;
    CHECK_OK(bp_gradcheck(m, x, y, batch, 0, FLOOR, &r));
    CHECK(r.grad_norm > 1e-4, "%s: gradient norm %g is trivially small", what, r.grad_norm);
    CHECK(r.max_rel_error < MAX_REL && r.norm_rel_error < NORM_REL,
          "%s: max rel %.3g at layer %d %s (analytic %.10g, numeric %.10g), norm rel %.3g", what,
          r.max_rel_error, r.worst_layer, r.worst_is_bias ? "bias" : "weight", r.worst_analytic,
          r.worst_numeric, r.norm_rel_error);
    if (TEST_DOUBLE && r.max_rel_error > worst_seen) worst_seen = r.max_rel_error;
    free(x), free(y);
    bp_model_free(m);
}

static void test_every_hidden_activation(void)
{
    const bp_activation hidden[] = {BP_ACT_IDENTITY, BP_ACT_SIGMOID, BP_ACT_TANH, BP_ACT_RELU,
                                    BP_ACT_LEAKY_RELU, BP_ACT_SOFTMAX};
    for (int i = 0; i < 6; i++) {
        const int sizes[] = {5, 7, 6, 3};
        const bp_activation acts[] = {hidden[i], hidden[i], BP_ACT_IDENTITY};
        char what[64];
        snprintf(what, sizeof what, "hidden %s, mse", bp_activation_name(hidden[i]));
        gradcheck_case(3, sizes, acts, BP_LOSS_MSE, 8, what);
    }
}

static void test_every_output_activation_with_mse(void)
{
    for (int a = 0; a < BP_ACT_COUNT_; a++) {
        const int sizes[] = {4, 6, 3};
        const bp_activation acts[] = {BP_ACT_TANH, (bp_activation)a};
        char what[64];
        snprintf(what, sizeof what, "output %s, mse", bp_activation_name((bp_activation)a));
        gradcheck_case(2, sizes, acts, BP_LOSS_MSE, 5, what);
    }
}

static void test_fused_cross_entropies(void)
{
    const int sizes[] = {6, 8, 4};
    const bp_activation sm[] = {BP_ACT_RELU, BP_ACT_SOFTMAX}, sg[] = {BP_ACT_TANH, BP_ACT_SIGMOID};
    gradcheck_case(2, sizes, sm, BP_LOSS_XENT, 9, "softmax + xent");
    gradcheck_case(2, sizes, sg, BP_LOSS_BCE, 9, "sigmoid + bce");
    const int one[] = {3, 5, 1};
    gradcheck_case(2, one, sg, BP_LOSS_BCE, 4, "sigmoid + bce, one output");
}

static void test_depths_and_batches(void)
{
    const int sizes[] = {3, 9, 2, 7, 5, 4};
    const bp_activation acts[] = {BP_ACT_LEAKY_RELU, BP_ACT_TANH, BP_ACT_SIGMOID, BP_ACT_RELU, BP_ACT_SOFTMAX};
    for (int depth = 1; depth <= 5; depth++) {
        int s[6];
        bp_activation a[5];
        for (int l = 0; l < depth; l++) s[l] = sizes[l], a[l] = acts[5 - depth + l];
        s[depth] = 4;
        a[depth - 1] = BP_ACT_SOFTMAX;
        for (int batch = 1; batch <= 13; batch += 6) {
            char what[64];
            snprintf(what, sizeof what, "depth %d, batch %d", depth, batch);
            gradcheck_case(depth, s, a, BP_LOSS_XENT, batch, what);
        }
    }
}

/* Elementwise: g'(z) from bp__activation_backward against (g(z+h) - g(z-h)) / 2h. */
static void test_activation_derivatives(void)
{
    const double h = TEST_DOUBLE ? 1e-6 : 1e-3, tol = TEST_DOUBLE ? 1e-8 : 2e-2;
    const bp_real zero_bias[4] = {0};
    for (int a = 0; a < BP_ACT_COUNT_; a++) {
        if (a == BP_ACT_SOFTMAX) continue; /* not elementwise: covered by the gradchecks */
        for (double z0 = -3.1; z0 < 3.2; z0 += 0.5) {
            bp_real zp = (bp_real)(z0 + h), zm = (bp_real)(z0 - h), z = (bp_real)z0, one = 1;
            bp__bias_activate(&zp, 1, zero_bias, 1, 1, a, (bp_real)0.1);
            bp__bias_activate(&zm, 1, zero_bias, 1, 1, a, (bp_real)0.1);
            bp__bias_activate(&z, 1, zero_bias, 1, 1, a, (bp_real)0.1);
            bp__activation_backward(&one, &z, 1, 1, a, (bp_real)0.1);
            double numeric = ((double)zp - (double)zm) / (2 * h);
            CHECK(fabs(numeric - one) < tol, "%s'(%g): backward %.10g, numeric %.10g",
                  bp_activation_name(a), z0, (double)one, numeric);
        }
    }
}

/* The notes (004): C0 = (a - y)², a = σ(w a_prev + b):
 * dC0/dw = 2 (a - y) a (1 - a) a_prev,  dC0/db = 2 (a - y) a (1 - a). */
static void test_notes_single_neuron(void)
{
    const int sizes[] = {1, 1};
    const bp_activation acts[] = {BP_ACT_SIGMOID};
    bp_model *m = make_model(1, sizes, acts, BP_LOSS_MSE, 1);
    bp_model_weight(m, 0)[0] = (bp_real)0.7;
    bp_model_bias(m, 0)[0] = (bp_real)-0.2;
    const bp_real x = (bp_real)1.5, y = (bp_real)0.25;
    const bp_real *out;
    CHECK_OK(bp_model_forward(m, &x, 1, &out));
    double a = 1 / (1 + exp(-(0.7 * 1.5 - 0.2)));
    CHECK_CLOSE(out[0], a, TEST_DOUBLE ? 1e-15 : 1e-6);
    bp_real loss;
    CHECK_OK(bp_model_loss(m, &y, 1, &loss));
    CHECK_CLOSE(loss, (a - 0.25) * (a - 0.25), TEST_DOUBLE ? 1e-15 : 1e-6);
    CHECK_OK(bp_model_backward(m, &y, 1));
    double db = 2 * (a - 0.25) * a * (1 - a);
    CHECK_CLOSE(bp_model_bias_grad(m, 0)[0], db, TEST_DOUBLE ? 1e-14 : 1e-6);
    CHECK_CLOSE(bp_model_weight_grad(m, 0)[0], db * 1.5, TEST_DOUBLE ? 1e-14 : 1e-6);
    bp_model_free(m);
}

/* A batch's gradient is the mean of the per-sample gradients (J is the batch mean). */
static void test_batch_gradient_is_mean_of_samples(void)
{
    const int sizes[] = {3, 4, 2};
    const bp_activation acts[] = {BP_ACT_TANH, BP_ACT_SIGMOID};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_BCE, 3);
    bp_real x[5 * 3], y[5 * 2];
    random_data(x, y, 5, 3, 2, BP_LOSS_BCE, 4);
    size_t n = bp_model_param_count(m);
    double *mean = calloc(n, sizeof *mean);
    for (int i = 0; i < 5; i++) {
        CHECK_OK(bp_model_forward(m, x + 3 * i, 1, NULL));
        CHECK_OK(bp_model_backward(m, y + 2 * i, 1));
        for (size_t p = 0; p < n; p++) mean[p] += bp_model_grads(m)[p] / 5.0;
    }
    CHECK_OK(bp_model_forward(m, x, 5, NULL));
    CHECK_OK(bp_model_backward(m, y, 5));
    for (size_t p = 0; p < n; p++)
        CHECK_CLOSE(bp_model_grads(m)[p], mean[p], TEST_DOUBLE ? 1e-13 : 1e-5);
    free(mean);
    bp_model_free(m);
}

/* The check leaves the parameters bit-identical and locates its worst entry. */
static void test_gradcheck_restores_and_locates(void)
{
    const int sizes[] = {2, 3, 2};
    const bp_activation acts[] = {BP_ACT_TANH, BP_ACT_IDENTITY};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_MSE, 5);
    bp_real x[4 * 2], y[4 * 2];
    random_data(x, y, 4, 2, 2, BP_LOSS_MSE, 6);
    size_t n = bp_model_param_count(m);
    bp_real *before = malloc(n * sizeof *before);
    memcpy(before, bp_model_params(m), n * sizeof *before);
    bp_gradcheck_result r;
    CHECK_OK(bp_gradcheck(m, x, y, 4, 0, FLOOR, &r));
    CHECK(memcmp(before, bp_model_params(m), n * sizeof *before) == 0, "parameters changed");
    /* layer 0: W 3x2 at 0..5, b at 6..8; layer 1: W 2x3 at 9..14, b at 15..16 */
    int layer = r.worst_index < 9 ? 0 : 1;
    int bias = r.worst_index < 9 ? r.worst_index >= 6 : r.worst_index >= 15;
    CHECK(r.worst_layer == layer && r.worst_is_bias == bias, "index %zu -> layer %d bias %d",
          r.worst_index, r.worst_layer, r.worst_is_bias);
    CHECK_CLOSE(r.worst_analytic, bp_model_grads(m)[r.worst_index], 1e-12);
    free(before);
    bp_model_free(m);
}

int main(void)
{
    RUN(test_every_hidden_activation);
    RUN(test_every_output_activation_with_mse);
    RUN(test_fused_cross_entropies);
    RUN(test_depths_and_batches);
    RUN(test_activation_derivatives);
    RUN(test_notes_single_neuron);
    RUN(test_batch_gradient_is_mean_of_samples);
    RUN(test_gradcheck_restores_and_locates);
    printf("largest gradient-check relative error: %.3g\n", worst_seen);
    return test_summary("test_gradcheck");
}
