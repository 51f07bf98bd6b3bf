#!/usr/bin/env python3
"""test_tabular.py - real tables through the encoders, against scikit-learn.

Data: Debian's python3-vega-datasets (seattle-weather.csv: a date to ignore,
four numbers, a string class; cars.json written out as CSV: a name and a date
to ignore, numbers with missing values, a numeric-looking category, a text
category, a regression target with missing values). Each set is split into a
training and a test file (every fifth row to the test file).

- The encoded matrix: tests/tool_encode (bp_model_encode + the model's
  normalization) on the test file against scikit-learn's pipeline fitted on the
  training file: ColumnTransformer(SimpleImputer(add_indicator=True) for the
  numbers; SimpleImputer(constant "missing") + OneHotEncoder(handle_unknown=
  "ignore") for the categories) then StandardScaler, column for column (matched
  by what each input is), 1e-12 in the double build.
- The model: `backprop train --hidden 16` and scikit-learn's MLPClassifier /
  MLPRegressor with the same settings (one hidden layer of 16 relu units, Adam,
  lr, batch, epochs, no L2), means over seeds 0-4 of the test accuracy within 1
  point, of R^2 within 0.02.
- eval's per-label and per-output figures against scikit-learn's metrics on
  predict's output; multi-label and multi-output models; hostile input.
Prints a line per case and "cases: P ok, F failed"; exits non-zero on a failure.
"""
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli"))
import openblas_core  # noqa: E402
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.compose import TransformedTargetRegressor
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.metrics import (mean_absolute_error, mean_squared_error, precision_recall_fscore_support,
                             r2_score)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from report import built, result, summary  # noqa: E402

BUILD = os.environ.get("BP_BUILD", "build/float")
B = os.path.abspath(os.path.join(BUILD, "bin", "backprop"))
TOOL = os.path.abspath(os.path.join(BUILD, "tests", "tool_encode"))
HERE = os.path.dirname(os.path.abspath(__file__))
VEGA = "/usr/lib/python3/dist-packages/vega_datasets/_data"
MISSING = {"", "na", "n/a", "nan", "null", "?"}
SEEDS = range(5)


def run(*args, check=True):
    r = subprocess.run([B] + [str(a) for a in args], capture_output=True, text=True, timeout=600)
    if check and r.returncode != 0:
        raise RuntimeError("backprop %s: exit %d: %s" % (" ".join(map(str, args)), r.returncode,
                                                        r.stderr.strip()))
    return r


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def split(path, header, rows):
    """Every fifth row to the test file."""
    train = [r for i, r in enumerate(rows) if i % 5]
    test = [r for i, r in enumerate(rows) if i % 5 == 0]
    write_csv(path + ".train.csv", header, train)
    write_csv(path + ".test.csv", header, test)
    return train, test


def seattle(tmp):
    with open(os.path.join(VEGA, "seattle-weather.csv"), newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def cars(tmp):
    with open(os.path.join(VEGA, "cars.json")) as f:
        d = json.load(f)
    header = list(d[0].keys())
    return header, [["" if r[k] is None else str(r[k]) for k in header] for r in d]


def frame(header, rows, num, cat):
    """A DataFrame as scikit-learn should see the table: numbers as float
    (NaN when missing), categories as text (NaN when missing)."""
    cols = {}
    for name in num + cat:
        j = header.index(name)
        vals = [r[j] for r in rows]
        if name in num:
            cols[name] = [np.nan if v.strip().lower() in MISSING else float(v) for v in vals]
        else:
            cols[name] = pd.Series([np.nan if v.strip().lower() in MISSING else v.strip()
                                    for v in vals], dtype=object)
    return pd.DataFrame(cols)


def sklearn_pipeline(num, cat, strategy):
    cat_pipe = Pipeline([("fill", SimpleImputer(strategy="constant", fill_value="missing")),
                         ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)
                          if "sparse_output" in OneHotEncoder().get_params()
                          else OneHotEncoder(handle_unknown="ignore", sparse=False))])
    # StandardScaler on the numbers only: indicators and one-hot columns stay 0/1 (issue 23)
    values = Pipeline([("fill", SimpleImputer(strategy=strategy)), ("scale", StandardScaler())])
    ct = ColumnTransformer([("num", values, num), ("ind", MissingIndicator(error_on_new=False), num),
                            ("cat", cat_pipe, cat)])
    return Pipeline([("ct", ct)])


def sklearn_keys(pipe, num, cat):
    """What each column of the fitted pipeline's output is, in its order."""
    ct = pipe.named_steps["ct"]
    keys = [("value", c) for c in num]
    keys += [("indicator", num[i]) for i in ct.named_transformers_["ind"].features_]
    if cat:
        ohe = ct.named_transformers_["cat"].named_steps["onehot"]
        for c, cats in zip(cat, ohe.categories_):
            keys += [("category", c, str(v)) for v in cats]
    return keys


def tool_encode(model, path):
    out = subprocess.run([TOOL, model, path, "norm"], capture_output=True, text=True, check=True)
    keys, rows, report = [], [], None
    for line in out.stdout.splitlines():
        f = line.split("\t")
        if f[0] == "input":
            keys.append(("category", f[1], f[3]) if f[2] == "category" else (f[2], f[1]))
        elif f[0] == "report":
            report = [int(v) for v in f[1:]]
        else:
            rows.append([float(v) for v in f[1:]])
    return keys, np.array(rows), report


def is_double():
    return subprocess.run([TOOL, "real"], capture_output=True, text=True).stdout.strip() == "8"


def compare_matrix(name, model, test_path, pipe, num, cat, test_df):
    keys, ours, _ = tool_encode(model, test_path)
    ref = pipe.transform(test_df)
    skeys = sklearn_keys(pipe, num, cat)
    if sorted(keys) != sorted(skeys):
        result(name, False, "inputs differ: ours %s, scikit-learn %s" % (keys, skeys))
        return
    ref = ref[:, [skeys.index(k) for k in keys]]
    tol = 1e-12 if is_double() else 2e-6
    err = np.max(np.abs(ours - ref) / np.maximum(1, np.abs(ref)))
    result(name, ours.shape == ref.shape and err <= tol,
           "shape %s vs %s, largest relative difference %.3g > %g" % (ours.shape, ref.shape, err, tol))
    print("  %s: %d x %d inputs, largest difference %.3g" % (name, ours.shape[0], ours.shape[1], err))


# ------------------------------------------------------------ scikit-learn

def seattle_cases(tmp):
    header, rows = seattle(tmp)
    base = os.path.join(tmp, "seattle")
    train, test = split(base, header, rows)
    num, cat = ["precipitation", "temp_max", "temp_min", "wind"], []
    opts = ["--ignore", "date", "--hidden", "16", "--lr", "0.01", "--batch", "32", "--epochs",
            "40", "--quiet"]
    run("train", "--data", base + ".train.csv", "--save", base + ".st", "--seed", 0, *opts)
    pipe = sklearn_pipeline(num, cat, "mean").fit(frame(header, train, num, cat))
    compare_matrix("seattle-encoded-matrix", base + ".st", base + ".test.csv", pipe, num, cat,
                   frame(header, test, num, cat))
    ytr = [r[-1] for r in train]
    yte = [r[-1] for r in test]
    Xtr, Xte = pipe.transform(frame(header, train, num, cat)), pipe.transform(frame(header, test, num, cat))
    ours, theirs = [], []
    for s in SEEDS:
        run("train", "--data", base + ".train.csv", "--save", base + ".st", "--seed", s, *opts)
        ev = json.loads(run("eval", "--model", base + ".st", "--data", base + ".test.csv",
                            "--json").stdout)
        ours.append(100 * ev["accuracy"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = MLPClassifier((16,), solver="adam", learning_rate_init=0.01, batch_size=32,
                              max_iter=40, alpha=0, random_state=s, tol=0, n_iter_no_change=1000)
            m.fit(Xtr, ytr)
        theirs.append(100 * m.score(Xte, yte))
    d = np.mean(ours) - np.mean(theirs)
    print("  seattle-weather test accuracy, seeds 0-4: backprop %s mean %.2f; scikit-learn %s "
          "mean %.2f" % (np.round(ours, 2), np.mean(ours), np.round(theirs, 2), np.mean(theirs)))
    result("seattle-accuracy-vs-sklearn", abs(d) <= 1.0, "mean %.2f vs %.2f" % (np.mean(ours), np.mean(theirs)))


def cars_cases(tmp):
    header, rows = cars(tmp)
    base = os.path.join(tmp, "cars")
    train, test = split(base, header, rows)
    num = ["Displacement", "Horsepower", "Weight_in_lbs", "Acceleration"]
    cat = ["Cylinders", "Origin"]
    enc = ["--target", "Miles_per_Gallon", "--ignore", "Name,Year", "--categorical", "Cylinders",
           "--missing", "impute"]
    opts = enc + ["--hidden", "16", "--lr", "0.01", "--batch", "32", "--epochs", "150", "--quiet"]
    keep = [r for r in train if r[header.index("Miles_per_Gallon")] != ""]
    for strategy in ("mean", "median"):
        model = "%s.%s.st" % (base, strategy)
        r = run("train", "--data", base + ".train.csv", "--save", model, "--impute", strategy,
                "--epochs", 1, *enc, "--hidden", 4, "--quiet")
        result("cars-dropped-count-%s" % strategy,
               ("%d of %d rows dropped" % (len(train) - len(keep), len(train))) in r.stderr,
               r.stderr)
        pipe = sklearn_pipeline(num, cat, strategy).fit(frame(header, keep, num, cat))
        compare_matrix("cars-encoded-matrix-%s" % strategy, model, base + ".test.csv", pipe, num,
                       cat, frame(header, test, num, cat))
    pipe = sklearn_pipeline(num, cat, "mean").fit(frame(header, keep, num, cat))
    tkeep = [r for r in test if r[header.index("Miles_per_Gallon")] != ""]
    Xtr, Xte = pipe.transform(frame(header, keep, num, cat)), pipe.transform(frame(header, tkeep, num, cat))
    ytr = [float(r[header.index("Miles_per_Gallon")]) for r in keep]
    yte = [float(r[header.index("Miles_per_Gallon")]) for r in tkeep]
    ours, theirs = [], []
    for s in SEEDS:
        run("train", "--data", base + ".train.csv", "--save", base + ".st", "--seed", s, *opts)
        ev = json.loads(run("eval", "--model", base + ".st", "--data", base + ".test.csv",
                            "--json").stdout)
        ours.append(ev["outputs"][0]["r2"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # backprop trains a regressor on standardized targets: so does this one
            m = TransformedTargetRegressor(
                MLPRegressor((16,), solver="adam", learning_rate_init=0.01, batch_size=32,
                             max_iter=150, alpha=0, random_state=s, tol=0, n_iter_no_change=1000),
                transformer=StandardScaler())
            m.fit(Xtr, ytr)
        theirs.append(m.score(Xte, yte))
    print("  cars MPG test R^2, seeds 0-4: backprop %s mean %.4f; scikit-learn %s mean %.4f" %
          (np.round(ours, 4), np.mean(ours), np.round(theirs, 4), np.mean(theirs)))
    result("cars-r2-vs-sklearn", abs(np.mean(ours) - np.mean(theirs)) <= 0.02,
           "mean %.4f vs %.4f" % (np.mean(ours), np.mean(theirs)))
    # eval's regression figures against scikit-learn's metrics on predict's output
    pred = run("predict", "--model", base + ".st", "--data", base + ".test.csv").stdout.splitlines()
    p = np.array([float(v) for v in pred[1:]])
    mpg = [r[header.index("Miles_per_Gallon")] for r in test]
    have = np.array([v != "" for v in mpg])
    y = np.array([float(v) for v in mpg if v != ""])
    ev = json.loads(run("eval", "--model", base + ".st", "--data", base + ".test.csv", "--json").stdout)
    o = ev["outputs"][0]
    want = (np.sqrt(mean_squared_error(y, p[have])), mean_absolute_error(y, p[have]), r2_score(y, p[have]))
    got = (o["rmse"], o["mae"], o["r2"])
    result("cars-eval-rmse-mae-r2", len(p) == len(test) and np.allclose(got, want, rtol=1e-5),
           "eval %s, scikit-learn %s" % (got, want))


# ------------------------------------------------------ several targets

def multi_cases(tmp):
    header, rows = seattle(tmp)
    w = header.index("weather")
    h = ["date", "precipitation", "temp_max", "temp_min", "wind", "rain", "sun"]
    data = [r[:5] + ["yes" if r[w] == "rain" else "no", "yes" if r[w] == "sun" else "no"] for r in rows]
    base = os.path.join(tmp, "multi")
    train, test = split(base, h, data)
    run("train", "--data", base + ".train.csv", "--target", "rain,sun", "--ignore", "date",
        "--hidden", "16", "--lr", "0.01", "--batch", "32", "--epochs", "20", "--save",
        base + ".st", "--quiet")
    info = json.loads(run("info", "--model", base + ".st", "--json").stdout)
    result("multilabel-model", info["architecture"] == "4-16-2 relu/sigmoid bce" and
           info["labels"] == ["rain", "sun"] and info["encoder"]["task"] == "multilabel",
           "%s %s" % (info["architecture"], info["labels"]))
    pred = run("predict", "--model", base + ".st", "--data", base + ".test.csv").stdout.splitlines()
    result("multilabel-predict-header", pred[0] == "prob_rain,prob_sun", pred[0])
    P = np.array([[float(v) for v in line.split(",")] for line in pred[1:]]) > 0.5
    Y = np.array([[r[5] == "yes", r[6] == "yes"] for r in test])
    ev = json.loads(run("eval", "--model", base + ".st", "--data", base + ".test.csv", "--json").stdout)
    p, r_, f, s = precision_recall_fscore_support(Y, P, zero_division=0)
    got = [(l["precision"], l["recall"], l["f1"], l["support"]) for l in ev["labels"]]
    want = list(zip(p, r_, f, s))
    subset = float(np.mean(np.all(P == Y, axis=1)))
    result("multilabel-eval-vs-sklearn", np.allclose(got, want, atol=1e-9) and
           abs(ev["subset_accuracy"] - subset) < 1e-9, "eval %s vs %s; subset %s vs %s" %
           (got, want, ev["subset_accuracy"], subset))
    print("  multi-label rain/sun: subset accuracy %.4f, F1 %s" % (subset, np.round(f, 3)))
    # multi-output regression: temp_max and temp_min from the rest
    run("train", "--data", base + ".train.csv", "--target", "temp_max,temp_min", "--ignore",
        "date,rain,sun", "--hidden", "8", "--lr", "0.01", "--epochs", "30", "--save",
        base + ".reg.st", "--quiet")
    info = json.loads(run("info", "--model", base + ".reg.st", "--json").stdout)
    ev = json.loads(run("eval", "--model", base + ".reg.st", "--data", base + ".test.csv", "--json").stdout)
    pred = run("predict", "--model", base + ".reg.st", "--data", base + ".test.csv").stdout.splitlines()
    P = np.array([[float(v) for v in line.split(",")] for line in pred[1:]])
    Y = np.array([[float(r[2]), float(r[3])] for r in test])
    want = [(np.sqrt(mean_squared_error(Y[:, j], P[:, j])), mean_absolute_error(Y[:, j], P[:, j]),
             r2_score(Y[:, j], P[:, j])) for j in range(2)]
    got = [(o["rmse"], o["mae"], o["r2"]) for o in ev["outputs"]]
    result("multioutput-regression", info["architecture"] == "2-8-2 relu/identity mse" and
           [o["name"] for o in ev["outputs"]] == ["temp_max", "temp_min"] and
           np.allclose(got, want, rtol=1e-5), "%s: eval %s vs %s" % (info["architecture"], got, want))


# ------------------------------------------------------------- hostile

def expect(name, r, status, *texts):
    ok = r.returncode == status and all(t in r.stderr for t in texts)
    result(name, ok and "Sanitizer" not in r.stderr,
           "exit %d (want %d), stderr %r" % (r.returncode, status, r.stderr[-400:]))


def hostile_cases(tmp):
    p = lambda n: os.path.join(tmp, n)  # noqa: E731
    write_csv(p("t.csv"), ["id", "color", "size", "zip", "label"],
              [[i, ["red", "green", "blue"][i % 3], i % 7 + 0.5, "0%d" % (i % 4), "ab"[i % 2]]
               for i in range(60)])
    run("train", "--data", p("t.csv"), "--ignore", "id", "--categorical", "zip", "--hidden", 4,
        "--epochs", 2, "--save", p("t.st"), "--quiet")
    info = json.loads(run("info", "--model", p("t.st"), "--json").stdout)
    roles = [(c["name"], c["role"]) for c in info["encoder"]["columns"]]
    result("roles", roles == [("id", "ignored"), ("color", "categorical"), ("size", "numeric"),
                              ("zip", "categorical"), ("label", "target")] and
           info["encoder"]["columns"][3]["categories"] == ["00", "01", "02", "03"], str(roles))
    # a table of text columns only: --header says the first row names them
    write_csv(p("text.csv"), ["shape", "color", "label"],
              [[["round", "square"][i % 2], ["red", "blue", "green"][i % 3], "xy"[i % 2]] for i in range(12)])
    run("train", "--data", p("text.csv"), "--header", "--hidden", 3, "--epochs", 1, "--save",
        p("text.st"), "--quiet")
    info = json.loads(run("info", "--model", p("text.st"), "--json").stdout)
    names = [c["name"] for c in info["encoder"]["columns"]]
    write_csv(p("text2.csv"), ["color", "shape"], [["blue", "round"]])
    r = run("predict", "--model", p("text.st"), "--data", p("text2.csv"), "--header", check=False)
    result("header-flag", names == ["shape", "color", "label"] and info["labels"] == ["x", "y"] and
           r.returncode == 0 and r.stdout.startswith("label,prob_x,prob_y"), "%s %s %r" % (names, info["labels"], r.stderr))
    r = run("predict", "--model", p("text.st"), "--data", p("text2.csv"), "--header", "--no-header", check=False)
    expect("header-and-no-header", r, 2, "--header and --no-header exclude each other")
    # columns by name, in any order, ignored and target columns absent
    write_csv(p("reordered.csv"), ["zip", "size", "color"], [["01", 1.5, "green"], ["03", 2.5, "red"]])
    write_csv(p("same.csv"), ["id", "color", "size", "zip", "label"],
              [[0, "green", 1.5, "01", "a"], [1, "red", 2.5, "03", "b"]])
    a = run("predict", "--model", p("t.st"), "--data", p("reordered.csv")).stdout
    b = run("predict", "--model", p("t.st"), "--data", p("same.csv")).stdout
    result("columns-by-name", a == b and len(a.splitlines()) == 3, "%r vs %r" % (a, b))
    # an unseen category at predict: zeros and a warning; --unknown error refuses it
    write_csv(p("unseen.csv"), ["color", "size", "zip"], [["purple", 1.5, "01"], ["red", 1.5, "09"]])
    r = run("predict", "--model", p("t.st"), "--data", p("unseen.csv"), check=False)
    expect("unseen-category-warns", r, 0, "2 values are categories not seen in training",
           "first in column \"color\"")
    r = run("predict", "--model", p("t.st"), "--data", p("unseen.csv"), "--unknown", "error", check=False)
    expect("unseen-category-error", r, 1, "unseen.csv:2:1: column 0 (\"color\"): category \"purple\" "
           "was not seen in training")
    _, x, rep = tool_encode(p("t.st"), p("unseen.csv"))
    result("unseen-category-zeros", rep[2] == 2, "report %s" % rep)
    # a file without a column the model was trained on
    write_csv(p("nosize.csv"), ["color", "zip"], [["red", "01"]])
    r = run("predict", "--model", p("t.st"), "--data", p("nosize.csv"), check=False)
    expect("input-column-absent", r, 1, "no column \"size\" in the header: the model takes it as an input")
    r = run("eval", "--model", p("t.st"), "--data", p("reordered.csv"), check=False)
    expect("eval-target-absent", r, 1, "no target column \"label\"")
    # a target also ignored; a mixed column; a missing value; the cap
    r = run("train", "--data", p("t.csv"), "--ignore", "id,label", "--hidden", 4, "--save", p("u.st"), check=False)
    expect("target-also-ignored", r, 1, "column 4 (\"label\") is both a target and ignored")
    write_csv(p("mixed.csv"), ["a", "b", "y"], [[1, 2, 0], [2, "x", 1], [3, 4, 0], [4, 5, 1]])
    r = run("train", "--data", p("mixed.csv"), "--hidden", 4, "--save", p("u.st"), check=False)
    expect("mixed-column", r, 1, "mixed.csv:3:3: input column 1 (\"b\") mixes numbers and text",
           "--categorical")
    with open(p("mixed-nohead.csv"), "w") as f:  # no header: the index the options take
        f.write("1,2,0\n2,x,1\n3,4,0\n4,5,1\n")
    r = run("train", "--data", p("mixed-nohead.csv"), "--no-header", "--hidden", 4, "--save",
            p("u.st"), check=False)
    expect("mixed-column-no-header", r, 1, "mixed-nohead.csv:2:3: input column 1 mixes "
           "numbers and text (numbers: 3, text: 1, here \"x\")")
    # a long header name is cut at a character's start (r.stderr decodes as UTF-8), its length said
    write_csv(p("longname.csv"), ["a", "\u00e9" * 100, "y"], [[1, 2, 0], [2, "x", 1], [3, 4, 0]])
    r = run("train", "--data", p("longname.csv"), "--hidden", 4, "--save", p("u.st"), check=False)
    expect("long-name-cut", r, 1, "input column 1 (\"%s...(200 bytes)\") mixes" % ("\u00e9" * 36))
    write_csv(p("miss.csv"), ["a", "b", "y"], [[1, 2, 0], [2, "NA", 1], [3, "", 0], [4, 5, 1], ["?", 1, 1]])
    r = run("train", "--data", p("miss.csv"), "--hidden", 4, "--save", p("u.st"), check=False)
    expect("missing-error", r, 1, "miss.csv:3:3: input column 1 (\"b\"): missing value \"NA\"",
           "--missing impute", "--missing drop")
    r = run("train", "--data", p("miss.csv"), "--hidden", 4, "--missing", "drop", "--save",
            p("u.st"), "--quiet", check=False)
    expect("missing-drop", r, 0, "3 of 5 rows dropped")
    r = run("train", "--data", p("miss.csv"), "--hidden", 4, "--missing", "impute", "--save",
            p("imp.st"), "--quiet", check=False)
    keys, x, _ = tool_encode(p("imp.st"), p("miss.csv"))
    result("missing-impute-indicators", r.returncode == 0 and
           keys == [("value", "a"), ("indicator", "a"), ("value", "b"), ("indicator", "b")],
           "%s %s" % (keys, r.stderr))
    r = run("predict", "--model", p("u.st"), "--data", p("miss.csv"), check=False)
    expect("missing-drop-at-predict", r, 1, "miss.csv:3:3", "missing value")
    r = run("train", "--data", p("t.csv"), "--ignore", "id", "--max-categories", 2, "--hidden", 4,
            "--save", p("u.st"), check=False)
    expect("category-cap", r, 1, "categorical column 1 (\"color\") has 3 categories, more than "
           "the limit of 2", "--max-categories")
    # a million distinct strings: refused by the cap, within a bounded multiple of the file
    big = p("big.csv")
    with open(big, "w") as f:
        f.write("name,y\n")
        f.writelines("s%07d,%d\n" % (i, i % 2) for i in range(1000000))
    size = os.path.getsize(big)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    r = run("train", "--data", big, "--hidden", 4, "--save", p("u.st"), check=False)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    bound = 12 * size + 64 * 2**20
    if BUILD.rstrip("/").endswith("-tsan"):
        bound *= 2  # ThreadSanitizer's shadow of every byte the heap touches (238 MB measured)
    expect("million-categories-refused", r, 1, "has 1000000 categories, more than the limit of 1000")
    result("million-categories-memory", before * 1024 < bound and peak < bound,
           "peak %.1f MB over a %.1f MB file (bound %.1f MB)" % (peak / 2**20, size / 2**20, bound / 2**20))
    print("  a million distinct strings: file %.1f MB, peak resident %.1f MB" % (size / 2**20, peak / 2**20))


def old_file_case(tmp):
    """A model file written before encoders (format version 1) still loads and predicts."""
    model = os.path.join(HERE, "data", "model-v1.safetensors")
    got = run("predict", "--model", model, "--data", os.path.join(HERE, "data", "model-v1.csv")).stdout
    with open(os.path.join(HERE, "data", "model-v1.predict.csv")) as f:
        want = f.read()
    a = [line.split(",") for line in got.splitlines()]
    b = [line.split(",") for line in want.splitlines()]
    ok = len(a) == len(b) and a[0] == b[0] and all(
        x[0] == y[0] and np.allclose([float(v) for v in x[1:]], [float(v) for v in y[1:]], atol=1e-6)
        for x, y in zip(a[1:], b[1:]))
    info = json.loads(run("info", "--model", model, "--json").stdout)
    result("format-version-1-loads", ok and info["encoder"] is None, got[:200])


def v2_file_case(tmp):
    """A model file of format version 2, written by backprop before one-hot and indicator
    inputs kept shift 0 and scale 1 (its normalization scales them), predicts as it did:
    its stored shift and scale are used as stored. Bit-identical in float32 (9 digits
    round-trip a float) where OpenBLAS runs the Haswell kernels that wrote the stored
    output (its 7-6-2 products are OpenBLAS's); under other kernels (an unset
    OPENBLAS_CORETYPE on a core it does not know) and in float64, which computes the same
    float32 weights in double, to 1e-6. info says which inputs are scaled: all of them,
    here; a model trained now leaves the 0/1 ones."""
    model = os.path.join(HERE, "data", "model-v2.safetensors")
    data = os.path.join(HERE, "data", "model-v2.csv")
    got = run("predict", "--model", model, "--data", data).stdout
    with open(os.path.join(HERE, "data", "model-v2.predict.csv")) as f:
        want = f.read()
    if is_double() or openblas_core.core() != "Haswell":
        a = [line.split(",") for line in got.splitlines()]
        b = [line.split(",") for line in want.splitlines()]
        ok = len(a) == len(b) and all(x[0] == y[0] and np.allclose(
            [float(v) for v in x[1:]], [float(v) for v in y[1:]], atol=1e-6) for x, y in zip(a[1:], b[1:]))
    else:
        ok = got == want
    result("format-version-2-predicts-as-before", ok, got[:200])
    info = run("info", "--model", model).stdout
    result("format-version-2-info-scaled", "7 of 7 inputs scaled" in info, info)
    new = os.path.join(tmp, "v2-retrained.st")
    run("train", "--data", data, "--target", "label", "--missing", "impute", "--hidden", 6,
        "--epochs", 1, "--save", new, "--quiet")
    info = run("info", "--model", new).stdout
    js = json.loads(run("info", "--model", new, "--json").stdout)["normalization"]
    result("new-model-info-scaled", "3 of 7 inputs scaled, 4 as they are: 2 (wind missing), "
           "3 (sky=cloud), 4 (sky=fog), 5 (sky=sun)" in info and
           js["scaled"] == [True, True, False, False, False, False, True], info)


def export_cases(tmp):
    """A model with an encoder exports to ONNX and C taking the encoded vector: the
    ONNX file carries the encoder (predict on raw rows through it gives what the
    model file gives) and names each input; onnxruntime on the encoded rows gives
    predict's probabilities; the C header lists what each input is."""
    rng = np.random.default_rng(3)
    header = ["id", "color", "size", "label"]
    rows = []
    for i in range(120):
        color = ["red", "green", "blue"][i % 3]
        size = "" if i % 10 == 0 else "%.3f" % rng.normal(2 if color == "red" else 0)
        rows.append([str(i), color, size, "big" if color == "red" or i % 4 == 0 else "small"])
    data = os.path.join(tmp, "exp.csv")
    write_csv(data, header, rows)
    st, onnx_path = os.path.join(tmp, "exp.st"), os.path.join(tmp, "exp.onnx")
    run("train", "--data", data, "--ignore", "id", "--missing", "impute", "--hidden", "6",
        "--epochs", "3", "--seed", "1", "--save", st, "--quiet")
    run("export", "--model", st, "--format", "onnx", "--output", onnx_path)
    run("export", "--model", st, "--format", "c", "--output", os.path.join(tmp, "exp.c"))
    want = [
        "size", "size missing", "color=blue", "color=green", "color=red"]
    import onnx
    meta = {p.key: p.value for p in onnx.load(onnx_path).metadata_props}
    names = json.loads(meta.get("inputs", "[]"))
    result("export-onnx-names-inputs", sorted(names) == sorted(want) and "encoder" in meta,
           "inputs %s" % names)
    with open(os.path.join(tmp, "exp.h")) as f:
        h = f.read()
    result("export-c-names-inputs", all("] " + n in h for n in want), h[:1200])
    # predict on raw rows through the ONNX file's encoder
    a = run("predict", "--model", st, "--data", data).stdout.splitlines()
    b = run("predict", "--model", onnx_path, "--data", data).stdout.splitlines()
    pa = np.array([[float(v) for v in r.split(",")[1:]] for r in a[1:]])
    pb = np.array([[float(v) for v in r.split(",")[1:]] for r in b[1:]])
    ok = a[0] == b[0] and pa.shape == pb.shape and np.all(np.abs(pa - pb) <= 1e-6 + 1e-5 * np.abs(pa))
    result("export-onnx-keeps-encoder: predict on raw rows", ok, "%s vs %s" % (a[:2], b[:2]))
    # onnxruntime on the encoded (not normalized) rows
    out = subprocess.run([TOOL, st, data], capture_output=True, text=True, check=True).stdout
    x = np.array([[float(v) for v in l.split("\t")[1:]] for l in out.splitlines()
                  if l.startswith("x\t")], dtype=np.float32)
    xin, yout, jobs = (os.path.join(tmp, n) for n in ("x.bin", "y.bin", "jobs.json"))
    x.tofile(xin)
    with open(jobs, "w") as f:
        json.dump([{"model": onnx_path, "input": xin, "rows": len(x), "cols": x.shape[1],
                    "output": yout}], f)
    r = subprocess.run(["node", os.path.join(HERE, "node", "run_onnx.js"), jobs],
                       capture_output=True, text=True)
    y = np.fromfile(yout, dtype=np.float32).reshape(pa.shape) if r.returncode == 0 else None
    ok = y is not None and np.all(np.abs(y - pa) <= 1e-6 + 1e-5 * np.abs(pa))
    result("export-onnx-encoded-rows: onnxruntime vs predict", ok,
           r.stderr[-500:] if y is None else "max diff %g" % np.max(np.abs(y - pa)))


def main():
    if not built(B, "test_tabular.py") or not built(TOOL, "test_tabular.py"):
        return 1
    if not os.path.isdir(VEGA):
        result("vega-datasets", False, "%s missing: apt-get install python3-vega-datasets" % VEGA)
        return summary("test_tabular.py")
    with tempfile.TemporaryDirectory() as tmp:
        for case in (old_file_case, v2_file_case, hostile_cases, multi_cases, seattle_cases, cars_cases,
                     export_cases):
            try:
                case(tmp)
            except Exception as e:  # a crash of one group fails it, the others still run
                result(case.__name__, False, repr(e))
    return summary("test_tabular.py")


if __name__ == "__main__":
    sys.exit(main())
