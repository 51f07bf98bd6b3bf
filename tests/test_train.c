/* The training loop: XOR converges; mini-batches (the last partial one
 * included), full batch and batch 1 through one code path, checked against
 * steps written out by hand; determinism; exact resume after a stop; a NaN
 * stops training with a message; no allocation in the steady-state loop;
 * sharded training (threads standing in for MPI ranks) matches one process. */
#include "util.h"
#include "internal.h"

#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <unistd.h>

#include "count_allocs.h"

typedef struct {
    bp_model *model;
    bp_optim *opt;
    bp_trainer *trainer;
} rig;

static rig make_rig(bp_model *m, bp_optim_kind kind, double lr, int batch, int shuffle, uint64_t seed)
{
    rig r = {m, NULL, NULL};
    bp_optim_config oc = bp_optim_config_default(kind);
    oc.lr = lr;
    bp_train_config tc = {.batch_size = batch, .shuffle = shuffle, .seed = seed};
    CHECK_OK(bp_optim_create(&r.opt, &oc, bp_model_param_count(m)));
    CHECK_OK(bp_trainer_create(&r.trainer, m, r.opt, &tc));
    return r;
}

static void free_rig(rig *r)
{
    bp_trainer_free(r->trainer);
    bp_optim_free(r->opt);
    bp_model_free(r->model);
}

static bp_model *small_model(uint64_t seed)
{
    const int sizes[] = {3, 6, 4};
    const bp_activation acts[] = {BP_ACT_TANH, BP_ACT_SOFTMAX};
    return make_model(2, sizes, acts, BP_LOSS_XENT, seed);
}

enum { N = 10 };
static bp_real X[N * 3], Y[N * 4];

static void test_xor_converges(void)
{
    const int sizes[] = {2, 4, 1};
    const bp_activation acts[] = {BP_ACT_TANH, BP_ACT_SIGMOID};
    rig r = make_rig(make_model(2, sizes, acts, BP_LOSS_BCE, 42), BP_OPTIM_ADAM, 0.05, 4, 1, 0);
    const bp_real x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    bp_epoch_stats st = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int e = 0;
    while (e < 2000 && st.accuracy < 1) {
        CHECK_OK(bp_trainer_epoch(r.trainer, x, y, 4, &st));
        e++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    CHECK(st.accuracy == 1, "accuracy %g after %d epochs", st.accuracy, e);
    CHECK(secs < 0.5, "took %g s", secs);
    printf("xor: 100%% after %d epochs, %.2f ms\n", e, secs * 1e3);
    free_rig(&r);
}

/* One epoch without shuffling, batch B, plain SGD, written out by hand. */
static void manual_epoch(bp_model *m, int B, double lr)
{
    for (int start = 0; start < N; start += B) {
        int rows = N - start < B ? N - start : B;
        CHECK_OK(bp_model_forward(m, X + start * 3, rows, NULL));
        CHECK_OK(bp_model_backward(m, Y + start * 4, rows));
        for (size_t i = 0; i < bp_model_param_count(m); i++)
            bp_model_params(m)[i] -= (bp_real)lr * bp_model_grads(m)[i];
    }
}

static void test_batches_match_manual_steps(void)
{
    const int batches[] = {1, 3, 5, N, 100}; /* SGD, partial last batch, divisor, full, > n */
    for (int i = 0; i < 5; i++) {
        int B = batches[i];
        rig r = make_rig(small_model(3), BP_OPTIM_SGD, 0.1, B, 0, 0);
        bp_model *ref = small_model(3);
        bp_epoch_stats st;
        CHECK_OK(bp_trainer_epoch(r.trainer, X, Y, N, &st));
        manual_epoch(ref, B, 0.1);
        int expected_steps = (N + B - 1) / B;
        CHECK(st.steps == (uint64_t)expected_steps, "batch %d: %llu steps, expected %d", B,
              (unsigned long long)st.steps, expected_steps);
        CHECK(memcmp(bp_model_params(r.model), bp_model_params(ref),
                     bp_model_param_count(ref) * sizeof(bp_real)) == 0,
              "batch %d: parameters differ from the hand-written loop", B);
        bp_model_free(ref);
        free_rig(&r);
    }
}

/* Full batch: the order of the samples does not change the mean gradient. */
static void test_full_batch_ignores_shuffle(void)
{
    rig a = make_rig(small_model(4), BP_OPTIM_SGD, 0.1, N, 1, 1);
    rig b = make_rig(small_model(4), BP_OPTIM_SGD, 0.1, N, 0, 0);
    bp_epoch_stats st;
    for (int e = 0; e < 3; e++) {
        CHECK_OK(bp_trainer_epoch(a.trainer, X, Y, N, &st));
        CHECK_OK(bp_trainer_epoch(b.trainer, X, Y, N, &st));
    }
    for (size_t i = 0; i < bp_model_param_count(a.model); i++)
        CHECK_CLOSE(bp_model_params(a.model)[i], bp_model_params(b.model)[i], TEST_DOUBLE ? 1e-14 : 1e-6);
    free_rig(&a), free_rig(&b);
}

static void test_shuffle_is_seeded(void)
{
    rig a = make_rig(small_model(5), BP_OPTIM_ADAM, 0.01, 3, 1, 77);
    rig b = make_rig(small_model(5), BP_OPTIM_ADAM, 0.01, 3, 1, 77);
    rig c = make_rig(small_model(5), BP_OPTIM_ADAM, 0.01, 3, 1, 78);
    bp_epoch_stats st;
    for (int e = 0; e < 4; e++) {
        CHECK_OK(bp_trainer_epoch(a.trainer, X, Y, N, &st));
        CHECK_OK(bp_trainer_epoch(b.trainer, X, Y, N, &st));
        CHECK_OK(bp_trainer_epoch(c.trainer, X, Y, N, &st));
    }
    size_t bytes = bp_model_param_count(a.model) * sizeof(bp_real);
    CHECK(memcmp(bp_model_params(a.model), bp_model_params(b.model), bytes) == 0, "same seed differs");
    CHECK(memcmp(bp_model_params(a.model), bp_model_params(c.model), bytes) != 0, "seed ignored");
    free_rig(&a), free_rig(&b), free_rig(&c);
}

/* Two runs at 2 threads on a problem big enough for the layers to be split. */
static void test_same_seed_same_threads_identical(void)
{
    enum { n = 600, in = 256 };
    bp_real *x = malloc(sizeof(bp_real) * n * in), *y = malloc(sizeof(bp_real) * n * 10);
    random_data(x, y, n, in, 10, BP_LOSS_XENT, 8);
    const int sizes[] = {in, 256, 10};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_SOFTMAX};
    bp_real *first = NULL;
    bp_set_threads(2);
    for (int run = 0; run < 2; run++) {
        rig r = make_rig(make_model(2, sizes, acts, BP_LOSS_XENT, 3), BP_OPTIM_ADAM, 1e-3, 64, 1, 5);
        bp_epoch_stats st;
        for (int e = 0; e < 2; e++) CHECK_OK(bp_trainer_epoch(r.trainer, x, y, n, &st));
        size_t bytes = bp_model_param_count(r.model) * sizeof(bp_real);
        if (!first) first = malloc(bytes), memcpy(first, bp_model_params(r.model), bytes);
        else CHECK(memcmp(first, bp_model_params(r.model), bytes) == 0, "runs differ");
        free_rig(&r);
    }
    bp_set_threads(1);
    free(first), free(x), free(y);
}

/* A shuffled epoch's batches are gathered (the next one during the update,
 * its rows prefetched during the step before): the weights are bit for bit
 * those of steps on batches gathered here by hand, in the order drawn here
 * with the trainer's generator (Fisher-Yates from the last index), at 1 and
 * 2 threads (layers big enough to be split), the last batch partial. */
static void test_shuffled_batches_match_gathered_by_hand(void)
{
    enum { n = 600, in = 256, k = 10, B = 64, EPOCHS = 2 };
    bp_real *x = malloc(sizeof(bp_real) * n * in), *y = malloc(sizeof(bp_real) * n * k);
    bp_real *xb = malloc(sizeof(bp_real) * B * in), *yb = malloc(sizeof(bp_real) * B * k);
    size_t order[n];
    random_data(x, y, n, in, k, BP_LOSS_XENT, 8);
    const int sizes[] = {in, 128, k};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_SOFTMAX};
    for (int threads = 1; threads <= 2; threads++) {
        bp_set_threads(threads);
        rig r = make_rig(make_model(2, sizes, acts, BP_LOSS_XENT, 3), BP_OPTIM_ADAM, 1e-3, B, 1, 5);
        bp_model *m = make_model(2, sizes, acts, BP_LOSS_XENT, 3);
        bp_optim *o;
        bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
        oc.lr = 1e-3;
        CHECK_OK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
        bp_rng g;
        bp_rng_seed(&g, 5);
        bp_epoch_stats st;
        for (int e = 0; e < EPOCHS; e++) {
            CHECK_OK(bp_trainer_epoch(r.trainer, x, y, n, &st));
            for (size_t i = 0; i < n; i++) order[i] = i;
            for (size_t i = n - 1; i > 0; i--) {
                size_t j = (size_t)bp_rng_below(&g, i + 1), tmp = order[i];
                order[i] = order[j], order[j] = tmp;
            }
            for (int start = 0; start < n; start += B) {
                int rows = n - start < B ? n - start : B;
                for (int i = 0; i < rows; i++) {
                    memcpy(xb + (size_t)i * in, x + order[start + i] * in, sizeof(bp_real) * in);
                    memcpy(yb + (size_t)i * k, y + order[start + i] * k, sizeof(bp_real) * k);
                }
                CHECK_OK(bp_model_forward(m, xb, rows, NULL));
                CHECK_OK(bp_model_backward(m, yb, rows));
                CHECK_OK(bp_optim_step(o, bp_model_params(m), bp_model_grads(m)));
            }
        }
        CHECK(memcmp(bp_model_params(r.model), bp_model_params(m),
                     bp_model_param_count(m) * sizeof(bp_real)) == 0,
              "%d threads: the trainer's weights differ from steps on batches gathered by hand", threads);
        bp_optim_free(o), bp_model_free(m), free_rig(&r);
    }
    bp_set_threads(1);
    free(x), free(y), free(xb), free(yb);
}

/* Stop after a batch, then continue: the same parameters as an unbroken run. */
static void test_stop_and_resume_is_exact(void)
{
    rig a = make_rig(small_model(6), BP_OPTIM_ADAM, 0.01, 3, 1, 9);
    rig b = make_rig(small_model(6), BP_OPTIM_ADAM, 0.01, 3, 1, 9);
    bp_epoch_stats st;
    for (int e = 0; e < 3; e++) CHECK_OK(bp_trainer_epoch(a.trainer, X, Y, N, &st));
    CHECK_OK(bp_trainer_epoch(b.trainer, X, Y, N, &st));
    bp_trainer_request_stop(b.trainer);
    CHECK(bp_trainer_epoch(b.trainer, X, Y, N, &st) == BP_ERR_INTERRUPTED, "stop ignored");
    CHECK(strstr(bp_last_error(), "epoch 2") != NULL, "%s", bp_last_error());
    CHECK(bp_trainer_next_batch(b.trainer) == 1 && bp_trainer_epochs_done(b.trainer) == 1,
          "position %zu, epochs %d", bp_trainer_next_batch(b.trainer), bp_trainer_epochs_done(b.trainer));
    /* Carry the state to a fresh trainer, as a checkpoint would. */
    uint64_t rng[4];
    bp_trainer_rng(b.trainer, rng);
    bp_train_config tc = {.batch_size = 3, .shuffle = 1, .seed = 12345};
    bp_trainer *t2;
    CHECK_OK(bp_trainer_create(&t2, b.model, b.opt, &tc));
    bp_trainer_set_rng(t2, rng);
    bp_trainer_set_next_batch(t2, bp_trainer_next_batch(b.trainer));
    bp_trainer_set_epochs_done(t2, bp_trainer_epochs_done(b.trainer));
    CHECK_OK(bp_trainer_epoch(t2, X, Y, N, &st));
    CHECK_OK(bp_trainer_epoch(t2, X, Y, N, &st));
    CHECK(bp_trainer_epochs_done(t2) == 3, "epochs %d", bp_trainer_epochs_done(t2));
    CHECK(memcmp(bp_model_params(a.model), bp_model_params(b.model),
                 bp_model_param_count(a.model) * sizeof(bp_real)) == 0, "resumed run differs");
    bp_trainer_free(t2);
    free_rig(&a), free_rig(&b);
}

static void test_nan_stops_with_a_message(void)
{
    rig r = make_rig(small_model(7), BP_OPTIM_SGD, 0.1, 4, 0, 0);
    bp_real x[N * 3];
    memcpy(x, X, sizeof x);
    x[5 * 3 + 1] = NAN; /* sample 5: batch 2 */
    size_t bytes = bp_model_param_count(r.model) * sizeof(bp_real);
    bp_epoch_stats st;
    CHECK(bp_trainer_epoch(r.trainer, x, Y, N, &st) == BP_ERR_NUMERIC, "NaN not caught");
    CHECK(strstr(bp_last_error(), "epoch 1, batch 2") && strstr(bp_last_error(), "learning rate"),
          "%s", bp_last_error());
    for (size_t i = 0; i < bytes / sizeof(bp_real); i++)
        CHECK(isfinite(bp_model_params(r.model)[i]), "non-finite parameter %zu", i);
    /* A learning rate that diverges is caught the same way. */
    const int sizes[] = {3, 5, 4};
    const bp_activation linear[] = {BP_ACT_IDENTITY, BP_ACT_IDENTITY};
    rig d = make_rig(make_model(2, sizes, linear, BP_LOSS_MSE, 1), BP_OPTIM_SGD, 1e6, 2, 0, 0);
    bp_status s = BP_OK;
    for (int e = 0; e < 50 && !s; e++) s = bp_trainer_epoch(d.trainer, X, Y, N, &st);
    CHECK(s == BP_ERR_NUMERIC, "divergence not caught: %s", bp_status_name(s));
    free_rig(&r), free_rig(&d);
}

/* Adam with eps 0 on an input that is always 0: its weights' gradient is 0
 * and the first update divides 0 by 0. Finite loss, finite gradient, NaN
 * parameters: the epoch stops naming the batch, and the model is not saved. */
static void test_overflowing_update_stops_and_is_never_saved(void)
{
    bp_model *m = small_model(4);
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    oc.eps = 0;
    bp_train_config tc = {.batch_size = 4, .shuffle = 0, .seed = 0};
    bp_optim *o;
    bp_trainer *t;
    CHECK_OK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
    CHECK_OK(bp_trainer_create(&t, m, o, &tc));
    bp_real x[N * 3];
    memcpy(x, X, sizeof x);
    for (int i = 0; i < N; i++) x[i * 3 + 2] = 0;
    char path[] = "/tmp/bp_test_train_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) close(fd);
    CHECK_OK(bp_model_save(m, path, NULL));
    bp_epoch_stats st;
    CHECK(bp_trainer_epoch(t, x, Y, N, &st) == BP_ERR_NUMERIC, "0/0 update not caught");
    CHECK(strstr(bp_last_error(), "epoch 1, batch 1: step 1 made parameter") &&
              strstr(bp_last_error(), "learning rate"), "%s", bp_last_error());
    CHECK(bp_model_save(m, path, NULL) == BP_ERR_NUMERIC, "non-finite model saved");
    bp_model *back = NULL;
    CHECK_OK(bp_model_load(&back, path, NULL)); /* the old file, intact */
    bp_model_free(back);
    unlink(path);
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);
}

static void test_no_allocation_in_steady_state(void)
{
    rig r = make_rig(small_model(8), BP_OPTIM_ADAM, 0.01, 3, 1, 1);
    bp_epoch_stats st;
    CHECK_OK(bp_trainer_epoch(r.trainer, X, Y, N, &st)); /* first epoch sizes the order */
    long before = n_allocs;
    for (int e = 0; e < 5; e++) CHECK_OK(bp_trainer_epoch(r.trainer, X, Y, N, &st));
    CHECK(n_allocs == before, "%ld allocations in 5 epochs", n_allocs - before);
#ifndef COUNTING_ALLOCS
    printf("note: allocations not counted under a sanitizer (it owns malloc)\n");
#endif
    free_rig(&r);
}

/* A child forked after the pool started has no workers: it must start its
 * own, not wait for the parent's (which would hang). */
static void test_forked_child_computes(void)
{
    enum { n = 256, in = 256 }; /* big enough for the layers to use both threads */
    bp_real *x = malloc(sizeof(bp_real) * n * in), *y = malloc(sizeof(bp_real) * n * 10);
    random_data(x, y, n, in, 10, BP_LOSS_XENT, 8);
    const int sizes[] = {in, 256, 10};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_SOFTMAX};
    bp_set_threads(2);
    rig r = make_rig(make_model(2, sizes, acts, BP_LOSS_XENT, 3), BP_OPTIM_ADAM, 1e-3, 64, 1, 5);
    bp_epoch_stats st;
    CHECK_OK(bp_trainer_epoch(r.trainer, x, y, n, &st));
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20); /* a hang ends the child with SIGALRM */
        _exit(bp_trainer_epoch(r.trainer, x, y, n, &st) == BP_OK ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork/wait failed");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    free_rig(&r);
    free(x), free(y);
    bp_set_threads(1);
}

static void test_stats(void)
{
    rig r = make_rig(small_model(9), BP_OPTIM_ADAM, 0.01, 4, 1, 1);
    bp_epoch_stats st;
    CHECK_OK(bp_trainer_epoch(r.trainer, X, Y, N, &st));
    CHECK(st.epoch == 1 && st.loss > 0 && st.accuracy >= 0 && st.accuracy <= 1, "epoch %d loss %g acc %g",
          st.epoch, st.loss, st.accuracy);
    CHECK(st.seconds >= 0 && st.samples_per_sec > 0, "%g s, %g/s", st.seconds, st.samples_per_sec);
    CHECK(bp_trainer_epoch(r.trainer, X, Y, 0, &st) == BP_ERR_INVALID, "empty data accepted");
    free_rig(&r);
    bp_trainer_free(NULL);
}


/* skip_accuracy: the epoch's accuracy is -1, and nothing else changes: the
 * same weights bit for bit and the same loss as a run that counts, shuffled
 * or not, at 1 and 2 threads (layers big enough to be split). A counted full
 * batch's accuracy is that of the starting model by bp_model_evaluate. */
static void test_skip_accuracy(void)
{
    enum { n = 600, in = 256 };
    bp_real *x = malloc(sizeof(bp_real) * n * in), *y = malloc(sizeof(bp_real) * n * 10);
    random_data(x, y, n, in, 10, BP_LOSS_XENT, 8);
    const int sizes[] = {in, 128, 10};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_SOFTMAX};
    for (int threads = 1; threads <= 2; threads++)
        for (int shuffle = 0; shuffle <= 1; shuffle++) {
            bp_set_threads(threads);
            rig r[2];
            bp_epoch_stats st[2];
            for (int skip = 0; skip <= 1; skip++) {
                rig *q = &r[skip];
                *q = (rig){make_model(2, sizes, acts, BP_LOSS_XENT, 3), NULL, NULL};
                bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
                bp_train_config tc = {.batch_size = 64, .shuffle = shuffle, .seed = 5,
                                      .skip_accuracy = skip};
                CHECK_OK(bp_optim_create(&q->opt, &oc, bp_model_param_count(q->model)));
                CHECK_OK(bp_trainer_create(&q->trainer, q->model, q->opt, &tc));
                for (int e = 0; e < 2; e++) CHECK_OK(bp_trainer_epoch(q->trainer, x, y, n, &st[skip]));
            }
            CHECK(st[0].accuracy >= 0 && st[0].accuracy <= 1, "%d threads, shuffle %d: counted "
                  "accuracy %g", threads, shuffle, st[0].accuracy);
            CHECK(st[1].accuracy == -1, "%d threads, shuffle %d: skipped accuracy %g", threads,
                  shuffle, st[1].accuracy);
            CHECK(st[0].loss == st[1].loss, "loss %.17g vs %.17g", st[0].loss, st[1].loss);
            CHECK(memcmp(bp_model_params(r[0].model), bp_model_params(r[1].model),
                         bp_model_param_count(r[0].model) * sizeof(bp_real)) == 0,
                  "%d threads, shuffle %d: the weights differ with the count skipped", threads, shuffle);
            free_rig(&r[0]), free_rig(&r[1]);
        }
    bp_set_threads(1);
    rig f = make_rig(make_model(2, sizes, acts, BP_LOSS_XENT, 4), BP_OPTIM_ADAM, 1e-3, n, 0, 0);
    double loss, acc;
    CHECK_OK(bp_model_evaluate(f.model, x, y, n, 100, &loss, &acc));
    bp_epoch_stats st;
    CHECK_OK(bp_trainer_epoch(f.trainer, x, y, n, &st));
    CHECK(st.accuracy == acc, "full batch: accuracy %g, the starting model's %g", st.accuracy, acc);
    free_rig(&f), free(x), free(y);
}

/* ------------------------------------------ shards: threads standing in for ranks */

enum { MAX_SHARDS = 4, SHARD_EPOCHS = 6 };

/* An allreduce over threads: every shard posts its buffer, shard 0 adds them
 * in shard order, every shard copies the sum back. */
typedef struct {
    pthread_barrier_t posted, summed;
    int shards;
    bp_real *bufs[MAX_SHARDS], *sum;
    int stop_at;        /* shard 1 asks to stop during this reduce call (0: never) */
} fake_comm;

typedef struct {
    fake_comm *c;
    int shard, calls;
    bp_loss loss;
    bp_model *model;
    bp_optim *opt;
    bp_trainer *trainer;
    bp_epoch_stats st[SHARD_EPOCHS];
    bp_status status;
} shard;

static bp_status fake_allreduce(void *user, bp_real *buf, size_t n)
{
    shard *s = user;
    fake_comm *c = s->c;
    if (++s->calls == c->stop_at && s->shard == 1) bp_trainer_request_stop(s->trainer);
    c->bufs[s->shard] = buf;
    pthread_barrier_wait(&c->posted);
    if (s->shard == 0)
        for (size_t i = 0; i < n; i++) {
            c->sum[i] = 0;
            for (int r = 0; r < c->shards; r++) c->sum[i] += c->bufs[r][i];
        }
    pthread_barrier_wait(&c->summed);
    memcpy(buf, c->sum, n * sizeof *buf);
    return BP_OK;
}

static bp_model *loss_model(bp_loss loss)
{
    const int sizes[] = {3, 6, 4};
    const bp_activation acts[] = {BP_ACT_TANH, loss == BP_LOSS_XENT ? BP_ACT_SOFTMAX
                                              : loss == BP_LOSS_BCE ? BP_ACT_SIGMOID : BP_ACT_IDENTITY};
    return make_model(2, sizes, acts, loss, 11);
}

static int shard_skip_accuracy; /* the trainers' skip_accuracy */

/* Batch 4 over N = 10: slices 1,1,2 then 0,1,1 at 3 shards (an empty one). */
static void *run_shard(void *arg)
{
    shard *s = arg;
    s->model = loss_model(s->loss);
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    oc.lr = 0.02;
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 4, tc.seed = 9;
    tc.skip_accuracy = shard_skip_accuracy;
    if (s->c) tc.shard = s->shard, tc.shards = s->c->shards, tc.reduce = fake_allreduce, tc.reduce_user = s;
    s->status = bp_optim_create(&s->opt, &oc, bp_model_param_count(s->model));
    if (!s->status) s->status = bp_trainer_create(&s->trainer, s->model, s->opt, &tc);
    for (int e = 0; e < SHARD_EPOCHS && !s->status; e++)
        s->status = bp_trainer_epoch(s->trainer, X, Y, N, &s->st[e]);
    return NULL;
}

static void free_shard(shard *s)
{
    bp_trainer_free(s->trainer);
    bp_optim_free(s->opt);
    bp_model_free(s->model);
}

/* Runs `shards` threads; returns them in sh (free_shard each). */
static void run_shards(shard *sh, fake_comm *c, int shards, bp_loss loss, int stop_at)
{
    c->shards = shards, c->stop_at = stop_at;
    c->sum = calloc(1000, sizeof *c->sum);
    pthread_barrier_init(&c->posted, NULL, (unsigned)shards);
    pthread_barrier_init(&c->summed, NULL, (unsigned)shards);
    pthread_t th[MAX_SHARDS];
    for (int r = 0; r < shards; r++) {
        sh[r] = (shard){.c = c, .shard = r, .loss = loss};
        pthread_create(&th[r], NULL, run_shard, &sh[r]);
    }
    for (int r = 0; r < shards; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&c->posted), pthread_barrier_destroy(&c->summed);
    free(c->sum);
}

static double max_rel_diff(const bp_real *a, const bp_real *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / fmax(fabs((double)b[i]), 1e-3);
        worst = d > worst ? d : worst;
    }
    return worst;
}

/* 2, 3 and 4 shards give one process's model, losses and accuracies, up to
 * the rounding of the gradient's sum over the batch, for every loss. */
static void test_shards_match_one_process(void)
{
    const bp_loss losses[] = {BP_LOSS_XENT, BP_LOSS_BCE, BP_LOSS_MSE};
    double tol = TEST_DOUBLE ? 1e-12 : 1e-4, worst = 0;
    for (shard_skip_accuracy = 0; shard_skip_accuracy <= 1; shard_skip_accuracy++) /* -1 summed over shards stays -1 */
    for (int li = 0; li < 3; li++) {
        shard one = {.loss = losses[li]};
        run_shard(&one);
        CHECK_OK(one.status);
        size_t n = bp_model_param_count(one.model);
        for (int P = 2; P <= MAX_SHARDS; P++) {
            shard sh[MAX_SHARDS];
            fake_comm c;
            run_shards(sh, &c, P, losses[li], 0);
            for (int r = 0; r < P; r++) {
                CHECK(sh[r].status == BP_OK, "%d shards, shard %d: %s", P, r, bp_status_name(sh[r].status));
                CHECK(memcmp(bp_model_params(sh[r].model), bp_model_params(sh[0].model),
                             n * sizeof(bp_real)) == 0, "%d shards: shard %d differs from shard 0", P, r);
            }
            double d = max_rel_diff(bp_model_params(sh[0].model), bp_model_params(one.model), n);
            worst = d > worst ? d : worst;
            CHECK(d <= tol, "%s, %d shards: max relative difference %g", bp_loss_name(losses[li]), P, d);
            for (int e = 0; e < SHARD_EPOCHS; e++) {
                CHECK_CLOSE(sh[0].st[e].loss, one.st[e].loss, tol);
                CHECK(sh[0].st[e].accuracy == one.st[e].accuracy && sh[0].st[e].steps == one.st[e].steps,
                      "epoch %d: accuracy %g vs %g", e + 1, sh[0].st[e].accuracy, one.st[e].accuracy);
                CHECK(!shard_skip_accuracy || sh[0].st[e].accuracy == -1, "epoch %d: skipped "
                      "accuracy %g", e + 1, sh[0].st[e].accuracy);
            }
            for (int r = 0; r < P; r++) free_shard(&sh[r]);
        }
        free_shard(&one);
    }
    shard_skip_accuracy = 0;
    printf("shards: parameters within %.2g (relative) of one process's\n", worst);
}

/* A stop asked on shard 1 alone stops every shard after the same batch: the
 * next one, since the request came after the current batch's sums were posted. */
static void test_shards_stop_together(void)
{
    shard sh[3];
    fake_comm c;
    run_shards(sh, &c, 3, BP_LOSS_XENT, 4); /* during step 4, so after step 5: epoch 2, batch 2 */
    for (int r = 0; r < 3; r++) {
        CHECK(sh[r].status == BP_ERR_INTERRUPTED, "shard %d: %s", r, bp_status_name(sh[r].status));
        CHECK(bp_trainer_epochs_done(sh[r].trainer) == 1 && bp_trainer_next_batch(sh[r].trainer) == 2,
              "shard %d stopped at epoch %d batch %zu", r, bp_trainer_epochs_done(sh[r].trainer),
              bp_trainer_next_batch(sh[r].trainer));
        free_shard(&sh[r]);
    }
    bp_train_config tc = bp_train_config_default();
    tc.shards = 2;
    bp_trainer *t = NULL;
    bp_model *m = small_model(1);
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_SGD);
    bp_optim *o = NULL;
    CHECK_OK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
    CHECK(bp_trainer_create(&t, m, o, &tc) == BP_ERR_INVALID, "2 shards without reduce accepted");
    tc.reduce = fake_allreduce, tc.shard = 2;
    CHECK(bp_trainer_create(&t, m, o, &tc) == BP_ERR_INVALID, "shard 2 of 2 accepted");
    bp_optim_free(o), bp_model_free(m);
}

/* An optimizer sized for another model is refused, naming both counts: a
 * larger model's update ran past the optimizer's state (ASan: heap overflow
 * in optim.c with 4 threads), a smaller one trained only its first values. */
static void test_optimizer_of_another_size_is_refused(void)
{
    const int sizes[] = {784, 330, 10};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_SOFTMAX};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_XENT, 1);
    size_t n = bp_model_param_count(m); /* 262,360 */
    const size_t wrong[] = {200000, 10, n + 1};
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    bp_train_config tc = bp_train_config_default();
    char want[64];
    for (int i = 0; i < 3; i++) {
        bp_optim *o = NULL;
        bp_trainer *t = NULL;
        CHECK_OK(bp_optim_create(&o, &oc, wrong[i]));
        CHECK(bp_trainer_create(&t, m, o, &tc) == BP_ERR_INVALID, "%zu-value optimizer accepted", wrong[i]);
        CHECK(t == NULL, "a trainer came back");
        snprintf(want, sizeof want, "optimizer has %zu parameters, the model %zu", wrong[i], n);
        CHECK(strstr(bp_last_error(), want) && strstr(bp_last_error(), "bp_model_param_count"),
              "%s", bp_last_error());
        bp_trainer_free(t);
        bp_optim_free(o);
    }
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    CHECK_OK(bp_optim_create(&o, &oc, n));
    CHECK_OK(bp_trainer_create(&t, m, o, &tc));
    bp_trainer_free(t);
    CHECK_OK(bp_trainer_create(&t, m, NULL, &tc)); /* bp_trainer_objective alone */
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);
}

/* cfg.l2 is folded into the optimizer's passes (bp__l2_step): the weights
 * and optimizer state are bit for bit those of the separate pass it replaced,
 * done here by hand: forward, backward, g += (l2/r) W on every trained
 * weight, then the optimizer's step on the trainer's blocks, without l2. The
 * reported penalty is (l2/2) sum W^2 of each batch's starting weights (the
 * frozen layer's included), summed here in double over the epoch. SGD,
 * momentum, Adam and AdamW, each plain, with weight decay and clipping, and
 * with the first layer frozen; 1 and 2 threads (784-256-10: both of the
 * step's passes split); the last batch partial; no allocation after the
 * first epoch. In double, a weight whose square overflows stops the step
 * before its update, naming the loss. */
static void test_l2_matches_separate_pass(void)
{
    enum { n = 300, in = 784, hid = 256, k = 10, B = 64, EPOCHS = 2 };
    const double l2 = 0.3;
    bp_real *x = malloc(sizeof(bp_real) * n * in), *y = malloc(sizeof(bp_real) * n * k);
    random_data(x, y, n, in, k, BP_LOSS_XENT, 21);
    const int sizes[] = {in, hid, k};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_SOFTMAX};
    const bp_optim_kind kinds[] = {BP_OPTIM_SGD, BP_OPTIM_MOMENTUM, BP_OPTIM_ADAM, BP_OPTIM_ADAMW};
    for (int threads = 1; threads <= 2; threads++)
        for (int kk = 0; kk < 4; kk++)
            for (int variant = 0; variant < 3; variant++) {
                bp_set_threads(threads);
                bp_optim_config oc = bp_optim_config_default(kinds[kk]);
                if (variant) oc.weight_decay = 1e-3, oc.clip_norm = 0.05;
                int first = variant == 2; /* the first layer frozen */
                bp_train_config tc = {.batch_size = B, .shuffle = 0, .l2 = l2, .train_layers = 2 - first};
                bp_model *m[2];
                bp_optim *o[2];
                bp_trainer *t;
                for (int v = 0; v < 2; v++) {
                    m[v] = make_model(2, sizes, acts, BP_LOSS_XENT, 3);
                    CHECK_OK(bp_optim_create(&o[v], &oc, bp_model_train_param_count(m[v], 2 - first)));
                }
                CHECK_OK(bp_trainer_create(&t, m[0], o[0], &tc));
                bp__block blocks[2 * BP_MAX_LAYERS];
                int nb = bp__model_blocks(m[1], first, blocks);
                size_t off = bp_model_param_count(m[1]) - bp_optim_param_count(o[1]);
                char what[96];
                snprintf(what, sizeof what, "%s, variant %d, %d threads", bp_optim_name(oc.kind), variant, threads);
                for (int e = 0; e < EPOCHS; e++) {
                    bp_epoch_stats st;
                    long allocs = n_allocs;
                    CHECK_OK(bp_trainer_epoch(t, x, y, n, &st));
                    CHECK(e == 0 || n_allocs == allocs, "%s: %ld allocations in an epoch", what, n_allocs - allocs);
                    double penalty = 0;
                    for (int start = 0; start < n; start += B) {
                        int rows = n - start < B ? n - start : B;
                        CHECK_OK(bp_model_forward(m[1], x + (size_t)start * in, rows, NULL));
                        CHECK_OK(bp_model_backward(m[1], y + (size_t)start * k, rows));
                        bp_real c = (bp_real)(l2 / rows);
                        double sum = 0;
                        for (int l = 0; l < 2; l++) {
                            bp_real *w = bp_model_weight(m[1], l), *g = bp_model_weight_grad(m[1], l);
                            for (int i = 0; i < sizes[l] * sizes[l + 1]; i++) {
                                sum += (double)w[i] * w[i];
                                if (l >= first) g[i] += c * w[i];
                            }
                        }
                        penalty += 0.5 * l2 * sum;
                        CHECK_OK(bp__optim_step_blocks(o[1], bp_model_params(m[1]) + off,
                                                       bp_model_grads(m[1]) + off, blocks, nb, NULL, NULL));
                    }
                    penalty /= n;
                    CHECK(fabs(st.penalty - penalty) <= (TEST_DOUBLE ? 1e-13 : 1e-7) * penalty,
                          "%s, epoch %d: penalty %.17g, want %.17g", what, e + 1, st.penalty, penalty);
                }
                CHECK(memcmp(bp_model_params(m[0]), bp_model_params(m[1]),
                             bp_model_param_count(m[0]) * sizeof(bp_real)) == 0,
                      "%s: the trainer's weights differ from the separate pass's", what);
                for (int sl = 0; sl < bp_optim_state_count(o[0]); sl++)
                    CHECK(memcmp(bp_optim_state(o[0], sl), bp_optim_state(o[1], sl),
                                 bp_optim_param_count(o[0]) * sizeof(bp_real)) == 0,
                          "%s: optimizer state %s differs", what, bp_optim_state_name(o[0], sl));
                if (TEST_DOUBLE && kk == 2 && variant == 0) { /* W^2 overflows: no update */
                    bp_model_weight(m[0], 1)[3] = (bp_real)1e160;
                    memcpy(bp_model_params(m[1]), bp_model_params(m[0]),
                           bp_model_param_count(m[0]) * sizeof(bp_real));
                    uint64_t steps = bp_optim_steps(o[0]);
                    bp_epoch_stats st;
                    CHECK(bp_trainer_epoch(t, x, y, n, &st) == BP_ERR_NUMERIC &&
                              strstr(bp_last_error(), "epoch 3, batch 1: loss is inf"),
                          "%s: an infinite penalty: %s", what, bp_last_error());
                    CHECK(bp_optim_steps(o[0]) == steps &&
                              memcmp(bp_model_params(m[0]), bp_model_params(m[1]),
                                     bp_model_param_count(m[0]) * sizeof(bp_real)) == 0,
                          "%s: the step with an infinite penalty was applied", what);
                }
                bp_trainer_free(t);
                for (int v = 0; v < 2; v++) bp_optim_free(o[v]), bp_model_free(m[v]);
            }
    bp_set_threads(1);
    free(x), free(y);
}

int main(void)
{
    bp_set_threads(1);
    random_data(X, Y, N, 3, 4, BP_LOSS_XENT, 2);
    RUN(test_xor_converges);
    RUN(test_batches_match_manual_steps);
    RUN(test_full_batch_ignores_shuffle);
    RUN(test_shuffle_is_seeded);
    RUN(test_same_seed_same_threads_identical);
    RUN(test_shuffled_batches_match_gathered_by_hand);
    RUN(test_stop_and_resume_is_exact);
    RUN(test_nan_stops_with_a_message);
    RUN(test_overflowing_update_stops_and_is_never_saved);
    RUN(test_no_allocation_in_steady_state);
    RUN(test_forked_child_computes);
    RUN(test_stats);
    RUN(test_skip_accuracy);
    RUN(test_shards_match_one_process);
    RUN(test_shards_stop_together);
    RUN(test_optimizer_of_another_size_is_refused);
    RUN(test_l2_matches_separate_pass);
    return test_summary("test_train");
}
