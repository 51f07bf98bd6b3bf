/* test_train_policy.c - the trainer's training policy: the learning rate it
 * sets at each epoch against the schedules' formulas (written here again,
 * independently; tests/test_train_policy.py compares with PyTorch), the
 * stopping rule on scripted loss sequences (scikit-learn's rule, worked by
 * hand; the .py runs scikit-learn itself), the best weights put back on a
 * stop, the monitored loss, the stop reasons, the checks of the
 * configuration, and no allocation in the loop. */
#include "count_allocs.h"
#include "util.h"

#define N 24
#define IN 3
#define OUT 2

typedef struct {
    bp_model *m;
    bp_optim *o;
    bp_trainer *t;
    bp_real x[N * IN], y[N * OUT];
} run;

/* A small tanh/softmax model trained by SGD (lr 0.1) under cfg. */
static bp_status open_run(run *r, const bp_train_config *cfg)
{
    const int sizes[] = {IN, 4, OUT};
    const bp_activation acts[] = {BP_ACT_TANH, BP_ACT_SOFTMAX};
    r->m = make_model(2, sizes, acts, BP_LOSS_XENT, 5);
    random_data(r->x, r->y, N, IN, OUT, BP_LOSS_XENT, 9);
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_SGD);
    oc.lr = 0.1;
    r->o = NULL, r->t = NULL;
    bp_status st = bp_optim_create(&r->o, &oc, bp_model_param_count(r->m));
    return st ? st : bp_trainer_create(&r->t, r->m, r->o, cfg);
}

static void close_run(run *r)
{
    bp_trainer_free(r->t);
    bp_optim_free(r->o);
    bp_model_free(r->m);
}

static bp_status epoch(run *r, bp_epoch_stats *st)
{
    return bp_trainer_epoch(r->t, r->x, r->y, N, st);
}

/* ------------------------------------------------------------ schedules */

#define PI 3.141592653589793

/* Each schedule's rate at 0-based epoch e, as docs/CLI.md writes it. */
static double expected_lr(const bp_train_config *c, int e)
{
    int w = c->warmup_epochs;
    if (e < w) return c->lr * (e + 1.0) / (w + 1.0);
    switch (c->schedule) {
    case BP_SCHEDULE_STEP: {
        double f = 1;
        for (int k = 0; k < (e - w) / c->step_epochs; k++) f *= c->gamma;
        return c->lr * f;
    }
    case BP_SCHEDULE_COSINE:
        return c->min_lr + 0.5 * (c->lr - c->min_lr) * (1 + cos(PI * (e - w) / (c->max_epochs - w)));
    default: return c->lr;
    }
}

static void check_schedule(const char *name, bp_train_config c, int epochs)
{
    run r;
    CHECK_OK(open_run(&r, &c));
    if (!r.t) return close_run(&r);
    CHECK(bp_trainer_cfg(r.t)->lr == 0.1 || c.lr != 0, "%s: base lr %g, not the "
          "optimizer's 0.1", name, bp_trainer_cfg(r.t)->lr);
    const bp_train_config *used = bp_trainer_cfg(r.t);
    for (int e = 0; e < epochs; e++) {
        CHECK_OK(epoch(&r, NULL));
        double got = bp_optim_lr(r.o), want = expected_lr(used, e);
        CHECK(fabs(got - want) <= 1e-15 * want, "%s: epoch %d: lr %.17g, formula %.17g", name,
              e, got, want);
        CHECK(bp_train_config_lr(used, e) == got, "%s: epoch %d: bp_train_config_lr differs", name, e);
    }
    close_run(&r);
}

static void test_schedule_rates(void)
{
    bp_train_config c = bp_train_config_default();
    c.schedule = BP_SCHEDULE_STEP, c.step_epochs = 3, c.gamma = 0.5;
    check_schedule("step", c, 10); /* lr 0: the optimizer's 0.1 */
    c.warmup_epochs = 2, c.lr = 0.2;
    check_schedule("warmup + step", c, 10);
    c = bp_train_config_default();
    c.schedule = BP_SCHEDULE_COSINE, c.max_epochs = 8, c.min_lr = 0.01;
    check_schedule("cosine", c, 8);
    c.warmup_epochs = 3;
    check_schedule("warmup + cosine", c, 8);
    c = bp_train_config_default();
    c.warmup_epochs = 4;
    check_schedule("warmup", c, 7);
}

/* A constant rate without warmup is the caller's: set between epochs, it stays. */
static void test_constant_leaves_rate_alone(void)
{
    bp_train_config c = bp_train_config_default();
    run r;
    CHECK_OK(open_run(&r, &c));
    if (r.t) {
        bp_optim_set_lr(r.o, 0.0123);
        CHECK_OK(epoch(&r, NULL));
        CHECK(bp_optim_lr(r.o) == 0.0123, "lr %g", bp_optim_lr(r.o));
    }
    close_run(&r);
}

/* ------------------------------------------------------------- stopping */

/* scikit-learn's rule, tol 0.01, n_iter_no_change 2 (patience 3), worked
 * by hand: bad when loss > best - tol, best follows any lower loss. */
static void test_stopping_rule_scripted(void)
{
    static const double loss[] = {1.0, 0.995, 0.98, 0.98, 0.975, 0.96, 0.97, 0.955, 0.951};
    static const int bad[] = {0, 1, 0, 1, 2, 0, 1, 2, 3};
    static const double best[] = {1.0, 0.995, 0.98, 0.98, 0.975, 0.96, 0.96, 0.955, 0.951};
    bp_train_config c = bp_train_config_default();
    c.patience = 3, c.tol = 0.01, c.monitor = BP_MONITOR_VAL_LOSS;
    run r;
    CHECK_OK(open_run(&r, &c));
    for (int e = 0; r.t && e < 9; e++) {
        bp_stop_reason stop;
        CHECK_OK(epoch(&r, NULL));
        CHECK_OK(bp_trainer_end_epoch(r.t, loss[e], &stop));
        bp_early_stop_state s;
        bp_trainer_early_stop(r.t, &s);
        CHECK(s.bad_epochs == bad[e] && s.best_loss == best[e], "epoch %d: bad %d (want %d), "
              "best %g (want %g)", e + 1, s.bad_epochs, bad[e], s.best_loss, best[e]);
        bp_stop_reason want = e == 8 ? BP_STOP_NO_IMPROVEMENT : BP_STOP_NONE;
        CHECK(stop == want && bp_trainer_stop_reason(r.t) == want, "epoch %d: stop %s",
              e + 1, bp_stop_reason_name(stop));
    }
    close_run(&r);
}

/* Scripted validation losses on a real run: the weights after the best
 * epoch come back on a stop (patience, or max_epochs), and only with
 * restore_best. */
static void check_restore(int restore, int patience, int max_epochs, const double *val, int n,
                          int best_epoch)
{
    bp_train_config c = bp_train_config_default();
    c.patience = patience, c.max_epochs = max_epochs, c.restore_best = restore;
    run r;
    CHECK_OK(open_run(&r, &c));
    if (!r.t) return close_run(&r);
    size_t np = bp_model_param_count(r.m);
    bp_real snap[64], last[64];
    CHECK(np <= 64, "%zu params", np);
    bp_stop_reason stop = BP_STOP_NONE;
    int e = 0;
    while (!stop && e < n) {
        CHECK_OK(epoch(&r, NULL));
        memcpy(last, bp_model_params(r.m), np * sizeof *last);
        if (++e == best_epoch) memcpy(snap, last, np * sizeof *snap);
        CHECK_OK(bp_trainer_end_epoch(r.t, val[e - 1], &stop));
    }
    CHECK(e == n && stop, "stopped after %d epochs (%s), expected %d", e, bp_stop_reason_name(stop), n);
    const bp_real *want = restore ? snap : last;
    CHECK(memcmp(bp_model_params(r.m), want, np * sizeof *want) == 0,
          "restore_best %d, patience %d: the model does not hold epoch %d's weights", restore,
          patience, restore ? best_epoch : e);
    CHECK((bp_trainer_best_params(r.t) != NULL) == (restore != 0), "best buffer");
    close_run(&r);
}

static void test_restore_best(void)
{
    static const double v[] = {3, 2, 1, 1.5, 1.2};
    check_restore(1, 2, 0, v, 5, 3);  /* patience runs out after epoch 5 */
    check_restore(0, 2, 0, v, 5, 3);
    static const double w[] = {3, 1, 2};
    check_restore(1, 0, 3, w, 3, 2);  /* max_epochs */
    check_restore(1, 5, 3, w, 3, 2);
}

/* AUTO watches the validation loss when given, else the training loss;
 * VAL needs one; each completed epoch is judged once. */
static void test_monitor(void)
{
    bp_train_config c = bp_train_config_default();
    run r;
    CHECK_OK(open_run(&r, &c));
    bp_epoch_stats st;
    bp_early_stop_state s;
    if (r.t) {
        CHECK_OK(epoch(&r, &st));
        CHECK_OK(bp_trainer_end_epoch(r.t, NAN, NULL));
        bp_trainer_early_stop(r.t, &s);
        CHECK(s.best_loss == st.loss && s.best_epoch == 1, "best %g, training loss %g", s.best_loss, st.loss);
        CHECK(bp_trainer_end_epoch(r.t, 0.5, NULL) == BP_ERR_INVALID, "judged twice");
        CHECK_OK(epoch(&r, &st));
        CHECK_OK(bp_trainer_end_epoch(r.t, 1e-9, NULL));
        bp_trainer_early_stop(r.t, &s);
        CHECK(s.best_loss == 1e-9 && s.best_epoch == 2, "best %g at %d", s.best_loss, s.best_epoch);
    }
    close_run(&r);
    c.monitor = BP_MONITOR_VAL_LOSS;
    CHECK_OK(open_run(&r, &c));
    if (r.t) {
        CHECK_OK(epoch(&r, &st));
        CHECK(bp_trainer_end_epoch(r.t, NAN, NULL) == BP_ERR_INVALID, "VAL without a loss");
    }
    close_run(&r);
    c.monitor = BP_MONITOR_TRAIN_LOSS;
    CHECK_OK(open_run(&r, &c));
    if (r.t) {
        CHECK_OK(epoch(&r, &st));
        CHECK_OK(bp_trainer_end_epoch(r.t, 1e-9, NULL));
        bp_trainer_early_stop(r.t, &s);
        CHECK(s.best_loss == st.loss, "TRAIN watched %g, not %g", s.best_loss, st.loss);
    }
    close_run(&r);
}

static void test_stop_reasons(void)
{
    bp_train_config c = bp_train_config_default();
    c.batch_size = 4;
    run r;
    CHECK_OK(open_run(&r, &c));
    if (r.t) {
        bp_trainer_request_stop(r.t);
        CHECK(epoch(&r, NULL) == BP_ERR_INTERRUPTED, "not interrupted");
        CHECK(bp_trainer_stop_reason(r.t) == BP_STOP_INTERRUPTED, "%s",
              bp_stop_reason_name(bp_trainer_stop_reason(r.t)));
        CHECK_OK(epoch(&r, NULL));
        CHECK(bp_trainer_stop_reason(r.t) == BP_STOP_NONE, "after the resumed epoch");
        r.x[0] = (bp_real)NAN; /* the loss of the batch holding it is NaN */
        bp_status st = epoch(&r, NULL);
        CHECK(st == BP_ERR_NUMERIC && bp_trainer_stop_reason(r.t) == BP_STOP_NUMERIC, "%s, %s",
              bp_status_name(st), bp_stop_reason_name(bp_trainer_stop_reason(r.t)));
    }
    close_run(&r);
    CHECK(strcmp(bp_stop_reason_name(BP_STOP_NO_IMPROVEMENT), "no improvement") == 0, "name");
}

static void expect_invalid(const char *what, bp_train_config c)
{
    run r;
    bp_status st = open_run(&r, &c);
    CHECK(st == BP_ERR_INVALID && !r.t, "%s: %s", what, bp_status_name(st));
    close_run(&r);
}

static void test_config_checks(void)
{
    bp_train_config c = bp_train_config_default();
    c.schedule = BP_SCHEDULE_COSINE, c.max_epochs = 3, c.warmup_epochs = 3;
    expect_invalid("cosine without epochs after warmup", c);
    c = bp_train_config_default();
    c.schedule = BP_SCHEDULE_STEP, c.step_epochs = 0;
    expect_invalid("step_epochs 0", c);
    c = bp_train_config_default();
    c.tol = -1;
    expect_invalid("negative tol", c);
    c = bp_train_config_default();
    c.monitor = BP_MONITOR_COUNT_;
    expect_invalid("monitor out of range", c);
    memset(&c, 0, sizeof c); /* a zeroed config, as callers before these fields wrote */
    c.batch_size = 8;
    run r;
    CHECK_OK(open_run(&r, &c));
    close_run(&r);
    bp_schedule s;
    CHECK(bp_schedule_from_name("cosine", &s) == BP_OK && s == BP_SCHEDULE_COSINE, "cosine");
    CHECK(bp_schedule_from_name("exp", &s) == BP_ERR_INVALID, "exp");
}

/* Schedule, judging and keeping the best weights allocate nothing after the first epoch. */
static void test_no_allocation_in_loop(void)
{
#ifdef COUNTING_ALLOCS
    bp_train_config c = bp_train_config_default();
    c.schedule = BP_SCHEDULE_COSINE, c.max_epochs = 50, c.patience = 40, c.restore_best = 1;
    run r;
    CHECK_OK(open_run(&r, &c));
    if (r.t) {
        CHECK_OK(epoch(&r, NULL));
        CHECK_OK(bp_trainer_end_epoch(r.t, 1, NULL));
        long before = n_allocs;
        for (int e = 0; e < 5; e++) {
            CHECK_OK(epoch(&r, NULL));
            CHECK_OK(bp_trainer_end_epoch(r.t, 1.0 / (e + 2), NULL));
        }
        CHECK(n_allocs == before, "%ld allocations in 5 epochs", n_allocs - before);
    }
    close_run(&r);
#else
    (void)n_allocs;
    printf("  (skipped: allocations are not counted under AddressSanitizer)\n");
#endif
}

int main(void)
{
    RUN(test_schedule_rates);
    RUN(test_constant_leaves_rate_alone);
    RUN(test_stopping_rule_scripted);
    RUN(test_restore_best);
    RUN(test_monitor);
    RUN(test_stop_reasons);
    RUN(test_config_checks);
    RUN(test_no_allocation_in_loop);
    return test_summary("test_train_policy");
}
