"""eval_check.py BACKPROP MODEL DATA.csv [--known] - recomputes what
`backprop eval --json` reports (loss, accuracy, confusion, precision, recall)
from the model file and the CSV alone, in plain Python (the model read as
docs/FORMAT.md describes it), and compares. With --known the model is
tests/cli/make_data.py's hand-made known.st and the figures are also checked
against values worked out by hand. Exits non-zero on any difference."""
import csv
import json
import math
import struct
import subprocess
import sys

backprop, model_path, data_path = sys.argv[1:4]


def read_model(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    meta, data = header.pop("__metadata__"), b[8 + n:]
    tensors = {}
    for name, t in header.items():
        lo, hi = t["data_offsets"]
        fmt = {"F32": "f", "F64": "d"}[t["dtype"]]
        tensors[name] = struct.unpack("<%d%s" % ((hi - lo) // struct.calcsize(fmt), fmt), data[lo:hi])
    return meta, tensors


def act(name, z, slope):
    if name == "softmax":
        m = max(z)
        e = [math.exp(v - m) for v in z]
        return [v / sum(e) for v in e]
    f = {"identity": lambda v: v, "sigmoid": lambda v: 1 / (1 + math.exp(-v)), "tanh": math.tanh,
         "relu": lambda v: max(v, 0.0), "leaky_relu": lambda v: v if v > 0 else slope * v}[name]
    return [f(v) for v in z]


def forward(meta, t, x):
    sizes = [int(s) for s in meta["layer_sizes"].split(",")]
    acts = meta["activations"].split(",")
    if "normalization.shift" in t:
        x = [(v - s) * c for v, s, c in zip(x, t["normalization.shift"], t["normalization.scale"])]
    z = x
    for l in range(len(sizes) - 1):
        w, b = t["layers.%d.weight" % l], t["layers.%d.bias" % l]
        n_in, n_out = sizes[l], sizes[l + 1]
        z = [sum(w[o * n_in + i] * x[i] for i in range(n_in)) + b[o] for o in range(n_out)]
        x = act(acts[l], z, float(meta["leaky_slope"]))
    return z, x  # logits and outputs of the last layer


def xent(z, k):
    m = max(z)
    return m + math.log(sum(math.exp(v - m) for v in z)) - z[k]


def expected(meta, t, rows, labels):
    c = len(labels)
    confusion = [[0] * c for _ in range(c)]
    loss = 0.0
    for r in rows:
        z, a = forward(meta, t, [float(v) for v in r[:-1]])
        k = labels.index(r[-1])
        loss += xent(z, k)
        confusion[k][a.index(max(a))] += 1
    n = len(rows)
    return loss / n, sum(confusion[i][i] for i in range(c)) / n, confusion


def main():
    meta, t = read_model(model_path)
    assert meta["loss"] == "xent", "this check covers softmax classifiers"
    labels = json.loads(meta["labels"])
    rows = list(csv.reader(open(data_path)))[1:]
    loss, acc, confusion = expected(meta, t, rows, labels)
    got = json.loads(subprocess.check_output([backprop, "eval", "--model", model_path, "--data",
                                              data_path, "--json"]))
    assert abs(got["loss"] - loss) <= 1e-5 * max(1, loss), (got["loss"], loss)
    assert abs(got["accuracy"] - acc) < 1e-9, (got["accuracy"], acc)
    assert got["confusion"] == confusion, (got["confusion"], confusion)
    for i, cl in enumerate(got["classes"]):
        tp, pred, real = confusion[i][i], sum(r[i] for r in confusion), sum(confusion[i])
        assert cl["label"] == labels[i] and cl["support"] == real, cl
        assert abs(cl["precision"] - (tp / pred if pred else 0)) < 1e-9, cl
        assert abs(cl["recall"] - (tp / real if real else 0)) < 1e-9, cl
    if "--known" in sys.argv:
        # scores (x, y, 1 - x - y): samples 4 and 6 are misclassified
        assert confusion == [[1, 1, 0], [1, 1, 0], [0, 0, 2]], confusion
        assert abs(got["accuracy"] - 4 / 6) < 1e-9
        hand = (xent([2, 0, -1], 0) + xent([0, 2, -1], 1) + xent([-1, -1, 3], 2) +
                xent([1.5, 0, -0.5], 1) + xent([0, 0, 1], 2) + xent([0, 3, -2], 0)) / 6
        assert abs(got["loss"] - hand) < 1e-6, (got["loss"], hand)
        assert [c["precision"] for c in got["classes"]] == [0.5, 0.5, 1.0], got["classes"]
    print("eval agrees: loss %.6f accuracy %.4f on %d samples" % (loss, acc, len(rows)))


main()
