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
    bp_trainer_get_rng(from->t, rng);
    bp_trainer_set_rng(to->t, rng);
    bp_trainer_set_next_batch(to->t, bp_trainer_next_batch(from->t));
    bp_trainer_set_epochs_done(to->t, bp_trainer_epochs_done(from->t));
    double ls;
    long c;
    size_t seen;
    bp_trainer_get_partial(from->t, &ls, &c, &seen);
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
    CHECK_OK(bp_checkpoint_save(path, b.m, b.o, b.t, NULL));
    bp_model *m = NULL;
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    bp_checkpoint_info info;
    CHECK_OK(bp_checkpoint_load(path, &m, &o, &info, NULL));
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

int main(void)
{
    RUN(test_callback_and_exact_resume);
    RUN(test_checkpoint_carries_partial_epoch);
    return test_summary("test_train_resume");
}
