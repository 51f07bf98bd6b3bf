"""Training rate of two builds, alternated (issue 25's end-to-end measure of a
kernel change): for each configuration, ROUNDS rounds of bench_train of the
old build then the new, 1 thread; the median of the per-round new/old ratios,
and each build's median rate as a fraction of the core's FP32 peak
(bench_peak, run in the same session): samples/s x flops per sample, where a
training step costs 2·in·out multiply-adds per layer for the forward and for
dW, and for dA of every layer but the first, 2 flops each.

    /usr/bin/python3 bench/train_ab.py OLD_BUILD NEW_BUILD [ROUNDS]   (default 5)
"""
import statistics
import os
import subprocess
import sys

CONFIGS = [  # name, layers, batch, loss, samples
    ("demo 784-256-128-10", "784,256,128,10", 128, "xent", 30000),
    ("digits 64-100-10", "64,100,10", 200, "xent", 60000),
    ("tabular 20-64-64-1 b32", "20,64,64,1", 32, "bce", 60000),
    ("tabular 20-64-64-1 b128", "20,64,64,1", 128, "bce", 60000),
]


def train_rate(build, layers, batch, loss, n):
    out = subprocess.run([f"{build}/bench/bench_train", layers, str(batch), loss, "1", str(n), "2",
                          "synthetic"], env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),
                         check=True, capture_output=True, text=True).stdout
    last = out.strip().splitlines()[-1].split()
    return float(last[last.index("train") + 1])


def flops_per_sample(layers):
    s = [int(x) for x in layers.split(",")]
    mac = sum(2 * a * b for a, b in zip(s, s[1:])) + sum(a * b for a, b in list(zip(s, s[1:]))[1:])
    return 2.0 * mac


def main():
    old, new = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    peak = float(subprocess.run([f"{new}/bench/bench_peak"], check=True, capture_output=True,
                                text=True).stdout.split()[1])
    print(f"peak {peak:.1f} GFLOP/s; {rounds} alternating rounds, 1 thread, float32")
    print(f"{'config':26s} {'old %peak':>9s} {'new %peak':>9s} {'new/old':>8s}  (per-round ratios)")
    for name, layers, batch, loss, n in CONFIGS:
        f = flops_per_sample(layers)
        o, w, r = [], [], []
        for _ in range(rounds):
            a = train_rate(old, layers, batch, loss, n)
            b = train_rate(new, layers, batch, loss, n)
            o.append(a), w.append(b), r.append(b / a)
        mo, mw = statistics.median(o) * f / 1e9, statistics.median(w) * f / 1e9
        print(f"{name:26s} {100 * mo / peak:8.0f}% {100 * mw / peak:8.0f}% {statistics.median(r):8.2f}"
              f"  ({' '.join(f'{x:.2f}' for x in r)})", flush=True)


main()
