#!/usr/bin/env python3
"""test_frozen_torch.py - `backprop train --train-layers K` (the trainer's
bp_train_config.train_layers) against PyTorch, for the build in $BP_BUILD.

Each case starts from one model file (`backprop init`), trains it with the CLI
for a few epochs of fixed mini-batches (--no-shuffle, no normalization), and
trains the same weights in PyTorch on the same batches:
  - full training in which the frozen layers' learning rate is 0 (one
    parameter group per layer, torch.optim's own per-group lr), the issue's
    definition of frozen;
  - for gradient clipping, requires_grad=False on the frozen layers, so that
    clip_grad_norm_ sees the trained gradient only, as the library documents.
Every layer's weights and biases of the saved model must agree: relative error
at most 1e-12 in float64, 1e-4 in float32; the frozen layers' exactly (they are
never written). Prints "ok NAME" / "FAIL NAME: why" and "cases: P ok, F failed".
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BP_BUILD", "build/float")
sys.path.insert(0, os.path.join(ROOT, "tests"))
from test_torch_model import read_model_file  # noqa: E402

CLI = os.path.join(BUILD, "bin", "backprop")
DOUBLE = "double" in os.path.basename(BUILD.rstrip("/"))
TOL = 1e-12 if DOUBLE else 1e-4
DT = torch.float64 if DOUBLE else torch.float32
ok = failed = 0


def report(name, why):
    global ok, failed
    if why:
        failed += 1
        print("FAIL %s: %s" % (name, why))
    else:
        ok += 1
        print("ok %s" % name)


def run(*args):
    p = subprocess.run([CLI, *args], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError("%s: %s" % (" ".join(args), p.stderr.strip()))
    return p


def layers_of(path, n_layers):
    _, _, t, _ = read_model_file(path)
    return [(np.array(t["layers.%d.weight" % l], dtype=np.float64),
             np.array(t["layers.%d.bias" % l], dtype=np.float64)) for l in range(n_layers)]


def torch_train(init, x, y, frozen, opt, lr, batch, epochs, clip, acts):
    lins = []
    for w, b in init:
        lin = torch.nn.Linear(w.shape[1], w.shape[0]).to(DT)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(w, dtype=DT))
            lin.bias.copy_(torch.tensor(b, dtype=DT))
        lins.append(lin)
    mods = []
    for l, lin in enumerate(lins):
        mods.append(lin)
        if l < len(lins) - 1:
            mods.append(acts())
    net = torch.nn.Sequential(*mods)
    if clip:  # frozen = no gradient at all
        for lin in lins[:frozen]:
            lin.weight.requires_grad_(False), lin.bias.requires_grad_(False)
        groups = [{"params": list(lin.parameters())} for lin in lins[frozen:]]
    else:     # frozen = full training with those layers' learning rate at 0
        groups = [{"params": list(lin.parameters()), "lr": 0.0 if l < frozen else lr}
                  for l, lin in enumerate(lins)]
    if opt == "adam":
        o = torch.optim.Adam(groups, lr=lr, eps=1e-8)
    else:
        o = torch.optim.SGD(groups, lr=lr, momentum=0.9 if opt == "momentum" else 0.0)
    X, Y = torch.tensor(x, dtype=DT), torch.tensor(y, dtype=DT)
    for _ in range(epochs):
        for i in range(0, len(X), batch):
            o.zero_grad()
            loss = torch.nn.functional.mse_loss(net(X[i:i + batch]), Y[i:i + batch])
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_([p for p in net.parameters() if p.requires_grad],
                                               clip)
            o.step()
    return [(lin.weight.detach().double().numpy(), lin.bias.detach().double().numpy())
            for lin in lins]


def case(tmp, name, sizes, act, k, opt, lr, clip=0.0, batch=8, epochs=4):
    try:
        rng = np.random.default_rng(len(name))
        n = 44  # the last batch is partial
        x = rng.normal(size=(n, sizes[0]))
        y = np.sin(x.sum(axis=1, keepdims=True)) + 0.1 * x[:, :1]
        data = os.path.join(tmp, name + ".csv")
        with open(data, "w") as f:
            f.write(",".join(["x%d" % i for i in range(sizes[0])] + ["y"]) + "\n")
            for r in range(n):
                f.write(",".join("%.17g" % v for v in list(x[r]) + [y[r, 0]]) + "\n")
        init, out = os.path.join(tmp, name + ".init.st"), os.path.join(tmp, name + ".st")
        L = len(sizes) - 1
        run("init", "--layers", ",".join(map(str, sizes)), "--act", act, "--seed", "7",
            "--save", init)
        args = ["train", "--data", data, "--target", "y", "--init-from", init, "--normalize",
                "none", "--no-shuffle", "--batch", str(batch), "--epochs", str(epochs), "--opt",
                opt, "--lr", repr(lr), "--train-layers", str(k), "--save", out, "--quiet"]
        if opt == "momentum":
            args += ["--momentum", "0.9"]
        if clip:
            args += ["--clip", repr(clip)]
        run(*args)
        start, got = layers_of(init, L), layers_of(out, L)
        acts = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}[act]
        frozen = L - k if k else 0
        want = torch_train(start, x, y, frozen, opt, lr, batch, epochs, clip, acts)
        worst = 0.0
        for l in range(L):
            for part, (g, w) in enumerate(zip(got[l], want[l])):
                if l < frozen and not np.array_equal(g, start[l][part]):
                    return report(name, "frozen layer %d changed" % l)
                err = np.max(np.abs(g - w) / np.maximum(np.abs(w), 1e-3))
                worst = max(worst, float(err))
        moved = any(not np.array_equal(got[l][0], start[l][0]) for l in range(frozen, L))
        if not moved:
            return report(name, "the trained layers did not move")
        report(name, None if worst <= TOL else "relative error %.3g > %g" % (worst, TOL))
    except (RuntimeError, OSError) as e:
        report(name, str(e))


def refused(tmp):
    """--train-layers beyond the model, and with checkpoints, fail with a message."""
    data = os.path.join(tmp, "r.csv")
    with open(data, "w") as f:
        f.write("a,b,y\n" + "".join("%d,%d,%.2f\n" % (i % 2, i // 2 % 2, 0.13 * i) for i in range(12)))
    for extra, want in ((["--train-layers", "3"], "the model has 2 layers"),
                        (["--train-layers", "1", "--checkpoint", os.path.join(tmp, "c.ck")],
                         "--train-layers cannot be combined with --checkpoint")):
        p = subprocess.run([CLI, "train", "--data", data, "--target", "y", "--layers", "2,4,1",
                            "--save", os.path.join(tmp, "r.st"), "--quiet", *extra],
                           capture_output=True, text=True)
        report("refused " + " ".join(extra[:2]) + (" --checkpoint" if len(extra) > 2 else ""),
               None if p.returncode and want in p.stderr else
               "rc %d, stderr %r" % (p.returncode, p.stderr))


def main():
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        case(tmp, "adam_last1_of3", [4, 16, 8, 1], "tanh", 1, "adam", 0.01)
        case(tmp, "adam_last2_of3", [4, 16, 8, 1], "tanh", 2, "adam", 0.01)
        case(tmp, "momentum_last1_of2", [5, 12, 1], "relu", 1, "momentum", 0.02)
        case(tmp, "sgd_all3_is_k3", [4, 6, 5, 1], "sigmoid", 3, "sgd", 0.1)
        case(tmp, "adam_last1_clip", [4, 16, 8, 1], "tanh", 1, "adam", 0.05, clip=0.05)
        refused(tmp)
    print("cases: %d ok, %d failed (test_frozen_torch.py, %s)" % (ok, failed, BUILD))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
