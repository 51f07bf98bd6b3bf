"""compare.py A B [BOUND] - how far the parameters of model file A are from
those of B (both safetensors files as docs/FORMAT.md describes, F32 or F64):
prints the largest relative difference |a - b| / max(|a|, |b|, 1e-3) over all
parameters, the largest absolute difference and ||a - b|| / ||b||. With
BOUND, exits 1 when the largest relative difference exceeds it."""
import json
import math
import struct
import sys


def params(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    header.pop("__metadata__", None)
    data, out = b[8 + n:], {}
    for name, t in header.items():
        lo, hi = t["data_offsets"]
        fmt = {"F32": "f", "F64": "d"}[t["dtype"]]
        out[name] = struct.unpack("<%d%s" % ((hi - lo) // struct.calcsize(fmt), fmt), data[lo:hi])
    return out


a, b = params(sys.argv[1]), params(sys.argv[2])
if sorted(a) != sorted(b) or any(len(a[k]) != len(b[k]) for k in a):
    sys.exit("compare.py: the models have different tensors")
rel = absd = dd = bb = 0.0
for k in a:
    for x, y in zip(a[k], b[k]):
        d = abs(x - y)
        rel = max(rel, d / max(abs(x), abs(y), 1e-3))
        absd = max(absd, d)
        dd += d * d
        bb += y * y
print("max_rel %.3g max_abs %.3g norm_rel %.3g" % (rel, absd, math.sqrt(dd / bb) if bb else 0))
if len(sys.argv) > 3 and rel > float(sys.argv[3]):
    sys.exit(1)
