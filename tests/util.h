/* util.h - helpers the tests share: small models and seeded random data. */
#ifndef BP_TEST_UTIL_H
#define BP_TEST_UTIL_H

#include "test.h"

/* A model from a size list (n_layers + 1 entries) and activation list. */
static bp_model *make_model(int n_layers, const int *sizes, const bp_activation *acts,
                            bp_loss loss, uint64_t seed)
{
    bp_model_config c = bp_model_config_default();
    c.n_layers = n_layers;
    for (int l = 0; l <= n_layers; l++) c.sizes[l] = sizes[l];
    for (int l = 0; l < n_layers; l++) c.act[l] = acts[l];
    c.loss = loss;
    c.seed = seed;
    bp_model *m = NULL;
    bp_status st = bp_model_create(&m, &c);
    if (st) fprintf(stderr, "make_model: %s\n", bp_last_error());
    return m;
}

/* x uniform in [-1, 1); y one-hot (xent), 0/1 (bce) or uniform [0, 1) (mse). */
static void random_data(bp_real *x, bp_real *y, int n, int in, int out, bp_loss loss, uint64_t seed)
{
    bp_rng r;
    bp_rng_seed(&r, seed);
    for (int i = 0; i < n * in; i++) x[i] = (bp_real)(2 * bp_rng_uniform(&r) - 1);
    for (int i = 0; i < n; i++) {
        bp_real *yi = y + (size_t)i * out;
        if (loss == BP_LOSS_XENT) {
            int c = (int)bp_rng_below(&r, (uint64_t)out);
            for (int j = 0; j < out; j++) yi[j] = j == c;
        } else {
            for (int j = 0; j < out; j++)
                yi[j] = loss == BP_LOSS_BCE ? (bp_real)(bp_rng_below(&r, 2)) : (bp_real)bp_rng_uniform(&r);
        }
    }
}

#endif
