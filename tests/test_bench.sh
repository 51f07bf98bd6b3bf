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
# bench_gemm (make bench's GEMM rows): the three products and the step of both
# models, each with the own and the BLAS rate and their ratio, all positive.
if out=$(timeout 120 "$BP_BUILD/bench/bench_gemm" 1 2>&1) && /usr/bin/python3 - "$out" <<'PY'
import sys
rows = [l.split() for l in sys.argv[1].splitlines() if l.startswith("  ")]
assert len(rows) == 8, rows
assert all(float(x) > 0 for r in rows for x in r[-3:]), rows
PY
then echo "ok   bench_gemm"; ok=$((ok + 1))
else echo "FAIL bench_gemm"; printf '%s\n' "$out"; failed=$((failed + 1))
fi
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
# A CSV data set (run.py's digits.csv): both programs read it, and a set of
# fewer rows than SAMPLES is trained on for several epochs; one whose width
# is not LAYERS' is refused. The target table's flops of a step: 2 x the
# multiply-adds of forward, dW, and dA but for the first layer.
csv=$(mktemp --suffix=.csv)
/usr/bin/python3 -c "
import random; random.seed(1)
for i in range(20): print(','.join('%.3f' % random.random() for _ in range(6)) + ',%d' % (i % 3))" > "$csv"
check bench_train_csv "$BP_BUILD/bench/bench_train" 6,5,3 4 xent 1 50 1 "$csv"
check torch_train_csv env OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_train.py 6,5,3 4 xent 1 50 1 "$csv"
if ! "$BP_BUILD/bench/bench_train" 7,5,3 4 xent 1 50 1 "$csv" >/dev/null 2>&1 &&
   /usr/bin/python3 -c "
import sys; sys.path.insert(0, 'bench')
from run import step_flops
assert step_flops('784,256,128,10') == 2 * (2 * (784 * 256 + 256 * 128 + 1280) + 256 * 128 + 1280)
assert step_flops('20,64,64,1') == 2 * (2 * (1280 + 4096 + 64) + 4096 + 64)"
then echo "ok   CSV width checked, step flops"; ok=$((ok + 1))
else echo "FAIL CSV width checked, step flops"; failed=$((failed + 1)); fi
rm -f "$csv"
# The divider (bench_peak's div_ns, sqrt_ns) and the target table's bound with
# PyTorch's Adam: the step's GEMMs at the peak, then the update's two
# quotients and a root per parameter at the divider's rate, nothing else.
if /usr/bin/python3 - "$BP_BUILD" <<'PY'
import sys
sys.path.insert(0, "bench")
from run import peak, params, adam_bound, step_flops
top, isa, adam_ns = peak(sys.argv[1])
assert isa == "none" or (top > 0 and 0.01 < adam_ns < 20), (top, isa, adam_ns)
assert params("20,64,64,1") == 21 * 64 + 65 * 64 + 65 and params("64,100,10") == 7510
gemm = 32 * step_flops("20,64,64,1") / 100e9  # seconds at a 100 GFLOP/s peak
assert abs(adam_bound("20,64,64,1", 32, 100.0, 0.5) - gemm / (gemm + 5569 * 0.5e-9)) < 1e-12
PY
then echo "ok   divider and Adam's bound"; ok=$((ok + 1))
else echo "FAIL divider and Adam's bound"; failed=$((failed + 1)); fi
# The inference bench (bench/infer.py): bench_infer and onnxruntime's side on a
# tiny model with the same weights (the ONNX written as infer.py writes it),
# each printing calls/s per batch size and its own figures.
if out=$(timeout 120 /usr/bin/python3 - "$BP_BUILD" <<'PY' 2>&1
import subprocess, sys, tempfile
sys.path.insert(0, "bench")
from infer import parse, write_models, trivial_model
with tempfile.TemporaryDirectory() as tmp:
    raw, onnx = write_models(tmp, "16,8,3", "softmax")
    ours = parse(subprocess.run([sys.argv[1] + "/bench/bench_infer", "16,8,3", "softmax", "1", "0.2",
                                 raw, "1", "4"], check=True, capture_output=True, text=True).stdout)
    theirs = parse(subprocess.run(["node", "bench/infer_ort.js", onnx, trivial_model(tmp), "16", "1",
                                   "0.2", "1", "4"], check=True, capture_output=True, text=True).stdout)
assert sorted(ours["calls"]) == sorted(theirs["calls"]) == [1, 4], (ours, theirs)
assert all(v > 0 for v in list(ours["calls"].values()) + list(theirs["calls"].values())), (ours, theirs)
assert ours["stream_us"] > 0 and ours["gemm_rate"] > 0 and theirs["overhead_us"] > 0, (ours, theirs)
# A weights file of the wrong size is refused.
with tempfile.NamedTemporaryFile() as f:
    f.write(b"\0" * 12); f.flush()
    assert subprocess.run([sys.argv[1] + "/bench/bench_infer", "16,8,3", "softmax", "1", "0.2", f.name,
                           "1"], capture_output=True).returncode != 0
PY
); then echo "ok   bench_infer and infer_ort.js"; ok=$((ok + 1))
else echo "FAIL bench_infer and infer_ort.js"; printf '%s\n' "$out"; failed=$((failed + 1)); fi
# infer.py's summary: each ratio is the median of the rounds' ratios (not a
# ratio of medians), the limit is stream time x calls/s, the GEMM fractions are
# batch x calls/s over the same run's GEMM rate.
if /usr/bin/python3 - <<'PY'
import sys
sys.path.insert(0, "bench")
from infer import summarize, target
o = lambda c1, c8, stream, gemm: {"calls": {1: c1, 8: c8}, "stream_us": stream, "gemm_rate": gemm}
t = lambda c1, c8, over: {"calls": {1: c1, 8: c8}, "overhead_us": over}
rounds = [(o(100, 10, 5000, 160), t(50, 8, 10)),   # ratios 2.0, 1.25
          (o(60, 12, 10000, 120), t(40, 4, 20)),   # 1.5, 3.0 (a slow spell for both)
          (o(90, 9, 8000, 100), t(30, 9, 12))]     # 3.0, 1.0
rows, overhead = summarize(rounds)
assert rows[1]["ratios"] == [2.0, 1.5, 3.0] and rows[1]["ratio"] == 2.0, rows[1]
assert rows[1]["ours"] == 90 and rows[1]["theirs"] == 40, rows[1]  # 90 / 40 would be 2.25
assert abs(rows[1]["limit"] - 0.6) < 1e-12, rows[1]  # 5 ms x 100/s, 10 ms x 60/s, 8 ms x 90/s
assert rows[8]["ratio"] == 1.25 and "limit" not in rows[8], rows[8]
assert abs(rows[8]["gemm"] - 0.72) < 1e-12, rows[8]          # 80/160, 96/120, 72/100
assert abs(rows[8]["gemm_theirs"] - 0.4) < 1e-12, rows[8]    # 64/160, 32/120, 72/100
assert overhead == 12 and "gemm" not in rows[1], (overhead, rows[1])
assert target(1, 1) == 1.5 and target(1, 2) == 2.0 and target(64, 2) == 1.3 and target(1024, 1) == 1.0
PY
then echo "ok   inference summary by round"; ok=$((ok + 1))
else echo "FAIL inference summary by round"; failed=$((failed + 1)); fi
echo "cases: $ok ok, $failed failed (bench)"
[ "$failed" -eq 0 ]
