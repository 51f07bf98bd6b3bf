#!/usr/bin/env bash
# The pip install of docs/PYTHON.md, offline, in a temporary venv:
#   python3 -m venv --system-site-packages v
#   v/bin/pip install --no-index --no-build-isolation --no-cache-dir <a copy of the source>
# builds libbackprop in both precisions from scratch (setup.py runs the
# Makefile) and installs the package with the libraries inside it; then
# `import backprop` from another folder, without BACKPROP_LIBRARY or PYTHONPATH,
# loads both libraries from the venv and fits, saves and loads a small model.
# It builds its own libraries, so it runs once, with BP_BUILD=build/float; the
# other builds (double, -san, -tsan) check only that pyproject.toml and
# setup.py are well-formed. About 40 s (two library builds on 2 cores).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=/usr/bin/python3
ok=0; failed=0
pass() { echo "ok   $1"; ok=$((ok + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
finish() { echo "cases: $ok ok, $failed failed (pip install)"; [ "$failed" -eq 0 ]; exit; }

# Cheap, in every build: the files pip reads are well-formed and say what they must.
if out=$($PY - <<'PYEOF' 2>&1
import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))
assert p["build-system"]["build-backend"] == "setuptools.build_meta", p["build-system"]
assert p["project"]["name"] == "backprop", p["project"]
assert p["tool"]["setuptools"]["package-dir"] == {"": "python"}
src = open("setup.py").read()
compile(src, "setup.py", "exec")
assert '"REAL=" + real' in src and '("float", "double")' in src, "setup.py must build both precisions"
PYEOF
); then pass "pyproject.toml and setup.py: well-formed, both precisions built"
else fail "pyproject.toml / setup.py" "$out"; fi

if [ "$(basename "${BP_BUILD:-build/float}")" != float ]; then
    pass "the install itself runs once, in build/float (it builds its own libraries): skipped in $(basename "${BP_BUILD:-}")"
    finish
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bp-pip.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src" "$tmp/elsewhere"
# The source as a clone would have it (tracked and new files, no build/).
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$ROOT" ls-files -co --exclude-standard -z |
        (cd "$ROOT" && xargs -0 sh -c 'for f; do [ -f "$f" ] && cp -p --parents "$f" "$0"; done' "$tmp/src")
else
    tar -C "$ROOT" --exclude=./build --exclude=./tests/node/node_modules -cf - . | tar -C "$tmp/src" -xf -
fi

start=$(date +%s)
if out=$($PY -m venv --system-site-packages "$tmp/v" 2>&1); then pass "python3 -m venv --system-site-packages"
else fail "python3 -m venv" "$out"; finish; fi
if out=$(env -u BACKPROP_LIBRARY -u PYTHONPATH BACKPROP_MAKE_JOBS=2 PIP_DISABLE_PIP_VERSION_CHECK=1 \
        timeout 300 "$tmp/v/bin/pip" install --no-index --no-build-isolation --no-cache-dir "$tmp/src" 2>&1); then
    pass "pip install --no-index --no-build-isolation . ($(( $(date +%s) - start )) s, both libraries built)"
else fail "pip install" "$(tail -n 20 <<<"$out")"; finish; fi
[ -e "$tmp/src/build/float/libbackprop.so" ] && [ -e "$tmp/src/build/double/libbackprop.so" ] &&
    pass "the Makefile built build/float and build/double in the source" ||
    fail "library build" "build/float or build/double has no libbackprop.so"

cd "$tmp/elsewhere"
if out=$(env -u BACKPROP_LIBRARY -u PYTHONPATH VENV="$tmp/v" timeout 120 "$tmp/v/bin/python" - <<'PYEOF' 2>&1
import os
import warnings
import numpy as np
import backprop
warnings.simplefilter("ignore")
venv = os.environ["VENV"]
libs = backprop.libraries()
assert set(str(d) for d in libs) == {"float32", "float64"}, libs
for d, lib in libs.items():
    assert lib.path.startswith(venv) and "/backprop/lib/" in lib.path, lib.path
assert backprop.__file__.startswith(venv), backprop.__file__
print("ok   import backprop from another folder: both libraries from the venv's package")
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 3))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
clf = backprop.MLPClassifier((8,), learning_rate_init=0.01, max_iter=300, random_state=0).fit(X, y)
acc = clf.score(X, y)
assert acc > 0.95, acc
backprop.save(clf, "m.safetensors")
back = backprop.load("m.safetensors")
assert np.array_equal(back.predict(X), clf.predict(X))
print("ok   fit a small MLPClassifier (training accuracy %.3f), save and load it" % acc)
PYEOF
); then
    printf '%s\n' "$out" | grep '^ok' ; ok=$((ok + $(grep -c '^ok' <<<"$out")))
else fail "using the installed package" "$out"; fi
finish
