#!/usr/bin/env bash
# test_mpi.sh - data-parallel training under mpirun (the MPI command of
# $BP_BUILD, i.e. $BP_BUILD-mpi/bin/backprop, built by `make MPI=1`; make
# test builds it when mpicc exists): 2 and 3 ranks give the single-process
# model within the bound docs/DISTRIBUTED.md states; only rank 0 prints and
# writes; a checkpoint written by 2 (or 3) ranks resumes on 1 (or 2) and ends
# where an uninterrupted run does; a stop signal to rank 0 alone stops all
# ranks with a checkpoint; a failing, a killed or a mismatched rank ends the
# whole job quickly with a non-zero status, never a hang.
# Prints "ok NAME" / "FAIL NAME" per case and "cases: P ok, F failed".
set -u
BUILD=${BP_BUILD:-build/float}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ABS="$(cd "$(dirname "$BUILD")" && pwd)/$(basename "$BUILD")"
S="$ABS/bin/backprop"          # one process
M="$ABS-mpi/bin/backprop"      # the MPI command
HERE="$ROOT/tests"
ok=0; failed=0
pass() { echo "ok   $1"; ok=$((ok + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
finish() { echo "cases: $ok ok, $failed failed (test_mpi.sh, $(basename "$BUILD"))"; [ "$failed" -eq 0 ]; exit; }

case "$BUILD" in *-san|*-tsan) pass "mpi # skipped: not with the sanitizer builds"; finish ;; esac
if ! command -v mpirun >/dev/null; then
    pass "mpi # skipped: no mpirun (the deps step installs openmpi-bin)"; finish
fi
[ -x "$S" ] && [ -x "$M" ] || { fail build "$S or $M is not built (make MPI=1 cli)"; finish; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
python3 "$HERE/cli/make_data.py" "$T" || { fail data "tests/cli/make_data.py"; finish; }
export BP_DATASETS_DIR="$T/datasets"
# Root in CI; shared-memory copies without ptrace rights in containers.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
MPIRUN="mpirun --oversubscribe -x BP_DATASETS_DIR"

# The bound of docs/DISTRIBUTED.md on the largest relative parameter difference.
if "$S" --version | grep -q float64; then BOUND=1e-11; else BOUND=2e-4; fi

# check NAME command...: the command succeeds; its output is shown on failure.
check() {
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(tail -c 600 <<<"$out")"; fi
}

# same NAME A B: model files A and B are within the bound.
same() {
    local out
    if out=$(python3 "$HERE/mpi/compare.py" "$2" "$3" "$BOUND" 2>&1); then pass "$1 # $out"
    else fail "$1" "$out (bound $BOUND)"; fi
}

# ------------------------------------------------ same model as one process
IRIS="--data iris.csv --layers 4,16,3 --epochs 20 --batch 16 --val-split 0.2 --seed 5"
FASH="--data fashion-mnist --test fashion-mnist:test --layers 784,32,10 --epochs 2 --batch 32 --seed 2"
REG="--data reg.csv --layers 3,16,1 --epochs 20 --batch 10 --seed 1 --opt momentum --lr 0.02"
i=0
for args in "$IRIS" "$FASH" "$REG"; do
    i=$((i + 1))
    "$S" train $args --save one$i.st --log one$i.jsonl --quiet >/dev/null 2>&1 || fail "one-process-$i" "train failed"
    for np in 2 3; do
        if $MPIRUN -np $np "$M" train $args --save np$np-$i.st --log np$np-$i.jsonl --quiet >/dev/null 2>&1; then
            same "np$np-matches-one-process-${args:7:12}" np$np-$i.st one$i.st
        else
            fail "np$np-matches-one-process-${args:7:12}" "mpirun -np $np failed"
        fi
    done
done
check "np3-same-epoch-figures" python3 -c '
import json, sys
bound = float(sys.argv[1])
for i in (1, 2, 3):
    a = [json.loads(l) for l in open("one%d.jsonl" % i)]
    b = [json.loads(l) for l in open("np3-%d.jsonl" % i)]
    assert len(a) == len(b) > 0, (i, len(a), len(b))
    for x, y in zip(a, b):
        for k in ("train_loss", "val_loss", "test_loss"):
            if x[k] is not None:
                assert abs(x[k] - y[k]) <= 1e-5 * abs(x[k]), (i, k, x[k], y[k])
        for k in ("train_acc", "val_acc", "test_acc"):
            if x[k] is not None:
                assert abs(x[k] - y[k]) <= 0.021, (i, k, x[k], y[k])  # one sample of 48 at most' "$BOUND"
check "singleton-is-one-process" bash -c "'$M' train $IRIS --save single.st --quiet >/dev/null && cmp single.st one1.st"

# ------------------------------------------------------ rank 0 alone speaks
out=$($MPIRUN -np 3 "$M" train $IRIS --epochs 3 --save talk.st --log talk.jsonl --plot talk.svg 2>&1)
if [ "$(grep -c '^trained' <<<"$out")" -eq 1 ] && [ "$(grep -c '^epoch' <<<"$out")" -eq 3 ] &&
   [ "$(grep -c '^saved talk.st' <<<"$out")" -eq 1 ] && grep -q "3 MPI ranks" <<<"$out" &&
   [ "$(wc -l < talk.jsonl)" -eq 3 ] && [ -s talk.svg ] && ! grep -q $'\r' <<<"$out"; then
    pass "rank-0-alone-prints-and-writes"
else
    fail "rank-0-alone-prints-and-writes" "$(head -c 600 <<<"$out")"
fi

# ---------------------------------------- checkpoints resume on other rank counts
E="--early-stop 3"
"$S" train $IRIS $E --save whole.st --quiet >/dev/null 2>&1
for run in "2 1 7" "3 2 25" "2 3 40"; do
    set -- $run
    name="checkpoint-of-$1-ranks-resumes-on-$2"
    BACKPROP_TEST_SIGINT_AT=$3 $MPIRUN -x BACKPROP_TEST_SIGINT_AT -np "$1" "$M" train $IRIS $E \
        --save r$1.st --quiet >/dev/null 2>err; rc=$?
    if [ $rc -ne 130 ] || ! grep -q "checkpoint saved to r$1.st.ckpt" err; then
        fail "$name" "exit $rc: $(head -c 400 err)"
        continue
    fi
    if [ "$2" -eq 1 ]; then "$S" train --resume r$1.st.ckpt --save r$1.st --quiet >/dev/null 2>err
    else $MPIRUN -np "$2" "$M" train --resume r$1.st.ckpt --save r$1.st --quiet >/dev/null 2>err; fi
    if [ $? -eq 0 ]; then same "$name" r$1.st whole.st; else fail "$name" "resume: $(head -c 400 err)"; fi
done

# rank_pid MPIRUN_PID RANK: the pid of that rank of the job, once it has
# been training for a second (waits up to 10 s for it to start).
rank_pid() {
    local i p
    for i in $(seq 100); do
        for p in $(pgrep -P "$1"); do
            if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
                sleep 1; echo "$p"; return
            fi
        done
        sleep 0.1
    done
}

# A signal to rank 0 alone: every rank stops after the same batch, rank 0 saves.
LONG="--data idx:imgs.idx.gz,labels.idx --layers 64,32,10 --epochs 1000000 --batch 2"
$MPIRUN -np 2 "$M" train $LONG --save sig.st --quiet >/dev/null 2>&1 & pid=$!
rank0=$(rank_pid $pid 0)
[ -n "$rank0" ] && kill -TERM "$rank0"
timeout 20 tail --pid=$pid -f /dev/null; wait $pid; rc=$?
if [ $rc -eq 130 ] && "$S" info --model sig.st.ckpt | grep -q "checkpoint after"; then
    pass "signal-to-rank-0-stops-all-with-checkpoint"
else
    fail "signal-to-rank-0-stops-all-with-checkpoint" "exit $rc"
    kill -KILL $pid 2>/dev/null
fi

# ------------------------------------------------- failures end the whole job
# expect_fail NAME PATTERN command...: exits non-zero within 20 s, output matches.
expect_fail() {
    local name=$1 pat=$2; shift 2
    local out rc t0=$SECONDS
    out=$(timeout 20 "$@" 2>&1); rc=$?
    if [ $rc -eq 124 ]; then fail "$name" "hung (killed after 20 s)"
    elif [ $rc -eq 0 ]; then fail "$name" "exit 0"
    elif ! grep -qE -- "$pat" <<<"$out"; then fail "$name" "exit $rc, output does not match /$pat/: $(head -c 400 <<<"$out")"
    else pass "$name # exit $rc after $((SECONDS - t0)) s"; fi
}
printf 'a,b,c\n1,2,3\n4,5\n' > ragged.csv
expect_fail "rank-with-bad-data-aborts-all" "\[rank 1\]: .*ragged.csv:3" \
    $MPIRUN -np 1 "$M" train $IRIS --save f.st --quiet : -np 1 "$M" train $IRIS --data ragged.csv --save f.st --quiet
expect_fail "rank-with-missing-data-aborts-all" "--data: no such file 'missing.csv'" \
    $MPIRUN -np 1 "$M" train $IRIS --save f.st --quiet : -np 1 "$M" train $IRIS --data missing.csv --save f.st --quiet
expect_fail "ranks-with-other-settings-abort" "ranks differ in their data, model or settings" \
    $MPIRUN -np 1 "$M" train $IRIS --save f.st --quiet : -np 1 "$M" train $IRIS --lr 0.5 --save f.st --quiet
expect_fail "numeric-failure-ends-all-ranks" "epoch [12], batch [0-9]+: .*lower learning rate" \
    $MPIRUN -np 2 "$M" train --data reg.csv --layers 3,64,64,1 --act identity --opt sgd --lr 1e200 \
        --epochs 2 --save u.st --normalize none
expect_fail "usage-error-ends-all-ranks" "--lr: expected a number > 0" $MPIRUN -np 2 "$M" train $IRIS --lr 0 --save u.st

# A rank killed outright: mpirun ends the others.
$MPIRUN -np 3 "$M" train $LONG --save k.st --quiet >/dev/null 2>&1 & pid=$!
victim=$(rank_pid $pid 1)
[ -n "$victim" ] && kill -KILL "$victim"
t0=$SECONDS
timeout 20 tail --pid=$pid -f /dev/null; wait $pid; rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && ! pgrep -f "save k.st" >/dev/null; then
    pass "killed-rank-ends-the-job # exit $rc after $((SECONDS - t0)) s"
else
    fail "killed-rank-ends-the-job" "exit $rc"
    pkill -KILL -P $pid 2>/dev/null; kill -KILL $pid 2>/dev/null
fi

finish
