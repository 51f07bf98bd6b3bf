/* The own x86-64 GEMM (src/base/gemm_x86.c) on every path this core can run,
 * each forced by the test hook bp__gemm_x86_isa_set (the environment's
 * BP_GEMM_ISA does the same for a whole program): AVX-512, AVX2 and "blas"
 * (the kernel off: bp__gemm). Each against the double reference bp__gemm_ref
 * on odd shapes (1, 7, 17, 33, 255 and ragged edges of the 8x32 and 6x16
 * tiles, AVX-512's wide last panels of 33-48 columns, also past a block of
 * 384, k across the 256-step blocks), every transpose, alpha and beta,
 * leading dimensions past the width (whose padding must stay untouched);
 * row and column splits of one product give the same bits (the threads'
 * parts), and the AVX-512 and AVX2 paths give the same bits. A path this
 * core or build cannot run is printed as not run, not passed (float64 and
 * make BLAS=none have no own x86 kernel: there only "blas" runs). */
#include "test.h"
#include "internal.h"

static const bp__gemm_isa paths[] = {BP__GEMM_ISA_AVX512, BP__GEMM_ISA_AVX2, BP__GEMM_ISA_BLAS};
#define NPATHS 3

static void fill(bp_real *v, size_t n, bp_rng *r)
{
    for (size_t i = 0; i < n; i++) v[i] = (bp_real)(2 * bp_rng_uniform(r) - 1);
}

/* One product by the current path and by the reference; the worst relative
 * difference over all of C, its padding included (which must be equal). */
static void check(bp__trans ta, bp__trans tb, int m, int n, int k, double alpha, double beta,
                  const char *path)
{
    bp_rng r;
    bp_rng_seed(&r, (uint64_t)(m * 7919 + n * 131 + k * 3 + ta * 2 + tb));
    int lda = (ta ? m : k) + 5, ldb = (tb ? k : n) + 3, ldc = n + 7;
    size_t sa = (size_t)(ta ? k : m) * lda + 1, sb = (size_t)(tb ? n : k) * ldb + 1, sc = (size_t)m * ldc;
    bp_real *a = malloc(sa * sizeof *a), *b = malloc(sb * sizeof *b);
    bp_real *c1 = malloc(sc * sizeof *c1), *c2 = malloc(sc * sizeof *c2);
    fill(a, sa, &r), fill(b, sb, &r), fill(c1, sc, &r);
    memcpy(c2, c1, sc * sizeof *c1);
    if (beta == 0) /* beta 0 must not read C */
        for (int i = 0; i < m; i++) c1[(size_t)i * ldc + n - 1] = NAN;
    bp__gemm_x86(ta, tb, m, n, k, (bp_real)alpha, a, lda, b, ldb, (bp_real)beta, c1, ldc);
    bp__gemm_ref(ta, tb, m, n, k, (bp_real)alpha, a, lda, b, ldb, (bp_real)beta, c2, ldc);
    double worst = 0;
    for (size_t i = 0; i < sc; i++) {
        double d = fabs((double)c1[i] - (double)c2[i]) / (1 + fabs((double)c2[i]));
        worst = d > worst || d != d ? d : worst;
    }
    CHECK(worst <= (TEST_DOUBLE ? 1e-12 : 1e-5) * sqrt((double)(k > 1 ? k : 1)),
          "%s ta=%d tb=%d m=%d n=%d k=%d alpha=%g beta=%g: worst rel diff %g", path, ta, tb, m, n,
          k, alpha, beta, worst);
    free(a), free(b), free(c1), free(c2);
}

static void run_path(bp__gemm_isa isa)
{
    const int sizes[] = {1, 7, 17, 33, 255};
    const double ab[][2] = {{1, 0}, {1, 1}, {-0.5, 0}, {2, 1}, {1.5, -0.25}};
    const char *name = bp__gemm_isa_name(isa);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            for (int x = 0; x < 5; x++)
                for (int y = 0; y < 5; y++)
                    for (int z = 0; z < 5; z++)
                        check((bp__trans)ta, (bp__trans)tb, sizes[x], sizes[y], sizes[z],
                              ab[(x + y + z) % 5][0], ab[(x + y + z) % 5][1], name);
            /* ragged edges of both tiles, k across the blocks (257, 513, 784),
             * the library's own shapes, k = 0 (C = beta C) */
            const int odd[][3] = {{9, 33, 257},  {8, 32, 256},  {6, 16, 513}, {13, 47, 784},
                                  {128, 256, 784}, {241, 385, 31}, {200, 10, 100}, {1, 64, 32},
                                  {32, 1, 64},    {25, 49, 0},    {16, 48, 20}, {8, 40, 300},
                                  {200, 100, 10}, {9, 424, 33}};
            for (int s = 0; s < (int)(sizeof odd / sizeof odd[0]); s++)
                for (int x = 0; x < 5; x++)
                    check((bp__trans)ta, (bp__trans)tb, odd[s][0], odd[s][1], odd[s][2], ab[x][0],
                          ab[x][1], name);
        }
}

/* Row and column parts of one product (what the threads compute) give the
 * same bits as the whole; the AVX-512 and AVX2 paths give the same bits. */
static void check_splits_and_paths(bool both)
{
    const int shapes[][3] = {{128, 256, 784}, {67, 45, 300}, {200, 100, 64}};
    bp_rng r;
    bp_rng_seed(&r, 11);
    for (int s = 0; s < 3; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                int lda = ta ? m : k, ldb = tb ? k : n;
                bp_real *a = malloc(sizeof *a * m * k), *b = malloc(sizeof *b * k * n);
                bp_real *c1 = malloc(sizeof *c1 * m * n), *c2 = malloc(sizeof *c2 * m * n);
                fill(a, (size_t)m * k, &r), fill(b, (size_t)k * n, &r);
                bp__gemm_x86((bp__trans)ta, (bp__trans)tb, m, n, k, 1, a, lda, b, ldb, 0, c1, n);
                int i0 = 16 * (m / 32), j0 = n / 3; /* a row split, then a column split of the rest */
                const bp_real *ai = ta ? a + i0 : a + (size_t)i0 * lda, *bj = tb ? b + (size_t)j0 * ldb : b + j0;
                bp__gemm_x86((bp__trans)ta, (bp__trans)tb, i0, n, k, 1, a, lda, b, ldb, 0, c2, n);
                bp__gemm_x86((bp__trans)ta, (bp__trans)tb, m - i0, j0, k, 1, ai, lda, b, ldb, 0,
                             c2 + (size_t)i0 * n, n);
                bp__gemm_x86((bp__trans)ta, (bp__trans)tb, m - i0, n - j0, k, 1, ai, lda, bj, ldb,
                             0, c2 + (size_t)i0 * n + j0, n);
                CHECK(!memcmp(c1, c2, sizeof *c1 * m * n), "%s ta=%d tb=%d m=%d n=%d k=%d: parts differ",
                      bp__gemm_isa_name(bp__gemm_x86_isa()), ta, tb, m, n, k);
                if (both && bp__gemm_x86_isa_set(BP__GEMM_ISA_AVX2)) {
                    bp__gemm_x86((bp__trans)ta, (bp__trans)tb, m, n, k, 1, a, lda, b, ldb, 0, c2, n);
                    CHECK(!memcmp(c1, c2, sizeof *c1 * m * n),
                          "ta=%d tb=%d m=%d n=%d k=%d: avx512 and avx2 differ", ta, tb, m, n, k);
                    bp__gemm_x86_isa_set(BP__GEMM_ISA_AVX512);
                }
                free(a), free(b), free(c1), free(c2);
            }
}

static bp__gemm_isa current;

static void test_path(void)
{
    CHECK(bp__gemm_x86_isa_set(current), "set %s", bp__gemm_isa_name(current));
    CHECK(bp__gemm_x86_isa() == current, "the path taken is %s", bp__gemm_isa_name(bp__gemm_x86_isa()));
    run_path(current);
    if (current != BP__GEMM_ISA_BLAS) check_splits_and_paths(current == BP__GEMM_ISA_AVX512);
    bp__gemm_x86_isa_set((bp__gemm_isa)-1);
}

/* What the core supports and what BP_GEMM_ISA chose; the hook refuses what
 * the core cannot run. */
static void test_choice(void)
{
    bp__gemm_x86_isa_set((bp__gemm_isa)-1);
    bp__gemm_isa chosen = bp__gemm_x86_isa();
    const char *env = getenv("BP_GEMM_ISA");
    printf("     the own kernel's path here: %s (BP_GEMM_ISA %s)\n", bp__gemm_isa_name(chosen),
           env ? env : "unset");
#if defined(__x86_64__) && !defined(BP_REAL_DOUBLE) && !defined(BP_NO_BLAS)
    __builtin_cpu_init();
    bool has512 = __builtin_cpu_supports("avx512f");
    bool has256 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    CHECK(bp__gemm_x86_isa_set(BP__GEMM_ISA_AVX512) == has512, "avx512 refused iff unsupported");
    CHECK(bp__gemm_x86_isa_set(BP__GEMM_ISA_AVX2) == has256, "avx2 refused iff unsupported");
    if (!env) CHECK(chosen == (has512 ? BP__GEMM_ISA_AVX512 : has256 ? BP__GEMM_ISA_AVX2 : BP__GEMM_ISA_BLAS),
                    "default path %s", bp__gemm_isa_name(chosen));
#else
    CHECK(chosen == BP__GEMM_ISA_BLAS, "no own x86 kernel in this build: %s", bp__gemm_isa_name(chosen));
    CHECK(!bp__gemm_x86_isa_set(BP__GEMM_ISA_AVX2), "avx2 refused in this build");
#endif
    CHECK(bp__gemm_x86_isa_set(BP__GEMM_ISA_BLAS), "blas always runs");
    bp__gemm_x86_isa_set((bp__gemm_isa)-1);
}

int main(void)
{
    /* As in the library, whose jobs call bp_threads before any GEMM: OpenBLAS
     * (the "blas" path) on one thread; its own threads would trip
     * ThreadSanitizer (tests/tsan.supp). */
    (void)bp_threads();
    RUN(test_choice);
    for (int p = 0; p < NPATHS; p++) {
        current = paths[p];
        if (!bp__gemm_x86_isa_set(current)) {
#if defined(__x86_64__) && !defined(BP_REAL_DOUBLE) && !defined(BP_NO_BLAS)
            const char *why = "this core cannot run it";
#else
            const char *why = "not in this build (float64, BLAS=none or not x86-64)";
#endif
            printf("not run: path %s (%s)\n", bp__gemm_isa_name(current), why);
            continue;
        }
        bp__gemm_x86_isa_set((bp__gemm_isa)-1);
        printf("path %s:\n", bp__gemm_isa_name(current));
        RUN(test_path);
    }
    return test_summary("test_gemm_x86");
}
