/* bench_peak.c - the FP32 peak of one core, the yardstick of every "fraction
 * of peak" that make bench prints: independent chains of FMAs on registers,
 * nothing loaded or stored, as wide as the core allows (512-bit where it has
 * AVX-512, else 256-bit), and the 256-bit rate beside it (what OpenBLAS's
 * Haswell kernels can reach under OPENBLAS_CORETYPE=Haswell).
 *
 *   bench_peak [ROUNDS]      (default 5)
 *
 * Prints, medians over the rounds, each round the best of 3 runs of ~20 ms:
 *   peak_gflops <widest>  isa <avx512|avx2|none>  peak256_gflops <256-bit>
 * then the divider's best over the rounds, ns per float at the widest width:
 *   div_ns <a quotient>  sqrt_ns <a square root> */
#include "peak.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    if (rounds < 1 || rounds > 101) {
        fprintf(stderr, "bench_peak: ROUNDS must be 1..101, not '%s'\n", argv[1]);
        return 2;
    }
    const char *isa;
    double narrow, wide = peak_gflops(rounds, &isa, &narrow);
    double div, root;
    divider_ns(rounds, &div, &root);
    printf("peak_gflops %.1f isa %s peak256_gflops %.1f div_ns %.4f sqrt_ns %.4f\n", wide, isa,
           narrow, div, root);
    return 0;
}
