/* gemm_blocked.c - the library's own GEMM, in plain C11: the kernel of the
 * BLAS-free build (make BLAS=none), compiled into every build so that the
 * tests compare it with OpenBLAS and with the reference.
 *
 * C (m, n) = alpha op(A) op(B) + beta C, row-major, bp__gemm's contract.
 * Blocking (Goto / BLIS, with the B panel one micro-panel wide):
 *   for each block of KC steps of k            (pc)
 *     for each block of MC rows of C           (ic)   pack A (MC, KC) -> abuf, L2
 *       for each NR columns of C               (jc)   pack B (KC, NR) -> bbuf, L1
 *         for each MR rows of the block        (ir)   micro-kernel: an (MR, NR)
 *                                                     tile of C in registers
 * The micro-kernel is loops over constant MR and NR that gcc and clang
 * vectorize along NR (AVX-512, AVX2, SSE with -march; SIMD128 with
 * emscripten's -msimd128; scalar code elsewhere): each lane is one element of
 * C, so the vector width never enters the arithmetic.
 *
 * The order of the operations is a pure function of k (not of m, n, the tile
 * sizes, the vector width, the thread count or the machine): each element
 * c = sum_p a_p b_p is summed one p after the other from 0, in blocks of KC
 * (a constant, the same everywhere: do not tune it per platform), as
 *   s_0 = a_0 b_0 + a_1 b_1 + ... (left to right over the block's KC steps)
 *   c   = alpha s_0 (+ beta c),  then  c = c + alpha s_1,  c = c + alpha s_2 ...
 * with every product and sum rounded on its own: the Makefile builds this
 * file with -ffp-contract=off, so no compiler fuses a·b + c into an FMA on
 * one machine and not on another (fma() would cost a library call where the
 * CPU has none: SSE2-only x86, SIMD128, Cortex-M4 doubles). Padding of edge
 * tiles is zeros in the rows and columns that are never stored; k is never
 * padded. So the BLAS-free build gives the same bits on x86, WebAssembly and
 * a Cortex-M (issue 24), and row splits over threads do not change them.
 *
 * The packing buffers are static per thread (_Thread_local; plain static in
 * a build without threads), sized at compile time: no allocation per call,
 * and two application threads may multiply at once. */
#include "base.h"

#include <string.h>

/* Part of the summation order (see above): the same on every platform. */
#define KC 256

#if defined(__AVX512F__)
#define VBYTES 64
#elif defined(__AVX__)
#define VBYTES 32
#elif defined(__SSE2__) || defined(__wasm_simd128__) || defined(__ARM_NEON)
#define VBYTES 16
#else
#define VBYTES 0 /* no vector unit: scalar tiles */
#endif

/* The register tile: MR rows of C by NR columns, two vectors wide, MR chosen
 * so that the tile plus a row of B and a broadcast fit the register file
 * (12 of 16 ymm with AVX2; 12 of 32 zmm with AVX-512). */
#if VBYTES == 0
#define NR 4
#define MR 4
#else
#define NR (2 * VBYTES / (int)sizeof(bp_real))
#if VBYTES == 16
#define MR 4
#else
#define MR 6
#endif
#endif
/* Rows of A packed at once: MC x KC reals stay in L2. Not part of the
 * summation order: a microcontroller build (make embedded-core) packs
 * BP_GEMM_PANELS = 2 panels, an 8 KiB buffer in place of 80 KiB. */
#ifndef BP_GEMM_PANELS
#define BP_GEMM_PANELS 20
#endif
#define MC (MR * BP_GEMM_PANELS)

#ifdef BP__SINGLE_THREAD
#define THREAD_LOCAL
#else
#define THREAD_LOCAL _Thread_local
#endif

static THREAD_LOCAL _Alignas(64) bp_real abuf[MC * KC]; /* MR-row micro-panels, (MR, kc) each */
static THREAD_LOCAL _Alignas(64) bp_real bbuf[KC * NR]; /* one micro-panel, (kc, NR) */

/* abuf <- op(A)[i0 .. i0+mc, p0 .. p0+kc) as micro-panels of MR rows, each
 * (kc, MR) step-major, rows past mc zero. */
static void pack_a(bp__trans ta, const bp_real *a, int lda, int i0, int p0, int mc, int kc)
{
    for (int ir = 0; ir < mc; ir += MR) {
        bp_real *dst = abuf + (size_t)ir * kc;
        int mr = mc - ir < MR ? mc - ir : MR;
        for (int i = 0; i < MR; i++) {
            if (i >= mr) {
                for (int p = 0; p < kc; p++) dst[p * MR + i] = 0;
            } else if (ta == BP_NO_TRANS) {
                const bp_real *src = a + (size_t)(i0 + ir + i) * lda + p0;
                for (int p = 0; p < kc; p++) dst[p * MR + i] = src[p];
            } else {
                const bp_real *src = a + (size_t)p0 * lda + i0 + ir + i;
                for (int p = 0; p < kc; p++) dst[p * MR + i] = src[(size_t)p * lda];
            }
        }
    }
}

/* bbuf <- op(B)[p0 .. p0+kc, j0 .. j0+nr), (kc, NR), columns past nr zero. */
static void pack_b(bp__trans tb, const bp_real *b, int ldb, int p0, int j0, int kc, int nr)
{
    if (tb == BP_NO_TRANS) {
        for (int p = 0; p < kc; p++) {
            const bp_real *src = b + (size_t)(p0 + p) * ldb + j0;
            bp_real *dst = bbuf + (size_t)p * NR;
            for (int j = 0; j < nr; j++) dst[j] = src[j];
            for (int j = nr; j < NR; j++) dst[j] = 0;
        }
        return;
    }
    for (int j = 0; j < NR; j++) {
        if (j >= nr) {
            for (int p = 0; p < kc; p++) bbuf[(size_t)p * NR + j] = 0;
            continue;
        }
        const bp_real *src = b + (size_t)(j0 + j) * ldb + p0;
        for (int p = 0; p < kc; p++) bbuf[(size_t)p * NR + j] = src[p];
    }
}

/* How a tile's sums meet C: the first k block scales the old C by beta (or
 * ignores it when beta is 0, NaNs included), the later ones add to it. */
typedef enum { STORE_NEW, STORE_BETA, STORE_ADD } store_mode;

/* c (mr, nr), rows ldc apart, <- the (MR, NR) tile a (kc, MR) · b (kc, NR). */
static void micro(int kc, const bp_real *restrict a, const bp_real *restrict b, bp_real *restrict c,
                  int ldc, int mr, int nr, bp_real alpha, bp_real beta, store_mode mode)
{
    bp_real t[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) t[i][j] = 0;
    for (int p = 0; p < kc; p++, a += MR, b += NR)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) t[i][j] += a[i] * b[j];
    if (mr == MR && nr == NR) { /* constant bounds: vector stores */
        for (int i = 0; i < MR; i++) {
            bp_real *ci = c + (size_t)i * ldc;
            if (mode == STORE_NEW)
                for (int j = 0; j < NR; j++) ci[j] = alpha * t[i][j];
            else if (mode == STORE_BETA)
                for (int j = 0; j < NR; j++) ci[j] = alpha * t[i][j] + beta * ci[j];
            else
                for (int j = 0; j < NR; j++) ci[j] = ci[j] + alpha * t[i][j];
        }
        return;
    }
    for (int i = 0; i < mr; i++) {
        bp_real *ci = c + (size_t)i * ldc;
        for (int j = 0; j < nr; j++)
            ci[j] = mode == STORE_NEW    ? alpha * t[i][j]
                    : mode == STORE_BETA ? alpha * t[i][j] + beta * ci[j]
                                         : ci[j] + alpha * t[i][j];
    }
}

/* C <- beta C (0 when beta is 0, whatever C held): the k = 0 product. */
static void scale_c(int m, int n, bp_real beta, bp_real *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * c[(size_t)i * ldc + j];
}

void bp__gemm_blocked(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
                      const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
                      bp_real *c, int ldc)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    for (int pc = 0; pc < k; pc += KC) {
        int kc = k - pc < KC ? k - pc : KC;
        store_mode mode = pc > 0 ? STORE_ADD : beta == 0 ? STORE_NEW : STORE_BETA;
        for (int ic = 0; ic < m; ic += MC) {
            int mc = m - ic < MC ? m - ic : MC;
            pack_a(ta, a, lda, ic, pc, mc, kc);
            for (int jc = 0; jc < n; jc += NR) {
                int nr = n - jc < NR ? n - jc : NR;
                pack_b(tb, b, ldb, pc, jc, kc, nr);
                for (int ir = 0; ir < mc; ir += MR)
                    micro(kc, abuf + (size_t)ir * kc, bbuf, c + (size_t)(ic + ir) * ldc + jc, ldc,
                          mc - ir < MR ? mc - ir : MR, nr, alpha, beta, mode);
            }
        }
    }
}
