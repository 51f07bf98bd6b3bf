/* gemv.c - Z = X · Wᵀ for a few rows of X: the small-batch forward.
 *
 * A GEMM packs both operands into panels before it multiplies; with one to a
 * few rows of X that packing is most of the call, and the multiply itself is
 * bound by how fast W streams in from the cache, not by the FMA units. Here W
 * is read once, in place, as it lies (row-major, (out, in)): four rows of W at
 * a time, each dotted with up to four rows of X in vector lanes (up to 16
 * accumulators), the lanes summed once at the end of each row. Every weight
 * loaded is used by every row of X; the rows of X (a few KB) stay in L1.
 *
 * The sums are taken in a different order from OpenBLAS's (lane by lane, then
 * a tree over the lanes), so a row's outputs can differ in the last bits from
 * the same row in a large batch (docs/PERFORMANCE.md, Inference). */
#include "base.h"

#include <string.h>

#if defined(__AVX512F__)
#define VBYTES 64
#elif defined(__AVX__)
#define VBYTES 32
#else
#define VBYTES 16
#endif
#if defined(__AVX512F__) || defined(__AVX__)
#include <immintrin.h>
#endif

typedef bp_real vreal __attribute__((vector_size(VBYTES)));
#define VL ((int)(VBYTES / sizeof(bp_real))) /* lanes */
#define WR 4                                 /* rows of W in flight */

static inline vreal load(const bp_real *p)
{
    vreal v;
    memcpy(&v, p, sizeof v); /* an unaligned vector load */
    return v;
}

/* a·b + c in one rounding where the CPU has FMA (-std=c11 does not contract
 * a * b + c by itself). */
static inline vreal fmadd(vreal a, vreal b, vreal c)
{
#if defined(__AVX512F__) && defined(BP_REAL_DOUBLE)
    return (vreal)_mm512_fmadd_pd((__m512d)a, (__m512d)b, (__m512d)c);
#elif defined(__AVX512F__)
    return (vreal)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif defined(__FMA__) && defined(BP_REAL_DOUBLE)
    return (vreal)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c);
#elif defined(__FMA__)
    return (vreal)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
#else
    return a * b + c;
#endif
}

/* The sum of a vector's lanes, as a tree. */
static inline bp_real lane_sum(vreal v)
{
#if defined(__AVX512F__) && defined(BP_REAL_DOUBLE)
    return _mm512_reduce_add_pd((__m512d)v);
#elif defined(__AVX512F__)
    return _mm512_reduce_add_ps((__m512)v);
#else
    bp_real t[VL];
    memcpy(t, &v, sizeof v);
    for (int w = VL / 2; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) t[i] += t[i + w];
    return t[0];
#endif
}

/* A value the compiler must hold in a register: left to itself it folds the
 * load into each FMA that uses it, and a row of X is then loaded once per row
 * of W (split in two when the caller's input is not on a cache line). */
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)
#define IN_REG(v) __asm__("" : "+v"(v))
#else
#define IN_REG(v) (void)(v)
#endif

/* Σ_k a[k] b[k] from the lanes of c (the first k of them) and the tail after k. */
static inline bp_real finish(vreal c, const bp_real *a, const bp_real *b, int k, int in)
{
    bp_real s = lane_sum(c);
    for (; k < in; k++) s += a[k] * b[k];
    return s;
}

/* z[r][i] = Σ_k x[r][k] w[i][k] for NW (1 or 4) rows of W and NX (1, 2 or 4)
 * rows of X, both constants once inlined: named accumulators, so that each
 * stays in a register (as an array, GCC spilled some of them in the loop). */
static inline __attribute__((always_inline)) void tile(const bp_real *w, const bp_real *x,
                                                        int in, bp_real *z, int ldz,
                                                        const int NW, const int NX)
{
    const vreal O = {0};
    vreal c00 = O, c01 = O, c02 = O, c03 = O, c10 = O, c11 = O, c12 = O, c13 = O;
    vreal c20 = O, c21 = O, c22 = O, c23 = O, c30 = O, c31 = O, c32 = O, c33 = O;
    const bp_real *x0 = x, *x1 = x + in, *x2 = x + 2 * (size_t)in, *x3 = x + 3 * (size_t)in;
    const bp_real *w0 = w, *w1 = w + in, *w2 = w + 2 * (size_t)in, *w3 = w + 3 * (size_t)in;
    int k = 0;
    for (; k + VL <= in; k += VL) {
        vreal a0 = load(x0 + k), a1 = O, a2 = O, a3 = O;
        IN_REG(a0);
        if (NX > 1) {
            a1 = load(x1 + k);
            IN_REG(a1);
        }
        if (NX > 2) {
            a2 = load(x2 + k), a3 = load(x3 + k);
            IN_REG(a2);
            IN_REG(a3);
        }
#define ROW(i)                                          \
        {                                               \
            vreal b = load(w##i + k);                   \
            IN_REG(b);                                  \
            c##i##0 = fmadd(b, a0, c##i##0);            \
            if (NX > 1) c##i##1 = fmadd(b, a1, c##i##1); \
            if (NX > 2) c##i##2 = fmadd(b, a2, c##i##2); \
            if (NX > 2) c##i##3 = fmadd(b, a3, c##i##3); \
        }
        ROW(0)
        if (NW > 1) {
            ROW(1) ROW(2) ROW(3)
        }
#undef ROW
    }
#define OUT(i, r) z[(size_t)(r) * ldz + (i)] = finish(c##i##r, w##i, x##r, k, in)
    OUT(0, 0);
    if (NX > 1) OUT(0, 1);
    if (NX > 2) OUT(0, 2), OUT(0, 3);
    if (NW > 1) {
        OUT(1, 0), OUT(2, 0), OUT(3, 0);
        if (NX > 1) OUT(1, 1), OUT(2, 1), OUT(3, 1);
        if (NX > 2) OUT(1, 2), OUT(2, 2), OUT(3, 2), OUT(1, 3), OUT(2, 3), OUT(3, 3);
    }
#undef OUT
}

/* One group of NW rows of W against all m rows of X, four at a time. */
static inline __attribute__((always_inline)) void w_group(const bp_real *w, const bp_real *x,
                                                           int m, int in, bp_real *z, int ldz,
                                                           const int NW)
{
    int r = 0;
    for (; r + 4 <= m; r += 4) tile(w, x + (size_t)r * in, in, z + (size_t)r * ldz, ldz, NW, 4);
    if (r + 2 <= m) tile(w, x + (size_t)r * in, in, z + (size_t)r * ldz, ldz, NW, 2), r += 2;
    if (r < m) tile(w, x + (size_t)r * in, in, z + (size_t)r * ldz, ldz, NW, 1);
}

void bp__gemv_rows(const bp_real *x, const bp_real *w, int m, int in, int units, bp_real *z,
                   int ldz)
{
    int o = 0;
    for (; o + WR <= units; o += WR) {
        w_group(w + (size_t)o * in, x, m, in, z + o, ldz, WR);
    }
    for (; o < units; o++) w_group(w + (size_t)o * in, x, m, in, z + o, ldz, 1);
}
