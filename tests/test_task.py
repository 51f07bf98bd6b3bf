#!/usr/bin/env python3
"""test_task.py - every front end and exporter asks the library what a model
predicts (bp_model_task, bp_model_classes, bp_model_evaluate*), and agrees:

1. a 1-output half_sse model (scikit-learn's squared_error, as MLPRegressor
   trains it) is a regressor: `backprop predict` prints a value, the generated
   C has no classes and no NAME_classify and gives predict's value, the ONNX
   file's output is "outputs" with 1 column and gives predict's value in
   onnxruntime; a 1-output bce_sum model is a 2-class classifier everywhere;
2. eval's loss of half_sse and bce_sum models, float and int8, is the one
   numpy computes from the model file (float) or the library's int8
   predictions (tests/tool_quant), with 1 and 2 outputs;
3. a 2-target regression (5 rows) reports no accuracy in train's text, its
   --log, eval's text and eval --json.
Prints a line per case and "cases: P ok, F failed"; exits non-zero on failure.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from report import built, result, summary  # noqa: E402
from safetensors_io import write_model_file  # noqa: E402

ROOT = os.path.dirname(HERE)
BUILD = os.environ.get("BP_BUILD", "build/float")
B = os.path.abspath(os.path.join(BUILD, "bin", "backprop"))
TOOL = os.path.abspath(os.path.join(BUILD, "tests", "tool_quant"))
DRIVER = os.path.join(HERE, "export", "driver.c")
NODE_SCRIPT = os.path.join(HERE, "node", "run_onnx.js")
ORT_DIR = os.path.join(HERE, "node", "node_modules", "onnxruntime-node")
DOUBLE = "double" in BUILD
DT = np.float64 if DOUBLE else np.float32
EPS = 1e-7  # eval's clip of int8 probabilities (bp_model_evaluate_outputs)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ------------------------------------------------------------ model files

def read_model(path):
    """(metadata, {name: array}) of a model file."""
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    meta, data = header.pop("__metadata__"), b[8 + n:]
    t = {}
    for name, h in header.items():
        lo, hi = h["data_offsets"]
        t[name] = np.frombuffer(data[lo:hi], {"F32": "<f4", "F64": "<f8"}[h["dtype"]]).reshape(h["shape"])
    return meta, t


def set_loss(path, loss):
    """Rewrites the model file's "loss" metadata (the checksum covers the data only)."""
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    header["__metadata__"]["loss"] = loss
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b[8 + n:])


def forward(meta, t, x):
    """The model's outputs on raw inputs x (n, inputs), in float64."""
    acts = meta["activations"].split(",")
    a = np.asarray(x, np.float64)
    if "normalization.shift" in t:
        a = (a - t["normalization.shift"]) * t["normalization.scale"]
    for l, name in enumerate(acts):
        z = a @ t["layers.%d.weight" % l].astype(np.float64).T + t["layers.%d.bias" % l]
        a = {"identity": lambda v: v, "tanh": np.tanh, "relu": lambda v: np.maximum(v, 0),
             "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[name](z)
    return a


def loss_of(loss, p, y, clip=None):
    """The mean loss as docs/MATH.md defines it, from outputs p (n, k)."""
    if clip:
        p = np.clip(p, clip, 1 - clip)
    if loss == "half_sse":
        return float(np.mean(0.5 * np.sum((p - y) ** 2, axis=1)))
    if loss == "mse":
        return float(np.mean((p - y) ** 2))
    ce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(np.mean(np.sum(ce, axis=1))) if loss == "bce_sum" else float(np.mean(ce))


def hand_model(path, sizes, acts, loss, seed):
    """A model file written here, without labels or encoder (as a caller of the library makes one)."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for l in range(len(sizes) - 1):
        tensors["layers.%d.weight" % l] = rng.normal(0, 1, (sizes[l + 1], sizes[l]))
        tensors["layers.%d.bias" % l] = rng.normal(0, 0.5, sizes[l + 1])
    meta = {"format": "backprop", "format_version": "1", "layer_sizes": ",".join(map(str, sizes)),
            "activations": ",".join(acts), "leaky_slope": "0.01", "loss": loss, "init": "auto", "seed": "0"}
    write_model_file(path, meta, tensors, "F64" if DOUBLE else "F32")


def write_csv(path, x, y, names=None):
    k = y.shape[1]
    head = ["f%d" % i for i in range(x.shape[1])] + (names or ["t%d" % j for j in range(k)])
    with open(path, "w") as f:
        f.write(",".join(head) + "\n")
        for xi, yi in zip(x, y):
            f.write(",".join("%.6g" % v for v in list(xi) + list(yi)) + "\n")


def read_predict(text):
    """(header, values (n, columns after the label if any))."""
    lines = text.strip().splitlines()
    head = lines[0].split(",")
    lead = 1 if head[0] == "label" else 0
    return head, np.array([[float(v) for v in line.split(",")[lead:]] for line in lines[1:]])


# ------------------------------------------------------- 1. the exporters

def export_c(tmp, name, model, x, pred_values):
    """Generated C of a model: (header text, its NAME_predict's outputs on x)."""
    c = os.path.join(tmp, name + ".c")
    r = run([B, "export", "--model", model, "--format", "c", "--output", c])
    if r.returncode:
        return None, r.stderr
    h = open(c[:-1] + "h").read()
    exe = os.path.join(tmp, name + "_drv")
    classes = "_classify" in h
    r = run(["gcc", "-std=c99", "-O1", "-I", tmp, "-Wall", "-Wextra", "-pedantic", "-Werror",
             "-DMODEL=" + name, '-DHEADER="%s.h"' % name] + (["-DCLASSES"] if classes else []) +
            [DRIVER, c, "-o", exe, "-lm"])
    if r.returncode:
        return h, r.stderr
    out = run([exe], input="".join("x " + " ".join("%.9g" % v for v in row) + "\n" for row in x)).stdout
    return h, np.array([[float(v) for v in line.split()[1:]] for line in out.splitlines()
                        if line.startswith("y ")])


def check_exports(tmp, node):
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1.5, (20, 3))
    data = os.path.join(tmp, "x.csv")
    with open(data, "w") as f:
        f.write("f0,f1,f2\n" + "".join(",".join("%.6g" % v for v in row) + "\n" for row in x))
    x = np.loadtxt(data, delimiter=",", skiprows=1)
    cases = [("hsse1", [3, 5, 1], ["tanh", "identity"], "half_sse", ["output"], 1),
             ("hsse2", [3, 5, 2], ["tanh", "identity"], "half_sse", ["output_0", "output_1"], 2),
             ("bces1", [3, 4, 1], ["tanh", "sigmoid"], "bce_sum", ["label", "prob_0", "prob_1"], 2)]
    jobs, pending = [], []
    for name, sizes, acts, loss, want_head, cols in cases:
        model = os.path.join(tmp, name + ".st")
        hand_model(model, sizes, acts, loss, len(jobs) + 1)
        meta, t = read_model(model)
        r = run([B, "predict", "--model", model, "--data", data])
        if r.returncode:
            result(name + ": predict", False, r.stderr)
            continue
        head, values = read_predict(r.stdout)
        want = forward(meta, t, x)
        if cols == 2 and sizes[-1] == 1:
            want = np.hstack([1 - want, want])
        result("%s (%s, %d output%s): predict writes %s" % (name, loss, sizes[-1], "s"[:sizes[-1] > 1],
                                                            ",".join(want_head)),
               head == want_head and np.allclose(values, want, atol=1e-5), "header %s" % head)
        regression = loss == "half_sse"
        h, y = export_c(tmp, name, model, x, values)
        if h is None or isinstance(y, str):
            result(name + ": export C and compile", False, y if isinstance(y, str) else "")
        else:
            api = ("_CLASSES" in h, "_classify" in h, "_labels" in h)
            result("%s: generated C %s" % (name, "has no classes, labels or _classify (a regressor's API)"
                                           if regression else "has 2 classes and _classify"),
                   api == ((False,) * 3 if regression else (True,) * 3) and
                   (not regression or "regression value" in h) and
                   (regression or "_CLASSES 2" in h), "classes/classify/labels: %s" % (api,))
            got = y if regression else np.hstack([1 - y, y])
            result("%s: generated C's predict = backprop predict (%d rows)" % (name, len(x)),
                   got.shape == values.shape and np.allclose(got, values, atol=1e-5, rtol=1e-5),
                   "shapes %s vs %s" % (got.shape, values.shape))
        onnx_path = os.path.join(tmp, name + ".onnx")
        r = run([B, "export", "--model", model, "--format", "onnx", "--output", onnx_path])
        if r.returncode:
            result(name + ": export onnx", False, r.stderr)
            continue
        raw = os.path.join(tmp, name + ".f32")
        x.astype(np.float32).tofile(raw)
        jobs.append({"model": onnx_path, "input": raw, "rows": len(x), "cols": 3, "output": raw + ".out"})
        pending.append((name, regression, cols, values, raw + ".out"))
    if not node or not jobs:
        return
    path = os.path.join(tmp, "jobs.json")
    with open(path, "w") as f:
        json.dump(jobs, f)
    r = run([node, NODE_SCRIPT, path])
    if r.returncode:
        result("onnxruntime runs", False, r.stderr[-500:])
        return
    for name, regression, cols, values, out in pending:
        info = json.load(open(out + ".json"))
        y = np.fromfile(out, np.float32).reshape(info["dims"])
        want_out = "outputs" if regression else "probabilities"
        result("%s: ONNX output \"%s\" of %d column%s = backprop predict" % (name, want_out, cols, "s"[:cols > 1]),
               info["output"] == want_out and list(info["dims"]) == [len(x), cols] and
               np.allclose(y, values, atol=1e-5, rtol=1e-5), "output %s dims %s" % (info["output"], info["dims"]))


# ----------------------------------------------------------- 2. eval loss

def eval_json(args):
    r = run([B, "eval", "--json"] + args)
    return json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr}


def check_eval_loss(tmp):
    rng = np.random.default_rng(9)
    x = np.round(rng.normal(0, 1.5, (60, 3)), 4)
    # 1 output, no encoder: hand-written files
    for name, sizes, acts, loss in (("ev_hsse", [3, 5, 1], ["tanh", "identity"], "half_sse"),
                                    ("ev_bces", [3, 4, 1], ["tanh", "sigmoid"], "bce_sum")):
        model = os.path.join(tmp, name + ".st")
        hand_model(model, sizes, acts, loss, 21)
        meta, t = read_model(model)
        p = forward(meta, t, x)
        y = (p > 0.4).astype(float) if loss == "bce_sum" else np.round(p + rng.normal(0, 0.3, p.shape), 4)
        data = os.path.join(tmp, name + ".csv")
        write_csv(data, x, y)
        check_loss(name, loss, model, data, x, y, sizes[-1])
    # 2 outputs, trained by the CLI (with an encoder), then given the other loss
    y2 = np.round(np.stack([x[:, 0] - x[:, 1], x[:, 2] * 0.5], axis=1) + rng.normal(0, 0.2, (60, 2)), 4)
    yl = np.stack([x[:, 0] > 0, x[:, 1] + x[:, 2] > 0], axis=1).astype(float)
    for name, y, loss, was in (("ev_hsse2", y2, "half_sse", "mse"), ("ev_bces2", yl, "bce_sum", "bce")):
        data = os.path.join(tmp, name + ".csv")
        write_csv(data, x, y)
        model = os.path.join(tmp, name + ".st")
        r = run([B, "train", "--data", data, "--target", "t0,t1", "--hidden", "4", "--epochs", "3",
                 "--seed", "2", "--quiet", "--save", model])
        if r.returncode:
            result(name + ": train", False, r.stderr)
            continue
        meta, _ = read_model(model)
        if meta["loss"] != was:
            result(name + ": trained with %s" % was, False, meta["loss"])
            continue
        set_loss(model, loss)
        check_loss(name, loss, model, data, x, y, 2)


def check_loss(name, loss, model, data, x, y, k):
    meta, t = read_model(model)
    want = loss_of(loss, forward(meta, t, x), y)
    got = eval_json(["--model", model, "--data", data])
    result("%s: eval's %s loss (%d output%s) = numpy's %.6g" % (name, loss, k, "s"[:k > 1], want),
           "loss" in got and abs(got["loss"] - want) <= 1e-5 * max(1, abs(want)), str(got.get("loss", got)))
    plain = os.path.join(os.path.dirname(data), name + "_x.csv")  # tool_quant: inputs, then one target
    write_csv(plain, x, np.zeros((len(x), 1)))
    lib = run([TOOL, model, plain, plain])
    if lib.returncode:
        result(name + ": tool_quant", False, lib.stderr)
        return
    p = np.array([[float(v) for v in line.split()[1:]] for line in lib.stdout.splitlines()
                  if line.startswith("p ")])
    want = loss_of(loss, p, y, EPS if loss == "bce_sum" else None)
    got = eval_json(["--model", model, "--data", data, "--quantize", "int8", "--calibrate", data])
    result("%s: eval --quantize int8's %s loss = numpy's %.6g on the library's int8 outputs"
           % (name, loss, want), "loss" in got and abs(got["loss"] - want) <= 1e-5 * max(1, abs(want)),
           str(got.get("loss", got)))


# -------------------------------------------- 3. multi-output regression

def check_multi_regression(tmp):
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(0, 1, (5, 3)), 4)
    y = np.round(np.stack([x[:, 0] + x[:, 1], x[:, 2] - x[:, 0]], axis=1), 4)
    data, model, log = (os.path.join(tmp, "mreg" + s) for s in (".csv", ".st", ".jsonl"))
    write_csv(data, x, y, ["a", "b"])
    r = run([B, "train", "--data", data, "--target", "a,b", "--hidden", "4", "--epochs", "3", "--batch", "5",
             "--seed", "1", "--save", model, "--log", log])
    text = r.stdout + r.stderr
    result("2-target regression, 5 rows: train's report shows no accuracy",
           r.returncode == 0 and "%" not in text and "acc -" in text, text[-600:])
    recs = [json.loads(line) for line in open(log)] if os.path.exists(log) else []
    result("2-target regression: --log has no train_acc",
           len(recs) == 3 and all(rec.get("train_acc") is None for rec in recs),
           str([rec.get("train_acc") for rec in recs]))
    r = run([B, "eval", "--model", model, "--data", data])
    result("2-target regression: eval prints no accuracy",
           r.returncode == 0 and "accuracy" not in r.stdout and "rmse" in r.stdout, r.stdout + r.stderr)
    got = eval_json(["--model", model, "--data", data])
    result("2-target regression: eval --json's accuracy is null, outputs a and b",
           "error" not in got and got.get("accuracy", 0) is None and
           [o["name"] for o in got.get("outputs", [])] == ["a", "b"], str(got))


def node_available():
    node = shutil.which("node")
    if not node or not os.path.isdir(ORT_DIR):
        result("node and onnxruntime-node in tests/node/node_modules", False, "not found: scripts/deps.sh installs them")
        return None
    return node


def main():
    if not built(B, "test_task") or not built(TOOL, "test_task"):
        return 1
    tmp = tempfile.mkdtemp(prefix="bp_task_")
    try:
        check_exports(tmp, node_available())
        check_eval_loss(tmp)
        check_multi_regression(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary("test_task")


if __name__ == "__main__":
    sys.exit(main())
