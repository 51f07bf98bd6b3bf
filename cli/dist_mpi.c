/* dist_mpi.c - the ranks of MPI_COMM_WORLD as the processes of one run
 * (`make MPI=1`). Only the thread that calls MPI_Init uses MPI (the
 * library's worker threads never do), so MPI_THREAD_FUNNELED suffices.
 * MPI's default error handler stays: an MPI failure aborts the job. */
#define _GNU_SOURCE
#include "dist.h"
#include "cli.h"

#include <limits.h>
#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#ifdef BP_REAL_DOUBLE
#define MPI_BP_REAL MPI_DOUBLE
#else
#define MPI_BP_REAL MPI_FLOAT
#endif

static int started, rank, size = 1, threads;

/* The cores this rank may use divided among the ranks that share this
 * machine, unless the launcher bound the rank to fewer cores than the machine has. */
static int my_share(void)
{
    MPI_Comm node;
    int local = 1;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    int bound = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : (int)online;
    int share = bound < online ? bound : (int)online / local;
    return share > 0 ? share : 1;
}

void dist_init(void)
{
    if (started) return;
    int provided;
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    setvbuf(stderr, NULL, _IOLBF, BUFSIZ); /* one write per line: ranks' messages do not interleave */
    threads = my_share();
    MPI_Allreduce(MPI_IN_PLACE, &threads, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    started = 1;
}

int dist_rank(void) { return rank; }
int dist_size(void) { return size; }
int dist_tty_is_real(void) { return 0; }
int dist_default_threads(void) { return threads; }

bp_status dist_allreduce(void *user, bp_real *buf, size_t n)
{
    (void)user;
    for (size_t done = 0; done < n;) { /* one call, unless n exceeds an int */
        int count = n - done < (size_t)INT_MAX ? (int)(n - done) : INT_MAX;
        MPI_Allreduce(MPI_IN_PLACE, buf + done, count, MPI_BP_REAL, MPI_SUM, MPI_COMM_WORLD);
        done += (size_t)count;
    }
    return BP_OK;
}

int dist_agree(uint64_t hash, unsigned flags, unsigned *any)
{
    /* hash is everywhere the same iff the OR of the hashes is hash and the
     * OR of their complements is its complement. */
    uint64_t v[3] = {hash, ~hash, flags};
    MPI_Allreduce(MPI_IN_PLACE, v, 3, MPI_UINT64_T, MPI_BOR, MPI_COMM_WORLD);
    *any = (unsigned)v[2];
    return v[0] == hash && v[1] == ~hash;
}

double dist_lead_value(double v)
{
    MPI_Bcast(&v, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    return v;
}

int dist_end(int rc)
{
    if (!started) return rc;
    fflush(stdout);
    fflush(stderr);
    if (size > 1 && rc != 0 && rc != EXIT_INTERRUPTED) MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
    started = 0;
    return rc;
}
