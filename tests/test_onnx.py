#!/usr/bin/env python3
"""test_onnx.py - ONNX files of backprop run in onnxruntime as backprop runs
them, and PyTorch's ONNX files run and train in backprop as in PyTorch.

  1. Models trained by `backprop train` (every activation, 1 to 5 layers,
     softmax / sigmoid / regression outputs, each normalization) and made by
     `backprop init` are exported with `backprop export --format onnx`;
     onnx.checker.check_model(full_check=True) accepts each file, its
     metadata holds the labels, normalization and version, and its
     initializers are the model file's tensors bit for bit (rounded to
     float32 once in the double build).
  2. onnxruntime (onnxruntime-node from npm, tests/node/run_onnx.js, one
     process for all runs) against `backprop predict` at batch 1, 7 and 256:
     |diff| <= 1e-6 + 1e-5 |onnxruntime's|, and the same predicted classes.
  3. torch.onnx.export of nn.Sequential MLPs at opsets 11, 13 and 17: backprop
     predicts as torch does (same tolerance, same classes).
  4. `backprop train --init-from torch.onnx` follows PyTorch's own training
     of the same network within the conformance suite's tolerance
     (docs/CONFORMANCE.md: 1e-4 float32, 1e-7 float64, after >= 100 steps).
  5. Graphs backprop does not read are refused naming the node and op.
A missing onnxruntime or node is a failure, not a skip. Prints a line per
case and "cases: P ok, F failed"; exits non-zero on any failure.
"""
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.checker
import onnx.numpy_helper
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BP_BUILD", "build/float")
BP = os.path.join(BUILD, "bin", "backprop")
NODE_SCRIPT = os.path.join(REPO, "tests", "node", "run_onnx.js")
ORT_DIR = os.path.join(REPO, "tests", "node", "node_modules", "onnxruntime-node")
ATOL, RTOL = 1e-6, 1e-5

ok = failed = 0
used_most = {}
worst = {"onnxruntime": (0.0, ""), "torch": (0.0, ""), "numpy": (0.0, ""), "train (max-norm relative)": (0.0, "")}


def case(name, good, detail=""):
    global ok, failed
    if good:
        ok += 1
        print("ok   %s%s" % (name, "  " + detail if detail else ""))
    else:
        failed += 1
        print("FAIL %s  %s" % (name, detail))


def run(args, **kw):
    return subprocess.run([BP] + args, capture_output=True, text=True, **kw)


def must(args):
    r = run(args)
    if r.returncode != 0:
        raise RuntimeError("backprop %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def is_double():
    return "float64" in must(["--version"])


def f32_text(v):
    """The decimal text that reads back as exactly this float32 value, in
    either precision (a double holds every float32 exactly)."""
    return repr(float(np.float32(v)))


def write_csv(path, x, y=None, header=True):
    with open(path, "w") as f:
        k = x.shape[1]
        if header:
            f.write(",".join(["f%d" % i for i in range(k)] + (["target"] if y is not None else [])) + "\n")
        for i in range(x.shape[0]):
            row = [f32_text(v) for v in x[i]]
            if y is not None:
                row.append(str(y[i]))
            f.write(",".join(row) + "\n")


def read_predictions(text):
    """backprop predict's CSV: (labels or None, values (n, k))."""
    lines = text.strip().split("\n")
    head = lines[0].split(",")
    rows = [l.split(",") for l in lines[1:]]
    if head[0] == "label":
        # labels here never hold commas or quotes
        return [r[0] for r in rows], np.array([[float(v) for v in r[1:]] for r in rows]), head[1:]
    return None, np.array([[float(v) for v in r] for r in rows]), head


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        dt = {"F32": np.float32, "F64": np.float64}[t["dtype"]]
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b:8 + n + e], dt).reshape(t["shape"])
    return header["__metadata__"], out


def compare(kind, name, got, ref):
    """max |got - ref| against the tolerance; records the largest."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    if got.shape != ref.shape:
        return False, "shape %s vs %s" % (got.shape, ref.shape)
    diff = np.abs(got - ref)
    used = diff / (ATOL + RTOL * np.abs(ref))  # share of the tolerance taken
    d = float(diff.max()) if diff.size else 0.0
    u = float(used.max()) if used.size else 0.0
    if d > worst[kind][0]:
        worst[kind] = (d, name)
    if u > used_most.get(kind, (0.0, ""))[0]:
        used_most[kind] = (u, name)
    return bool((used <= 1).all()), "max |diff| %.3g (%.2g of the tolerance)" % (d, u)


# ------------------------------------------------------------------ data

def datasets(tmp, rng):
    x = rng.normal(0, 2, (300, 6)).astype(np.float32)
    cls = np.array(["ant", "bee", "cat"])[np.argmax(x[:, :3] + 0.5 * x[:, 3:], axis=1)]
    write_csv(os.path.join(tmp, "cls.csv"), x, cls)
    xb = rng.normal(1, 3, (200, 4)).astype(np.float32)
    write_csv(os.path.join(tmp, "bin.csv"), xb, (xb[:, 0] * xb[:, 1] > 0).astype(int))
    xr = rng.uniform(-5, 20, (200, 5)).astype(np.float32)
    write_csv(os.path.join(tmp, "reg.csv"), xr, ["%.6f" % v for v in np.sin(xr[:, 0]) + 0.1 * xr[:, 1]])
    write_csv(os.path.join(tmp, "reg01.csv"), xr, ["%.6f" % v for v in 1 / (1 + np.exp(-xr[:, 2] / 5))])
    write_csv(os.path.join(tmp, "units.csv"), xr, ["%.6f" % v for v in 35 + 4 * np.sin(xr[:, 0]) + xr[:, 1]])


# (name, data or None for `backprop init`, options)
MODELS = [
    ("softmax_1layer", "cls", ["--layers", "6,3", "--normalize", "none"]),
    ("relu_softmax", "cls", ["--layers", "6,8,3", "--act", "relu", "--normalize", "standard"]),
    ("leaky_softmax_3", "cls", ["--layers", "6,8,7,3", "--act", "leaky_relu", "--leaky-slope", "0.2",
                                "--normalize", "scale"]),
    ("tanh_softmax_4", "cls", ["--layers", "6,5,5,5,3", "--act", "tanh", "--normalize", "standard"]),
    ("sigmoid_softmax_5", "cls", ["--layers", "6,4,4,4,4,3", "--act", "sigmoid", "--normalize", "none"]),
    ("softmax_mse", "cls", ["--layers", "6,5,3", "--act", "tanh", "--out-act", "softmax", "--loss", "mse"]),
    ("tanh_sigmoid_binary", "bin", ["--layers", "4,6,1", "--act", "tanh", "--normalize", "standard"]),
    ("relu_sigmoid_binary_3", "bin", ["--layers", "4,5,3,1", "--act", "relu", "--normalize", "scale"]),
    ("relu_regression", "reg", ["--layers", "5,8,1", "--act", "relu", "--normalize", "standard"]),
    # trained on standardized targets of some 35 units, folded back into the last layer
    ("relu_regression_units", "units", ["--layers", "5,8,1", "--act", "relu", "--normalize", "standard"]),
    ("identity_regression_3", "reg", ["--layers", "5,6,4,1", "--act", "identity", "--normalize", "none"]),
    ("leaky_sigmoid_regression", "reg01", ["--layers", "5,6,1", "--act", "leaky_relu", "--out-act", "sigmoid",
                                           "--loss", "mse", "--normalize", "scale"]),
    ("init_multi_sigmoid", None, ["--layers", "3,4,2", "--act", "tanh", "--out-act", "sigmoid", "--loss", "bce"]),
    ("init_regression_2out", None, ["--layers", "3,5,4,2", "--act", "leaky_relu", "--out-act", "identity",
                                    "--loss", "mse", "--seed", "4"]),
]


def build_models(tmp):
    out = []
    for name, data, opts in MODELS:
        st = os.path.join(tmp, name + ".safetensors")
        if data:
            must(["train", "--data", os.path.join(tmp, data + ".csv"), "--epochs", "3", "--batch", "32",
                  "--lr", "0.01", "--quiet", "--save", st] + opts)
        else:
            must(["init", "--save", st] + opts)
        onnx_path = os.path.join(tmp, name + ".onnx")
        must(["export", "--model", st, "--format", "onnx", "--output", onnx_path])
        out.append((name, st, onnx_path))
    return out


def check_file(name, st, onnx_path, double):
    m = onnx.load(onnx_path)
    try:
        onnx.checker.check_model(m, full_check=True)
        err = ""
    except Exception as e:  # noqa: BLE001 - any checker complaint fails the case
        err = str(e).split("\n")[0]
    case("%s: onnx.checker full_check" % name, not err, err)
    meta = {p.key: p.value for p in m.metadata_props}
    smeta, tensors = read_safetensors(st)
    good = meta.get("backprop_version") and m.ir_version == 7 and \
        [(o.domain, o.version) for o in m.opset_import] == [("", 13)]
    if "labels" in smeta:
        good = good and json.loads(meta.get("labels", "null")) == json.loads(smeta["labels"])
    init = {t.name: onnx.numpy_helper.to_array(t) for t in m.graph.initializer}
    bad = []
    for tname, v in tensors.items():
        oname = {"normalization.shift": "norm_shift", "normalization.scale": "norm_scale"}.get(
            tname, tname.replace(".", "_"))
        want = v.astype(np.float32)  # exact in the float build; one rounding in the double build
        if oname not in init or init[oname].dtype != np.float32 or init[oname].shape != want.shape or \
                init[oname].tobytes() != want.tobytes():
            bad.append(tname)
    if "normalization.shift" in tensors:
        norm = json.loads(meta.get("normalization", "{}"))
        good = good and np.array_equal(np.float32(norm.get("shift")), tensors["normalization.shift"].astype(np.float32))
    case("%s: metadata and initializers are the model's" % name, good and not bad,
         "differ: %s" % bad if bad else "")
    names = [n.name for n in m.graph.node] + [t.name for t in m.graph.initializer] + [m.graph.name]
    case("%s: names are C identifiers" % name,
         all(n and (n[0].isalpha() or n[0] == "_") and all(c.isalnum() or c == "_" for c in n) for n in names))


# ------------------------------------------------------------ onnxruntime

def node_available():
    node = shutil.which("node")
    if not node:
        case("node (Node.js 20) on PATH", False, "not found: scripts/deps.sh installs it")
        return None
    if not os.path.isdir(ORT_DIR):
        case("onnxruntime-node in tests/node/node_modules", False, "not found: scripts/deps.sh installs it")
        return None
    return node


def run_node(node, tmp, jobs):
    path = os.path.join(tmp, "jobs.json")
    with open(path, "w") as f:
        json.dump(jobs, f)
    r = subprocess.run([node, NODE_SCRIPT, path], capture_output=True, text=True)
    if r.returncode != 0:
        case("onnxruntime runs", False, r.stderr.strip()[-500:])
        return False
    return True


def test_onnxruntime(node, tmp, models, rng):
    jobs, pending = [], []
    for name, st, onnx_path in models:
        k = onnx.load(onnx_path).graph.input[0].type.tensor_type.shape.dim[1].dim_value
        for batch in (1, 7, 256):
            x = rng.normal(0, 3, (batch, k)).astype(np.float32)
            csv = os.path.join(tmp, "%s_%d.csv" % (name, batch))
            write_csv(csv, x)
            pred = must(["predict", "--model", st, "--data", csv, "--batch", str(batch)])
            raw = csv + ".f32"
            x.tofile(raw)
            jobs.append({"model": onnx_path, "input": raw, "rows": batch, "cols": k, "output": raw + ".out"})
            pending.append((name, batch, pred, raw + ".out"))
    if not run_node(node, tmp, jobs):
        return
    for name, batch, pred, out in pending:
        info = json.load(open(out + ".json"))
        y = np.fromfile(out, np.float32).reshape(info["dims"])
        labels, values, cols = read_predictions(pred)
        good, detail = compare("onnxruntime", "%s batch %d" % (name, batch), values, y)
        if labels is not None:
            names = [c[len("prob_"):] for c in cols]
            same = [names[j] for j in np.argmax(y, axis=1)] == labels
            good = good and same and info["output"] == "probabilities"
            detail += "" if same else "; classes differ"
        else:  # a multi-label model's probabilities (prob_LABEL columns, no label) or values
            multilabel = all(c.startswith("prob_") for c in cols)
            good = good and info["output"] == ("probabilities" if multilabel else "outputs")
        case("%s: onnxruntime = predict, batch %d" % (name, batch), good, detail)


# ------------------------------------------------------------------ torch

def torch_nets():
    torch.manual_seed(1)
    nn = torch.nn
    return [
        ("torch_relu_tanh_softmax", nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 6), nn.Tanh(),
                                                  nn.Linear(6, 3), nn.Softmax(dim=1)), 5),
        ("torch_flatten_leaky_sigmoid", nn.Sequential(nn.Flatten(), nn.Linear(4, 7), nn.LeakyReLU(0.1),
                                                      nn.Linear(7, 1), nn.Sigmoid()), 4),
        ("torch_sigmoid_regression", nn.Sequential(nn.Linear(3, 6), nn.Sigmoid(), nn.Linear(6, 2)), 3),
    ]


def torch_export(net, k, opset, path):
    net.eval()
    torch.onnx.export(net, torch.zeros(2, k), path, opset_version=opset, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})


def test_torch_predict(tmp, rng):
    for name, net, k in torch_nets():
        x = rng.normal(0, 2, (50, k)).astype(np.float32)
        csv = os.path.join(tmp, name + ".csv")
        write_csv(csv, x)
        with torch.no_grad():
            ref = net.eval()(torch.from_numpy(x)).numpy()
        for opset in (11, 13, 17):
            path = os.path.join(tmp, "%s_op%d.onnx" % (name, opset))
            torch_export(net, k, opset, path)
            r = run(["predict", "--model", path, "--data", csv])
            if r.returncode != 0:
                case("%s opset %d: backprop predicts" % (name, opset), False, r.stderr.strip())
                continue
            labels, values, cols = read_predictions(r.stdout)
            got = values[:, 1:] if ref.shape[1] == 1 and labels is not None else values
            good, detail = compare("torch", "%s opset %d" % (name, opset), got, ref)
            if labels is not None and ref.shape[1] > 1:
                same = [str(j) for j in np.argmax(ref, axis=1)] == labels
                good, detail = good and same, detail + ("" if same else "; classes differ")
            case("%s opset %d: backprop predict = torch" % (name, opset), good, detail)


def test_torch_training(tmp, rng, double):
    """train --init-from a torch ONNX file, against torch training the same
    network the same way: Adam, batches of 7 over 24 samples in order, 30
    epochs (120 steps), cross-entropy on the softmax's logits."""
    dtype = torch.float64 if double else torch.float32
    nn = torch.nn
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(5, 9), nn.Tanh(), nn.Linear(9, 7), nn.LeakyReLU(0.2), nn.Linear(7, 3),
                        nn.Softmax(dim=1))
    path = os.path.join(tmp, "train_init.onnx")
    torch_export(net, 5, 13, path)
    x = rng.normal(0, 1, (24, 5)).astype(np.float32)
    y = rng.integers(0, 3, 24)
    csv = os.path.join(tmp, "train.csv")
    write_csv(csv, x, y)
    out = os.path.join(tmp, "trained.safetensors")
    r = run(["train", "--init-from", path, "--data", csv, "--normalize", "none", "--opt", "adam", "--lr", "0.01",
             "--batch", "7", "--epochs", "30", "--no-shuffle", "--quiet", "--threads", "1", "--save", out])
    if r.returncode != 0:
        case("train --init-from torch ONNX", False, r.stderr.strip())
        return
    net = net.to(dtype)
    layers = [net[0], net[2], net[4]]
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    xt, yt = torch.from_numpy(x).to(dtype), torch.from_numpy(y)
    for _ in range(30):
        for b in range(0, 24, 7):
            opt.zero_grad()
            logits = net[:-1](xt[b:b + 7])
            torch.nn.functional.cross_entropy(logits, yt[b:b + 7]).backward()
            opt.step()
    _, tensors = read_safetensors(out)
    err, where = 0.0, ""
    for i, lin in enumerate(layers):
        for part, ref in (("weight", lin.weight), ("bias", lin.bias)):
            ref = ref.detach().double().numpy()
            got = tensors["layers.%d.%s" % (i, part)].astype(np.float64)
            e = np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-12)
            if e > err:
                err, where = e, "layers.%d.%s" % (i, part)
    worst["train (max-norm relative)"] = (err, where)
    tol = 1e-7 if double else 1e-4
    case("train --init-from torch ONNX follows torch (120 Adam steps)", err <= tol,
         "max-norm relative error %.3g at %s (tolerance %g)" % (err, where, tol))


# --------------------------------------------------- hand-built graphs

def test_other_layouts(tmp, rng):
    """The forms other exporters use, against NumPy in float64 from the same
    float32 weights: MatMul + Add, Gemm transB = 0 with its bias in an Add,
    Constant nodes, Identity / Flatten / Reshape, float_data, opsets 11 and 15."""
    h, nh = onnx.helper, onnx.numpy_helper
    w0 = rng.normal(0, 0.5, (4, 6)).astype(np.float32)   # (in, out): MatMul
    b0 = rng.normal(0, 0.5, 6).astype(np.float32)
    w1 = rng.normal(0, 0.5, (6, 5)).astype(np.float32)   # (in, out): Gemm transB 0
    b1 = rng.normal(0, 0.5, 5).astype(np.float32)
    w2 = rng.normal(0, 0.5, (3, 5)).astype(np.float32)   # (out, in): Gemm transB 1
    b2 = rng.normal(0, 0.5, (1, 3)).astype(np.float32)

    def graph(opset, float_data):
        inits = [nh.from_array(w0, "w0"), nh.from_array(w1, "w1"), nh.from_array(w2, "w2"),
                 nh.from_array(b2, "b2"), nh.from_array(np.array([-1, 6], np.int64), "shape")]
        if float_data:
            for t in inits[:4]:
                a = nh.to_array(t)
                t.ClearField("raw_data")
                t.float_data.extend(a.ravel().tolist())
        nodes = [
            h.make_node("Identity", ["x"], ["x1"], name="id"),
            h.make_node("Flatten", ["x1"], ["x2"], name="flat", axis=1),
            h.make_node("MatMul", ["x2", "w0"], ["m0"], name="mm0"),
            h.make_node("Constant", [], ["b0"], name="const_b0", value=nh.from_array(b0, "b0v")),
            h.make_node("Add", ["b0", "m0"], ["z0"], name="add0"),  # bias first: also a chain
            h.make_node("Tanh", ["z0"], ["a0"], name="tanh0"),
            h.make_node("Reshape", ["a0", "shape"], ["a0r"], name="reshape"),
            h.make_node("Gemm", ["a0r", "w1"], ["m1"], name="gemm1"),
            h.make_node("Constant", [], ["b1"], name="const_b1", value=nh.from_array(b1, "b1v")),
            h.make_node("Add", ["m1", "b1"], ["z1"], name="add1"),
            h.make_node("LeakyRelu", ["z1"], ["a1"], name="leaky1", alpha=0.3),
            h.make_node("Gemm", ["a1", "w2", "b2"], ["z2"], name="gemm2", transB=1),
            h.make_node("Softmax", ["z2"], ["y"], name="softmax", axis=1),
        ]
        g = h.make_graph(nodes, "other", [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 4])],
                         [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 3])], inits)
        m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
        m.ir_version = 7
        return m

    x = rng.normal(0, 2, (40, 4)).astype(np.float32)
    csv = os.path.join(tmp, "other.csv")
    write_csv(csv, x)
    xd = x.astype(np.float64)
    a0 = np.tanh(xd @ w0 + b0)
    z1 = a0 @ w1 + b1
    a1 = np.where(z1 > 0, z1, np.float64(np.float32(0.3)) * z1)
    z2 = a1 @ w2.T.astype(np.float64) + b2
    ref = np.exp(z2 - z2.max(axis=1, keepdims=True))
    ref /= ref.sum(axis=1, keepdims=True)
    for opset, float_data in ((11, False), (15, True)):
        name = "MatMul/Gemm transB 0/Constant/Reshape, opset %d%s" % (opset, ", float_data" if float_data else "")
        path = os.path.join(tmp, "other.onnx")
        m = graph(opset, float_data)
        onnx.checker.check_model(m, full_check=True)
        onnx.save(m, path)
        r = run(["predict", "--model", path, "--data", csv])
        if r.returncode != 0:
            case(name, False, r.stderr.strip())
            continue
        labels, values, _ = read_predictions(r.stdout)
        good, detail = compare("numpy", name, values, ref)
        case(name + ": predict = NumPy", good and labels == [str(j) for j in np.argmax(ref, axis=1)], detail)


# -------------------------------------------------------------- refusals

def test_refusals(tmp):
    h = onnx.helper
    w = onnx.numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
    b = onnx.numpy_helper.from_array(np.zeros(2, np.float32), "b")

    def model(nodes, inits=(w, b), opset=13, in_shape=("n", 3)):
        g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(in_shape))],
                         [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)], list(inits))
        return h.make_model(g, opset_imports=[h.make_opsetid("", opset)])

    cases = [
        ("an unsupported op", model([h.make_node("Gemm", ["x", "w", "b"], ["z"], name="fc", transB=1),
                                     h.make_node("Elu", ["z"], ["y"], name="act")]),
         'node 1 "act" (op Elu): not supported'),
        ("a branch", model([h.make_node("Gemm", ["x", "w", "b"], ["z"], name="fc", transB=1),
                            h.make_node("Relu", ["x"], ["r"], name="side"),
                            h.make_node("Relu", ["z"], ["y"], name="act")]),
         'node 1 "side" (op Relu): its input is not the result of the node before it'),
        ("transA", model([h.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", transA=1)]),
         'node 0 "fc" (op Gemm): only alpha = beta = 1 and transA = 0'),
        ("a weight that is not a constant", model([h.make_node("MatMul", ["x", "x"], ["y"], name="mm")], inits=()),
         'node 0 "mm" (op MatMul): expected (x, constant W)'),
        ("opset 18", model([h.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", transB=1)], opset=18),
         "opset 18: backprop reads opsets 9 to 17"),
        ("a 3-D input", model([h.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", transB=1)],
                              in_shape=("n", 2, 3)), "has 3 dimensions"),
        ("softmax over axis 0", model([h.make_node("Gemm", ["x", "w", "b"], ["z"], name="fc", transB=1),
                                       h.make_node("Softmax", ["z"], ["y"], name="sm", axis=0)]),
         'node 1 "sm" (op Softmax): axis 0'),
    ]
    for what, m, text in cases:
        path = os.path.join(tmp, "refused.onnx")
        onnx.save(m, path)
        r = run(["info", "--model", path])
        case("refuses %s" % what, r.returncode == 1 and text in r.stderr, r.stderr.strip())


def main():
    double = is_double()
    rng = np.random.default_rng(14)
    with tempfile.TemporaryDirectory() as tmp:
        node = node_available()
        datasets(tmp, rng)
        models = build_models(tmp)
        for name, st, onnx_path in models:
            check_file(name, st, onnx_path, double)
        if node:
            test_onnxruntime(node, tmp, models, rng)
        test_torch_predict(tmp, rng)
        test_torch_training(tmp, rng, double)
        test_other_layouts(tmp, rng)
        test_refusals(tmp)
    for kind, (d, where) in worst.items():
        print("largest %s difference: %.3g (%s)" % (kind, d, where))
    for kind, (u, where) in used_most.items():
        print("most of the tolerance used against %s: %.2g (%s)" % (kind, u, where))
    print("cases: %d ok, %d failed (test_onnx.py, %s)" % (ok, failed, "float64" if double else "float32"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
