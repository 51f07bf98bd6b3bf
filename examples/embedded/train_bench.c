/* train_bench.c - instructions per multiply-accumulate of training on a
 * Cortex-M4F (`make embedded-bench`), with the bare-metal core of
 * `make embedded-core`: the fine-tune of make embedded-train-demo, whose
 * trained layer is 64 -> 10 at batch 16 (10,240 MACs forward, 10,240 in
 * dW backward; no dA: the layer below is frozen). Counted as bench.c counts
 * them: qemu -icount shift=0 (one instruction per virtual nanosecond),
 * SysTick for virtual time, a loop of known length for instructions per tick.
 * Prints, for the trained layer alone (a 64-10 model: its forward, then its
 * backward, which is loss gradient + dW + db) and for a whole step
 * (bp_trainer_epoch on one batch of features: forward, loss, backward, Adam),
 * the instructions and instructions per MAC. */
#include <backprop.h>

#include "base.h" /* bp__gemm_blocked, the core's GEMM, timed alone */

#include <stdint.h>
#include <stdio.h>

#include "icount.h"

#define CHECK(call)                                                                   \
    do {                                                                              \
        bp_status st_ = (call);                                                       \
        if (st_ != BP_OK) {                                                           \
            printf("error %s: %s\n", bp_status_name(st_), bp_last_error());          \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

enum { H = 64, K = 10, B = 16 };

static _Alignas(BP_ARENA_ALIGN) unsigned char mem[16384];
static bp_real h[B * H], y[B * K]; /* a batch of features and one-hot labels */

int main(void)
{
    bp_arena arena;
    bp_arena_init(&arena, mem, sizeof mem);
    bp_allocator a = bp_arena_allocator(&arena);
    bp_alloc_set(&a);
    bp_rng r;
    bp_rng_seed(&r, 7);
    for (int i = 0; i < B * H; i++) h[i] = (bp_real)bp_rng_uniform(&r); /* ReLU outputs: >= 0 */
    for (int i = 0; i < B; i++) y[i * K + i % K] = 1;

    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 1, mc.sizes[0] = H, mc.sizes[1] = K;
    mc.act[0] = BP_ACT_SOFTMAX, mc.loss = BP_LOSS_XENT;
    bp_model *m = NULL;
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    CHECK(bp_model_create(&m, &mc));
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = B, tc.shuffle = 0;
    CHECK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
    CHECK(bp_trainer_create(&t, m, o, &tc));
    bp_epoch_stats st;
    CHECK(bp_trainer_epoch(t, h, y, B, &st)); /* the workspace, allocated once */

    double per_tick = instructions_per_tick(), macs = (double)B * H * K;
    uint32_t t0 = start();
    CHECK(bp_model_forward(m, h, B, NULL));
    double fwd = ticks_since(t0) * per_tick;
    t0 = start();
    CHECK(bp_model_backward(m, y, B));
    double bwd = ticks_since(t0) * per_tick;
    t0 = start();
    CHECK(bp_trainer_epoch(t, h, y, B, &st));
    double step = ticks_since(t0) * per_tick;
    static bp_real z[B * K], dw[K * H];
    t0 = start(); /* the products alone: Z = A W^T (16x64 by 64x10), dW = dZ^T A (10x16 by 16x64) */
    bp__gemm_blocked(BP_NO_TRANS, BP_TRANS, B, K, H, 1, h, H, bp_model_weight(m, 0), H, 0, z, K);
    double gf = ticks_since(t0) * per_tick;
    t0 = start();
    bp__gemm_blocked(BP_TRANS, BP_NO_TRANS, K, H, B, 1, z, K, h, H, 0, dw, H);
    double gb = ticks_since(t0) * per_tick;
    printf("instructions per tick %.2f\n", per_tick);
    printf("trained layer 64 -> 10, batch 16 (%.0f MACs each way):\n", macs);
    printf("  forward (Z = A W^T + b, softmax)      %7.0f instructions, %.2f per MAC\n", fwd, fwd / macs);
    printf("  backward (dZ, dW = dZ^T A, db)        %7.0f instructions, %.2f per MAC\n", bwd, bwd / macs);
    printf("  forward + backward                    %7.0f instructions, %.2f per MAC\n", fwd + bwd,
           (fwd + bwd) / (2 * macs));
    printf("  the GEMM of the forward alone         %7.0f instructions, %.2f per MAC\n", gf, gf / macs);
    printf("  the GEMM of dW alone                  %7.0f instructions, %.2f per MAC\n", gb, gb / macs);
    printf("  both products                         %7.0f instructions, %.2f per MAC\n", gf + gb,
           (gf + gb) / (2 * macs));
    printf("  a whole step (+ loss, Adam on %d)    %7.0f instructions, %.2f per MAC\n",
           (int)bp_model_param_count(m), step, step / (2 * macs));
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);
    return 0;
}
