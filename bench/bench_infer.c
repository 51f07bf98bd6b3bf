/* bench_infer.c - inference rate of bp_model_predict at several batch sizes,
 * for bench/infer.py (which runs onnxruntime on the same weights beside it):
 *
 *   bench_infer LAYERS OUT_ACT THREADS SECONDS WEIGHTS BATCH...
 *   e.g. bench_infer 784,256,128,10 softmax 1 2 /tmp/w.f32 1 8 64 1024
 *
 * LAYERS as bench_train's; hidden layers relu, the last OUT_ACT. WEIGHTS: the
 * parameters as raw little-endian float32, layer by layer W (out, in) row-major
 * then b (out), the model's own flat layout (and PyTorch's), or "-" for the
 * model's seeded initialization. Inputs uniform in [0, 1), the same each call.
 *
 * Prints for each batch size "batch B calls_per_s R" (the median of 5 timed
 * slices of SECONDS / batches each, after a warm-up), then one line
 * "weights_kb K stream_us S gemm_rate R":
 *   stream_us  the time to read an array the size of the weights once, from
 *              where it lives when read over and over (L2 or L3), THREADS
 *              cores each reading its share (or one core, if that is faster:
 *              a small array): the batch-1 limit of a call that reads every
 *              weight once;
 *   gemm_rate  samples/s of the forward's GEMMs alone at batch 1024
 *              (OpenBLAS with THREADS threads, one call per layer).
 * BENCH_GEMV_MAX=N in the environment moves the small-batch path's switch-over
 * (0: the GEMM at every batch size), to compare the two. */
#include "internal.h"

#include "bench.h"

#ifdef BP_NO_BLAS /* make BLAS=none: the own GEMM has no threads of its own */
static void openblas_set_num_threads(int n) { (void)n; }
#else
#include <cblas.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median over 5 slices of calls/s of fn(ctx), after a warm-up of one slice. */
static double rate(void (*fn)(void *), void *ctx, double seconds)
{
    double slices[5], slice = seconds / 6;
    for (int s = -1; s < 5; s++) {
        long calls = 0;
        double t0 = now(), dt;
        do fn(ctx), calls++;
        while ((dt = now() - t0) < slice);
        if (s >= 0) slices[s] = calls / dt;
    }
    qsort(slices, 5, sizeof *slices, cmp_double);
    return slices[2];
}

typedef struct {
    bp_model *m;
    const bp_real *x;
    bp_real *out;
    int batch;
} predict_ctx;

static void predict_once(void *p)
{
    predict_ctx *c = p;
    if (bp_model_predict(c->m, c->x, (size_t)c->batch, c->batch, c->out)) {
        fprintf(stderr, "bench_infer: %s\n", bp_last_error());
        exit(1);
    }
}

/* Reading the array: each part sums its share in 4 vector lanes so that the
 * loads, not the additions, set the pace. */
typedef float v16 __attribute__((vector_size(64)));
typedef struct {
    const float *a;
    size_t n;
    volatile float sink;
} stream_ctx;

static void stream_part(void *p, int part, int parts)
{
    stream_ctx *c = p;
    size_t lo, hi;
    bp__split(c->n / 64, part, parts, &lo, &hi);
    v16 s[4] = {{0}};
    for (size_t i = lo * 64; i < hi * 64; i += 64)
        for (int j = 0; j < 4; j++) {
            v16 v;
            memcpy(&v, c->a + i + 16 * j, sizeof v);
            s[j] += v;
        }
    v16 t = s[0] + s[1] + s[2] + s[3];
    if (part == 0) c->sink = t[0];
}

static void stream_once(void *p) { bp__parallel(stream_part, p, 1e30); }

/* Samples/s of the forward GEMMs alone at batch 1024 (bench_train's
 * predict_roofline). */
static double gemm_rate(const bp_model_config *c, int threads, double seconds)
{
    openblas_set_num_threads(threads);
    int batch = 1024, wmax = 0;
    for (int l = 0; l <= c->n_layers; l++) wmax = c->sizes[l] > wmax ? c->sizes[l] : wmax;
    bp_real *a = calloc((size_t)batch * wmax, sizeof *a), *z = calloc((size_t)batch * wmax, sizeof *z);
    bp_real *w = calloc((size_t)wmax * wmax, sizeof *w);
    if (!a || !z || !w) exit(1);
    double slices[5];
    for (int s = -1; s < 5; s++) {
        long calls = 0;
        double t0 = now(), dt;
        do {
            for (int l = 0; l < c->n_layers; l++)
                bp__gemm(BP_NO_TRANS, BP_TRANS, batch, c->sizes[l + 1], c->sizes[l], 1, a,
                         c->sizes[l], w, c->sizes[l], 0, z, c->sizes[l + 1]);
            calls++;
        } while ((dt = now() - t0) < seconds / 6);
        if (s >= 0) slices[s] = calls * batch / dt;
    }
    openblas_set_num_threads(1);
    free(a), free(z), free(w);
    qsort(slices, 5, sizeof *slices, cmp_double);
    return slices[2];
}

static int load_weights(bp_model *m, const char *path)
{
    if (!strcmp(path, "-")) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = bp_model_param_count(m);
    float *buf = malloc(n * sizeof *buf);
    int ok = buf && fread(buf, sizeof *buf, n, f) == n && fgetc(f) == EOF;
    fclose(f);
    bp_real *p = bp_model_params(m);
    for (size_t i = 0; ok && i < n; i++) p[i] = buf[i];
    free(buf);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: bench_infer LAYERS OUT_ACT THREADS SECONDS WEIGHTS BATCH...\n");
        return 2;
    }
    bp_model_config mc = bp_model_config_default();
    if (parse_layers(argv[1], &mc) || mc.n_layers < 1 ||
        bp_activation_from_name(argv[2], &mc.act[mc.n_layers - 1])) {
        fprintf(stderr, "bench_infer: bad LAYERS '%s' or OUT_ACT '%s'\n", argv[1], argv[2]);
        return 2;
    }
    int threads = atoi(argv[3]), nb = argc - 6, maxb = 1;
    double seconds = atof(argv[4]);
    for (int i = 0; i < nb; i++) maxb = atoi(argv[6 + i]) > maxb ? atoi(argv[6 + i]) : maxb;
    bp_model *m;
    if (threads < 1 || !(seconds > 0) || bp_model_create(&m, &mc) || load_weights(m, argv[5])) {
        fprintf(stderr, "bench_infer: bad THREADS, SECONDS or WEIGHTS '%s' (%zu float32 "
                "values expected)\n", argv[5], mc.n_layers ? bp_model_param_count(m) : 0);
        return 2;
    }
    bp_set_threads(threads);
    /* BENCH_GEMV_MAX moves the small-batch path's switch-over (0: GEMM only) */
    if (getenv("BENCH_GEMV_MAX")) {
        static bp__kernel_rule rules[] = {{BP__PRODUCT_FORWARD, 1, 0, BP__KERNEL_GEMV_ROWS, 0, 0},
                                          {BP__PRODUCT_FORWARD, 0, 256, BP__KERNEL_GEMV_ROWS, 0, 0}};
        rules[1].max_m = atoi(getenv("BENCH_GEMV_MAX"));
        if (rules[1].max_m == 0) rules[0].max_m = 0;
        bp__kernel_table_set(rules, 2);
    }
    int in = bp_model_inputs(m), k = bp_model_outputs(m);
    bp_real *x = malloc(sizeof *x * maxb * in), *out = malloc(sizeof *out * maxb * k);
    if (!x || !out || bp_model_reserve(m, maxb)) return 1;
    bp_rng r;
    bp_rng_seed(&r, 7);
    for (size_t i = 0; i < (size_t)maxb * in; i++) x[i] = (bp_real)bp_rng_uniform(&r);
    for (int i = 0; i < nb; i++) {
        predict_ctx c = {m, x, out, atoi(argv[6 + i])};
        if (c.batch < 1) return 2;
        printf("batch %d calls_per_s %.1f\n", c.batch, rate(predict_once, &c, seconds / nb));
        fflush(stdout);
    }
    /* The weights' size, as float32 (the bench's precision), rounded to 64 floats. */
    size_t nw = (bp_model_param_count(m) + 63) / 64 * 64;
    float *arr = calloc(nw, sizeof *arr);
    if (!arr) return 1;
    stream_ctx sc = {arr, nw, 0};
    double stream = 1e6 / rate(stream_once, &sc, 0.2);
    if (threads > 1) { /* a small array reads faster on one core than split */
        bp_set_threads(1);
        double one = 1e6 / rate(stream_once, &sc, 0.2);
        stream = one < stream ? one : stream;
        bp_set_threads(threads);
    }
    printf("weights_kb %.1f stream_us %.3f gemm_rate %.0f\n", nw * 4 / 1024.0, stream,
           gemm_rate(&mc, threads, 0.5));
    free(arr), free(x), free(out);
    bp_model_free(m);
    return 0;
}
