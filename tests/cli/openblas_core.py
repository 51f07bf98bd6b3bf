"""openblas_core.py - the kernel family OpenBLAS runs in this environment
(openblas_get_corename: "Haswell" under OPENBLAS_CORETYPE=Haswell, as these
machines usually set it; "Prescott", its generic kernels, where the variable is
unset on a core this OpenBLAS does not know). Tests whose stored outputs are
the Haswell kernels' last bits compare bits only there.

    /usr/bin/python3 tests/cli/openblas_core.py     prints it
"""
import ctypes
import ctypes.util


def core():
    lib = ctypes.CDLL(ctypes.util.find_library("openblas") or "libopenblas.so.0")
    lib.openblas_get_corename.restype = ctypes.c_char_p
    return lib.openblas_get_corename().decode()


if __name__ == "__main__":
    print(core())
