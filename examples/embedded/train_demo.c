/* train_demo.c - training on a Cortex-M4F with the host's own library (the
 * bare-metal core of `make embedded-core`), run under qemu by
 * `make embedded-train-demo`:
 *  1. the notes' XOR (2-4-1, tanh, sigmoid, BCE, Adam) from scratch: the loss
 *     of every epoch and the four answers;
 *  2. a 784-64-10 Fashion-MNIST model trained on the host (train_data.h, from
 *     make_train_data) meets images shifted by 3 pixels: its first layer stays
 *     const in flash (bp_model_create_frozen), its last layer is fine-tuned on
 *     200 shifted images, 16 at a time, and its accuracy on 500 shifted test
 *     images is measured before and after. Each image is turned into floats
 *     one at a time and run through the frozen layer as it comes
 *     (bp_model_features): the trainer takes a batch of 16 x 64 features
 *     (bp_train_config.features), not 16 x 784 pixels, 4 KB of RAM and not 50. */
#include <backprop.h>

#include "train_data.h"

#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                                   \
    do {                                                                              \
        bp_status st_ = (call);                                                       \
        if (st_ != BP_OK) {                                                           \
            printf("error %s: %s\n", bp_status_name(st_), bp_last_error());          \
            return -1;                                                                \
        }                                                                             \
    } while (0)

enum { IN = 784, K = 10, B = 16 };

/* The model, optimizer and trainer live in this arena: the core is built
 * with BP_NO_HEAP and the program links no malloc. */
static _Alignas(BP_ARENA_ALIGN) unsigned char mem[40960];
static bp_arena arena;

static int xor_demo(void)
{
    static const bp_real x[4 * 2] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
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
    printf("XOR from scratch on the Cortex-M4F, loss per epoch:\n");
    int e = 0;
    while (e < 2000 && !(st.accuracy == 1.0 && st.loss < 0.05)) {
        CHECK(bp_trainer_epoch(t, x, y, 4, &st));
        printf("%s%.4f", e % 10 ? " " : e ? "\n  " : "  ", st.loss);
        e++;
    }
    bp_real out[4];
    CHECK(bp_model_predict(m, x, 4, 4, out));
    int right = 0;
    printf("\n");
    for (int i = 0; i < 4; i++) {
        printf("  %g xor %g = %g  (network: %.4f)\n", (double)x[2 * i], (double)x[2 * i + 1], (double)y[i],
               (double)out[i]);
        right += (out[i] > 0.5f) == (y[i] > 0.5f);
    }
    printf("XOR: %d/4 right after %d epochs\n", right, e);
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);
    return right;
}

static bp_real x1[IN], out[K];               /* one image, normalized; its outputs */
static bp_real hb[B * HIDDEN], yb[B * K];     /* a batch: (B, 64) features, (B, 10) labels */

/* Image i of the raw pixels into x1, normalized as on the host. */
static void load(const bp_model *m, const unsigned char (*px)[IN], int i)
{
    for (int j = 0; j < IN; j++) x1[j] = px[i][j];
    bp_model_normalize(m, x1, 1);
}

/* Images i .. i+n-1 as a batch for the last layer: features and labels. */
static bp_status load_batch(bp_model *m, int i, int n)
{
    for (int r = 0; r < n; r++) {
        load(m, ft_x, i + r);
        bp_status st = bp_model_features(m, 1, x1, 1, 1, hb + r * HIDDEN);
        if (st) return st;
        for (int k = 0; k < K; k++) yb[r * K + k] = k == ft_y[i + r];
    }
    return BP_OK;
}

static double accuracy(bp_model *m)
{
    int right = 0;
    for (int i = 0; i < N_TEST; i++) {
        load(m, test_x, i);
        if (bp_model_predict(m, x1, 1, 1, out)) return -1;
        int c = 0;
        for (int k = 1; k < K; k++)
            if (out[k] > out[c]) c = k;
        right += c == test_y[i];
    }
    return 100.0 * right / N_TEST;
}

static int finetune_demo(void)
{
    bp_arena_reset(&arena); /* the XOR's objects are freed */
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 2;
    mc.sizes[0] = IN, mc.sizes[1] = HIDDEN, mc.sizes[2] = K;
    mc.act[0] = (bp_activation)ACT0, mc.act[1] = (bp_activation)ACT1;
    mc.loss = (bp_loss)LOSS;
    bp_model *m = NULL;
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    CHECK(bp_model_create_frozen(&m, &mc, 1, frozen0)); /* layer 0: const, in flash */
    memcpy(bp_model_weight(m, 1), start1, sizeof start1);
#if HAS_NORM
    CHECK(bp_model_set_normalization(m, norm_shift, norm_scale));
#endif
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    oc.lr = 0.003;
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = B;
    tc.train_layers = 1;
    tc.shuffle = 0;  /* each call is one batch, trained in place: no gathered copy */
    tc.features = 1; /* the batches hold layer 1's inputs, the frozen layer's outputs */
    CHECK(bp_optim_create(&o, &oc, bp_model_train_param_count(m, 1)));
    CHECK(bp_trainer_create(&t, m, o, &tc));
    CHECK(bp_model_reserve(m, B)); /* the batch's workspace first: an arena does not take back
                                      a smaller one that predict's single images would make */
    double before = accuracy(m);
    printf("\nFashion-MNIST 784-%d-10 from the host, images shifted by %d pixels:\n", HIDDEN, SHIFT);
    printf("  fine-tuning the last layer (%d weights) on %d shifted images, batch %d, Adam\n",
           (int)bp_model_train_param_count(m, 1), N_FT, B);
    for (int e = 1; e <= 15; e++) {
        double loss = 0;
        for (int i = 0; i < N_FT; i += B) { /* one step per batch: the data stays bytes in flash */
            int n = N_FT - i < B ? N_FT - i : B;
            bp_epoch_stats st;
            CHECK(load_batch(m, i, n));
            CHECK(bp_trainer_epoch(t, hb, yb, (size_t)n, &st));
            loss += st.loss * n;
        }
        printf("  epoch %d  loss %.4f\n", e, loss / N_FT);
    }
    double after = accuracy(m);
    printf("  RAM: arena for model, optimizer and trainer %u bytes, batch buffers %u bytes\n",
           (unsigned)arena.used, (unsigned)(sizeof x1 + sizeof out + sizeof hb + sizeof yb));
    printf("shifted accuracy before %.1f%%, after %.1f%% (unshifted %.1f%%)\n", before, after,
           UNSHIFTED_PERCENT);
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);
    return 0;
}

int main(void)
{
    bp_arena_init(&arena, mem, sizeof mem);
    bp_allocator a = bp_arena_allocator(&arena);
    bp_alloc_set(&a);
    if (xor_demo() != 4) return 1;
    return finetune_demo() ? 1 : 0;
}
