/* main.c - tests/test_no_threads.sh's program: built from the core's sources
 * once with -DBP_NO_THREADS (no pool, no pthread) and once without, both
 * with -DBP_NO_BLAS. It trains a small model on one thread and prints its
 * final loss and outputs as hex floats ("result ..."), which the script
 * compares between the two builds; the no-threads build also checks what
 * bp_threads and bp_set_threads report. */
#include "test.h"

static char result[256];

static void test_train_one_thread(void)
{
    enum { N = 64, IN = 2, BATCH = 16 };
    bp_real x[N * IN], y[N]; /* (N, IN), (N, 1): the inside of a circle */
    for (int i = 0; i < N; i++) {
        x[i * IN] = (bp_real)((i % 8) / 3.5 - 1), x[i * IN + 1] = (bp_real)((i / 8) / 3.5 - 1);
        y[i] = x[i * IN] * x[i * IN] + x[i * IN + 1] * x[i * IN + 1] < (bp_real)0.5;
    }
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 3;
    mc.sizes[0] = IN, mc.sizes[1] = 24, mc.sizes[2] = 24, mc.sizes[3] = 1;
    mc.act[0] = mc.act[1] = BP_ACT_TANH, mc.act[2] = BP_ACT_SIGMOID;
    mc.loss = BP_LOSS_BCE;
    mc.seed = 7;
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    oc.lr = 0.02;
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = BATCH;
    bp_model *m = NULL;
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    CHECK_OK(bp_model_create(&m, &mc));
    CHECK_OK(bp_optim_create(&o, &oc, m ? bp_model_param_count(m) : 1));
    CHECK_OK(bp_trainer_create(&t, m, o, &tc));
    if (!t) return;
    bp_epoch_stats st = {0};
    for (int e = 0; e < 200; e++) CHECK_OK(bp_trainer_epoch(t, x, y, N, &st));
    CHECK(st.accuracy > 0.9, "accuracy %g, loss %g", st.accuracy, st.loss);
    bp_real out[N];
    CHECK_OK(bp_model_predict(m, x, N, N, out));
    double sum = 0;
    for (int i = 0; i < N; i++) sum += out[i];
    snprintf(result, sizeof result, "result loss %a outputs %a first %a", st.loss, sum, (double)out[0]);
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);
}

#ifdef BP_NO_THREADS
/* One thread, whatever is asked; more than one is refused with a message. */
static void test_threads_report_one(void)
{
    CHECK(bp_threads() == 1, "bp_threads() = %d", bp_threads());
    bp_set_threads(4);
    CHECK(bp_threads() == 1, "after bp_set_threads(4): %d", bp_threads());
    CHECK(strstr(bp_last_error(), "no threads") != NULL, "message: '%s'", bp_last_error());
    bp_set_threads(0);
    CHECK(bp_threads() == 1, "after bp_set_threads(0): %d", bp_threads());
}
#endif

int main(void)
{
#ifdef BP_NO_THREADS
    RUN(test_threads_report_one);
#else
    bp_set_threads(1);
#endif
    RUN(test_train_one_thread);
    printf("%s\n", result);
    return test_summary("no_threads");
}
