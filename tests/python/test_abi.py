"""The package's hand-written copies of include/backprop.h (ctypes Structures
and integer constants in backprop/_lib.py) against the library's
bp_abi_table(), in both builds; and the table against the header itself, so
that a field, enum value or #define added to the header without its line in
src/base/abi.c fails here by name."""
import ctypes
import os
import re

import numpy as np
import pytest

from backprop import _lib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADER = os.path.join(ROOT, "include", "backprop.h")
BUILDS = (np.float32, np.float64)


def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def header_structs(text):
    """{name: [field names in order]} of every `typedef struct NAME { ... } NAME;`."""
    out = {}
    for m in re.finditer(r"typedef\s+struct\s+\w+\s*\{(.*?)\}\s*(\w+)\s*;",
                         _strip_comments(text), re.S):
        fields = []
        for decl in m.group(1).split(";"):
            decl = decl.strip()
            if not decl:
                continue
            fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)  # a function pointer
            if fp:
                fields.append(fp.group(1))
                continue
            decl = re.sub(r"\[[^\]]*\]", "", decl)  # array sizes
            fields += [re.search(r"(\w+)\s*$", part).group(1) for part in decl.split(",")]
        out[m.group(2)] = fields
    return out


def header_constants(text):
    """Every enum value and every integer #define BP_* of the header."""
    text = _strip_comments(text)
    names = []
    for m in re.finditer(r"typedef\s+enum\s+\w+\s*\{(.*?)\}\s*\w+\s*;", text, re.S):
        names += [re.match(r"\s*(\w+)", e).group(1) for e in m.group(1).split(",") if e.strip()]
    names += re.findall(r"^\s*#\s*define\s+(BP_\w+)\s+\(?-?\d", text, re.M)
    return names


def header_vs_table(text, table):
    """Messages for what the header declares and the table lacks (or has
    otherwise), and for table entries the header does not declare."""
    bad = []
    structs = header_structs(text)
    for s, fields in structs.items():
        if table.get(s, (None,))[0] != _lib.ABI_STRUCT:
            bad.append(f"{s}: a struct of backprop.h with no STRUCT({s}) line in src/base/abi.c")
        for f in fields:
            if table.get(f"{s}.{f}", (None,))[0] != _lib.ABI_FIELD:
                bad.append(f"{s}.{f}: a field of backprop.h with no FIELD({s}, {f}) line "
                           "in src/base/abi.c")
        in_table = [k.split(".", 1)[1] for k, v in table.items()
                    if v[0] == _lib.ABI_FIELD and k.split(".", 1)[0] == s]
        if [f for f in in_table if f in fields] != [f for f in fields if f in in_table]:
            bad.append(f"{s}: fields in another order in src/base/abi.c than in backprop.h")
    constants = header_constants(text)
    for c in constants:
        if table.get(c, (None,))[0] != _lib.ABI_CONSTANT:
            bad.append(f"{c}: declared in backprop.h with no CONSTANT({c}) line in src/base/abi.c")
    for k, (kind, _, _) in table.items():
        known = (k.split(".", 1)[0] in structs and (kind == _lib.ABI_STRUCT or
                                                     k.split(".", 1)[1] in structs[k.split(".", 1)[0]])
                 if kind != _lib.ABI_CONSTANT else k in constants)
        if not known:
            bad.append(f"{k}: in bp_abi_table but not found in backprop.h")
    return bad


@pytest.fixture(scope="module")
def header():
    with open(HEADER) as f:
        return f.read()


def test_both_builds_loaded():
    """tests/test_python.py hands both builds to the package; each checks itself."""
    assert set(_lib.LIBRARIES) == {np.dtype(b) for b in BUILDS}


@pytest.mark.parametrize("dtype", BUILDS)
def test_structs_and_constants_match_the_library(dtype):
    lib = _lib.library(dtype)
    assert _lib.abi_mismatches(lib.abi, lib.structs, _lib.C_CONSTANTS) == []
    # every ctypes Structure the package hands to C is among the checked ones
    mirrored = {v for k, v in vars(_lib).items()
                if isinstance(v, type) and issubclass(v, ctypes.Structure)}
    assert mirrored - set(lib.structs.values()) == set()
    assert lib.ModelConfig in lib.structs.values()
    # bp_real differs between the builds, and with it bp_model_config's layout
    want = ctypes.sizeof(lib.real)
    assert lib.abi["bp_model_config.leaky_slope"][2] == want
    assert lib.abi["bp_model_config.loss"][1] == lib.abi["bp_model_config.leaky_slope"][1] + want


@pytest.mark.parametrize("dtype", BUILDS)
def test_table_covers_the_header(header, dtype):
    table = _lib.library(dtype).abi
    assert header_vs_table(header, table) == []
    # the parse found what it should (so an empty answer means something)
    structs = header_structs(header)
    assert structs["bp_train_config"][:3] == ["batch_size", "shuffle", "seed"]
    assert {"on_batch", "reduce", "l2"} <= set(structs["bp_train_config"])
    assert structs["bp_optim_config"].count("beta2") == 1
    assert "BP_MAX_LAYERS" in header_constants(header)
    assert "BP_ERR_INTERRUPTED" in header_constants(header)


def test_header_drift_is_named(header):
    """A field added to bp_train_config (or an enum value, a #define) in the
    header without its src/base/abi.c line fails, naming it."""
    table = _lib.library(np.float32).abi
    drifted = header.replace("    double prob_clip;\n",
                             "    double prob_clip;\n    int abi_test_probe;\n", 1)
    drifted = drifted.replace("    BP_OPTIM_RMSPROP,", "    BP_OPTIM_RMSPROP,\n    BP_OPTIM_ABI_TEST_PROBE,", 1)
    drifted = drifted.replace("#define BP_MAX_LAYERS 32", "#define BP_MAX_LAYERS 32\n"
                              "#define BP_ABI_TEST_PROBE 1000", 1)
    bad = set(header_vs_table(drifted, table)) - set(header_vs_table(header, table))
    assert any(m.startswith("bp_train_config.abi_test_probe:") for m in bad), bad
    assert any(m.startswith("BP_OPTIM_ABI_TEST_PROBE:") for m in bad), bad
    assert any(m.startswith("BP_ABI_TEST_PROBE:") for m in bad), bad
    assert len(bad) == 3, bad


def test_binding_drift_is_named():
    """The other side: the library grew or moved a field, or renumbered a
    constant, and _lib.py did not follow."""
    lib = _lib.library(np.float64)
    table = dict(lib.abi)
    # a field added to the C struct (at its end), not to TrainConfig
    size = table["bp_train_config"][1]
    table["bp_train_config.drift_field"] = (_lib.ABI_FIELD, size, 4)
    table["bp_train_config"] = (_lib.ABI_STRUCT, size + 8, 8)
    bad = _lib.abi_mismatches(table, lib.structs, _lib.C_CONSTANTS)
    assert any("bp_train_config.drift_field: in the library, missing from TrainConfig" in m
               for m in bad), bad
    assert any(m.startswith("bp_train_config: sizeof %d" % (size + 8)) for m in bad), bad

    # a retyped field (int where C has double) moves the fields after it
    class Retyped(ctypes.Structure):
        _fields_ = [(n, ctypes.c_int if n == "lr" else t) for n, t in _lib.OptimConfig._fields_]
    bad = _lib.abi_mismatches(lib.abi, {"bp_optim_config": Retyped}, {})
    assert any(m.startswith("bp_optim_config.lr: offset 8, size 8 in the library; "
                            "Retyped: offset 4, size 4") for m in bad), bad

    # a field renamed on one side
    class Renamed(ctypes.Structure):
        _fields_ = [("n_epoch" if n == "epoch" else n, t) for n, t in _lib.EpochStats._fields_]
    bad = _lib.abi_mismatches(lib.abi, {"bp_epoch_stats": Renamed}, {})
    assert "bp_epoch_stats.n_epoch: in Renamed._fields_, not in the library's bp_abi_table" in bad
    assert "bp_epoch_stats.epoch: in the library, missing from Renamed._fields_" in bad

    # a renumbered constant, and one the library does not have
    bad = _lib.abi_mismatches(lib.abi, {}, {"BP_LOSS_XENT": 7, "BP_LOSS_HINGE": 5})
    assert bad == ["BP_LOSS_XENT = 2 in the library; this package has 7",
                   "BP_LOSS_HINGE: not a constant in the library's bp_abi_table"]


def test_load_refuses_a_drifted_binding(monkeypatch):
    """Loading a build checks it: a mismatch is an error naming it, not a
    struct passed at the wrong size."""
    path = _lib.library(np.float32).path
    monkeypatch.setitem(_lib.C_CONSTANTS, "BP_MAX_LAYERS", 64)
    with pytest.raises(_lib.BackpropError, match=r"BP_MAX_LAYERS = 32 in the library; "
                                                 r"this package has 64"):
        _lib.Library(path)
