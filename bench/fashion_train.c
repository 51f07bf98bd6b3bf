/* fashion_train.c - backprop's side of bench/fashion_accuracy.sh: trains
 * 784-256-128-10 (relu, relu, softmax + cross-entropy) with Adam (lr 1e-3),
 * shuffled mini-batches of 128, on Fashion-MNIST's 60000 training images
 * (normalized as `backprop train` does by default for images: the library's
 * global min-max, BP_NORM_GLOBAL, which is pixels / 255 here), and reports
 * the accuracy on the 10000 test images.
 *
 *   fashion_train SEED [EPOCHS [THREADS]]      (defaults 5, 1)
 *
 * Prints one line per epoch, then "test_accuracy A seconds S". */
#include <backprop.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what)
{
    fprintf(stderr, "fashion_train: %s: %s\n", what, bp_last_error());
    return 1;
}

/* The default image normalization, computed on the training set and applied to both. */
static int normalize(bp_model *m, bp_dataset *train, bp_dataset *test)
{
    bp_real shift[784], scale[784];
    if (bp_normalization_compute(train, BP_NORM_GLOBAL, shift, scale) ||
        bp_model_set_normalization(m, shift, scale))
        return fail("normalization");
    bp_model_normalize(m, bp_dataset_x(train), bp_dataset_count(train));
    bp_model_normalize(m, bp_dataset_x(test), bp_dataset_count(test));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fashion_train SEED [EPOCHS [THREADS]]\n");
        return 2;
    }
    uint64_t seed = strtoull(argv[1], NULL, 10);
    int epochs = argc > 2 ? atoi(argv[2]) : 5;
    bp_set_threads(argc > 3 ? atoi(argv[3]) : 1);
    bp_dataset *train, *test;
    if (bp_dataset_load_spec(&train, "fashion-mnist:train", NULL)) return fail("train set");
    if (bp_dataset_load_spec(&test, "fashion-mnist:test", NULL)) return fail("test set");

    bp_model_config mc = bp_model_config_default();
    int sizes[] = {784, 256, 128, 10};
    mc.n_layers = 3;
    for (int l = 0; l <= 3; l++) mc.sizes[l] = sizes[l];
    mc.act[0] = mc.act[1] = BP_ACT_RELU;
    mc.act[2] = BP_ACT_SOFTMAX;
    mc.loss = BP_LOSS_XENT;
    mc.seed = seed;
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    oc.lr = 1e-3;
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 128;
    tc.seed = seed;
    bp_model *m;
    bp_optim *o;
    bp_trainer *t;
    if (bp_model_create(&m, &mc) || bp_optim_create(&o, &oc, bp_model_param_count(m)) ||
        bp_trainer_create(&t, m, o, &tc))
        return fail("create");
    if (normalize(m, train, test)) return 1;
    double secs = 0, loss, acc;
    for (int e = 0; e < epochs; e++) {
        bp_epoch_stats st;
        if (bp_trainer_epoch(t, bp_dataset_x(train), bp_dataset_y(train), bp_dataset_count(train), &st))
            return fail("epoch");
        secs += st.seconds;
        printf("epoch %d loss %.4f accuracy %.4f seconds %.3f\n", st.epoch, st.loss, st.accuracy,
               st.seconds);
    }
    if (bp_model_evaluate(m, bp_dataset_x(test), bp_dataset_y(test), bp_dataset_count(test), 1000,
                          &loss, &acc))
        return fail("evaluate");
    printf("test_accuracy %.4f seconds %.1f\n", acc, secs);
    bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);
    bp_dataset_free(train), bp_dataset_free(test);
    return 0;
}
