/* allreduce_mpi.c - the cost of the one MPI_Allreduce per training step:
 * the time of an in-place MPI_SUM over N floats (default 235149: the
 * gradient of 784-256-128-10 and the trainer's 3 sums), averaged over many
 * calls, printed by rank 0 with the bytes moved per rank and the bandwidth
 * that implies. bench/mpi_scaling.sh builds and runs it (mpicc).
 *   mpirun -np P allreduce_mpi [N [CALLS]] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int n = argc > 1 ? atoi(argv[1]) : 235149, calls = argc > 2 ? atoi(argv[2]) : 200;
    float *buf = calloc((size_t)n, sizeof *buf);
    for (int i = 0; i < 10; i++) /* warm up the connections and buffers */
        MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < calls; i++)
        MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double us = (MPI_Wtime() - t0) / calls * 1e6;
    /* A bandwidth-optimal allreduce sends and receives 2 (P-1)/P of the buffer per rank. */
    double bytes = 2.0 * (size - 1) / size * n * sizeof(float);
    if (rank == 0)
        printf("allreduce ranks %d floats %d bytes %zu time_us %.1f algbw_GBps %.2f busbw_GBps %.2f\n",
               size, n, (size_t)n * sizeof(float), us, n * sizeof(float) / us * 1e-3,
               bytes / us * 1e-3);
    free(buf);
    MPI_Finalize();
    return 0;
}
