"""make bench, Python part: backprop.MLPClassifier against scikit-learn's own
MLPClassifier on the same data, dtype, parameters and epochs (the same
algorithm, number for number), in one run, back to back in alternating order,
medians over REPEATS rounds of the per-round ratios, with the load average. Both at 1 and 2 threads: scikit-learn's OpenBLAS limited through
threadpoolctl, ours through n_threads. Also the package's overhead: the
fit's wall time beyond the library's own epoch time (bp_epoch_stats.seconds).

At the end, issue 25's target table (bench/run.py's print_targets): the rows
bench/run.py wrote to build/float*/bench/targets.json in this make bench (the
newest, if under 6 hours old; its age is printed), with this run's two
scikit-learn ratios added (1 thread, float32).

    /usr/bin/python3 bench/python_sklearn.py [REPEATS=5]     (PYTHONPATH=python)
"""
import glob
import gzip
import json
import os
import statistics
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLP
from threadpoolctl import threadpool_limits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import backprop  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "tests", "cli"))
import openblas_core  # noqa: E402
from run import print_targets  # noqa: E402

warnings.simplefilter("ignore", ConvergenceWarning)
DATASETS = os.environ.get("BP_DATASETS_DIR", "/usr/share/datasets")


def fashion(n):
    """The first n Fashion-MNIST training images (/255) and labels, float32;
    synthetic data of that shape labelled by a random linear teacher when the
    data set is not installed."""
    d = os.path.join(DATASETS, "fashion-mnist")
    try:
        with gzip.open(os.path.join(d, "train-images-idx3-ubyte.gz")) as f:
            X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:n]
        with gzip.open(os.path.join(d, "train-labels-idx1-ubyte.gz")) as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
        return (X / np.float32(255)).astype(np.float32), y, "fashion-mnist"
    except OSError:
        rng = np.random.RandomState(0)
        X = rng.rand(n, 784).astype(np.float32)
        return X, (X @ rng.randn(784, 10)).argmax(1), "synthetic"


def timed_fit(est, X, y, threads, sk):
    t = time.perf_counter()
    if sk:
        with threadpool_limits(threads):
            est.fit(X, y)
    else:
        est.fit(X, y)
    return time.perf_counter() - t


def compare(name, X, y, kw, repeats):
    """Per round, for 1 then 2 threads: scikit-learn's fit then ours, back to
    back (the order alternating between rounds), so that both see the same
    load; each row gives the median over rounds of the per-round ratios."""
    per = {1: [], 2: []}
    for r in range(repeats):
        for threads in (1, 2):
            ours = backprop.MLPClassifier(n_threads=threads, **kw)
            if r % 2:
                b = timed_fit(ours, X, y, threads, False)
                s = timed_fit(SkMLP(**kw), X, y, threads, True)
            else:
                s = timed_fit(SkMLP(**kw), X, y, threads, True)
                b = timed_fit(ours, X, y, threads, False)
            c = ours._bp_seconds
            per[threads].append((s, b, s / b, b / c - 1, s / c))
    rows = []
    for threads, runs in per.items():
        med = [statistics.median(v) for v in zip(*runs)]
        lo, hi = min(r[2] for r in runs), max(r[2] for r in runs)
        rows.append((name, threads, *med, lo, hi))
    return rows


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    Xf, yf, src = fashion(int(os.environ.get("BENCH_FASHION_N", "12800")))
    Xd, yd = load_digits(return_X_y=True)
    common = dict(random_state=0, tol=0.0, n_iter_no_change=10 ** 6)
    cases = [
        (f"{src} 784-256-128-10 f32", Xf, yf,
         dict(hidden_layer_sizes=(256, 128), batch_size=128, max_iter=2, **common)),
        ("digits 64-100-10 f32", (Xd / 16).astype(np.float32), yd,
         dict(hidden_layer_sizes=(100,), max_iter=50, **common)),
        ("digits 64-100-10 f64", Xd / 16, yd, dict(hidden_layer_sizes=(100,), max_iter=50, **common)),
    ]
    print(f"\nPython: backprop.MLPClassifier vs scikit-learn's (same algorithm and numbers), "
          f"Adam, {repeats} rounds, medians of per-round ratios")
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    # scikit-learn's products are numpy's, OpenBLAS's: its generic kernels (an unset
    # OPENBLAS_CORETYPE on a core it does not know) run at a third of its Haswell ones.
    print("OpenBLAS kernels: %s (OPENBLAS_CORETYPE=%s)" % (
        openblas_core.core(), os.environ.get("OPENBLAS_CORETYPE", "unset")))
    head = (f"{'fit':30} {'thr':>3} {'sklearn s':>10} {'backprop s':>10} {'speedup':>8} "
            f"{'(min-max)':>13} {'overhead':>9} {'ceiling':>8}")
    print(head + "\n" + "-" * len(head))
    speedup = {}  # (case, threads): the median speedup
    for name, X, y, kw in cases:
        for row in compare(name, X, y, kw, repeats):
            speedup[row[:2]] = row[4]
            print("%-30s %3d %10.3f %10.3f %7.2fx %5.2f-%5.2fx %8.1f%% %7.2fx"
                  % (*row[:5], row[7], row[8], 100 * row[5], row[6]))
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())
    print("overhead: our fit's wall time beyond the library's own epoch time "
          "(bp_epoch_stats.seconds), input checks included;\n"
          "ceiling: scikit-learn's fit time over the library's epoch time, the speedup "
          "with no overhead at all")
    targets(speedup, cases[0][0], cases[1][0])


def targets(speedup, fashion_case, digits_case):
    """Issue 25's table: bench/run.py's rows of this make bench, and ours."""
    rows, note = [], "bench/run.py's rows: none found (run make bench, or bench/run.py first)"
    found = sorted(glob.glob(os.path.join(ROOT, "build", "float*", "bench", "targets.json")),
                   key=os.path.getmtime)
    if found and time.time() - os.path.getmtime(found[-1]) < 6 * 3600:
        with open(found[-1]) as f:
            saved = json.load(f)
        rows = [tuple(r) for r in saved["rows"]]
        note = (f"bench/run.py's rows from {os.path.relpath(found[-1], ROOT)}, written "
                f"{(time.time() - saved['time']) / 60:.0f} min ago; peak {saved['peak_gflops']:.1f} "
                f"GFLOP/s ({saved['isa']})")
    ours = [("Python vs scikit-learn, " + fashion_case.split()[0] + " (256,128) f32", (fashion_case, 1), 2.2),
            ("Python vs scikit-learn, digits (100,) f32", (digits_case, 1), 5.0)]
    sk = [(what, f"{speedup[key]:.2f}x", f">= {t}x", "fit time, medians of per-round ratios")
          for what, key, t in ours]
    print_targets(rows[:3] + sk + rows[3:])
    print(note)


if __name__ == "__main__":
    main()
