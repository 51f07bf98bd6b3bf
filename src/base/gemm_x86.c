/* gemm_x86.c - the library's own float32 GEMM for x86-64 (issue 25): packed
 * panels and an FMA micro-kernel, AVX-512 (a tile of C of up to 12 x 32 in
 * 24 zmm accumulators, or 8 x 48 for a last panel of 33-48 columns) or AVX2
 * (6 x 16 in 12 ymm), chosen at run time by what the core supports. OpenBLAS
 * on these machines runs its Haswell kernels (OPENBLAS_CORETYPE=Haswell),
 * 256-bit wide even where the core has 512-bit FMA units; this kernel is not
 * bound by that variable.
 *
 * C (m, n) = alpha op(A) op(B) + beta C, row-major, bp__gemm's contract.
 * Blocking (Goto / BLIS), on the library's small training shapes with as
 * little packing as it can:
 *   for each block of NC columns of C          (jc)
 *     for each block of kc steps of k          (pc)   op(B) = Bᵀ (the forward's W):
 *                                                     pack (kc, NC) -> bbuf, L2, by
 *                                                     16 x 16 (8 x 8) register transposes
 *       for each block of 30 row tiles         (t0)   A rows, L2
 *         for each NR columns                  (jr)   B micro-panel (kc, NR), L1 (a wide
 *                                                     last one (kc, 48): panel_cols)
 *           for each row tile                  (t)    micro-kernel: C tile in registers
 * A is read in place (an element broadcast per row and step), B too where
 * its rows are contiguous (dW, dA): packing both, as first written, left
 * the tabular model's step at 0.9-1.4x OpenBLAS's; in place it is 1.6-2.9x.
 * Rows: m is cut into ceil(m / MR) tiles of equal height (m = 10: 5 + 5), each
 * read in place: an 8 + 2 cut left the 2-row tile 4 independent sums, too few
 * for two FMA pipes of 4-cycle latency (dW of a 10-output layer: 62 -> 108
 * GFLOP/s). Columns past n are masked off in B's loads and C's loads and
 * stores. The k blocks are a pure function of k (k split into equal blocks
 * of at most KC), so a row or column split of C over threads gives the same
 * bits (tests/test_gemm.c). Both ISAs sum each element of C in the same
 * order, one FMA per step of k from the block's first, so the AVX-512 and
 * AVX2 paths give the same bits too, and so does any cut into tiles;
 * OpenBLAS sums in another order. (A software prefetch of A's rows ahead
 * measured slower on the forward: 110 -> 98 GFLOP/s.)
 *
 * The packing buffers are static per thread (_Thread_local, as in
 * gemm_blocked.c), sized at compile time (384 KiB): no allocation per call.
 *
 * BP_GEMM_ISA=avx512|avx2|blas (environment, read once) forces a path: the
 * tests and benchmarks run each kind of core's path on one machine; "blas"
 * turns the own kernel off (its products go to bp__gemm). A path the core
 * cannot run is not taken (bp__gemm_x86_isa says which one is). */
#include "base.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Not in float64 (OpenBLAS's) nor in make BLAS=none, whose table never takes
 * it (its point is one order of operations everywhere): no buffers there. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(BP_REAL_DOUBLE) && !defined(BP_NO_BLAS)
#define HAVE_X86_KERNEL 1
#include <immintrin.h>

#include "transpose512.h"
#endif

const char *bp__gemm_isa_name(bp__gemm_isa isa)
{
    static const char *const names[] = {"blas", "avx2", "avx512"};
    return (unsigned)isa < 3 ? names[isa] : "?";
}

#ifdef HAVE_X86_KERNEL

#define KC 256  /* steps of k per block: a (KC, 32) B micro-panel is 32 KiB, in L1; a wide
                 * last one (KC, 48) fills a 48 KiB L1, and measured faster all the same
                 * (128 x 40 x 784: 47.9 against 51.6 us as 32 + 8) */
#define NC 384  /* columns of B packed at once (a multiple of both NRs): 384 KiB, in L2 */
#define TILES_PER_BLOCK 30 /* row tiles swept per B micro-panel: 240 rows of A (360 in 12-row tiles), in L2 */

#ifdef BP__SINGLE_THREAD
#define THREAD_LOCAL
#else
#define THREAD_LOCAL _Thread_local
#endif

static THREAD_LOCAL _Alignas(64) float bbuf[KC * NC]; /* micro-panels, (kc, width) each (pack_bt) */

/* The micro-panels of a block of nc columns: nr_full columns each, but
 * that a rest of at most nr_last columns is one panel (AVX-512's 8-row tiles
 * take the last 33-48 columns as three vectors: as 32 + 16, the 16 columns
 * were a tile of 8 accumulators, one broadcast per FMA, and digits' 100
 * hidden units took 14.5 us where 112 took 13.7). The panel at jr has
 * panel_cols(nc - jr) columns of C, and is panel_width() wide in bbuf. */
static inline int panel_cols(int rest, int nr_full, int nr_last)
{
    return rest <= nr_last ? rest : nr_full;
}

static inline int panel_width(int cols, int nr_full)
{
    return cols <= nr_full ? nr_full : (cols + 15) / 16 * 16;
}

/* bbuf <- op(B)[p0 .. p0+kc, j0 .. j0+nc) for op(B) = Bᵀ (the forward's
 * W: the panel's columns are rows of b) as micro-panels (panel_cols), each
 * (kc, width) step-major, columns past nc zero; the panel at column jr
 * starts at jr kc (those before it are nr_full wide). An op(B) of
 * contiguous rows is read in place. `transpose` packs a (16, width) piece
 * of a panel, rows of b to columns, in the caller's ISA; the steps of k
 * past the last whole 16 are copied one by one. */
typedef void (*transpose_fn)(const float *src, int ld, float *dst, int width, int rows);

static inline __attribute__((always_inline)) void pack_bt(transpose_fn transpose, const float *b,
                                                          int ldb, int p0, int j0, int kc, int nc,
                                                          int nr_full, int nr_last)
{
    for (int jr = 0, nr; jr < nc; jr += nr) {
        nr = panel_cols(nc - jr, nr_full, nr_last);
        int width = panel_width(nr, nr_full);
        float *dst = bbuf + (size_t)jr * kc;
        const float *src = b + (size_t)(j0 + jr) * ldb + p0;
        int p = 0;
        for (; p + 16 <= kc; p += 16) transpose(src + p, ldb, dst + (size_t)p * width, width, nr);
        for (int j = 0; j < width; j++)
            for (int q = p; q < kc; q++) dst[q * width + j] = j < nr ? src[(size_t)j * ldb + q] : 0;
    }
}

/* The micro-kernel's contract: C[0 .. mr, 0 .. nr) (rows ldc apart) =
 * alpha Σ_p op(A)[0 .. mr, p] op(B)[p, 0 .. nr) + beta C; beta 0 does not
 * read C. op(A) element (i, p) is a[p lda + i] when a_trans (an A stored
 * transposed), else a[i lda + p]; op(B) row p is b + p ldb (a packed panel
 * with ldb its width, or B in place), read only in its first nr columns. */
typedef void (*micro_fn)(bool a_trans, int kc, const float *a, int lda, const float *b, int ldb,
                         float *c, int ldc, int mr, int nr, float alpha, float beta);

/* The blocked loops around a micro-kernel of at most (mr_max, nr_full), or
 * nr_last columns in a block's last panel (panel_cols), for each ISA
 * compiled in that ISA's target (always_inline: the loops and packing take
 * the caller's target). A is read in place, in row tiles of
 * equal height (m = 10 is two tiles of 5, not 8 + 2: a tile of few rows has
 * too few independent sums to keep the FMA units busy); B in place when its
 * rows are contiguous (dW, dA), packed when transposed (the forward's W). */
static inline __attribute__((always_inline)) void blocked(
    micro_fn kernel, transpose_fn transpose, int mr_max, int nr_full, int nr_last, bp__trans ta,
    bp__trans tb,
    int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta,
    float *c, int ldc)
{
    int kb = (k + KC - 1) / KC, kc = (k + kb - 1) / kb; /* equal k blocks: a function of k */
    int tiles = (m + mr_max - 1) / mr_max;               /* tile t: rows [t m / tiles, (t+1) m / tiles) */
    for (int jc = 0; jc < n; jc += NC) {
        int nc = n - jc < NC ? n - jc : NC;
        for (int pc = 0; pc < k; pc += kc) {
            int kcur = k - pc < kc ? k - pc : kc;
            float be = pc == 0 ? beta : 1;
            if (tb == BP_TRANS) pack_bt(transpose, b, ldb, pc, jc, kcur, nc, nr_full, nr_last);
            for (int t0 = 0; t0 < tiles; t0 += TILES_PER_BLOCK) {
                int t1 = tiles - t0 < TILES_PER_BLOCK ? tiles : t0 + TILES_PER_BLOCK;
                for (int jr = 0, nr; jr < nc; jr += nr) {
                    nr = panel_cols(nc - jr, nr_full, nr_last);
                    const float *bp = tb == BP_TRANS ? bbuf + (size_t)jr * kcur
                                                     : b + (size_t)pc * ldb + jc + jr;
                    int ldbp = tb == BP_TRANS ? panel_width(nr, nr_full) : ldb;
                    for (int t = t0; t < t1; t++) {
                        int i = (int)((long)t * m / tiles), rows = (int)((long)(t + 1) * m / tiles) - i;
                        const float *ap = ta == BP_TRANS ? a + (size_t)pc * lda + i
                                                         : a + (size_t)i * lda + pc;
                        kernel(ta == BP_TRANS, kcur, ap, lda, bp, ldbp,
                               c + (size_t)i * ldc + jc + jr, ldc, rows, nr, alpha, be);
                    }
                }
            }
        }
    }
}

/* ------------------------------------------------------------- AVX-512 */

/* Loops over the tile's registers unrolled: with a variable index the
 * compiler keeps the tile in memory (a store per FMA: 30 GFLOP/s). */
#define UNROLL _Pragma("GCC unroll 16")

#define MR512 12 /* rows of the tallest tile */
#define NR512 32

/* The (rows, 16 nv) tile: rows up to 12 (the blocked loops cut m into tiles
 * of equal height), nv vectors: 1 for at most 16 columns, 2 for at most 32,
 * 3 (rows up to 8) for a wide last panel (panel_cols). */
static inline __attribute__((always_inline, target("avx512f"))) void tile512(
    int rows, int nv, bool a_trans, int kc, const float *a, int lda, const float *b, int ldb, float *c,
    int ldc, int nr, float alpha, float beta)
{
    __mmask16 mask[3];
    UNROLL
    for (int v = 0; v < 3; v++) {
        int lanes = nr - 16 * v;
        mask[v] = (__mmask16)(lanes >= 16 ? 0xffff : lanes > 0 ? (1u << lanes) - 1 : 0);
    }
    __m512 acc[MR512][3];
    UNROLL
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < nv; v++) acc[i][v] = _mm512_setzero_ps();
    for (int p = 0; p < kc; p++) {
        const float *bp = b + (size_t)p * ldb;
        __m512 bv[3];
        UNROLL
        for (int v = 0; v < nv; v++) bv[v] = _mm512_maskz_loadu_ps(mask[v], bp + 16 * v);
        UNROLL
        for (int i = 0; i < rows; i++) {
            __m512 ai = _mm512_set1_ps(a_trans ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]);
            UNROLL
            for (int v = 0; v < nv; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    /* Training's products (alpha 1, beta 0; beta 1 past the first k block)
     * store without a test per row: a short k (10) left the tests a third of
     * the tile's time. */
    if (alpha == 1 && (beta == 0 || beta == 1)) {
        bool add = beta == 1;
        UNROLL
        for (int i = 0; i < rows; i++)
            for (int v = 0; v < nv; v++) {
                float *row = c + (size_t)i * ldc + 16 * v;
                __m512 r = add ? _mm512_add_ps(acc[i][v], _mm512_maskz_loadu_ps(mask[v], row)) : acc[i][v];
                _mm512_mask_storeu_ps(row, mask[v], r);
            }
        return;
    }
    UNROLL
    for (int i = 0; i < rows; i++) { /* constant indices: the tile stays in registers */
        UNROLL
        for (int v = 0; v < nv; v++) {
            float *row = c + (size_t)i * ldc + 16 * v;
            __m512 r = alpha == 1 ? acc[i][v] : _mm512_mul_ps(va, acc[i][v]);
            if (beta == 1)
                r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mask[v], row));
            else if (beta != 0)
                r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask[v], row), r);
            _mm512_mask_storeu_ps(row, mask[v], r);
        }
    }
}

/* The case of a tile of R rows for both ISAs' micro-kernels: rows, the
 * number of vectors and a_trans as constants, so that the tile stays in
 * registers; 2 vectors past HALF columns. */
#define ROWS_CASE(TILE, HALF, R)                                                           \
    case R:                                                                                \
        if (a_trans && nr > HALF)                                                          \
            TILE(R, 2, true, kc, a, lda, b, ldb, c, ldc, nr, alpha, beta);                 \
        else if (a_trans)                                                                  \
            TILE(R, 1, true, kc, a, lda, b, ldb, c, ldc, nr, alpha, beta);                 \
        else if (nr > HALF)                                                                \
            TILE(R, 2, false, kc, a, lda, b, ldb, c, ldc, nr, alpha, beta);                \
        else                                                                               \
            TILE(R, 1, false, kc, a, lda, b, ldb, c, ldc, nr, alpha, beta);                \
        return;
#define ROWS512(R) ROWS_CASE(tile512, 16, R)
#define WIDE512(R)                                                                         \
    case R:                                                                                \
        tile512(R, 3, false, kc, a, lda, b, ldb, c, ldc, nr, alpha, beta);                 \
        return;

__attribute__((target("avx512f"))) static void micro512(bool a_trans, int kc, const float *a,
                                                        int lda, const float *b, int ldb,
                                                        float *c, int ldc, int mr, int nr,
                                                        float alpha, float beta)
{
    if (nr > NR512) { /* a wide last panel: only for 8-row tiles of A not transposed */
        BP_ASSERT(!a_trans);
        switch (mr) {
            WIDE512(1) WIDE512(2) WIDE512(3) WIDE512(4) WIDE512(5) WIDE512(6) WIDE512(7) WIDE512(8)
        default: BP_ASSERT(0);
        }
    }
    switch (mr) {
        ROWS512(1) ROWS512(2) ROWS512(3) ROWS512(4) ROWS512(5) ROWS512(6) ROWS512(7) ROWS512(8)
        ROWS512(9) ROWS512(10) ROWS512(11) ROWS512(12)
    default: BP_ASSERT(0);
    }
}

/* dst (16, nr_full) <- the first 16 steps of `rows` rows of b (ld apart),
 * transposed: 16 x 16 blocks in registers (transpose512.h); rows past
 * `rows` are zeros. */
__attribute__((target("avx512f"))) static void transpose512(const float *src, int ld, float *dst,
                                                            int nr_full, int rows)
{
    for (int j0 = 0; j0 < nr_full; j0 += 16) {
        __m512 r[16];
        UNROLL
        for (int j = 0; j < 16; j++)
            r[j] = j0 + j < rows ? _mm512_loadu_ps(src + (size_t)(j0 + j) * ld) : _mm512_setzero_ps();
        bp__transpose16(r);
        UNROLL
        for (int q = 0; q < 16; q++) _mm512_storeu_ps(dst + (size_t)q * nr_full + j0, r[q]);
    }
}

__attribute__((target("avx512f"))) static void gemm512(bp__trans ta, bp__trans tb, int m, int n,
                                                       int k, float alpha, const float *a,
                                                       int lda, const float *b, int ldb,
                                                       float beta, float *c, int ldc)
{
    /* 12 rows (24 accumulators) where A's rows of a step are contiguous (dW):
     * 1.10-1.17x 8 rows; where they are lda apart (forward, dA), 12 streams
     * measured no faster than 8 (0.97-1.05x). */
    int mr = ta == BP_TRANS ? MR512 : 8;
    int nr_last = ta == BP_TRANS ? NR512 : NR512 + 16; /* 3 x 8 accumulators; 3 x 12 are too many */
    blocked(micro512, transpose512, mr, NR512, nr_last, ta, tb, m, n, k, alpha, a, lda, b, ldb,
            beta, c, ldc);
}

/* The forward's product for a block of at most 16 rows and n <= 16 outputs
 * with the rows in the lanes: t[c][r] = Σ_p a[r lda + p] w[c ldw + p], each
 * sum in the tiles' order (one FMA a step of k from its block's first, the
 * later blocks added as the tiles add them), so with their bits. A forward
 * of 10 outputs as tiles fills 10 of a vector's 16 lanes with a broadcast an
 * FMA; here 16 rows are transposed 16 steps at a time and every lane works,
 * and softmax finds the block where it computes it (activation.c). Rows past
 * `rows` are zeros. n is a constant in each instance: the sums stay in
 * registers. */
static inline __attribute__((always_inline, target("avx512f"))) void lanes512(
    int n, float t[][16], const float *a, int lda, const float *w, int ldw, int rows, int k)
{
    int kb = (k + KC - 1) / KC, kc = (k + kb - 1) / kb; /* blocked()'s k blocks */
    __m512 sum[16], acc[16];
    UNROLL
    for (int c = 0; c < n; c++) sum[c] = _mm512_setzero_ps();
    for (int pc = 0; pc < k; pc += kc) {
        int kcur = k - pc < kc ? k - pc : kc;
        UNROLL
        for (int c = 0; c < n; c++) acc[c] = _mm512_setzero_ps();
        for (int p0 = 0; p0 < kcur; p0 += 16) {
            int steps = kcur - p0 < 16 ? kcur - p0 : 16;
            __mmask16 live = (__mmask16)((1u << steps) - 1);
            __m512 col[16];
            UNROLL
            for (int r = 0; r < 16; r++)
                col[r] = r < rows ? _mm512_maskz_loadu_ps(live, a + (size_t)r * lda + pc + p0)
                                  : _mm512_setzero_ps();
            bp__transpose16(col); /* col[q] lane r: a[r][pc + p0 + q] */
            const float *wp = w + pc + p0;
            for (int q = 0; q < steps; q++)
                UNROLL
                for (int c = 0; c < n; c++)
                    acc[c] = _mm512_fmadd_ps(col[q], _mm512_set1_ps(wp[(size_t)c * ldw + q]), acc[c]);
        }
        UNROLL
        for (int c = 0; c < n; c++) sum[c] = pc == 0 ? acc[c] : _mm512_add_ps(acc[c], sum[c]);
    }
    UNROLL
    for (int c = 0; c < n; c++) _mm512_storeu_ps(t[c], sum[c]);
}

#define LANES_CASE(N)                                                                      \
    case N:                                                                                \
        lanes512(N, t, a, lda, w, ldw, rows, k);                                           \
        return;

__attribute__((target("avx512f"))) static void forward_lanes512(float t[][16], const float *a,
                                                                int lda, const float *w, int ldw,
                                                                int rows, int n, int k)
{
    switch (n) {
        LANES_CASE(1) LANES_CASE(2) LANES_CASE(3) LANES_CASE(4) LANES_CASE(5) LANES_CASE(6)
        LANES_CASE(7) LANES_CASE(8) LANES_CASE(9) LANES_CASE(10) LANES_CASE(11) LANES_CASE(12)
        LANES_CASE(13) LANES_CASE(14) LANES_CASE(15) LANES_CASE(16)
    default: BP_ASSERT(0);
    }
}

/* ---------------------------------------------------------------- AVX2 */

#define MR256 6
#define NR256 16

static inline __attribute__((always_inline, target("avx2,fma"))) __m256i mask8(int n)
{
    __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), iota); /* lanes j < n */
}

static inline __attribute__((always_inline, target("avx2,fma"))) void tile256(
    int rows, int nv, bool a_trans, int kc, const float *a, int lda, const float *b, int ldb, float *c,
    int ldc, int nr, float alpha, float beta)
{
    __m256i mask[2] = {mask8(nr), mask8(nr - 8)};
    bool full = nr >= 8 * nv; /* plain loads but on a ragged edge */
    __m256 acc[MR256][2];
    UNROLL
    for (int i = 0; i < rows; i++)
        for (int v = 0; v < 2; v++) acc[i][v] = _mm256_setzero_ps();
    for (int p = 0; p < kc; p++) {
        const float *bp = b + (size_t)p * ldb;
        __m256 b0, b1;
        if (full) {
            b0 = _mm256_loadu_ps(bp), b1 = nv == 2 ? _mm256_loadu_ps(bp + 8) : b0;
        } else {
            b0 = _mm256_maskload_ps(bp, mask[0]), b1 = nv == 2 ? _mm256_maskload_ps(bp + 8, mask[1]) : b0;
        }
        UNROLL
        for (int i = 0; i < rows; i++) {
            __m256 ai = _mm256_broadcast_ss(a_trans ? a + (size_t)p * lda + i : a + (size_t)i * lda + p);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            if (nv == 2) acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    /* Training's products (alpha 1, beta 0; beta 1 past the first k block)
     * store without a test per row: a short k (10) left the tests a third of
     * the tile's time. */
    if (alpha == 1 && (beta == 0 || beta == 1)) {
        bool add = beta == 1;
        UNROLL
        for (int i = 0; i < rows; i++)
            for (int v = 0; v < nv; v++) {
                float *row = c + (size_t)i * ldc + 8 * v;
                __m256 r = add ? _mm256_add_ps(acc[i][v], _mm256_maskload_ps(row, mask[v])) : acc[i][v];
                _mm256_maskstore_ps(row, mask[v], r);
            }
        return;
    }
    UNROLL
    for (int i = 0; i < rows; i++) { /* constant indices: the tile stays in registers */
        UNROLL
        for (int v = 0; v < nv; v++) {
            float *row = c + (size_t)i * ldc + 8 * v;
            __m256 r = alpha == 1 ? acc[i][v] : _mm256_mul_ps(va, acc[i][v]);
            if (beta == 1)
                r = _mm256_add_ps(r, _mm256_maskload_ps(row, mask[v]));
            else if (beta != 0)
                r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(row, mask[v]), r);
            _mm256_maskstore_ps(row, mask[v], r);
        }
    }
}

#define ROWS256(R) ROWS_CASE(tile256, 8, R)

__attribute__((target("avx2,fma"))) static void micro256(bool a_trans, int kc, const float *a,
                                                         int lda, const float *b, int ldb,
                                                         float *c, int ldc, int mr, int nr,
                                                         float alpha, float beta)
{
    switch (mr) {
        ROWS256(1) ROWS256(2) ROWS256(3) ROWS256(4) ROWS256(5) ROWS256(6)
    default: BP_ASSERT(0);
    }
}

/* transpose512's contract, 8 x 8 blocks (unpack 32-bit, 64-bit, then 128-bit lanes). */
__attribute__((target("avx2,fma"))) static void transpose256(const float *src, int ld, float *dst,
                                                             int nr_full, int rows)
{
    for (int q0 = 0; q0 < 16; q0 += 8)
        for (int j0 = 0; j0 < nr_full; j0 += 8) {
            __m256 r[8], t[8];
            UNROLL
            for (int j = 0; j < 8; j++)
                r[j] = j0 + j < rows ? _mm256_loadu_ps(src + (size_t)(j0 + j) * ld + q0)
                                     : _mm256_setzero_ps();
            UNROLL
            for (int j = 0; j < 8; j += 2) {
                t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
                t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
            }
            UNROLL
            for (int j = 0; j < 8; j += 4) {
                __m256d t0 = _mm256_castps_pd(t[j]), t1 = _mm256_castps_pd(t[j + 1]);
                __m256d t2 = _mm256_castps_pd(t[j + 2]), t3 = _mm256_castps_pd(t[j + 3]);
                r[j] = _mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2));
                r[j + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2));
                r[j + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3));
                r[j + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3));
            }
            UNROLL
            for (int j = 0; j < 4; j++) {
                t[j] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x20);
                t[j + 4] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x31);
            }
            UNROLL
            for (int q = 0; q < 8; q++) _mm256_storeu_ps(dst + (size_t)(q0 + q) * nr_full + j0, t[q]);
        }
}

__attribute__((target("avx2,fma"))) static void gemm256(bp__trans ta, bp__trans tb, int m, int n,
                                                        int k, float alpha, const float *a,
                                                        int lda, const float *b, int ldb,
                                                        float beta, float *c, int ldc)
{
    blocked(micro256, transpose256, MR256, NR256, NR256, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta,
            c, ldc);
}

/* -------------------------------------------------------------- choice */

static bp__gemm_isa supported(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return BP__GEMM_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return BP__GEMM_ISA_AVX2;
    return BP__GEMM_ISA_BLAS;
}

/* -1: not resolved yet. Atomic: two threads may resolve it at once (to the
 * same value). */
static atomic_int chosen = -1;

bp__gemm_isa bp__gemm_x86_isa(void)
{
    int isa = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (isa >= 0) return (bp__gemm_isa)isa;
    bp__gemm_isa best = supported();
    isa = best;
    const char *env = getenv("BP_GEMM_ISA");
    if (env)
        for (int i = 0; i < 3; i++)
            if (!strcmp(env, bp__gemm_isa_name((bp__gemm_isa)i)) && i <= (int)best) isa = i;
    atomic_store_explicit(&chosen, isa, memory_order_relaxed);
    return (bp__gemm_isa)isa;
}

bool bp__gemm_x86_isa_set(bp__gemm_isa isa)
{
    if ((int)isa < 0) {
        atomic_store_explicit(&chosen, -1, memory_order_relaxed); /* back to auto */
        return true;
    }
    if (isa > supported()) return false;
    atomic_store_explicit(&chosen, (int)isa, memory_order_relaxed);
    return true;
}

void bp__gemm_x86(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
                  const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
                  bp_real *c, int ldc)
{
    if (m <= 0 || n <= 0) return;
    bp__gemm_isa isa = bp__gemm_x86_isa();
    if (isa == BP__GEMM_ISA_BLAS || k <= 0 || alpha == 0) {
        bp__gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    if (isa == BP__GEMM_ISA_AVX512)
        gemm512(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        gemm256(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

bool bp__forward_lanes_x86(bp_real t[][16], const bp_real *a, int lda, const bp_real *w, int ldw,
                           int rows, int n, int k)
{
    if (bp__gemm_x86_isa() != BP__GEMM_ISA_AVX512 || rows < 1 || rows > 16 || n < 1 || n > 16 || k < 1)
        return false;
    forward_lanes512(t, a, lda, w, ldw, rows, n, k);
    return true;
}

#else /* no x86-64 float kernel: the BLAS kernel under the same name */

bp__gemm_isa bp__gemm_x86_isa(void)
{
    return BP__GEMM_ISA_BLAS;
}

bool bp__gemm_x86_isa_set(bp__gemm_isa isa)
{
    return (int)isa <= (int)BP__GEMM_ISA_BLAS;
}

void bp__gemm_x86(bp__trans ta, bp__trans tb, int m, int n, int k, bp_real alpha,
                  const bp_real *a, int lda, const bp_real *b, int ldb, bp_real beta,
                  bp_real *c, int ldc)
{
    bp__gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

bool bp__forward_lanes_x86(bp_real t[][16], const bp_real *a, int lda, const bp_real *w, int ldw,
                           int rows, int n, int k)
{
    (void)t, (void)a, (void)lda, (void)w, (void)ldw, (void)rows, (void)n, (void)k;
    return false;
}

#endif
