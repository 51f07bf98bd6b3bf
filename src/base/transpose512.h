/* transpose512.h - a 16 x 16 block of floats transposed in AVX-512
 * registers: r[i] lane j <- r[j] lane i (unpack 32-bit, then 64-bit pairs,
 * then 128-bit lanes twice: 64 shuffles). The GEMM packs the forward's Wᵀ
 * with it (gemm_x86.c), softmax moves 16 rows into its lanes and back
 * (activation.c). Callers include it only on x86-64 with GCC or clang. */
#ifndef BP_TRANSPOSE512_H
#define BP_TRANSPOSE512_H

#include <immintrin.h>

static inline __attribute__((always_inline, target("avx512f"))) void bp__transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int j = 0; j < 16; j += 2) {
        t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 16; j += 4) {
        __m512d t0 = _mm512_castps_pd(t[j]), t1 = _mm512_castps_pd(t[j + 1]);
        __m512d t2 = _mm512_castps_pd(t[j + 2]), t3 = _mm512_castps_pd(t[j + 3]);
        r[j] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        r[j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        r[j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        r[j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (int h = 0; h < 16; h += 8)
        for (int j = 0; j < 4; j++) {
            t[h + j] = _mm512_shuffle_f32x4(r[h + j], r[h + j + 4], 0x88);
            t[h + j + 4] = _mm512_shuffle_f32x4(r[h + j], r[h + j + 4], 0xdd);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
    }
}

#endif
