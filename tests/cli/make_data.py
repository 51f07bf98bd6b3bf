"""make_data.py DIR - the small data sets tests/test_cli.sh runs on, written
into DIR: CSVs (classes, regression, binary, broken ones), IDX files, a
hand-made model file with known weights, and a 600/100-image copy of
Fashion-MNIST when the Debian package is installed. Standard library only."""
import gzip
import json
import os
import random
import struct
import sys
import zlib

D = sys.argv[1]
rng = random.Random(7)
SPECIES = ["setosa", "versicolor", "virginica"]


def write(name, text):
    with open(os.path.join(D, name), "w") as f:
        f.write(text)


def iris_rows(n):
    rows = []
    for _ in range(n):
        c = rng.randrange(3)
        rows.append(["%.3f" % rng.gauss(c * 1.5 + j * 0.3, 0.6) for j in range(4)] + [SPECIES[c]])
    return rows


def csv(header, rows):
    return ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows)


train, test = iris_rows(240), iris_rows(60)
write("iris.csv", csv(["a", "b", "c", "d", "species"], train))
write("iris_test.csv", csv(["a", "b", "c", "d", "species"], test))
write("iris_inputs.csv", csv(["a", "b", "c", "d"], [r[:4] for r in test]))
write("iris_narrow.csv", csv(["a", "b", "species"], [r[:2] + r[4:] for r in test]))
bad = [r[:] for r in test[:5]]
bad[3][4] = "daisy"
write("iris_bad_label.csv", csv(["a", "b", "c", "d", "species"], bad))

reg = []
for _ in range(200):
    x = [rng.uniform(-1, 1) for _ in range(3)]
    reg.append(["%.4f" % v for v in x] + ["%.4f" % (2 * x[0] - x[1] + 0.5 * x[2] + rng.gauss(0, 0.05))])
write("reg.csv", csv(["x1", "x2", "x3", "y"], reg))

binary = []
for _ in range(160):
    u, v = rng.uniform(-1, 1), rng.uniform(-1, 1)
    binary.append(["%.3f" % u, "%.3f" % v, "yes" if u + v > 0 else "no"])
write("binary.csv", csv(["u", "v", "answer"], binary))
write("target_first.csv", csv(["kind", "u", "v"], [[r[2], r[0], r[1]] for r in binary[:40]]))
write("noheader.csv", "".join("%s,%s,%d\n" % (r[0], r[1], r[2] == "yes") for r in binary[:40]))

write("ragged.csv", "a,b,y\n1,2,x\n3,4\n")
write("notnum.csv", "a,b,y\n1,2,no\n3,abc,yes\n")
write("nan.csv", "a,b,y\nnan,2,no\n1,2,yes\n")
write("empty.csv", "")
write("header.csv", "a,b,y\n")


def idx(path, dims, data, gz):
    head = struct.pack(">BBBB", 0, 0, 8, len(dims)) + b"".join(struct.pack(">I", d) for d in dims)
    opener = gzip.open if gz else open
    with opener(os.path.join(D, path), "wb") as f:
        f.write(head + bytes(data))


# 8x8 images: class c lights up quadrant c, over noise.
labels, pixels = [], []
for _ in range(400):
    c = rng.randrange(4)
    labels.append(c)
    for y in range(8):
        for x in range(8):
            on = (y // 4) * 2 + (x // 4) == c
            pixels.append(min(255, max(0, int(rng.gauss(180 if on else 40, 30)))))
idx("imgs.idx.gz", [400, 8, 8], pixels, True)
idx("labels.idx", [400], labels, False)


def safetensors(path, tensors, meta):
    """A model file written by hand, following docs/FORMAT.md."""
    data, header, off = b"", {}, 0
    for name, shape, values in tensors:
        raw = struct.pack("<%dd" % len(values), *values)
        header[name] = {"dtype": "F64", "shape": shape, "data_offsets": [off, off + len(raw)]}
        data += raw
        off += len(raw)
    meta = dict(meta, checksum="crc32:%08x" % zlib.crc32(data))
    h = json.dumps(dict({"__metadata__": meta}, **header), separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(D, path), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


# A 2-3 softmax classifier with known weights: class scores x, y and 1 - x - y.
safetensors("known.st", [("layers.0.weight", [3, 2], [1, 0, 0, 1, -1, -1]),
                         ("layers.0.bias", [3], [0, 0, 1])],
            {"format": "backprop", "format_version": "1", "layer_sizes": "2,3",
             "activations": "softmax", "leaky_slope": "0.01", "loss": "xent", "init": "auto",
             "seed": "0", "labels": json.dumps(["red", "green", "blue"])})
write("known.csv", "x,y,colour\n2,0,red\n0,2,green\n-1,-1,blue\n1.5,0,green\n0,0,blue\n0,3,red\n")

# Fashion-MNIST, cut to 600 training and 100 test images.
src = "/usr/share/datasets/fashion-mnist"
if os.path.isdir(src):
    os.makedirs(os.path.join(D, "datasets", "fashion-mnist"))
    for part, n in (("train", 600), ("t10k", 100)):
        for kind, head, size in (("images-idx3", 16, 784), ("labels-idx1", 8, 1)):
            name = "%s-%s-ubyte.gz" % (part, kind)
            with gzip.open(os.path.join(src, name)) as f:
                h = bytearray(f.read(head))
                body = f.read(n * size)
            h[4:8] = struct.pack(">I", n)
            with gzip.open(os.path.join(D, "datasets", "fashion-mnist", name), "wb") as f:
                f.write(bytes(h) + body)
