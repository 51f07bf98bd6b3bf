/* TEMPORARY (until the i22-gemm merge): a naive cblas for the wasm build. */
#ifndef TMP_CBLAS_H
#define TMP_CBLAS_H
enum CBLAS_ORDER { CblasRowMajor = 101 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112 };
static inline void tmp_gemm_(int ta, int tb, int m, int n, int k, double alpha, const float *a,
                             int lda, const float *b, int ldb, double beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float acc = 0;
            for (int p = 0; p < k; p++)
                acc += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = (float)(alpha * acc + (beta == 0 ? 0 : beta * c[i * ldc + j]));
        }
}
#define cblas_sgemm(o, ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc) \
    tmp_gemm_((ta) == CblasTrans, (tb) == CblasTrans, m, n, k, al, a, lda, b, ldb, be, c, ldc)
#define openblas_set_num_threads(n) ((void)(n))
#endif
