/* test_core_only.c - the core stands alone: this program links against
 * libbackprop-core.a (the Makefile's CORE_SRC: models, training, what a
 * model carries) with -lopenblas -lm -lpthread only, no data or file code,
 * no jansson or zlib. It trains XOR with labels and a normalization on the
 * model, predicts, and frees it: that a model's free no longer reaches into
 * the encoder's data code is what lets it link at all. */
#include "test.h"

/* XOR on inputs in {0, 2}: the model's normalization maps them to {0, 1}. */
static void test_xor_with_labels_and_normalization(void)
{
    const bp_real x[4 * 2] = {0, 0, 0, 2, 2, 0, 2, 2}; /* (4, 2) */
    const bp_real y[4 * 1] = {0, 1, 1, 0};                 /* (4, 1) */
    const bp_real shift[2] = {0, 0}, scale[2] = {0.5, 0.5};
    const char *const names[2] = {"same", "different"};

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
    CHECK_OK(bp_model_create(&m, &mc));
    if (!m) return;
    CHECK_OK(bp_model_set_labels(m, 2, names));
    CHECK_OK(bp_model_set_normalization(m, shift, scale));
    CHECK(bp_model_encoder(m) == NULL, "a new model has no encoder");
    bp_real xn[4 * 2];
    memcpy(xn, x, sizeof xn);
    bp_model_normalize(m, xn, 4);
    CHECK(xn[3] == 1 && xn[4] == 1 && xn[0] == 0, "normalized: %g %g", (double)xn[3], (double)xn[4]);

    CHECK_OK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
    CHECK_OK(bp_trainer_create(&t, m, o, &tc));
    bp_epoch_stats st = {0};
    for (int e = 0; e < 2000 && t && !(st.accuracy == 1.0 && st.loss < 0.05); e++)
        CHECK_OK(bp_trainer_epoch(t, xn, y, 4, &st));
    CHECK(st.accuracy == 1.0, "accuracy %g, loss %g", st.accuracy, st.loss);

    bp_real out[4];
    CHECK_OK(bp_model_predict(m, xn, 4, 4, out));
    for (int i = 0; i < 4; i++)
        CHECK((out[i] > 0.5f) == (y[i] > 0.5f), "sample %d: %g for %g", i, (double)out[i],
              (double)y[i]);
    CHECK(bp_model_label_count(m) == 2 && strcmp(bp_model_label(m, 1), "different") == 0,
          "labels kept");
    CHECK(bp_model_set_encoder(m, NULL) == BP_OK, "clearing the encoder");
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);
}

int main(void)
{
    RUN(test_xor_with_labels_and_normalization);
    return test_summary("test_core_only");
}
