/* device_train.c - one program, built for the host (against the BLAS-free
 * core, build/float-noblas) and for a Cortex-M4F and a Cortex-M3 (the core
 * cross-compiled by `make embedded-core`, run under qemu), that prints the
 * weights' bits after every epoch; tests/test_device_train.py compares the
 * three outputs line by line (issue 24).
 *   xor E <loss bits> <17 weights>   the notes' XOR (2-4-1, tanh, sigmoid,
 *                                    BCE, Adam 0.05, batch 4) from its seed
 *   pre E <loss bits> <all weights>  6-16-8-3 trained in full on class data
 *   ft E <loss bits> <last layer>    the same model with its first two layers
 *                                    borrowed read-only (bp_model_create_frozen),
 *                                    its last layer fine-tuned on shifted data
 *   ftf E <loss bits> <last layer>   the same fine-tune on features: the frozen
 *                                    layers' outputs computed one sample at a
 *                                    time (bp_model_features), trained with
 *                                    bp_train_config.features; equals ft
 *   l2 E <loss bits> <all weights>   6-16-8-3 trained in full with
 *                                    bp_train_config.l2, weight decay and
 *                                    clipping (the device's core writes l2's
 *                                    g + c w in the norm pass, the host's folds
 *                                    it into the passes: optim.c)
 *   gradcheck max_rel R norm_rel N   the library's gradcheck (6-5-3 tanh, softmax)
 * Everything, data included, is computed from the library's seeded rng:
 * no input file. main returns 0 when every call succeeded. */
#include <backprop.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                                   \
    do {                                                                              \
        bp_status st_ = (call);                                                       \
        if (st_ != BP_OK) {                                                           \
            printf("error %s: %s\n", bp_status_name(st_), bp_last_error());          \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

static void print_bits(const char *tag, int epoch, double loss, const bp_real *w, size_t n)
{
    uint64_t lb;
    memcpy(&lb, &loss, sizeof lb);
    printf("%s %d %08lx%08lx", tag, epoch, (unsigned long)(lb >> 32), (unsigned long)(uint32_t)lb);
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &w[i], sizeof b);
        printf(" %08lx", (unsigned long)b);
    }
    printf("\n");
}

static int xor_from_scratch(void)
{
    static const bp_real x[4 * 2] = {0, 0, 0, 1, 1, 0, 1, 1}; /* (4, 2) */
    static const bp_real y[4 * 1] = {0, 1, 1, 0};             /* (4, 1) */
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 2;
    mc.sizes[0] = 2, mc.sizes[1] = 4, mc.sizes[2] = 1;
    mc.act[0] = BP_ACT_TANH, mc.act[1] = BP_ACT_SIGMOID;
    mc.loss = BP_LOSS_BCE;
    mc.seed = 42;
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    oc.lr = 0.05;
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 4;
    bp_model *m = NULL;
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    CHECK(bp_model_create(&m, &mc));
    CHECK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
    CHECK(bp_trainer_create(&t, m, o, &tc));
    bp_epoch_stats st = {0};
    for (int e = 1; e <= 150; e++) {
        CHECK(bp_trainer_epoch(t, x, y, 4, &st));
        print_bits("xor", e, st.loss, bp_model_params(m), bp_model_param_count(m));
    }
    bp_real out[4];
    CHECK(bp_model_predict(m, x, 4, 4, out));
    int right = 0;
    for (int i = 0; i < 4; i++) right += (out[i] > 0.5f) == (y[i] > 0.5f);
    printf("xor right %d of 4\n", right);
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);
    return 0;
}

/* n samples of 6 inputs in [-1, 1); the class (one-hot of 3) is the largest
 * of three fixed sums; `shift` moves input 0 after labelling. */
enum { IN = 6, K = 3, N = 48 };
static void make_data(bp_real *x, bp_real *y, int n, uint64_t seed, double shift)
{
    bp_rng r;
    bp_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        bp_real *xi = x + (size_t)i * IN;
        for (int j = 0; j < IN; j++) xi[j] = (bp_real)(2 * bp_rng_uniform(&r) - 1);
        double s[K] = {xi[0] + xi[1] - xi[2], xi[2] - xi[3] + 0.5 * xi[4], xi[5] - xi[0] + 0.2};
        int c = s[1] > s[0] ? 1 : 0;
        if (s[2] > s[c]) c = 2;
        for (int k = 0; k < K; k++) y[(size_t)i * K + k] = k == c;
        xi[0] = (bp_real)(xi[0] + shift);
    }
}

static bp_model_config classifier(void)
{
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 3;
    mc.sizes[0] = IN, mc.sizes[1] = 16, mc.sizes[2] = 8, mc.sizes[3] = K;
    mc.act[0] = BP_ACT_TANH, mc.act[1] = BP_ACT_RELU, mc.act[2] = BP_ACT_SOFTMAX;
    mc.loss = BP_LOSS_XENT;
    mc.seed = 5;
    return mc;
}

static bp_real frozen[IN * 16 + 16 + 16 * 8 + 8]; /* layers 0 and 1 of the pre-trained model */

/* The classifier's training: Adam at 0.01, batches of 8, seed 3. */
static void classifier_training(bp_optim_config *oc, bp_train_config *tc)
{
    *oc = bp_optim_config_default(BP_OPTIM_ADAM);
    oc->lr = 0.01;
    *tc = bp_train_config_default();
    tc->batch_size = 8;
    tc->seed = 3;
}

/* 20 epochs of t on (x, y), printing the bits of `shown` (n values) after each. */
static int epochs(const char *tag, bp_trainer *t, const bp_real *x, const bp_real *y,
                  const bp_real *shown, size_t n, bp_epoch_stats *st)
{
    for (int e = 1; e <= 20; e++) {
        CHECK(bp_trainer_epoch(t, x, y, N, st));
        print_bits(tag, e, st->loss, shown, n);
    }
    return 0;
}

static int pretrain_then_finetune(void)
{
    static bp_real x[N * IN], y[N * K];
    bp_model_config mc = classifier();
    bp_optim_config oc;
    bp_train_config tc;
    classifier_training(&oc, &tc);
    bp_model *m = NULL;
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    bp_epoch_stats st = {0};
    make_data(x, y, N, 11, 0);
    CHECK(bp_model_create(&m, &mc));
    CHECK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
    CHECK(bp_trainer_create(&t, m, o, &tc));
    if (epochs("pre", t, x, y, bp_model_params(m), bp_model_param_count(m), &st)) return 1;
    size_t nf = bp_model_config_param_count(&mc, 0, 2), nl = bp_model_param_count(m) - nf;
    bp_real last[8 * K + K];
    memcpy(frozen, bp_model_params(m), sizeof frozen);
    memcpy(last, bp_model_params(m) + nf, sizeof last);
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);

    /* The device's case: the first two layers read-only, the last one trained. */
    make_data(x, y, N, 12, 0.7);
    CHECK(bp_model_create_frozen(&m, &mc, 2, frozen));
    memcpy(bp_model_weight(m, 2), last, sizeof last); /* W then b: one flat block */
    tc.train_layers = 1;
    oc.lr = 0.02;
    CHECK(bp_optim_create(&o, &oc, bp_model_train_param_count(m, 1)));
    CHECK(bp_trainer_create(&t, m, o, &tc));
    if (epochs("ft", t, x, y, bp_model_weight(m, 2), nl, &st)) return 1;
    printf("ft accuracy %d of %d\n", (int)(st.accuracy * N + 0.5), N);
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);

    /* Again on features, each sample's as it would arrive on a device. */
    static bp_real h[N * 8]; /* (N, 8): the input of layer 2 */
    CHECK(bp_model_create_frozen(&m, &mc, 2, frozen));
    memcpy(bp_model_weight(m, 2), last, sizeof last);
    tc.features = 1;
    CHECK(bp_optim_create(&o, &oc, bp_model_train_param_count(m, 1)));
    CHECK(bp_trainer_create(&t, m, o, &tc));
    for (int i = 0; i < N; i++) CHECK(bp_model_features(m, 1, x + i * IN, 1, 1, h + i * 8));
    if (epochs("ftf", t, h, y, bp_model_weight(m, 2), nl, &st)) return 1;
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);
    return 0;
}

static int l2_weight_decay_clip(void)
{
    static bp_real x[N * IN], y[N * K];
    bp_model_config mc = classifier();
    bp_optim_config oc;
    bp_train_config tc;
    classifier_training(&oc, &tc);
    oc.weight_decay = 1e-3, oc.clip_norm = 0.3;
    tc.l2 = 0.05;
    bp_model *m = NULL;
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    bp_epoch_stats st = {0};
    make_data(x, y, N, 11, 0);
    CHECK(bp_model_create(&m, &mc));
    CHECK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
    CHECK(bp_trainer_create(&t, m, o, &tc));
    if (epochs("l2", t, x, y, bp_model_params(m), bp_model_param_count(m), &st)) return 1;
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);
    return 0;
}

static int gradcheck(void)
{
    static bp_real x[5 * IN], y[5 * K];
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 2;
    mc.sizes[0] = IN, mc.sizes[1] = 5, mc.sizes[2] = K;
    mc.act[0] = BP_ACT_TANH, mc.act[1] = BP_ACT_SOFTMAX;
    mc.loss = BP_LOSS_XENT;
    mc.seed = 9;
    bp_model *m = NULL;
    make_data(x, y, 5, 13, 0);
    CHECK(bp_model_create(&m, &mc));
    for (int j = 0; j < 5; j++) bp_model_bias(m, 0)[j] = (bp_real)(0.1 * (j % 3) - 0.05);
    bp_gradcheck_result r;
    CHECK(bp_gradcheck(m, x, y, 5, 0, 1e-2, &r));
    printf("gradcheck max_rel %.3e norm_rel %.3e grad_norm %.3e\n", r.max_rel_error,
           r.norm_rel_error, r.grad_norm);
    bp_model_free(m);
    return 0;
}

/* Every model, optimizer and trainer from one arena (the device core is
 * built with BP_NO_HEAP: it links no malloc), emptied between the phases. */
static _Alignas(BP_ARENA_ALIGN) unsigned char mem[32768];
static bp_arena arena;

int main(void)
{
    bp_arena_init(&arena, mem, sizeof mem);
    bp_allocator a = bp_arena_allocator(&arena);
    bp_alloc_set(&a);
    if (bp_real_size() != 4) {
        printf("error: a float32 build is needed\n");
        return 1;
    }
    int bad = xor_from_scratch();
    bp_arena_reset(&arena);
    if (!bad) bad = pretrain_then_finetune();
    bp_arena_reset(&arena);
    if (!bad) bad = l2_weight_decay_clip();
    bp_arena_reset(&arena);
    if (!bad) bad = gradcheck();
    printf("done\n");
    return bad;
}
