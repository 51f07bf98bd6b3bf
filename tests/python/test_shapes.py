"""Fitted attributes that do not fit X or each other: scikit-learn raises
ValueError (its matrix products refuse the shapes); the library, handed a
model built from coefs_ and the pointer to X, would read past X. Each case
here must raise ValueError naming the attribute, never crash or answer."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

import backprop
from backprop import _lib

warnings.simplefilter("ignore", ConvergenceWarning)

X_IRIS, Y_IRIS = load_iris(return_X_y=True)
X3 = np.ascontiguousarray(X_IRIS[:, :3])  # a 3-feature, 3-class problem


def iris_model(**kw):
    kw = dict(dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0), **kw)
    return backprop.MLPClassifier(**kw).fit(X3, Y_IRIS)


def test_huge_first_layer_raises_not_crashes():
    """coefs_[0] of 100000 rows on a 3-feature model: the library read
    100000 values per row of X (SIGSEGV). In a child process, so that a
    crash fails this test instead of ending the run."""
    code = (
        "import numpy as np, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from sklearn.datasets import load_iris\n"
        "import backprop\n"
        "X, y = load_iris(return_X_y=True)\n"
        "X = np.ascontiguousarray(np.tile(X[:, :3], (20, 1)))\n"
        "y = np.tile(y, 20)\n"
        "m = backprop.MLPClassifier((5,), max_iter=2, random_state=0).fit(X, y)\n"
        "m.coefs_[0] = np.ones((100000, 5))\n"
        "try:\n"
        "    m.predict_proba(X)\n"
        "except ValueError as e:\n"
        "    print('ValueError:', e)\n"
        "else:\n"
        "    print('no error')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=os.environ, timeout=300)
    assert proc.returncode == 0, "child died: rc %d\n%s" % (proc.returncode, proc.stderr[-2000:])
    assert "ValueError: coefs_[0] has shape (100000, 5)" in proc.stdout, proc.stdout + proc.stderr


def test_first_layer_wider_than_x_raises():
    """50 rows: read past X without crashing, different numbers each run."""
    m = iris_model()
    m.coefs_[0] = np.ones((50, 5))
    with pytest.raises(ValueError, match=r"coefs_\[0\] has shape \(50, 5\).*3 features"):
        m.predict_proba(X3)
    with pytest.raises(ValueError, match=r"coefs_\[0\]"):
        m.predict(X3)


def test_dropped_layer_raises():
    """One layer fewer: 5 columns of probabilities for a 3-class model."""
    m = iris_model()
    m.coefs_ = m.coefs_[:1]
    m.intercepts_ = m.intercepts_[:1]
    with pytest.raises(ValueError, match=r"n_layers_ = 3"):
        m.predict_proba(X3)
    m.n_layers_ = 2  # consistent count, but the last layer has 5 outputs, not 3
    with pytest.raises(ValueError, match=r"coefs_\[0\] has 5 outputs.*3 classes"):
        m.predict_proba(X3)


def test_inner_and_intercept_shapes_raise():
    m = iris_model(hidden_layer_sizes=(5, 4))
    good = [c.copy() for c in m.coefs_], [b.copy() for b in m.intercepts_]
    m.coefs_[1] = np.ones((6, 4))
    with pytest.raises(ValueError, match=r"coefs_\[1\] has shape \(6, 4\).*coefs_\[0\] has 5"):
        m.predict(X3)
    m.coefs_, m.intercepts_ = [c.copy() for c in good[0]], [b.copy() for b in good[1]]
    m.intercepts_[0] = np.ones(7)
    with pytest.raises(ValueError, match=r"intercepts_\[0\] has shape \(7,\).*\(5,\)"):
        m.predict(X3)
    m.intercepts_[0] = np.ones((5, 1))
    with pytest.raises(ValueError, match=r"intercepts_\[0\] has shape \(5, 1\)"):
        m.predict(X3)
    m.intercepts_[0] = good[1][0]
    m.coefs_[0] = np.ones(15)
    with pytest.raises(ValueError, match=r"coefs_\[0\] has shape \(15,\)"):
        m.predict(X3)
    m.coefs_, m.intercepts_ = good
    assert m.predict_proba(X3).shape == (150, 3)


def test_output_count_raises():
    # binary: one output column; two is a model of another problem
    yb = (Y_IRIS > 0).astype(int)
    m = backprop.MLPClassifier((4,), max_iter=3, random_state=0).fit(X3, yb)
    m.coefs_[-1] = np.ones((4, 2))
    m.intercepts_[-1] = np.ones(2)
    with pytest.raises(ValueError, match=r"2 outputs.*1 \(2 classes\)"):
        m.predict_proba(X3)
    # a regressor's outputs
    Y2 = np.c_[X_IRIS[:, 3], Y_IRIS]
    r = backprop.MLPRegressor((4,), max_iter=3, random_state=0).fit(X3, Y2)
    r.coefs_[-1] = np.ones((4, 3))
    r.intercepts_[-1] = np.ones(3)
    with pytest.raises(ValueError, match=r"3 outputs.*n_outputs_ = 2"):
        r.predict(X3)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_warm_start_with_inconsistent_coefs_raises(solver):
    """coefs_[1] (4, 3) with intercepts_[0] of 8 fills the library's flat
    buffer exactly (15 + 8 + 12 + 3 = 38 values): it trained on garbage."""
    m = iris_model(hidden_layer_sizes=(5,), solver=solver, warm_start=True)
    m.coefs_[1] = np.ones((4, 3))
    m.intercepts_[0] = np.ones(8)
    with pytest.raises(ValueError, match=r"intercepts_\[0\] has shape \(8,\)"):
        m.fit(X3, Y_IRIS)


def test_partial_fit_with_inconsistent_coefs_raises():
    m = backprop.MLPClassifier((5,), random_state=0)
    m.partial_fit(X3, Y_IRIS, classes=np.unique(Y_IRIS))
    m.coefs_[1] = np.ones((4, 3))
    m.intercepts_[0] = np.ones(8)
    with pytest.raises(ValueError, match=r"intercepts_\[0\] has shape \(8,\)"):
        m.partial_fit(X3, Y_IRIS)


def test_partial_fit_with_bad_optimizer_state_raises():
    """The Adam moments must be one value per parameter each: a short slot
    was dropped silently (the moments restarted from zero)."""
    m = backprop.MLPClassifier((5,), random_state=0)
    m.partial_fit(X3, Y_IRIS, classes=np.unique(Y_IRIS))
    solver, steps, lr, slots = m._optimizer_state
    assert len(slots) == 2 and slots[0].shape == (38,)
    m._optimizer_state = (solver, steps, lr, [slots[0], slots[1][:10]])
    with pytest.raises(ValueError, match=r"_optimizer_state slot 1 has shape \(10,\).*\(38,\)"):
        m.partial_fit(X3, Y_IRIS)
    m._optimizer_state = (solver, steps, lr, slots[:1])
    with pytest.raises(ValueError, match=r"_optimizer_state has 1 slots?.*2"):
        m.partial_fit(X3, Y_IRIS)
    m._optimizer_state = (solver, -1, lr, slots)
    with pytest.raises(ValueError, match=r"_optimizer_state step count -1"):
        m.partial_fit(X3, Y_IRIS)
    m._optimizer_state = (solver, steps, lr, slots)
    m.partial_fit(X3, Y_IRIS)


def test_network_checks_x_width():
    """The last line before C: a network of 3 inputs refuses 2 or 4 columns."""
    lib = _lib.library(np.float64)
    with _lib.Network(lib, [3, 2], "relu", "identity", _lib.LOSS_HALF_SSE) as net:
        assert net.predict(np.ones((4, 3))).shape == (4, 2)
        for bad in (np.ones((4, 2)), np.ones((4, 4)), np.ones(3)):
            with pytest.raises(ValueError, match="network of 3 inputs"):
                net.predict(bad)
