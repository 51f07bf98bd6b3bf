#!/usr/bin/env bash
# Smoke test of `make bench`'s two programs on a tiny shape: each prints the
# figures bench/run.py reads (positive numbers under the expected keys), and
# run.py's parser reads them.
set -u
ok=0; failed=0
check() {  # name, command...
    local name=$1; shift
    local out
    if out=$(timeout 120 "$@" 2>&1) && /usr/bin/python3 - "$out" <<'PY'
import sys
sys.path.insert(0, "bench")
from run import parse
fig = parse(sys.argv[1])
need = {"train", "predict"} | ({"roofline", "predict_roofline", "rss_mb"} if "roofline" in sys.argv[1] else set())
assert need <= fig.keys() and all(fig[k] > 0 for k in need), fig
PY
    then echo "ok   $name"; ok=$((ok + 1))
    else echo "FAIL $name"; printf '%s\n' "$out"; failed=$((failed + 1))
    fi
}
check bench_train "$BP_BUILD/bench/bench_train" 16,8,3 4 xent 2 64 2
check bench_train_bce "$BP_BUILD/bench/bench_train" 5,4,1 3 bce 1 50 1
if [ -e "${BP_DATASETS_DIR:-/usr/share/datasets}/fashion-mnist/train-images-idx3-ubyte.gz" ]; then
    check bench_train_fashion "$BP_BUILD/bench/bench_train" 784,8,10 16 xent 1 256 1 fashion-mnist
    check torch_train_fashion env OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_train.py 784,8,10 16 xent 1 256 1 fashion-mnist
fi
check torch_train env OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_train.py 16,8,3 4 xent 1 64 2
# An unknown DATA is refused by both programs, not read as synthetic.
for prog in "$BP_BUILD/bench/bench_train" "/usr/bin/python3 bench/torch_train.py"; do
    if $prog 16,8,3 4 xent 1 64 1 nonsense >/dev/null 2>&1; then
        echo "FAIL unknown DATA accepted by $prog"; failed=$((failed + 1))
    else echo "ok   unknown DATA refused by ${prog##*/}"; ok=$((ok + 1)); fi
done
# run.py's summary: a roofline fraction is the median of per-run ratios (the
# rate over the roofline of the same process), not a ratio of medians taken
# from different runs; PyTorch's faster setting is picked for each column;
# the 2-thread/1-thread ratio is taken round by round.
if /usr/bin/python3 - <<'PY'
import sys
sys.path.insert(0, "bench")
from run import summarize
run = lambda train, roof, pred=10, pred_roof=20: {
    "train": train, "roofline": roof, "predict": pred, "predict_roofline": pred_roof, "rss_mb": 5}
# The middle run's training fell in a slow spell, and so did its roofline:
# by run 0.8, 0.9, 0.9; the ratio of the medians would say 80 / 100 = 0.8.
ours = [run(80, 100), run(45, 50, pred_roof=10), run(90, 100)]
theirs = {"OPENBLAS_NUM_THREADS=1": [run(40, 0, pred=8)] * 3,
          "OPENBLAS_NUM_THREADS=2": [run(30, 0, pred=9)] * 3}
r = summarize(ours, theirs)
assert r["fractions"] == [0.8, 0.9, 0.9] and r["fraction"] == 0.9, r
assert r["train"] == 80 and r["torch_train"] == 40 and r["torch_predict"] == 9, r
assert r["predict_fraction"] == 0.5 and r["torch_predict_fraction"] == 0.45, r  # 9/20, 9/10, 9/20
assert r["torch_setting"] == "OPENBLAS_NUM_THREADS=1/2", r
# 2 threads / 1 thread round by round, then the median (the ratio of the
# medians would be 180 / 100).
from run import scaling
one, two = [run(100, 1), run(90, 1), run(110, 1)], [run(180, 1), run(150, 1), run(190, 1)]
assert scaling(one, two) == (190 / 110, [1.8, 150 / 90, 190 / 110]), scaling(one, two)
PY
then echo "ok   summary by run"; ok=$((ok + 1))
else echo "FAIL summary by run"; failed=$((failed + 1)); fi
echo "cases: $ok ok, $failed failed (bench)"
[ "$failed" -eq 0 ]
