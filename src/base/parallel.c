/* parallel.c - the library's threads: a persistent pool that runs one job in
 * T parts, the calling thread doing part 0 (and any part that no worker has
 * started by the time part 0 is done). OpenBLAS itself is kept
 * single-threaded: each part calls its own GEMM on its slice of the batch (or
 * of the output units), which scales better than OpenBLAS's threads on the
 * small GEMMs of mini-batch training, and splits the elementwise work and the
 * optimizer too, so that no core idles between GEMMs. A build without
 * threads (BP__SINGLE_THREAD, base.h) has none of it: every job runs on the
 * caller as one part. */
#define _GNU_SOURCE
#include "base.h"

#ifdef BP__SINGLE_THREAD
/* No threads in this build (base.h): one part per job, on the caller. */
void bp_set_threads(int n)
{
    if (n > 1)
        (void)bp__fail(BP_ERR_INVALID,
                       "bp_set_threads(%d): this build has no threads (BP_NO_THREADS or "
                       "WebAssembly without shared memory); computing on 1",
                       n);
}

int bp_threads(void) { return 1; }

void bp__parallel(bp__job_fn fn, void *ctx, double flops)
{
    (void)flops;
    fn(ctx, 0, 1);
}
#else
#ifndef BP_NO_BLAS
#include <cblas.h>
#endif
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <unistd.h>

/* Below this a part is not worth its wake-up and handover: small GEMMs run far
 * below peak and lose more when cut in half (with 2e5, the 20-64-64-1 model
 * trained slower on 2 threads than on 1). */
#define MIN_FLOPS_PER_PART 1e6
#define SPINS 100000 /* busy-wait this long for the next job (about a millisecond), then sleep */

/* One pool for the process, used by one job at a time: the thread that takes
 * it (an atomic flag, `owner`) runs its job on the workers; a thread that
 * finds it taken runs its own job's parts itself, 0 to parts - 1 in order, so
 * its numbers are the same, only slower (a part never waits for another).
 * Only the owner starts workers or writes the job. */
static struct {
    atomic_int threads;        /* parts per job; 0 until first chosen */
    atomic_int owner;          /* 1 while a thread holds the pool */
    int workers;               /* worker threads started (parts 1 .. workers); the owner's */
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_uint generation;    /* bumped once per job */
    /* claimed[p]: part p of the current job has been taken (1) or is still
     * free (0). Worker p takes part p, unless the caller, done with its own,
     * took it first: a worker that has not got a core yet costs the job its
     * share of the work, not a wait for the scheduler. A worker reads the job
     * only after taking a part, and the caller does not change the job until
     * every part is done, so a late worker never sees half of another job. */
    atomic_int claimed[BP__MAX_THREADS];
    atomic_int done;           /* parts 1.. of the current job finished */
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

/* Runs part p of the current job if no one has taken it yet. */
static void run_if_free(int p)
{
    int free_ = 0;
    if (!atomic_compare_exchange_strong_explicit(&pool.claimed[p], &free_, 1, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return;
    pool.fn(pool.ctx, p, pool.parts);
    atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
}

static void *worker(void *arg)
{
    int part = (int)(intptr_t)arg;
    unsigned seen = 0;
    for (;;) {
        seen = next_job(seen);
        run_if_free(part);
    }
    return NULL;
}

/* Takes the pool if no other thread holds it (one CAS, no wait). */
static bool try_own(void)
{
    int free_ = 0;
    return atomic_compare_exchange_strong_explicit(&pool.owner, &free_, 1, memory_order_acquire,
                                                   memory_order_relaxed);
}

static void disown(void) { atomic_store_explicit(&pool.owner, 0, memory_order_release); }

/* Starts workers up to parts - 1 (the owner only; a part with no worker is
 * run by the caller, so a failed start costs time, never a different result). */
static void ensure_workers(int parts)
{
    while (pool.workers < parts - 1) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* nothing for it in a job before its first */
        atomic_store_explicit(&pool.claimed[pool.workers + 1], 1, memory_order_relaxed);
        int err = pthread_create(&t, &attr, worker, (void *)(intptr_t)(pool.workers + 1));
        pthread_attr_destroy(&attr);
        if (err) return; /* run with the threads we have */
        pool.workers++;
    }
}

static int online_cores(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int)cores : 1;
}

static int clamp_threads(int n)
{
    if (n <= 0) n = online_cores();
    return n < BP__MAX_THREADS ? n : BP__MAX_THREADS;
}

/* A forked child has none of the parent's workers, nor the thread that may
 * have held the pool: start afresh. */
static void forget_workers_in_child(void)
{
    pool.workers = 0;
    atomic_store_explicit(&pool.owner, 0, memory_order_relaxed);
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.wake, NULL);
}

/* Once per process, whoever comes first: OpenBLAS to one thread (the parts
 * are our threads), the fork handler, and the default count unless
 * bp_set_threads has chosen one. */
static void start_once(void)
{
#ifndef BP_NO_BLAS
    openblas_set_num_threads(1);
#endif
    pthread_atfork(NULL, NULL, forget_workers_in_child);
    int unset = 0;
    atomic_compare_exchange_strong(&pool.threads, &unset, clamp_threads(0));
}

static pthread_once_t started = PTHREAD_ONCE_INIT;

void bp_set_threads(int n)
{
    pthread_once(&started, start_once);
    n = clamp_threads(n);
    atomic_store_explicit(&pool.threads, n, memory_order_relaxed);
    /* Start the workers now, so that no predict or step pays for it; if
     * another thread's job holds the pool, the next job starts them. */
    if (try_own()) {
        ensure_workers(n);
        disown();
    }
}

int bp_threads(void)
{
    int n = atomic_load_explicit(&pool.threads, memory_order_relaxed);
    if (n) return n;
    pthread_once(&started, start_once);
    return atomic_load_explicit(&pool.threads, memory_order_relaxed);
}

/* Runs the job's parts 1 .. parts - 1 on the workers, part 0 here; the caller
 * owns the pool. */
static void run_on_pool(bp__job_fn fn, void *ctx, int parts)
{
    if (pool.workers < parts - 1) ensure_workers(parts);
    pool.fn = fn, pool.ctx = ctx, pool.parts = parts;
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    /* Between jobs every worker's part is claimed (the last job's, or set so
     * at its start): releasing parts 1 .. parts - 1 leaves the others idle. */
    for (int p = 1; p < parts; p++) /* releases the job to whoever takes part p */
        atomic_store_explicit(&pool.claimed[p], 0, memory_order_release);
    pthread_mutex_lock(&pool.mu); /* under the lock: a worker about to sleep sees the bump */
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    fn(ctx, 0, parts);
    for (int p = 1; p < parts; p++) run_if_free(p); /* the parts no worker has started */
    for (int i = 0; atomic_load_explicit(&pool.done, memory_order_acquire) < parts - 1; i++)
        cpu_relax(i);
}

void bp__parallel(bp__job_fn fn, void *ctx, double flops)
{
    /* Waking a part costs about a microsecond: a small job runs on fewer parts.
     * The count depends on the job and the thread count alone (read once), so
     * the numbers do not depend on who runs the parts. */
    double by_size = flops / MIN_FLOPS_PER_PART;
    int parts = bp_threads();
    if (by_size < parts) parts = by_size < 1 ? 1 : (int)by_size;
    if (parts <= 1) {
        fn(ctx, 0, 1);
    } else if (try_own()) {
        run_on_pool(fn, ctx, parts);
        disown();
    } else { /* another thread's job holds the pool */
        for (int p = 0; p < parts; p++) fn(ctx, p, parts);
    }
}
#endif /* BP__SINGLE_THREAD */

void bp__split(size_t n, int part, int parts, size_t *lo, size_t *hi)
{
    /* Cut at multiples of 16 rows when there are enough, so each GEMM keeps
     * full-width micro-kernels. */
    size_t unit = n >= (size_t)parts * 32 ? 16 : 1, units = (n + unit - 1) / unit;
    size_t a = units * (size_t)part / (size_t)parts * unit, b = units * (size_t)(part + 1) / (size_t)parts * unit;
    *lo = a < n ? a : n;
    *hi = b < n ? b : n;
}
