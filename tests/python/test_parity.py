"""backprop's estimators against scikit-learn 1.2's own, number for number:
same data, parameters and random_state, float64. Both compute the same
operations; only the summation order of the matrix products differs (BLAS
blocking), which float64 keeps to ~1e-16 per step (docs/PYTHON.md gives the
measured differences)."""
import pickle
import warnings

import numpy as np
import pytest
import sklearn.neural_network as sk
from sklearn.base import clone
from sklearn.datasets import (load_breast_cancer, load_diabetes, load_digits, load_iris,
                              load_wine, make_multilabel_classification, make_regression)
from sklearn.exceptions import ConvergenceWarning

import backprop

warnings.simplefilter("ignore", ConvergenceWarning)

CLASSIFICATION = {"iris": load_iris, "digits": load_digits, "breast_cancer": load_breast_cancer,
                  "wine": load_wine}
LOSS_RTOL, COEF_RTOL = 1e-6, 1e-5


def rel(a, b):
    """max |a - b| / max |b| over an array (0 for two zero arrays)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.abs(b).max()
    return float(np.abs(a - b).max() / scale) if scale else float(np.abs(a).max())


def curve_rel(a, b):
    """elementwise relative difference of two loss curves, worst element"""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def fit_both(name, X, y, **kw):
    ours = getattr(backprop, name)(**kw).fit(X, y)
    theirs = getattr(sk, name)(**kw).fit(X, y)
    return ours, theirs


def assert_same(ours, theirs, X, classifier):
    assert ours.n_iter_ == theirs.n_iter_
    if hasattr(theirs, "loss_curve_"):
        assert len(ours.loss_curve_) == len(theirs.loss_curve_)
        assert curve_rel(ours.loss_curve_, theirs.loss_curve_) <= LOSS_RTOL
    assert abs(ours.loss_ - theirs.loss_) <= LOSS_RTOL * abs(theirs.loss_)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert rel(a, b) <= COEF_RTOL
    if classifier:
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
        assert rel(ours.predict_proba(X), theirs.predict_proba(X)) <= COEF_RTOL
    else:
        assert rel(ours.predict(X), theirs.predict(X)) <= COEF_RTOL


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("data", sorted(CLASSIFICATION))
def test_classifier_parity(data, solver):
    X, y = CLASSIFICATION[data](return_X_y=True)
    ours, theirs = fit_both("MLPClassifier", X, y, solver=solver, max_iter=50, random_state=0)
    assert_same(ours, theirs, X, True)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_regressor_parity_diabetes(solver):
    X, y = load_diabetes(return_X_y=True)
    ours, theirs = fit_both("MLPRegressor", X, y, solver=solver, max_iter=50, random_state=0)
    assert_same(ours, theirs, X, False)


@pytest.mark.parametrize("kw", [
    dict(activation="tanh", hidden_layer_sizes=(30, 20), batch_size=32),
    dict(activation="logistic", alpha=0.01, solver="sgd", learning_rate="invscaling",
         learning_rate_init=0.1),
    dict(activation="identity", solver="sgd", nesterovs_momentum=False, shuffle=False),
    dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.5, momentum=0.0,
         tol=1e-2, n_iter_no_change=2, max_iter=100),
    dict(early_stopping=True, validation_fraction=0.2, max_iter=100),
    dict(solver="sgd", early_stopping=True, max_iter=100),
])
def test_options_parity(kw):
    X, y = load_iris(return_X_y=True)
    kw = {"max_iter": 50, "random_state": 1, **kw}
    ours, theirs = fit_both("MLPClassifier", X, y, **kw)
    assert_same(ours, theirs, X, True)
    if kw.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
        assert ours.best_validation_score_ == theirs.best_validation_score_
        assert len(ours.validation_loss_curve_) == len(ours.validation_scores_)
    else:
        assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=LOSS_RTOL)


def test_multilabel_and_multioutput_parity():
    X, Y = make_multilabel_classification(n_samples=120, n_features=6, n_classes=4,
                                          random_state=0)
    ours, theirs = fit_both("MLPClassifier", X, Y, max_iter=40, random_state=0)
    assert_same(ours, theirs, X, True)
    X, Y = make_regression(n_samples=150, n_features=5, n_targets=3, random_state=0)
    for solver in ("adam", "lbfgs"):
        ours, theirs = fit_both("MLPRegressor", X, Y, solver=solver, max_iter=40, random_state=0)
        assert_same(ours, theirs, X, False)


def test_partial_fit_and_warm_start_parity():
    X, y = load_iris(return_X_y=True)
    a = backprop.MLPClassifier(random_state=0)
    b = sk.MLPClassifier(random_state=0)
    for _ in range(5):
        a.partial_fit(X, y, classes=np.unique(y))
        b.partial_fit(X, y, classes=np.unique(y))
    assert_same(a, b, X, True)
    a = backprop.MLPRegressor(random_state=0, warm_start=True, max_iter=10, solver="sgd")
    b = sk.MLPRegressor(random_state=0, warm_start=True, max_iter=10, solver="sgd")
    Xd, yd = load_diabetes(return_X_y=True)
    for _ in range(3):
        a.fit(Xd, yd / 100)
        b.fit(Xd, yd / 100)
    assert_same(a, b, Xd, False)


def test_float32_computes_in_float32():
    X, y = load_digits(return_X_y=True)
    X32 = (X / 16).astype(np.float32)
    ours, theirs = fit_both("MLPClassifier", X32, y, max_iter=10, random_state=0)
    assert all(c.dtype == np.float32 for c in ours.coefs_ + ours.intercepts_)
    assert ours.predict_proba(X32).dtype == np.float32
    # float32 rounding, not a different algorithm: the curves agree to float32's precision
    assert curve_rel(ours.loss_curve_, theirs.loss_curve_) < 1e-4
    assert (ours.predict(X32) == theirs.predict(X32)).mean() > 0.99


def test_pickle_clone_no_handle():
    X, y = load_iris(return_X_y=True)
    clf = backprop.MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0,
                                 n_threads=1).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    fresh = clone(clf)
    assert not hasattr(fresh, "coefs_") and fresh.get_params() == clf.get_params()
    np.testing.assert_array_equal(fresh.fit(X, y).predict_proba(X), clf.predict_proba(X))
    for v in vars(clf).values():  # only NumPy arrays, lists and plain values: no handle
        assert not type(v).__module__.startswith("ctypes")
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), clf.predict_proba(X))
    assert clf.score(X, y) == sk.MLPClassifier(hidden_layer_sizes=(8,), max_iter=20,
                                               random_state=0).fit(X, y).score(X, y)


def test_extras_and_errors():
    X, y = load_iris(return_X_y=True)
    for solver in ("adamw", "rmsprop"):
        clf = backprop.MLPClassifier(solver=solver, max_iter=30, random_state=0).fit(X, y)
        assert len(clf.loss_curve_) == clf.n_iter_ and clf.score(X, y) > 0.6
        assert clf.loss_curve_[-1] < clf.loss_curve_[0]
        clf.partial_fit(X, y)
    with pytest.raises(ValueError):
        backprop.MLPClassifier(solver="nadam").fit(X, y)
    lib = backprop.library(np.float64)
    with pytest.raises(ValueError, match="at most 32"):
        backprop._lib.Network(lib, [4] * 40, "relu", "identity", backprop._lib.LOSS_HALF_SSE)
    with pytest.raises(ValueError, match="sizes"):  # the library's own message
        backprop._lib.Network(lib, [4, 0, 2], "relu", "identity", backprop._lib.LOSS_HALF_SSE)
    # a learning rate that makes the loss overflow: sklearn's ValueError, with the library's why
    Xd, yd = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match="non-finite"):
        backprop.MLPRegressor(solver="sgd", learning_rate_init=10.0, max_iter=5,
                              random_state=0).fit(Xd * 1e3, yd * 1e3)


def test_partial_fit_refuses_optimizer_state_of_another_size():
    # as bp_trainer_create refuses an optimizer sized for another model, the
    # state partial_fit carries must be the model's size: it was dropped silently
    X, y = load_iris(return_X_y=True)
    clf = backprop.MLPClassifier(hidden_layer_sizes=(8,), random_state=0, n_threads=1)
    clf.partial_fit(X, y, classes=np.unique(y))
    solver, steps, lr, slots = clf._optimizer_state
    n = slots[0].size
    for bad in ([s[:10] for s in slots], [s[:1] for s in slots], slots[:1]):
        clf._optimizer_state = (solver, steps, lr, bad)
        with pytest.raises(ValueError, match="_optimizer_state (has|slot)|model.s %d parameters" % n):
            clf.partial_fit(X, y)
    clf._optimizer_state = (solver, steps, lr, slots)
    clf.partial_fit(X, y)


@pytest.mark.parametrize("mixed", [True, False])
def test_threads_take_turns(mixed):
    """Fits from several Python threads (the GIL is released in the library)
    give what the same fits give one after the other: with mixed n_threads
    (the gate changes the library's count between calls) and with one
    n_threads (the calls run in the library at the same time)."""
    from concurrent.futures import ThreadPoolExecutor
    X, y = load_digits(return_X_y=True)
    kws = [dict(hidden_layer_sizes=(64,), max_iter=5, random_state=s,
                n_threads=1 + s % 2 if mixed else 2) for s in range(4)]
    alone = [backprop.MLPClassifier(**kw).fit(X, y).coefs_[0] for kw in kws]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda kw: backprop.MLPClassifier(**kw).fit(X, y).coefs_[0], kws))
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)


def test_thread_count_gate_order():
    """The gate lets calls of the count in force in together, holds a call of
    another count until they are out, and keeps arrival order."""
    import threading
    import time
    from backprop._lib import ThreadCountGate
    log, inside = [], []
    gate = ThreadCountGate(lambda n: log.append(("set", n)))

    def call(n, hold):
        with gate(n):
            inside.append(n)
            log.append(("in", n, len(inside)))
            time.sleep(hold)
            inside.remove(n)

    first = threading.Thread(target=call, args=(2, 0.3))
    first.start()
    time.sleep(0.05)
    later = [threading.Thread(target=call, args=a) for a in ((2, 0), (1, 0), (2, 0))]
    for t in later:
        t.start()
        time.sleep(0.05)
    for t in [first] + later:
        t.join()
    assert log[:3] == [("set", 2), ("in", 2, 1), ("in", 2, 2)]  # same count: in together
    assert log[3] == ("set", 1) and log[4] == ("in", 1, 1)        # the other waits for both
    assert log[5:] == [("set", 2), ("in", 2, 1)]                  # the last 2 queued behind it


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_library_shuffle_is_numpys(dtype):
    """bp_shuffle_mt19937 (the epochs' permutations) against NumPy's own
    RandomState.shuffle: the same permutations, the same generator state
    after, across the 624-word regenerations and from any position."""
    from backprop import _lib
    lib = _lib.library(dtype)
    for seed in range(3):
        for n in (0, 1, 2, 3, 10, 623, 624, 625, 1797, 5000, 70000):
            a, b = np.random.RandomState(seed), np.random.RandomState(seed)
            a.randint(0, 10, size=seed * 300), b.randint(0, 10, size=seed * 300)
            ia = np.arange(n, dtype=np.uintp)
            ib = ia.copy()
            with _lib.NumpyShuffler(lib, b, ib) as sh:
                for _ in range(3):
                    a.shuffle(ia)
                    sh.shuffle()
                    np.testing.assert_array_equal(ia, ib)
            sa, sb = a.get_state(), b.get_state()
            np.testing.assert_array_equal(sa[1], sb[1])
            assert sa[2:] == sb[2:]
            assert a.randn() == b.randn() and a.rand() == b.rand()


def test_fit_leaves_random_state_as_sklearn():
    """A RandomState passed as random_state ends where scikit-learn leaves it
    (its initialization, then one shuffle per epoch), also when stopped early."""
    X, y = load_digits(return_X_y=True)
    pcg = np.random.PCG64  # a RandomState over another generator: NumPy shuffles
    for kw, make in (({"max_iter": 7}, lambda: np.random.RandomState(5)),
                     ({"max_iter": 200, "tol": 1e-2, "n_iter_no_change": 2},
                      lambda: np.random.RandomState(5)),
                     ({"max_iter": 7}, lambda: np.random.RandomState(pcg(5)))):
        a, b = make(), make()
        ours = backprop.MLPClassifier(hidden_layer_sizes=(20,), random_state=a, **kw).fit(X, y)
        theirs = sk.MLPClassifier(hidden_layer_sizes=(20,), random_state=b, **kw).fit(X, y)
        assert ours.n_iter_ == theirs.n_iter_
        assert curve_rel(ours.loss_curve_, theirs.loss_curve_) <= LOSS_RTOL
        assert a.randint(1 << 30, size=5).tolist() == b.randint(1 << 30, size=5).tolist()


@pytest.mark.parametrize("classes", [[3, 7], [0, 1, 2, 5], [4]])
def test_integer_label_fast_path_is_sklearns(classes):
    """MLPClassifier's fast path for 1-D integer labels gives what
    scikit-learn's LabelBinarizer path gives: classes_, the binarizer's state,
    the targets and its inverse transform."""
    from sklearn.preprocessing import LabelBinarizer
    rng = np.random.RandomState(0)
    X = rng.rand(30, 3)
    for dtype in (np.int64, np.int32, np.uint8):
        y = np.array(classes, dtype=dtype)[rng.randint(0, len(classes), 30)]
        clf = backprop.MLPClassifier()
        Xv, Y = clf._validate_input(X, y, incremental=False, reset=True)
        lb = LabelBinarizer().fit(y)
        ref = lb.transform(y).astype(bool)
        assert Y.dtype == ref.dtype and Y.shape == ref.shape and (Y == ref).all()
        assert clf.classes_.dtype == lb.classes_.dtype and (clf.classes_ == lb.classes_).all()
        ours = clf._label_binarizer
        assert (ours.y_type_, ours.sparse_input_) == (lb.y_type_, lb.sparse_input_)
        out = rng.rand(30, Y.shape[1])
        np.testing.assert_array_equal(ours.inverse_transform(out), lb.inverse_transform(out))


def test_global_random_state_follows_sklearn():
    """random_state=None: NumPy's process-wide generator, drawn the same way."""
    X, y = load_digits(return_X_y=True)
    np.random.seed(7)
    ours = backprop.MLPClassifier(hidden_layer_sizes=(20,), max_iter=5).fit(X, y)
    after_ours = np.random.randint(1 << 30, size=5).tolist()
    np.random.seed(7)
    theirs = sk.MLPClassifier(hidden_layer_sizes=(20,), max_iter=5).fit(X, y)
    assert np.random.randint(1 << 30, size=5).tolist() == after_ours
    assert curve_rel(ours.loss_curve_, theirs.loss_curve_) <= LOSS_RTOL
