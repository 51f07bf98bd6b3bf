/* bp__gemm (OpenBLAS, or the own kernel in a BLAS=none build) and the
 * library's own bp__gemm_blocked against the naive reference, every
 * transpose combination, odd shapes, leading dimensions and alpha/beta; the
 * own kernel's documented order of summation, bit for bit; the one product
 * entry (bp__product_run) with every kernel the table can name, and the
 * default table's choices. */
#include "test.h"
#include "internal.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF /* order_model's sums rounded one by one, as the kernel's */
#endif

typedef void (*gemm_fn)(bp__trans, bp__trans, int, int, int, bp_real, const bp_real *, int,
                        const bp_real *, int, bp_real, bp_real *, int);

static void fill(bp_real *v, size_t n, bp_rng *r)
{
    for (size_t i = 0; i < n; i++) v[i] = (bp_real)(2 * bp_rng_uniform(r) - 1);
}

/* gemm against the reference on (m, n, k), leading dimensions pad past the
 * rows; the padding of C must stay as it was. */
static void check_with(gemm_fn gemm, const char *name, bp__trans ta, bp__trans tb, int m, int n,
                       int k, double alpha, double beta)
{
    bp_rng r;
    bp_rng_seed(&r, (uint64_t)(m * 1000 + n * 100 + k));
    int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
    size_t sa = (size_t)(ta ? k : m) * lda + 1, sb = (size_t)(tb ? n : k) * ldb + 1, sc = (size_t)m * ldc;
    bp_real *a = malloc(sa * sizeof *a), *b = malloc(sb * sizeof *b);
    bp_real *c1 = malloc(sc * sizeof *c1), *c2 = malloc(sc * sizeof *c2);
    fill(a, sa, &r), fill(b, sb, &r), fill(c1, sc, &r);
    memcpy(c2, c1, sc * sizeof *c1);
    if (beta == 0) /* beta 0 ignores C, NaNs included (the reference does too) */
        for (int i = 0; i < m; i++) c1[(size_t)i * ldc] = NAN;
    gemm(ta, tb, m, n, k, (bp_real)alpha, a, lda, b, ldb, (bp_real)beta, c1, ldc);
    bp__gemm_ref(ta, tb, m, n, k, (bp_real)alpha, a, lda, b, ldb, (bp_real)beta, c2, ldc);
    double tol = TEST_DOUBLE ? 1e-12 : 1e-5, worst = 0;
    for (size_t i = 0; i < sc; i++) {
        double d = fabs((double)c1[i] - (double)c2[i]) / (1 + fabs((double)c2[i]));
        worst = d > worst ? d : worst;
    }
    CHECK(worst <= tol * sqrt((double)(k > 1 ? k : 1)),
          "%s ta=%d tb=%d m=%d n=%d k=%d alpha=%g beta=%g: worst rel diff %g", name, ta, tb, m, n,
          k, alpha, beta, worst);
    free(a), free(b), free(c1), free(c2);
}

static void check_case(bp__trans ta, bp__trans tb, int m, int n, int k, double alpha, double beta)
{
    check_with(bp__gemm, "bp__gemm", ta, tb, m, n, k, alpha, beta);
    check_with(bp__gemm_blocked, "bp__gemm_blocked", ta, tb, m, n, k, alpha, beta);
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

/* The own kernel on every size 1..67 of each dimension (edge tiles of every
 * width), sizes either side of its register tile and of its k block (256),
 * k = 0, every transpose, alpha/beta. */
static void test_blocked_shapes(void)
{
    static const double ab[][2] = {{1, 0}, {-0.5, 1.25}, {2, -1}};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            for (int m = 1; m <= 67; m++) {
                int n = (m * 7) % 67 + 1, k = (m * 13) % 67 + 1;
                for (int x = 0; x < 3; x++) {
                    check_with(bp__gemm_blocked, "blocked", ta, tb, m, n, k, ab[x][0], ab[x][1]);
                    check_with(bp__gemm_blocked, "blocked", ta, tb, n, k, m, ab[x][0], ab[x][1]);
                    check_with(bp__gemm_blocked, "blocked", ta, tb, k, m, n, ab[x][0], ab[x][1]);
                }
            }
            const int big[][3] = {{5, 9, 0}, {1, 1, 0}, {6, 32, 255}, {7, 33, 256}, {13, 17, 257},
                                  {121, 65, 513}, {250, 3, 40}, {2, 300, 70}};
            for (int s = 0; s < 8; s++)
                for (int x = 0; x < 3; x++)
                    check_with(bp__gemm_blocked, "blocked", ta, tb, big[s][0], big[s][1], big[s][2],
                               ab[x][0], ab[x][1]);
        }
}

/* gemm_blocked.c's order of summation, written out: each element summed one
 * step after the other in blocks of 256 steps (its KC, the same on every
 * machine), each product and sum rounded on its own. */
static void order_model(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
                        const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
                        bp_real *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            bp_real *cij = &c[(size_t)i * ldc + j];
            if (k == 0) *cij = beta == 0 ? 0 : beta * *cij;
            for (int p0 = 0; p0 < k; p0 += 256) {
                bp_real s = 0;
                for (int p = p0; p < k && p < p0 + 256; p++) {
                    bp_real aip = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                    bp_real bpj = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                    bp_real prod = aip * bpj;
                    s = s + prod;
                }
                bp_real as = alpha * s;
                if (p0 > 0) *cij = *cij + as;
                else if (beta == 0) *cij = as;
                else {
                    bp_real bc = beta * *cij;
                    *cij = as + bc;
                }
            }
        }
}

/* The own kernel gives exactly the documented order's bits (so the same on
 * any machine that rounds IEEE-754 products and sums, whatever its vector
 * width), and a block of rows or columns computed alone gives the same bits
 * as within the whole product (as the thread pool splits them). */
static void test_blocked_order(void)
{
    const int shapes[][3] = {{1, 1, 1},      {67, 45, 700}, {128, 256, 784}, {31, 3, 256},
                             {9, 40, 0},     {128, 10, 128}, {32, 1, 64},    {1, 64, 32}};
    static const double ab[][2] = {{1, 0}, {0.75, -1.5}};
    for (int s = 0; s < 8; s++)
        for (int t = 0; t < 4; t++)
            for (int x = 0; x < 2; x++) {
                bp__trans ta = t & 1, tb = t >> 1;
                int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                int lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 1, ldc = n;
                size_t sa = (size_t)(ta ? k : m) * lda + 1, sb = (size_t)(tb ? n : k) * ldb + 1;
                bp_real *a = malloc(sa * sizeof *a), *b = malloc(sb * sizeof *b);
                bp_real *c1 = malloc(sizeof *c1 * m * n), *c2 = malloc(sizeof *c2 * m * n);
                bp_real *c3 = malloc(sizeof *c3 * m * n);
                bp_rng r;
                bp_rng_seed(&r, (uint64_t)(s * 8 + t));
                fill(a, sa, &r), fill(b, sb, &r), fill(c1, (size_t)m * n, &r);
                memcpy(c2, c1, sizeof *c1 * m * n), memcpy(c3, c1, sizeof *c1 * m * n);
                bp_real al = (bp_real)ab[x][0], be = (bp_real)ab[x][1];
                bp__gemm_blocked(ta, tb, m, n, k, al, a, lda, b, ldb, be, c1, ldc);
                order_model(ta, tb, m, n, k, al, a, lda, b, ldb, be, c2, ldc);
                CHECK(memcmp(c1, c2, sizeof *c1 * m * n) == 0,
                      "ta=%d tb=%d m=%d n=%d k=%d: not the documented order's bits", ta, tb, m, n, k);
                /* rows [i0, m) alone, then columns [j0, n) alone */
                int i0 = m / 3, j0 = n / 2;
                const bp_real *ai = ta ? a + i0 : a + (size_t)i0 * lda;
                bp__gemm_blocked(ta, tb, i0, n, k, al, a, lda, b, ldb, be, c3, ldc);
                bp__gemm_blocked(ta, tb, m - i0, j0, k, al, ai, lda, b, ldb, be, c3 + (size_t)i0 * ldc,
                                 ldc);
                const bp_real *bj = tb ? b + (size_t)j0 * ldb : b + j0;
                bp__gemm_blocked(ta, tb, m - i0, n - j0, k, al, ai, lda, bj, ldb, be,
                                 c3 + (size_t)i0 * ldc + j0, ldc);
                CHECK(memcmp(c1, c3, sizeof *c1 * m * n) == 0,
                      "ta=%d tb=%d m=%d n=%d k=%d: a split product differs", ta, tb, m, n, k);
                free(a), free(b), free(c1), free(c2), free(c3);
            }
}

/* Each product with each kernel that serves it, against the reference on the
 * product's own transposes. */
static void test_products_match_reference(void)
{
    static const bp__trans ta[] = {BP_NO_TRANS, BP_TRANS, BP_NO_TRANS};
    static const bp__trans tb[] = {BP_TRANS, BP_NO_TRANS, BP_NO_TRANS};
    const int shapes[][3] = {{1, 7, 300}, {3, 37, 300}, {64, 10, 256}, {65, 33, 17},
                             {128, 256, 784}, {67, 1, 513}, {1, 67, 1}, {13, 29, 0}};
    bp_rng r;
    bp_rng_seed(&r, 5);
    for (int p = 0; p < BP__PRODUCT_COUNT; p++)
        for (int kern = 0; kern < BP__KERNEL_COUNT; kern++) {
            if (kern == BP__KERNEL_GEMV_ROWS && p != BP__PRODUCT_FORWARD) continue;
            for (int s = 0; s < 8; s++) {
                int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                int lda = ta[p] ? m : k > 0 ? k : 1, ldb = tb[p] ? (k > 0 ? k : 1) : n;
                if (kern == BP__KERNEL_GEMV_ROWS && k == 0) continue;
                bp_real *a = malloc(sizeof *a * (m * k + 1)), *b = malloc(sizeof *b * (k * n + 1));
                bp_real *c1 = malloc(sizeof *c1 * m * n), *c2 = malloc(sizeof *c2 * m * n);
                fill(a, (size_t)m * k, &r), fill(b, (size_t)k * n, &r);
                bp__product_run((bp__kernel)kern, (bp__product)p, m, n, k, a, lda, b, ldb, c1, n);
                bp__gemm_ref(ta[p], tb[p], m, n, k, 1, a, lda, b, ldb, 0, c2, n);
                double worst = 0;
                for (int i = 0; i < m * n; i++) {
                    double d = fabs((double)c1[i] - (double)c2[i]) / (1 + fabs((double)c2[i]));
                    worst = d > worst ? d : worst;
                }
                CHECK(worst <= (TEST_DOUBLE ? 1e-12 : 1e-5) * sqrt((double)(k > 1 ? k : 1)),
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
#ifdef BP_NO_BLAS
    /* Without BLAS: the own kernel for every product and shape. */
    const int shapes[][3] = {{1, 10, 20}, {64, 256, 784}, {65, 256, 784}, {8, 64, 20}};
    for (int p = 0; p < BP__PRODUCT_COUNT; p++)
        for (int s = 0; s < 4; s++)
            CHECK(bp__kernel_for((bp__product)p, shapes[s][0], shapes[s][1], shapes[s][2]) ==
                      BP__KERNEL_BLOCKED,
                  "product %d shape %d", p, s);
    const bp__kernel_rule gemv_one[] = {{BP__PRODUCT_FORWARD, 1, 0, BP__KERNEL_GEMV_ROWS, 0, 0}};
    bp__kernel_table_set(gemv_one, 1);
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 1, 10, 20) == BP__KERNEL_GEMV_ROWS, "test table");
    bp__kernel_table_set(NULL, 0);
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 1, 10, 20) == BP__KERNEL_BLOCKED, "restored");
    return;
#endif
    /* The own x86 kernel where it runs (float32, AVX2 and FMA), else BLAS. */
    bp__kernel own = !TEST_DOUBLE && bp__gemm_x86_isa() != BP__GEMM_ISA_BLAS ? BP__KERNEL_X86
                                                                             : BP__KERNEL_BLAS;
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 1, 10, 20) == BP__KERNEL_GEMV_ROWS, "1 row");
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 64, 256, 784) == BP__KERNEL_GEMV_ROWS, "64 x 784");
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 65, 256, 784) == own, "65 x 784");
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 8, 64, 20) == own, "8 x 20");
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 128, 10, 128) == own, "10 outputs");
    /* 1 to 7 outputs of rows of 64 or more: gemv in float32 */
    bp__kernel few = TEST_DOUBLE ? BP__KERNEL_BLAS : BP__KERNEL_GEMV_ROWS;
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 128, 1, 64) == few, "1 output");
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 512, 7, 200) == few, "7 outputs");
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 128, 1, 63) == BP__KERNEL_BLAS, "1 output, k 63");
    CHECK(bp__kernel_for(BP__PRODUCT_FORWARD, 128, 8, 64) == own, "8 outputs");
    CHECK(bp__kernel_for(BP__PRODUCT_WEIGHT_GRAD, 1, 256, 784) == own, "dW");
    CHECK(bp__kernel_for(BP__PRODUCT_INPUT_GRAD, 1, 784, 256) == own, "dA");
    if (!TEST_DOUBLE && bp__gemm_x86_isa_set(BP__GEMM_ISA_AVX2)) { /* an AVX2 core: the own kernel too */
        CHECK(bp__kernel_for(BP__PRODUCT_WEIGHT_GRAD, 1, 256, 784) == BP__KERNEL_X86, "dW, avx2");
        bp__gemm_x86_isa_set((bp__gemm_isa)-1);
    }
    if (bp__gemm_x86_isa_set(BP__GEMM_ISA_BLAS)) { /* BP_GEMM_ISA=blas: OpenBLAS everywhere */
        CHECK(bp__kernel_for(BP__PRODUCT_WEIGHT_GRAD, 1, 256, 784) == BP__KERNEL_BLAS, "dW, blas");
        bp__gemm_x86_isa_set((bp__gemm_isa)-1);
    }
    const bp__kernel_rule blas_only[] = {{BP__PRODUCT_FORWARD, 0, 0, BP__KERNEL_BLAS, 0, 0}};
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
    RUN(test_blocked_shapes);
    RUN(test_blocked_order);
    RUN(test_products_match_reference);
    RUN(test_kernel_table);
    RUN(test_threads_setting);
    return test_summary("test_gemm");
}
