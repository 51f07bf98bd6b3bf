"""Runs the Python package's tests (tests/python/, pytest) against the build
in $BP_BUILD and its other precision (build/float <-> build/double, the
-san and -tsan builds alike): scikit-learn's estimator checks and the parity with
scikit-learn's MLPs. Sanitized builds need libasan (libtsan) preloaded into python,
so pytest always runs in a child process with that environment."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = os.environ.get("BP_BUILD", "build/float")
base = os.path.basename(build.rstrip("/"))
other = base.replace("float", "double") if "float" in base else base.replace("double", "float")
libs = [os.path.join(ROOT, os.path.dirname(build.rstrip("/")) or ".", b, "libbackprop.so")
        for b in (base, other)]
env = dict(os.environ, BACKPROP_LIBRARY=os.pathsep.join(libs),
           PYTHONPATH=os.path.join(ROOT, "python"), PYTHONDONTWRITEBYTECODE="1")
missing = [p for p in libs if not os.path.exists(p)]
if missing:
    print("FAIL: missing %s (make REAL=float lib && make REAL=double lib)" % ", ".join(missing))
    print("cases: 0 ok, 1 failed (test_python)")
    sys.exit(1)
if "-san" in base:
    asan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                          text=True).stdout.strip()
    env["LD_PRELOAD"] = asan
    env["ASAN_OPTIONS"] = "detect_leaks=0"  # python itself leaks at exit
if "-tsan" in base:
    env["LD_PRELOAD"] = subprocess.run(["gcc", "-print-file-name=libtsan.so"], capture_output=True,
                                       text=True).stdout.strip()
cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
       os.path.join(ROOT, "tests", "python")]
proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
out = proc.stdout + proc.stderr
print(out[-20000:] if proc.returncode else out[-3000:])
counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|error|errors|skipped)", out.splitlines()[-1] if out.strip() else "")}
ok = counts.get("passed", 0)
bad = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
if proc.returncode and bad == 0:
    bad = 1
# A skip is a failure unless it is scikit-learn's own "does not apply".
for line in out.splitlines():
    if line.startswith("SKIPPED") and "does not have a decision_function" not in line:
        print("FAIL: unexpected skip: " + line)
        bad += 1
# skipped: scikit-learn's own "does not apply" (MLPClassifier has no decision_function)
print("cases: %d ok, %d failed (test_python, %s, %d skipped by scikit-learn as not applicable)"
      % (ok, bad, base, counts.get("skipped", 0)))
sys.exit(1 if bad else 0)
