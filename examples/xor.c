/* xor.c - the notes' XOR example: a 2-4-1 network (tanh hidden layer, sigmoid
 * output, binary cross-entropy) trained full-batch with Adam until it gets all
 * four cases right. This is also the usage example of include/backprop.h.
 *
 *   cc xor.c $(pkg-config --cflags --libs backprop) -o xor && ./xor */
#include <backprop.h>

#include <stdio.h>
#include <time.h>

#define CHECK(call)                                                              \
    do {                                                                         \
        bp_status st_ = (call);                                                  \
        if (st_ != BP_OK) {                                                      \
            fprintf(stderr, "xor: %s: %s\n", bp_status_name(st_), bp_last_error()); \
            return 1;                                                            \
        }                                                                        \
    } while (0)

int main(void)
{
    if (bp_real_size() != sizeof(bp_real)) {
        fprintf(stderr, "xor: built with a different BP_REAL_DOUBLE setting than the library\n");
        return 1;
    }
    const bp_real x[4 * 2] = {0, 0, 0, 1, 1, 0, 1, 1}; /* (4, 2) */
    const bp_real y[4 * 1] = {0, 1, 1, 0};             /* (4, 1) */

    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 2;
    mc.sizes[0] = 2, mc.sizes[1] = 4, mc.sizes[2] = 1;
    mc.act[0] = BP_ACT_TANH, mc.act[1] = BP_ACT_SIGMOID;
    mc.loss = BP_LOSS_BCE;
    mc.seed = 42;
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    oc.lr = 0.05;
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 4; /* the whole data set: full-batch gradient descent */

    bp_model *model = NULL;
    bp_optim *opt = NULL;
    bp_trainer *trainer = NULL;
    CHECK(bp_model_create(&model, &mc));
    CHECK(bp_optim_create(&opt, &oc, bp_model_param_count(model)));
    CHECK(bp_trainer_create(&trainer, model, opt, &tc));

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bp_epoch_stats st = {0};
    int epoch = 0;
    while (epoch < 2000 && !(st.accuracy == 1.0 && st.loss < 0.05)) {
        CHECK(bp_trainer_epoch(trainer, x, y, 4, &st));
        if (++epoch % 100 == 0) printf("epoch %4d  loss %.5f  accuracy %.2f\n", epoch, st.loss, st.accuracy);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = 1e3 * (t1.tv_sec - t0.tv_sec) + 1e-6 * (t1.tv_nsec - t0.tv_nsec);

    bp_real out[4];
    CHECK(bp_model_predict(model, x, 4, 4, out));
    int right = 0;
    for (int i = 0; i < 4; i++) {
        printf("%g xor %g = %g  (network: %.4f)\n", x[2 * i], x[2 * i + 1], y[i], out[i]);
        right += (out[i] > 0.5f) == (y[i] > 0.5f);
    }
    printf("learned XOR: %d/4 correct after %d epochs, loss %.5f, %.1f ms\n", right, epoch,
           st.loss, ms);
    bp_trainer_free(trainer);
    bp_optim_free(opt);
    bp_model_free(model);
    return right == 4 ? 0 : 1;
}
