/* parallel.c - the library's threads: a persistent pool that runs one job in
 * T parts, the calling thread doing part 0. OpenBLAS itself is kept
 * single-threaded: each part calls its own GEMM on its slice of the batch (or
 * of the output units), which scales better than OpenBLAS's threads on the
 * small GEMMs of mini-batch training, and splits the elementwise work and the
 * optimizer too, so that no core idles between GEMMs. */
#define _GNU_SOURCE
#include "internal.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

/* Below this a part is not worth its wake-up and handover: small GEMMs run far
 * below peak and lose more when cut in half (with 2e5, the 20-64-64-1 model
 * trained slower on 2 threads than on 1). */
#define MIN_FLOPS_PER_PART 1e6
#define SPINS 100000 /* busy-wait this long for the next job (about a millisecond), then sleep */

static struct {
    int threads;               /* parts per job; 0 until first chosen */
    int workers;               /* worker threads started (parts 1 .. workers) */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_uint generation;    /* bumped once per job */
    atomic_int pending;        /* workers that have not finished the current job */
    bp__job_fn fn;
    void *ctx;
    int parts;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* One turn of a busy wait: pause, and every so often give the core away, so
 * that a waiter cannot starve the thread it waits for on a busy machine. */
static inline void cpu_relax(int i)
{
    if ((i & 255) == 255) {
        sched_yield();
        return;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Waits until the generation moves past `seen`: spins first, then sleeps. */
static unsigned next_job(unsigned seen)
{
    for (int i = 0; i < SPINS; i++) {
        unsigned g = atomic_load_explicit(&pool.generation, memory_order_acquire);
        if (g != seen) return g;
        cpu_relax(i);
    }
    pthread_mutex_lock(&pool.mu);
    unsigned g;
    while ((g = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen)
        pthread_cond_wait(&pool.wake, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    return g;
}

/* The generation each worker was started at: it waits for the next one. A
 * worker starting from 0 would take the last job before it (a forked child
 * keeps the parent's generation count) as new, and run it on stale pointers. */
static unsigned start_generation[BP__MAX_THREADS];

static void *worker(void *arg)
{
    int part = (int)(intptr_t)arg;
    unsigned seen = start_generation[part]; /* written before pthread_create */
    for (;;) {
        seen = next_job(seen);
        if (part < pool.parts) pool.fn(pool.ctx, part, pool.parts);
        atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_release);
    }
    return NULL;
}

static int online_cores(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int)cores : 1;
}

void bp_set_threads(int n)
{
    if (n <= 0) n = online_cores();
    pool.threads = n < BP__MAX_THREADS ? n : BP__MAX_THREADS;
    openblas_set_num_threads(1);
}

int bp_get_threads(void)
{
    if (!pool.threads) bp_set_threads(0);
    return pool.threads;
}

/* A forked child has none of the parent's workers: start afresh. */
static void forget_workers_in_child(void)
{
    pool.workers = 0;
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.wake, NULL);
}

static void register_fork_handler(void) { pthread_atfork(NULL, NULL, forget_workers_in_child); }

/* Starts workers up to parts - 1; returns how many parts can run. */
static int ensure_workers(int parts)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (parts > 1) pthread_once(&once, register_fork_handler);
    while (pool.workers < parts - 1) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        start_generation[pool.workers + 1] =
            atomic_load_explicit(&pool.generation, memory_order_relaxed);
        int err = pthread_create(&t, &attr, worker, (void *)(intptr_t)(pool.workers + 1));
        pthread_attr_destroy(&attr);
        if (err) break; /* run with the threads we have */
        pool.workers++;
    }
    return pool.workers + 1 < parts ? pool.workers + 1 : parts;
}

void bp__parallel(bp__job_fn fn, void *ctx, double flops)
{
    /* Waking a part costs about a microsecond: a small job runs on fewer parts. */
    double by_size = flops / MIN_FLOPS_PER_PART;
    int parts = bp_get_threads();
    if (by_size < parts) parts = by_size < 1 ? 1 : (int)by_size;
    parts = ensure_workers(parts);
    if (parts <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    pool.fn = fn, pool.ctx = ctx, pool.parts = parts;
    atomic_store_explicit(&pool.pending, pool.workers, memory_order_relaxed);
    pthread_mutex_lock(&pool.mu); /* under the lock: a worker about to sleep sees the bump */
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    fn(ctx, 0, parts);
    for (int i = 0; atomic_load_explicit(&pool.pending, memory_order_acquire) > 0; i++) cpu_relax(i);
}

void bp__split(size_t n, int part, int parts, size_t *lo, size_t *hi)
{
    /* Cut at multiples of 16 rows when there are enough, so each GEMM keeps
     * full-width micro-kernels. */
    size_t unit = n >= (size_t)parts * 32 ? 16 : 1, units = (n + unit - 1) / unit;
    size_t a = units * (size_t)part / (size_t)parts * unit, b = units * (size_t)(part + 1) / (size_t)parts * unit;
    *lo = a < n ? a : n;
    *hi = b < n ? b : n;
}
