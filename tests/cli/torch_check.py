"""torch_check.py BACKPROP MODEL DATA.csv - a model trained by `backprop train`
opens in PyTorch as docs/FORMAT.md says (torch.nn.Linear layers, strict
load_state_dict, the normalization tensors applied first) and gives the
probabilities `backprop predict` writes. Exit 0 when they agree, 1 when they
do not, 77 when PyTorch is not installed."""
import csv
import io
import json
import struct
import subprocess
import sys
import zlib

try:
    import torch
except ImportError:
    sys.exit(77)

backprop, model_path, data_path = sys.argv[1:4]

b = open(model_path, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
header = json.loads(b[8:8 + n])
meta, data = header.pop("__metadata__"), b[8 + n:]
assert meta["checksum"] == "crc32:%08x" % zlib.crc32(data), "checksum"
dtype = {"F32": torch.float32, "F64": torch.float64}[header["layers.0.weight"]["dtype"]]
t = {}
for name, e in header.items():
    lo, hi = e["data_offsets"]
    fmt = {"F32": "f", "F64": "d"}[e["dtype"]]
    vals = struct.unpack("<%d%s" % ((hi - lo) // struct.calcsize(fmt), fmt), data[lo:hi])
    t[name] = torch.tensor(vals, dtype=dtype).reshape(e["shape"])

sizes = [int(s) for s in meta["layer_sizes"].split(",")]
acts = {"identity": torch.nn.Identity(), "relu": torch.nn.ReLU(), "tanh": torch.nn.Tanh(),
        "sigmoid": torch.nn.Sigmoid(), "softmax": torch.nn.Softmax(dim=1),
        "leaky_relu": torch.nn.LeakyReLU(float(meta["leaky_slope"]))}
net = torch.nn.Module()
net.layers = torch.nn.ModuleList(torch.nn.Linear(i, o) for i, o in zip(sizes, sizes[1:])).to(dtype)
net.load_state_dict({k: v for k, v in t.items() if k.startswith("layers.")}, strict=True)

rows = list(csv.reader(open(data_path)))[1:]
x = torch.tensor([[float(v) for v in r[:sizes[0]]] for r in rows], dtype=dtype)
if "normalization.shift" in t:
    x = (x - t["normalization.shift"]) * t["normalization.scale"]
with torch.no_grad():
    for layer, a in zip(net.layers, meta["activations"].split(",")):
        x = acts[a](layer(x))

out = subprocess.check_output([backprop, "predict", "--model", model_path, "--data", data_path])
pred = list(csv.reader(io.StringIO(out.decode())))
labels = json.loads(meta["labels"])
assert pred[0] == ["label"] + ["prob_" + l for l in labels], pred[0]
got = torch.tensor([[float(v) for v in r[1:]] for r in pred[1:]], dtype=dtype)
err = (got - x).abs().max().item()
tol = 1e-12 if dtype == torch.float64 else 1e-6
assert err <= tol, "largest difference %g" % err
assert [r[0] for r in pred[1:]] == [labels[i] for i in x.argmax(dim=1).tolist()], "labels"
print("PyTorch agrees with backprop predict on %d samples (largest difference %g)" % (len(rows), err))
