/* bench_train.c - training and inference throughput of backprop on random
 * data of a given shape (speed does not depend on the values).
 *
 *   bench_train LAYERS BATCH LOSS THREADS SAMPLES [REPEATS]
 *   e.g. bench_train 784,256,128,10 128 xent 1 60000 3
 *
 * Prints one line per repeat, "train <samples/s> predict <samples/s>", the last
 * one followed by "roofline <samples/s> predict_roofline <samples/s> rss_mb <MB>":
 * roofline is the rate the same batches would reach if only their GEMMs ran
 * (the GEMM calls of forward and backward, timed alone on the same shapes),
 * predict_roofline the same for inference (the forward GEMMs, batch 1024), and
 * rss_mb the peak RSS of the training and inference. */
#include "internal.h"

#include <cblas.h>
#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int parse_layers(const char *s, bp_model_config *c)
{
    char *end;
    c->n_layers = -1;
    do {
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || c->n_layers + 1 > BP_MAX_LAYERS) return -1;
        c->sizes[++c->n_layers] = (int)v;
        s = end + 1;
    } while (*end == ',');
    return *end ? -1 : 0;
}

/* Samples/s of the GEMMs alone: forward Z = A Wᵀ per layer, backward dW = dZᵀ A
 * per layer and dA = dZ W for all but the first layer (forward only when
 * !backward), on batches of `batch`, each one whole call to OpenBLAS with its
 * own `threads` threads. */
static double gemm_only_rate(const bp_model_config *c, int batch, size_t n, int threads,
                             int backward)
{
    openblas_set_num_threads(threads);
    int wmax = 0;
    for (int l = 0; l <= c->n_layers; l++) wmax = c->sizes[l] > wmax ? c->sizes[l] : wmax;
    size_t big = (size_t)batch * wmax, wbig = (size_t)wmax * wmax;
    bp_real *a = calloc(big, sizeof *a), *z = calloc(big, sizeof *z), *w = calloc(wbig, sizeof *w);
    bp_real *dw = calloc(wbig, sizeof *dw);
    size_t batches = (n + batch - 1) / batch;
    double t0 = now();
    for (size_t b = 0; b < batches; b++)
        for (int l = 0; l < c->n_layers; l++) {
            int in = c->sizes[l], out = c->sizes[l + 1];
            bp__gemm(BP_NO_TRANS, BP_TRANS, batch, out, in, 1, a, in, w, in, 0, z, out);
            if (!backward) continue;
            bp__gemm(BP_TRANS, BP_NO_TRANS, out, in, batch, 1, z, out, a, in, 0, dw, in);
            if (l) bp__gemm(BP_NO_TRANS, BP_NO_TRANS, batch, in, out, 1, z, out, w, in, 0, a, in);
        }
    double rate = (double)(batches * batch) / (now() - t0);
    openblas_set_num_threads(1); /* as the library keeps it */
    free(a), free(z), free(w), free(dw);
    return rate;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_train LAYERS BATCH LOSS THREADS SAMPLES [REPEATS]\n");
        return 2;
    }
    bp_model_config mc = bp_model_config_default();
    if (parse_layers(argv[1], &mc) || mc.n_layers < 1) {
        fprintf(stderr, "bench_train: bad LAYERS '%s'\n", argv[1]);
        return 2;
    }
    int batch = atoi(argv[2]), threads = atoi(argv[4]), repeats = argc > 6 ? atoi(argv[6]) : 3;
    size_t n = (size_t)atol(argv[5]);
    if (bp_loss_from_name(argv[3], &mc.loss) || batch < 1 || n < 1) {
        fprintf(stderr, "bench_train: %s\n", bp_last_error());
        return 2;
    }
    for (int l = 0; l < mc.n_layers - 1; l++) mc.act[l] = BP_ACT_RELU;
    mc.act[mc.n_layers - 1] = mc.loss == BP_LOSS_XENT ? BP_ACT_SOFTMAX
                            : mc.loss == BP_LOSS_BCE ? BP_ACT_SIGMOID : BP_ACT_IDENTITY;
    bp_set_threads(threads);
    int in = mc.sizes[0], k = mc.sizes[mc.n_layers];
    bp_real *x = malloc(sizeof(bp_real) * n * in), *y = calloc(n * k, sizeof(bp_real));
    bp_real *out = malloc(sizeof(bp_real) * n * k);
    bp_rng r;
    bp_rng_seed(&r, 1);
    for (size_t i = 0; i < n * in; i++) x[i] = (bp_real)bp_rng_uniform(&r);
    for (size_t i = 0; i < n; i++) {
        if (mc.loss == BP_LOSS_XENT) y[i * k + bp_rng_below(&r, k)] = 1;
        else for (int j = 0; j < k; j++) y[i * k + j] = (bp_real)bp_rng_below(&r, 2);
    }
    bp_model *m;
    bp_optim *o;
    bp_trainer *t;
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = batch;
    if (bp_model_create(&m, &mc) || bp_optim_create(&o, &oc, bp_model_param_count(m)) ||
        bp_trainer_create(&t, m, o, &tc)) {
        fprintf(stderr, "bench_train: %s\n", bp_last_error());
        return 1;
    }
    bp_epoch_stats st;
    for (int rep = 0; rep < repeats; rep++) {
        if (bp_trainer_epoch(t, x, y, n, &st)) {
            fprintf(stderr, "bench_train: %s\n", bp_last_error());
            return 1;
        }
        double t0 = now();
        bp_model_predict(m, x, n, 1024, out);
        double pred = n / (now() - t0);
        printf("train %.0f predict %.0f", st.samples_per_sec, pred);
        if (rep == repeats - 1) {
            double rss = peak_rss_mb(); /* before the roofline's own buffers */
            double roof = gemm_only_rate(&mc, batch, n, threads, 1);
            double pred_roof = gemm_only_rate(&mc, 1024, n, threads, 0);
            printf(" roofline %.0f predict_roofline %.0f rss_mb %.1f", roof, pred_roof, rss);
        }
        printf("\n");
        fflush(stdout);
    }
    bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);
    free(x), free(y), free(out);
    return 0;
}
