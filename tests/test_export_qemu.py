#!/usr/bin/env python3
"""test_export_qemu.py - the generated C (of `backprop export` in $BP_BUILD)
on emulated microcontrollers: cross-compiled with Debian's gcc-arm-none-eabi
and picolibc for a Cortex-M4F (hard float, DSP extension) and a Cortex-M3
(no FPU, no DSP: the portable paths), run under qemu-system-arm (mps2-an386,
mps2-an385) with semihosting.

Two models (tanh / leaky_relu / sigmoid / softmax with standard
normalization; relu / sigmoid on integer inputs, the int8 normalization
folded into layer 1), each exported as float32 and int8. On test vectors
embedded in the program, the device's float32 NAME_predict must match
`backprop predict` within 1e-6 + 1e-5 |ref| and classify alike; its int8
NAME_quantize and NAME_predict_int8 must give the library's int8 values bit
for bit (tests/tool_quant), and NAME_predict the library's int8 predict
within the same tolerance. main returns the number of mismatches: qemu's
exit status. On the M4 the int8 layers whose inputs are a multiple of 8
take the DSP path (SXTB16 + SMLAD, four rows at a time): the first model's
second layer (16 inputs, 10 rows: two groups, and two rows for the portable
loop) and fourth (8 inputs, 4 rows: one group); the M3 and the host run the
portable path. The generated files also compile at -O2 with -Werror for
both cores, where gcc's loop analysis warns about more. Last,
examples/embedded/main.c is built over an exported 784-64-10 model and run.
A missing cross compiler or qemu is a failure, not a skip.
Prints a line per case and "cases: P ok, F failed"; exits non-zero on failure.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from report import built, result, summary  # noqa: E402
from test_export_c import B, ROOT, TOOL, parse, read_predict, run, write_data  # noqa: E402

ARM = ["-mthumb", "--specs=picolibc.specs", "--oslib=semihost", "--crt0=hosted",
       "-Wl,--defsym=__flash=0x0", "-Wl,--defsym=__flash_size=0x400000",
       "-Wl,--defsym=__ram=0x20000000", "-Wl,--defsym=__ram_size=0x200000"]
CPUS = {
    "cortex-m4f": (["-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"], ["-M", "mps2-an386", "-cpu", "cortex-m4"]),
    "cortex-m3": (["-mcpu=cortex-m3"], ["-M", "mps2-an385", "-cpu", "cortex-m3"]),
}
# name, data kind, layers, hidden acts, normalize
MODELS = [
    ("qa", "classes", "6,16,10,8,4", "tanh,leaky_relu,sigmoid", "standard"),
    ("qb", "pixels:binary", "6,10,1", "relu", "scale"),
]
N = 24


def carray(ctype, name, rows, fmt):
    body = ",\n".join("    {" + ", ".join(fmt(v) for v in r) + "}" for r in rows)
    return "static const %s %s[%d][%d] = {\n%s\n};\n" % (ctype, name, len(rows), len(rows[0]), body)


def f32(v):
    s = "%.9g" % float(v)
    return (s if any(c in s for c in ".e") else s + ".0") + "f"


def prepare(tmp, name, kind, layers, act, norm):
    """Trains, exports both ways, returns the C of its checks."""
    train, test = os.path.join(tmp, name + "_train.csv"), os.path.join(tmp, name + "_test.csv")
    write_data(train, kind, 200, 5)
    write_data(test, kind, N, 6, spread=1.3)
    model = os.path.join(tmp, name + ".safetensors")
    r = run([B, "train", "--data", train, "--layers", layers, "--act", act, "--epochs", "3",
             "--normalize", norm, "--seed", "2", "--quiet", "--save", model, "--threads", "1"])
    assert r.returncode == 0, r.stderr
    pred = os.path.join(tmp, name + "_pred.csv")
    r = run([B, "predict", "--model", model, "--data", test, "--output", pred])
    assert r.returncode == 0, r.stderr
    k = int(layers.split(",")[-1])
    ref, cls = read_predict(pred, k)
    for suffix, extra in (("_f", []), ("_q", ["--quantize", "int8", "--calibrate", train])):
        r = run([B, "export", "--model", model, "--format", "c", "--output",
                 os.path.join(tmp, name + suffix + ".c")] + extra)
        assert r.returncode == 0, r.stderr
    lib = run([TOOL, model, train, test])
    assert lib.returncode == 0, lib.stderr
    lq = parse(lib.stdout)
    xs = np.loadtxt(test, delimiter=",", skiprows=1, usecols=range(6), ndmin=2)
    c = carray("float", name + "_x", xs, lambda v: f32(v))
    c += carray("float", name + "_yf", ref, f32)
    c += "static const int %s_cls[%d] = {%s};\n" % (name, N, ", ".join(map(str, cls)))
    c += carray("int8_t", name + "_xq", lq["xq"], str)
    c += carray("int8_t", name + "_yq", lq["yq"], str)
    c += carray("float", name + "_p", lq["p"], f32)
    c += """
static int check_%(n)s(void)
{
    int bad = 0, i, j;
    for (i = 0; i < %(N)d; i++) {
        float y[%(k)d];
        int8_t xq[6], yq[%(k)d];
        %(n)s_f_predict(%(n)s_x[i], y);
        for (j = 0; j < %(k)d; j++) bad += !near(y[j], %(n)s_yf[i][j]);
        bad += %(n)s_f_classify(%(n)s_x[i]) != %(n)s_cls[i];
        %(n)s_q_quantize(%(n)s_x[i], xq);
        for (j = 0; j < 6; j++) bad += xq[j] != %(n)s_xq[i][j];
        %(n)s_q_predict_int8(%(n)s_xq[i], yq);
        for (j = 0; j < %(k)d; j++) bad += yq[j] != %(n)s_yq[i][j];
        %(n)s_q_predict(%(n)s_x[i], y);
        for (j = 0; j < %(k)d; j++) bad += !near(y[j], %(n)s_p[i][j]);
    }
    printf("%(n)s: %%d mismatches\\n", bad);
    return bad;
}
""" % {"n": name, "N": N, "k": k}
    return c


def check_embedded_example(tmp):
    """examples/embedded/main.c as `make embedded-demo` builds it, over an untrained
    784-64-10 model and four synthetic images: it compiles and runs to the end."""
    ex = os.path.join(tmp, "example")
    os.makedirs(ex)
    model = os.path.join(ex, "fm.safetensors")
    r = run([B, "init", "--layers", "784,64,10", "--seed", "1", "--save", model])
    calib = os.path.join(ex, "calib.csv")
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, size=(20, 784))
    with open(calib, "w") as f:
        for row in pixels:
            f.write(",".join(map(str, row)) + ",%d\n" % rng.integers(0, 10))
    if r.returncode == 0:
        r = run([B, "export", "--model", model, "--format", "c", "--output", os.path.join(ex, "fm.c"),
                 "--quantize", "int8", "--calibrate", calib, "--no-header"])
    if r.returncode:
        result("examples/embedded/main.c: model", False, r.stderr)
        return
    with open(os.path.join(ex, "images.h"), "w") as f:
        f.write("#define N_IMAGES 4\n#define IMAGE_SIZE 784\n"
                "static const unsigned char images[N_IMAGES][IMAGE_SIZE] = {\n%s};\n"
                "static const int truth[N_IMAGES] = {1, 2, 3, 4};\n"
                % ",\n".join("{" + ",".join(map(str, p)) + "}" for p in pixels[:4]))
    cflags, machine = CPUS["cortex-m4f"]
    elf = os.path.join(ex, "demo.elf")
    r = run(["arm-none-eabi-gcc", "-std=c99", "-Os", "-Wall", "-Wextra", "-Werror", "-I", ex] + cflags + ARM +
            [os.path.join(ROOT, "examples", "embedded", "main.c"), os.path.join(ex, "fm.c"), "-o", elf, "-lm"])
    if r.returncode:
        result("examples/embedded/main.c cross-compiles", False, r.stderr[:1500])
        return
    r = subprocess.run(["timeout", "60", "qemu-system-arm"] + machine +
                       ["-nographic", "-semihosting-config", "enable=on,target=native", "-kernel", elf],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    result("examples/embedded/main.c runs under qemu (cortex-m4f)",
           r.returncode == 0 and "of 4 right" in r.stdout, "exit %d: %s" % (r.returncode, r.stdout))


def main():
    if not built(B, "test_export_qemu") or not built(TOOL, "test_export_qemu"):
        return 1
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        if not shutil.which(tool):
            result("%s present (scripts/deps.sh installs it)" % tool, False, "not found")
            return summary("test_export_qemu")
    tmp = tempfile.mkdtemp(prefix="bp_qemu_")
    try:
        src = "#include <math.h>\n#include <stdint.h>\n#include <stdio.h>\n"
        for m in MODELS:
            src += '#include "%s_f.h"\n#include "%s_q.h"\n' % (m[0], m[0])
        src += "\nstatic int near(float a, float b) { return fabsf(a - b) <= 1e-6f + 1e-5f * fabsf(b); }\n\n"
        for m in MODELS:
            src += prepare(tmp, *m)
        src += "\nint main(void)\n{\n    int bad = 0;\n"
        for m in MODELS:
            src += "    bad += check_%s();\n" % m[0]
        src += "    return bad > 100 ? 100 : bad;\n}\n"
        main_c = os.path.join(tmp, "main.c")
        with open(main_c, "w") as f:
            f.write(src)
        files = [main_c] + [os.path.join(tmp, m[0] + s + ".c") for m in MODELS for s in ("_f", "_q")]
        for cpu, (cflags, machine) in CPUS.items():
            # at -O2 too (compile only): gcc's loop analysis warns about more there
            for src in files[1:]:
                r = run(["arm-none-eabi-gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror",
                         "-I", tmp, "-c"] + cflags + ["--specs=picolibc.specs", src, "-o", os.devnull])
                if r.returncode:
                    break
            if r.returncode:
                result(cpu + ": the generated files compile at -O2", False, r.stderr[:1500])
                continue
            elf = os.path.join(tmp, cpu + ".elf")
            r = run(["arm-none-eabi-gcc", "-std=c99", "-Os", "-Wall", "-Wextra", "-pedantic", "-Werror",
                     "-I", tmp] + cflags + ARM + files + ["-o", elf, "-lm"])
            if r.returncode:
                result(cpu + ": cross-compiles", False, r.stderr[:1500])
                continue
            # semihosting's console goes to stdout or stderr depending on what they are
            r = subprocess.run(["timeout", "60", "qemu-system-arm"] + machine +
                               ["-nographic", "-semihosting-config", "enable=on,target=native", "-kernel", elf],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
            result("%s under qemu: %d models x (float32 predict, classify; int8 quantize, predict_int8, "
                   "predict) on %d vectors match the host (%s)" % (cpu, len(MODELS), N, r.stdout.strip().replace("\n", "; ")),
                   r.returncode == 0, "exit %d: %s" % (r.returncode, r.stdout))
        check_embedded_example(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary("test_export_qemu")


if __name__ == "__main__":
    sys.exit(main())
