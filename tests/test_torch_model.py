#!/usr/bin/env python3
"""test_torch_model.py - model files open in PyTorch, and PyTorch's weights
open in backprop.

Each case has tests/tool_predict (of the build in $BP_BUILD) create a model,
save it and print its predictions; this script reads the file with nothing but
json/struct/numpy (python3-safetensors is not in Debian), checks the container
(header padding, checksum with zlib), loads layers.{i}.weight/.bias into
torch.nn.Linear layers with a strict load_state_dict, and compares the
predictions. The reverse cases write a file from a torch model here and have
the tool load and predict it. Prints a line per case and
"cases: P ok, F failed"; exits non-zero on any failure.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from safetensors_io import DTYPES, write_model_file  # noqa: E402

BUILD = os.environ.get("BP_BUILD", "build/float")
TOOL = os.path.join(BUILD, "tests", "tool_predict")

def build_is_double():
    try:
        out = subprocess.run([TOOL, "real"], capture_output=True, text=True, check=True).stdout
        return out.strip() == "8"
    except (OSError, subprocess.CalledProcessError) as e:
        print("FAIL %s: %s" % (TOOL, e))
        print("cases: 0 ok, 1 failed (test_torch_model.py)")
        sys.exit(1)


DOUBLE = build_is_double()
NP_DTYPE = np.float64 if DOUBLE else np.float32
TORCH_DTYPE = torch.float64 if DOUBLE else torch.float32
TOL = 1e-12 if DOUBLE else 1e-5


def read_model_file(path):
    """(metadata, {name: array}, data section) of a safetensors file."""
    with open(path, "rb") as f:
        b = f.read()
    (n,) = struct.unpack("<Q", b[:8])
    header = json.loads(b[8:8 + n])
    meta = header.pop("__metadata__")
    data = b[8 + n:]
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
    return n, meta, tensors, data


class Net(torch.nn.Module):
    """The architecture a model file describes; parameter names layers.{i}.*."""

    def __init__(self, sizes, acts, slope):
        super().__init__()
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:]))
        make = {"identity": torch.nn.Identity, "sigmoid": torch.nn.Sigmoid,
                "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU,
                "leaky_relu": lambda: torch.nn.LeakyReLU(slope),
                "softmax": lambda: torch.nn.Softmax(dim=1)}
        self.acts = torch.nn.ModuleList(make[a]() for a in acts)

    def forward(self, x):
        for layer, act in zip(self.layers, self.acts):
            x = act(layer(x))
        return x


def net_from_meta(meta):
    sizes = [int(s) for s in meta["layer_sizes"].split(",")]
    return Net(sizes, meta["activations"].split(","), float(meta["leaky_slope"]))


def run_tool(*args):
    out = subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True, check=True)
    rows = [line.split() for line in out.stdout.splitlines()]
    x = np.array([[float(v) for v in r[1:]] for r in rows if r[0] == "x"], dtype=NP_DTYPE)
    y = np.array([[float(v) for v in r[1:]] for r in rows if r[0] == "y"], dtype=NP_DTYPE)
    return x, y


def torch_predict(net, x, tensors):
    if "normalization.shift" in tensors:
        x = (x - tensors["normalization.shift"].astype(NP_DTYPE)) * tensors["normalization.scale"].astype(NP_DTYPE)
    with torch.no_grad():
        return net(torch.from_numpy(np.ascontiguousarray(x))).numpy()


def close(a, b):
    """|a - b| <= TOL max(1, |a|, |b|), elementwise, as the C tests' CHECK_CLOSE."""
    scale = np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= TOL * scale))


def check_c_to_torch(tmp, name, sizes, acts, slope=0.01, norm=0, n=17):
    """A file backprop saved loads into torch and predicts the same."""
    path = os.path.join(tmp, name + ".safetensors")
    x, y = run_tool("save", path, 42, ",".join(map(str, sizes)), ",".join(acts), slope, norm, n)
    hlen, meta, tensors, data = read_model_file(path)
    problems = []
    if hlen % 8:
        problems.append("header length %d not a multiple of 8" % hlen)
    if meta.get("format") != "backprop" or meta.get("format_version") != "2":
        problems.append("format %r version %r" % (meta.get("format"), meta.get("format_version")))
    if meta.get("checksum") != "crc32:%08x" % zlib.crc32(data):
        problems.append("checksum %s, zlib says %08x" % (meta.get("checksum"), zlib.crc32(data)))
    want_dtype = np.dtype("<f8" if DOUBLE else "<f4")
    if any(t.dtype != want_dtype for t in tensors.values()):
        problems.append("dtype is not %s" % want_dtype)
    if bool(norm) != ("normalization.shift" in tensors):
        problems.append("normalization tensors %s" % ("missing" if norm else "unexpected"))
    net = net_from_meta(meta).to(TORCH_DTYPE)
    state = {k: torch.from_numpy(v.copy()) for k, v in tensors.items() if k.startswith("layers.")}
    net.load_state_dict(state, strict=True)
    got = torch_predict(net, x, tensors)
    if not close(got, y):
        problems.append("predictions differ: max |diff| %g" % np.max(np.abs(got - y)))
    return problems


def check_torch_to_c(tmp, name, sizes, acts, file_dtype, slope=0.01, n=13):
    """A file written here from a torch model loads into backprop and predicts the same."""
    torch.manual_seed(len(name))
    ref = Net(sizes, acts, slope).double()
    with torch.no_grad():
        for layer in ref.layers:
            layer.bias.uniform_(-0.5, 0.5)
    tensors = {k: v.numpy() for k, v in reversed(list(ref.state_dict().items()))}
    meta = {"format": "backprop", "format_version": "1", "layer_sizes": ",".join(map(str, sizes)),
            "activations": ",".join(acts), "leaky_slope": repr(slope), "loss": "mse",
            "init": "auto", "seed": "0", "user.origin": "torch"}
    path = os.path.join(tmp, name + ".safetensors")
    write_model_file(path, meta, tensors, file_dtype)
    x, y = run_tool("load", path, 7, n)
    # The C side holds the file's values converted to its bp_real: do the same.
    stored = {k: v.astype(DTYPES[file_dtype]).astype(NP_DTYPE) for k, v in tensors.items()}
    net = Net(sizes, acts, float(np.array(slope, dtype=NP_DTYPE))).to(TORCH_DTYPE)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in stored.items()}, strict=True)
    got = torch_predict(net, x, {})
    return [] if close(got, y) else ["predictions differ: max |diff| %g" % np.max(np.abs(got - y))]


CASES = [
    ("relu_softmax", [5, 8, 4], ["relu", "softmax"], {"norm": 1}),
    ("tanh_sigmoid", [3, 6, 5, 1], ["tanh", "tanh", "sigmoid"], {}),
    ("leaky_identity", [4, 7, 2], ["leaky_relu", "identity"], {"slope": 0.1}),
    ("mixed_deep", [6, 10, 9, 8, 3], ["sigmoid", "leaky_relu", "softmax", "identity"], {"norm": 1}),
    ("wide", [32, 64, 10], ["relu", "softmax"], {"n": 300}),
]


def main():
    torch.set_num_threads(1)
    ok = failed = 0
    precision = "float64" if DOUBLE else "float32"
    with tempfile.TemporaryDirectory(prefix="bp_torch_") as tmp:
        runs = [("c_to_torch_" + name, lambda s=sizes, a=acts, k=kw, nm=name:
                 check_c_to_torch(tmp, nm, s, a, **k)) for name, sizes, acts, kw in CASES]
        for dtype in ("F32", "F64"):
            runs.append(("torch_to_c_%s_tanh_softmax" % dtype.lower(), lambda d=dtype:
                         check_torch_to_c(tmp, "t2c_" + d, [4, 9, 3], ["tanh", "softmax"], d)))
            runs.append(("torch_to_c_%s_leaky_sigmoid" % dtype.lower(), lambda d=dtype:
                         check_torch_to_c(tmp, "t2c2_" + d, [3, 5, 5, 2],
                                          ["leaky_relu", "relu", "sigmoid"], d, slope=0.2)))
        for name, fn in runs:
            try:
                problems = fn()
            except Exception as e:  # a crash of the tool or a parse error is a failure
                problems = ["%s: %s" % (type(e).__name__, e)]
            for p in problems:
                print("  %s: %s" % (name, p), file=sys.stderr)
            print("%s %s" % ("FAIL" if problems else "ok  ", name))
            ok, failed = ok + (not problems), failed + bool(problems)
    print("cases: %d ok, %d failed (test_torch_model.py, %s)" % (ok, failed, precision))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
