"""make bench, inference: backprop's bp_model_predict against onnxruntime on the
same weights, in the same run.

For each of the three bench models (784-256-128-10 and 784-512x3-10 with a
softmax output, 20-64-64-1 with a sigmoid one; hidden layers relu, float32),
the same random weights go to both: raw float32 for bench/bench_infer, an ONNX
file written by torch.onnx.export for onnxruntime-node (bench/infer_ort.js,
intraOpNumThreads = T, interOpNumThreads = 1, every graph optimization on).
REPEATS rounds run the two programs alternately (which goes first alternates
too), at 1 and at 2 threads; each run times batches of 1, 8, 64 and 1024
(calls/s, the median of 5 slices). A ratio is taken round by round (the two
runs are seconds apart), and the table prints the median. Beside it:

  limit    at batch 1, the time to read an array the size of the weights once
           (from the cache level where it lives, T cores each reading its share,
           measured by bench_infer in the same run) over the call's time: the
           fraction of the memory-bound limit of a call that reads every weight;
  gemm     at batch 1024, each one's samples/s over the rate of the forward's
           GEMMs alone (OpenBLAS, T threads);
  ort call onnxruntime's own cost of one call through its Node.js binding: a
           1-in, 1-out linear model at batch 1 (us).

    /usr/bin/python3 bench/infer.py BUILD_DIR [REPEATS [SECONDS]]
    BENCH_ONLY=tabular ...   the models whose name contains "tabular"
"""
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = [  # name, layers, output activation
    ("784-256-128-10", "784,256,128,10", "softmax"),
    ("784-512x3-10", "784,512,512,512,10", "softmax"),
    ("tabular 20-64-64-1", "20,64,64,1", "sigmoid"),
]
BATCHES = (1, 8, 64, 1024)
THREADS = (1, 2)
TARGETS = {1: {1: 1.5, 2: 2.0}, 8: 1.3, 64: 1.3, 1024: 1.0}


def target(batch, threads):
    t = TARGETS[batch]
    return t[threads] if isinstance(t, dict) else t


def parse(out):
    """A program's lines: "batch B calls_per_s R" per batch size, then other
    "key value ..." lines: {"calls": {B: R}, key: value, ...}."""
    fig = {"calls": {}}
    for line in out.strip().splitlines():
        f = line.split()
        if f[0] == "batch":
            fig["calls"][int(f[1])] = float(f[3])
        else:
            fig.update({f[i]: float(f[i + 1]) for i in range(0, len(f), 2)})
    return fig


def write_models(tmp, layers, act):
    """The same random weights as raw float32 (W (out, in) then b per layer)
    and as ONNX; returns their paths."""
    import numpy as np
    import torch
    sizes = [int(s) for s in layers.split(",")]
    gen = torch.Generator().manual_seed(20261203)
    mods, flat = [], []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        lin = torch.nn.Linear(n_in, n_out)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(n_out, n_in, generator=gen) * (2.0 / n_in) ** 0.5)
            lin.bias.copy_(torch.randn(n_out, generator=gen) * 0.1)
        flat += [lin.weight.detach().numpy().ravel(), lin.bias.detach().numpy()]
        mods.append(lin)
        if i < len(sizes) - 2:
            mods.append(torch.nn.ReLU())
    mods.append(torch.nn.Softmax(dim=1) if act == "softmax" else torch.nn.Sigmoid())
    net = torch.nn.Sequential(*mods).eval()
    tag = layers.replace(",", "-")
    raw, onnx = os.path.join(tmp, tag + ".f32"), os.path.join(tmp, tag + ".onnx")
    np.concatenate(flat).astype("<f4").tofile(raw)
    export(net, sizes[0], onnx)
    return raw, onnx


def export(net, inputs, path):
    import torch
    torch.onnx.export(net, torch.zeros(1, inputs), path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=13)


def trivial_model(tmp):
    import torch
    path = os.path.join(tmp, "trivial.onnx")
    export(torch.nn.Linear(1, 1).eval(), 1, path)
    return path


def run(cmd):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    return parse(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)


def summarize(rounds):
    """rounds: [(ours, theirs)] for one model and thread count, as parse()
    returns them. Per batch size: the medians of each one's calls/s, the median
    of the per-round ratios (ours / theirs), and their list; at batch 1 the
    fraction of the limit (stream time x calls/s, per round, median), at the
    largest batch each one's fraction of the GEMM rate (batch x calls/s over
    gemm_rate, per round, median); and onnxruntime's per-call overhead (median)."""
    med = statistics.median
    rows = {}
    for b in sorted(rounds[0][0]["calls"]):
        ratios = [o["calls"][b] / t["calls"][b] for o, t in rounds]
        row = {"ours": med(o["calls"][b] for o, _ in rounds),
               "theirs": med(t["calls"][b] for _, t in rounds),
               "ratio": med(ratios), "ratios": ratios}
        if b == 1:
            row["limit"] = med(o["stream_us"] * 1e-6 * o["calls"][b] for o, _ in rounds)
        if b == max(rounds[0][0]["calls"]):
            row["gemm"] = med(b * o["calls"][b] / o["gemm_rate"] for o, _ in rounds)
            row["gemm_theirs"] = med(b * t["calls"][b] / o["gemm_rate"] for o, t in rounds)
        rows[b] = row
    return rows, med(t["overhead_us"] for _, t in rounds)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build/float"
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    seconds = sys.argv[3] if len(sys.argv) > 3 else "2"
    ort = os.path.join(ROOT, "tests", "node", "node_modules", "onnxruntime-node")
    if not os.path.isdir(ort):
        sys.exit(f"infer.py: onnxruntime-node is not installed in {ort} (make deps)")
    models = [m for m in MODELS if os.environ.get("BENCH_ONLY", "") in m[0]]
    print(f"inference, backprop vs onnxruntime-node 1.30 (same weights), {repeats} rounds "
          f"alternating; load average before: {loadavg()}")
    head = (f"{'model':20} {'thr':>3} {'batch':>5} {'backprop/s':>11} {'onnxrt/s':>10} "
            f"{'ratio':>6} {'target':>6}  {'limit':>5} {'gemm bp/ort':>11} {'ort call':>8}  ratio by round")
    print(head)
    print("-" * len(head))
    misses = []
    with tempfile.TemporaryDirectory() as tmp:
        trivial = trivial_model(tmp)
        for name, layers, act in models:
            raw, onnx = write_models(tmp, layers, act)
            inputs = layers.split(",")[0]
            for threads in THREADS:
                rounds = []
                for rnd in range(repeats):
                    ours = [f"{build}/bench/bench_infer", layers, act, str(threads), seconds, raw]
                    theirs = ["node", f"{HERE}/infer_ort.js", onnx, trivial, inputs, str(threads),
                              seconds]
                    pair = [ours + [str(b) for b in BATCHES], theirs + [str(b) for b in BATCHES]]
                    order = pair if rnd % 2 == 0 else pair[::-1]
                    got = [run(cmd) for cmd in order]
                    rounds.append(tuple(got if rnd % 2 == 0 else got[::-1]))
                rows, overhead = summarize(rounds)
                for b, r in rows.items():
                    goal = target(b, threads)
                    if r["ratio"] < goal:
                        misses.append(f"{name} {threads} thr batch {b}: {r['ratio']:.2f} < {goal}")
                    limit = f"{r['limit']:.0%}" if "limit" in r else ""
                    gemm = f"{r['gemm']:.0%}/{r['gemm_theirs']:.0%}" if "gemm" in r else ""
                    call = f"{overhead:.1f}us" if b == 1 else ""
                    print(f"{name:20} {threads:>3} {b:>5} {r['ours']:>11.0f} {r['theirs']:>10.0f} "
                          f"{r['ratio']:>6.2f} {goal:>6.1f}  {limit:>5} {gemm:>11} {call:>8}  "
                          + " ".join(f"{x:.2f}" for x in r["ratios"]), flush=True)
    print(f"load average after: {loadavg()}")
    print("targets missed: " + ("; ".join(misses) if misses else "none"))


if __name__ == "__main__":
    main()
