"""backprop.save / backprop.load against the command of the build in
$BP_BUILD (issue 23):

1. scikit-learn fit -> backprop.save -> `backprop predict` equals predict_proba
   and predict (multiclass softmax with named columns and a StandardScaler,
   binary with string labels and a MinMaxScaler, integer labels, regression
   with two scalers, multi-label, and backprop's own float32 estimator);
2. the same files -> `backprop export --format c`, compiled natively with
   gcc (tests/export/driver.c, as tests/test_export_c.py) -> equal them too,
   and so does `backprop export --format onnx` read back by `backprop
   predict`; `backprop eval` finds a target column named by save(target=)
   and gives scikit-learn's accuracy;
3. a model trained by `backprop train` -> backprop.load -> predict_proba /
   predict equal `backprop predict` (classification with names and
   --normalize standard, binary, regression), and save(load(f)) predicts
   the same again;
4. refusals with their messages: a Pipeline step the file cannot carry, an
   unfitted estimator (alone or in a Pipeline), another estimator, a
   clipping MinMaxScaler; load of a model with a categorical column.

Tolerances: a float64 path (the double build's `backprop predict`) agrees to
1e-6 (relative above 1); a float32 path (the float build's command, the
generated C, which computes in float32) to 1e-6 + 1e-5 |ref|, as
tests/test_export_c.py. Inputs are float32 values, so both read the same.
"""
import csv
import os
import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest

from sklearn.datasets import load_iris, load_diabetes
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import backprop

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("BP_BUILD", "build/float"))
CLI = os.path.join(BUILD, "bin", "backprop")
DRIVER = os.path.join(ROOT, "tests", "export", "driver.c")
DOUBLE = "double" in os.path.basename(BUILD.rstrip("/"))
# The CLI must not inherit the sanitizer runtime python was started with.
ENV = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD",)}

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def run(args, **kw):
    r = subprocess.run([CLI] + args, capture_output=True, text=True, env=ENV, **kw)
    assert r.returncode == 0, "backprop %s: %s" % (" ".join(args), r.stderr)
    return r


def assert_close(got, ref, float32, what):
    got, ref = np.asarray(got, float), np.asarray(ref, float)
    assert got.shape == ref.shape, "%s: shape %s vs %s" % (what, got.shape, ref.shape)
    tol = 1e-6 + 1e-5 * np.abs(ref) if float32 else 1e-6 * np.maximum(1, np.abs(ref))
    worst = np.max(np.abs(got - ref))
    assert np.all(np.abs(got - ref) <= tol), "%s: max |diff| %.3g" % (what, worst)


def f32(X):
    """X as float32 values (in float64): what a float32 reader sees exactly."""
    return np.asarray(X, dtype=np.float32).astype(np.float64)


def write_csv(path, X, names=None):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if names is not None:
            w.writerow(names)
        for row in np.asarray(X):
            w.writerow(["%.17g" % v for v in row])


def cli_predict(tmp_path, model, X, names=None):
    """`backprop predict`: (labels or None, values (n, k))."""
    data, out = str(tmp_path / "x.csv"), str(tmp_path / "pred.csv")
    write_csv(data, X, names)
    run(["predict", "--model", model, "--data", data, "--output", out])
    with open(out, encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    if head[0] == "label":
        return [r[0] for r in body], np.array([[float(v) for v in r[1:]] for r in body])
    return None, np.array([[float(v) for v in r] for r in body])


def c_predict(tmp_path, model, X, classes):
    """The model exported as C, compiled with gcc and run on X: (y, class indices)."""
    stem = "m"
    src = str(tmp_path / (stem + ".c"))
    run(["export", "--model", model, "--format", "c", "--output", src])
    exe = str(tmp_path / "drv")
    cmd = ["gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-I", str(tmp_path),
           "-DMODEL=" + stem, '-DHEADER="%s.h"' % stem] + (["-DCLASSES"] if classes else []) + \
        [DRIVER, src, "-o", exe, "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr
    inp = "".join("x " + " ".join("%.17g" % v for v in row) + "\n" for row in X)
    out = subprocess.run([exe], input=inp, capture_output=True, text=True, env=ENV).stdout
    y = [[float(v) for v in ln.split()[1:]] for ln in out.splitlines() if ln.startswith("y ")]
    c = [int(ln.split()[1]) for ln in out.splitlines() if ln.startswith("c ")]
    return np.array(y), c


def proba(est, X):
    p = est.predict_proba(X)
    return p


# ----------------------------------------------------------------- fixtures

def iris_frame():
    X, y = load_iris(return_X_y=True, as_frame=True)
    X = X.astype(np.float32).astype(np.float64)
    return X, y


def fitted_cases():
    """(name, fitted estimator, X (float32 values), feature names or None, kind)."""
    X, y = iris_frame()
    cases = [("multiclass, StandardScaler, named columns",
              make_pipeline(StandardScaler(), SkMLPClassifier((7,), max_iter=300,
                                                              random_state=0)).fit(X, y),
              X, list(X.columns), "classes")]
    rng = np.random.default_rng(1)
    Xb = f32(rng.normal(0, 3, size=(80, 5)))
    yb = np.where(Xb[:, 0] - Xb[:, 1] > 0, "yes, \"quoted\"", "no")
    cases.append(("binary, string labels, MinMaxScaler, tanh, 2 hidden layers",
                  make_pipeline(MinMaxScaler(), SkMLPClassifier((6, 4), activation="tanh",
                                                                max_iter=200, random_state=0))
                  .fit(Xb, yb), Xb, None, "classes"))
    yi = (Xb[:, 2] > 0).astype(int) + 2 * (Xb[:, 3] > 1)
    cases.append(("integer labels, logistic hidden, no scaler",
                  SkMLPClassifier((5,), activation="logistic", max_iter=200,
                                  random_state=0).fit(Xb, yi * 10), Xb, None, "classes"))
    Xd, yd = load_diabetes(return_X_y=True)
    Xd = f32(Xd)
    cases.append(("regression, StandardScaler then MinMaxScaler, identity hidden",
                  make_pipeline(StandardScaler(), MinMaxScaler((-1, 1)),
                                SkMLPRegressor((9,), activation="identity", max_iter=300,
                                               random_state=0)).fit(Xd, yd),
                  Xd[:60], None, "values"))
    Ym = np.stack([Xb[:, 0] > 0, Xb[:, 1] > 0, Xb[:, 0] + Xb[:, 4] > 1], axis=1).astype(int)
    cases.append(("multi-label", SkMLPClassifier((6,), max_iter=200, random_state=0)
                  .fit(Xb, Ym), Xb, None, "multilabel"))
    cases.append(("backprop's own float32 MLPClassifier",
                  backprop.MLPClassifier((8,), max_iter=100, random_state=0)
                  .fit(X.values.astype(np.float32), y), X.values, None, "classes"))
    return cases


CASES = fitted_cases()


def reference(est, X, kind):
    """What the estimator gives: (labels or None, values as the command writes them)."""
    if kind == "values":
        v = est.predict(X)
        return None, v.reshape(len(X), -1)
    if kind == "multilabel":
        return None, est.predict_proba(X)
    return [str(c) for c in est.predict(X)], est.predict_proba(X)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_save_then_cli_predict(tmp_path, case):
    name, est, X, names, kind = case
    model = str(tmp_path / "m.safetensors")
    backprop.save(est, model)
    labels, ref = reference(est, X, kind)
    got_labels, got = cli_predict(tmp_path, model, np.asarray(X), names)
    assert_close(got, ref, not DOUBLE, name + ": backprop predict vs scikit-learn")
    assert got_labels == labels


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_save_then_export_c(tmp_path, case):
    name, est, X, names, kind = case
    model = str(tmp_path / "m.safetensors")
    backprop.save(est, model)
    labels, ref = reference(est, X, kind)
    y, cls = c_predict(tmp_path, model, np.asarray(X), kind == "classes")
    if kind == "classes" and ref.shape[1] == 2:
        ref = ref[:, 1:]  # one sigmoid output: NAME_predict writes p of the second class
    assert_close(y, ref, True, name + ": generated C vs scikit-learn")
    if kind == "classes":
        assert [str(est.classes_[c]) for c in cls] == labels


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_save_then_export_onnx(tmp_path, case):
    """`backprop export --format onnx`, read back by `backprop predict` (float32 values)."""
    name, est, X, names, kind = case
    model, onnx = str(tmp_path / "m.safetensors"), str(tmp_path / "m.onnx")
    backprop.save(est, model)
    run(["export", "--model", model, "--format", "onnx", "--output", onnx])
    labels, ref = reference(est, X, kind)
    got_labels, got = cli_predict(tmp_path, onnx, np.asarray(X), names)
    assert_close(got, ref, True, name + ": the ONNX export vs scikit-learn")
    assert got_labels == labels


def test_save_then_eval(tmp_path):
    """target= names the target column, so `backprop eval` reads it by name;
    without names the CSV's last column is the target."""
    X, y = iris_frame()
    est = SkMLPClassifier((7,), max_iter=300, random_state=0).fit(X, y)
    named, plain = str(tmp_path / "named.safetensors"), str(tmp_path / "plain.safetensors")
    backprop.save(est, named, target="species")
    backprop.save(SkMLPClassifier((7,), max_iter=300, random_state=0).fit(X.values, y), plain)
    data = str(tmp_path / "iris.csv")
    X.assign(species=y).to_csv(data, index=False)
    want = "accuracy %.2f%%" % (100 * est.score(X, y))
    for model in (named, plain):
        out = run(["eval", "--model", model, "--data", data]).stdout
        assert want in out, out
    with pytest.raises(ValueError, match=r"target='y' names the target column of a table, "
                       r"which needs the model's feature_names_in_"):
        backprop.save(SkMLPClassifier((3,), max_iter=5).fit(X.values, y), plain, target="y")


def test_info_shows_what_was_saved(tmp_path):
    _, est, _, _, _ = CASES[0]
    model = str(tmp_path / "m.safetensors")
    backprop.save(est, model)
    out = run(["info", "--model", model]).stdout
    assert "4-7-3 relu/softmax xent" in out
    assert "labels        3: 0, 1, 2" in out
    assert "petal width (cm)" in out and "normalize" in out


# ------------------------------------------------------------ CLI -> load

def cli_trained(tmp_path, kind):
    rng = np.random.default_rng(4)
    X = f32(rng.normal(0, 2, size=(120, 4)) + [0, 5, -3, 100])
    names = ["alpha", "beta gamma", "delta", "eps"]
    if kind == "classes":
        t = np.array(["b", "a", "c"])[np.digitize(X[:, 0] - X[:, 1] + 5, [-1, 1])]
    elif kind == "binary":
        t = np.where(X[:, 2] > -3, "up", "down")
    else:
        t = ["%.4f" % v for v in 3 * X[:, 0] - X[:, 3] / 10]
    path = str(tmp_path / "train.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id"] + names + ["target"])
        for i, (row, ti) in enumerate(zip(X, t)):
            w.writerow([i] + ["%.17g" % v for v in row] + [ti])
    model = str(tmp_path / "cli.safetensors")
    run(["train", "--data", path, "--target", "target", "--ignore", "id", "--hidden", "6",
         "--act", "tanh", "--epochs", "3", "--normalize", "standard", "--seed", "2", "--quiet",
         "--save", model, "--threads", "1"])
    return model, pd.DataFrame(X, columns=names), names


@pytest.mark.parametrize("kind", ["classes", "binary", "values"])
def test_cli_trained_then_load(tmp_path, kind):
    model, X, names = cli_trained(tmp_path, kind)
    est = backprop.load(model)
    assert isinstance(est, Pipeline) and isinstance(est[0], StandardScaler)
    assert list(est[0].feature_names_in_) == names
    labels, ref = cli_predict(tmp_path, model, X.values, names)
    if kind == "values":
        got = est.predict(X).reshape(len(X), -1)
    else:
        got = est.predict_proba(X)
        assert [str(c) for c in est.predict(X)] == labels
    assert_close(got, ref, not DOUBLE, kind + ": backprop.load vs backprop predict")
    # and back: save(load(file)) predicts the same
    again = str(tmp_path / "again.safetensors")
    backprop.save(est, again)
    labels2, ref2 = cli_predict(tmp_path, again, X.values, names)
    assert labels2 == labels
    assert_close(ref2, ref, not DOUBLE, kind + ": save(load(file)) vs the file")


def test_loaded_classes_keep_their_dtype(tmp_path):
    _, est, X, _, _ = CASES[2]  # integer labels 0, 10, 20, 30
    model = str(tmp_path / "m.safetensors")
    backprop.save(est, model)
    back = backprop.load(model)
    assert back.classes_.dtype == est.classes_.dtype
    assert np.array_equal(back.predict(X), est.predict(X))
    np.testing.assert_allclose(back.predict_proba(X), est.predict_proba(X), atol=1e-12)


# ---------------------------------------------------------------- refusals

def test_refuses_a_step_it_cannot_carry(tmp_path):
    X, y = iris_frame()
    p = Pipeline([("scale", StandardScaler()), ("pca", PCA(2)),
                  ("mlp", SkMLPClassifier((3,), max_iter=20, random_state=0))]).fit(X, y)
    with pytest.raises(ValueError, match=r"Pipeline step 'pca' \(PCA\) cannot be stored in a "
                       r"backprop model file: only StandardScaler or MinMaxScaler before the MLP"):
        backprop.save(p, str(tmp_path / "m.safetensors"))
    assert not os.path.exists(tmp_path / "m.safetensors")


def test_refuses_an_unfitted_estimator(tmp_path):
    with pytest.raises(NotFittedError, match=r"the MLPRegressor is not fitted yet: call fit"):
        backprop.save(SkMLPRegressor(), str(tmp_path / "m.safetensors"))
    X, y = iris_frame()
    p = make_pipeline(StandardScaler(), backprop.MLPClassifier())
    with pytest.raises(NotFittedError, match=r"the MLPClassifier is not fitted yet"):
        backprop.save(p, str(tmp_path / "m.safetensors"))
    assert not os.path.exists(tmp_path / "m.safetensors")


def test_refuses_other_estimators_and_clipping(tmp_path):
    X, y = iris_frame()
    with pytest.raises(ValueError, match=r"a LogisticRegression cannot be stored"):
        backprop.save(LogisticRegression().fit(X, y), str(tmp_path / "m.safetensors"))
    p = make_pipeline(MinMaxScaler(clip=True), SkMLPClassifier((3,), max_iter=20)).fit(X, y)
    with pytest.raises(ValueError, match=r"MinMaxScaler\(clip=True\)\) clips"):
        backprop.save(p, str(tmp_path / "m.safetensors"))


def test_load_refuses_categories(tmp_path):
    path = str(tmp_path / "t.csv")
    with open(path, "w") as f:
        f.write("x,colour,y\n")
        for i in range(30):
            f.write("%d,%s,%d\n" % (i, ["red", "green"][i % 2], i % 3))
    model = str(tmp_path / "cat.safetensors")
    run(["train", "--data", path, "--hidden", "3", "--epochs", "1", "--quiet", "--save", model])
    with pytest.raises(ValueError, match=r"column 'colour' is categorical \(one-hot over 2 "
                       r"categories\): scikit-learn's MLP takes numbers only"):
        backprop.load(model)
