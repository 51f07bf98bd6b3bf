/* bench_peak.c - the FP32 peak of one core, the yardstick of every "fraction
 * of peak" that make bench prints: independent chains of FMAs on registers,
 * nothing loaded or stored, as wide as the core allows (512-bit where it has
 * AVX-512, else 256-bit), and the 256-bit rate beside it (what OpenBLAS's
 * Haswell kernels can reach under OPENBLAS_CORETYPE=Haswell).
 *
 *   bench_peak [ROUNDS]      (default 5)
 *
 * Prints, medians over the rounds, each round the best of 3 runs of ~20 ms:
 *   peak_gflops <widest>  isa <avx512|avx2|none>  peak256_gflops <256-bit> */
#include "bench.h"

#include <stdio.h>
#include <string.h>

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

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    if (rounds < 1 || rounds > 101) {
        fprintf(stderr, "bench_peak: ROUNDS must be 1..101, not '%s'\n", argv[1]);
        return 2;
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    int has512 = __builtin_cpu_supports("avx512f");
    int has256 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!has256) {
        puts("peak_gflops 0 isa none peak256_gflops 0");
        return 0;
    }
    double wide[101], narrow[101];
    for (int r = 0; r < rounds; r++) {
        narrow[r] = best_of_3(run256);
        wide[r] = has512 ? best_of_3(run512) : narrow[r];
    }
    qsort(wide, (size_t)rounds, sizeof *wide, cmp);
    qsort(narrow, (size_t)rounds, sizeof *narrow, cmp);
    printf("peak_gflops %.1f isa %s peak256_gflops %.1f\n", wide[rounds / 2],
           has512 ? "avx512" : "avx2", narrow[rounds / 2]);
#else
    (void)rounds;
    puts("peak_gflops 0 isa none peak256_gflops 0");
#endif
    return 0;
}
