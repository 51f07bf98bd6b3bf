#!/usr/bin/env python3
"""conform.py - backprop against PyTorch on the same weights, data and order.

For each case this script draws the initial weights and the data, writes the
weights as a backprop model file (safetensors, docs/FORMAT.md) and the data as
raw float64, runs the C driver ($BP_BUILD/tests/reference_driver, built from
tests/reference/driver.c) on them, does the same computation in PyTorch (in the
build's precision: float32 or float64), and compares:

  pass   outputs and loss of one forward pass over the whole data set, and the
         gradient of every weight and bias;
  train  each epoch's mean training loss, the optimizer step count, every
         parameter after >= 100 optimizer steps, and the outputs and loss of a
         forward pass with the trained parameters. Mini-batches are taken in
         file order, or in the order the trainer shuffled them (the driver
         prints it), the last partial one included, exactly as
         bp_trainer_epoch cuts them. torch.optim does the steps, after
         torch.nn.utils.clip_grad_norm_ when clipping is on; the notes'
         bias-corrected momentum and eps-inside-the-root Adam, which PyTorch
         does not have, are a few lines of NumPy from ../shared/seeds/003.

Error of a compared tensor (output, loss, a gradient, a parameter, the epoch
losses), with b PyTorch's value and a backprop's:

    err = max_i |a_i - b_i| / max(max_i |b_i|, 1e-12)

i.e. the max-norm relative error. A case's error is the largest over its
tensors; it must not exceed 1e-9 (pass) / 1e-7 (train) in float64 and 1e-5 /
1e-4 in float32. Prints "ok NAME" or "FAIL NAME" with the error per case, the
largest error per kind, and "cases: P ok, F failed"; exits 1 on any failure.
"""
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from safetensors_io import write_model_file  # noqa: E402
import torch.nn.functional as F

BUILD = os.environ.get("BP_BUILD", "build/float")
DRIVER = os.path.join(BUILD, "tests", "reference_driver")
FLOOR = 1e-12


def driver(*args):
    r = subprocess.run([DRIVER, *map(str, args)], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("%s failed (%d): %s" % (DRIVER, r.returncode, r.stderr.strip()))
    return r.stdout


try:
    DOUBLE = driver("real").strip() == "8"
except (OSError, RuntimeError) as e:
    print("FAIL %s: %s" % (DRIVER, e))
    print("cases: 0 ok, 1 failed (test_conformance.py)")
    sys.exit(1)

NP = np.float64 if DOUBLE else np.float32
TORCH = torch.float64 if DOUBLE else torch.float32
PRECISION = "float64" if DOUBLE else "float32"
TOL = {"pass": 1e-9, "train": 1e-7} if DOUBLE else {"pass": 1e-5, "train": 1e-4}


# ------------------------------------------------------------------ a case

class Case:
    """A network, its initial weights and its data set."""

    def __init__(self, name, sizes, acts, loss, targets, n=24, slope=0.01, seed=1,
                 scale=1.0, dead=0):
        self.name, self.sizes, self.acts, self.loss, self.n = name, sizes, acts, loss, n
        self.exact_loss = None
        self.slope = float(NP(slope))  # what the C side holds after reading the file
        rng = np.random.default_rng(seed)
        self.weights = []
        for l, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
            w = rng.normal(0, 1 / math.sqrt(i), (o, i))
            b = rng.normal(0, 0.2, o)
            if l == len(sizes) - 2:  # scale: push the output logits out (extreme cases)
                w, b = w * scale, b * scale
            if l == 0:               # dead: units whose pre-activation is exactly 0
                w[:dead], b[:dead] = 0, 0
            self.weights.append((w.astype(NP), b.astype(NP)))
        k = sizes[-1]
        self.x = rng.uniform(-1, 1, (n, sizes[0])).astype(NP)
        if targets == "onehot":      # a class per sample
            y = np.eye(k)[rng.integers(0, k, n)]
        elif targets == "probs":     # a probability distribution per sample
            y = rng.uniform(0, 1, (n, k))
            y /= y.sum(1, keepdims=True)
        elif targets == "binary":    # 0/1 per output (multi-label)
            y = rng.integers(0, 2, (n, k)).astype(float)
        elif targets == "uniform":   # any value in [0, 1) (mse, soft bce, unnormalized xent)
            y = rng.uniform(0, 1, (n, k))
        elif targets == "zeros":
            y = np.zeros((n, k))
        else:
            raise ValueError(targets)
        self.y = y.astype(NP)

    def write(self, tmp):
        """The model file and the data file the driver reads."""
        model, data = os.path.join(tmp, "model.safetensors"), os.path.join(tmp, "data.bin")
        tensors = {}
        for l, (w, b) in enumerate(self.weights):
            tensors["layers.%d.weight" % l], tensors["layers.%d.bias" % l] = w, b
        meta = {"format": "backprop", "format_version": "1",
                "layer_sizes": ",".join(map(str, self.sizes)), "activations": ",".join(self.acts),
                "leaky_slope": repr(self.slope), "loss": self.loss, "init": "auto", "seed": "0"}
        write_model_file(model, meta, tensors, "F64" if DOUBLE else "F32")
        np.concatenate([self.x.ravel(), self.y.ravel()]).astype("<f8").tofile(data)
        return model, data

    def params(self):
        """Fresh torch leaf tensors of the initial weights: [W0, b0, W1, b1, ...]."""
        return [torch.tensor(t, dtype=TORCH, requires_grad=True) for wb in self.weights for t in wb]

    def forward(self, params, x):
        """(logits of the last layer, outputs)"""
        a = x
        for l, act in enumerate(self.acts):
            z = F.linear(a, params[2 * l], params[2 * l + 1])
            a = {"identity": lambda v: v, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
                 "relu": torch.relu, "leaky_relu": lambda v: F.leaky_relu(v, self.slope),
                 "softmax": lambda v: torch.softmax(v, dim=1)}[act](z)
        return z, a

    def loss_of(self, z, a, y):
        if self.loss == "mse":
            return F.mse_loss(a, y)
        if self.loss == "bce":
            return F.binary_cross_entropy_with_logits(z, y)
        return F.cross_entropy(z, y)  # y: probabilities (one-hot or soft)


def exact_case(name, act, loss, w, x, y, exact_loss):
    """One layer with weights w (zero bias) on data x, y, whose loss is known exactly."""
    c = Case(name, [len(w[0]), len(w)], [act], loss, "zeros", n=len(x))
    c.weights = [(np.array(w, dtype=NP), np.zeros(len(w), dtype=NP))]
    c.x, c.y, c.exact_loss = np.array(x, dtype=NP), np.array(y, dtype=NP), exact_loss
    return c


def parse(out):
    """The driver's "NAME v v ..." lines as {NAME: float64 array}."""
    res = {}
    for line in out.splitlines():
        name, *vals = line.split()
        res[name] = np.array([float(v) for v in vals])
    return res


def rel_err(a, b):
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        return math.inf
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return math.inf
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), FLOOR)) if a.size else 0.0


def compare(got, want):
    """{name: error} for each tensor of want; a missing one is an infinite error."""
    return {k: rel_err(got[k], v) if k in got else math.inf for k, v in want.items()}


def named(case, params, grads=False):
    out = {}
    for l in range(len(case.acts)):
        for j, kind in enumerate(("weight", "bias")):
            t = params[2 * l + j]
            out["layers.%d.%s%s" % (l, kind, ".grad" if grads else "")] = \
                (t.grad if grads else t).detach().numpy()
    return out


# ----------------------------------------------------------- single passes

def run_pass(case, tmp):
    got = parse(driver("pass", *case.write(tmp), case.n))
    p = case.params()
    x, y = torch.from_numpy(case.x), torch.from_numpy(case.y)
    z, a = case.forward(p, x)
    loss = case.loss_of(z, a, y)
    loss.backward()
    want = {"out": a.detach().numpy(), "loss": loss.item()}
    want.update(named(case, p, grads=True))
    errs = compare(got, want)
    if case.exact_loss is not None:  # both must hit it exactly, not merely agree
        errs["loss != %g" % case.exact_loss] = 0.0 if got["loss"][0] == loss.item() == \
            case.exact_loss else math.inf
    zmax = float(z.detach().abs().max())
    return errs, "max |logit| %.1e, loss %.6g" % (zmax, loss.item()) if zmax > 100 else ""


# ----------------------------------------------------------------- training

class NotesMomentum:
    """seeds/003: m ← β m − (1 − β) ∇J;  m̂ = m / (1 − βᵗ);  w ← w + α m̂."""

    def __init__(self, params, lr, momentum, weight_decay=0.0, **_):
        self.p, self.lr, self.beta, self.wd, self.t = params, lr, momentum, weight_decay, 0
        self.m = [np.zeros_like(q.detach().numpy()) for q in params]

    def step(self):
        self.t += 1
        for q, m in zip(self.p, self.m):
            w, g = q.detach().numpy(), q.grad.numpy()  # views: w is updated in place
            g = g + self.wd * w                         # coupled L2, as backprop's weight_decay
            m[...] = self.beta * m - (1 - self.beta) * g
            w += self.lr * (m / (1 - self.beta ** self.t))


class NotesAdam:
    """seeds/003: m ← β₁m − (1−β₁)∇J;  s ← β₂s + (1−β₂)(∇J)²;  m̂ = m/(1−β₁ᵗ);
    ŝ = s/(1−β₂ᵗ);  w ← w + α m̂ / √(ŝ + ε)  (ε inside the root)."""

    def __init__(self, params, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, **_):
        self.p, self.lr, self.b1, self.b2, self.eps, self.wd, self.t = \
            params, lr, beta1, beta2, eps, weight_decay, 0
        self.m = [np.zeros_like(q.detach().numpy()) for q in params]
        self.s = [np.zeros_like(q.detach().numpy()) for q in params]

    def step(self):
        self.t += 1
        for q, m, s in zip(self.p, self.m, self.s):
            w, g = q.detach().numpy(), q.grad.numpy()
            g = g + self.wd * w
            m[...] = self.b1 * m - (1 - self.b1) * g
            s[...] = self.b2 * s + (1 - self.b2) * g * g
            m_hat, s_hat = m / (1 - self.b1 ** self.t), s / (1 - self.b2 ** self.t)
            w += self.lr * m_hat / np.sqrt(s_hat + self.eps)


def make_optimizer(opt, params, o):
    if not o:  # torch's defaults, which bp_optim_config_default claims to copy
        return {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
                "rmsprop": torch.optim.RMSprop}[opt](params)
    wd = o.get("weight_decay", 0.0)
    if opt == "notes-momentum":
        return NotesMomentum(params, **o)
    if opt == "adam" and o.get("eps_inside_sqrt"):
        return NotesAdam(params, **o)
    if opt in ("sgd", "momentum", "nesterov"):
        return torch.optim.SGD(params, lr=o["lr"], momentum=0 if opt == "sgd" else o["momentum"],
                               nesterov=opt == "nesterov", weight_decay=wd)
    if opt in ("adam", "adamw"):
        cls = torch.optim.Adam if opt == "adam" else torch.optim.AdamW
        return cls(params, lr=o["lr"], betas=(o.get("beta1", 0.9), o.get("beta2", 0.999)),
                   eps=o.get("eps", 1e-8), weight_decay=wd)
    if opt == "rmsprop":
        return torch.optim.RMSprop(params, lr=o["lr"], alpha=o.get("alpha", 0.99),
                                   eps=o.get("eps", 1e-8), weight_decay=wd,
                                   momentum=o.get("momentum", 0.0))
    raise ValueError(opt)


def run_train(case, tmp, opt, batch, shuffle_seed=None, min_steps=100, **o):
    """Trains for the fewest whole epochs that make >= min_steps steps, in the
    samples' order, or in the order the driver says the trainer shuffled them."""
    per_epoch = -(-case.n // batch)
    epochs = -(-min_steps // per_epoch)
    keys = ["opt=" + opt, "batch=%d" % batch, "epochs=%d" % epochs]
    keys += ["%s=%r" % kv for kv in o.items()]
    if shuffle_seed is not None:
        keys += ["shuffle=1", "seed=%d" % shuffle_seed]
    got = parse(driver("train", *case.write(tmp), case.n, *keys))
    p = case.params()
    optim = make_optimizer(opt, p, o)
    x, y = torch.from_numpy(case.x), torch.from_numpy(case.y)
    epoch_loss, steps, clipped = [], 0, 0
    errs = {}
    for e in range(epochs):
        order = np.arange(case.n)
        if shuffle_seed is not None:
            order = got.get("order.%d" % e, np.zeros(0)).astype(int)
            if sorted(order) != list(range(case.n)):
                errs["order.%d is not a permutation" % e] = math.inf
                break
        xe, ye, total = x[order], y[order], 0.0
        for s in range(0, case.n, batch):
            for q in p:
                q.grad = None
            z, a = case.forward(p, xe[s:s + batch])
            loss = case.loss_of(z, a, ye[s:s + batch])
            loss.backward()
            if o.get("clip_norm"):
                norm = torch.nn.utils.clip_grad_norm_(p, o["clip_norm"])
                clipped += bool(norm > o["clip_norm"])
            with torch.no_grad():
                optim.step()
            steps += 1
            total += loss.item() * len(xe[s:s + batch])
        epoch_loss.append(total / case.n)
    with torch.no_grad():
        z, a = case.forward(p, x)
        loss = case.loss_of(z, a, y)
    want = {"epoch_loss": epoch_loss, "steps": steps, "out": a.numpy(), "loss": loss.item()}
    want.update(named(case, p))
    errs.update(compare(got, want))
    if "steps" in got and got["steps"][0] != steps:
        errs["steps"] = math.inf
    note = ""
    if o.get("clip_norm"):
        note = "clipped %d/%d steps" % (clipped, steps)
        if clipped < steps // 10:  # the case must exercise clipping to test it
            errs["clipping never engaged"] = math.inf
    return errs, note


# -------------------------------------------------------------------- cases

def pass_cases():
    C = Case
    return [
        # every activation, as hidden layer and as output
        C("identity_mse", [5, 7, 3], ["identity", "identity"], "mse", "uniform"),
        C("sigmoid_mse", [5, 8, 2], ["sigmoid", "sigmoid"], "mse", "uniform"),
        C("tanh_mse", [4, 6, 6, 2], ["tanh", "tanh", "identity"], "mse", "uniform"),
        C("relu_mse", [6, 9, 4], ["relu", "relu"], "mse", "uniform"),
        C("leaky_relu_0.2_mse", [5, 8, 7, 3], ["leaky_relu", "leaky_relu", "leaky_relu"], "mse",
          "uniform", slope=0.2),
        C("softmax_out_mse", [4, 5, 3], ["tanh", "softmax"], "mse", "uniform"),
        C("softmax_hidden_bce", [4, 6, 5, 2], ["relu", "softmax", "sigmoid"], "bce", "binary"),
        # every loss and kind of target
        C("bce_binary", [5, 6, 3], ["relu", "sigmoid"], "bce", "binary"),
        C("bce_soft", [5, 6, 3], ["tanh", "sigmoid"], "bce", "uniform"),
        C("xent_onehot", [6, 10, 8, 4], ["relu", "tanh", "softmax"], "xent", "onehot"),
        C("xent_probs", [6, 10, 4], ["leaky_relu", "softmax"], "xent", "probs", slope=0.3),
        C("xent_unnormalized", [6, 7, 5], ["sigmoid", "softmax"], "xent", "uniform"),
        # extreme logits: |z| beyond 1e4, where the loss must stay finite and exact
        C("xent_logits_1e4", [4, 3], ["softmax"], "xent", "onehot", scale=1.5e4),
        C("xent_probs_logits_1e4", [4, 6, 5], ["tanh", "softmax"], "xent", "probs", scale=1.5e4),
        C("bce_logits_1e4", [4, 6, 3], ["relu", "sigmoid"], "bce", "binary", scale=1.5e4),
        C("softmax_mse_logits_1e4", [4, 3], ["softmax"], "mse", "onehot", scale=1.5e4),
        # logits exactly (1e4, -1e4, 0): per-sample losses 0, 2e4, 1e4, mean 1e4
        exact_case("xent_exact_1e4", "softmax", "xent", [[1e4], [-1e4], [0]], [[1], [1], [1]],
                   np.eye(3), 1e4),
        # logits exactly (1e4, -1e4): elementwise losses 0, 1e4, 1e4, 0, mean 5e3
        exact_case("bce_exact_1e4", "sigmoid", "bce", [[1e4], [-1e4]], [[1], [1]],
                   [[1, 1], [0, 0]], 5e3),
        # depth 1 to 5, different widths; batch of one sample
        C("depth1", [7, 3], ["softmax"], "xent", "onehot"),
        C("depth4", [3, 12, 5, 7, 2], ["sigmoid", "relu", "tanh", "sigmoid"], "bce", "binary"),
        C("depth5", [8, 16, 12, 9, 6, 4], ["relu", "tanh", "leaky_relu", "sigmoid", "softmax"],
          "xent", "onehot"),
        C("wide", [32, 64, 10], ["relu", "softmax"], "xent", "onehot", n=100),
        C("batch1", [5, 6, 2], ["tanh", "sigmoid"], "bce", "binary", n=1),
        C("mnist_shape", [784, 64, 10], ["relu", "softmax"], "xent", "onehot", n=128),
        # relu and leaky relu at exactly z = 0 (both take the z < 0 side's slope there)
        C("relu_at_zero", [5, 6, 3], ["relu", "identity"], "mse", "uniform", dead=3),
        C("leaky_relu_at_zero", [5, 6, 3], ["leaky_relu", "identity"], "mse", "uniform",
          slope=0.1, dead=3),
    ]


TRAIN_NETS = [  # the clip_norm of each: below the gradient norm on a good share of the steps
    lambda s: Case("xent", [6, 10, 8, 4], ["tanh", "relu", "softmax"], "xent", "onehot", seed=s),
    lambda s: Case("bce", [5, 9, 3], ["leaky_relu", "sigmoid"], "bce", "binary", slope=0.2, seed=s),
    lambda s: Case("mse", [4, 8, 6, 2], ["sigmoid", "tanh", "identity"], "mse", "uniform", seed=s),
]

CLIP = {"xent": 0.5, "bce": 0.1, "mse": 0.3}

OPTIMIZERS = [  # hyperparameters: large enough that 100 steps move the weights far
    ("sgd", {"lr": 0.1}),
    ("momentum", {"lr": 0.05, "momentum": 0.9}),
    ("nesterov", {"lr": 0.05, "momentum": 0.9}),
    ("adam", {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    ("adamw", {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    ("rmsprop", {"lr": 0.005, "alpha": 0.99, "eps": 1e-8}),
]


def train_cases():
    """(name, case, optimizer, batch, options)"""
    out = []
    # every optimizer with and without weight decay and clipping, on 24 samples
    # in batches of 7 (the last has 3), the net rotating over the three losses
    for i, (opt, o) in enumerate(OPTIMIZERS):
        for j, (wd, clip) in enumerate([(0, 0), (0.05, 0), (0, 1), (0.05, 1)]):
            net = TRAIN_NETS[(i + j) % 3](10 * i + j)
            clip *= CLIP[net.name]
            name = "%s_%s%s%s" % (opt, net.name, "_wd" if wd else "", "_clip" if clip else "")
            out.append((name, net, opt, 7, dict(o, weight_decay=wd, clip_norm=clip)))
    out.append(("rmsprop_momentum_xent", TRAIN_NETS[0](70), "rmsprop", 7,
                {"lr": 0.002, "alpha": 0.9, "eps": 1e-6, "momentum": 0.5}))
    # the notes' optimizers against NumPy
    # (eps 1e-3 makes the root's argument matter: eps outside it would fail the case)
    for j, (wd, clip) in enumerate([(0, 0), (0.05, 1)]):
        sfx = "_wd_clip" if wd else ""
        net = TRAIN_NETS[j](80 + j)
        out.append(("notes-momentum_%s%s" % (net.name, sfx), net, "notes-momentum", 7,
                    {"lr": 0.05, "momentum": 0.9, "weight_decay": wd,
                     "clip_norm": clip * CLIP[net.name]}))
        net = TRAIN_NETS[j + 1](90 + j)
        out.append(("adam-eps-inside-sqrt_%s%s" % (net.name, sfx), net, "adam", 7,
                    {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-3 if not wd else 1e-6,
                     "eps_inside_sqrt": 1, "weight_decay": wd, "clip_norm": clip * CLIP[net.name]}))
    # batch sizes: 1 (SGD), a divisor of n, a non-divisor (partial last batch), n (full batch)
    for b in (1, 6, 7, 24):
        out.append(("batch%d_momentum_xent" % b, TRAIN_NETS[0](100 + b), "momentum", b,
                    {"lr": 0.02, "momentum": 0.9}))
        out.append(("batch%d_adam_mse" % b, TRAIN_NETS[2](110 + b), "adam", b, {"lr": 0.01}))
    # clipping when the gradient norm is ~1e-6 (outputs ~1e-6, targets 0), where the
    # "+ 1e-6" in clip_grad_norm_'s max_norm / (norm + 1e-6) halves the step
    out.append(("sgd_clip_tiny_grads", Case("tiny", [5, 8, 3], ["tanh", "identity"], "mse",
                                            "zeros", seed=130, scale=1e-6), "sgd", 6,
                {"lr": 0.1, "clip_norm": 1e-7}))
    out.append(("batch30_over_n_adam_xent", TRAIN_NETS[0](131), "adam", 30, {"lr": 0.01}))
    out.append(("wide_adam_xent", Case("wide", [32, 64, 10], ["relu", "softmax"], "xent",
                                       "onehot", n=100, seed=132), "adam", 16, {"lr": 0.003}))
    # shuffled by the trainer (the driver prints each epoch's order)
    out.append(("shuffled_batch5_adam_xent", TRAIN_NETS[0](140), "adam", 5,
                {"lr": 0.01, "shuffle_seed": 42}))
    out.append(("shuffled_batch1_sgd_bce", TRAIN_NETS[1](141), "sgd", 1,
                {"lr": 0.1, "shuffle_seed": 7}))
    # the defaults of bp_optim_config_default against torch.optim's own
    for opt in ("adam", "adamw", "rmsprop"):
        out.append((opt + "_defaults", TRAIN_NETS[2](150), opt, 7, {}))
    # depth 1 and 5
    out.append(("depth1_adam_xent", Case("d1", [7, 3], ["softmax"], "xent", "onehot", seed=120),
                "adam", 7, {"lr": 0.01}))
    out.append(("depth5_adam_xent", Case("d5", [8, 16, 12, 9, 6, 4],
                                         ["relu", "tanh", "leaky_relu", "sigmoid", "softmax"],
                                         "xent", "onehot", seed=121), "adam", 7, {"lr": 0.01}))
    return out


# --------------------------------------------------------------------- main

def main():
    torch.set_num_threads(1)
    torch.set_default_dtype(TORCH)
    ok = failed = 0
    worst = {"pass": (0.0, ""), "train": (0.0, "")}
    runs = [("pass", "pass_" + c.name, lambda c=c, t=None: run_pass(c, t)) for c in pass_cases()]
    runs += [("train", "train_" + name, lambda c=c, opt=opt, b=b, o=o, t=None:
              run_train(c, t, opt, b, **o)) for name, c, opt, b, o in train_cases()]
    with tempfile.TemporaryDirectory(prefix="bp_conform_") as tmp:
        for kind, name, fn in runs:
            try:
                errs, note = fn(t=tmp)
            except Exception as e:  # a driver failure or a crash is a failed case
                errs, note = {"%s: %s" % (type(e).__name__, e): math.inf}, ""
            key = max(errs, key=errs.get)
            err = errs[key]
            bad = not err <= TOL[kind]
            print("%s %-36s err %.2e (tol %.0e, worst %s)%s" % (
                "FAIL" if bad else "ok  ", name, err, TOL[kind], key, "  " + note if note else ""))
            if err > worst[kind][0]:
                worst[kind] = (err, name)
            ok, failed = ok + (not bad), failed + bad
    for kind in ("pass", "train"):
        print("largest %s error (%s): %.2e in %s" % (kind, PRECISION, *worst[kind]))
    print("cases: %d ok, %d failed (test_conformance.py, %s)" % (ok, failed, PRECISION))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
