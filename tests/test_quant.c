/* test_quant.c - the library's int8 quantization (src/deploy/quant.c) and C
 * exporter (src/deploy/export_c.c) through their API: the requantization rounds
 * to nearest (checked against double arithmetic), int8 predictions track
 * the float model on data like the calibration set (with and without the
 * normalization folded into layer 1), predict allocates nothing, and every
 * bad argument is a status with a message. tests/test_export_c.py and
 * tests/test_export_qemu.py test the generated code. */
#include "test.h"
#include "quant.h"

#include <stdint.h>
#include <unistd.h>

#include "count_allocs.h"

static bp_model *make_model(int n, const int *sizes, const bp_activation *acts, bp_loss loss, uint64_t seed)
{
    bp_model_config c = bp_model_config_default();
    c.n_layers = n;
    for (int l = 0; l <= n; l++) c.sizes[l] = sizes[l];
    for (int l = 0; l < n; l++) c.act[l] = acts[l];
    c.loss = loss, c.seed = seed;
    bp_model *m = NULL;
    CHECK_OK(bp_model_create(&m, &c));
    /* nonzero biases, so that the folded zero points matter */
    bp_rng r;
    bp_rng_seed(&r, seed + 1);
    for (int l = 0; m && l < n; l++)
        for (int j = 0; j < sizes[l + 1]; j++) bp_model_bias(m, l)[j] = (bp_real)(0.2 * bp_rng_normal(&r));
    return m;
}

/* acc m 2^-shift + zp, clamped: the nearest integer (half up) to the exact product. */
static void test_requant_rounds_to_nearest(void)
{
    bp_rng r;
    bp_rng_seed(&r, 7);
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        int32_t acc = (int32_t)(bp_rng_below(&r, 1u << 24)) - (1 << 23);
        int32_t mult = (int32_t)((1u << 30) + bp_rng_below(&r, 1u << 30));
        int32_t shift = 31 + (int32_t)bp_rng_below(&r, 20); /* M = m 2^-shift in [2^-21, 1) */
        double exact = (double)acc * ldexp((double)mult, -shift); /* exact: 55 significant bits at most */
        int q = bp__requant(acc, mult, shift, 0, INT32_MIN, INT32_MAX);
        bad += !(fabs(q - exact) <= 0.5) || (fabs(q - exact) == 0.5 && q < exact);
        int c = bp__requant(acc, mult, shift, 3, -128, 127);
        double want = floor(exact + 0.5) + 3;
        bad += c != (want < -128 ? -128 : want > 127 ? 127 : (int)want);
    }
    CHECK(bad == 0, "%d requantizations are not the nearest integer (half up)", bad);
}

/* n samples of `in` features: normal(0, 2); pixels 1: integers 0..255;
 * pixels 2: integers 1000..1200 (folded too, with an offset). */
static bp_real *data(size_t n, int in, int pixels, uint64_t seed)
{
    bp_rng r;
    bp_rng_seed(&r, seed);
    bp_real *x = malloc(n * (size_t)in * sizeof *x);
    for (size_t i = 0; i < n * (size_t)in; i++)
        x[i] = pixels == 2 ? (bp_real)(1000 + bp_rng_below(&r, 201))
             : pixels ? (bp_real)bp_rng_below(&r, 256) : (bp_real)(2 * bp_rng_normal(&r));
    return x;
}

/* The int8 model's outputs against the float model's on fresh data drawn like
 * the calibration set; returns the largest difference. */
static double int8_vs_float(bp_model *m, int pixels, int norm)
{
    enum { n_cal = 500, n = 200 };
    int in = bp_model_inputs(m), k = bp_model_outputs(m);
    bp_real *cal = data(n_cal, in, pixels, 1), *x = data(n, in, pixels, 2);
    if (norm) { /* min-max of pixels, or a standardization */
        bp_real *shift = malloc(in * sizeof *shift), *scale = malloc(in * sizeof *scale);
        for (int j = 0; j < in; j++)
            shift[j] = pixels == 2 ? 1000 : pixels ? 0 : (bp_real)(0.1 * j),
            scale[j] = pixels ? (bp_real)(1.0 / (200 + j)) : (bp_real)0.5;
        CHECK_OK(bp_model_set_normalization(m, shift, scale));
        free(shift), free(scale);
    }
    bp_qmodel *q = NULL;
    CHECK_OK(bp_qmodel_create(&q, m, cal, n_cal));
    bp_real *pq = malloc(n * (size_t)k * sizeof *pq), *pf = malloc(n * (size_t)k * sizeof *pf);
    double worst = HUGE_VAL;
    if (q) {
        CHECK(q->folded == (pixels && norm), "folded %d with pixels %d, normalization %d", q->folded, pixels, norm);
        if (q->folded) {
            double s;
            int zp;
            bp_qmodel_input_quant(q, &s, &zp);
            CHECK(s == 1 && zp == (pixels == 2 ? -1128 : -128), "folded input scale %g, zero point %d", s, zp);
        }
        bp_qmodel_predict(q, x, n, pq);
        bp_model_normalize(m, x, n);
        CHECK_OK(bp_model_predict(m, x, n, 0, pf));
        worst = 0;
        for (size_t i = 0; i < n * (size_t)k; i++) worst = fmax(worst, fabs((double)pq[i] - pf[i]));
    }
    bp_qmodel_free(q);
    free(cal), free(x), free(pq), free(pf);
    return worst;
}

static void test_int8_tracks_float(void)
{
    const int s1[] = {12, 24, 16, 5};
    const bp_activation a1[] = {BP_ACT_RELU, BP_ACT_TANH, BP_ACT_SOFTMAX};
    const bp_activation a2[] = {BP_ACT_LEAKY_RELU, BP_ACT_SIGMOID, BP_ACT_SIGMOID};
    struct { const bp_activation *acts; bp_loss loss; int pixels, norm; } cases[] = {
        {a1, BP_LOSS_XENT, 0, 0}, {a1, BP_LOSS_XENT, 0, 1}, {a1, BP_LOSS_XENT, 1, 1},
        {a2, BP_LOSS_BCE, 0, 1}, {a2, BP_LOSS_BCE, 1, 1}, {a2, BP_LOSS_BCE, 0, 0},
        {a1, BP_LOSS_XENT, 2, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        bp_model *m = make_model(3, s1, cases[c].acts, cases[c].loss, 10 + c);
        if (!m) continue;
        double worst = int8_vs_float(m, cases[c].pixels, cases[c].norm);
        /* probabilities: a few output steps of 1/256 and the hidden layers' rounding */
        CHECK(worst < 0.03, "case %zu: int8 and float probabilities differ by %g", c, worst);
        if (getenv("BP_TEST_VERBOSE")) printf("  case %zu: largest difference %g\n", c, worst);
        bp_model_free(m);
    }
}

static void test_predict_allocates_nothing(void)
{
    const int sizes[] = {6, 8, 3};
    const bp_activation acts[] = {BP_ACT_SIGMOID, BP_ACT_SOFTMAX};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_XENT, 3);
    bp_real *x = data(50, 6, 0, 4), out[50 * 3];
    int8_t xq[50 * 6], yq[50 * 3];
    bp_qmodel *q = NULL;
    CHECK_OK(bp_qmodel_create(&q, m, x, 50));
    if (!q) return;
    long before = n_allocs;
    bp_qmodel_quantize(q, x, 50, xq);
    bp_qmodel_predict_int8(q, xq, 50, yq);
    bp_qmodel_predict(q, x, 50, out);
    CHECK(n_allocs == before, "%ld allocations in predict", n_allocs - before);
#ifndef COUNTING_ALLOCS
    (void)before;
#endif
    bp_qmodel_free(q);
    bp_model_free(m);
    free(x);
}

static void test_bad_arguments(void)
{
    const int sizes[] = {4, 5, 5, 2};
    const bp_activation hidden_softmax[] = {BP_ACT_SOFTMAX, BP_ACT_RELU, BP_ACT_IDENTITY};
    const bp_activation fine[] = {BP_ACT_RELU, BP_ACT_RELU, BP_ACT_IDENTITY};
    bp_real *x = data(10, 4, 0, 5);
    bp_qmodel *q = (bp_qmodel *)1;
    bp_model *m = make_model(3, sizes, fine, BP_LOSS_MSE, 1);
    CHECK(bp_qmodel_create(&q, m, x, 0) == BP_ERR_INVALID && !q && strstr(bp_last_error(), "empty"),
          "empty calibration set: %s", bp_last_error());
    x[7] = NAN;
    CHECK(bp_qmodel_create(&q, m, x, 10) == BP_ERR_INVALID && !q && strstr(bp_last_error(), "not finite"),
          "NaN in calibration: %s", bp_last_error());
    x[7] = 1;
    bp_model *hs = make_model(3, sizes, hidden_softmax, BP_LOSS_MSE, 1);
    CHECK(bp_qmodel_create(&q, hs, x, 10) == BP_ERR_INVALID && strstr(bp_last_error(), "softmax"),
          "hidden softmax: %s", bp_last_error());
    CHECK(bp_model_export_c(m, NULL, "/tmp/x.c", "9lives", NULL) == BP_ERR_INVALID &&
          strstr(bp_last_error(), "identifier"), "bad name: %s", bp_last_error());
    CHECK(bp_model_export_c(m, NULL, "/tmp/x.h", "ok", NULL) == BP_ERR_INVALID &&
          strstr(bp_last_error(), ".c"), "bad path: %s", bp_last_error());
    CHECK(bp_model_export_c(m, NULL, "/nonexistent-dir/x.c", "ok", NULL) == BP_ERR_IO &&
          strstr(bp_last_error(), "/nonexistent-dir/x"), "unwritable: %s", bp_last_error());
    const int other[] = {4, 6, 5, 2};
    bp_model *m2 = make_model(3, other, fine, BP_LOSS_MSE, 1);
    CHECK_OK(bp_qmodel_create(&q, m2, x, 10));
    CHECK(bp_model_export_c(m, q, "/tmp/x.c", "ok", NULL) == BP_ERR_INVALID,
          "a quantized model of another architecture accepted");
    bp_qmodel_free(q);
    bp_qmodel_free(NULL);
    bp_model_free(m), bp_model_free(m2), bp_model_free(hs);
    free(x);
}

/* Huge calibration values (a sentinel such as 1e30, or 3e38 near float32's
 * largest) are refused, naming the calibration data and the range: they used
 * to quantize into a model that predicts one class (1e30), or into infinite
 * scales whose outputs were NaN (3e38). */
static void test_huge_calibration_refused(void)
{
    const int sizes[] = {4, 5, 3};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_SOFTMAX};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_XENT, 3);
    bp_real *x = data(20, 4, 0, 7);
    const double huge[] = {1e30, 3e38, -3e38};
    for (int i = 0; i < 3; i++) {
        for (int s = 0; s < 2; s++) {  /* one value, then a whole sample */
            for (int k = 0; k < (s ? 4 : 1); k++) x[5 * 4 + k] = (bp_real)huge[i];
            bp_qmodel *q = (bp_qmodel *)1;
            bp_status st = bp_qmodel_create(&q, m, x, 20);
            CHECK(st == BP_ERR_INVALID && !q, "%g calibration: %s (%s)", huge[i], bp_status_name(st),
                  bp_last_error());
            CHECK(strstr(bp_last_error(), "calibration data") && strstr(bp_last_error(), "normalized inputs"),
                  "%s", bp_last_error());
            if (st == BP_OK) bp_qmodel_free(q);
        }
        for (int k = 0; k < 4; k++) x[5 * 4 + k] = 1;
    }
    /* inputs in range, a layer driven beyond it: named by its layer */
    for (int k = 0; k < 4 * 5; k++) bp_model_weight(m, 0)[k] *= (bp_real)1e4;
    for (int k = 0; k < 4; k++) x[5 * 4 + k] = (bp_real)1e17;
    bp_qmodel *q = NULL;
    CHECK(bp_qmodel_create(&q, m, x, 20) == BP_ERR_INVALID && !q &&
          strstr(bp_last_error(), "calibration data drive layer 0's pre-activation"), "%s", bp_last_error());
    bp_qmodel_free(q);
    for (int k = 0; k < 4; k++) x[5 * 4 + k] = (bp_real)1e6; /* large but ordinary: accepted */
    CHECK_OK(bp_qmodel_create(&q, m, x, 20));
    bp_qmodel_free(q);
    bp_model_free(m);
    free(x);
}

/* Writing leaves no temporary file, and the same inputs give the same bytes. */
static void test_export_writes_atomically(void)
{
    const int sizes[] = {3, 4, 2};
    const bp_activation acts[] = {BP_ACT_TANH, BP_ACT_SOFTMAX};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_XENT, 9);
    char dir[] = "/tmp/bp_quant_XXXXXX", path[64], cmd[128];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/net.c", dir);
    bp_export_info info = bp_export_info_default();
    info.accuracy = 0.5;
    CHECK_OK(bp_model_export_c(m, NULL, path, "net", &info));
    CHECK_OK(bp_model_export_c(m, NULL, path, "net", &info));
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 2", dir);
    CHECK(system(cmd) == 0, "files other than net.c and net.h in %s", dir);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "rm");
    bp_model_free(m);
}

int main(void)
{
    bp_set_threads(1);
    RUN(test_requant_rounds_to_nearest);
    RUN(test_int8_tracks_float);
    RUN(test_predict_allocates_nothing);
    RUN(test_bad_arguments);
    RUN(test_huge_calibration_refused);
    RUN(test_export_writes_atomically);
    return test_summary("test_quant");
}
