/* bench_train.c - training and inference throughput of backprop on a data
 * set of the given shape: Fashion-MNIST's first SAMPLES images (pixels / 255),
 * or synthetic data, inputs uniform in [0, 1) and targets from a fixed random
 * linear "teacher", so that there is something to learn. (Speed does depend
 * on the values: with random labels a network learns to switch its ReLUs off,
 * Adam's m then decays into subnormals, and the divider slows down.)
 *
 *   bench_train LAYERS BATCH LOSS THREADS SAMPLES [REPEATS [DATA]]
 *   e.g. bench_train 784,256,128,10 128 xent 1 60000 3 fashion-mnist
 *   DATA: synthetic (the default), fashion-mnist (784 inputs, 10 outputs), or
 *   any data set bp_dataset_load_spec reads (a CSV file: bench/run.py writes
 *   scikit-learn's digits, pixels / 16, to one) with LAYERS' inputs and outputs.
 *   A data set of fewer than SAMPLES rows is trained on for as many epochs as
 *   make up SAMPLES samples (rounded up), and the rate is over all of them.
 *   The training accuracy is not counted (bp_train_config.skip_accuracy), as
 *   nothing prints it; BENCH_COUNT_ACCURACY=1 counts it, to measure its cost.
 *   BENCH_L2=A trains with bp_train_config.l2 = A (scikit-learn's alpha, as
 *   the Python estimators set it; default 0: none), to measure its cost.
 *   BENCH_OPTIM=NAME trains with that optimizer's defaults (bp_optim_from_name:
 *   sgd, momentum, ..., rmsprop) instead of Adam's.
 *
 * Prints one line per repeat, "train <samples/s> predict <samples/s>", the last
 * one followed by "roofline <samples/s> predict_roofline <samples/s> rss_mb <MB>":
 * roofline is the rate the same batches would reach if only their GEMMs ran
 * (the GEMM calls of forward and backward, timed alone on the same shapes, on
 * the same kernels and threads as training),
 * predict_roofline the same for inference (the forward GEMMs, batch 1024), and
 * rss_mb the peak RSS of the training and inference. */
#include "internal.h"

#include "bench.h"

#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Samples/s of the GEMMs alone: forward Z = A Wᵀ per layer, backward dW = dZᵀ A
 * per layer and dA = dZ W for all but the first layer (forward only when
 * !backward), on batches of `batch`, each product to the kernel the library's
 * table picks for it (the own x86 kernel, gemv or OpenBLAS: what training
 * runs) and split over the library's threads as dense.c splits it: dW by its
 * rows (output units), dA by batch rows, the forward by output units when the
 * batch is no wider than the layer, else by batch rows. */
typedef struct {
    bp__product p;
    bp__kernel kernel;
    int m, n, k, lda, ldb, ldc;
    const bp_real *a, *b;
    bp_real *c;
} product_job;

static void product_part(void *ctx, int part, int parts)
{
    const product_job *j = ctx;
    size_t lo, hi;
    if (j->p == BP__PRODUCT_FORWARD && j->m <= j->n) { /* by output units: columns of C */
        bp__split((size_t)j->n, part, parts, &lo, &hi);
        if (hi > lo)
            bp__product_run(j->kernel, j->p, j->m, (int)(hi - lo), j->k, j->a, j->lda,
                            j->b + lo * j->ldb, j->ldb, j->c + lo, j->ldc);
        return;
    }
    bp__split((size_t)j->m, part, parts, &lo, &hi); /* rows of C */
    const bp_real *a = j->p == BP__PRODUCT_WEIGHT_GRAD ? j->a + lo : j->a + lo * j->lda;
    if (hi > lo)
        bp__product_run(j->kernel, j->p, (int)(hi - lo), j->n, j->k, a, j->lda, j->b, j->ldb,
                        j->c + lo * j->ldc, j->ldc);
}

static void product(bp__product p, int m, int n, int k, const bp_real *a, int lda,
                    const bp_real *b, int ldb, bp_real *c, int ldc)
{
    product_job j = {p, bp__kernel_for(p, m, n, k), m, n, k, lda, ldb, ldc, a, b, c};
    bp__parallel(product_part, &j, 2.0 * m * n * k);
}

static double gemm_only_rate(const bp_model_config *c, int batch, size_t n, int threads,
                             int backward)
{
    bp_set_threads(threads);
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
            product(BP__PRODUCT_FORWARD, batch, out, in, a, in, w, in, z, out);
            if (!backward) continue;
            product(BP__PRODUCT_WEIGHT_GRAD, out, in, batch, z, out, a, in, dw, in);
            if (l) product(BP__PRODUCT_INPUT_GRAD, batch, in, out, z, out, w, in, a, in);
        }
    double rate = (double)(batches * batch) / (now() - t0);
    free(a), free(z), free(w), free(dw);
    return rate;
}

/* Fashion-MNIST's training images, pixels / 255 (the caller uses the first n). */
static bp_status fashion_mnist(bp_dataset **d, int in)
{
    bp_status st = bp_dataset_load_spec(d, "fashion-mnist:train", NULL);
    if (st) return st;
    bp_real *x = bp_dataset_x(*d);
    for (size_t i = 0; i < bp_dataset_count(*d) * (size_t)in; i++) x[i] /= 255;
    return BP_OK;
}

/* x uniform in [0, 1); with t = (x - 1/2)·T for a random T (in, k): the class
 * argmax t (xent), the bits t > 0 (bce), or t itself (mse). */
static bp_status synthetic(bp_dataset **d, size_t n, int in, int k, bp_loss loss)
{
    bp_status st = bp_dataset_create(d, n, in, k);
    if (st) return st;
    bp_real *x = bp_dataset_x(*d), *y = bp_dataset_y(*d);
    double *teacher = malloc(sizeof *teacher * in * k), *t = malloc(sizeof *t * k);
    if (!teacher || !t) { /* not the library's allocation: bp_last_error would not say why */
        fprintf(stderr, "bench_train: no memory for a %d x %d teacher\n", in, k);
        exit(1);
    }
    bp_rng r;
    bp_rng_seed(&r, 1);
    for (size_t i = 0; i < (size_t)in * k; i++) teacher[i] = bp_rng_uniform(&r) * 2 - 1;
    for (size_t i = 0; i < n; i++) {
        bp_real *xi = x + i * in, *yi = y + i * k;
        for (int j = 0; j < in; j++) xi[j] = (bp_real)bp_rng_uniform(&r);
        int best = 0;
        for (int c = 0; c < k; c++) {
            t[c] = 0;
            for (int j = 0; j < in; j++) t[c] += (xi[j] - 0.5) * teacher[(size_t)j * k + c];
            best = t[c] > t[best] ? c : best;
        }
        for (int c = 0; c < k; c++)
            yi[c] = loss == BP_LOSS_XENT ? c == best : loss == BP_LOSS_BCE ? t[c] > 0 : (bp_real)t[c];
    }
    free(teacher), free(t);
    return BP_OK;
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
        fprintf(stderr, "usage: bench_train LAYERS BATCH LOSS THREADS SAMPLES [REPEATS [DATA]]\n");
        return 2;
    }
    bp_model_config mc = bp_model_config_default();
    if (parse_layers(argv[1], &mc) || mc.n_layers < 1) {
        fprintf(stderr, "bench_train: bad LAYERS '%s'\n", argv[1]);
        return 2;
    }
    int batch = atoi(argv[2]), threads = atoi(argv[4]), repeats = argc > 6 ? atoi(argv[6]) : 3;
    size_t n = (size_t)atol(argv[5]);
    if (bp_loss_from_name(argv[3], &mc.loss)) {
        fprintf(stderr, "bench_train: %s\n", bp_last_error());
        return 2;
    }
    if (batch < 1 || n < 1 || repeats < 1) {
        fprintf(stderr, "bench_train: BATCH, SAMPLES and REPEATS must be >= 1\n");
        return 2;
    }
    for (int l = 0; l < mc.n_layers - 1; l++) mc.act[l] = BP_ACT_RELU;
    mc.act[mc.n_layers - 1] = mc.loss == BP_LOSS_XENT ? BP_ACT_SOFTMAX
                            : mc.loss == BP_LOSS_BCE ? BP_ACT_SIGMOID : BP_ACT_IDENTITY;
    bp_set_threads(threads);
    int in = mc.sizes[0], k = mc.sizes[mc.n_layers];
    const char *data = argc > 7 ? argv[7] : "synthetic";
    bool fashion = strcmp(data, "fashion-mnist") == 0, synth = strcmp(data, "synthetic") == 0;
    if (fashion && (in != 784 || k != 10)) {
        fprintf(stderr, "bench_train: DATA fashion-mnist needs 784 inputs and 10 outputs\n");
        return 2;
    }
    bp_dataset *d;
    if (fashion ? fashion_mnist(&d, in)
        : synth ? synthetic(&d, n, in, k, mc.loss) : bp_dataset_load_spec(&d, data, NULL)) {
        fprintf(stderr, "bench_train: %s: %s\n", data, bp_last_error());
        return 1;
    }
    if (bp_dataset_inputs(d) != in || bp_dataset_outputs(d) != k) {
        fprintf(stderr, "bench_train: %s has %d inputs and %d outputs, LAYERS %d and %d\n", data,
                bp_dataset_inputs(d), bp_dataset_outputs(d), in, k);
        return 2;
    }
    size_t wanted = n;
    n = bp_dataset_count(d) < n ? bp_dataset_count(d) : n;
    int epochs = (int)((wanted + n - 1) / n); /* a small data set: several epochs a repeat */
    bp_real *x = bp_dataset_x(d), *y = bp_dataset_y(d);
    bp_real *out = malloc(sizeof(bp_real) * n * k);
    if (!out) {
        fprintf(stderr, "bench_train: no memory for %zu outputs\n", n * k);
        return 1;
    }
    bp_model *m;
    bp_optim *o;
    bp_trainer *t;
    bp_optim_kind kind = BP_OPTIM_ADAM;
    if (getenv("BENCH_OPTIM") && bp_optim_from_name(getenv("BENCH_OPTIM"), &kind)) {
        fprintf(stderr, "bench_train: BENCH_OPTIM: %s\n", bp_last_error());
        return 2;
    }
    bp_optim_config oc = bp_optim_config_default(kind);
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = batch;
    tc.skip_accuracy = !getenv("BENCH_COUNT_ACCURACY"); /* the accuracy is not printed */
    tc.l2 = getenv("BENCH_L2") ? atof(getenv("BENCH_L2")) : 0;
    if (bp_model_create(&m, &mc) || bp_optim_create(&o, &oc, bp_model_param_count(m)) ||
        bp_trainer_create(&t, m, o, &tc)) {
        fprintf(stderr, "bench_train: %s\n", bp_last_error());
        return 1;
    }
    bp_epoch_stats st;
    for (int rep = 0; rep < repeats; rep++) {
        double secs = 0;
        for (int e = 0; e < epochs; e++) {
            if (bp_trainer_epoch(t, x, y, n, &st)) {
                fprintf(stderr, "bench_train: %s\n", bp_last_error());
                return 1;
            }
            secs += st.seconds;
        }
        double rate = (double)n * epochs / secs;
        double t0 = now();
        bp_model_predict(m, x, n, 1024, out);
        double pred = n / (now() - t0);
        printf("train %.0f predict %.0f", rate, pred);
        if (rep == repeats - 1) {
            double rss = peak_rss_mb(); /* before the roofline's own buffers */
            double roof = gemm_only_rate(&mc, batch, n * (size_t)epochs, threads, 1);
            double pred_roof = gemm_only_rate(&mc, 1024, n, threads, 0);
            printf(" roofline %.0f predict_roofline %.0f rss_mb %.1f", roof, pred_roof, rss);
        }
        printf("\n");
        fflush(stdout);
    }
    bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);
    bp_dataset_free(d), free(out);
    return 0;
}
