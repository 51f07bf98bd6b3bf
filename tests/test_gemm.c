/* OpenBLAS GEMM through bp__gemm against the naive reference, every
 * transpose combination, odd shapes, leading dimensions and alpha/beta; the
 * one product entry (bp__product_run) with every kernel the table can name,
 * and the default table's choices. */
#include "test.h"
#include "internal.h"

static void fill(bp_real *v, size_t n, bp_rng *r)
{
    for (size_t i = 0; i < n; i++) v[i] = (bp_real)(2 * bp_rng_uniform(r) - 1);
}

static void check_case(bp__trans ta, bp__trans tb, int m, int n, int k, double alpha, double beta)
{
    bp_rng r;
    bp_rng_seed(&r, (uint64_t)(m * 1000 + n * 100 + k));
    int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
    size_t sa = (size_t)(ta ? k : m) * lda, sb = (size_t)(tb ? n : k) * ldb, sc = (size_t)m * ldc;
    bp_real *a = malloc(sa * sizeof *a), *b = malloc(sb * sizeof *b);
    bp_real *c1 = malloc(sc * sizeof *c1), *c2 = malloc(sc * sizeof *c2);
    fill(a, sa, &r), fill(b, sb, &r), fill(c1, sc, &r);
    memcpy(c2, c1, sc * sizeof *c1);
    bp__gemm(ta, tb, m, n, k, (bp_real)alpha, a, lda, b, ldb, (bp_real)beta, c1, ldc);
    bp__gemm_ref(ta, tb, m, n, k, (bp_real)alpha, a, lda, b, ldb, (bp_real)beta, c2, ldc);
    double tol = TEST_DOUBLE ? 1e-12 : 1e-5, worst = 0;
    for (size_t i = 0; i < sc; i++) {
        double d = fabs((double)c1[i] - (double)c2[i]) / (1 + fabs((double)c2[i]));
        worst = d > worst ? d : worst;
    }
    CHECK(worst <= tol * sqrt((double)k), "ta=%d tb=%d m=%d n=%d k=%d: worst rel diff %g", ta, tb,
          m, n, k, worst);
    free(a), free(b), free(c1), free(c2);
}

static void test_gemm_matches_reference(void)
{
    const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {64, 33, 17}, {128, 10, 256}, {3, 129, 65}};
    for (int s = 0; s < 5; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                check_case(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 1.0, 0.0);
                check_case(ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], -0.5, 1.25);
            }
}

/* Each product with each kernel that serves it, against the reference on the
 * product's own transposes. */
static void test_products_match_reference(void)
{
    static const bp__trans ta[] = {BP_NO_TRANS, BP_TRANS, BP_NO_TRANS};
    static const bp__trans tb[] = {BP_TRANS, BP_NO_TRANS, BP_NO_TRANS};
    const int shapes[][3] = {{1, 7, 300}, {3, 37, 300}, {64, 10, 256}, {65, 33, 17}};
    bp_rng r;
    bp_rng_seed(&r, 5);
    for (int p = 0; p < BP__PRODUCT_COUNT; p++)
        for (int kern = 0; kern < BP__KERNEL_COUNT; kern++) {
            if (kern == BP__KERNEL_GEMV_ROWS && p != BP__PRODUCT_FORWARD) continue;
            for (int s = 0; s < 4; s++) {
                int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                int lda = ta[p] ? m : k, ldb = tb[p] ? k : n;
                bp_real *a = malloc(sizeof *a * m * k), *b = malloc(sizeof *b * k * n);
                bp_real *c1 = malloc(sizeof *c1 * m * n), *c2 = malloc(sizeof *c2 * m * n);
                fill(a, (size_t)m * k, &r), fill(b, (size_t)k * n, &r);
                bp__product_run((bp__kernel)kern, (bp__product)p, m, n, k, a, lda, b, ldb, c1, n);
                bp__gemm_ref(ta[p], tb[p], m, n, k, 1, a, lda, b, ldb, 0, c2, n);
                double worst = 0;
                for (int i = 0; i < m * n; i++) {
                    double d = fabs((double)c1[i] - (double)c2[i]) / (1 + fabs((double)c2[i]));
                    worst = d > worst ? d : worst;
                }
                CHECK(worst <= (TEST_DOUBLE ? 1e-12 : 1e-5) * sqrt((double)k),
                      "product %d kernel %d m=%d n=%d k=%d: worst rel diff %g", p, kern, m, n, k,
                      worst);
                free(a), free(b), free(c1), free(c2);
            }
        }
}

/* The default table: the forward's small batches on long rows (and any single
 * row) take gemv, everything else BLAS; a test table replaces it and NULL
 * restores it. */
static void test_kernel_table(void)
{
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 1, 10, 20) == BP__KERNEL_GEMV_ROWS, "1 row");
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 64, 256, 784) == BP__KERNEL_GEMV_ROWS, "64 x 784");
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 65, 256, 784) == BP__KERNEL_BLAS, "65 x 784");
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 8, 64, 20) == BP__KERNEL_BLAS, "8 x 20");
    CHECK(bp__kernel_for(BP__PRODUCT_WEIGHT_GRAD, 1, 256, 784) == BP__KERNEL_BLAS, "dW");
    CHECK(bp__kernel_for(BP__PRODUCT_INPUT_GRAD, 1, 784, 256) == BP__KERNEL_BLAS, "dA");
    const bp__kernel_rule blas_only[] = {{BP__PRODUCT_FORWARD, 0, 0, BP__KERNEL_BLAS}};
    bp__kernel_table_set(blas_only, 1);
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 1, 10, 20) == BP__KERNEL_BLAS, "test table");
    bp__kernel_table_set(NULL, 0);
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 1, 10, 20) == BP__KERNEL_GEMV_ROWS, "restored");
}

static void test_threads_setting(void)
{
    bp_set_threads(1);
    CHECK(bp_threads() == 1, "threads = %d", bp_threads());
    bp_set_threads(2);
    CHECK(bp_threads() == 2, "threads = %d", bp_threads());
    check_case(BP_NO_TRANS, BP_TRANS, 300, 200, 100, 1.0, 0.0);
    bp_set_threads(0);
    CHECK(bp_threads() >= 1, "threads = %d", bp_threads());
}

int main(void)
{
    /* As in the library, whose jobs call bp_threads before any GEMM: OpenBLAS
     * on one thread (its own threads would also trip ThreadSanitizer: tests/tsan.supp). */
    (void)bp_threads();
    RUN(test_gemm_matches_reference);
    RUN(test_products_match_reference);
    RUN(test_kernel_table);
    RUN(test_threads_setting);
    return test_summary("test_gemm");
}
