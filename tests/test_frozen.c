/* test_frozen.c - frozen layers: bp_train_config.train_layers and models
 * over borrowed weights (bp_model_create_frozen).
 *
 * The reference is full training in which the frozen layers' learning rate is
 * 0: the same trainer over every layer, with the frozen layers' values put
 * back after each step (on_batch), which for any update rule is a step of
 * size 0 on them. Training the last K layers must give the same weights
 * (relative 1e-12 in float64; float32 the same bits, the order of operations
 * on the trained layers being the same). tests/test_frozen_torch.py checks
 * the same against PyTorch through the CLI. */
#include "test.h"

#include <stdint.h>

#ifdef BP_REAL_DOUBLE
#define TOL 1e-12
#else
#define TOL 1e-6
#endif

enum { N = 50, IN = 5, OUT = 3 };
static const int sizes[] = {IN, 16, 12, 8, OUT};

static bp_real X[N * IN], Y[N * OUT];

static void make_data(void)
{
    bp_rng r;
    bp_rng_seed(&r, 11);
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < IN; k++) X[i * IN + k] = (bp_real)(2 * bp_rng_uniform(&r) - 1);
        int c = (X[i * IN] + X[i * IN + 1] > 0) + (X[i * IN + 2] > 0.5);
        for (int k = 0; k < OUT; k++) Y[i * OUT + k] = k == c;
    }
}

static bp_model_config config(void)
{
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 4;
    for (int l = 0; l <= 4; l++) mc.sizes[l] = sizes[l];
    mc.act[0] = BP_ACT_TANH, mc.act[1] = BP_ACT_RELU, mc.act[2] = BP_ACT_SIGMOID;
    mc.act[3] = BP_ACT_SOFTMAX;
    mc.loss = BP_LOSS_XENT;
    mc.seed = 5;
    return mc;
}

static bp_train_config train_config(int k)
{
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 8; /* the last batch partial */
    tc.seed = 3;
    tc.l2 = 1e-3;
    tc.train_layers = k;
    return tc;
}

/* The reference's on_batch: the frozen prefix put back after each step. */
typedef struct {
    bp_model *m;
    const bp_real *saved;
    size_t n;
} restore_ctx;

static void restore(void *user, const bp_batch_info *info)
{
    (void)info;
    restore_ctx *r = user;
    memcpy(bp_model_params(r->m), r->saved, r->n * sizeof(bp_real));
}

/* Trains `epochs` epochs of kind `opt` on model m with train_layers k; with
 * reference, trains every layer instead and puts the first `frozen` layers
 * back after each batch. */
static void train(bp_model *m, bp_optim_kind kind, int k, int reference, int frozen, int epochs)
{
    bp_optim_config oc = bp_optim_config_default(kind);
    oc.lr = 0.01;
    bp_train_config tc = train_config(reference ? 0 : k);
    size_t n_prefix = bp_model_param_count(m) - bp_model_train_param_count(m, bp_model_cfg(m)->n_layers - frozen);
    bp_real *saved = malloc((n_prefix ? n_prefix : 1) * sizeof *saved);
    restore_ctx rc = {m, saved, n_prefix};
    if (reference) {
        memcpy(saved, bp_model_params(m), n_prefix * sizeof *saved);
        tc.on_batch = restore, tc.user = &rc;
    }
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    CHECK_OK(bp_optim_create(&o, &oc, bp_model_train_param_count(m, tc.train_layers)));
    CHECK_OK(bp_trainer_create(&t, m, o, &tc));
    for (int e = 0; t && e < epochs; e++) CHECK_OK(bp_trainer_epoch(t, X, Y, N, NULL));
    bp_trainer_free(t);
    bp_optim_free(o);
    free(saved);
}

static double max_rel_diff(const bp_real *a, const bp_real *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]), s = fmax(fabs((double)b[i]), 1e-3);
        if (d / s > worst) worst = d / s;
    }
    return worst;
}

static void check_against_reference(bp_optim_kind kind, int k)
{
    bp_model_config mc = config();
    bp_model *a = NULL, *b = NULL;
    CHECK_OK(bp_model_create(&a, &mc));
    CHECK_OK(bp_model_create(&b, &mc));
    if (!a || !b) return;
    size_t n = bp_model_param_count(a), n_train = bp_model_train_param_count(a, k);
    bp_real *start = malloc(n * sizeof *start);
    memcpy(start, bp_model_params(a), n * sizeof *start);
    /* The frozen layers' gradients are never written: a sentinel stays. */
    for (size_t i = 0; i < n - n_train; i++) bp_model_grads(a)[i] = (bp_real)12345;
    train(a, kind, k, 0, 4 - k, 5);
    train(b, kind, k, 1, 4 - k, 5);
    double d = max_rel_diff(bp_model_params(a), bp_model_params(b), n);
    CHECK(d <= TOL, "%s, last %d layers: relative difference %.3g from the lr-0 reference",
          bp_optim_name(kind), k, d);
    CHECK(memcmp(bp_model_params(a), start, (n - n_train) * sizeof *start) == 0,
          "a frozen value changed");
    CHECK(memcmp(bp_model_params(a) + (n - n_train), start + (n - n_train),
                 n_train * sizeof *start) != 0, "the trained layers did not move");
    size_t untouched = 0;
    for (size_t i = 0; i < n - n_train; i++) untouched += bp_model_grads(a)[i] == (bp_real)12345;
    CHECK(untouched == n - n_train, "%zu of %zu frozen gradient values written",
          n - n_train - untouched, n - n_train);
    free(start);
    bp_model_free(a);
    bp_model_free(b);
}

static void test_last_layers_equal_lr0_reference(void)
{
    const bp_optim_kind kinds[] = {BP_OPTIM_SGD, BP_OPTIM_MOMENTUM, BP_OPTIM_ADAM, BP_OPTIM_ADAMW,
                                   BP_OPTIM_RMSPROP};
    for (int i = 0; i < 5; i++)
        for (int k = 1; k <= 3; k++) check_against_reference(kinds[i], k);
}

/* A model over borrowed (const) first layers trains as the ordinary model
 * with the same layers frozen, bit for bit, and starts from the same weights. */
static void test_borrowed_layers_train_like_frozen_ones(void)
{
    bp_model_config mc = config();
    for (int frozen = 1; frozen <= 3; frozen++) {
        bp_model *a = NULL, *b = NULL;
        CHECK_OK(bp_model_create(&a, &mc));
        if (!a) return;
        size_t n = bp_model_param_count(a), n_prefix = bp_model_config_param_count(&mc, 0, frozen);
        CHECK(n - n_prefix == bp_model_train_param_count(a, 4 - frozen), "prefix %zu", n_prefix);
        bp_real *flash = malloc(n_prefix * sizeof *flash); /* stands for const data in flash */
        memcpy(flash, bp_model_params(a), n_prefix * sizeof *flash);
        CHECK_OK(bp_model_create_frozen(&b, &mc, frozen, flash));
        if (!b) return;
        CHECK(bp_model_frozen_layers(b) == frozen, "%d", bp_model_frozen_layers(b));
        CHECK(bp_model_param_count(b) == n, "%zu", bp_model_param_count(b));
        CHECK(bp_model_train_param_count(b, 0) == n - n_prefix, "%zu", bp_model_train_param_count(b, 0));
        CHECK(memcmp(bp_model_params(b), bp_model_params(a) + n_prefix,
                     (n - n_prefix) * sizeof *flash) == 0, "the own layers start elsewhere");
        CHECK(bp_model_weight(b, 0) == flash && bp_model_weight_grad(b, 0) == NULL,
              "layer 0 is not a view of the caller's memory");
        train(a, BP_OPTIM_ADAM, 4 - frozen, 0, frozen, 4);
        train(b, BP_OPTIM_ADAM, 0, 0, frozen, 4);
        CHECK(memcmp(bp_model_params(b), bp_model_params(a) + n_prefix,
                     (n - n_prefix) * sizeof *flash) == 0, "frozen %d: borrowed and frozen differ",
              frozen);
        const bp_real *pa, *pb;
        CHECK_OK(bp_model_forward(a, X, N, &pa));
        CHECK_OK(bp_model_forward(b, X, N, &pb));
        CHECK(memcmp(pa, pb, (size_t)N * OUT * sizeof *pa) == 0, "predictions differ");
        /* The gradient check covers the own layers. */
        bp_gradcheck_result gr;
        CHECK_OK(bp_gradcheck(b, X, Y, 6, 0, 0, &gr));
        CHECK(gr.worst_index >= n_prefix, "worst index %zu is borrowed", gr.worst_index);
#ifdef BP_REAL_DOUBLE
        CHECK(gr.norm_rel_error < 1e-7 && gr.grad_norm > 0, "gradcheck %.3g (norm %g)",
              gr.norm_rel_error, gr.grad_norm);
#endif
        bp_model_free(a);
        bp_model_free(b);
        free(flash);
    }
}

static void test_refusals(void)
{
    bp_model_config mc = config();
    bp_model *m = NULL, *b = NULL;
    CHECK_OK(bp_model_create(&m, &mc));
    if (!m) return;
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    bp_optim *full = NULL, *part = NULL;
    bp_trainer *t = NULL;
    CHECK_OK(bp_optim_create(&full, &oc, bp_model_param_count(m)));
    CHECK_OK(bp_optim_create(&part, &oc, bp_model_train_param_count(m, 1)));
    bp_train_config tc = train_config(1);
    CHECK(bp_trainer_create(&t, m, full, &tc) == BP_ERR_INVALID && !t, "full optimizer accepted");
    CHECK(strstr(bp_last_error(), "bp_model_train_param_count"), "%s", bp_last_error());
    tc.train_layers = 5;
    CHECK(bp_trainer_create(&t, m, part, &tc) == BP_ERR_INVALID && !t, "5 of 4 layers accepted");
    CHECK(strstr(bp_last_error(), "train_layers = 5"), "%s", bp_last_error());
    tc.train_layers = -1;
    CHECK(bp_trainer_create(&t, m, part, &tc) == BP_ERR_INVALID && !t, "-1 accepted");
    tc.train_layers = 1;
    CHECK_OK(bp_trainer_create(&t, m, part, &tc));
    CHECK(bp_checkpoint_save(t, "/nonexistent/never-written.ck", NULL) == BP_ERR_INVALID,
          "checkpoint with frozen layers accepted");
    CHECK(strstr(bp_last_error(), "frozen layers"), "%s", bp_last_error());
    bp_trainer_free(t);
    /* Borrowed layers cannot be trained, nor all layers borrowed. */
    CHECK(bp_model_create_frozen(&b, &mc, 4, bp_model_params(m)) == BP_ERR_INVALID && !b,
          "4 of 4 layers borrowed");
    CHECK(bp_model_create_frozen(&b, &mc, 1, NULL) == BP_ERR_INVALID && !b, "NULL accepted");
    CHECK_OK(bp_model_create_frozen(&b, &mc, 2, bp_model_params(m)));
    tc.train_layers = 3;
    CHECK(bp_trainer_create(&t, b, part, &tc) == BP_ERR_INVALID && !t, "a borrowed layer trained");
    CHECK(strstr(bp_last_error(), "borrowed"), "%s", bp_last_error());
    bp_model_free(b);
    bp_optim_free(full);
    bp_optim_free(part);
    bp_model_free(m);
}

/* Training the last k layers on their features (bp_train_config.features,
 * the frozen layers' outputs from bp_model_features at the trainer's batch)
 * is training them on the inputs: the same bits in order, on a model of its
 * own layers and on one with borrowed layers. Shuffled, a batch holds other
 * rows than the features' batches did, and OpenBLAS's sums for a row depend
 * on where it lies in the block: the same bits only in a BLAS-free build,
 * else within TOL. */
static void features_run(bp_model *m, int k, int shuffle, int use_features, bp_real *out)
{
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    oc.lr = 0.01;
    bp_train_config tc = train_config(k);
    tc.shuffle = shuffle, tc.features = use_features;
    int L = bp_model_cfg(m)->n_layers, width = bp_model_cfg(m)->sizes[L - k];
    bp_real *h = malloc((size_t)N * width * sizeof *h);
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    CHECK_OK(bp_optim_create(&o, &oc, bp_model_train_param_count(m, k)));
    CHECK_OK(bp_trainer_create(&t, m, o, &tc));
    /* frozen layers do not change: their features are computed once */
    if (use_features) CHECK_OK(bp_model_features(m, k, X, N, tc.batch_size, h));
    for (int e = 0; t && e < 4; e++)
        CHECK_OK(bp_trainer_epoch(t, use_features ? h : X, Y, N, NULL));
    CHECK_OK(bp_model_predict(m, X, N, 0, out));
    bp_trainer_free(t);
    bp_optim_free(o);
    free(h);
}

static void test_features_train_like_inputs(void)
{
    bp_model_config mc = config();
    for (int k = 1; k <= 4; k++) {
        for (int shuffle = 0; shuffle <= 1; shuffle++) {
            bp_model *a = NULL, *b = NULL;
            CHECK_OK(bp_model_create(&a, &mc));
            CHECK_OK(bp_model_create(&b, &mc));
            if (!a || !b) return;
            bp_real pa[N * OUT], pb[N * OUT];
            features_run(a, k, shuffle, 0, pa);
            features_run(b, k, shuffle, 1, pb);
            size_t n = bp_model_param_count(a);
            int same = memcmp(bp_model_params(a), bp_model_params(b), n * sizeof(bp_real)) == 0 &&
                       memcmp(pa, pb, sizeof pa) == 0;
            double d = max_rel_diff(bp_model_params(b), bp_model_params(a), n);
#ifdef BP_NO_BLAS
            int exact = 1;
#else
            int exact = !shuffle;
#endif
            CHECK(exact ? same : d <= TOL,
                  "last %d layers, shuffle %d: training on features differs from on inputs (%.3g)",
                  k, shuffle, d);
            bp_model_free(a);
            bp_model_free(b);
        }
    }
    /* A model over borrowed layers (the device's case): features of layer 0. */
    bp_model *a = NULL, *b = NULL;
    CHECK_OK(bp_model_create(&a, &mc));
    if (!a) return;
    size_t n_prefix = bp_model_param_count(a) - bp_model_train_param_count(a, 3);
    bp_real *flash = malloc(n_prefix * sizeof *flash);
    memcpy(flash, bp_model_params(a), n_prefix * sizeof *flash);
    CHECK_OK(bp_model_create_frozen(&b, &mc, 1, flash));
    memcpy(bp_model_params(b), bp_model_params(a) + n_prefix,
           (bp_model_param_count(a) - n_prefix) * sizeof(bp_real));
    bp_real pa[N * OUT], pb[N * OUT];
    features_run(a, 3, 0, 0, pa);
    features_run(b, 3, 0, 1, pb);
    CHECK(memcmp(pa, pb, sizeof pa) == 0, "borrowed layer 0: features train differently");
    /* Nothing frozen: the features are the inputs themselves. */
    bp_real copy[N * IN];
    CHECK_OK(bp_model_features(a, 0, X, N, 7, copy));
    CHECK(memcmp(copy, X, sizeof copy) == 0, "train_layers 0: features are not the inputs");
    CHECK(bp_model_features(a, 5, X, N, 7, copy) == BP_ERR_INVALID &&
              strstr(bp_last_error(), "train_layers = 5"), "5 of 4 layers: %s", bp_last_error());
    CHECK(bp_model_features(a, -1, X, N, 7, copy) == BP_ERR_INVALID, "-1 layers accepted");
    free(flash);
    bp_model_free(a);
    bp_model_free(b);
}

int main(void)
{
    make_data();
    RUN(test_features_train_like_inputs);
    RUN(test_last_layers_equal_lr0_reference);
    RUN(test_borrowed_layers_train_like_frozen_ones);
    RUN(test_refusals);
    return test_summary("test_frozen");
}
