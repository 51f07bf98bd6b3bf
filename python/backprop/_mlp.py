"""scikit-learn's MLPClassifier and MLPRegressor computed by libbackprop.

The estimators are scikit-learn 1.2's own classes (parameters, validation,
label handling, partial_fit's rules, scoring) with their numerical work
replaced: every epoch of 'sgd'/'adam' runs in the library
(bp_trainer_epoch_order over the permutation scikit-learn's RandomState
draws), 'lbfgs' minimizes the library's objective (bp_trainer_objective)
with scipy's L-BFGS-B, and predict runs bp_model_predict. The fitted state
is NumPy arrays only (coefs_, intercepts_, the optimizer's moments for
partial_fit): a model, optimizer and trainer live for the duration of one
call, so the estimators pickle, deep-copy and clone like any other.
"""
import contextlib
import warnings
from numbers import Integral

import numpy as np
import scipy.optimize
from scipy import sparse

from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as _SkMLPClassifier
from sklearn.neural_network import MLPRegressor as _SkMLPRegressor
from sklearn.neural_network._base import LOSS_FUNCTIONS
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import check_is_fitted

from . import _lib
from ._lib import BackpropError

_STOCHASTIC_SOLVERS = ("sgd", "adam", "adamw", "rmsprop")
_SOLVERS = {"lbfgs", *_STOCHASTIC_SOLVERS}


def _extra_constraints(base):
    c = dict(base._parameter_constraints)
    c["solver"] = [StrOptions(_SOLVERS)]
    c["n_threads"] = [None, Interval(Integral, 1, None, closed="left")]
    return c


def _flat(coefs, intercepts, dtype):
    """scikit-learn's (fan_in, fan_out) coefs and intercepts as the library's
    flat buffer: per layer W (fan_out, fan_in) row-major, then b."""
    parts = []
    for W, b in zip(coefs, intercepts):
        parts.append(np.asarray(W, dtype=dtype).T.ravel())
        parts.append(np.asarray(b, dtype=dtype).ravel())
    return np.concatenate(parts)


def _unflat(flat, layer_units, dtype):
    coefs, intercepts, off = [], [], 0
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
        n = fan_in * fan_out
        coefs.append(np.array(flat[off:off + n], dtype=dtype).reshape(fan_out, fan_in).T.copy())
        off += n
        intercepts.append(np.array(flat[off:off + fan_out], dtype=dtype))
        off += fan_out
    return coefs, intercepts


def _non_finite(e):
    return ValueError("Solver produced non-finite parameter weights. The input data may contain "
                      "large values and need to be preprocessed. (libbackprop: %s)" % e)


class _BackpropMLP:
    """What both estimators replace of scikit-learn's BaseMultilayerPerceptron."""

    # ------------------------------------------------------------ helpers

    def _loss_kind(self):
        if not is_classifier(self):
            return _lib.LOSS_HALF_SSE
        return _lib.LOSS_XENT if self.out_activation_ == "softmax" else _lib.LOSS_BCE_SUM

    def _network(self, lib, layer_units):
        return _lib.Network(lib, layer_units, self.activation, self.out_activation_,
                            self._loss_kind(), self.n_threads)

    def _train_config(self, lib, batch_size):
        c = lib.train_config_default()
        c.batch_size = int(batch_size)
        c.shuffle = 0  # the order comes from scikit-learn's RandomState
        c.l2 = 0.0 if self.solver == "adamw" else float(self.alpha)
        c.prob_clip = float(np.finfo(lib.dtype).eps) if is_classifier(self) else 0.0
        c.skip_accuracy = 1  # nothing reads the training accuracy (scikit-learn reports none)
        return c

    def _optim_config(self, lib):
        s = self.solver
        if s == "sgd":
            c = lib.optim_config_default(_lib.OPT_NESTEROV if self.nesterovs_momentum
                                         else _lib.OPT_MOMENTUM)
            c.momentum, c.step_in_velocity = float(self.momentum), 1
        elif s in ("adam", "adamw"):
            c = lib.optim_config_default(_lib.OPT_ADAM if s == "adam" else _lib.OPT_ADAMW)
            c.beta1, c.beta2, c.eps = float(self.beta_1), float(self.beta_2), float(self.epsilon)
            c.folded_bias_correction = 1 if s == "adam" else 0
            c.weight_decay = float(self.alpha) if s == "adamw" else 0.0
        else:  # rmsprop
            c = lib.optim_config_default(_lib.OPT_RMSPROP)
            c.alpha, c.eps, c.momentum = float(self.beta_2), float(self.epsilon), 0.0
        c.lr = float(self.learning_rate_init)
        return c

    def _reported_loss(self, loss, penalty):
        """scikit-learn reports squared_error as the mean over outputs too."""
        k = self.n_outputs_
        if is_classifier(self) or k == 1:
            return loss
        return (loss - penalty) / k + penalty

    def _output_to_prediction(self, out):
        if is_classifier(self):
            if self.n_outputs_ == 1:
                out = out.ravel()
            return self._label_binarizer.inverse_transform(out)
        return out.ravel() if out.shape[1] == 1 else out

    def _n_outputs_expected(self):
        """(count, what it is): the output units the fitted problem needs."""
        if not is_classifier(self):
            return self.n_outputs_, "n_outputs_ = %d" % self.n_outputs_
        n = len(self.classes_)
        if getattr(self._label_binarizer, "y_type_", None) != "multilabel-indicator" and n <= 2:
            return 1, "1 (%d classes)" % n
        return n, "%d classes" % n

    def _fitted_layer_units(self, n_features):
        """The layer sizes that coefs_ and intercepts_ describe, checked
        against X's n_features, each other, n_layers_ and the outputs: the
        library is handed a model of these sizes and a bare pointer to X, so
        a mismatch would read past X. scikit-learn's products raise
        ValueError; so does this, naming the attribute and both shapes.
        Shape comparisons only (no pass over the values): predict's cost."""
        coefs, intercepts, n_layers = self.coefs_, self.intercepts_, self.n_layers_
        if not len(coefs) == len(intercepts) == n_layers - 1:
            raise ValueError("coefs_ has %d layers and intercepts_ %d; n_layers_ = %d needs %d "
                             "of each" % (len(coefs), len(intercepts), n_layers, n_layers - 1))
        units = [n_features]
        for i, (W, b) in enumerate(zip(coefs, intercepts)):
            sw, sb = np.shape(W), np.shape(b)
            if len(sw) != 2 or sw[0] != units[-1]:
                what = ("X has %d features" % n_features if i == 0 else
                        "coefs_[%d] has %d outputs" % (i - 1, units[-1]))
                raise ValueError("coefs_[%d] has shape %s; expected (%d, fan_out): %s"
                                 % (i, sw, units[-1], what))
            if sb != (sw[1],):
                raise ValueError("intercepts_[%d] has shape %s; expected (%d,), the outputs of "
                                 "coefs_[%d] %s" % (i, sb, sw[1], i, sw))
            units.append(sw[1])
        k, what = self._n_outputs_expected()
        if units[-1] != k or (is_classifier(self) and self.n_outputs_ != k):
            raise ValueError("coefs_[%d] has %d outputs and n_outputs_ = %d; the model needs %s"
                             % (len(coefs) - 1, units[-1], self.n_outputs_, what))
        return units

    def _check_optimizer_state(self, lib, net):
        """_optimizer_state (solver, steps, lr, slots) against the optimizer
        it is copied into: one slot per state buffer, each one value per
        parameter (ValueError otherwise, as for coefs_)."""
        _, steps, lr, slots = self._optimizer_state
        want = lib.optim_state_count(net.optim)
        if len(slots) != want:
            raise ValueError("_optimizer_state has %d slots; the '%s' optimizer has %d"
                             % (len(slots), self.solver, want))
        for s, a in enumerate(slots):
            if np.shape(a) != (net.n_params,):
                raise ValueError("_optimizer_state slot %d has shape %s; expected (%d,), one "
                                 "value per parameter" % (s, np.shape(a), net.n_params))
        if not (isinstance(steps, Integral) and steps >= 0):
            raise ValueError("_optimizer_state step count %r: must be an integer >= 0" % (steps,))

    # ------------------------------------------------------- overrides

    @classmethod
    def _get_param_names(cls):
        """scikit-learn's, read from __init__'s signature once per class:
        inspect.signature took ~0.2 ms of every fit's parameter validation."""
        names = cls.__dict__.get("_param_names_cache")
        if names is None:
            names = tuple(super()._get_param_names())
            cls._param_names_cache = names
        return list(names)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 "%s is not stochastic." % self.solver)
        return True

    def _initialize(self, y, layer_units, dtype):
        super()._initialize(y, layer_units, dtype)
        if self.solver in ("adamw", "rmsprop"):
            # 'adamw'/'rmsprop': what scikit-learn sets up for its stochastic solvers
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = self.best_validation_score_ = None
        stochastic = self.solver in _STOCHASTIC_SOLVERS
        self.validation_loss_curve_ = [] if stochastic and self.early_stopping else None
        self._optimizer_state = None
        for name in ("_best_coefs", "_best_intercepts"):
            if hasattr(self, name):
                delattr(self, name)

    def _fit(self, X, y, incremental=False):
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]
        hidden_layer_sizes = list(hidden_layer_sizes)
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if sparse.issparse(X):
            X = X.toarray()  # the library computes on dense arrays
        n_samples, n_features = X.shape
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [n_features] + hidden_layer_sizes + [self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, X.dtype)
        elif self._fitted_layer_units(n_features) != layer_units:
            raise ValueError("warm_start/partial_fit: the fitted layers %s differ from %s"
                             % (self._fitted_layer_units(n_features), layer_units))
        lib = _lib.library(X.dtype)
        try:
            if self.solver in _STOCHASTIC_SOLVERS:
                self._fit_stochastic_bp(lib, X, y, layer_units, incremental)
            else:
                self._fit_lbfgs_bp(lib, X, y, layer_units)
        except BackpropError as e:
            if e.status == "BP_ERR_NUMERIC":
                raise _non_finite(e) from e
            raise
        if not all(np.isfinite(w).all() for w in (*self.coefs_, *self.intercepts_)):
            raise _non_finite("a parameter is not finite")
        return self

    def _fit_stochastic_bp(self, lib, X, y, layer_units, incremental):
        dtype = lib.dtype
        early_stopping = self.early_stopping and not incremental
        y_val_bin = None
        if early_stopping:
            should_stratify = is_classifier(self) and self.n_outputs_ == 1
            if should_stratify and not self._can_stratify(y):
                should_stratify = False  # scikit-learn 1.2 raises ValueError here
            X, X_val, y, y_val = train_test_split(
                X, y, random_state=self._random_state, test_size=self.validation_fraction,
                stratify=y if should_stratify else None)
            y_val_bin = y_val
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)
            X_val = np.ascontiguousarray(X_val, dtype=dtype)
        else:
            X_val = y_val = None
        n_samples = X.shape[0]
        sample_idx = np.arange(n_samples, dtype=np.uintp)  # size_t, as the library takes it
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped")
            batch_size = np.clip(self.batch_size, 1, n_samples)
        Xc = np.ascontiguousarray(X, dtype=dtype)
        Yc = np.ascontiguousarray(y, dtype=dtype)
        best_flat = None
        if early_stopping and hasattr(self, "_best_coefs"):
            best_flat = _flat(self._best_coefs, self._best_intercepts, dtype)
        self._bp_seconds = 0.0  # the library's own epoch time in this call (make bench)
        best = [best_flat]  # the early-stopping best parameters, kept on an interrupt
        with self._network(lib, layer_units) as net:
            params = net.params()
            params[:] = _flat(self.coefs_, self.intercepts_, dtype)
            net.set_trainer(self._optim_config(lib), self._train_config(lib, batch_size))
            state = getattr(self, "_optimizer_state", None)
            if incremental and state is not None and state[0] == self.solver:
                self._check_optimizer_state(lib, net)
                net.set_optim_state(*state[1:])
            epoch = net.epoch_runner(Xc, Yc, sample_idx if self.shuffle else None)
            # sklearn.utils.shuffle(sample_idx, random_state=...) each epoch is
            # RandomState.shuffle of arange(n) then sample_idx[perm], the same as
            # shuffling sample_idx in place; the library draws it (the generator's
            # state goes back to the RandomState when the loop ends, however).
            # The process-wide generator (random_state=None) and RandomStates over
            # another bit generator stay in NumPy's hands.
            shuffler = (_lib.NumpyShuffler(lib, self._random_state, sample_idx)
                        if self.shuffle and self.random_state is not None
                        and _lib.NumpyShuffler.supports(self._random_state) else None)
            try:
                with shuffler or contextlib.nullcontext():
                    self._epochs(lib, net, epoch, shuffler, sample_idx, n_samples,
                                 early_stopping, X_val, y_val, y_val_bin, incremental, best)
            except KeyboardInterrupt:
                warnings.warn("Training interrupted by user.")
            finally:
                self.coefs_, self.intercepts_ = _unflat(params, layer_units, dtype)
                self._optimizer_state = (self.solver, *net.optim_state())
        best_flat = best[0]
        if early_stopping and best_flat is not None:
            self._best_coefs, self._best_intercepts = _unflat(best_flat, layer_units, dtype)
            self.coefs_ = [c.copy() for c in self._best_coefs]
            self.intercepts_ = [i.copy() for i in self._best_intercepts]

    def _epochs(self, lib, net, epoch, shuffler, sample_idx, n_samples, early_stopping,
                X_val, y_val, y_val_bin, incremental, best):
        """scikit-learn's epoch loop (_fit_stochastic) over the library's epochs;
        best[0]: the early-stopping best parameters, updated."""
        for _ in range(self.max_iter):
            if shuffler is not None:
                shuffler.shuffle()
            elif self.shuffle:
                self._random_state.shuffle(sample_idx)
            stats = epoch()
            self._bp_seconds += stats.seconds
            self.n_iter_ += 1
            self.loss_ = self._reported_loss(stats.loss, stats.penalty)
            self.t_ += n_samples
            self.loss_curve_.append(self.loss_)
            if self.verbose:
                print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
            if early_stopping:
                best[0] = self._validate_epoch(net, X_val, y_val, y_val_bin, best[0])
            else:
                if self.best_loss_ is None:  # partial_fit of an early-stopping
                    self.best_loss_ = np.inf  # estimator (TypeError in sklearn 1.2)
                self._update_no_improvement_count(False, None, None)
            if self.solver == "sgd" and self.learning_rate == "invscaling":
                lib.optim_set_lr(net.optim, float(self.learning_rate_init)
                                 / (self.t_ + 1) ** self.power_t)
            if self._no_improvement_count > self.n_iter_no_change:
                if early_stopping:
                    msg = ("Validation score did not improve more than tol=%f for %d "
                           "consecutive epochs." % (self.tol, self.n_iter_no_change))
                else:
                    msg = ("Training loss did not improve more than tol=%f for %d "
                           "consecutive epochs." % (self.tol, self.n_iter_no_change))
                if self._trigger_stopping(lib, net, msg):
                    break
                self._no_improvement_count = 0
            if incremental:
                break
            if self.n_iter_ == self.max_iter:
                warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and "
                              "the optimization hasn't converged yet." % self.max_iter,
                              ConvergenceWarning)

    def _can_stratify(self, y):
        """Whether train_test_split can stratify y: both parts hold at least
        one sample of each class, and each class has two samples."""
        n = y.shape[0]
        n_val = int(np.ceil(self.validation_fraction * n))
        counts = np.unique(y, axis=0, return_counts=True)[1]
        return counts.min() >= 2 and min(n_val, n - n_val) >= len(counts)

    def _validate_epoch(self, net, X_val, y_val, y_val_bin, best_flat):
        """scikit-learn's early-stopping bookkeeping on the live model."""
        out = net.predict(X_val)
        pred = self._output_to_prediction(out)
        score = accuracy_score(y_val, pred) if is_classifier(self) else r2_score(y_val, pred)
        self.validation_scores_.append(score)
        self.validation_loss_curve_.append(self._data_loss(y_val_bin, out))
        if self.verbose:
            print("Validation score: %f" % score)
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            best_flat = net.params().copy()
        return best_flat

    def _data_loss(self, y_bin, out):
        name = self.loss
        if name == "log_loss" and self.out_activation_ == "logistic":
            name = "binary_log_loss"
        y_bin = np.asarray(y_bin)
        if y_bin.ndim == 1:
            y_bin = y_bin.reshape(-1, 1)
        return float(LOSS_FUNCTIONS[name](y_bin, out))

    def _trigger_stopping(self, lib, net, msg):
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(msg + " Stopping.")
            return True
        lr = lib.optim_lr(net.optim)
        if lr <= 1e-6:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        lib.optim_set_lr(net.optim, lr / 5.0)
        if self.verbose:
            print(msg + " Setting learning rate to %f" % (lr / 5.0))
        return False

    def _fit_lbfgs_bp(self, lib, X, y, layer_units):
        dtype = lib.dtype
        self._coef_indptr, self._intercept_indptr, start = [], [], 0
        for i in range(self.n_layers_ - 1):
            end = start + layer_units[i] * layer_units[i + 1]
            self._coef_indptr.append((start, end, (layer_units[i], layer_units[i + 1])))
            start = end
        for i in range(self.n_layers_ - 1):
            end = start + layer_units[i + 1]
            self._intercept_indptr.append((start, end))
            start = end
        # perm: the library's flat layout as indices into scikit-learn's packed one
        idx = np.arange(start)
        perm = _flat([idx[s:e].reshape(shape) for s, e, shape in self._coef_indptr],
                     [idx[s:e] for s, e in self._intercept_indptr], np.intp)
        packed0 = np.hstack([c.ravel() for c in self.coefs_] + [b.ravel() for b in self.intercepts_])
        Xc = np.ascontiguousarray(X, dtype=dtype)
        Yc = np.ascontiguousarray(y, dtype=dtype)
        with self._network(lib, layer_units) as net:
            net.set_trainer(None, self._train_config(lib, max(1, X.shape[0])))
            params, grads = net.params(), net.grads()

            def loss_grad(packed):
                params[:] = packed[perm]
                try:
                    loss, penalty = net.objective(Xc, Yc)
                except BackpropError as e:
                    if e.status != "BP_ERR_NUMERIC":
                        raise
                    return np.inf, np.zeros_like(packed)
                g = np.empty(packed.shape, dtype=np.float64)
                g[perm] = grads
                return self._reported_loss(loss, penalty), g

            iprint = 1 if self.verbose is True or self.verbose >= 1 else -1
            opt_res = scipy.optimize.minimize(
                loss_grad, packed0, method="L-BFGS-B", jac=True,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "iprint": iprint,
                         "gtol": self.tol})
        self.n_iter_ = _check_optimize_result("lbfgs", opt_res, self.max_iter)
        self.loss_ = opt_res.fun
        x = opt_res.x
        self.coefs_ = [x[s:e].reshape(shape).astype(dtype) for s, e, shape in self._coef_indptr]
        self.intercepts_ = [x[s:e].astype(dtype) for s, e in self._intercept_indptr]

    def _forward_pass_fast(self, X, check_input=True):
        if check_input:
            X = self._validate_data(X, accept_sparse=["csr", "csc"], reset=False)
        if sparse.issparse(X):
            X = X.toarray()
        units = self._fitted_layer_units(X.shape[1])
        # float32 coefs compute in float32; anything else (float64, ints, lists) in float64
        dtype = np.float32 if getattr(self.coefs_[0], "dtype", None) == np.float32 else np.float64
        lib = _lib.library(dtype)
        with self._network(lib, units) as net:
            net.params()[:] = _flat(self.coefs_, self.intercepts_, dtype)
            return net.predict(X)


_COMMON_DOC = """
    Computed by libbackprop: scikit-learn 1.2's estimator, with the same
    parameters, defaults, attributes and, for the same random_state, the same
    numbers (docs/PYTHON.md). float32 input is computed in float32, float64 in
    float64; sparse input is densified.

    Keyword-only extras: ``solver='adamw'`` (Adam with decoupled weight decay
    ``alpha`` on all parameters, as torch.optim.AdamW; no L2 term in the
    loss), ``solver='rmsprop'`` (smoothing constant ``beta_2``, ``epsilon``,
    L2 ``alpha``); ``n_threads`` (threads of the library; None: its default,
    every core; calls from several Python threads take turns); fitted ``validation_loss_curve_`` (the data loss on the
    early-stopping validation set per epoch, or None).
"""


class MLPClassifier(_BackpropMLP, _SkMLPClassifier):
    __doc__ = "Multi-layer perceptron classifier (scikit-learn's MLPClassifier).\n" + _COMMON_DOC
    _parameter_constraints = _extra_constraints(_SkMLPClassifier)

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 n_threads=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun)
        self.n_threads = n_threads

    def _validate_input(self, X, y, incremental, reset):
        """scikit-learn's, with a fast path for what most fits pass: a first
        fit on 1-D integer labels. LabelBinarizer's fit and transform check the
        target's type four times over (~1 ms a fit, as long as a digits epoch);
        for integer labels their result is np.unique's classes and a one-hot
        (binary: the second class's column), as built here."""
        first = not hasattr(self, "classes_") or (not self.warm_start and not incremental)
        if not (first and isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "iu"):
            return super()._validate_input(X, y, incremental, reset)
        X, y = self._validate_data(X, y, accept_sparse=["csr", "csc"], multi_output=True,
                                   dtype=(np.float64, np.float32), reset=reset)
        classes = np.unique(y)
        lb = LabelBinarizer()
        lb.y_type_ = "multiclass" if len(classes) > 2 else "binary"
        lb.sparse_input_ = False
        lb.classes_ = classes
        self._label_binarizer, self.classes_ = lb, classes
        if len(classes) > 2:
            return X, y[:, None] == classes
        if len(classes) == 2:
            return X, (y == classes[1])[:, None]
        return X, np.zeros((len(y), 1), dtype=bool)


class MLPRegressor(_BackpropMLP, _SkMLPRegressor):
    __doc__ = "Multi-layer perceptron regressor (scikit-learn's MLPRegressor).\n" + _COMMON_DOC
    _parameter_constraints = _extra_constraints(_SkMLPRegressor)

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 n_threads=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun)
        self.n_threads = n_threads
