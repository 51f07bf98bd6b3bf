"""The build step pyproject.toml cannot say: libbackprop, built by the
Makefile in both precisions, goes into the package beside the Python files
(backprop/lib/float/libbackprop.so, backprop/lib/double/libbackprop.so),
where python/backprop/_lib.py looks for it after $BACKPROP_LIBRARY. The wheel
is tagged for this platform, since it holds native code."""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))
STAGE = os.path.join("build", "python")  # setuptools' own files, beside build/float


class build_py_with_library(build_py):
    def run(self):
        super().run()
        jobs = os.environ.get("BACKPROP_MAKE_JOBS", str(min(4, os.cpu_count() or 1)))
        for real in ("float", "double"):
            subprocess.run(["make", "-C", ROOT, "-j" + jobs, "REAL=" + real, "SANITIZE=0",
                            "MPI=0", "lib"], check=True)
            dst = os.path.join(self.build_lib, "backprop", "lib", real)
            os.makedirs(dst, exist_ok=True)
            shutil.copy2(os.path.join(ROOT, "build", real, "libbackprop.so"), dst)


cmdclass = {"build_py": build_py_with_library}
try:
    from wheel.bdist_wheel import bdist_wheel

    class bdist_platform_wheel(bdist_wheel):
        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False  # native libraries inside

        def get_tag(self):
            return ("py3", "none", super().get_tag()[2])  # ctypes: any CPython 3

    cmdclass["bdist_wheel"] = bdist_platform_wheel
except ImportError:
    pass

os.makedirs(os.path.join(ROOT, STAGE), exist_ok=True)
setup(cmdclass=cmdclass,
      options={"build": {"build_base": STAGE}, "egg_info": {"egg_base": STAGE}})
