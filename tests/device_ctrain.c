/* device_ctrain.c - the trainable C of `backprop export --format c-train`
 * (dtm.c/dtm.h, written by tests/test_device_train.py) used as its header's
 * usage block says: dtm_create, then 10 unshuffled epochs on 32 samples from
 * the library's rng; prints the trained layer's bits before training and
 * after every epoch ("ct E <bits>"), the same on the host and the device. */
#include "dtm.h"

#include <stdint.h>
#include <stdio.h>

static void bits(int e, const bp_real *w, int n)
{
    printf("ct %d", e);
    for (int i = 0; i < n; i++) {
        union { float f; uint32_t u; } v = {w[i]};
        printf(" %08lx", (unsigned long)v.u);
    }
    printf("\n");
}

int main(void)
{
    enum { N = 32, IN = dtm_INPUTS, K = dtm_OUTPUTS };
    static bp_real x[N * IN], y[N * K];
    bp_rng r;
    bp_rng_seed(&r, 21);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < IN; j++) x[i * IN + j] = (bp_real)(2 * bp_rng_uniform(&r) - 1);
        for (int k = 0; k < K; k++) y[i * K + k] = k == (int)(i % K);
    }
    static _Alignas(BP_ARENA_ALIGN) unsigned char mem[16384]; /* no heap on the device */
    bp_arena arena;
    bp_arena_init(&arena, mem, sizeof mem);
    bp_allocator a = bp_arena_allocator(&arena);
    bp_alloc_set(&a);
    bp_model *m;
    bp_optim *o;
    bp_trainer *t;
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 8, tc.shuffle = 0;
    if (dtm_create(&m, &o, &t, &oc, &tc)) {
        printf("error %s\n", bp_last_error());
        return 1;
    }
    int L = bp_model_cfg(m)->n_layers, n = (int)bp_model_train_param_count(m, dtm_TRAIN_LAYERS);
    bits(0, bp_model_weight(m, L - 1), n);
    for (int e = 1; e <= 10; e++) {
        bp_epoch_stats st;
        if (bp_trainer_epoch(t, x, y, N, &st)) return 1;
        bits(e, bp_model_weight(m, L - 1), n);
    }
    printf("done\n");
    bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);
    return 0;
}
