#!/usr/bin/env bash
# Learning quality: backprop and PyTorch train the same 784-256-128-10 relu
# network (softmax + cross-entropy, Adam 1e-3, batch 128, 5 epochs) on
# Fashion-MNIST in the same run, each with its own default initialization and
# shuffling, and their test accuracies are printed side by side for each seed
# and on average. Exits 1 when the averages differ by more than 0.5 points.
#
# backprop normalizes with the library's default for images (one global
# min-max: pixels / 255), PyTorch divides by 255.
#
#   bench/fashion_accuracy.sh [SEEDS [EPOCHS]]     (seeds 0..SEEDS-1; defaults 3, 5; float32, 1 thread each)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-3}; epochs=${2:-5}
make -s REAL=float build/float/bench/fashion_train
results=""
for seed in $(seq 0 $((seeds - 1))); do
    bp=$(build/float/bench/fashion_train "$seed" "$epochs" 1 | awk '/^test_accuracy/ {print $2, $4}')
    pt=$(/usr/bin/python3 bench/fashion_torch.py "$seed" "$epochs" 1 | awk '/^test_accuracy/ {print $2, $4}')
    results+="$seed $bp $pt"$'\n'
done
printf '%s' "$results" | awk '
    BEGIN { printf "%-6s %24s %24s\n", "seed", "backprop test acc (s)", "pytorch test acc (s)" }
    { printf "%-6s %17.2f%% (%4.1f) %17.2f%% (%4.1f)\n", $1, 100 * $2, $3, 100 * $4, $5
      b += $2; p += $4; n++ }
    END { mb = 100 * b / n; mp = 100 * p / n; d = mb - mp
          printf "%-6s %17.2f%%        %17.2f%%        difference %+.2f points\n", "mean", mb, mp, d
          if (d < -0.5 || d > 0.5) { print "FAIL: more than 0.5 points apart"; exit 1 }
          print "ok: within 0.5 points" }'
