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
import collections
import ctypes
import ctypes.util
import os
import threading

import numpy as np

# Every constant of include/backprop.h this package mirrors, by its C name: each
# Library compares them with its bp_abi_table() when it loads (abi_mismatches).
C_CONSTANTS = {}


def _c(name, value):
    C_CONSTANTS[name] = value
    return value


# The library version this package is written against (major.minor must match).
API_VERSION = (_c("BP_VERSION_MAJOR", 0), _c("BP_VERSION_MINOR", 1))

MAX_LAYERS = _c("BP_MAX_LAYERS", 32)
MT19937_WORDS = _c("BP_MT19937_WORDS", 624)

# bp_status
OK = _c("BP_OK", 0)
ERR_INVALID = _c("BP_ERR_INVALID", 1)
ERR_NOMEM = _c("BP_ERR_NOMEM", 2)
ERR_IO = _c("BP_ERR_IO", 3)
ERR_FORMAT = _c("BP_ERR_FORMAT", 4)
ERR_NUMERIC = _c("BP_ERR_NUMERIC", 5)
ERR_INTERRUPTED = _c("BP_ERR_INTERRUPTED", 6)
# bp_activation, by scikit-learn's names
ACT = {"identity": _c("BP_ACT_IDENTITY", 0), "logistic": _c("BP_ACT_SIGMOID", 1),
       "tanh": _c("BP_ACT_TANH", 2), "relu": _c("BP_ACT_RELU", 3),
       "softmax": _c("BP_ACT_SOFTMAX", 5)}
# bp_loss
LOSS_BCE = _c("BP_LOSS_BCE", 1)
LOSS_XENT = _c("BP_LOSS_XENT", 2)
LOSS_HALF_SSE = _c("BP_LOSS_HALF_SSE", 3)
LOSS_BCE_SUM = _c("BP_LOSS_BCE_SUM", 4)
INIT_ZEROS = _c("BP_INIT_ZEROS", 4)  # bp_init
# bp_task (bp_model_task: what a model file predicts)
TASK_CLASSIFICATION = _c("BP_TASK_CLASSIFICATION", 1)
TASK_REGRESSION = _c("BP_TASK_REGRESSION", 2)
TASK_MULTILABEL = _c("BP_TASK_MULTILABEL", 3)
# bp_optim_kind
OPT_SGD = _c("BP_OPTIM_SGD", 0)
OPT_MOMENTUM = _c("BP_OPTIM_MOMENTUM", 1)
OPT_NESTEROV = _c("BP_OPTIM_NESTEROV", 2)
OPT_NOTES = _c("BP_OPTIM_NOTES_MOMENTUM", 3)
OPT_ADAM = _c("BP_OPTIM_ADAM", 4)
OPT_ADAMW = _c("BP_OPTIM_ADAMW", 5)
OPT_RMSPROP = _c("BP_OPTIM_RMSPROP", 6)
# bp_abi_kind
ABI_STRUCT = _c("BP_ABI_STRUCT", 0)
ABI_FIELD = _c("BP_ABI_FIELD", 1)
ABI_CONSTANT = _c("BP_ABI_CONSTANT", 2)
# bp_schedule, bp_monitor, bp_stop_reason
SCHEDULE_CONSTANT = _c("BP_SCHEDULE_CONSTANT", 0)
SCHEDULE_STEP = _c("BP_SCHEDULE_STEP", 1)
SCHEDULE_COSINE = _c("BP_SCHEDULE_COSINE", 2)
MONITOR_AUTO = _c("BP_MONITOR_AUTO", 0)
MONITOR_TRAIN_LOSS = _c("BP_MONITOR_TRAIN_LOSS", 1)
MONITOR_VAL_LOSS = _c("BP_MONITOR_VAL_LOSS", 2)
STOP_NONE = _c("BP_STOP_NONE", 0)
STOP_MAX_EPOCHS = _c("BP_STOP_MAX_EPOCHS", 1)
STOP_NO_IMPROVEMENT = _c("BP_STOP_NO_IMPROVEMENT", 2)
STOP_INTERRUPTED = _c("BP_STOP_INTERRUPTED", 3)
STOP_NUMERIC = _c("BP_STOP_NUMERIC", 4)


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
                ("tol", ctypes.c_double), ("monitor", ctypes.c_int), ("restore_best", ctypes.c_int),
                ("train_layers", ctypes.c_int), ("features", ctypes.c_int),
                ("skip_accuracy", ctypes.c_int)]


class EarlyStopState(ctypes.Structure):
    _fields_ = [("best_loss", ctypes.c_double), ("best_epoch", ctypes.c_int),
                ("bad_epochs", ctypes.c_int), ("epoch_loss", ctypes.c_double)]


class EpochStats(ctypes.Structure):
    _fields_ = [("epoch", ctypes.c_int), ("loss", ctypes.c_double), ("accuracy", ctypes.c_double),
                ("seconds", ctypes.c_double), ("samples_per_sec", ctypes.c_double),
                ("steps", ctypes.c_uint64), ("penalty", ctypes.c_double)]


class AbiEntry(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("kind", ctypes.c_int), ("value", ctypes.c_longlong),
                ("size", ctypes.c_longlong)]


def read_abi_table(dll):
    """bp_abi_table() as {name: (kind, value, size)}."""
    dll.bp_abi_table.restype = ctypes.POINTER(AbiEntry)
    dll.bp_abi_table.argtypes = [ctypes.POINTER(ctypes.c_size_t)]
    n = ctypes.c_size_t()
    t = dll.bp_abi_table(ctypes.byref(n))
    return {t[i].name.decode(): (t[i].kind, t[i].value, t[i].size) for i in range(n.value)}


def abi_mismatches(table, structs, constants):
    """What differs between the library's bp_abi_table() (as read_abi_table
    gives it) and this package's copies: structs {C name: ctypes Structure},
    whose sizes, alignments and fields (names, offsets, sizes; in both
    directions) must match, and constants {C name: value}. A list of
    messages, each naming the struct, field or constant; empty when all match."""
    bad = []
    for sname, st in structs.items():
        entry = table.get(sname)
        if entry is None or entry[0] != ABI_STRUCT:
            bad.append(f"{sname}: not a struct in the library's bp_abi_table")
            continue
        if ctypes.sizeof(st) != entry[1] or ctypes.alignment(st) != entry[2]:
            bad.append(f"{sname}: sizeof {entry[1]}, alignment {entry[2]} in the library; "
                       f"{st.__name__}: {ctypes.sizeof(st)}, {ctypes.alignment(st)}")
        prefix = sname + "."
        c_fields = {k[len(prefix):]: v for k, v in table.items()
                    if k.startswith(prefix) and v[0] == ABI_FIELD}
        py_fields = [f[0] for f in st._fields_]
        for f in py_fields:
            if f not in c_fields:
                bad.append(f"{sname}.{f}: in {st.__name__}._fields_, not in the library's "
                           "bp_abi_table")
                continue
            d, (_, off, size) = getattr(st, f), c_fields[f]
            if (d.offset, d.size) != (off, size):
                bad.append(f"{sname}.{f}: offset {off}, size {size} in the library; "
                           f"{st.__name__}: offset {d.offset}, size {d.size}")
        for f in c_fields:
            if f not in py_fields:
                bad.append(f"{sname}.{f}: in the library, missing from {st.__name__}._fields_")
    for name, value in constants.items():
        entry = table.get(name)
        if entry is None or entry[0] != ABI_CONSTANT:
            bad.append(f"{name}: not a constant in the library's bp_abi_table")
        elif entry[1] != value:
            bad.append(f"{name} = {entry[1]} in the library; this package has {value}")
    return bad


_P = ctypes.c_void_p
_STATUS_NAMES = {ERR_INVALID: "BP_ERR_INVALID", ERR_NOMEM: "BP_ERR_NOMEM", ERR_IO: "BP_ERR_IO",
                 ERR_FORMAT: "BP_ERR_FORMAT", ERR_NUMERIC: "BP_ERR_NUMERIC",
                 ERR_INTERRUPTED: "BP_ERR_INTERRUPTED"}


class ThreadCountGate:
    """Admits calls into one build of the library by the thread count they
    need: the library is safe to call from several threads at once and its
    results do not depend on it (include/backprop.h), but bp_set_threads is
    process-wide and each estimator has its own n_threads. Calls that need
    the count in force go in at once, alongside each other; a call that needs
    another count waits, in arrival order, until the calls inside are done
    (and new calls queue behind it). Use as `with gate(n): ...`."""

    def __init__(self, set_threads):
        self._set = set_threads
        self._cv = threading.Condition(threading.Lock())
        self._count = None   # the count last set in the library
        self._active = 0     # calls inside the library
        self._queue = collections.deque()  # waiting groups: [count, members, admitted]

    def _admit(self, n):
        with self._cv:
            if not self._queue and (not self._active or self._count == n):
                self._enter(n, 1)
                return
            if self._queue and self._queue[-1][0] == n:
                group = self._queue[-1]
                group[1] += 1
            else:
                group = [n, 1, False]
                self._queue.append(group)
            self._cv.wait_for(lambda: group[2])

    def _enter(self, n, members):
        if self._count != n:
            self._set(n)
            self._count = n
        self._active += members

    def _leave(self):
        with self._cv:
            self._active -= 1
            if not self._active and self._queue:
                group = self._queue.popleft()
                self._enter(group[0], group[1])
                group[2] = True
                self._cv.notify_all()

    def __call__(self, n):
        return _GateTurn(self, n)


class _GateTurn:
    __slots__ = ("gate", "n")

    def __init__(self, gate, n):
        self.gate, self.n = gate, n

    def __enter__(self):
        self.gate._admit(self.n)

    def __exit__(self, *exc):
        self.gate._leave()


class Library:
    """One build of libbackprop (float32 or float64) with its functions declared."""

    def __init__(self, path):
        self.path = path
        self.dll = dll = ctypes.CDLL(path)
        # Calls from several Python threads (ctypes releases the GIL) may run
        # in the library at once, but its thread count is process-wide: see
        # ThreadCountGate.
        self.threads = None  # set below, once bp_set_threads is declared
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
        # The C structs and constants mirrored here, checked against the build:
        # a field added or moved on one side only fails here, naming it.
        self.structs = {"bp_model_config": self.ModelConfig, "bp_optim_config": OptimConfig,
                        "bp_train_config": TrainConfig, "bp_epoch_stats": EpochStats,
                        "bp_abi_entry": AbiEntry, "bp_early_stop_state": EarlyStopState}
        try:
            self.abi = read_abi_table(dll)
        except AttributeError as e:
            raise BackpropError(f"{path} has no bp_abi_table(); rebuild it") from e
        bad = abi_mismatches(self.abi, self.structs, C_CONSTANTS)
        if bad:
            raise BackpropError(f"{path} does not match this package's copy of backprop.h:\n  "
                                + "\n  ".join(bad))
        R = ctypes.POINTER(self.real)
        st = ctypes.c_int
        sig = {
            "bp_last_error": (ctypes.c_char_p, []),
            "bp_set_threads": (None, [ctypes.c_int]),
            "bp_threads": (ctypes.c_int, []),
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
            "bp_optim_lr": (ctypes.c_double, [_P]),
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
            "bp_trainer_early_stop": (None, [_P, ctypes.POINTER(EarlyStopState)]),
            "bp_trainer_cfg": (ctypes.POINTER(TrainConfig), [_P]),
            # model files (backprop.save / backprop.load, _file.py)
            "bp_model_cfg": (ctypes.POINTER(self.ModelConfig), [_P]),
            "bp_model_weight": (R, [_P, ctypes.c_int]),
            "bp_model_bias": (R, [_P, ctypes.c_int]),
            "bp_model_set_normalization": (st, [_P, R, R]),
            "bp_model_norm_shift": (R, [_P]),
            "bp_model_norm_scale": (R, [_P]),
            "bp_model_set_labels": (st, [_P, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]),
            "bp_model_label_count": (ctypes.c_int, [_P]),
            "bp_model_label": (ctypes.c_char_p, [_P, ctypes.c_int]),
            "bp_model_task": (ctypes.c_int, [_P]),
            "bp_model_classes": (ctypes.c_int, [_P]),
            "bp_model_set_encoder": (st, [_P, _P]),
            "bp_model_encoder": (_P, [_P]),
            "bp_encoder_from_json": (st, [ctypes.POINTER(_P), ctypes.c_char_p]),
            "bp_encoder_to_json": (_P, [_P]),  # malloc'd: free_c
            "bp_encoder_free": (None, [_P]),
            "bp_extra_create": (st, [ctypes.POINTER(_P)]),
            "bp_extra_free": (None, [_P]),
            "bp_extra_set": (st, [_P, ctypes.c_char_p, ctypes.c_char_p]),
            "bp_extra_get": (ctypes.c_char_p, [_P, ctypes.c_char_p]),
            "bp_model_save": (st, [_P, ctypes.c_char_p, _P]),
            "bp_model_load": (st, [ctypes.POINTER(_P), ctypes.c_char_p, ctypes.POINTER(_P)]),
        }
        for name, (res, args) in sig.items():
            fn = getattr(dll, name)
            fn.restype, fn.argtypes = res, args
            setattr(self, name[3:], fn)
        self.threads = ThreadCountGate(self.set_threads)

    @staticmethod
    def free_c(p):
        """free() for what the library malloc'd and handed over (bp_encoder_to_json)."""
        _libc_free(p)

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
        """A pointer to the data of a C-contiguous array of this build's dtype
        (checked even under python -O: the library trusts the pointer)."""
        if a.dtype != self.dtype or not a.flags.c_contiguous:
            raise TypeError(f"libbackprop {self.dtype} needs a C-contiguous {self.dtype} array, "
                            f"not {a.dtype} (contiguous: {a.flags.c_contiguous})")
        return a.ctypes.data_as(ctypes.POINTER(self.real))

    def __repr__(self):
        return f"<libbackprop {self.version} {self.dtype} at {self.path}>"


_libc = ctypes.CDLL(None)  # the process's C library: free() for the library's malloc
_libc_free = _libc.free
_libc_free.restype, _libc_free.argtypes = None, [ctypes.c_void_p]


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


def _check_order(order, n):
    """The library reads n size_t values behind the pointer (and checks each < n)."""
    if order.dtype != np.uintp or not order.flags.c_contiguous or order.shape != (n,):
        raise ValueError(f"sample order: a C-contiguous uintp array of shape ({n},) is "
                         f"needed, not {order.dtype} {order.shape}")


class NumpyShuffler:
    """RandomState.shuffle(idx) for a numpy.random.RandomState, draw for draw,
    by the library (bp_shuffle_mt19937, ~6x faster): it takes the generator's
    state on entry and puts the advanced state back on exit (use as a context
    manager; the generator must not be used by anything else meanwhile)."""

    def __init__(self, lib, random_state, idx):
        _check_order(idx, idx.shape[0] if idx.ndim == 1 else -1)
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
        if self.key.shape != (MT19937_WORDS,):  # the library reads that many words
            raise ValueError(f"MT19937 key of shape {self.key.shape}, not ({MT19937_WORDS},)")
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
        self.in_units, self.out_units = int(layer_units[0]), int(layer_units[-1])

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

    def _check_xy(self, X, Y=None):
        """The library reads n rows of in_units (and out_units) values behind
        each pointer: a narrower array would be read past its end."""
        if X.ndim != 2 or X.shape[1] != self.in_units:
            raise ValueError(f"X has shape {X.shape}; a network of {self.in_units} inputs "
                             f"needs (n_samples, {self.in_units})")
        if Y is not None and Y.shape != (X.shape[0], self.out_units):
            raise ValueError(f"y has shape {Y.shape}; a network of {self.out_units} outputs "
                             f"needs ({X.shape[0]}, {self.out_units})")

    def predict(self, X):
        lib = self.lib
        X = np.ascontiguousarray(X, dtype=lib.dtype)
        self._check_xy(X)
        n = X.shape[0]
        k = self.out_units
        out = np.empty((n, k), dtype=lib.dtype)
        if n:
            with lib.threads(self.n_threads):
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
        return int(lib.optim_steps(self.optim)), float(lib.optim_lr(self.optim)), slots

    def set_optim_state(self, steps, lr, slots):
        """Restores what optim_state returned. The arrays must be this
        optimizer's (as many as its slots, n_params values each), as
        bp_trainer_create checks the optimizer's size: a NumPy assignment
        would broadcast a 1-value array or drop a slot silently."""
        lib = self.lib
        count = lib.optim_state_count(self.optim)
        sizes = [np.size(a) for a in slots]
        if len(slots) != count or any(n != self.n_params for n in sizes):
            raise ValueError("optimizer state: %d arrays of %s values, the optimizer has %d "
                             "state arrays of the model's %d parameters"
                             % (len(slots), sizes, count, self.n_params))
        lib.optim_set_steps(self.optim, steps)
        lib.optim_set_lr(self.optim, lr)
        for s, a in enumerate(slots):
            self._view(lib.optim_state(self.optim, s), self.n_params)[:] = np.ravel(a)

    def epoch(self, X, Y, order=None):
        lib = self.lib
        self._check_xy(X, Y)
        st = EpochStats()
        n = X.shape[0]
        with lib.threads(self.n_threads):
            if order is None:
                status = lib.trainer_epoch(self.trainer, lib.ptr(X), lib.ptr(Y), n, ctypes.byref(st))
            else:
                _check_order(order, n)
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
        self._check_xy(X, Y)
        lib, n = self.lib, X.shape[0]
        st = EpochStats()
        head = (self.trainer, lib.ptr(X), lib.ptr(Y), n)
        if order is None:
            fn, args = lib.trainer_epoch, head + (ctypes.byref(st),)
        else:
            _check_order(order, n)
            op = order.ctypes.data_as(ctypes.POINTER(ctypes.c_size_t))
            fn, args = lib.trainer_epoch_order, head + (op, ctypes.byref(st))
        gate, threads, check = lib.threads, self.n_threads, lib.check

        def run():
            with gate(threads):
                status = fn(*args)
            if status:
                check(status)
            return st
        return run

    def objective(self, X, Y):
        lib = self.lib
        self._check_xy(X, Y)
        loss, pen = ctypes.c_double(), ctypes.c_double()
        with lib.threads(self.n_threads):
            status = lib.trainer_objective(self.trainer, lib.ptr(X), lib.ptr(Y), X.shape[0],
                                           ctypes.byref(loss), ctypes.byref(pen))
        lib.check(status)
        return loss.value, pen.value
