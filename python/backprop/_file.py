"""save/load between fitted estimators and backprop model files.

save() hands a fitted MLP (backprop's or scikit-learn's, alone or after
StandardScaler / MinMaxScaler steps of a Pipeline) to the library, which
writes the file: the Python side only maps scikit-learn's attributes onto a
bp_model (layer sizes, activations, output and loss, weights, normalization,
class labels, feature names as an encoder of numeric columns) and calls
bp_model_save. load() reads a file through bp_model_load and builds the
estimator (a Pipeline with a StandardScaler when the file has a
normalization) that predicts what `backprop predict` prints.

Mapping (docs/PYTHON.md, "Model files"):
  coefs_[i] (fan_in, fan_out)  <->  layers.{i}.weight (out, in): transposed
  intercepts_[i]               <->  layers.{i}.bias
  activation                   <->  every hidden layer's activation
                                    (logistic = sigmoid)
  out_activation_              <->  the last layer's: softmax + xent (multiclass),
                                    logistic + bce (binary, 1 unit; labels
                                    classes_[0], classes_[1]), logistic +
                                    bce_sum (multi-label, no labels), identity +
                                    half_sse (regression)
  scalers                      <->  normalization x' = (x - shift) * scale
  feature_names_in_            <->  an encoder whose columns are all numeric
"""
import ctypes
import json
import os
import struct

import numpy as np

from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier as _SkMLPClassifier
from sklearn.neural_network import MLPRegressor as _SkMLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import LabelBinarizer, MinMaxScaler, StandardScaler

from . import _lib
from ._mlp import MLPClassifier, MLPRegressor

# scikit-learn's activation names <-> the library's (bp_activation_name)
_TO_BP = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu",
          "softmax": "softmax"}
_FROM_BP = {v: k for k, v in _TO_BP.items()}
_BP_ACT_NAMES = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"]  # enum order
_MLPS = (_SkMLPClassifier, _SkMLPRegressor)
_CLASSES_DTYPE_KEY = b"python.classes_dtype"  # extra metadata: classes_'s NumPy dtype


def _refuse(msg):
    return ValueError("backprop.save: " + msg)


# ------------------------------------------------------------------ save

def _split(est):
    """(scaler steps [(name, scaler)], the MLP) of est, or ValueError naming
    what cannot be carried."""
    if isinstance(est, _MLPS):
        return [], est
    if not isinstance(est, Pipeline):
        raise _refuse("a %s cannot be stored in a backprop model file: only a fitted "
                      "MLPClassifier or MLPRegressor (scikit-learn's or backprop's), alone or "
                      "after StandardScaler or MinMaxScaler steps of a Pipeline"
                      % type(est).__name__)
    steps = list(est.steps)
    if not steps:
        raise _refuse("an empty Pipeline holds no MLP")
    name, last = steps[-1]
    if not isinstance(last, _MLPS):
        raise _refuse("the Pipeline's last step '%s' (%s) is not an MLPClassifier or "
                      "MLPRegressor" % (name, type(last).__name__))
    scalers = []
    for name, step in steps[:-1]:
        if step is None or step == "passthrough":
            continue
        if type(step) not in (StandardScaler, MinMaxScaler):
            raise _refuse("Pipeline step '%s' (%s) cannot be stored in a backprop model file: "
                          "only StandardScaler or MinMaxScaler before the MLP"
                          % (name, type(step).__name__))
        scalers.append((name, step))
    return scalers, last


def _check_fitted(step, what):
    need = ("coefs_", "intercepts_", "out_activation_") if isinstance(step, _MLPS) else \
        ("n_features_in_",)
    if not all(hasattr(step, a) for a in need):
        raise NotFittedError("backprop.save: %s is not fitted yet: call fit before saving it"
                             % what)


def _affine(name, s, n):
    """A fitted scaler as (shift, scale): x' = (x - shift) * scale, float64 (n,)."""
    if s.n_features_in_ != n:
        raise _refuse("Pipeline step '%s' has %d features, the MLP takes %d"
                      % (name, s.n_features_in_, n))
    if isinstance(s, StandardScaler):  # (x - mean_) / scale_; None: that part is off
        shift = np.zeros(n) if s.mean_ is None else np.asarray(s.mean_, float)
        scale = np.ones(n) if s.scale_ is None else 1.0 / np.asarray(s.scale_, float)
        return shift, scale
    if getattr(s, "clip", False):
        raise _refuse("Pipeline step '%s' (MinMaxScaler(clip=True)) clips, which a model "
                      "file's normalization cannot carry" % name)
    scale = np.asarray(s.scale_, float)  # x * scale_ + min_ = (x + min_ / scale_) * scale_
    return -np.asarray(s.min_, float) / scale, scale


def _normalization(scalers, n):
    """The scalers composed into one (shift, scale), or None without any:
    ((x - s1) c1 - s2) c2 = (x - (s1 + s2 / c1)) c1 c2."""
    if not scalers:
        return None
    shift, scale = np.zeros(n), np.ones(n)
    for name, s in scalers:
        s_shift, s_scale = _affine(name, s, n)
        if np.any(scale == 0) and np.any(s_shift != 0):
            raise _refuse("Pipeline step '%s' follows a scaler with a zero scale" % name)
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = shift + np.where(scale == 0, 0.0, s_shift / scale)
        scale = scale * s_scale
    if not (np.all(np.isfinite(shift)) and np.all(np.isfinite(scale))):
        raise _refuse("the scalers' shift or scale is not finite")
    return shift, scale


def _output(mlp):
    """(output activation name, bp_loss, labels or None) for the fitted MLP."""
    out = mlp.out_activation_
    k = mlp.coefs_[-1].shape[1]
    if not is_classifier(mlp):
        if out not in _TO_BP:
            raise _refuse("output activation '%s' has no backprop equivalent" % out)
        return _TO_BP[out], _lib.LOSS_HALF_SSE, None
    classes = np.asarray(mlp.classes_)
    multilabel = getattr(mlp._label_binarizer, "y_type_", None) == "multilabel-indicator"
    if multilabel:  # one sigmoid per label, no class labels (bp_model_task: MULTILABEL)
        return "sigmoid", _lib.LOSS_BCE_SUM, None
    if len(classes) < 2:
        raise _refuse("a classifier fitted on %d class cannot be stored: a model file's "
                      "classifier has two classes or more" % len(classes))
    labels = [str(c) for c in classes]
    if len(set(labels)) != len(labels):
        raise _refuse("classes_ %r give the same label text twice" % (list(classes),))
    if out == "softmax" and k == len(classes):
        return "softmax", _lib.LOSS_XENT, labels
    if out == "logistic" and k == 1 and len(classes) == 2:
        return "sigmoid", _lib.LOSS_BCE, labels
    raise _refuse("a classifier with output activation '%s', %d outputs and %d classes has "
                  "no backprop equivalent" % (out, k, len(classes)))


def _encoder_json(names, targets, labels):
    """An encoder (docs/FORMAT.md, "encoder") that reads the named columns as
    numbers, in this order: `backprop predict` then finds them by header name.
    targets: the target columns' names, so that `backprop eval` finds them
    (a classifier's values are its labels), or none."""
    cols = [{"name": str(n), "role": "numeric", "fill": 0.0, "indicator": False} for n in names]
    cols += [{"name": t, "role": "target"} for t in targets]
    enc = {"version": 1, "missing": "error", "impute": "mean",
           "task": "none" if not targets else "classification" if labels else "regression",
           "header": True, "columns": cols,
           "targets": list(range(len(names), len(names) + len(targets)))}
    if targets and labels:
        enc["labels"] = labels
    return json.dumps(enc)


def _targets(target, mlp, labels, names):
    """save()'s target= as a list of column names (checked), [] for None."""
    if target is None:
        return []
    if names is None:
        raise _refuse("target=%r names the target column of a table, which needs the model's "
                      "feature_names_in_ (a fit on a DataFrame); without them `backprop eval` "
                      "takes the target as the CSV's last column" % (target,))
    targets = [target] if isinstance(target, str) else [str(t) for t in target]
    want = 1 if labels else 0 if is_classifier(mlp) else mlp.coefs_[-1].shape[1]
    if len(targets) != want:
        raise _refuse("target=%r: the model needs %d target column name(s)%s"
                      % (target, want, " (a multi-label model: none)" if not want else ""))
    clash = set(targets) & set(str(n) for n in names)
    if clash or len(set(targets)) != len(targets):
        raise _refuse("target=%r: a target column is named twice or is an input" % (target,))
    return targets


def _save_library():
    """The double build when there is one: float64 weights are written as they are."""
    libs = _lib.LIBRARIES
    return libs.get(np.dtype(np.float64)) or libs[np.dtype(np.float32)]


def save(est, path, target=None):
    """Writes a fitted MLPClassifier or MLPRegressor (backprop's or
    scikit-learn's), or a Pipeline of StandardScaler / MinMaxScaler steps
    followed by one, as a backprop model file at `path`, through the library
    (bp_model_save). The scalers become the model's normalization; classes_
    its class labels (as text); feature_names_in_ (a fit on a DataFrame) an
    encoder that reads those columns by name. `backprop predict | eval |
    info | export` then run it; target (the target column's name, or one per
    output of a regressor) lets `backprop eval` find the targets in a table
    by name. Anything else is refused (ValueError naming the step); an
    unfitted estimator raises NotFittedError."""
    scalers, mlp = _split(est)
    _check_fitted(mlp, "the %s" % type(mlp).__name__)
    for name, s in scalers:
        _check_fitted(s, "Pipeline step '%s' (%s)" % (name, type(s).__name__))
    coefs, intercepts = list(mlp.coefs_), list(mlp.intercepts_)
    units = [int(np.shape(coefs[0])[0])] + [int(np.shape(c)[1]) for c in coefs]
    if len(coefs) > _lib.MAX_LAYERS:
        raise _refuse("%d layers: a model file holds at most %d" % (len(coefs), _lib.MAX_LAYERS))
    if mlp.activation not in _TO_BP or mlp.activation == "softmax":
        raise _refuse("hidden activation '%s' has no backprop equivalent" % mlp.activation)
    out_act, loss, labels = _output(mlp)
    norm = _normalization(scalers, units[0])
    first = scalers[0][1] if scalers else mlp
    names = getattr(first, "feature_names_in_", None)
    targets = _targets(target, mlp, labels, names)
    lib = _save_library()
    cfg = lib.model_config_default()
    cfg.n_layers = len(coefs)
    for i, u in enumerate(units):
        cfg.sizes[i] = u
    for i in range(cfg.n_layers):
        name = _TO_BP[mlp.activation] if i < cfg.n_layers - 1 else out_act
        cfg.act[i] = _BP_ACT_NAMES.index(name)
    cfg.loss, cfg.init = loss, _lib.INIT_ZEROS
    m, extra, enc = _lib._P(), _lib._P(), _lib._P()
    lib.check(lib.model_create(ctypes.byref(m), ctypes.byref(cfg)))
    try:
        for i, (W, b) in enumerate(zip(coefs, intercepts)):
            out_n, in_n = units[i + 1], units[i]
            np.ctypeslib.as_array(lib.model_weight(m, i), shape=(out_n, in_n))[:] = \
                np.asarray(W, dtype=np.float64).T
            np.ctypeslib.as_array(lib.model_bias(m, i), shape=(out_n,))[:] = \
                np.asarray(b, dtype=np.float64).reshape(out_n)
        if norm is not None:
            shift, scale = (np.ascontiguousarray(a, dtype=lib.dtype) for a in norm)
            lib.check(lib.model_set_normalization(m, lib.ptr(shift), lib.ptr(scale)))
        if labels:
            arr = (ctypes.c_char_p * len(labels))(*[s.encode("utf-8") for s in labels])
            lib.check(lib.model_set_labels(m, len(labels), arr))
        if names is not None:
            lib.check(lib.encoder_from_json(ctypes.byref(enc), _encoder_json(names, targets, labels).encode()))
            lib.check(lib.model_set_encoder(m, enc))
        lib.check(lib.extra_create(ctypes.byref(extra)))
        kind = "%s.%s" % (type(mlp).__module__.split(".")[0], type(mlp).__name__)
        lib.check(lib.extra_set(extra, b"python.estimator", kind.encode()))
        if labels:
            lib.check(lib.extra_set(extra, _CLASSES_DTYPE_KEY,
                                    np.asarray(mlp.classes_).dtype.str.encode()))
        lib.check(lib.model_save(m, os.fsencode(path), extra))
    finally:
        lib.encoder_free(enc)
        lib.extra_free(extra)
        lib.model_free(m)


# ------------------------------------------------------------------ load

def _refuse_load(path, msg):
    return ValueError("backprop.load: %s: %s" % (path, msg))


def _file_dtype(path):
    """The dtype of a safetensors file's first weight (F32/F64), read from its
    header, so that the build computing in it loads the file: the loaded
    estimator then computes as `backprop predict` of that build does. None
    for anything else (ONNX...), which bp_model_load judges."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            n = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
            if not 0 < n < (1 << 26):
                return None, {}
            header = json.loads(f.read(n).decode("utf-8"))
    except (OSError, ValueError):
        return None, {}
    dt = header.get("layers.0.weight", {}).get("dtype") if isinstance(header, dict) else None
    return {"F32": np.float32, "F64": np.float64}.get(dt), header


# Tensors and metadata keys load() knows how to apply. A tensor it does not
# know, or a metadata key about the target (a later format's stored, unfolded
# target standardization), changes what the model predicts: load() refuses
# the file naming it. (`backprop train` folds its target standardization into
# the last layer before it saves; its user.target_mean / user.target_std keys
# only record it.) Other new metadata keys (informative ones) are ignored, as
# the library's readers do.
_KNOWN_TENSORS = ("layers.", "normalization.")
_KNOWN_META = {"format", "format_version", "checksum", "layer_sizes", "activations",
               "leaky_slope", "loss", "init", "seed", "labels", "encoder"}


def _unknown_fields(header):
    """Fields of the file this package does not apply (a newer format's)."""
    meta = header.get("__metadata__", {}) if isinstance(header, dict) else {}
    bad = [k for k in header if k != "__metadata__" and not k.startswith(_KNOWN_TENSORS)]
    bad += [k for k in meta if k not in _KNOWN_META and "target" in k.lower()
            and not k.startswith(("user.", "optim.", "train."))]
    return bad


def _encoder_columns(path, enc):
    """The input column names of a model's encoder (None without a header),
    or ValueError when the encoder does more than pick numeric columns."""
    cols = enc.get("columns", [])
    for c in cols:
        if c.get("role") == "categorical":
            raise _refuse_load(path, "column '%s' is categorical (one-hot over %d categories): "
                               "scikit-learn's MLP takes numbers only; run this model with "
                               "`backprop predict`" % (c.get("name"), len(c.get("categories", []))))
        if c.get("role") == "numeric" and c.get("indicator"):
            raise _refuse_load(path, "column '%s' has a missing-value indicator input: "
                               "scikit-learn's MLP takes numbers only; run this model with "
                               "`backprop predict`" % c.get("name"))
    if enc.get("missing") == "impute":
        raise _refuse_load(path, "the model imputes missing values (--missing impute), which "
                           "a scikit-learn MLP does not; run it with `backprop predict`")
    names = [c["name"] for c in cols if c.get("role") == "numeric"]
    return names if enc.get("header") else None


def _read(lib, m):
    """What load() needs from a bp_model, as Python values."""
    cfg = lib.model_cfg(m).contents
    n = cfg.n_layers
    sizes = [cfg.sizes[i] for i in range(n + 1)]
    acts = [_BP_ACT_NAMES[cfg.act[i]] for i in range(n)]
    W = [np.ctypeslib.as_array(lib.model_weight(m, i), shape=(sizes[i + 1], sizes[i])).copy()
         for i in range(n)]
    b = [np.ctypeslib.as_array(lib.model_bias(m, i), shape=(sizes[i + 1],)).copy()
         for i in range(n)]
    sp, cp = lib.model_norm_shift(m), lib.model_norm_scale(m)
    norm = None
    if sp and cp:
        norm = (np.ctypeslib.as_array(sp, shape=(sizes[0],)).astype(np.float64),
                np.ctypeslib.as_array(cp, shape=(sizes[0],)).astype(np.float64))
    labels = [lib.model_label(m, i).decode("utf-8") for i in range(lib.model_label_count(m))]
    enc, ep = None, lib.model_encoder(m)
    if ep:
        text = lib.encoder_to_json(ep)
        if not text:
            lib.check(_lib.ERR_INVALID)
        try:
            enc = json.loads(ctypes.string_at(text).decode("utf-8"))
        finally:
            lib.free_c(text)
    return dict(sizes=sizes, acts=acts, W=W, b=b, norm=norm, labels=labels, encoder=enc,
                task=lib.model_task(m), classes=lib.model_classes(m))


def _classes(labels, n, dtype_str):
    if not labels:
        return np.arange(n)
    if dtype_str:
        dt = np.dtype(dtype_str)
        try:
            if dt.kind == "b":
                return np.array([s == "True" for s in labels])
            if dt.kind in "iuf":
                return np.array(labels).astype(dt)
        except ValueError:
            pass
    return np.array(labels, dtype=object)


def _build(path, f, classes_dtype):
    sizes, acts = f["sizes"], f["acts"]
    hidden = set(acts[:-1]) or {"relu"}
    if len(hidden) != 1 or next(iter(hidden)) not in _FROM_BP:
        raise _refuse_load(path, "hidden activations %s: scikit-learn's MLP has one of "
                           "identity, logistic, tanh, relu for every hidden layer"
                           % ",".join(acts[:-1]))
    act, out = _FROM_BP[next(iter(hidden))], acts[-1]
    W, b = f["W"], f["b"]
    task = f["task"]
    if task == _lib.TASK_REGRESSION:
        if out not in _FROM_BP:
            raise _refuse_load(path, "output activation '%s' has no scikit-learn equivalent" % out)
        est, out_act = MLPRegressor(hidden_layer_sizes=tuple(sizes[1:-1]), activation=act), \
            _FROM_BP[out]
    else:
        est = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation=act)
        k = sizes[-1]
        lb = LabelBinarizer()
        lb.sparse_input_ = False
        if task == _lib.TASK_MULTILABEL and out == "sigmoid":
            classes, lb.y_type_, out_act = np.arange(k), "multilabel-indicator", "logistic"
        elif task == _lib.TASK_CLASSIFICATION and out == "softmax" and k == 2:
            # softmax over 2 logits = sigmoid of their difference: scikit-learn's binary form
            W[-1], b[-1] = W[-1][1:] - W[-1][:1], b[-1][1:] - b[-1][:1]
            classes, lb.y_type_, out_act = _classes(f["labels"], 2, classes_dtype), "binary", \
                "logistic"
        elif task == _lib.TASK_CLASSIFICATION and out == "softmax":
            classes, lb.y_type_, out_act = _classes(f["labels"], k, classes_dtype), \
                "multiclass", "softmax"
        elif task == _lib.TASK_CLASSIFICATION and out == "sigmoid" and k == 1:
            classes, lb.y_type_, out_act = _classes(f["labels"], 2, classes_dtype), "binary", \
                "logistic"
        else:
            raise _refuse_load(path, "a classifier with a %s output of %d units has no "
                               "scikit-learn equivalent (softmax, or one sigmoid unit)" % (out, k))
        lb.classes_ = classes
        est.classes_, est._label_binarizer = classes, lb
    est.coefs_ = [w.T.copy() for w in W]
    est.intercepts_ = list(b)
    est.n_layers_ = len(sizes)
    est.n_outputs_ = int(W[-1].shape[0])
    est.out_activation_ = out_act
    est.n_features_in_ = sizes[0]
    est.n_iter_, est.t_, est.loss_ = 0, 0, None
    return est


def load(path):
    """A fitted estimator for a backprop model file (or ONNX file) that
    predicts what `backprop predict` does: backprop's MLPClassifier or
    MLPRegressor, in a Pipeline after a StandardScaler holding the file's
    normalization when it has one. A model trained on a table whose encoder
    only reads numeric columns by name gets feature_names_in_ (on the first
    step); one with categories, imputation or indicator inputs is refused
    (ValueError): `backprop predict` runs those."""
    dtype, header = _file_dtype(path)
    lib = _lib.LIBRARIES.get(np.dtype(dtype)) if dtype else None
    lib = lib or _save_library()
    unknown = _unknown_fields(header)
    m, extra = _lib._P(), _lib._P()
    lib.check(lib.model_load(ctypes.byref(m), os.fsencode(path), ctypes.byref(extra)))
    try:
        f = _read(lib, m)
        cd = lib.extra_get(extra, b"user." + _CLASSES_DTYPE_KEY) or \
            lib.extra_get(extra, _CLASSES_DTYPE_KEY)
    finally:
        lib.extra_free(extra)
        lib.model_free(m)
    if unknown:
        raise _refuse_load(path, "it holds %s, which this version of the package does not "
                           "apply; update backprop" % ", ".join(unknown))
    names = _encoder_columns(path, f["encoder"]) if f["encoder"] else None
    est = _build(path, f, cd.decode() if cd else None)
    first = est
    if f["norm"] is not None:
        shift, scale = f["norm"]
        sc = StandardScaler()
        sc.mean_, sc.scale_ = shift, 1.0 / scale
        sc.var_ = sc.scale_ ** 2
        sc.n_features_in_, sc.n_samples_seen_ = len(shift), 0
        est = first = make_pipeline(sc, est)
    if names is not None:
        first = est.steps[0][1] if isinstance(est, Pipeline) else est
        first.feature_names_in_ = np.array(names, dtype=object)
    return est
