/* test_threads.c - the thread-safety contract of include/backprop.h: several
 * application threads, each with its own model, optimizer and trainer, train
 * and predict at the same time and get exactly the bits they get one after
 * another (a caller that finds the library's pool busy runs its job's parts
 * itself); the lazy start of the pool and bp_set_threads are safe to race
 * with jobs, and so is bp_trainer_request_stop from another thread. Run
 * under ThreadSanitizer by `make SANITIZE=thread test`. */
#include "util.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

/* Big enough that the layers and the optimizer's update run in 2 parts
 * (parallel.c: 1e6 flops a part): 2 * 64 * 256 * 256 flops per forward. */
enum { N = 256, IN = 256, HID = 256, OUT = 10, BATCH = 64, EPOCHS = 2, WORKERS = 3 };

typedef struct {
    uint64_t seed;
    bp_real x[N * IN], y[N * OUT];
    bp_real *params;   /* (n_params) after training */
    size_t n_params;
    bp_real pred[2][N * OUT]; /* in batches of 1 and 7 rows; in one batch */
    bp_status st;
    int threads_seen; /* what bp_threads() gave first_calls */
    pthread_barrier_t *start; /* NULL: run at once */
} work;

/* Trains a fresh model of seed w->seed for EPOCHS on its own data, then
 * predicts the data in batches of 1, 7 and N rows (the small-batch and the
 * GEMM paths); keeps the parameters and predictions. */
static void *train_and_predict(void *arg)
{
    work *w = arg;
    if (w->start) pthread_barrier_wait(w->start);
    const int sizes[] = {IN, HID, OUT};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_SOFTMAX};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_XENT, w->seed);
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = BATCH, tc.shuffle = 1, tc.seed = w->seed;
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    bp_status st = m ? BP_OK : BP_ERR_NOMEM;
    if (!st) st = bp_optim_create(&o, &oc, bp_model_param_count(m));
    if (!st) st = bp_trainer_create(&t, m, o, &tc);
    for (int e = 0; e < EPOCHS && !st; e++) st = bp_trainer_epoch(t, w->x, w->y, N, NULL);
    for (int i = 0, rows; i < N && !st; i += rows) {
        rows = i < 4 ? 1 : N - i < 7 ? N - i : 7;
        st = bp_model_predict(m, w->x + (size_t)i * IN, (size_t)rows, 0, w->pred[0] + (size_t)i * OUT);
    }
    if (!st) st = bp_model_predict(m, w->x, N, 0, w->pred[1]);
    if (!st) {
        w->n_params = bp_model_param_count(m);
        w->params = malloc(w->n_params * sizeof *w->params);
        memcpy(w->params, bp_model_params(m), w->n_params * sizeof *w->params);
    }
    w->st = st;
    bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);
    return NULL;
}

static work *new_work(uint64_t seed)
{
    work *w = calloc(1, sizeof *w);
    w->seed = seed;
    random_data(w->x, w->y, N, IN, OUT, BP_LOSS_XENT, seed);
    return w;
}

static void run_threads(work **w, int n, void *(*fn)(void *))
{
    pthread_t t[WORKERS + 2];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) w[i]->start = &start;
    for (int i = 0; i < n; i++) CHECK(pthread_create(&t[i], NULL, fn, w[i]) == 0, "pthread_create");
    for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < n; i++) w[i]->start = NULL;
}

/* The bits of w equal those of ref (same seed, run alone). */
static void check_same(const work *w, const work *ref, const char *what)
{
    CHECK(w->st == BP_OK && ref->st == BP_OK, "%s seed %llu: status %s / %s", what,
          (unsigned long long)w->seed, bp_status_name(w->st), bp_status_name(ref->st));
    if (w->st || ref->st) return;
    CHECK(w->n_params == ref->n_params &&
              memcmp(w->params, ref->params, w->n_params * sizeof *w->params) == 0,
          "%s seed %llu: parameters differ from the run alone", what, (unsigned long long)w->seed);
    CHECK(memcmp(w->pred, ref->pred, sizeof w->pred) == 0,
          "%s seed %llu: predictions differ from the run alone", what, (unsigned long long)w->seed);
}

static void free_work(work *w)
{
    free(w->params);
    free(w);
}

/* First in the process: the pool has not been started. Every thread's first
 * call starts it (bp_threads' lazy default), at the same moment. */
static void *first_calls(void *arg)
{
    work *w = arg;
    if (w->start) pthread_barrier_wait(w->start);
    w->threads_seen = bp_threads();
    w->start = NULL;
    return train_and_predict(w);
}

static void test_lazy_start_races(void)
{
    work *w[WORKERS];
    for (int i = 0; i < WORKERS; i++) w[i] = new_work(100 + (uint64_t)i);
    run_threads(w, WORKERS, first_calls);
    int threads = bp_threads();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK(threads == (cores < 1 ? 1 : cores > 64 ? 64 : cores), "default threads %d, cores %ld",
          threads, cores);
    for (int i = 0; i < WORKERS; i++) {
        CHECK(w[i]->threads_seen == threads, "a thread saw %d threads", w[i]->threads_seen);
        work *ref = new_work(w[i]->seed);
        train_and_predict(ref);
        check_same(w[i], ref, "lazy start");
        free_work(ref), free_work(w[i]);
    }
}

/* WORKERS threads train and predict at once, each on its own model; each gets
 * the bits of the same work done alone, with 2 and with 3 library threads. */
static void test_concurrent_training_is_exact(void)
{
    for (int threads = 2; threads <= 3; threads++) {
        bp_set_threads(threads);
        work *w[WORKERS], *ref[WORKERS];
        for (int i = 0; i < WORKERS; i++) {
            ref[i] = new_work(7 + (uint64_t)i);
            train_and_predict(ref[i]);
            w[i] = new_work(7 + (uint64_t)i);
        }
        run_threads(w, WORKERS, train_and_predict);
        for (int i = 0; i < WORKERS; i++) {
            check_same(w[i], ref[i], threads == 2 ? "2 threads" : "3 threads");
            free_work(w[i]), free_work(ref[i]);
        }
    }
    bp_set_threads(1);
}

/* One thread changes the thread count over and over while others train: each
 * job reads the count once, so nothing breaks, and the results are those of
 * some mix of 1, 2 and 3 parts per job: close to the run alone. */
static atomic_int toggling;

static void *toggle_threads(void *arg)
{
    work *w = arg;
    if (w->start) pthread_barrier_wait(w->start);
    for (int i = 0; atomic_load(&toggling); i++) {
        bp_set_threads(1 + i % 3);
        (void)bp_threads();
        nanosleep(&(struct timespec){.tv_nsec = 100000}, NULL);
    }
    return NULL;
}

static void *train_then_stop(void *arg)
{
    train_and_predict(arg);
    atomic_fetch_sub(&toggling, 1);
    return NULL;
}

static void *either(void *arg)
{
    work *w = arg;
    return (w->seed ? train_then_stop : toggle_threads)(arg);
}

static void test_set_threads_during_jobs(void)
{
    bp_set_threads(2);
    work *w[WORKERS + 1];
    for (int i = 0; i < WORKERS; i++) w[i] = new_work(30 + (uint64_t)i);
    w[WORKERS] = calloc(1, sizeof *w[WORKERS]); /* seed 0: the toggler */
    atomic_store(&toggling, WORKERS);
    run_threads(w, WORKERS + 1, either);
    bp_set_threads(2);
    for (int i = 0; i < WORKERS; i++) {
        work *ref = new_work(w[i]->seed);
        train_and_predict(ref);
        CHECK(w[i]->st == BP_OK, "seed %llu: %s", (unsigned long long)w[i]->seed,
              bp_status_name(w[i]->st));
        for (size_t k = 0; !w[i]->st && k < ref->n_params; k++)
            if (!(fabs((double)w[i]->params[k] - (double)ref->params[k]) <= 1e-3)) {
                CHECK(0, "parameter %zu: %g, alone %g", k, (double)w[i]->params[k],
                      (double)ref->params[k]);
                break;
            }
        free_work(ref), free_work(w[i]);
    }
    free(w[WORKERS]);
    bp_set_threads(3);
    CHECK(bp_threads() == 3, "threads = %d after bp_set_threads(3)", bp_threads());
    bp_set_threads(1);
}

/* bp_trainer_request_stop from another thread while the epoch runs (the one
 * call the header allows on an object another thread is using). */
static atomic_int epochs_started;

static void *stop_soon(void *arg)
{
    while (!atomic_load(&epochs_started)) sched_yield();
    nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
    bp_trainer_request_stop(arg);
    return NULL;
}

static void test_request_stop_from_another_thread(void)
{
    bp_set_threads(2);
    work *w = new_work(55);
    const int sizes[] = {IN, HID, OUT};
    const bp_activation acts[] = {BP_ACT_RELU, BP_ACT_SOFTMAX};
    bp_model *m = make_model(2, sizes, acts, BP_LOSS_XENT, 55);
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_SGD);
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 1; /* many batches: the request lands inside an epoch */
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    CHECK_OK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
    CHECK_OK(bp_trainer_create(&t, m, o, &tc));
    pthread_t stopper;
    atomic_store(&epochs_started, 0);
    CHECK(pthread_create(&stopper, NULL, stop_soon, t) == 0, "pthread_create");
    bp_status st = BP_OK;
    for (int e = 0; e < 1000 && st == BP_OK; e++) {
        atomic_store(&epochs_started, 1);
        st = bp_trainer_epoch(t, w->x, w->y, N, NULL);
    }
    pthread_join(stopper, NULL);
    CHECK(st == BP_ERR_INTERRUPTED, "%s: %s", bp_status_name(st), bp_last_error());
    bp_trainer_free(t), bp_optim_free(o), bp_model_free(m);
    free_work(w);
    bp_set_threads(1);
}

int main(void)
{
    alarm(1200); /* a lost wake-up or a corrupted job would hang: fail instead */
    RUN(test_lazy_start_races); /* first: before anything starts the pool */
    RUN(test_concurrent_training_is_exact);
    RUN(test_set_threads_during_jobs);
    RUN(test_request_stop_from_another_thread);
    return test_summary("test_threads");
}
