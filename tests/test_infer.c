/* Inference: the small-batch path (src/base/gemv.c) against the GEMM path and
 * against a forward pass written here in double precision, for every
 * activation and for batch sizes around the switch-over; the same bits on 1
 * and 2 threads; a row alone against the same row in a large batch; and
 * bp_model_predict allocates nothing and starts no thread. */
#include "util.h"
#include "internal.h"

#include <math.h>

#include "count_allocs.h"

/* Float: sums of 300 terms of size about 1 in float, against double. */
#define TOL (TEST_DOUBLE ? 1e-12 : 2e-5)
#define MAXB 130

static double act_ref(double z, bp_activation a, double slope)
{
    switch (a) {
    case BP_ACT_SIGMOID: return 1 / (1 + exp(-z));
    case BP_ACT_TANH: return tanh(z);
    case BP_ACT_RELU: return z > 0 ? z : 0;
    case BP_ACT_LEAKY_RELU: return z > 0 ? z : slope * z;
    default: return z; /* identity; softmax is done per row below */
    }
}

/* The model's forward pass, in double, straight from the equations. */
static void forward_ref(bp_model *m, const bp_real *x, int n, double *out)
{
    const bp_model_config *c = bp_model_cfg(m);
    int wmax = 0;
    for (int l = 0; l <= c->n_layers; l++) wmax = c->sizes[l] > wmax ? c->sizes[l] : wmax;
    double *a = malloc(sizeof *a * wmax), *z = malloc(sizeof *z * wmax);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < c->sizes[0]; k++) a[k] = x[(size_t)i * c->sizes[0] + k];
        for (int l = 0; l < c->n_layers; l++) {
            int in = c->sizes[l], o = c->sizes[l + 1];
            const bp_real *w = bp_model_weight(m, l), *b = bp_model_bias(m, l);
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j < o; j++) {
                z[j] = b[j];
                for (int k = 0; k < in; k++) z[j] += (double)w[(size_t)j * in + k] * a[k];
                mx = z[j] > mx ? z[j] : mx;
            }
            for (int j = 0; j < o; j++)
                if (c->act[l] == BP_ACT_SOFTMAX) sum += (z[j] = exp(z[j] - mx));
            for (int j = 0; j < o; j++)
                a[j] = c->act[l] == BP_ACT_SOFTMAX ? z[j] / sum : act_ref(z[j], c->act[l], c->leaky_slope);
        }
        for (int j = 0; j < c->sizes[c->n_layers]; j++) out[(size_t)i * c->sizes[c->n_layers] + j] = a[j];
    }
    free(a), free(z);
}

/* Predictions with the small-batch path (as shipped) and with the GEMM alone. */
static void both_paths(bp_model *m, const bp_real *x, int n, bp_real *fast, bp_real *gemm)
{
    CHECK_OK(bp_model_predict(m, x, (size_t)n, n, fast));
    bp__kernel_table_set((const bp__kernel_rule[]){{BP__PRODUCT_FORWARD, 0, 0, BP__KERNEL_BLAS, 0, 0}}, 1);
    CHECK_OK(bp_model_predict(m, x, (size_t)n, n, gemm));
    bp__kernel_table_set(NULL, 0);
}

/* 300 inputs (>= 256, and not a whole number of vectors: the tail runs),
 * then 37 and 7 units (not multiples of the 4 rows in flight); the last layer
 * (37 inputs) takes the small path only for one sample. */
static void test_fast_path_matches_gemm_every_activation(void)
{
    static const int batches[] = {1, 2, 3, 4, 5, 7, 8, 63, 64, 65, 129};
    const int sizes[] = {300, 37, 7};
    bp_real *x = malloc(sizeof *x * MAXB * 300), *y = malloc(sizeof *y * MAXB * 7);
    bp_real *fast = malloc(sizeof *fast * MAXB * 7), *gemm = malloc(sizeof *gemm * MAXB * 7);
    double *ref = malloc(sizeof *ref * MAXB * 7);
    random_data(x, y, MAXB, 300, 7, BP_LOSS_MSE, 3);
    for (int a = 0; a < BP_ACT_COUNT_; a++) {
        bp_activation acts[] = {a == BP_ACT_SOFTMAX ? BP_ACT_TANH : (bp_activation)a, (bp_activation)a};
        bp_model *m = make_model(2, sizes, acts, BP_LOSS_MSE, 11 + a);
        for (size_t i = 0; i < sizeof batches / sizeof *batches; i++) {
            int n = batches[i];
            both_paths(m, x, n, fast, gemm);
            forward_ref(m, x, n, ref);
            double worst = 0, worst_ref = 0;
            for (int j = 0; j < n * 7; j++) {
                double s = fabs(ref[j]) > 1 ? fabs(ref[j]) : 1;
                worst = fmax(worst, fabs(fast[j] - gemm[j]) / s);
                worst_ref = fmax(worst_ref, fabs(fast[j] - ref[j]) / s);
            }
            CHECK(worst <= TOL && worst_ref <= TOL, "%s, batch %d: fast vs gemm %.3g, vs double %.3g",
                  bp_activation_name(a), n, worst, worst_ref);
        }
        bp_model_free(m);
    }
    free(x), free(y), free(fast), free(gemm), free(ref);
}

/* One 2-layer model of `sizes` (hidden activation `hidden`, identity out):
 * its predictions as shipped against the GEMM alone and against double, at
 * each of the batches. */
static void check_paths(const int sizes[3], bp_activation hidden, unsigned model_seed,
                        unsigned data_seed, const int *batches, int n_batches)
{
    int maxb = 0;
    for (int b = 0; b < n_batches; b++) maxb = batches[b] > maxb ? batches[b] : maxb;
    bp_real *x = malloc(sizeof *x * maxb * sizes[0]), *y = malloc(sizeof *y * maxb * sizes[2]);
    bp_real *fast = malloc(sizeof *fast * maxb * sizes[2]), *gemm = malloc(sizeof *gemm * maxb * sizes[2]);
    double *ref = malloc(sizeof *ref * maxb * sizes[2]);
    const bp_activation acts[] = {hidden, BP_ACT_IDENTITY};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_MSE, model_seed);
    random_data(x, y, maxb, sizes[0], sizes[2], BP_LOSS_MSE, data_seed);
    for (int b = 0; b < n_batches; b++) {
        int n = batches[b];
        both_paths(m, x, n, fast, gemm);
        forward_ref(m, x, n, ref);
        for (int j = 0; j < n * sizes[2]; j++) {
            CHECK_CLOSE(fast[j], gemm[j], TOL);
            CHECK_CLOSE(fast[j], ref[j], TOL);
        }
    }
    bp_model_free(m);
    free(x), free(y), free(fast), free(gemm), free(ref);
}

/* Layers of 1 to 7 outputs whose rows are 64 or longer take gemv at any batch
 * in float32 (gemm.c's table), as in training: against the GEMM and double,
 * at batches past the small-batch switch-over too. */
static void test_few_outputs_any_batch(void)
{
    static const int shapes[][3] = {{20, 64, 1}, {100, 7, 2}, {64, 3, 5}, {200, 64, 7}};
    static const int batches[] = {1, 32, 65, 129};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        check_paths(shapes[s], BP_ACT_RELU, 7, 5, batches, 4);
}

/* Widths that hit every tile of the kernel: rows of W in groups of 4 and
 * single ones, rows of X by 4, 2 and 1, short rows (the whole row a tail). */
static void test_fast_path_odd_shapes(void)
{
    static const int shapes[][3] = {{256, 1, 3}, {257, 5, 2}, {1, 9, 3}, {15, 4, 1}, {784, 13, 10}};
    static const int batches[] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        check_paths(shapes[s], BP_ACT_LEAKY_RELU, 5, 4, batches, 8);
}

/* Split by output units, each output is the same sum in the same order on
 * any number of threads: the same bits. */
static void test_same_bits_on_two_threads(void)
{
    const int sizes[] = {784, 260, 300, 10};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_SIGMOID, BP_ACT_SOFTMAX};
    bp_model *m = make_model(3, sizes, acts, BP_LOSS_XENT, 9);
    bp_real *x = malloc(sizeof *x * 64 * 784), *y = malloc(sizeof *y * 64 * 10);
    bp_real *one = malloc(sizeof *one * 64 * 10), *two = malloc(sizeof *two * 64 * 10);
    random_data(x, y, 64, 784, 10, BP_LOSS_XENT, 6);
    static const int batches[] = {1, 3, 8, 64};
    for (size_t i = 0; i < sizeof batches / sizeof *batches; i++) {
        int n = batches[i];
        bp_set_threads(1);
        CHECK_OK(bp_model_predict(m, x, (size_t)n, n, one));
        bp_set_threads(2);
        CHECK_OK(bp_model_predict(m, x, (size_t)n, n, two));
        CHECK(memcmp(one, two, sizeof *one * n * 10) == 0, "batch %d: 1 and 2 threads differ", n);
    }
    bp_set_threads(1);
    bp_model_free(m);
    free(x), free(y), free(one), free(two);
}

/* A row predicted alone goes through the small path, the same row in a batch
 * of 256 through the GEMM: the sums are taken in another order, so the two
 * may differ in the last bits (docs/PERFORMANCE.md), within the tolerance. */
static void test_row_alone_vs_in_large_batch(void)
{
    enum { n = 256 };
    const int sizes[] = {784, 256, 128, 10};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_RELU, BP_ACT_SOFTMAX};
    bp_model *m = make_model(3, sizes, acts, BP_LOSS_XENT, 2);
    bp_real *x = malloc(sizeof *x * n * 784), *y = malloc(sizeof *y * n * 10);
    bp_real *big = malloc(sizeof *big * n * 10), alone[10];
    random_data(x, y, n, 784, 10, BP_LOSS_XENT, 1);
    CHECK_OK(bp_model_predict(m, x, n, n, big));
    int differ = 0;
    for (int i = 0; i < n; i += 17) {
        CHECK_OK(bp_model_predict(m, x + (size_t)i * 784, 1, 1, alone));
        for (int j = 0; j < 10; j++) {
            CHECK_CLOSE(alone[j], big[i * 10 + j], TOL);
            differ += alone[j] != big[i * 10 + j];
        }
    }
    printf("note: %d of 160 outputs differ in the last bits between a row alone and in a batch\n",
           differ);
    bp_model_free(m);
    free(x), free(y), free(big);
}

static int threads_running(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    if (f) fclose(f);
    return n;
}

/* After bp_model_reserve and bp_set_threads, predict neither allocates nor
 * starts a thread, from its very first call, at any batch up to the reserve. */
static void test_predict_allocates_nothing(void)
{
    const int sizes[] = {784, 256, 128, 10};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_RELU, BP_ACT_SOFTMAX};
    bp_model *m = make_model(3, sizes, acts, BP_LOSS_XENT, 2);
    bp_real *x = malloc(sizeof *x * 1024 * 784), *y = malloc(sizeof *y * 1024 * 10);
    bp_real *out = malloc(sizeof *out * 1024 * 10);
    random_data(x, y, 1024, 784, 10, BP_LOSS_XENT, 1);
    CHECK_OK(bp_model_reserve(m, 1024));
    bp_set_threads(2);
    int threads = threads_running();
    long before = n_allocs;
    static const int batches[] = {1, 8, 64, 1024, 1, 3};
    for (int rep = 0; rep < 10; rep++)
        for (size_t i = 0; i < sizeof batches / sizeof *batches; i++)
            CHECK_OK(bp_model_predict(m, x, (size_t)batches[i], batches[i], out));
    CHECK(n_allocs == before, "%ld allocations in 60 predict calls", n_allocs - before);
    CHECK(threads >= 2 && threads_running() == threads, "threads: %d before, %d after", threads,
          threads_running());
#ifndef COUNTING_ALLOCS
    printf("note: allocations not counted under a sanitizer (it owns malloc)\n");
#endif
    bp_set_threads(1);
    bp_model_free(m);
    free(x), free(y), free(out);
}

int main(void)
{
    bp_set_threads(1);
    RUN(test_fast_path_matches_gemm_every_activation);
    RUN(test_fast_path_odd_shapes);
    RUN(test_few_outputs_any_batch);
    RUN(test_same_bits_on_two_threads);
    RUN(test_row_alone_vs_in_large_batch);
    RUN(test_predict_allocates_nothing);
    return test_summary("test_infer");
}
