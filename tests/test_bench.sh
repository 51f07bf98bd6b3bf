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
echo "cases: $ok ok, $failed failed (bench)"
[ "$failed" -eq 0 ]
