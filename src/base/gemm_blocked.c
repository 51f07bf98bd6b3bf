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
 * The micro-kernel keeps the tile in MR x NV of GNU C's generic vectors
 * (gcc, clang, emscripten), which the compiler maps to the vector unit the
 * build targets (AVX-512 or AVX2 with -march=native, SSE2 without;
 * SIMD128 with emscripten's -msimd128; scalar code where there is none):
 * each lane is one element of C, so the vector width never enters the
 * arithmetic.
 *
 * The order of the operations is a pure function of k (not of m, n, the tile
 * sizes, the vector width, the thread count or the machine): each element
 * c = sum_p a_p b_p is summed one p after the other from 0, in blocks of KC
 * (a constant, the same everywhere: do not tune it per platform), as
 *   s_0 = a_0 b_0 + a_1 b_1 + ... (left to right over the block's KC steps)
 *   c   = alpha s_0 (+ beta c),  then  c = c + alpha s_1,  c = c + alpha s_2 ...
 * with every product and sum rounded on its own: the Makefile builds this
 * file with -ffp-contract=off (and for clang the pragma below says so), so
 * no compiler fuses a·b + c into an FMA on one machine and not on another
 * (fma() would cost a library call where the CPU has none: SSE2-only x86,
 * SIMD128, Cortex-M4 doubles). Padding of edge tiles is zeros in the rows
 * and columns that are never stored; k is never padded; a narrow C computed
 * as Cᵀ (bp__gemm_blocked) sums b a for a b, which IEEE rounds the same. So
 * the BLAS-free build gives the same bits on x86, WebAssembly and a Cortex-M
 * (issue 24), and row or column splits over threads do not change them
 * (tests/test_gemm.c, test_blocked_order, checks the bits against this order
 * written out as scalar loops).
 *
 * The packing buffers are static per thread (_Thread_local; plain static in
 * a build without threads), sized at compile time (MC x KC + KC x NR reals:
 * 164 KiB in float32 with AVX-512, 302 KiB in float64): no allocation per
 * call, and two application threads may multiply at once. */
#include "base.h"

#include <string.h>

#if defined(__clang__) /* clang and emcc contract by default; the Makefile's flag aside */
#pragma STDC FP_CONTRACT OFF
#endif

/* Part of the summation order (see above): the same on every platform. */
#define KC 256

#if defined(__AVX512F__)
#define VBYTES 64
#elif defined(__AVX__)
#define VBYTES 32
#elif defined(__arm__) && !defined(__ARM_NEON) /* a Cortex-M: an FPU (or none), no vectors */
#define SCALAR_TILE
#else
#define VBYTES 16 /* SSE2, SIMD128, NEON */
#endif

/* One vector of C's row: GNU C's generic vectors (gcc, clang, emscripten),
 * elementwise IEEE operations that the compiler maps to the machine's vector
 * unit or, without one, to scalar code. (Loops over a bp_real tile alone
 * left it to the vectorizer, which kept the tile in registers for AVX-512
 * but not for AVX2: 5 GFLOP/s instead of 100.) */
#ifdef SCALAR_TILE
/* Without a vector unit gcc keeps generic vectors (even of one lane) in
 * memory, a load and a store around every multiply-add: 9.8 instructions per
 * MAC on a Cortex-M4F against 3.8 with plain scalars, fully unrolled so that
 * the tile is registers (examples/embedded/train_bench.c, make embedded-bench). */
typedef bp_real vec;
#define VL 1
#define UNROLL _Pragma("GCC unroll 16")
#else
typedef bp_real vec __attribute__((vector_size(VBYTES)));
#define VL ((int)(VBYTES / sizeof(bp_real))) /* lanes */
#define UNROLL
#endif

/* The register tile: MR rows of C by NV vectors, NR = NV VL columns; MR x NV
 * accumulators plus NV of B and a broadcast fit the register file (12 + 3 of
 * 16 ymm with AVX2; of 32 zmm with AVX-512). Neither enters the order of the
 * sums: a build may change them (-DBP_GEMM_MR=4, e.g. for a Cortex-M). */
#ifdef SCALAR_TILE /* 16 accumulators + 4 of B + 1 of A in the M4F's 32 s-registers */
#define BP_GEMM_MR 4
#define BP_GEMM_NV 4
#endif
#ifndef BP_GEMM_MR
#define BP_GEMM_MR (VBYTES == 16 ? 4 : 6)
#endif
#ifndef BP_GEMM_NV
#define BP_GEMM_NV 2
#endif
#define MR BP_GEMM_MR
#define NV BP_GEMM_NV
#define NR (NV * VL)
/* Rows of A packed at once, MC x KC reals that stay in L2: the demo's batch
 * of 128 rows packs in one block (with MC = 120 it took two, and the B
 * panels were packed twice: 0.9x OpenBLAS on the forward instead of 1.5x).
 * Not part of the summation order: a microcontroller build (make
 * embedded-core) packs BP_GEMM_PANELS = 2 panels, a buffer of a few KiB. */
#ifndef BP_GEMM_PANELS
#define BP_GEMM_PANELS ((128 + MR - 1) / MR)
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

static inline vec load(const bp_real *p)
{
    vec v;
    memcpy(&v, p, sizeof v); /* an unaligned vector load */
    return v;
}

static inline void store(bp_real *p, vec v) { memcpy(p, &v, sizeof v); }

/* c (mr, nr), element (i, j) at c[i rs + j cs], <- the (MR, NR) tile
 * a (kc, MR) · b (kc, NR). */
static void micro(int kc, const bp_real *restrict a, const bp_real *restrict b, bp_real *restrict c,
                  size_t rs, size_t cs, int mr, int nr, bp_real alpha, bp_real beta,
                  store_mode mode)
{
    vec t[MR][NV];
    UNROLL for (int i = 0; i < MR; i++)
        UNROLL for (int v = 0; v < NV; v++) t[i][v] = (vec){0};
    for (int p = 0; p < kc; p++, a += MR, b += NR) {
        vec bv[NV];
        UNROLL for (int v = 0; v < NV; v++) bv[v] = load(b + v * VL);
        UNROLL for (int i = 0; i < MR; i++) /* scalar · vector: a[i] broadcast */
            UNROLL for (int v = 0; v < NV; v++) t[i][v] += a[i] * bv[v];
    }
    if (mr == MR && nr == NR && cs == 1) {
        for (int i = 0; i < MR; i++)
            for (int v = 0; v < NV; v++) {
                bp_real *cv = c + i * rs + v * VL;
                vec s = alpha * t[i][v];
                store(cv, mode == STORE_NEW ? s : mode == STORE_BETA ? s + beta * load(cv) : load(cv) + s);
            }
        return;
    }
    bp_real tile[MR][NR]; /* t stays in registers: no pointer to it */
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < NV; v++) store(&tile[i][v * VL], t[i][v]);
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            bp_real *cij = c + i * rs + j * cs;
            *cij = mode == STORE_NEW    ? alpha * tile[i][j]
                   : mode == STORE_BETA ? alpha * tile[i][j] + beta * *cij
                                        : *cij + alpha * tile[i][j];
        }
}

/* C <- beta C (0 when beta is 0, whatever C held): the k = 0 product. */
static void scale_c(int m, int n, bp_real beta, bp_real *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * c[(size_t)i * ldc + j];
}

/* C = alpha op(A) op(B) + beta C with C's element (i, j) at c[i rs + j cs]. */
static void blocked(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
                    const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta, bp_real *c,
                    size_t rs, size_t cs)
{
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
                    micro(kc, abuf + (size_t)ir * kc, bbuf, c + (ic + ir) * rs + jc * cs, rs, cs,
                          mc - ir < MR ? mc - ir : MR, nr, alpha, beta, mode);
            }
        }
    }
}

/* The share of a tile's lanes that a dimension of `d` fills when cut in
 * tiles of `t`. */
static double fill(int d, int t) { return (double)d / (double)((d + t - 1) / t * t); }

void bp__gemm_blocked(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
                      const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
                      bp_real *c, int ldc)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    /* A narrow C (a layer of few units: 10 classes, 1 output) fills few of
     * the NR lanes; then compute Cᵀ = op(B)ᵀ op(A)ᵀ, C's rows in the lanes,
     * and store it transposed. Each element's sum is the same, term by term
     * (b a for a b: IEEE products commute), so the bits are too. Only where
     * it fills twice the lanes: its stores go one element at a time. */
    if (2 * fill(m, MR) * fill(n, NR) < fill(n, MR) * fill(m, NR))
        blocked(!tb, !ta, n, m, k, alpha, b, ldb, a, lda, beta, c, 1, (size_t)ldc);
    else
        blocked(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, (size_t)ldc, 1);
}
