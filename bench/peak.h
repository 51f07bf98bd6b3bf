/* peak.h - the core's FP32 peak by chains of FMAs on registers (bench_peak.c
 * prints it; bench_gemm_x86.c measures it in its own run for its fractions).
 * peak_gflops(&isa): the widest rate (512-bit with AVX-512, else 256-bit),
 * median of `rounds` rounds of best-of-3; divider_ns: the divider's
 * throughput, the floor of an update that divides (Adam's). */
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

/* The divider: ns per float quotient and per float square root, 8 chains of
 * 16-lane (or 8-lane) x = 3 / x and x = sqrt(pi x) (values that stay
 * generic), enough in flight that the unit's throughput, not its latency,
 * sets the time. Adam as PyTorch computes it takes two quotients and a root
 * per parameter (one quotient once sqrt(1 - b2^t) rounds to 1), which no
 * other unit can do for it: its floor. */
#define DIV_CHAINS 8
#define DIV_ITERS 20000

#define DIVIDER_RUN(NAME, TARGET, VEC, LANES, SET1, DIV, SQRT, MUL, FIRST)            \
    __attribute__((target(TARGET))) static void NAME(double *div_ns, double *sqrt_ns)  \
    {                                                                                   \
        VEC x[DIV_CHAINS], three = SET1(3.0f), pi = SET1(3.14159265f);                  \
        for (int c = 0; c < DIV_CHAINS; c++) x[c] = SET1(1.5f + 0.1f * c);              \
        double t0 = now();                                                              \
        for (int i = 0; i < DIV_ITERS; i++)                                             \
            for (int c = 0; c < DIV_CHAINS; c++) x[c] = DIV(three, x[c]);               \
        double t1 = now();                                                              \
        for (int i = 0; i < DIV_ITERS; i++)                                             \
            for (int c = 0; c < DIV_CHAINS; c++) x[c] = SQRT(MUL(pi, x[c]));            \
        double t2 = now();                                                              \
        VEC s = x[0];                                                                   \
        for (int c = 1; c < DIV_CHAINS; c++) s = MUL(s, x[c]);                          \
        if (FIRST(s) == 12345.f) puts("");                                              \
        double per = 1e9 / ((double)DIV_ITERS * DIV_CHAINS * LANES);                    \
        *div_ns = (t1 - t0) * per, *sqrt_ns = (t2 - t1) * per;                          \
    }
DIVIDER_RUN(divider256, "avx2,fma", __m256, 8, _mm256_set1_ps, _mm256_div_ps, _mm256_sqrt_ps,
            _mm256_mul_ps, _mm256_cvtss_f32)
DIVIDER_RUN(divider512, "avx512f", __m512, 16, _mm512_set1_ps, _mm512_div_ps, _mm512_sqrt_ps,
            _mm512_mul_ps, _mm512_cvtss_f32)
#endif

/* The divider's best ns per quotient and per root over `rounds` runs, at the
 * widest width (0, 0 without AVX2). */
static inline void divider_ns(int rounds, double *div_ns, double *sqrt_ns)
{
    *div_ns = *sqrt_ns = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    int has512 = __builtin_cpu_supports("avx512f");
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return;
    for (int r = 0; r < rounds; r++) {
        double d, q;
        if (has512) divider512(&d, &q);
        else divider256(&d, &q);
        if (r == 0 || d < *div_ns) *div_ns = d;
        if (r == 0 || q < *sqrt_ns) *sqrt_ns = q;
    }
#else
    (void)rounds;
#endif
}

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
