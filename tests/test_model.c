/* The model: configuration errors, parameter layout, forward against a
 * per-sample loop written from the notes' equations, losses at extreme
 * logits, normalization, labels, predict/evaluate. */
#include "util.h"

#include "internal.h"

#include <math.h>

static double sigmoid_d(double z) { return 1 / (1 + exp(-z)); }

static void test_config_errors_name_the_field(void)
{
    bp_model_config c = bp_model_config_default();
    bp_model *m = (bp_model *)1;
    CHECK(bp_model_create(&m, &c) == BP_ERR_INVALID && m == NULL, "no layers accepted");
    CHECK(strstr(bp_last_error(), "n_layers") != NULL, "%s", bp_last_error());
    c.n_layers = 2, c.sizes[0] = 3, c.sizes[1] = 0, c.sizes[2] = 2;
    CHECK(bp_model_create(&m, &c) == BP_ERR_INVALID, "zero width accepted");
    CHECK(strstr(bp_last_error(), "sizes[1]") != NULL, "%s", bp_last_error());
    c.sizes[1] = BP_MAX_WIDTH + 1; /* the header's limit is the one the library checks */
    CHECK(bp_model_create(&m, &c) == BP_ERR_INVALID, "width above BP_MAX_WIDTH accepted");
    CHECK(strstr(bp_last_error(), "must be 1..16777216") != NULL, "%s", bp_last_error());
    c.sizes[1] = 4, c.init = BP_INIT_COUNT_;
    CHECK(bp_model_create(&m, &c) == BP_ERR_INVALID, "init = BP_INIT_COUNT_ accepted");
    c.init = BP_INIT_AUTO;
    c.sizes[1] = 4, c.loss = BP_LOSS_XENT, c.act[1] = BP_ACT_SIGMOID;
    CHECK(bp_model_create(&m, &c) == BP_ERR_INVALID, "xent without softmax accepted");
    CHECK(strstr(bp_last_error(), "softmax") != NULL, "%s", bp_last_error());
    c.loss = BP_LOSS_BCE, c.act[1] = BP_ACT_SOFTMAX;
    CHECK(bp_model_create(&m, &c) == BP_ERR_INVALID, "bce without sigmoid accepted");
    c.loss = BP_LOSS_MSE, c.act[0] = BP_ACT_LEAKY_RELU, c.leaky_slope = -1;
    CHECK(bp_model_create(&m, &c) == BP_ERR_INVALID, "negative leaky slope accepted");
    CHECK(strstr(bp_last_error(), "leaky_slope") != NULL, "%s", bp_last_error());
    c.leaky_slope = 0.2f;
    CHECK_OK(bp_model_create(&m, &c));
    bp_model_free(m);
    bp_model_free(NULL);
}

static void test_flat_layout(void)
{
    const int sizes[] = {3, 5, 2};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_IDENTITY};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_MSE, 1);
    CHECK(bp_model_param_count(m) == 3 * 5 + 5 + 5 * 2 + 2, "count %zu", bp_model_param_count(m));
    bp_real *p = bp_model_params(m), *g = bp_model_grads(m);
    CHECK(bp_model_weight(m, 0) == p && bp_model_bias(m, 0) == p + 15, "layer 0 views");
    CHECK(bp_model_weight(m, 1) == p + 20 && bp_model_bias(m, 1) == p + 30, "layer 1 views");
    CHECK(bp_model_weight_grad(m, 1) == g + 20 && bp_model_bias_grad(m, 1) == g + 30, "grad views");
    CHECK(bp_model_inputs(m) == 3 && bp_model_outputs(m) == 2, "in/out");
    /* Cache-line aligned, so that threads cutting at multiples of 16 values
     * do not share lines (docs/PERFORMANCE.md, Threads 4). */
    bp_optim *o;
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    CHECK(bp_optim_create(&o, &oc, bp_model_param_count(m)) == BP_OK, "%s", bp_last_error());
    CHECK((uintptr_t)p % 64 == 0 && (uintptr_t)g % 64 == 0, "params %p, grads %p", (void *)p, (void *)g);
    for (int s = 0; s < bp_optim_state_count(o); s++)
        CHECK((uintptr_t)bp_optim_state(o, s) % 64 == 0, "optimizer state %d at %p", s,
              (void *)bp_optim_state(o, s));
    bp_optim_free(o);
    bp_model_free(m);
}

static void test_init_schemes(void)
{
    /* He: std sqrt(2 / in); Xavier: |w| <= sqrt(6 / (in + out)); biases 0. */
    const int sizes[] = {400, 300, 10};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_TANH};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_MSE, 9);
    double s2 = 0, bound = sqrt(6.0 / 310), worst = 0;
    for (int i = 0; i < 400 * 300; i++) s2 += bp_model_weight(m, 0)[i] * (double)bp_model_weight(m, 0)[i];
    for (int i = 0; i < 300 * 10; i++) worst = fmax(worst, fabs(bp_model_weight(m, 1)[i]));
    CHECK(fabs(sqrt(s2 / (400 * 300)) - sqrt(2.0 / 400)) < 0.01 * sqrt(2.0 / 400), "He std %g",
          sqrt(s2 / (400 * 300)));
    CHECK(worst <= bound && worst > 0.9 * bound, "Xavier max %g, bound %g", worst, bound);
    CHECK(bp_model_bias(m, 0)[0] == 0 && bp_model_bias(m, 1)[9] == 0, "biases not zero");
    bp_model *m2 = make_model(2, sizes, acts, BP_LOSS_MSE, 9);
    CHECK(memcmp(bp_model_params(m), bp_model_params(m2), bp_model_param_count(m) * sizeof(bp_real)) == 0,
          "same seed, different parameters");
    bp_model_init_params(m2, 10);
    CHECK(bp_model_params(m)[0] != bp_model_params(m2)[0], "reseeding did nothing");
    bp_model_free(m), bp_model_free(m2);
}

/* g(z) of a hidden layer in double, for the equations below (slope 0.01,
 * the default). */
static double hidden_act(bp_activation act, double z)
{
    switch (act) {
    case BP_ACT_TANH: return tanh(z);
    case BP_ACT_RELU: return z < 0 ? 0 : z;
    case BP_ACT_LEAKY_RELU: return z > 0 ? z : (double)(bp_real)0.01 * z;
    default: return NAN;
    }
}

/* a = σ(W2 g(W1 x + b1) + b2) per sample, as the notes write it. */
static void forward_matches_per_sample_equations(bp_activation hidden)
{
    const int sizes[] = {4, 3, 2};
    const bp_activation acts[] = {hidden, BP_ACT_SIGMOID};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_BCE, 2);
    for (int j = 0; j < 3; j++) bp_model_bias(m, 0)[j] = (bp_real)(0.1 * j - 0.1);
    for (int j = 0; j < 2; j++) bp_model_bias(m, 1)[j] = (bp_real)(-0.2 * j);
    bp_real x[6 * 4], y[6 * 2];
    random_data(x, y, 6, 4, 2, BP_LOSS_BCE, 3);
    const bp_real *out;
    CHECK_OK(bp_model_forward(m, x, 6, &out));
    const bp_real *W1 = bp_model_weight(m, 0), *b1 = bp_model_bias(m, 0);
    const bp_real *W2 = bp_model_weight(m, 1), *b2 = bp_model_bias(m, 1);
    double loss = 0;
    for (int s = 0; s < 6; s++) {
        double h[3];
        for (int j = 0; j < 3; j++) {
            double z = b1[j];
            for (int i = 0; i < 4; i++) z += W1[j * 4 + i] * (double)x[s * 4 + i];
            h[j] = hidden_act(hidden, z);
        }
        for (int k = 0; k < 2; k++) {
            double z = b2[k];
            for (int j = 0; j < 3; j++) z += W2[k * 3 + j] * h[j];
            double a = sigmoid_d(z), t = y[s * 2 + k];
            CHECK_CLOSE(out[s * 2 + k], a, TEST_DOUBLE ? 1e-14 : 1e-6);
            loss += -(t * log(a) + (1 - t) * log(1 - a));
        }
    }
    bp_real l;
    CHECK_OK(bp_model_loss(m, y, 6, &l));
    CHECK_CLOSE(l, loss / 12, TEST_DOUBLE ? 1e-13 : 1e-6);
    bp_model_free(m);
}

/* tanh takes the bias and g in two passes, relu and leaky relu in one
 * (bp__bias_activate): each against the equations. */
static void test_forward_matches_per_sample_equations(void)
{
    forward_matches_per_sample_equations(BP_ACT_TANH);
    forward_matches_per_sample_equations(BP_ACT_RELU);
    forward_matches_per_sample_equations(BP_ACT_LEAKY_RELU);
}

/* On 2 threads a training batch no wider than a layer is split by output
 * units (blocks of columns, rows `out` apart, the logits kept for the loss)
 * and a softmax layer by rows: outputs, loss and gradients agree with one
 * thread's (relu, tanh and leaky relu hidden layers: the bias's fused pass
 * on blocks of columns too). */
static void test_two_threads_agree_with_one(void)
{
    enum { B = 40, IN = 200, H = 300 };
    const int sizes[][3] = {{IN, H, 200}, {IN, H, H}, {IN, H, 200}};
    const bp_activation acts[][2] = {{BP_ACT_RELU, BP_ACT_SIGMOID}, {BP_ACT_TANH, BP_ACT_SOFTMAX},
                                     {BP_ACT_LEAKY_RELU, BP_ACT_SIGMOID}};
    const bp_loss losses[] = {BP_LOSS_BCE, BP_LOSS_XENT, BP_LOSS_BCE};
    for (int c = 0; c < 3; c++) {
        int out = sizes[c][2];
        bp_real *x = malloc(sizeof *x * B * IN), *y = malloc(sizeof *y * B * out);
        random_data(x, y, B, IN, out, losses[c], 5);
        bp_model *m[2];
        bp_real *a[2], l[2];
        for (int t = 0; t < 2; t++) {
            m[t] = make_model(2, sizes[c], acts[c], losses[c], 7);
            for (int k = 0; k < 2; k++) /* nonzero, so that a misplaced bias shows */
                for (int j = 0; j < sizes[c][k + 1]; j++)
                    bp_model_bias(m[t], k)[j] = (bp_real)(0.01 * (j % 17) - 0.08);
            const bp_real *o;
            bp_set_threads(t + 1);
            CHECK_OK(bp_model_forward(m[t], x, B, &o));
            a[t] = malloc(sizeof *a[t] * B * out);
            memcpy(a[t], o, sizeof *a[t] * B * out);
            CHECK_OK(bp_model_loss(m[t], y, B, &l[t]));
            CHECK_OK(bp_model_backward(m[t], y, B));
        }
        bp_set_threads(1);
        double tol = TEST_DOUBLE ? 1e-12 : 1e-5;
        for (int i = 0; i < B * out; i++) CHECK_CLOSE(a[1][i], a[0][i], tol);
        CHECK_CLOSE(l[1], l[0], tol);
        const bp_real *g0 = bp_model_grads(m[0]), *g1 = bp_model_grads(m[1]);
        for (size_t i = 0; i < bp_model_param_count(m[0]); i++) CHECK_CLOSE(g1[i], g0[i], tol);
        for (int t = 0; t < 2; t++) bp_model_free(m[t]), free(a[t]);
        free(x), free(y);
    }
}

/* Logits of ±1e4: cross-entropies stay finite and exact. */
static void test_losses_at_extreme_logits(void)
{
    const int sizes[] = {1, 3};
    const bp_activation sm[] = {BP_ACT_SOFTMAX};
    bp_model *m = make_model(1, sizes, sm, BP_LOSS_XENT, 1);
    bp_real x = 1, *w = bp_model_weight(m, 0);
    w[0] = (bp_real)1e4, w[1] = 0, w[2] = (bp_real)-1e4;
    const bp_real y0[3] = {1, 0, 0}, y2[3] = {0, 0, 1};
    bp_real l;
    CHECK_OK(bp_model_forward(m, &x, 1, NULL));
    CHECK_OK(bp_model_loss(m, y0, 1, &l));
    CHECK(l >= 0 && l < 1e-30, "xent right class %g", (double)l);
    CHECK_OK(bp_model_loss(m, y2, 1, &l));
    CHECK_CLOSE(l, 2e4, 1e-7);
    CHECK_OK(bp_model_backward(m, y2, 1));
    CHECK_CLOSE(bp_model_weight_grad(m, 0)[0], 1, 1e-7);
    CHECK_CLOSE(bp_model_weight_grad(m, 0)[2], -1, 1e-7);
    bp_model_free(m);

    const int s1[] = {1, 1};
    const bp_activation sg[] = {BP_ACT_SIGMOID};
    m = make_model(1, s1, sg, BP_LOSS_BCE, 1);
    bp_model_weight(m, 0)[0] = (bp_real)1e4;
    const bp_real one = 1, zero = 0;
    CHECK_OK(bp_model_forward(m, &x, 1, NULL));
    CHECK_OK(bp_model_loss(m, &one, 1, &l));
    CHECK(l >= 0 && l < 1e-30, "bce right %g", (double)l);
    CHECK_OK(bp_model_loss(m, &zero, 1, &l));
    CHECK_CLOSE(l, 1e4, 1e-7);
    bp_model_weight(m, 0)[0] = (bp_real)-1e4;
    CHECK_OK(bp_model_forward(m, &x, 1, NULL));
    CHECK_OK(bp_model_loss(m, &one, 1, &l));
    CHECK_CLOSE(l, 1e4, 1e-7);
    CHECK_OK(bp_model_backward(m, &one, 1));
    CHECK(isfinite(bp_model_weight_grad(m, 0)[0]), "bce gradient not finite");
    bp_model_free(m);
}

static void test_mse_is_torch_mean(void)
{
    const int sizes[] = {2, 2};
    const bp_activation id[] = {BP_ACT_IDENTITY};
    bp_model *m = make_model(1, sizes, id, BP_LOSS_MSE, 1);
    bp_real *w = bp_model_weight(m, 0);
    w[0] = 1, w[1] = 0, w[2] = 0, w[3] = 1; /* identity map */
    const bp_real x[4] = {1, 2, 3, 4}, y[4] = {1, 0, 3, 2};
    bp_real l;
    CHECK_OK(bp_model_forward(m, x, 2, NULL));
    CHECK_OK(bp_model_loss(m, y, 2, &l));
    CHECK_CLOSE(l, (0 + 4 + 0 + 4) / 4.0, 1e-7); /* mean over samples and outputs */
    bp_model_free(m);
}

static void test_backward_needs_matching_forward(void)
{
    const int sizes[] = {2, 1};
    const bp_activation id[] = {BP_ACT_IDENTITY};
    bp_model *m = make_model(1, sizes, id, BP_LOSS_MSE, 1);
    bp_real y[3] = {0};
    CHECK(bp_model_backward(m, y, 1) == BP_ERR_INVALID, "backward without forward accepted");
    const bp_real x[4] = {0};
    CHECK_OK(bp_model_forward(m, x, 2, NULL));
    CHECK(bp_model_backward(m, y, 3) == BP_ERR_INVALID, "batch mismatch accepted");
    CHECK(strstr(bp_last_error(), "batch") != NULL, "%s", bp_last_error());
    bp_model_free(m);
}

static void test_normalization_and_labels(void)
{
    const int sizes[] = {2, 2};
    const bp_activation sm[] = {BP_ACT_SOFTMAX};
    bp_model *m = make_model(1, sizes, sm, BP_LOSS_XENT, 1);
    CHECK(bp_model_norm_shift(m) == NULL, "normalization before set");
    const bp_real shift[2] = {1, -2}, scale[2] = {0.5, 2};
    CHECK_OK(bp_model_set_normalization(m, shift, scale));
    bp_real x[4] = {3, 0, 1, -2};
    bp_model_normalize(m, x, 2);
    CHECK(x[0] == 1 && x[1] == 4 && x[2] == 0 && x[3] == 0, "normalized %g %g %g %g", x[0], x[1], x[2], x[3]);
    const bp_real bad[2] = {NAN, 1};
    CHECK(bp_model_set_normalization(m, bad, scale) == BP_ERR_INVALID, "NaN shift accepted");
    const char *names[] = {"cat", "dog"};
    CHECK_OK(bp_model_set_labels(m, 2, names));
    CHECK(bp_model_label_count(m) == 2 && strcmp(bp_model_label(m, 1), "dog") == 0, "labels");
    CHECK(bp_model_label(m, 2) == NULL, "label out of range");
    const char *three[] = {"a", "b", "c"};
    CHECK(bp_model_set_labels(m, 3, three) == BP_ERR_INVALID && bp_model_label_count(m) == 2,
          "3 labels on 2 outputs: %s", bp_last_error());
    CHECK(bp_model_set_labels(m, 1, three) == BP_ERR_INVALID, "1 label on 2 outputs");
    const int one[] = {2, 1};
    const bp_activation sig[] = {BP_ACT_SIGMOID};
    bp_model *b = make_model(1, one, sig, BP_LOSS_BCE, 1);
    CHECK_OK(bp_model_set_labels(b, 2, names)); /* a binary classifier's two classes */
    bp_model_free(b);
    CHECK_OK(bp_model_set_normalization(m, NULL, NULL));
    CHECK(bp_model_norm_scale(m) == NULL, "normalization not cleared");
    bp_model_free(m);
}

static void test_predict_and_evaluate_in_chunks(void)
{
    const int sizes[] = {3, 8, 4};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_SOFTMAX};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_XENT, 4);
    enum { n = 37 };
    bp_real x[n * 3], y[n * 4], out1[n * 4], out2[n * 4];
    random_data(x, y, n, 3, 4, BP_LOSS_XENT, 5);
    CHECK_OK(bp_model_predict(m, x, n, 5, out1));   /* 8 chunks, the last of 2 */
    CHECK_OK(bp_model_predict(m, x, n, 1000, out2)); /* one chunk */
    for (int i = 0; i < n * 4; i++) CHECK_CLOSE(out1[i], out2[i], TEST_DOUBLE ? 1e-14 : 1e-6);
    double loss, acc, loss_full;
    CHECK_OK(bp_model_evaluate(m, x, y, n, 5, &loss, &acc));
    CHECK_OK(bp_model_evaluate(m, x, y, n, n, &loss_full, NULL));
    CHECK_CLOSE(loss, loss_full, 1e-6);
    int correct = 0;
    for (int i = 0; i < n; i++) {
        int best = 0, truth = 0;
        for (int j = 1; j < 4; j++) {
            if (out2[i * 4 + j] > out2[i * 4 + best]) best = j;
            if (y[i * 4 + j] > y[i * 4 + truth]) truth = j;
        }
        correct += best == truth;
    }
    CHECK_CLOSE(acc, correct / (double)n, 1e-12);
    bp_model_free(m);
}

/* A NaN input reaches the outputs of its own row, as in torch (torch.relu(nan)
 * is nan), instead of being clipped to 0 by relu and predicted as if valid;
 * the other rows of the batch are untouched. */
static void test_nan_input_propagates(void)
{
    const bp_activation hidden[] = {BP_ACT_RELU, BP_ACT_LEAKY_RELU, BP_ACT_TANH, BP_ACT_SIGMOID};
    for (int h = 0; h < 4; h++) {
        const int sizes[] = {3, 8, 8, 2};
        const bp_activation acts[] = {hidden[h], BP_ACT_RELU, BP_ACT_SOFTMAX};
        bp_model *m = make_model(3, sizes, acts, BP_LOSS_XENT, 6);
        bp_real x[2 * 3] = {0.5, (bp_real)NAN, -0.25, 0.5, 0.75, -0.25}, out[2 * 2];
        CHECK_OK(bp_model_predict(m, x, 2, 2, out));
        CHECK(isnan(out[0]) && isnan(out[1]), "%s: NaN input gave %g %g",
              bp_activation_name(hidden[h]), (double)out[0], (double)out[1]);
        CHECK(isfinite(out[2]) && isfinite(out[3]), "%s: the NaN leaked into another row",
              bp_activation_name(hidden[h]));
        bp_model_free(m);
    }
}

static void test_names_round_trip(void)
{
    for (int a = 0; a < BP_ACT_COUNT_; a++) {
        bp_activation back;
        CHECK_OK(bp_activation_from_name(bp_activation_name((bp_activation)a), &back));
        CHECK(back == (bp_activation)a, "activation %d", a);
    }
    for (int l = 0; l < BP_LOSS_COUNT_; l++) {
        bp_loss back;
        CHECK_OK(bp_loss_from_name(bp_loss_name((bp_loss)l), &back));
        CHECK(back == (bp_loss)l, "loss %d", l);
    }
    for (int k = 0; k < BP_INIT_COUNT_; k++) {
        bp_init back;
        CHECK_OK(bp_init_from_name(bp_init_name((bp_init)k), &back));
        CHECK(back == (bp_init)k, "init %d", k);
    }
    CHECK(strcmp(bp_init_name(BP_INIT_COUNT_), "unknown") == 0, "init past the count");
    for (int k = 0; k < BP_OPTIM_COUNT_; k++) {
        bp_optim_kind back;
        CHECK_OK(bp_optim_from_name(bp_optim_name((bp_optim_kind)k), &back));
        CHECK(back == (bp_optim_kind)k, "optimizer %d", k);
    }
    bp_activation a;
    CHECK(bp_activation_from_name("gelu", &a) == BP_ERR_INVALID, "gelu accepted");
    CHECK(strstr(bp_last_error(), "gelu") != NULL, "%s", bp_last_error());
    bp_init i;
    CHECK_OK(bp_init_from_name("he", &i));
    CHECK(i == BP_INIT_HE, "init name");
}

/* A bias's gradient, bp__column_sums: each column's rows added in order,
 * row 0 first, bit for bit as a plain loop, at widths around its blocks of
 * 16 and 64 lanes, on a block of columns of a wider matrix (rows ld apart,
 * as each thread's units are); nothing past the columns is written. Values
 * of 1e8 and 1 make any other order of the additions show. */
static void test_column_sums_in_row_order(void)
{
    enum { ROWS = 203, LD = 150, GUARD = 4 };
    static const int widths[] = {1, 3, 10, 15, 16, 17, 31, 48, 63, 64, 65, 100, 128, 129, 140};
    static const int row_counts[] = {1, 2, 7, 32, 203};
    bp_real *x = malloc(sizeof *x * ROWS * LD);
    for (int i = 0; i < ROWS * LD; i++)
        x[i] = (bp_real)(i % 7 == 0 ? 1e8 : i % 7 == 3 ? -1e8 : (i % 5) * 0.25 + 1);
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++)
        for (size_t r = 0; r < sizeof row_counts / sizeof *row_counts; r++) {
            int cols = widths[w], rows = row_counts[r], off = LD - cols < 5 ? LD - cols : 5;
            bp_real got[150 + GUARD], want[150];
            for (int j = 0; j < cols + GUARD; j++) got[j] = -7;
            bp__column_sums(got, x + off, rows, cols, LD);
            int wrong = 0;
            for (int j = 0; j < cols; j++) {
                bp_real s = x[off + j];
                for (int i = 1; i < rows; i++) s += x[(size_t)i * LD + off + j];
                want[j] = s;
                wrong += memcmp(&got[j], &want[j], sizeof s) != 0;
            }
            for (int j = cols; j < cols + GUARD; j++) wrong += got[j] != -7;
            CHECK(wrong == 0, "column sums of %d rows x %d columns: %d values wrong or written past",
                  rows, cols, wrong);
        }
    free(x);
}

/* A softmax layer in the lanes (AMD's path; the hook bp__lanes_by_value 2
 * takes it on any AVX-512 core) gives a model the outputs, loss and gradients
 * of the tiles followed by softmax's own pass (the hook's 1), bit for bit:
 * digits' 64-100-10 at a batch of 200, a 16-output layer on 37 rows, 1 and 2
 * threads. (Without AVX-512 both take the tiles.) */
static void test_softmax_layer_in_lanes_same_bits(void)
{
    const int shapes[][3] = {{64, 100, 10}, {30, 40, 16}}, batches[] = {200, 37};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_SOFTMAX};
    for (int s = 0; s < 2; s++)
        for (int threads = 1; threads <= 2; threads++) {
            int b = batches[s], in = shapes[s][0], out = shapes[s][2];
            bp_real *x = malloc(sizeof *x * b * in), *y = malloc(sizeof *y * b * out);
            random_data(x, y, b, in, out, BP_LOSS_XENT, 9);
            bp_model *m[2];
            bp_real *a[2], l[2];
            bp_set_threads(threads);
            for (int v = 0; v < 2; v++) {
                bp__lanes_by_value = v ? 2 : 1;
                m[v] = make_model(2, shapes[s], acts, BP_LOSS_XENT, 3);
                for (int k = 0; k < 2; k++) /* nonzero, so that a misplaced bias shows */
                    for (int j = 0; j < shapes[s][k + 1]; j++)
                        bp_model_bias(m[v], k)[j] = (bp_real)(0.01 * (j % 17) - 0.08);
                const bp_real *o;
                CHECK_OK(bp_model_forward(m[v], x, b, &o));
                a[v] = malloc(sizeof *a[v] * b * out);
                memcpy(a[v], o, sizeof *a[v] * b * out);
                CHECK_OK(bp_model_loss(m[v], y, b, &l[v]));
                CHECK_OK(bp_model_backward(m[v], y, b));
            }
            bp__lanes_by_value = -1;
            bp_set_threads(1);
            size_t n = bp_model_param_count(m[0]);
            CHECK(!memcmp(a[0], a[1], sizeof *a[0] * b * out) && !memcmp(&l[0], &l[1], sizeof l[0]) &&
                      !memcmp(bp_model_grads(m[0]), bp_model_grads(m[1]), sizeof(bp_real) * n),
                  "%d-%d-%d, %d rows, %d threads: outputs, loss or gradients differ", in, shapes[s][1],
                  out, b, threads);
            for (int v = 0; v < 2; v++) bp_model_free(m[v]), free(a[v]);
            free(x), free(y);
        }
}

int main(void)
{
    RUN(test_config_errors_name_the_field);
    RUN(test_flat_layout);
    RUN(test_init_schemes);
    RUN(test_forward_matches_per_sample_equations);
    RUN(test_losses_at_extreme_logits);
    RUN(test_mse_is_torch_mean);
    RUN(test_backward_needs_matching_forward);
    RUN(test_normalization_and_labels);
    RUN(test_predict_and_evaluate_in_chunks);
    RUN(test_nan_input_propagates);
    RUN(test_names_round_trip);
    RUN(test_two_threads_agree_with_one);
    RUN(test_column_sums_in_row_order);
    RUN(test_softmax_layer_in_lanes_same_bits);
    return test_summary("test_model");
}
