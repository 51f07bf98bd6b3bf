/* test_train_resume.c - the per-batch callback, and an epoch interrupted from
 * it then resumed in a fresh trainer: same parameters and same epoch
 * statistics as an uninterrupted run, bit for bit. */
#include "util.h"

#include <unistd.h>

#define N 50
#define IN 3
#define OUT 4

typedef struct {
    bp_trainer *t;
    size_t stop_at;   /* batch after which to request a stop (0: never) */
    size_t calls, last_batch, last_samples;
} watch;

static void on_batch(void *user, const bp_batch_info *info)
{
    watch *w = user;
    w->calls++;
    w->last_batch = info->batch;
    w->last_samples = info->samples;
    if (info->batch == w->stop_at) bp_trainer_request_stop(w->t);
}

typedef struct {
    bp_model *m;
    bp_optim *o;
    bp_trainer *t;
} run;

static void open_run(run *r, watch *w)
{
    const int sizes[] = {IN, 5, OUT};
    const bp_activation acts[] = {BP_ACT_TANH, BP_ACT_SOFTMAX};
    r->m = make_model(2, sizes, acts, BP_LOSS_XENT, 7);
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    CHECK_OK(bp_optim_create(&r->o, &oc, bp_model_param_count(r->m)));
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 8, tc.seed = 3, tc.on_batch = on_batch, tc.user = w;
    CHECK_OK(bp_trainer_create(&r->t, r->m, r->o, &tc));
    w->t = r->t;
}

static void close_run(run *r)
{
    bp_trainer_free(r->t);
    bp_optim_free(r->o);
    bp_model_free(r->m);
}

/* Moves everything a checkpoint holds from one run into a fresh one. */
static void transfer(run *to, run *from)
{
    size_t n = bp_model_param_count(from->m);
    memcpy(bp_model_params(to->m), bp_model_params(from->m), n * sizeof(bp_real));
    for (int s = 0; s < bp_optim_state_count(from->o); s++)
        memcpy(bp_optim_state(to->o, s), bp_optim_state(from->o, s), n * sizeof(bp_real));
    bp_optim_set_steps(to->o, bp_optim_steps(from->o));
    uint64_t rng[4];
    bp_trainer_rng(from->t, rng);
    bp_trainer_set_rng(to->t, rng);
    bp_trainer_set_next_batch(to->t, bp_trainer_next_batch(from->t));
    bp_trainer_set_epochs_done(to->t, bp_trainer_epochs_done(from->t));
    double ls;
    long c;
    size_t seen;
    bp_trainer_partial(from->t, &ls, &c, &seen);
    bp_trainer_set_partial(to->t, ls, c, seen);
}

static void test_callback_and_exact_resume(void)
{
    static bp_real x[N * IN], y[N * OUT];
    random_data(x, y, N, IN, OUT, BP_LOSS_XENT, 11);
    watch wa = {0}, wb = {0}, wc = {0};
    run a, b, c;
    bp_epoch_stats sa, sb, sc;
    open_run(&a, &wa);
    for (int e = 0; e < 2; e++) CHECK_OK(bp_trainer_epoch(a.t, x, y, N, &sa));
    CHECK(wa.calls == 14 && wa.last_batch == 7 && wa.last_samples == N,
          "calls %zu, last batch %zu, samples %zu", wa.calls, wa.last_batch, wa.last_samples);

    open_run(&b, &wb);
    CHECK_OK(bp_trainer_epoch(b.t, x, y, N, &sb));
    wb.stop_at = 3;
    bp_status st = bp_trainer_epoch(b.t, x, y, N, &sb);
    CHECK(st == BP_ERR_INTERRUPTED, "status %s", bp_status_name(st));
    CHECK(bp_trainer_next_batch(b.t) == 3, "next batch %zu", bp_trainer_next_batch(b.t));

    open_run(&c, &wc);
    transfer(&c, &b);
    CHECK_OK(bp_trainer_epoch(c.t, x, y, N, &sc));
    CHECK(wc.calls == 4 && wc.last_samples == N, "calls %zu, samples %zu", wc.calls, wc.last_samples);
    size_t n = bp_model_param_count(a.m);
    CHECK(memcmp(bp_model_params(a.m), bp_model_params(c.m), n * sizeof(bp_real)) == 0,
          "parameters differ after resume");
    CHECK(sa.loss == sc.loss && sa.accuracy == sc.accuracy && sa.epoch == sc.epoch,
          "stats differ: loss %.17g vs %.17g, acc %g vs %g, epoch %d vs %d", sa.loss, sc.loss,
          sa.accuracy, sc.accuracy, sa.epoch, sc.epoch);
    close_run(&a), close_run(&b), close_run(&c);
}

/* The same through a checkpoint file: the partial sums travel in it. */
static void test_checkpoint_carries_partial_epoch(void)
{
    static bp_real x[N * IN], y[N * OUT];
    random_data(x, y, N, IN, OUT, BP_LOSS_XENT, 12);
    watch wa = {0}, wb = {0};
    run a, b;
    bp_epoch_stats sa, sc;
    open_run(&a, &wa);
    CHECK_OK(bp_trainer_epoch(a.t, x, y, N, &sa));
    open_run(&b, &wb);
    wb.stop_at = 2;
    CHECK(bp_trainer_epoch(b.t, x, y, N, NULL) == BP_ERR_INTERRUPTED, "not interrupted");
    char path[] = "/tmp/bp_test_resume_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    CHECK_OK(bp_checkpoint_save(b.t, path, NULL));
    bp_model *m = NULL;
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    bp_checkpoint_info info;
    CHECK_OK(bp_checkpoint_load(&m, &o, path, &info, NULL));
    CHECK(info.next_batch == 2 && info.seen == 16 && info.correct >= 0, "next %zu seen %zu correct %ld",
          info.next_batch, info.seen, info.correct);
    if (m && o) {
        CHECK_OK(bp_trainer_create(&t, m, o, &info.train));
        bp_trainer_resume(t, &info);
        CHECK_OK(bp_trainer_epoch(t, x, y, N, &sc));
        CHECK(sa.loss == sc.loss && sa.accuracy == sc.accuracy, "loss %.17g vs %.17g",
              sa.loss, sc.loss);
        size_t n = bp_model_param_count(m);
        CHECK(memcmp(bp_model_params(a.m), bp_model_params(m), n * sizeof(bp_real)) == 0,
              "parameters differ after resume from file");
    }
    bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);
    close_run(&a), close_run(&b);
    remove(path);
    if (fd >= 0) close(fd);
}

/* ------------------------------------- schedule and early stopping, resumed */

#define NV 30

/* Adam on random labels with a cosine schedule after a warmup, stopped
 * when the validation loss has not improved for 2 epochs, with the best
 * weights restored. */
static void open_policy_run(run *r, watch *w)
{
    const int sizes[] = {IN, 16, OUT};
    const bp_activation acts[] = {BP_ACT_TANH, BP_ACT_SOFTMAX};
    r->m = make_model(2, sizes, acts, BP_LOSS_XENT, 7);
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    oc.lr = 0.05;
    CHECK_OK(bp_optim_create(&r->o, &oc, bp_model_param_count(r->m)));
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 8, tc.seed = 3, tc.on_batch = on_batch, tc.user = w;
    tc.schedule = BP_SCHEDULE_COSINE, tc.warmup_epochs = 1, tc.max_epochs = 40, tc.min_lr = 0.001;
    tc.patience = 2, tc.monitor = BP_MONITOR_VAL_LOSS, tc.restore_best = 1;
    CHECK_OK(bp_trainer_create(&r->t, r->m, r->o, &tc));
    w->t = r->t;
}

typedef struct {
    bp_real x[N * IN], y[N * OUT], xv[NV * IN], yv[NV * OUT];
} policy_data;

/* Learnable labels, the quadrant of (x0, x1), with every `noise`-th one
 * moved to another class: a model first learns, then fits the noise. */
static void quadrant_labels(const bp_real *x, bp_real *y, int n, int noise)
{
    for (int i = 0; i < n; i++) {
        int c = 2 * (x[i * IN] > 0) + (x[i * IN + 1] > 0);
        if (noise && i % noise == 0) c = (c + 1 + i % 3) % OUT;
        for (int j = 0; j < OUT; j++) y[i * OUT + j] = (bp_real)(j == c);
    }
}

/* Epochs until the trainer stops or an epoch is interrupted (BP_ERR_INTERRUPTED). */
static bp_status run_until_stop(run *r, const policy_data *d, bp_stop_reason *stop)
{
    *stop = BP_STOP_NONE;
    while (!*stop) {
        bp_status st = bp_trainer_epoch(r->t, d->x, d->y, N, NULL);
        if (st) return st;
        double loss, acc;
        CHECK_OK(bp_model_evaluate(r->m, d->xv, d->yv, NV, 64, &loss, &acc));
        CHECK_OK(bp_trainer_end_epoch(r->t, loss, stop));
    }
    return BP_OK;
}

/* Saves r to a checkpoint and loads it into a fresh run. */
static void through_file(run *to, watch *w, run *from)
{
    char path[] = "/tmp/bp_test_policy_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    CHECK_OK(bp_checkpoint_save(from->t, path, NULL));
    bp_checkpoint_info info;
    memset(to, 0, sizeof *to);
    CHECK_OK(bp_checkpoint_load(&to->m, &to->o, path, &info, NULL));
    info.train.on_batch = on_batch, info.train.user = w;
    if (to->m && to->o) CHECK_OK(bp_trainer_create(&to->t, to->m, to->o, &info.train));
    if (to->t) bp_trainer_resume(to->t, &info);
    w->t = to->t;
    bp_checkpoint_info_clear(&info);
    remove(path);
    if (fd >= 0) close(fd);
}

static void same_end(const run *a, bp_stop_reason sa, const run *c, bp_stop_reason sc, const char *when)
{
    bp_early_stop_state ea, ec;
    bp_trainer_early_stop(a->t, &ea);
    bp_trainer_early_stop(c->t, &ec);
    CHECK(sa == sc && bp_trainer_epochs_done(a->t) == bp_trainer_epochs_done(c->t),
          "%s: stopped (%s) after %d epochs, resumed run (%s) after %d", when,
          bp_stop_reason_name(sa), bp_trainer_epochs_done(a->t), bp_stop_reason_name(sc),
          bp_trainer_epochs_done(c->t));
    CHECK(ea.best_epoch == ec.best_epoch && ea.best_loss == ec.best_loss &&
          ea.bad_epochs == ec.bad_epochs, "%s: best epoch %d / %d, loss %.17g / %.17g", when,
          ea.best_epoch, ec.best_epoch, ea.best_loss, ec.best_loss);
    size_t n = bp_model_param_count(a->m);
    CHECK(memcmp(bp_model_params(a->m), bp_model_params(c->m), n * sizeof(bp_real)) == 0,
          "%s: the kept weights differ", when);
}

/* An early-stopping run under a schedule, interrupted mid-epoch after its
 * best epoch (and, again, between epochs) and resumed through checkpoint
 * files, ends exactly as the unbroken run: same stop, same epoch, same
 * kept (best) weights, which travel in the checkpoint. */
static void test_early_stop_schedule_resumed(void)
{
    static policy_data d;
    random_data(d.x, d.y, N, IN, OUT, BP_LOSS_XENT, 21);
    random_data(d.xv, d.yv, NV, IN, OUT, BP_LOSS_XENT, 22);
    quadrant_labels(d.x, d.y, N, 3);
    quadrant_labels(d.xv, d.yv, NV, 0);
    watch wa = {0}, wb = {0}, wc = {0}, wd = {0};
    run a, b, c, e;
    bp_stop_reason sa, sc;
    open_policy_run(&a, &wa);
    CHECK_OK(run_until_stop(&a, &d, &sa));
    bp_early_stop_state es;
    bp_trainer_early_stop(a.t, &es);
    int stop_epoch = bp_trainer_epochs_done(a.t);
    CHECK(sa == BP_STOP_NO_IMPROVEMENT && es.best_epoch >= 3 && es.best_epoch < stop_epoch,
          "the unbroken run should stop early after a best epoch >= 3: %s after %d, best %d",
          bp_stop_reason_name(sa), stop_epoch, es.best_epoch);

    open_policy_run(&b, &wb);
    for (int k = 0; k + 1 < stop_epoch; k++) {
        double loss, acc;
        CHECK_OK(bp_trainer_epoch(b.t, d.x, d.y, N, NULL));
        CHECK_OK(bp_model_evaluate(b.m, d.xv, d.yv, NV, 64, &loss, &acc));
        CHECK_OK(bp_trainer_end_epoch(b.t, loss, NULL));
        if (k + 2 == stop_epoch - 1) {  /* between epochs: a checkpoint here too */
            through_file(&e, &wd, &b);
            bp_stop_reason se;
            CHECK_OK(run_until_stop(&e, &d, &se));
            same_end(&a, sa, &e, se, "resumed between epochs");
            close_run(&e);
        }
    }
    wb.stop_at = 3; /* in the last epoch: after the best one, patience partly spent */
    bp_stop_reason sb;
    CHECK(run_until_stop(&b, &d, &sb) == BP_ERR_INTERRUPTED, "not interrupted");
    through_file(&c, &wc, &b);
    CHECK_OK(run_until_stop(&c, &d, &sc));
    same_end(&a, sa, &c, sc, "resumed mid-epoch");
    close_run(&a), close_run(&b), close_run(&c);
}

/* A checkpoint of backprop 0.1 (no schedule, stopping rule or its state
 * in it) loads with the defaults. */
static void test_old_checkpoint_defaults(void)
{
    bp_model *m = NULL;
    bp_optim *o = NULL;
    bp_checkpoint_info info;
    CHECK_OK(bp_checkpoint_load(&m, &o, "tests/data/checkpoint-v0.1-early-stop.ckpt", &info, NULL));
    if (!m) return;
    bp_train_config d = bp_train_config_default();
    CHECK(info.train.schedule == BP_SCHEDULE_CONSTANT && info.train.warmup_epochs == 0 &&
          info.train.lr == 0 && info.train.step_epochs == d.step_epochs &&
          info.train.gamma == d.gamma && info.train.max_epochs == 0 && info.train.patience == 0 &&
          info.train.restore_best == 0 && info.train.monitor == BP_MONITOR_AUTO, "config defaults");
    CHECK(info.early_stop.best_epoch == 0 && info.early_stop.bad_epochs == 0 &&
          isinf(info.early_stop.best_loss) && isnan(info.early_stop.epoch_loss) &&
          !info.best_params, "early-stop state defaults");
    CHECK(info.epochs_done == 19 && info.next_batch == 5, "epochs %d, batch %zu",
          info.epochs_done, info.next_batch);
    bp_trainer *t = NULL;
    CHECK_OK(bp_trainer_create(&t, m, o, &info.train));
    if (t) bp_trainer_resume(t, &info);
    CHECK(t && bp_trainer_cfg(t)->lr == bp_optim_lr(o), "base lr");
    bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);
    bp_checkpoint_info_clear(&info);
}

int main(void)
{
    RUN(test_callback_and_exact_resume);
    RUN(test_checkpoint_carries_partial_epoch);
    RUN(test_early_stop_schedule_resumed);
    RUN(test_old_checkpoint_defaults);
    return test_summary("test_train_resume");
}
