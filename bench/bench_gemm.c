/* bench_gemm.c - the library's own GEMM (src/base/gemm_blocked.c, the kernel
 * of make BLAS=none) beside bp__gemm (OpenBLAS) on one thread, on the GEMMs
 * of one training step: per layer the forward Z = A·Wᵀ, dW = dZᵀ·A and, but
 * for the first layer, dA = dZ·W, at the model's batch.
 *
 *   bench_gemm [ROUNDS]     (default 15)
 *
 * Each round times the own kernel, then OpenBLAS, each the best of 3 runs of
 * about 20 ms, so a slow spell of this shared machine falls on both; the rows are
 * medians over the rounds: GFLOP/s of each, and own/OpenBLAS as the median of
 * the per-round ratios. In a BLAS=none build bp__gemm is the own kernel too,
 * and the ratio is about 1. */
#include "internal.h"

#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUNDS 101

typedef struct {
    const char *name;
    bp__trans ta, tb;
    int m, n, k;
} shape;

typedef void (*gemm_fn)(bp__trans, bp__trans, int, int, int, bp_real, const bp_real *, int,
                        const bp_real *, int, bp_real, bp_real *, int);

static bp_real *a, *b, *c;

/* Seconds per call of the products s[0 .. ns), all of them once per call. */
static double time_set(gemm_fn f, const shape *s, int ns, double flops)
{
    int reps = (int)(2e9 / flops) + 1; /* about 20 ms at 100 GFLOP/s, */
    double best = 1e30;
    for (int t = 0; t < 3; t++) { /* the best of 3 within the round */
        double t0 = now();
        for (int r = 0; r < reps; r++)
            for (int i = 0; i < ns; i++) {
                int lda = s[i].ta ? s[i].m : s[i].k, ldb = s[i].tb ? s[i].k : s[i].n;
                f(s[i].ta, s[i].tb, s[i].m, s[i].n, s[i].k, 1, a, lda, b, ldb, 0, c, s[i].n);
            }
        double dt = (now() - t0) / reps;
        best = dt < best ? dt : best;
    }
    return best;
}

static int cmp(const void *x, const void *y)
{
    double u = *(const double *)x, v = *(const double *)y;
    return (u > v) - (u < v);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void row(const char *name, const shape *s, int ns, int rounds)
{
    double flops = 0, own[MAX_ROUNDS], blas[MAX_ROUNDS], ratio[MAX_ROUNDS];
    for (int i = 0; i < ns; i++) flops += 2.0 * s[i].m * s[i].n * s[i].k;
    time_set(bp__gemm_blocked, s, ns, flops), time_set(bp__gemm, s, ns, flops); /* warm up */
    for (int r = 0; r < rounds; r++) {
        double t_own = time_set(bp__gemm_blocked, s, ns, flops), t_blas = time_set(bp__gemm, s, ns, flops);
        own[r] = flops / t_own / 1e9, blas[r] = flops / t_blas / 1e9, ratio[r] = t_blas / t_own;
    }
    printf("%-34s %9.1f %9.1f %8.2f\n", name, median(own, rounds), median(blas, rounds),
           median(ratio, rounds));
}

/* The step's products of a model (layers sizes[0 .. n]) at `batch`, as rows:
 * one per kind of product (all layers), then all of them. */
static void model(const char *name, const char *layers, int batch, int rounds)
{
    bp_model_config mc = bp_model_config_default();
    if (parse_layers(layers, &mc) || mc.n_layers > 8) abort();
    const int *sizes = mc.sizes, n = mc.n_layers;
    shape fwd[8], dw[8], da[8], all[24];
    int nf = 0, nw = 0, na = 0, nall = 0;
    for (int l = 0; l < n; l++) {
        int in = sizes[l], out = sizes[l + 1];
        fwd[nf++] = (shape){"", BP_NO_TRANS, BP_TRANS, batch, out, in};
        dw[nw++] = (shape){"", BP_TRANS, BP_NO_TRANS, out, in, batch};
        if (l) da[na++] = (shape){"", BP_NO_TRANS, BP_NO_TRANS, batch, in, out};
    }
    memcpy(all, fwd, sizeof *fwd * nf), nall = nf;
    memcpy(all + nall, dw, sizeof *dw * nw), nall += nw;
    memcpy(all + nall, da, sizeof *da * na), nall += na;
    char title[64];
    snprintf(title, sizeof title, "%s, batch %d", name, batch);
    printf("%s\n", title);
    row("  forward Z = A W^T", fwd, nf, rounds);
    row("  dW = dZ^T A", dw, nw, rounds);
    row("  dA = dZ W", da, na, rounds);
    row("  the step's GEMMs", all, nall, rounds);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 15;
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench_gemm: ROUNDS must be 1 to %d\n", MAX_ROUNDS);
        return 2;
    }
    bp_set_threads(1); /* also OpenBLAS's threads to 1, as the library keeps them */
    size_t big = 784 * 256 + 64;
    a = calloc(big, sizeof *a), b = calloc(big, sizeof *b), c = calloc(big, sizeof *c);
    if (!a || !b || !c) return 1;
    bp_rng r;
    bp_rng_seed(&r, 1);
    for (size_t i = 0; i < big; i++) a[i] = (bp_real)bp_rng_uniform(&r), b[i] = (bp_real)bp_rng_uniform(&r);
#ifdef BP_NO_BLAS
    const char *blas = "bp__gemm (BLAS=none: the own kernel too)";
#else
    const char *blas = "OpenBLAS";
#endif
    const char *core = getenv("OPENBLAS_CORETYPE");
    printf("GEMM, 1 thread, %s: the library's own (gemm_blocked.c) beside %s%s%s%s;\n"
           "medians of %d alternating rounds\n",
           BP_REAL_NAME, blas, core ? " (OPENBLAS_CORETYPE=" : "", core ? core : "", core ? ")" : "",
           rounds);
    printf("%-34s %9s %9s %8s\n", "products", "own GF/s", "BLAS GF/s", "own/BLAS");
    model("fmnist 784-256-128-10", "784,256,128,10", 128, rounds);
    model("tabular 20-64-64-1", "20,64,64,1", 32, rounds);
    free(a), free(b), free(c);
    return 0;
}
