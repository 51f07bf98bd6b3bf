#!/usr/bin/env bash
# Scaling of data-parallel training on this machine: Fashion-MNIST samples/s
# of one epoch of 784-256-128-10 relu (softmax + cross-entropy, Adam) at a
# global batch of 128 and of 1024, trained by
#   - one process with 1 thread (build/float),
#   - one process with 2 threads (the library's own threads),
#   - mpirun -np 1 and -np 2, 1 thread per rank (build/float-mpi),
# the median of REPEATS runs each, with the 2-rank speedup over 1 rank; then
# the cost of the per-step MPI_Allreduce of the 235149-float gradient
# (bench/allreduce_mpi.c) at 2 ranks. docs/DISTRIBUTED.md uses these figures.
#
#   bench/mpi_scaling.sh [REPEATS [EPOCHS]]      (defaults 3, 1)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}; epochs=${2:-1}
make -s REAL=float cli
make -s REAL=float MPI=1 cli
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun="mpirun"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
S=build/float/bin/backprop M=build/float-mpi/bin/backprop

# rate CMD...: samples/s of the last epoch of one run (from its --log).
rate() {
    "$@" --data fashion-mnist --layers 784,256,128,10 --epochs "$epochs" --seed 1 \
        --save "$tmp/m.st" --log "$tmp/log.jsonl" --quiet >/dev/null
    tail -n 1 "$tmp/log.jsonl" | python3 -c 'import json, sys; print(json.load(sys.stdin)["samples_per_sec"])'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-7s %14s %14s %14s %14s %9s\n' batch "1 proc 1 thr" "1 proc 2 thr" "mpi -np 1" "mpi -np 2" "2r / 1r"
for batch in 128 1024; do
    declare -A r=()
    for cfg in s1 s2 m1 m2; do
        vals=""
        for _ in $(seq "$repeats"); do
            case $cfg in
                s1) v=$(rate "$S" train --batch "$batch" --threads 1) ;;
                s2) v=$(rate "$S" train --batch "$batch" --threads 2) ;;
                m1) v=$(rate $mpirun -np 1 "$M" train --batch "$batch" --threads 1) ;;
                m2) v=$(rate $mpirun -np 2 "$M" train --batch "$batch" --threads 1) ;;
            esac
            vals+="$v"$'\n'
        done
        r[$cfg]=$(printf '%s' "$vals" | median)
    done
    printf '%-7s %14.0f %14.0f %14.0f %14.0f %8.2fx\n' "$batch" "${r[s1]}" "${r[s2]}" "${r[m1]}" \
        "${r[m2]}" "$(echo "${r[m2]} / ${r[m1]}" | bc -l)"
    unset r
done

mpicc -O2 -o "$tmp/allreduce_mpi" bench/allreduce_mpi.c
$mpirun -np 2 "$tmp/allreduce_mpi"
