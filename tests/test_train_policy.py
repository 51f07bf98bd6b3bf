"""test_train_policy.py - the trainer's training policy (bp_train_config's
schedule and stopping rule) against the libraries it follows, for the build
in $BP_BUILD:

  schedule  the learning rate of every epoch (bp_train_config_lr, which the
            trainer sets at each epoch's start) against torch.optim.lr_scheduler:
            StepLR, CosineAnnealingLR, and a warmup of LinearLR before them
            (SequentialLR); relative error at most 1e-12;
  stopping  bp_trainer_end_epoch on scripted loss sequences against
            scikit-learn's MLP: its _update_no_improvement_count run on the same
            losses (loss_curve_), and its stop test `count > n_iter_no_change`,
            with patience = n_iter_no_change + 1: the count, the best loss and
            the epoch of the stop, epoch by epoch.

Prints "ok NAME" / "FAIL NAME: why" per case and "cases: P ok, F failed"."""
import ctypes
import warnings
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BP_BUILD", "build/float")
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from sanitized import preload_for  # noqa: E402
preload_for(BUILD)
os.environ["BACKPROP_LIBRARY"] = os.path.join(ROOT, BUILD, "libbackprop.so")
sys.path.insert(0, os.path.join(ROOT, "python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.neural_network import MLPRegressor  # noqa: E402

from backprop import _lib  # noqa: E402

lib = next(iter(_lib.LIBRARIES.values()))
warnings.filterwarnings("ignore", module="torch")  # SequentialLR steps its parts with an epoch
ok = failed = 0


def report(name, why):
    global ok, failed
    if why:
        failed += 1
        print("FAIL %s: %s" % (name, why))
    else:
        ok += 1
        print("ok   %s" % name)


# ------------------------------------------------------------------ schedules

def torch_lrs(make, lr, epochs):
    """The rate of each epoch as a per-epoch torch scheduler gives it."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make(opt)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def our_lrs(epochs, **fields):
    c = lib.train_config_default()
    for k, v in fields.items():
        setattr(c, k, v)
    return [lib.train_config_lr(ctypes.byref(c), e) for e in range(epochs)]


def warm(w, after):
    """LinearLR from lr/(w+1) reaching lr at epoch w, then `after`."""
    S = torch.optim.lr_scheduler
    return lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=1 / (w + 1), total_iters=w),
                                        after(o)], milestones=[w])


def schedule_cases():
    S = torch.optim.lr_scheduler
    E = 14
    return [
        ("step", dict(schedule=_lib.SCHEDULE_STEP, lr=0.1, step_epochs=3, gamma=0.5),
         lambda o: S.StepLR(o, step_size=3, gamma=0.5)),
        ("cosine", dict(schedule=_lib.SCHEDULE_COSINE, lr=0.1, min_lr=0.001, max_epochs=E),
         lambda o: S.CosineAnnealingLR(o, T_max=E, eta_min=0.001)),
        ("cosine-to-zero", dict(schedule=_lib.SCHEDULE_COSINE, lr=0.05, max_epochs=9),
         lambda o: S.CosineAnnealingLR(o, T_max=9)),
        ("warmup", dict(lr=0.1, warmup_epochs=3),
         lambda o: S.LinearLR(o, start_factor=1 / 4, total_iters=3)),
        ("warmup-step", dict(schedule=_lib.SCHEDULE_STEP, lr=0.1, warmup_epochs=2, step_epochs=4,
                             gamma=0.3), warm(2, lambda o: S.StepLR(o, step_size=4, gamma=0.3))),
        ("warmup-cosine", dict(schedule=_lib.SCHEDULE_COSINE, lr=0.1, warmup_epochs=2,
                               min_lr=0.002, max_epochs=E),
         warm(2, lambda o: S.CosineAnnealingLR(o, T_max=E - 2, eta_min=0.002))),
    ]


def check_schedule(name, fields, make, E=14):
    ours = our_lrs(E, **fields)
    theirs = torch_lrs(make, fields["lr"], E)
    errs = [abs(a - b) / max(abs(b), 1e-300) for a, b in zip(ours, theirs)]
    worst = max(range(E), key=lambda i: errs[i])
    return None if errs[worst] <= 1e-12 else \
        "epoch %d: ours %.17g, torch %.17g" % (worst, ours[worst], theirs[worst])


# ------------------------------------------------------------------ stopping

def sklearn_rule(losses, tol, n_iter_no_change):
    """scikit-learn's own bookkeeping over a loss curve: (count, best) after
    each epoch, and the 1-based epoch at which fit's loop would break."""
    m = MLPRegressor(tol=tol, n_iter_no_change=n_iter_no_change)
    m.loss_curve_, m.best_loss_, m._no_improvement_count = [], np.inf, 0
    trace, stop = [], None
    for e, loss in enumerate(losses, 1):
        m.loss_curve_.append(loss)
        m._update_no_improvement_count(False, None, None)
        trace.append((m._no_improvement_count, m.best_loss_))
        if m._no_improvement_count > m.n_iter_no_change:
            stop = e
            break
    return trace, stop


class Trainer:
    """A one-layer model on 4 samples: each epoch is only there so that
    bp_trainer_end_epoch has one to judge."""

    def __init__(self, **fields):
        self.net = _lib.Network(lib, [2, 1], "identity", "identity", 0)
        oc = lib.optim_config_default(_lib.OPT_SGD)
        tc = lib.train_config_default()
        for k, v in fields.items():
            setattr(tc, k, v)
        self.net.set_trainer(oc, tc)
        self.x = np.zeros((4, 2), dtype=lib.dtype)
        self.y = np.zeros((4, 1), dtype=lib.dtype)

    def judge(self, val_loss):
        st = _lib.EpochStats()
        lib.check(lib.trainer_epoch(self.net.trainer, lib.ptr(self.x), lib.ptr(self.y), 4,
                                    ctypes.byref(st)))
        stop = ctypes.c_int(-1)
        lib.check(lib.trainer_end_epoch(self.net.trainer, val_loss, ctypes.byref(stop)))
        es = _lib.EarlyStopState()
        lib.trainer_early_stop(self.net.trainer, ctypes.byref(es))
        return es.bad_epochs, es.best_loss, stop.value


def check_stopping(losses, tol, k):
    trace, stop = sklearn_rule(losses, tol, k)
    t = Trainer(patience=k + 1, tol=tol, monitor=_lib.MONITOR_VAL_LOSS)
    try:
        for e, loss in enumerate(losses, 1):
            bad, best, reason = t.judge(loss)
            count, sk_best = trace[e - 1]
            if bad != count or best != sk_best:
                return "epoch %d (loss %r): count %d best %r, scikit-learn %d %r" % (
                    e, loss, bad, best, count, sk_best)
            want = _lib.STOP_NO_IMPROVEMENT if e == stop else _lib.STOP_NONE
            if reason != want:
                return "epoch %d: stop reason %d, scikit-learn stops at epoch %s" % (e, reason, stop)
            if reason:
                return None
        return None if stop is None else "scikit-learn stops at epoch %d, we did not" % stop
    finally:
        t.net.close()


def stopping_cases():
    rs = np.random.RandomState(3)
    hand = [1.0, 0.9, 0.9, 0.8995, 0.85, 0.86, 0.849, 0.8489, 0.8488, 0.9, 0.95, 0.7, 0.7,
            0.7, 0.7, 0.7, 0.7]
    cases = [("hand-tol-0", hand, 0.0, 2), ("hand-tol-1e-3", hand, 1e-3, 2),
             ("hand-tol-1e-3-k0", hand, 1e-3, 0), ("hand-ties-k3", hand, 0.0, 3)]
    for i in range(12):
        n = 40
        walk = np.cumsum(rs.normal(-0.01, 0.03, n)) + 1.0
        walk = np.round(walk, 2 if i % 2 else 6)  # plateaus and ties on even cases
        tol = [0.0, 1e-4, 1e-2][i % 3]
        cases.append(("random-%d" % i, [float(v) for v in walk], tol, i % 5))
    return cases


def main():
    for name, fields, make in schedule_cases():
        report("schedule-" + name, check_schedule(name, fields, make))
    for name, losses, tol, k in stopping_cases():
        report("stopping-%s (tol %g, n_iter_no_change %d)" % (name, tol, k),
               check_stopping(losses, tol, k))
    print("cases: %d ok, %d failed (test_train_policy.py, %s)" % (ok, failed, os.path.basename(BUILD)))
    sys.exit(1 if failed else 0)


main()
