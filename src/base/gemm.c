/* gemm.c - the one entry for every matrix product: a table of which kernel
 * serves which product and shape, the BLAS wrapper (OpenBLAS cblas_sgemm /
 * cblas_dgemm, or without BLAS the library's own bp__gemm_blocked) and the
 * naive reference the tests compare the kernels with. */
#include "base.h"

#ifdef BP_NO_BLAS
void bp__gemm(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
              const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
              bp_real *c, int ldc)
{
    bp__gemm_blocked(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
#else
#include <cblas.h>

void bp__gemm(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
              const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
              bp_real *c, int ldc)
{
    enum CBLAS_TRANSPOSE cta = ta == BP_TRANS ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE ctb = tb == BP_TRANS ? CblasTrans : CblasNoTrans;
#ifdef BP_REAL_DOUBLE
    cblas_dgemm(CblasRowMajor, cta, ctb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
    cblas_sgemm(CblasRowMajor, cta, ctb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}
#endif

void bp__gemm_ref(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
                  const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
                  bp_real *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double acc = 0.0; /* accumulate in double: the reference should be the more exact one */
            for (int p = 0; p < k; p++) {
                double aip = ta == BP_TRANS ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                double bpj = tb == BP_TRANS ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                acc += aip * bpj;
            }
            bp_real *cij = &c[(size_t)i * ldc + j];
            *cij = (bp_real)(alpha * acc + (beta == 0 ? 0.0 : beta * (double)*cij));
        }
    }
}

/* Which kernel serves which product. The forward of a single row always takes
 * the small-batch path (W streamed once, at the cache's rate, with no
 * packing); a few rows take it when each row of W is long enough (k >= 256)
 * for its lane sums to be cheap beside its FMAs. Timed alone (best of 2000,
 * Zen 4, 1 thread), 784x256: gemv 15.2 us at 4 rows, 60.6 at 16, 241 at 64
 * against OpenBLAS's 14.1, 96.1 and 274; at 128 rows they meet. On short rows
 * (k = 20 or 64) the lane sums dominate and OpenBLAS is 1.4-4x faster from 4
 * rows up.
 *
 * In float32, where the core has AVX2 and FMA, the own kernel (gemm_x86.c) takes
 * the rest but forwards of fewer than 8 outputs: bench_gemm_x86
 * (docs/PERFORMANCE.md, "Training GEMM kernels (issue 25)") measured it at
 * 1.0-3x OpenBLAS's Haswell kernels on this library's training shapes (the
 * forward of 10 outputs included), but at 0.45-0.65x on a forward of 1 output (an
 * 8x32 tile for one column). A forward of 1 to 7 outputs with rows of 64 or
 * more (the tabular model's last layer) takes gemv_rows: timed alone (best of
 * 3,000, 1 thread, an Emerald Rapids core, OPENBLAS_CORETYPE=Haswell) it ran
 * 1.46-6.9x OpenBLAS's sgemm at 32, 128 and 512 rows, k = 64 and 200 (32x1x64:
 * 0.12 us against 0.72); at k = 20 it ran 0.43-1.07x from 2 outputs up
 * (1.27-1.83x at 1), so shorter rows stay OpenBLAS's. The own kernel's 6x16
 * AVX2 path measured 0.98-1.08x OpenBLAS's on whole
 * steps (at 256 bits on that AVX-512 core): no loss, and it gives the AVX-512
 * path's bits (the sums' order is a function of k alone), so an AVX2 core takes
 * it too: its products give the same bits on every x86-64 core with AVX2.
 * float64 stays OpenBLAS's everywhere. */
#ifdef BP_NO_BLAS
/* Without BLAS every product takes the blocked kernel, gemv's single rows
 * too: its order of summation does not depend on the vector width (gemv's
 * does), so a model gives the same bits on every machine (issue 24). The
 * empty table is one rule that no product matches. */
static const bp__kernel_rule default_table[] = {{BP__PRODUCT_FORWARD, -1, 0, BP__KERNEL_BLOCKED, 0, 0}};
#else
#define ANY_M 0x7fffffff
static const bp__kernel_rule default_table[] = {
    {BP__PRODUCT_FORWARD, 1, 0, BP__KERNEL_GEMV_ROWS, 0, 0},
    {BP__PRODUCT_FORWARD, 64, 256, BP__KERNEL_GEMV_ROWS, 0, 0},
#ifndef BP_REAL_DOUBLE
    {BP__PRODUCT_FORWARD, ANY_M, 0, BP__KERNEL_X86, 8, 0},
    {BP__PRODUCT_FORWARD, ANY_M, 64, BP__KERNEL_GEMV_ROWS, 1, 7},
    {BP__PRODUCT_WEIGHT_GRAD, ANY_M, 0, BP__KERNEL_X86, 0, 0},
    {BP__PRODUCT_INPUT_GRAD, ANY_M, 0, BP__KERNEL_X86, 0, 0},
#endif
};
#endif
#define DEFAULT_RULES ((int)(sizeof default_table / sizeof *default_table))

static const bp__kernel_rule *table = default_table;
static int table_rules = DEFAULT_RULES;

void bp__kernel_table_set(const bp__kernel_rule *rules, int n)
{
    table = rules ? rules : default_table;
    table_rules = rules ? n : DEFAULT_RULES;
}

bp__kernel bp__kernel_for(bp__product p, int m, int n, int k)
{
    for (int i = 0; i < table_rules; i++) {
        const bp__kernel_rule *r = &table[i];
        if (r->product != p || m > r->max_m || k < r->min_k || n < r->min_n) continue;
        if (r->max_n && n > r->max_n) continue;
        if (r->kernel == BP__KERNEL_X86 && bp__gemm_x86_isa() == BP__GEMM_ISA_BLAS) continue;
        return r->kernel;
    }
    return BP__KERNEL_DEFAULT;
}

void bp__product_run(bp__kernel kernel, bp__product p, int m, int n, int k, const bp_real *a,
                     int lda, const bp_real *b, int ldb, bp_real *c, int ldc)
{
    static const bp__trans ta[BP__PRODUCT_COUNT] = {BP_NO_TRANS, BP_TRANS, BP_NO_TRANS};
    static const bp__trans tb[BP__PRODUCT_COUNT] = {BP_TRANS, BP_NO_TRANS, BP_NO_TRANS};
    BP_ASSERT((unsigned)p < BP__PRODUCT_COUNT);
#ifndef BP_NO_BLAS /* no table rule asks for gemv there: its code stays out of a device's flash */
    if (kernel == BP__KERNEL_GEMV_ROWS && p == BP__PRODUCT_FORWARD) {
        BP_ASSERT(lda == k && ldb == k);
        bp__gemv_rows(a, b, m, k, n, c, ldc);
        return;
    }
    if (kernel == BP__KERNEL_X86) {
        bp__gemm_x86(ta[p], tb[p], m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
        return;
    }
#endif
    if (kernel == BP__KERNEL_BLOCKED) {
        bp__gemm_blocked(ta[p], tb[p], m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
        return;
    }
    bp__gemm(ta[p], tb[p], m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
}
