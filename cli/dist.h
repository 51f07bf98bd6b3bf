/* dist.h - the processes of one training run. Built with `make MPI=1`
 * (dist_mpi.c) they are the ranks of MPI_COMM_WORLD, each training on its
 * shard of every batch (docs/DISTRIBUTED.md); otherwise (dist.c) there is
 * one process and every function here is trivial. Rank 0 alone prints and
 * writes files; the library itself knows nothing of MPI (bp_train_config's
 * reduce hook is all it needs). */
#ifndef BP_CLI_DIST_H
#define BP_CLI_DIST_H

#include "backprop.h"

#include <stddef.h>
#include <stdint.h>

/* Joins the run (MPI_Init on the first call). */
void dist_init(void);
int dist_rank(void);
int dist_size(void);
/* Whether stdout being a terminal means a person watches: not under
 * mpirun, which gives every rank a pseudo-terminal even when its own output
 * goes to a file (the progress bar then stays off). */
int dist_tty_is_real(void);

/* Threads per rank when --threads is 0: the cores of this machine (or of
 * this rank's binding, when the launcher bound it) shared among the ranks
 * on it; the smallest such share over all ranks, so that every rank runs
 * the same count (the optimizer's gradient norm depends on it). 0 without
 * MPI: the library's default, every core. */
int dist_default_threads(void);

/* bp_train_config.reduce: buf summed over the ranks in place
 * (MPI_Allreduce). An MPI failure aborts the job with MPI's message. */
bp_status dist_allreduce(void *user, bp_real *buf, size_t n);

/* One small collective: *any gets the bitwise OR over the ranks of `flags`,
 * and the result is whether `hash` is the same on every rank. */
int dist_agree(uint64_t hash, unsigned flags, unsigned *any);

/* Rank 0's v, on every rank (MPI_Bcast): one value that all ranks then
 * judge alike, such as the validation loss of early stopping. */
double dist_lead_value(double v);

/* Ends the run with exit status rc: 0 and EXIT_INTERRUPTED are reached by
 * all ranks together and end MPI normally; any other status on any rank
 * ends the whole job (MPI_Abort), so that no rank waits forever for it. */
int dist_end(int rc);

/* FNV-1a over n bytes, continuing from h (start with DIST_HASH_INIT). */
#define DIST_HASH_INIT 0xcbf29ce484222325ULL
static inline uint64_t dist_hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

#endif
