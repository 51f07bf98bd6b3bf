/* peak.h - the core's FP32 peak by chains of FMAs on registers (bench_peak.c
 * prints it; bench_gemm_x86.c measures it in its own run for its fractions).
 * peak_gflops(&isa): the widest rate (512-bit with AVX-512, else 256-bit),
 * median of `rounds` rounds of best-of-3. */
#ifndef BP_BENCH_PEAK_H
#define BP_BENCH_PEAK_H

#include "bench.h"

#include <stdio.h>
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define CHAINS 12 /* enough in flight to cover 4-cycle latency on two FMA pipes */
#define ITERS 100000

/* 12 chains of 8-lane FMAs: 2 * 8 * 12 flops an iteration. */
__attribute__((target("avx2,fma"))) static double run256(void)
{
    __m256 acc[CHAINS], x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_set1_ps((float)c);
    double t0 = now();
    for (int i = 0; i < ITERS; i++)
        for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_fmadd_ps(acc[c], x, y);
    double dt = now() - t0;
    float sink[8];
    __m256 s = acc[0];
    for (int c = 1; c < CHAINS; c++) s = _mm256_add_ps(s, acc[c]);
    _mm256_storeu_ps(sink, s);
    if (sink[0] == 12345.f) puts(""); /* keeps the chains alive */
    return 2.0 * 8 * CHAINS * ITERS / dt * 1e-9;
}

__attribute__((target("avx512f"))) static double run512(void)
{
    __m512 acc[CHAINS], x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_ps((float)c);
    double t0 = now();
    for (int i = 0; i < ITERS; i++)
        for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_fmadd_ps(acc[c], x, y);
    double dt = now() - t0;
    __m512 s = acc[0];
    for (int c = 1; c < CHAINS; c++) s = _mm512_add_ps(s, acc[c]);
    if (_mm512_reduce_add_ps(s) == 12345.f) puts("");
    return 2.0 * 16 * CHAINS * ITERS / dt * 1e-9;
}
#endif

static double best_of_3(double (*f)(void))
{
    double best = 0;
    for (int t = 0; t < 3; t++) {
        double r = f();
        if (r > best) best = r;
    }
    return best;
}

static int peak_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median over rounds (1 .. 101) of the widest rate in GFLOP/s, 0 without
 * AVX2; *isa "avx512", "avx2" or "none"; *narrow the 256-bit rate. */
static inline double peak_gflops(int rounds, const char **isa, double *narrow_out)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    int has512 = __builtin_cpu_supports("avx512f");
    int has256 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!has256) {
        *isa = "none", *narrow_out = 0;
        return 0;
    }
    double wide[101], narrow[101];
    for (int r = 0; r < rounds; r++) {
        narrow[r] = best_of_3(run256);
        wide[r] = has512 ? best_of_3(run512) : narrow[r];
    }
    qsort(wide, (size_t)rounds, sizeof *wide, peak_cmp);
    qsort(narrow, (size_t)rounds, sizeof *narrow, peak_cmp);
    *isa = has512 ? "avx512" : "avx2", *narrow_out = narrow[rounds / 2];
    return wide[rounds / 2];
#else
    (void)rounds;
    *isa = "none", *narrow_out = 0;
    return 0;
#endif
}

#endif
