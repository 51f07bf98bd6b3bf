#!/usr/bin/env python3
"""train's defaults against scikit-learn's, on public tables (issue 23).

For each table, written to CSV: `backprop train --data T --target Y` with no
other option (but --seed, and --ignore date for seattle-weather) against
scikit-learn's MLPClassifier() or MLPRegressor() with its defaults, in a
pipeline of SimpleImputer(add_indicator=True) + StandardScaler on the numbers
and OneHotEncoder on the categories. Both sides get the same split (a
stratified quarter for testing, drawn with the seed) and the same seed; the
score is the mean over the seeds of the test accuracy (classifiers) or test
R^2 (regressors). Ours may be at most 1 point (accuracy) or 0.02 (R^2) below.

Then, on seattle-weather's encoded matrix (the pipeline's output, written as
a numeric CSV), backprop with --normalize none and scikit-learn at equal
settings (its defaults with alpha 0, which backprop's defaults do not add)
give a mean test accuracy within 1 point of each other.

Sanitized builds (BP_BUILD ending in -san or -tsan) run 2 seeds, not 5, and
say so: the instrumented binary trains some 10-20x slower.
"""
import json
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from report import built, result, summary  # noqa: E402

BUILD = os.environ.get("BP_BUILD", "build/float")
B = os.path.abspath(os.path.join(BUILD, "bin", "backprop"))
SANITIZED = BUILD.rstrip("/").endswith(("-san", "-tsan"))
SEEDS = range(2) if SANITIZED else range(5)
VEGA = "/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-weather.csv"


def run(*args):
    r = subprocess.run([B] + [str(a) for a in args], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("backprop %s: exit %d: %s" % (" ".join(map(str, args)), r.returncode,
                                                        r.stderr.strip()))
    return r


def sk_frame(loader, names=True):
    b = loader(as_frame=True)
    df = b.frame.copy()
    if names:  # class labels as their names, so that the CSV's target is categorical
        df["target"] = [str(b.target_names[i]) for i in df["target"]]
    return df


def tables():
    """(name, frame, target, ignored columns, classifier?)"""
    w = pd.read_csv(VEGA)
    return [("seattle-weather", w, "weather", ["date"], True),
            ("iris", sk_frame(datasets.load_iris), "target", [], True),
            ("wine", sk_frame(datasets.load_wine), "target", [], True),
            ("breast_cancer", sk_frame(datasets.load_breast_cancer), "target", [], True),
            ("diabetes", sk_frame(datasets.load_diabetes, names=False), "target", [], False)]


def onehot():
    kw = "sparse_output" if "sparse_output" in OneHotEncoder().get_params() else "sparse"
    return OneHotEncoder(handle_unknown="ignore", **{kw: False})


def pipeline(X, est):
    num = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    cat = [c for c in X.columns if c not in num]
    numeric = Pipeline([("impute", SimpleImputer(add_indicator=True)), ("scale", StandardScaler())])
    ct = ColumnTransformer([("num", numeric, num), ("cat", onehot(), cat)])
    return Pipeline([("ct", ct), ("mlp", est)])


def split(df, target, clf, seed):
    return train_test_split(df, test_size=0.25, random_state=seed,
                            stratify=df[target] if clf else None)


def ours(tmp, name, tr, te, target, ignore, seed, extra=()):
    trp, tep, model = (os.path.join(tmp, "%s.%s" % (name, s)) for s in ("train.csv", "test.csv", "st"))
    tr.to_csv(trp, index=False)
    te.to_csv(tep, index=False)
    args = ["train", "--data", trp, "--target", target, "--save", model, "--seed", seed, *extra]
    if ignore:
        args += ["--ignore", ",".join(ignore)]
    out = run(*args).stdout
    ev = json.loads(run("eval", "--model", model, "--data", tep, "--json").stdout)
    score = 100 * ev["accuracy"] if "accuracy" in ev and ev["accuracy"] is not None else ev["outputs"][0]["r2"]
    return score, out


def theirs(tr, te, target, ignore, clf, seed, alpha=1e-4):
    X, Xt = tr.drop(columns=[target] + ignore), te.drop(columns=[target] + ignore)
    est = MLPClassifier(random_state=seed, alpha=alpha) if clf else MLPRegressor(random_state=seed, alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        p = pipeline(X, est).fit(X, tr[target])
    s = p.score(Xt, te[target])
    return (100 * s if clf else s), p


def defaults_table(tmp):
    rows = []
    for name, df, target, ignore, clf in tables():
        a, b, stops = [], [], []
        for s in SEEDS:
            tr, te = split(df, target, clf, s)
            score, out = ours(tmp, name, tr, te, target, ignore, s)
            a.append(score)
            stops.append([l for l in out.splitlines() if l.strip().startswith("trained")][0].split(": ")[1])
            b.append(theirs(tr, te, target, ignore, clf, s)[0])
        ma, mb = float(np.mean(a)), float(np.mean(b))
        limit = 1.0 if clf else 0.02
        rows.append((name, len(df), "accuracy %" if clf else "R^2", ma, mb, ma - mb))
        result("defaults-%s" % name, ma >= mb - limit,
               "backprop %.3f vs scikit-learn %.3f (more than %g below)" % (ma, mb, limit))
        print("  %s: backprop %s, scikit-learn %s; runs: %s" % (name, np.round(a, 3), np.round(b, 3),
                                                              "; ".join(stops)))
    print("\n  defaults, mean over seeds %s%s (same split and seed on both sides):"
          % (list(SEEDS), " (2 seeds: a sanitized build trains 10-20x slower)" if SANITIZED else ""))
    print("  | table | rows | metric | backprop | scikit-learn | difference |")
    print("  |---|---|---|---|---|---|")
    for r in rows:
        print("  | %s | %d | %s | %.3f | %.3f | %+.3f |" % r)
    print()


def encoded_matrix_case(tmp):
    """Equal settings on the same encoded matrix: the encoders are out of the comparison."""
    df = pd.read_csv(VEGA).drop(columns=["date"])
    a, b = [], []
    for s in SEEDS:
        tr, te = split(df, "weather", True, s)
        _, p = theirs(tr, te, "weather", [], True, s, alpha=0)
        ct = p.named_steps["ct"]
        enc = [pd.DataFrame(ct.transform(d.drop(columns=["weather"])),
                            columns=["x%d" % i for i in range(ct.transform(d[:1].drop(columns=["weather"])).shape[1])])
               .assign(weather=d["weather"].values) for d in (tr, te)]
        score, _ = ours(tmp, "encoded", enc[0], enc[1], "weather", [], s, ["--normalize", "none"])
        a.append(score)
        b.append(100 * p.score(te.drop(columns=["weather"]), te["weather"]))
    d = float(np.mean(a) - np.mean(b))
    print("  seattle-weather encoded matrix, equal settings: backprop %s mean %.2f; scikit-learn %s "
          "mean %.2f" % (np.round(a, 2), np.mean(a), np.round(b, 2), np.mean(b)))
    result("encoded-matrix-equal-settings", abs(d) <= 1.0, "mean %.2f vs %.2f" % (np.mean(a), np.mean(b)))


def main():
    if not built(B, "test_defaults.py"):
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        defaults_table(tmp)
        encoded_matrix_case(tmp)
    return summary("test_defaults.py")


if __name__ == "__main__":
    sys.exit(main())
