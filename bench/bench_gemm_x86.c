/* bench_gemm_x86.c - the candidates for the training step's GEMMs (issue 25),
 * float32, 1 thread, on the library's own training shapes: per model and
 * batch, each product (forward Z = A·Wᵀ, dW = dZᵀ·A, dA = dZ·W, all layers
 * of the model) and the whole step's set, in GFLOP/s and as a fraction of the
 * core's FP32 peak measured in the same run (bench/peak.h).
 *
 *   bench_gemm_x86 [ROUNDS [each]]     (default 9; "each": a row per layer too)
 *
 * Candidates: OpenBLAS (bp__gemm, under the environment's OPENBLAS_CORETYPE),
 * the library's own x86 kernel on each path the core can run (gemm_x86.c:
 * AVX-512, AVX2), the portable blocked kernel of make BLAS=none
 * (gemm_blocked.c), and, where this program was built with them (the
 * Makefile adds them when their headers exist; the library never links
 * them), libxsmm's JIT kernels (libxsmm-dev) and BLIS (libblis-dev).
 * Each round times every candidate in turn, each the best of 3 runs of about
 * 10 ms, so a slow spell of the shared machine falls on all; the table gives
 * medians over the rounds. */
#include "internal.h"

#include "bench.h"
#include "peak.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef BP_REAL_DOUBLE /* the float64 products stay on OpenBLAS: nothing to compare */
int main(void)
{
    puts("bench_gemm_x86: a float32 benchmark (the float64 products stay on OpenBLAS)");
    return 0;
}
#else

#ifdef BP_BENCH_LIBXSMM
#include <libxsmm.h>
#endif
#ifdef BP_BENCH_BLIS
#include <blis.h>
#endif

#define MAX_ROUNDS 101
#define MAX_SHAPES 24

typedef struct {
    bp__trans ta, tb;
    int m, n, k;
#ifdef BP_BENCH_LIBXSMM
    libxsmm_smmfunction xsmm; /* NULL where libxsmm has no JIT kernel */
#endif
} shape;

static float *a, *b, *c;

static void run_blas(const shape *s, int lda, int ldb)
{
    bp__gemm(s->ta, s->tb, s->m, s->n, s->k, 1, a, lda, b, ldb, 0, c, s->n);
}
static void run_own(const shape *s, int lda, int ldb)
{
    bp__gemm_x86(s->ta, s->tb, s->m, s->n, s->k, 1, a, lda, b, ldb, 0, c, s->n);
}
static void run_blocked(const shape *s, int lda, int ldb)
{
    bp__gemm_blocked(s->ta, s->tb, s->m, s->n, s->k, 1, a, lda, b, ldb, 0, c, s->n);
}
#ifdef BP_BENCH_LIBXSMM
/* Row-major C = op(A) op(B) is column-major Cᵀ = op(B)ᵀ op(A)ᵀ: libxsmm
 * (column-major) gets B first, with the transposes swapped. */
static libxsmm_smmfunction xsmm_dispatch(const shape *s, int lda, int ldb)
{
    libxsmm_blasint m = s->n, n = s->m, k = s->k, la = ldb, lb = lda, lc = s->n;
    float alpha = 1, beta = 0;
    int flags = (s->tb ? LIBXSMM_GEMM_FLAG_TRANS_A : 0) | (s->ta ? LIBXSMM_GEMM_FLAG_TRANS_B : 0);
    return libxsmm_smmdispatch(m, n, k, &la, &lb, &lc, &alpha, &beta, &flags, NULL);
}
static void run_xsmm(const shape *s, int lda, int ldb)
{
    (void)lda, (void)ldb;
    s->xsmm(b, a, c);
}
/* libxsmm's kernel against the reference once: a JIT kernel that ignored a
 * transpose flag would be fast and wrong. */
static int xsmm_right(const shape *s)
{
    size_t nc = (size_t)s->m * s->n;
    float *ref = malloc(nc * sizeof *ref);
    s->xsmm(b, a, c);
    bp__gemm_ref(s->ta, s->tb, s->m, s->n, s->k, 1, a, s->ta ? s->m : s->k, b, s->tb ? s->k : s->n,
                 0, ref, s->n);
    double worst = 0;
    for (size_t i = 0; i < nc; i++) {
        double d = fabs((double)c[i] - ref[i]) / (1 + fabs((double)ref[i]));
        worst = d > worst || d != d ? d : worst;
    }
    free(ref);
    return worst < 1e-4;
}
#endif
#ifdef BP_BENCH_BLIS
/* BLIS takes any strides: op(A)(i, p) at a[i rs + p cs]. */
static void run_blis(const shape *s, int lda, int ldb)
{
    float one = 1, zero = 0;
    inc_t rsa = s->ta ? 1 : lda, csa = s->ta ? lda : 1;
    inc_t rsb = s->tb ? 1 : ldb, csb = s->tb ? ldb : 1;
    bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, s->m, s->n, s->k, &one, a, rsa, csa, b, rsb,
              csb, &zero, c, s->n, 1);
}
#endif

typedef struct {
    const char *name;
    void (*run)(const shape *, int, int);
    bp__gemm_isa isa; /* the own kernel's path for this candidate */
    int ok;           /* runs here */
} candidate;

/* Seconds per call of all the products s[0 .. ns). */
static double time_set(const candidate *cd, const shape *s, int ns, double flops)
{
    bp__gemm_x86_isa_set(cd->isa);
    int reps = (int)(1e9 / flops) + 1; /* about 10 ms at 100 GFLOP/s */
    double best = 1e30;
    for (int t = 0; t < 3; t++) {
        double t0 = now();
        for (int r = 0; r < reps; r++)
            for (int i = 0; i < ns; i++) {
                int lda = s[i].ta ? s[i].m : s[i].k, ldb = s[i].tb ? s[i].k : s[i].n;
                cd->run(&s[i], lda, ldb);
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

static candidate cands[8];
static int ncands, each_layer;
static double peak;

static void row(const char *name, const shape *s, int ns, int rounds)
{
    double flops = 0, gf[8][MAX_ROUNDS];
    for (int i = 0; i < ns; i++) flops += 2.0 * s[i].m * s[i].n * s[i].k;
    for (int x = 0; x < ncands; x++)
        if (cands[x].ok) time_set(&cands[x], s, ns, flops); /* warm up */
    for (int r = 0; r < rounds; r++)
        for (int x = 0; x < ncands; x++)
            if (cands[x].ok) gf[x][r] = flops / time_set(&cands[x], s, ns, flops) / 1e9;
    printf("%-24s", name);
    for (int x = 0; x < ncands; x++) {
        if (!cands[x].ok) {
            printf(" %13s", "n/a");
            continue;
        }
        double g = median(gf[x], rounds);
        printf(" %6.1f (%3.0f%%)", g, peak > 0 ? 100 * g / peak : 0);
    }
    printf("\n");
    bp__gemm_x86_isa_set((bp__gemm_isa)-1);
}

static void model(const char *name, const char *layers, int batch, int rounds)
{
    bp_model_config mc = bp_model_config_default();
    if (parse_layers(layers, &mc) || mc.n_layers > 8) abort();
    const int *sizes = mc.sizes, n = mc.n_layers;
    shape fwd[8], dw[8], da[8], all[MAX_SHAPES];
    int nf = 0, nw = 0, na = 0, nall = 0;
    memset(fwd, 0, sizeof fwd), memset(dw, 0, sizeof dw), memset(da, 0, sizeof da);
    for (int l = 0; l < n; l++) {
        int in = sizes[l], out = sizes[l + 1];
        fwd[nf].ta = BP_NO_TRANS, fwd[nf].tb = BP_TRANS;
        fwd[nf].m = batch, fwd[nf].n = out, fwd[nf++].k = in;
        dw[nw].ta = BP_TRANS, dw[nw].tb = BP_NO_TRANS;
        dw[nw].m = out, dw[nw].n = in, dw[nw++].k = batch;
        if (l) {
            da[na].ta = BP_NO_TRANS, da[na].tb = BP_NO_TRANS;
            da[na].m = batch, da[na].n = in, da[na++].k = out;
        }
    }
    memcpy(all, fwd, sizeof *fwd * nf), nall = nf;
    memcpy(all + nall, dw, sizeof *dw * nw), nall += nw;
    memcpy(all + nall, da, sizeof *da * na), nall += na;
    int xsmm_ok = 1;
#ifdef BP_BENCH_LIBXSMM
    shape *sets[4] = {fwd, dw, da, all};
    int counts[4] = {nf, nw, na, nall};
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < counts[t]; i++) {
            shape *s = &sets[t][i];
            s->xsmm = xsmm_dispatch(s, s->ta ? s->m : s->k, s->tb ? s->k : s->n);
            if (s->xsmm && !xsmm_right(s)) {
                printf("  (libxsmm: a wrong result on %dx%dx%d: not counted)\n", s->m, s->n, s->k);
                s->xsmm = NULL;
            }
            if (!s->xsmm) xsmm_ok = 0;
        }
    if (!xsmm_ok) printf("  (libxsmm: no JIT kernel for some product: n/a where so)\n");
#endif
    printf("%s, batch %d\n", name, batch);
    const char *rows[4] = {"  forward Z = A W^T", "  dW = dZ^T A", "  dA = dZ W", "  the step's GEMMs"};
    const shape *sets2[4] = {fwd, dw, da, all};
    int counts2[4] = {nf, nw, na, nall};
    int xsmm_idx = -1;
    for (int x = 0; x < ncands; x++)
        if (!strcmp(cands[x].name, "libxsmm")) xsmm_idx = x;
    int xsmm_avail = xsmm_idx >= 0 && cands[xsmm_idx].ok;
    for (int t = 0; t < 4; t++) {
        if (xsmm_idx >= 0) cands[xsmm_idx].ok = xsmm_avail && xsmm_ok;
        row(rows[t], sets2[t], counts2[t], rounds);
        for (int i = 0; each_layer && t < 3 && i < counts2[t]; i++) {
            char title[48];
            snprintf(title, sizeof title, "    %dx%dx%d", sets2[t][i].m, sets2[t][i].n, sets2[t][i].k);
#ifdef BP_BENCH_LIBXSMM
            if (xsmm_idx >= 0) cands[xsmm_idx].ok = xsmm_avail && sets2[t][i].xsmm != NULL;
#endif
            row(title, &sets2[t][i], 1, rounds);
        }
    }
    if (xsmm_idx >= 0) cands[xsmm_idx].ok = xsmm_avail;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 9;
    each_layer = argc > 2 && !strcmp(argv[2], "each");
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench_gemm_x86: ROUNDS must be 1 to %d\n", MAX_ROUNDS);
        return 2;
    }
    bp_set_threads(1); /* also OpenBLAS's threads to 1 */
    size_t big = 784 * 256 + 64;
    a = calloc(big, sizeof *a), b = calloc(big, sizeof *b), c = calloc(big, sizeof *c);
    if (!a || !b || !c) return 1;
    bp_rng r;
    bp_rng_seed(&r, 1);
    for (size_t i = 0; i < big; i++) a[i] = (float)bp_rng_uniform(&r), b[i] = (float)bp_rng_uniform(&r);
    bp__gemm_x86_isa_set((bp__gemm_isa)-1);
    bp__gemm_isa best = bp__gemm_x86_isa();
    cands[ncands++] = (candidate){"OpenBLAS", run_blas, best, 1};
    cands[ncands++] = (candidate){"own avx512", run_own, BP__GEMM_ISA_AVX512,
                                  bp__gemm_x86_isa_set(BP__GEMM_ISA_AVX512)};
    cands[ncands++] = (candidate){"own avx2", run_own, BP__GEMM_ISA_AVX2,
                                  bp__gemm_x86_isa_set(BP__GEMM_ISA_AVX2)};
    cands[ncands++] = (candidate){"blocked", run_blocked, best, 1};
#ifdef BP_BENCH_LIBXSMM
    libxsmm_init();
    cands[ncands++] = (candidate){"libxsmm", run_xsmm, best, 1};
#endif
#ifdef BP_BENCH_BLIS
    cands[ncands++] = (candidate){"BLIS", run_blis, best, 1};
#endif
    bp__gemm_x86_isa_set((bp__gemm_isa)-1);
    const char *isa, *core = getenv("OPENBLAS_CORETYPE");
    double narrow;
    peak = peak_gflops(5, &isa, &narrow);
    printf("GEMM candidates, 1 thread, float32; GFLOP/s (%% of the core's peak), medians of %d "
           "rounds\npeak %.1f GFLOP/s (%s; 256-bit %.1f); OPENBLAS_CORETYPE=%s\n",
           rounds, peak, isa, narrow, core ? core : "(unset)");
    printf("%-24s", "products");
    for (int x = 0; x < ncands; x++) printf(" %13s", cands[x].name);
    printf("\n");
    model("demo 784-256-128-10", "784,256,128,10", 128, rounds);
    model("digits 64-100-10", "64,100,10", 200, rounds);
    model("tabular 20-64-64-1", "20,64,64,1", 32, rounds);
    model("tabular 20-64-64-1", "20,64,64,1", 128, rounds);
    free(a), free(b), free(c);
    return 0;
}

#endif
