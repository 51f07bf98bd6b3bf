"""make bench: backprop against PyTorch on the same shapes and data, in the same run.

For each configuration, REPEATS rounds run the two programs alternately at 1
and then 2 threads (each run trains one warm-up epoch, then reports a second);
the table gives medians, and the 2-thread/1-thread ratio is taken round by
round (the runs of a round are seconds apart), then the median. PyTorch is
given its best setting: OPENBLAS_NUM_THREADS=1 with torch.set_num_threads(T),
or OpenBLAS's threads too; the faster wins and the table says which (for
training and, separately, for inference). Ratios, never absolute times, are
the result: the machine is shared and noisy.

Columns: samples/s of training for both, their ratio, training's fraction of
the GEMM roofline (the same GEMMs timed alone), peak RSS of backprop, then
inference (batch 1024): the ratio to PyTorch, and each one's fraction of the
inference roofline (the forward GEMMs timed alone), which bounds the ratio.
Our fractions are taken run by run (training and its roofline come from the
same process, seconds apart) and the median printed, so that a slow spell of
the machine that falls on the training of one run and the roofline of another
cannot make up a fraction; each row's per-run fractions are listed below the
table.

Then issue 25's target table: each workload's training rate at 1 thread as a
fraction of the core's FP32 peak, which BUILD_DIR/bench/bench_peak measures in
this run (before and after the configurations; the higher of the two counts),
with the flops of a training step taken as 2 x the multiply-adds of forward,
dW, and dA for all but the first layer; beside it the same fraction for the
GEMMs alone (the roofline runs), the bound that the GEMMs put on it; and the
demo's 2-thread/1-thread ratio. The table's rows are also written to
BUILD_DIR/bench/targets.json, from which bench/python_sklearn.py (make bench's
last step) prints the whole table again with its scikit-learn ratios added.
The digits workload is scikit-learn's load_digits (pixels / 16), written to
BUILD_DIR/bench/digits.csv for both programs.

    /usr/bin/python3 bench/run.py BUILD_DIR [REPEATS]
    BENCH_ONLY=deep /usr/bin/python3 bench/run.py ...  (configurations whose name has "deep")
    BENCH_ONLY=fmnist,digits,tabular ...  (those whose name has any of these: the target table's)
"""
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "cli"))
import openblas_core  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# Fashion-MNIST (Debian's dataset-fashion-mnist) where installed, else synthetic
# data of its shape labelled by a random teacher (bench_train.c says why not
# random labels).
# BP_DATASETS_DIR moves it, as for the library and fashion_torch.py.
IMAGES = "fashion-mnist" if os.path.exists(os.path.join(
    os.environ.get("BP_DATASETS_DIR", "/usr/share/datasets"),
    "fashion-mnist", "train-images-idx3-ubyte.gz")) else "synthetic"
CONFIGS = [  # name, layers, batch, loss, samples, data
    ("fmnist 784-256-128-10", "784,256,128,10", 128, "xent", 60000, IMAGES),
    ("deep 784-512x3-10", "784,512,512,512,10", 128, "xent", 20000, IMAGES),
    ("tabular 20-64-64-1", "20,64,64,1", 32, "bce", 60000, "synthetic"),
    # 1,797 images: 34 epochs a run make up the 60,000 samples
    ("digits 64-100-10", "64,100,10", 200, "xent", 60000, "digits"),
]
# Issue 25's targets: (configuration, what, target) at 1 thread float32, as
# fractions of the peak; then the demo's 2-thread/1-thread ratio.
TARGETS = [("fmnist 784-256-128-10", "demo 784-256-128-10 b128 Adam", 0.85),
           ("digits 64-100-10", "digits 64-100-10 b200 Adam", 0.70),
           ("tabular 20-64-64-1", "tabular 20-64-64-1 b32 Adam", 0.70)]
SCALING_TARGET = ("fmnist 784-256-128-10", "2 threads / 1 thread, demo", 1.8)


def step_flops(layers):
    """Flops of one sample's training step: 2 x the multiply-adds of forward,
    dW, and dA for all but the first layer."""
    s = [int(v) for v in layers.split(",")]
    macs = [a * b for a, b in zip(s, s[1:])]
    return 2 * (2 * sum(macs) + sum(macs[1:]))


def params(layers):
    """Parameters of the network: weights and biases."""
    s = [int(v) for v in layers.split(",")]
    return sum((a + 1) * b for a, b in zip(s, s[1:]))


def peak(build):
    """(GFLOP/s, isa, divider) of bench_peak, measured now: the core's FP32
    peak, and the ns that one Adam parameter takes in the divider at least
    (PyTorch's two quotients and a root; one quotient fewer after ~17,000
    steps, past every run here)."""
    out = subprocess.run([f"{build}/bench/bench_peak", "3"], check=True, capture_output=True,
                         text=True).stdout.split()
    d = dict(zip(out[0::2], out[1::2]))
    return float(d["peak_gflops"]), d["isa"], 2 * float(d["div_ns"]) + float(d["sqrt_ns"])


def adam_bound(layers, batch, top, adam_ns):
    """The highest fraction of the peak a step can reach with PyTorch's exact
    Adam: its GEMMs at the peak itself, everything else free, and the update
    at the divider's own rate."""
    gemm_s = step_flops(layers) * batch * 1e-9 / top
    return gemm_s / (gemm_s + params(layers) * adam_ns * 1e-9)


def write_digits(path):
    """scikit-learn's digits, pixels / 16, the class in the last column."""
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for row, label in zip(X / 16, y):
            f.write(",".join(f"{v:.17g}" for v in row) + f",{label}\n")


def print_targets(rows):
    """Issue 25's target table: rows of (workload, measured, target, note)."""
    head = f"{'workload (1 thread, float32)':52} {'measured':>22} {'target':>8}  note"
    print("\nIssue 25's targets, every figure from this run")
    print(head + "\n" + "-" * len(head))
    for workload, measured, target, note in rows:
        print(f"{workload:52} {measured:>22} {target:>8}  {note}")


def parse(out):
    """The figures of a program's last line (its warm repeat): "key value ..."."""
    last = out.strip().splitlines()[-1].split()
    return {last[i]: float(last[i + 1]) for i in range(0, len(last), 2)}


def run(cmd, env_extra):
    env = dict(os.environ, **env_extra)
    return parse(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)


THREADS = (1, 2)


def bench(build, layers, batch, loss, n, data, repeats):
    """`repeats` rounds of both programs at each thread count: {threads: (our
    runs, {PyTorch setting: its runs})}. A round's runs follow each other, so
    that the 2-thread/1-thread ratio can be taken round by round."""
    runs = {t: ([], {"OPENBLAS_NUM_THREADS=1": [], f"OPENBLAS_NUM_THREADS={t}": []}) for t in THREADS}
    for _ in range(repeats):
        for threads, (ours, theirs) in runs.items():
            args = [layers, str(batch), loss, str(threads), str(n), "2", data]
            ours.append(run([f"{build}/bench/bench_train"] + args, {"OPENBLAS_NUM_THREADS": str(threads)}))
            for setting in theirs:
                key, val = setting.split("=")
                theirs[setting].append(run(["/usr/bin/python3", f"{HERE}/torch_train.py"] + args, {key: val}))
    return runs


def scaling(one, two):
    """The 2-thread/1-thread training ratio of each round, and their median."""
    ratios = [b["train"] / a["train"] for a, b in zip(one, two)]
    return statistics.median(ratios), ratios


def summarize(ours, theirs):
    """Medians of our runs and of PyTorch's better setting (for training and,
    separately, inference). Our roofline fractions are per-run ratios (each
    run's rate over the roofline timed in the same process), then the median;
    PyTorch's inference fraction pairs its i-th run with our i-th, the two
    run one after the other."""
    med = lambda runs, key: statistics.median(r[key] for r in runs)
    best = max(theirs, key=lambda s: med(theirs[s], "train"))
    best_pred = max(theirs, key=lambda s: med(theirs[s], "predict"))
    short = lambda s: s.split("=")[1]
    fractions = [r["train"] / r["roofline"] for r in ours]
    return {
        "train": med(ours, "train"), "predict": med(ours, "predict"),
        "fraction": statistics.median(fractions), "fractions": fractions,
        "predict_fraction": statistics.median(r["predict"] / r["predict_roofline"] for r in ours),
        "torch_predict_fraction": statistics.median(
            t["predict"] / r["predict_roofline"] for r, t in zip(ours, theirs[best_pred])),
        "rss": med(ours, "rss_mb"),
        "torch_train": med(theirs[best], "train"),
        "torch_predict": med(theirs[best_pred], "predict"),
        "torch_setting": f"OPENBLAS_NUM_THREADS={short(best)}/{short(best_pred)}",
    }


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build/float"
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    head = (f"{'configuration':24} {'thr':>3} {'backprop/s':>11} {'pytorch/s':>10} {'ratio':>6} "
            f"{'roofline':>8} {'rss MB':>7} {'infer ratio':>11} {'roof bp/pt':>10}  "
            f"pytorch setting (train/infer)")
    peaks = [peak(build)]
    digits = os.path.join(build, "bench", "digits.csv")
    write_digits(digits)
    print(f"data: {IMAGES} for the 784-input models, synthetic for the tabular one, "
          f"scikit-learn's digits for 64-100-10")
    print(f"OpenBLAS kernels (PyTorch's and the library's few OpenBLAS products): "
          f"{openblas_core.core()} (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})")
    print(head)
    print("-" * len(head))
    scaled, spread, ones = {}, [], {}
    only = os.environ.get("BENCH_ONLY", "").split(",")  # names containing any of these
    configs = [c for c in CONFIGS if any(part in c[0] for part in only)]
    for name, layers, batch, loss, n, data in configs:
        runs = bench(build, layers, batch, loss, n, digits if data == "digits" else data, repeats)
        scaled[name] = scaling(runs[1][0], runs[2][0])
        ones[name] = (layers, runs[1][0])
        for threads in THREADS:
            r = summarize(*runs[threads])
            spread.append(f"{name}, {threads} thr: " + " ".join(f"{f:.0%}" for f in r["fractions"]))
            print(f"{name:24} {threads:>3} {r['train']:>11.0f} {r['torch_train']:>10.0f} "
                  f"{r['train'] / r['torch_train']:>6.2f} {r['fraction']:>8.0%} "
                  f"{r['rss']:>7.0f} {r['predict'] / r['torch_predict']:>11.2f} "
                  f"{r['predict_fraction']:>5.0%}/{r['torch_predict_fraction']:<4.0%}"
                  f"  {r['torch_setting']}",
                  flush=True)
    for name, *_ in configs:
        median, ratios = scaled[name]
        print(f"2 threads / 1 thread, {name}: {median:.2f}x "
              f"(by round: {' '.join(f'{x:.2f}' for x in ratios)})")
    print("roofline fraction of each run (the column is their median):")
    for line in spread:
        print(f"  {line}")
    peaks.append(peak(build))
    top, isa, _ = max(peaks)
    adam_ns = min(p[2] for p in peaks)
    rows = []
    for name, what, target in TARGETS:
        if name not in ones:
            rows.append((what, "not run (BENCH_ONLY)", f">= {target:.0%}", ""))
            continue
        layers, runs = ones[name]
        f = step_flops(layers) * 1e-9 / top
        frac = statistics.median(r["train"] * f for r in runs)
        gemm = statistics.median(r["roofline"] * f for r in runs)
        batch = next(c[2] for c in CONFIGS if c[0] == name)
        rows.append((what, f"{frac:.0%} ({frac * top:.0f} GFLOP/s)", f">= {target:.0%}",
                     f"the GEMMs alone: {gemm:.0%}; bound with PyTorch's Adam: "
                     f"{adam_bound(layers, batch, top, adam_ns):.0%}"))
    name, what, target = SCALING_TARGET
    rows.append((what, f"{scaled[name][0]:.2f}x" if name in scaled else "not run (BENCH_ONLY)",
                 f">= {target}x", ""))
    print_targets(rows)
    print(f"peak: {top:.1f} GFLOP/s ({isa}), the higher of bench_peak's runs before and after "
          f"({' and '.join(f'{p[0]:.1f}' for p in peaks)}); flops of a step: 2 x the multiply-adds "
          "of forward, dW, and dA but for the first layer")
    print(f"bound with PyTorch's Adam: the step's GEMMs at the peak and nothing else but the "
          f"update, {adam_ns:.3f} ns a parameter in the divider\n(two quotients and a root, "
          f"bench_peak's div_ns and sqrt_ns): what no kernel can pass")
    with open(os.path.join(build, "bench", "targets.json"), "w") as f:
        json.dump({"time": time.time(), "peak_gflops": top, "isa": isa, "rows": rows}, f)


if __name__ == "__main__":
    main()
