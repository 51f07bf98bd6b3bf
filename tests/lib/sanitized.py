"""Lets a test script load a sanitized libbackprop.so through ctypes.

A library built with -fsanitize=address (thread) can only be loaded into a
process whose first library is the sanitizer's runtime; python is not linked
with it, so the script re-executes itself once with the runtime in LD_PRELOAD.
The re-executed script then takes LD_PRELOAD and the python-only options out
of its environment again, so the commands it starts run as they would be run
by hand and keep leak detection."""
import os
import subprocess
import sys

_MARK = "BP_SANITIZER_PRELOADED"


def _runtime(build):
    base = os.path.basename(build.rstrip("/"))
    if base.endswith("-tsan"):
        return "libtsan.so", {}
    if base.endswith("-san"):
        return "libasan.so", {"ASAN_OPTIONS": "detect_leaks=0"}  # python leaks at exit
    return None, {}


def preload_for(build):
    """Call before loading the library of `build` (build/float-san, ...)."""
    if os.environ.get(_MARK):
        for key in (_MARK, "LD_PRELOAD", "ASAN_OPTIONS"):
            os.environ.pop(key, None)
        if os.environ.get("BP_SANITIZER_SAVED_ASAN_OPTIONS") is not None:
            os.environ["ASAN_OPTIONS"] = os.environ.pop("BP_SANITIZER_SAVED_ASAN_OPTIONS")
        return
    name, extra = _runtime(build)
    if not name:
        return
    path = subprocess.run(["gcc", "-print-file-name=" + name], capture_output=True,
                          text=True).stdout.strip()
    env = dict(os.environ, LD_PRELOAD=path, **{_MARK: "1"}, **extra)
    if "ASAN_OPTIONS" in os.environ:
        env["BP_SANITIZER_SAVED_ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"]
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)
