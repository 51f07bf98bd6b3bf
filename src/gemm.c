/* gemm.c - the one GEMM wrapper (OpenBLAS cblas_sgemm / cblas_dgemm) and the
 * naive reference the tests compare it with. */
#include "internal.h"

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
