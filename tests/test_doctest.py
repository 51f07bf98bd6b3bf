#!/usr/bin/env python3
"""test_doctest.py - every example in README.md and docs/*.md runs as shown
(`make doctest`; scripts/run-tests.sh runs it in build/float only;
BP_DOCTEST_ONLY=CLI.md runs one document's).

What counts as an example, and the markers (docs/ROBUSTNESS.md, "Doc tests"):
- a fenced block tagged sh, bash, shell or console: a shell script, run with
  `set -e` in a scratch folder, one folder per document so that a later block
  sees the files an earlier one wrote (no pipefail: `| head` is fine); a block whose lines start with "$ " is
  a transcript: each command's output is compared with the lines under it;
- a block tagged c: compiled against include/ and the build's static library
  (wrapped in main() when it has none) and run;
- a block tagged python: run with /usr/bin/python3 and the package of
  python/, with X, y, X_test, y_test (iris) defined beforehand;
- `<!-- doctest: output -->` before a block: that block is the output of the
  example above it, compared;
- `<!-- doctest: skip (reason) -->` before a block: not run, counted and
  listed with its reason;
- untagged blocks without "$ " lines (layouts, output shown in prose, JSON)
  are not examples.
Output comparison masks times and speeds ("9.5 s", "0.8s", "72605 samples/s",
"ETA 0:41"), takes other numbers within 1% (or both below 1e-4: errors of
finite differences), treats "..." lines as any number of lines and ignores
runs of spaces. The scratch folder holds iris.csv, iris_test.csv and
new_flowers.csv (scikit-learn's iris, shuffled with seed 0: 120 rows, the 30
others with and without the species) and finds `backprop` of the build first
on PATH. Prints "ok"/"FAIL"/"skip" per example, the counts run and skipped,
and "cases: P ok, F failed".
"""
import csv
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from report import result, summary  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BP_BUILD", "build/float")
HOME_BUILD = "build/float"
SHELL_TAGS = {"sh", "bash", "shell", "console"}
MARK = re.compile(r"<!--\s*doctest:\s*(skip|output|run|sub)\b\s*(.*?)\s*-->")
SETUP = re.compile(r"^\s*<!--\s*doctest:\s*setup\b(.*)$")
TIMEOUT = int(os.environ.get("BP_DOCTEST_TIMEOUT", "240"))
PRELUDE_PY = """\
import numpy as np
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
X, y = load_iris(return_X_y=True)
X, X_test, y, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
"""


class Block:
    def __init__(self, doc, line, tag, body, mark, reason):
        self.doc, self.line, self.tag, self.body = doc, line, tag, body
        self.mark, self.reason = mark, reason

    @property
    def name(self):
        return "%s:%d" % (self.doc, self.line)

    def kind(self):
        if self.tag == "setup":
            return "setup"
        if self.mark == "output":
            return "output"
        if self.tag in SHELL_TAGS or self.mark == "run":
            return "shell"
        if self.tag in ("c", "python", "py"):
            return "python" if self.tag == "py" else self.tag
        if not self.tag and any(l.startswith("$ ") for l in self.body):
            return "shell"
        return None


def blocks(path):
    """The fenced blocks of a Markdown file (``` or ~~~, indented or not),
    each with the doctest marker on the nearest non-blank line above it."""
    doc = os.path.relpath(path, ROOT)
    lines = open(path, encoding="utf-8").read().split("\n")
    out, i = [], 0
    while i < len(lines):
        su = SETUP.match(lines[i])
        if su:  # <!-- doctest: setup ... -->: shell run here, not shown
            j = i
            while "-->" not in lines[j]:
                j += 1
            text = "\n".join([su.group(1)] + lines[i + 1:j + 1])
            out.append(Block(doc, i + 1, "setup", [text.replace("-->", "")], None, ""))
            i = j + 1
            continue
        m = re.match(r"^( {0,3}|\s*)(`{3,}|~{3,})\s*([^`\s]*)", lines[i])
        if not m:
            i += 1
            continue
        indent, fence, tag = len(m.group(1)), m.group(2), m.group(3).lower()
        j = i + 1
        while j < len(lines) and not re.match(r"^\s*%s%s*\s*$" % (re.escape(fence), fence[0]), lines[j]):
            j += 1
        body = [l[indent:] if l[:indent].strip() == "" else l for l in lines[i + 1:j]]
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mk = MARK.search(lines[k]) if k >= 0 else None
        reason = (mk.group(2).strip() if mk else "")
        b = Block(doc, i + 1, tag, body, mk.group(1) if mk else None, reason)
        if b.mark == "sub":  # sub |FROM|TO| (why): the block run with FROM replaced
            sm = re.match(r"\|([^|]*)\|([^|]*)\|\s*(.*)", reason)
            b.sub = sm.groups()[:2] if sm else None
            b.reason = sm.group(3) if sm else ""
            if b.sub:
                b.body = [re.sub(b.sub[0], b.sub[1], l) for l in b.body]
        b.reason = b.reason.strip("() ")
        out.append(b)
        i = j + 1
    return out


# ------------------------------------------------------------ comparing

TIME = [
    (re.compile(r"\b\d+(\.\d+)?\s*(samples/s|s|ms|us|µs|min)\b"), "<T>"),
    (re.compile(r"\bETA \d+:\d+\b"), "ETA <T>"),
    (re.compile(r"\b\d+(\.\d+)?s\b"), "<T>"),
]
NUM = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def normalize(text):
    out = []
    for l in text.rstrip("\n").split("\n"):
        for rx, rep in TIME:
            l = rx.sub(rep, l)
        out.append(" ".join(l.split()))
    return out


def same_line(want, got):
    if NUM.sub("#", want) != NUM.sub("#", got):
        return False
    for w, g in zip(NUM.finditer(want), NUM.finditer(got)):
        a, b = float(w.group(0)), float(g.group(0))
        if abs(a) < 1e-4 and abs(b) < 1e-4:
            continue
        if abs(a - b) > 0.01 * max(abs(a), abs(b)):
            return False
    return True


def compare(want, got):
    """None when got matches want (see the top), else the first difference."""
    w, g = normalize(want), normalize(got)

    def match(i, j):
        if i == len(w):
            return None if j == len(g) else "extra output line %r" % g[j]
        if w[i] in ("...", "…"):
            for k in range(j, len(g) + 1):
                if match(i + 1, k) is None:
                    return None
            return "nothing after '...' matches %r" % (w[i + 1] if i + 1 < len(w) else "")
        if j == len(g):
            return "missing output line %r" % w[i]
        if not same_line(w[i], g[j]):
            return "expected %r, got %r" % (w[i], g[j])
        return match(i + 1, j + 1)

    return match(0, 0)


# ------------------------------------------------------------ running

def transcript(body):
    """[(command, expected output)] of a "$ " block; commands continue over
    lines ending in a backslash."""
    out, cmd, exp, cont = [], None, [], False
    for l in body:
        if cont:
            cmd += "\n" + l
            cont = l.endswith("\\")
        elif l.startswith("$ "):
            if cmd is not None:
                out.append((cmd, "\n".join(exp)))
            cmd, exp, cont = l[2:], [], l.endswith("\\")
        elif cmd is not None:
            exp.append(l)
    if cmd is not None:
        out.append((cmd, "\n".join(exp)))
    return out


def sh(script, cwd, env):
    # -e: a failing command fails the example; no pipefail: `... | head` is fine.
    # Standard error interleaved with the output, as a terminal shows them.
    r = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
    return r.returncode, r.stdout


def ldlibs():
    # The Makefile's LDLIBS as make expands it (it names $(BLAS_LIBS)).
    r = subprocess.run(["make", "--no-print-directory", "-s", "-f", "Makefile", "-f", "-", "pv"],
                       cwd=ROOT, input="pv: ; @echo $(LDLIBS)\n", stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return r.stdout.split() if r.returncode == 0 and r.stdout.strip() else ["-lm"]


def run_c(b, cwd, env):
    src = "\n".join(b.body)
    if not re.search(r"\bmain\s*\(", src):  # statements: in main(), #lines above it
        pre = [l for l in b.body if l.startswith("#")]
        body = [l for l in b.body if not l.startswith("#")]
        src = ("#include <stdio.h>\n#include <stdlib.h>\n#include <backprop.h>\n%s\n"
               "int main(void)\n{\n%s\nreturn 0;\n}\n" % ("\n".join(pre), "\n".join(body)))
    c = os.path.join(cwd, "doc_%d.c" % b.line)
    with open(c, "w") as f:
        f.write(src)
    exe = c[:-2]
    r = subprocess.run(["cc", "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-I", os.path.join(ROOT, "include"), "-I", cwd,
                        "-o", exe, c, os.path.join(ROOT, BUILD, "libbackprop.a")] + ldlibs(),
                       capture_output=True, text=True, cwd=cwd)
    if r.returncode:
        return r.returncode, "compile: " + r.stderr
    r = subprocess.run([exe], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    return r.returncode, r.stdout + r.stderr


def run_python(b, cwd, env):
    py = os.path.join(cwd, "doc_%d.py" % b.line)
    with open(py, "w") as f:
        f.write(PRELUDE_PY + "\n".join(b.body) + "\n")
    r = subprocess.run(["/usr/bin/python3", py], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=TIMEOUT)
    return r.returncode, r.stdout + r.stderr


def run_block(b, cwd, env):
    """(failure or None, output) of one example."""
    k = b.kind()
    if k == "c":
        rc, out = run_c(b, cwd, env)
    elif k == "python":
        rc, out = run_python(b, cwd, env)
    elif any(l.startswith("$ ") for l in b.body):
        out = ""
        for cmd, want in transcript(b.body):
            rc, got = sh(cmd, cwd, env)
            out += got
            if rc and not want.strip():  # a failure is fine where the doc shows its message
                return "`%s` exited %d: %s" % (cmd.split("\n")[0], rc, got[-400:]), out
            diff = compare(want, got) if want.strip() else None
            if diff:
                return "`%s`: %s" % (cmd.split("\n")[0], diff), out
        return None, out
    else:
        rc, out = sh("\n".join(b.body), cwd, env)
    return ("exit %d: %s" % (rc, out[-600:]) if rc else None), out


def fixtures(d):
    import pandas as pd
    from sklearn.datasets import load_iris
    iris = load_iris(as_frame=True)
    f = iris.frame.copy()
    f.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    f["species"] = [iris.target_names[t] for t in iris.target]
    f = f.sample(frac=1, random_state=0)
    f[:120].to_csv(os.path.join(d, "iris.csv"), index=False)
    f[120:].to_csv(os.path.join(d, "iris_test.csv"), index=False)
    f[120:].drop(columns="species").to_csv(os.path.join(d, "new_flowers.csv"), index=False)
    # Debian's python3-vega-datasets (files, no download), as tests/test_tabular.py reads them
    vega = "/usr/lib/python3/dist-packages/vega_datasets/_data"
    shutil.copy(os.path.join(vega, "seattle-weather.csv"), d)
    with open(os.path.join(vega, "cars.json")) as f:
        rows = json.load(f)
    with open(os.path.join(d, "cars.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(rows[0]))
        w.writerows([["" if r[k] is None else r[k] for k in rows[0]] for r in rows])


def environment():
    env = dict(os.environ)
    env["PATH"] = os.path.join(ROOT, BUILD, "bin") + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.path.join(ROOT, "python")
    libs = [os.path.join(ROOT, b, "libbackprop.so") for b in ("build/float", "build/double")]
    env["BACKPROP_LIBRARY"] = os.pathsep.join(l for l in libs if os.path.exists(l))
    env["NODE_PATH"] = os.path.join(ROOT, "tests", "node", "node_modules")
    env["BP_ROOT"] = ROOT
    return env


def dependency_lists():
    """README's package list per make target is scripts/deps.sh's, and make demo
    runs the demo's set only."""
    deps = open(os.path.join(ROOT, "scripts", "deps.sh")).read()
    readme = open(os.path.join(ROOT, "README.md")).read()
    full = set(re.search(r"^packages=\(([^)]*)\)", deps, re.M).group(1).split())
    demo = set(re.search(r'= demo \] && packages=\(([^)]*)\)', deps).group(1).split())
    said_demo = re.search(r"- `make demo`: `([^`]*)`", readme)
    said_test = re.search(r"- `make test` and `make`: those, and the test tools `([^`]*)`", readme, re.S)
    result("readme-demo-packages", said_demo and set(said_demo.group(1).split()) == demo,
           "README %s, deps.sh %s" % (said_demo and said_demo.group(1), sorted(demo)))
    listed = set(said_test.group(1).split()) | demo if said_test else set()
    result("readme-test-packages", listed == full, "missing %s, extra %s" % (sorted(full - listed),
                                                                             sorted(listed - full)))
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, env=env)
    lines = r.stdout.splitlines()
    result("make-demo-installs-demo-set", "scripts/deps.sh demo" in lines and "scripts/deps.sh" not in lines,
           r.stdout[:300])


def main():
    if os.path.normpath(BUILD) != HOME_BUILD:
        print("doc examples run once, in %s (this is %s)" % (HOME_BUILD, BUILD))
        return summary("test_doctest.py")
    docs = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
    only = os.environ.get("BP_DOCTEST_ONLY")  # e.g. CLI.md: run one document's examples
    docs = [p for p in docs if not only or os.path.basename(p) == only]
    env = environment()
    dependency_lists()
    ran = skipped = 0
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="bp-doctest-") as tmp:
        fixtures(tmp)
        for path in docs:
            d = os.path.join(tmp, os.path.basename(path)[:-3])
            shutil.copytree(tmp, d, ignore=lambda dd, names: [n for n in names if not n.endswith(".csv")])
            last = None  # output of the example above, for "doctest: output"
            for b in blocks(path):
                k = b.kind()
                if k == "setup":
                    rc, out = sh(b.body[0], d, env)
                    if rc:
                        result("setup " + b.name, False, out[-400:])
                    continue
                if b.mark == "sub" and not (b.sub and b.reason):
                    result("doc " + b.name, False, "a sub marker needs |FROM|TO| and a reason")
                    continue
                if b.mark == "skip":
                    skipped += 1
                    print("skip %s: %s" % (b.name, b.reason or "no reason given"))
                    result("reason " + b.name, bool(b.reason), "a skip marker needs a reason")
                    continue
                if k == "output":
                    if last is None:
                        result("doc " + b.name, False, "an output block with no example above it")
                    else:
                        diff = compare("\n".join(b.body), last)
                        result("doc " + b.name, diff is None, diff)
                    continue
                if k is None:
                    continue
                ran += 1
                t0 = time.time()
                try:
                    why, last = run_block(b, d, env)
                except subprocess.TimeoutExpired:
                    why, last = "ran past %d s (mark it skipped with a reason)" % TIMEOUT, None
                result("doc %s (%s, %.1f s)" % (b.name, k, time.time() - t0), why is None, why)
    print("doc examples: %d run, %d skipped, in %.0f s" % (ran, skipped, time.time() - start))
    return summary("test_doctest.py")


if __name__ == "__main__":
    sys.exit(main())
