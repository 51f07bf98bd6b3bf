"""Finds and loads libbackprop (both precisions) and declares its C API for ctypes.

One module talks to the library, as in xgboost's and LightGBM's bindings:
every call that returns a ``bp_status`` goes through :func:`check`, which turns
a failure into ``ValueError`` (BP_ERR_INVALID), ``MemoryError`` (BP_ERR_NOMEM)
or :class:`BackpropError` (anything else), with the library's own message
(``bp_last_error()``). ctypes releases the GIL for the duration of each call.

Where the libraries are looked for, first hit wins per precision:

1. ``$BACKPROP_LIBRARY``: one or more library files separated by ``os.pathsep``;
   each one's precision is read from it (``bp_real_size()``).
2. Beside the package: ``backprop/lib/float/libbackprop.so`` and
   ``backprop/lib/double/libbackprop.so`` (what ``make install`` puts there).
3. The build tree of a source checkout: ``build/float`` and ``build/double``.
4. The system's ``libbackprop.so`` (``ctypes.util.find_library``), in whichever
   precision it was built.
"""
import ctypes
import ctypes.util
import os
import threading

import numpy as np

# The library version this package is written against (major.minor must match).
API_VERSION = (0, 1)

MAX_LAYERS = 32

# bp_status
OK, ERR_INVALID, ERR_NOMEM, ERR_IO, ERR_FORMAT, ERR_NUMERIC, ERR_INTERRUPTED = range(7)
# bp_activation
ACT = {"identity": 0, "logistic": 1, "tanh": 2, "relu": 3, "softmax": 5}
# bp_loss
LOSS_BCE, LOSS_XENT, LOSS_HALF_SSE, LOSS_BCE_SUM = 1, 2, 3, 4
INIT_ZEROS = 4  # bp_init
# bp_optim_kind
OPT_SGD, OPT_MOMENTUM, OPT_NESTEROV, OPT_NOTES, OPT_ADAM, OPT_ADAMW, OPT_RMSPROP = range(7)
# bp_schedule, bp_monitor, bp_stop_reason
SCHEDULE_CONSTANT, SCHEDULE_STEP, SCHEDULE_COSINE = range(3)
MONITOR_AUTO, MONITOR_TRAIN_LOSS, MONITOR_VAL_LOSS = range(3)
STOP_NONE, STOP_MAX_EPOCHS, STOP_NO_IMPROVEMENT, STOP_INTERRUPTED, STOP_NUMERIC = range(5)


class BackpropError(RuntimeError):
    """A failure of libbackprop other than invalid input or memory (I/O,
    format, a loss that stopped being finite...). ``status`` holds the
    bp_status name."""

    def __init__(self, message, status="BP_ERR"):
        super().__init__(message)
        self.status = status


def _model_config_type(real):
    class _MC(ctypes.Structure):
        _fields_ = [("n_layers", ctypes.c_int), ("sizes", ctypes.c_int * (MAX_LAYERS + 1)),
                    ("act", ctypes.c_int * MAX_LAYERS), ("leaky_slope", real),
                    ("loss", ctypes.c_int), ("init", ctypes.c_int), ("seed", ctypes.c_uint64)]
    return _MC


class OptimConfig(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("lr", ctypes.c_double), ("momentum", ctypes.c_double),
                ("beta1", ctypes.c_double), ("beta2", ctypes.c_double), ("alpha", ctypes.c_double),
                ("eps", ctypes.c_double), ("eps_inside_sqrt", ctypes.c_int),
                ("weight_decay", ctypes.c_double), ("clip_norm", ctypes.c_double),
                ("step_in_velocity", ctypes.c_int), ("folded_bias_correction", ctypes.c_int)]


class TrainConfig(ctypes.Structure):
    _fields_ = [("batch_size", ctypes.c_int), ("shuffle", ctypes.c_int), ("seed", ctypes.c_uint64),
                ("on_batch", ctypes.c_void_p), ("user", ctypes.c_void_p),
                ("shard", ctypes.c_int), ("shards", ctypes.c_int),
                ("reduce", ctypes.c_void_p), ("reduce_user", ctypes.c_void_p),
                ("l2", ctypes.c_double), ("prob_clip", ctypes.c_double),
                ("schedule", ctypes.c_int), ("lr", ctypes.c_double),
                ("warmup_epochs", ctypes.c_int), ("step_epochs", ctypes.c_int),
                ("gamma", ctypes.c_double), ("min_lr", ctypes.c_double),
                ("max_epochs", ctypes.c_int), ("patience", ctypes.c_int),
                ("tol", ctypes.c_double), ("monitor", ctypes.c_int), ("restore_best", ctypes.c_int)]


class EarlyStopState(ctypes.Structure):
    _fields_ = [("best_loss", ctypes.c_double), ("best_epoch", ctypes.c_int),
                ("bad_epochs", ctypes.c_int), ("epoch_loss", ctypes.c_double)]


class EpochStats(ctypes.Structure):
    _fields_ = [("epoch", ctypes.c_int), ("loss", ctypes.c_double), ("accuracy", ctypes.c_double),
                ("seconds", ctypes.c_double), ("samples_per_sec", ctypes.c_double),
                ("steps", ctypes.c_uint64), ("penalty", ctypes.c_double)]


_P = ctypes.c_void_p
_STATUS_NAMES = {ERR_INVALID: "BP_ERR_INVALID", ERR_NOMEM: "BP_ERR_NOMEM", ERR_IO: "BP_ERR_IO",
                 ERR_FORMAT: "BP_ERR_FORMAT", ERR_NUMERIC: "BP_ERR_NUMERIC",
                 ERR_INTERRUPTED: "BP_ERR_INTERRUPTED"}


class Library:
    """One build of libbackprop (float32 or float64) with its functions declared."""

    def __init__(self, path):
        self.path = path
        self.dll = dll = ctypes.CDLL(path)
        # The library's thread pool runs one job at a time, and its thread
        # count is process-wide: calls from several Python threads (ctypes
        # releases the GIL) take turns, each with its own thread count.
        self.lock = threading.Lock()
        dll.bp_real_size.restype = ctypes.c_size_t
        dll.bp_version.restype = ctypes.c_char_p
        size = dll.bp_real_size()
        if size not in (4, 8):
            raise BackpropError(f"{path}: bp_real_size() = {size}, expected 4 or 8")
        self.dtype = np.dtype(np.float32 if size == 4 else np.float64)
        self.real = ctypes.c_float if size == 4 else ctypes.c_double
        self.version = dll.bp_version().decode()
        major, minor = (int(v) for v in self.version.split(".")[:2])
        if (major, minor) != API_VERSION:
            raise BackpropError(f"{path} is libbackprop {self.version}; this package needs "
                                f"{API_VERSION[0]}.{API_VERSION[1]}.x")
        self.ModelConfig = _model_config_type(self.real)
        R = ctypes.POINTER(self.real)
        st = ctypes.c_int
        sig = {
            "bp_last_error": (ctypes.c_char_p, []),
            "bp_set_threads": (None, [ctypes.c_int]),
            "bp_get_threads": (ctypes.c_int, []),
            "bp_model_config_default": (self.ModelConfig, []),
            "bp_model_create": (st, [ctypes.POINTER(_P), ctypes.POINTER(self.ModelConfig)]),
            "bp_model_free": (None, [_P]),
            "bp_model_param_count": (ctypes.c_size_t, [_P]),
            "bp_model_params": (R, [_P]),
            "bp_model_grads": (R, [_P]),
            "bp_model_predict": (st, [_P, R, ctypes.c_size_t, ctypes.c_int, R]),
            "bp_optim_config_default": (OptimConfig, [ctypes.c_int]),
            "bp_optim_create": (st, [ctypes.POINTER(_P), ctypes.POINTER(OptimConfig), ctypes.c_size_t]),
            "bp_optim_free": (None, [_P]),
            "bp_optim_set_lr": (None, [_P, ctypes.c_double]),
            "bp_optim_get_lr": (ctypes.c_double, [_P]),
            "bp_optim_steps": (ctypes.c_uint64, [_P]),
            "bp_optim_set_steps": (None, [_P, ctypes.c_uint64]),
            "bp_optim_state_count": (ctypes.c_int, [_P]),
            "bp_optim_state": (R, [_P, ctypes.c_int]),
            "bp_train_config_default": (TrainConfig, []),
            "bp_trainer_create": (st, [ctypes.POINTER(_P), _P, _P, ctypes.POINTER(TrainConfig)]),
            "bp_trainer_free": (None, [_P]),
            "bp_trainer_epoch": (st, [_P, R, R, ctypes.c_size_t, ctypes.POINTER(EpochStats)]),
            "bp_trainer_epoch_order": (st, [_P, R, R, ctypes.c_size_t,
                                            ctypes.POINTER(ctypes.c_size_t),
                                            ctypes.POINTER(EpochStats)]),
            "bp_shuffle_mt19937": (st, [ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_int),
                                        ctypes.POINTER(ctypes.c_size_t), ctypes.c_size_t]),
            "bp_trainer_objective": (st, [_P, R, R, ctypes.c_size_t, ctypes.POINTER(ctypes.c_double),
                                          ctypes.POINTER(ctypes.c_double)]),
            "bp_train_config_lr": (ctypes.c_double, [ctypes.POINTER(TrainConfig), ctypes.c_int]),
            "bp_trainer_end_epoch": (st, [_P, ctypes.c_double, ctypes.POINTER(ctypes.c_int)]),
            "bp_trainer_stop_reason": (ctypes.c_int, [_P]),
            "bp_trainer_get_early_stop": (None, [_P, ctypes.POINTER(EarlyStopState)]),
            "bp_trainer_get_config": (ctypes.POINTER(TrainConfig), [_P]),
        }
        for name, (res, args) in sig.items():
            fn = getattr(dll, name)
            fn.restype, fn.argtypes = res, args
            setattr(self, name[3:], fn)

    def check(self, status):
        """Raises the exception for a failing bp_status, with bp_last_error()."""
        if status == OK:
            return
        msg = (self.last_error() or b"").decode("utf-8", "replace") or "unknown error"
        if status == ERR_INVALID:
            raise ValueError(msg)
        if status == ERR_NOMEM:
            raise MemoryError(msg)
        raise BackpropError(msg, _STATUS_NAMES.get(status, f"status {status}"))

    def ptr(self, a):
        """A pointer to the data of a C-contiguous array of this build's dtype."""
        assert a.dtype == self.dtype and a.flags.c_contiguous
        return a.ctypes.data_as(ctypes.POINTER(self.real))

    def __repr__(self):
        return f"<libbackprop {self.version} {self.dtype} at {self.path}>"


def _candidates():
    env = os.environ.get("BACKPROP_LIBRARY")
    if env:
        return [p for p in env.split(os.pathsep) if p], True
    here = os.path.dirname(os.path.abspath(__file__))
    paths = [os.path.join(here, "lib", r, "libbackprop.so") for r in ("float", "double")]
    root = os.path.dirname(os.path.dirname(here))  # python/backprop -> the checkout
    paths += [os.path.join(root, "build", r, "libbackprop.so") for r in ("float", "double")]
    found = ctypes.util.find_library("backprop")
    if found:
        paths.append(found)
    return paths, False


def _load_all():
    libs, searched = {}, []
    paths, from_env = _candidates()
    for p in paths:
        searched.append(p)
        if not from_env and os.sep in p and not os.path.exists(p):
            continue
        try:
            lib = Library(p)
        except OSError as e:
            if from_env:
                raise BackpropError(f"BACKPROP_LIBRARY: cannot load {p}: {e}") from e
            continue
        libs.setdefault(lib.dtype, lib)
    if not libs:
        raise ImportError("backprop: libbackprop.so not found (looked at: %s); build it with "
                          "`make`, or point BACKPROP_LIBRARY at it" % ", ".join(searched))
    return libs


LIBRARIES = _load_all()


class NumpyShuffler:
    """RandomState.shuffle(idx) for a numpy.random.RandomState, draw for draw,
    by the library (bp_shuffle_mt19937, ~6x faster): it takes the generator's
    state on entry and puts the advanced state back on exit (use as a context
    manager; the generator must not be used by anything else meanwhile)."""

    def __init__(self, lib, random_state, idx):
        assert idx.dtype == np.uintp and idx.flags.c_contiguous and idx.ndim == 1
        self.lib, self.rs, self.idx = lib, random_state, idx
        self.idx_p = idx.ctypes.data_as(ctypes.POINTER(ctypes.c_size_t))

    @staticmethod
    def supports(random_state):
        """Whether random_state is a RandomState over MT19937 (the default;
        RandomState(PCG64()) and the like are left to NumPy)."""
        return isinstance(random_state, np.random.RandomState) and \
            isinstance(getattr(random_state, "_bit_generator", None), np.random.MT19937)

    def __enter__(self):
        self.state = state = self.rs.get_state()
        self.key = np.array(state[1], dtype=np.uint32)  # a copy, advanced in place
        self.key_p = self.key.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32))
        self.pos = ctypes.c_int(int(state[2]))
        self.pos_p = ctypes.byref(self.pos)
        return self

    def shuffle(self):
        st = self.lib.shuffle_mt19937(self.key_p, self.pos_p, self.idx_p, self.idx.shape[0])
        if st:
            self.lib.check(st)

    def __exit__(self, *exc):
        s = self.state
        self.rs.set_state((s[0], self.key, self.pos.value, *s[3:]))


def library(dtype):
    """The build that computes in `dtype` (float32 or float64)."""
    dtype = np.dtype(dtype)
    lib = LIBRARIES.get(dtype)
    if lib is None:
        have = ", ".join(str(d) for d in LIBRARIES)
        raise BackpropError(f"no {dtype} build of libbackprop was found (have: {have}); "
                            "`make` builds both")
    return lib


class Network:
    """A model (and, for training, optimizer and trainer) that lives for one
    call: created from NumPy arrays, copied back into NumPy arrays, freed.
    Use as a context manager."""

    def __init__(self, lib, layer_units, hidden_act, out_act, loss, n_threads=None):
        self.lib = lib
        self.n_threads = 0 if n_threads is None else int(n_threads)  # 0: every online core
        self.model = self.optim = self.trainer = None
        cfg = lib.model_config_default()
        cfg.n_layers = len(layer_units) - 1
        if cfg.n_layers > MAX_LAYERS:
            raise ValueError(f"{cfg.n_layers} layers: libbackprop takes at most {MAX_LAYERS}")
        for i, u in enumerate(layer_units):
            cfg.sizes[i] = int(u)
        for i in range(cfg.n_layers - 1):
            cfg.act[i] = ACT[hidden_act]
        cfg.act[cfg.n_layers - 1] = ACT[out_act]
        cfg.loss = loss
        cfg.init = INIT_ZEROS  # the caller sets every parameter
        h = _P()
        lib.check(lib.model_create(ctypes.byref(h), ctypes.byref(cfg)))
        self.model = h
        self.n_params = lib.model_param_count(h)
        self.out_units = int(layer_units[-1])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        lib = self.lib
        if self.trainer:
            lib.trainer_free(self.trainer)
        if self.optim:
            lib.optim_free(self.optim)
        if self.model:
            lib.model_free(self.model)
        self.model = self.optim = self.trainer = None

    def _view(self, p, n):
        return np.ctypeslib.as_array(p, shape=(n,))

    def params(self):
        """A view of the flat parameter buffer (valid while the network lives)."""
        return self._view(self.lib.model_params(self.model), self.n_params)

    def grads(self):
        return self._view(self.lib.model_grads(self.model), self.n_params)

    def predict(self, X):
        lib = self.lib
        X = np.ascontiguousarray(X, dtype=lib.dtype)
        n = X.shape[0]
        k = self.out_units
        out = np.empty((n, k), dtype=lib.dtype)
        if n:
            with lib.lock:
                lib.set_threads(self.n_threads)
                st = lib.model_predict(self.model, lib.ptr(X), n, 0, lib.ptr(out))
            lib.check(st)
        return out

    def set_trainer(self, optim_cfg, train_cfg):
        lib = self.lib
        if optim_cfg is not None:
            h = _P()
            lib.check(lib.optim_create(ctypes.byref(h), ctypes.byref(optim_cfg), self.n_params))
            self.optim = h
        h = _P()
        lib.check(lib.trainer_create(ctypes.byref(h), self.model, self.optim, ctypes.byref(train_cfg)))
        self.trainer = h

    def optim_state(self):
        """(steps, lr, [state arrays copied])"""
        lib = self.lib
        slots = [self._view(lib.optim_state(self.optim, s), self.n_params).copy()
                 for s in range(lib.optim_state_count(self.optim))]
        return int(lib.optim_steps(self.optim)), float(lib.optim_get_lr(self.optim)), slots

    def set_optim_state(self, steps, lr, slots):
        lib = self.lib
        lib.optim_set_steps(self.optim, steps)
        lib.optim_set_lr(self.optim, lr)
        for s, a in enumerate(slots[:lib.optim_state_count(self.optim)]):
            self._view(lib.optim_state(self.optim, s), self.n_params)[:] = a

    def epoch(self, X, Y, order=None):
        lib = self.lib
        st = EpochStats()
        n = X.shape[0]
        with lib.lock:
            lib.set_threads(self.n_threads)
            if order is None:
                status = lib.trainer_epoch(self.trainer, lib.ptr(X), lib.ptr(Y), n, ctypes.byref(st))
            else:
                o = order.ctypes.data_as(ctypes.POINTER(ctypes.c_size_t))
                status = lib.trainer_epoch_order(self.trainer, lib.ptr(X), lib.ptr(Y), n, o,
                                                 ctypes.byref(st))
        lib.check(status)
        return st

    def epoch_runner(self, X, Y, order=None):
        """A function running one epoch over X, Y (C-contiguous arrays of this
        build's dtype, which must outlive it) in the order that the size_t
        array `order` holds at each call (None: the data's order). The
        pointers are converted once, and each call returns the same
        EpochStats object, overwritten: an epoch of digits takes ~1 ms, and
        the ctypes conversions of a plain call ~20 us of it."""
        lib, n = self.lib, X.shape[0]
        st = EpochStats()
        head = (self.trainer, lib.ptr(X), lib.ptr(Y), n)
        if order is None:
            fn, args = lib.trainer_epoch, head + (ctypes.byref(st),)
        else:
            assert order.dtype == np.uintp and order.flags.c_contiguous and order.shape == (n,)
            op = order.ctypes.data_as(ctypes.POINTER(ctypes.c_size_t))
            fn, args = lib.trainer_epoch_order, head + (op, ctypes.byref(st))
        lock, set_threads, threads, check = lib.lock, lib.set_threads, self.n_threads, lib.check

        def run():
            with lock:
                set_threads(threads)
                status = fn(*args)
            if status:
                check(status)
            return st
        return run

    def objective(self, X, Y):
        lib = self.lib
        loss, pen = ctypes.c_double(), ctypes.c_double()
        with lib.lock:
            lib.set_threads(self.n_threads)
            status = lib.trainer_objective(self.trainer, lib.ptr(X), lib.ptr(Y), X.shape[0],
                                           ctypes.byref(loss), ctypes.byref(pen))
        lib.check(status)
        return loss.value, pen.value
