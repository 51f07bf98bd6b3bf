#!/usr/bin/env python3
"""test_device_train.py - training on the microcontroller gives the host's bits
(issue 24). tests/device_train.c is built three times from the same source:
for the host against the BLAS-free core (build/float-noblas/
libbackprop-core.a, `make BLAS=none`: the library's own GEMM, -ffp-contract=off)
and for a Cortex-M4F (hard float) and a Cortex-M3 (soft float) against the
bare-metal core of `make embedded-core` (arm-none-eabi-gcc, picolibc), run
under qemu-system-arm (mps2-an386, mps2-an385) with semihosting. It prints the
weights' bits after every epoch of the notes' XOR from its seed, of a
6-16-8-3 classifier trained in full, of that model's last layer
fine-tuned with its first two layers borrowed read-only, and of the classifier
trained with bp_train_config.l2, weight decay and clipping (the device's -Os
core writes l2's term into the gradient, the host's folds it into the
optimizer's passes: optim.c); then the library's gradcheck. Checked: every weight of every epoch is the same float on the three
(bit for bit); the epoch's reported loss, a double summed through libm's
double log/exp (glibc against picolibc), within 1e-14 relative; XOR learned;
the M4F's gradcheck below 1e-3 (max and norm relative error, float32); no
malloc, free, calloc, realloc or aligned_alloc in the device programs (the
core is built with BP_NO_HEAP, the program trains in a bp_arena); and
no fused multiply-add in the host's BLAS-free objects (x86 -march=native
could contract a*b+c otherwise; gemv.o, whose explicit FMA the BLAS-free
build never calls, aside).
The test builds what it needs with make, whatever BP_BUILD is (the device is
float32 only), so scripts/run-tests.sh runs it once (run-tests: once, unsanitized).
A missing cross compiler or qemu is a failure, not a skip.
Prints a line per case and "cases: P ok, F failed"; exits non-zero on failure."""
import glob
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from report import result, summary  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOBLAS = os.path.join(ROOT, "build", "float-noblas")
EMB = os.path.join(ROOT, "build", "embedded")
ARM_LINK = ["-mthumb", "--specs=picolibc.specs", "--oslib=semihost", "--crt0=hosted", "-Wl,--gc-sections",
            "-Wl,--defsym=__flash=0x0", "-Wl,--defsym=__flash_size=0x400000",
            "-Wl,--defsym=__ram=0x20000000", "-Wl,--defsym=__ram_size=0x200000"]
CPUS = {
    "cortex-m4f": (["-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"], "core-m4",
                   ["-M", "mps2-an386", "-cpu", "cortex-m4"]),
    "cortex-m3": (["-mcpu=cortex-m3"], "core-m3", ["-M", "mps2-an385", "-cpu", "cortex-m3"]),
}
SRC = os.path.join(ROOT, "tests", "device_train.c")
FLAGS = ["-std=c11", "-Os", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-I", os.path.join(ROOT, "include")]


def run(cmd, timeout=600):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          text=True, timeout=timeout, cwd=ROOT)


def epochs(text):
    """{(tag, epoch): (loss, [weight bits])} and the other lines."""
    rows, other = {}, []
    for line in text.splitlines():
        f = line.split()
        if len(f) > 3 and f[0] in ("xor", "pre", "ft", "ftf", "l2") and f[1].isdigit():
            rows[(f[0], int(f[1]))] = (struct.unpack(">d", bytes.fromhex(f[2]))[0], f[3:])
        else:
            other.append(line)
    return rows, other


def compare(name, host, dev):
    hr, _ = host
    dr, dother = dev
    same = sum(1 for k in hr if k in dr and dr[k][1] == hr[k][1])
    first = next((k for k in sorted(hr) if k not in dr or dr[k][1] != hr[k][1]), None)
    result("%s: weights after each of %d epochs (xor, pre-train, fine-tune, on features, l2) equal "
           "the host's bit for bit" % (name, len(hr)), len(hr) == len(dr) and same == len(hr) and len(hr) == 230,
           "%d of %d equal; first difference at %s: %s against %s" %
           (same, len(hr), first, dr.get(first, (0, ["missing"]))[1][:6], hr.get(first, (0, []))[1][:6]))
    worst = max(abs(dr[k][0] - hr[k][0]) / max(abs(hr[k][0]), 1e-300) for k in hr if k in dr)
    result("%s: reported epoch loss within 1e-14 relative of the host's (worst %.2g)" % (name, worst),
           worst < 1e-14, "worst %.3g" % worst)


def check_c_train(tmp):
    """`backprop export --format c-train` of a 6-16-8-3 model, last layer trained:
    the generated C compiles against the host's BLAS-free core and the M4F's,
    starts from the model file's last layer, and trains to the same bits on both."""
    cli = os.path.join(ROOT, "build", "float", "bin", "backprop")
    model = os.path.join(tmp, "dtm.safetensors")
    r = run([cli, "init", "--layers", "6,16,8,3", "--seed", "4", "--save", model])
    if not r.returncode:
        r = run([cli, "export", "--model", model, "--format", "c-train", "--train-layers", "1",
                 "--output", os.path.join(tmp, "dtm.c")])
    if r.returncode:
        result("export --format c-train", False, r.stdout[-1000:])
        return
    main_c = os.path.join(ROOT, "tests", "device_ctrain.c")
    srcs = [main_c, os.path.join(tmp, "dtm.c"), "-I", tmp]
    host = os.path.join(tmp, "ctrain_host")
    elf = os.path.join(tmp, "ctrain_m4.elf")
    cflags, core, machine = CPUS["cortex-m4f"]
    r1 = run(["cc"] + FLAGS + ["-o", host] + srcs + [os.path.join(NOBLAS, "libbackprop-core.a"), "-lm", "-lpthread"])
    r2 = run(["arm-none-eabi-gcc"] + cflags + FLAGS + ARM_LINK + ["-o", elf] + srcs +
             [os.path.join(EMB, core, "libbackprop-core.a"), "-lm"])
    if r1.returncode or r2.returncode:
        result("c-train: the generated C builds for the host and the M4F", False, (r1.stdout + r2.stdout)[-2000:])
        return
    h = run([host]).stdout
    d = run(["timeout", "60", "qemu-system-arm"] + machine +
            ["-nographic", "-semihosting-config", "enable=on,target=native", "-kernel", elf]).stdout
    hl = [line for line in h.splitlines() if line.startswith("ct ")]
    result("c-train: 10 epochs of the exported model's last layer, the same bits on the host and the M4F",
           len(hl) == 11 and "done" in d and hl == [line for line in d.splitlines() if line.startswith("ct ")],
           "host %d lines, device: %s" % (len(hl), d[-300:]))
    with open(model, "rb") as f:
        data = f.read()
    w0 = bytes.fromhex("".join(hl[0].split()[2:]).strip()) if hl else b""
    # the little-endian bytes of W (8 x 3 = 24 values) and b (3) as the model file stores them
    le = b"".join(w0[i:i + 4][::-1] for i in range(0, len(w0), 4))
    result("c-train: the trained layer starts from the model file's values",
           len(le) == 27 * 4 and le[:96] in data and le[96:] in data, "not found in the model file")


def check_macs():
    """Instructions per MAC of the trained layer's products on the M4F, counted
    by qemu -icount (examples/embedded/train_bench.c): issue 24's target is 5."""
    elf = os.path.join(EMB, "train-bench-m4.elf")
    r = run(["make", "-s", os.path.relpath(elf, ROOT)])
    if r.returncode:
        result("train_bench builds", False, r.stdout[-2000:])
        return
    d = run(["timeout", "120", "qemu-system-arm", "-M", "mps2-an386", "-cpu", "cortex-m4", "-nographic",
             "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel", elf])
    both = [l.split() for l in d.stdout.splitlines() if l.strip().startswith("both products")]
    per_mac = float(both[0][-3]) if both else float("inf")
    result("cortex-m4f: the trained layer's forward and dW products take %.2f instructions per MAC "
           "(<= 5)" % per_mac, per_mac <= 5, d.stdout[-800:])


def main():
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm", "cc"):
        if not shutil.which(tool):
            result("%s present (scripts/deps.sh installs it)" % tool, False, "not found")
            return summary("test_device_train")
    r = run(["make", "-s", "SANITIZE=0", "BLAS=none", "REAL=float", "build/float-noblas/libbackprop-core.a",
             "embedded-core"])
    if r.returncode:
        result("make BLAS=none core, make embedded-core", False, r.stdout[-2000:])
        return summary("test_device_train")
    fused = []
    for o in sorted(glob.glob(os.path.join(NOBLAS, "obj", "*", "*.o"))):
        if os.path.basename(o) == "gemv.o":
            continue
        d = run(["objdump", "-d", o]).stdout
        if any(i in d for i in ("vfmadd", "vfnmadd", "vfmsub", "vfnmsub")):
            fused.append(os.path.relpath(o, ROOT))
    result("no fused multiply-add in the host's BLAS-free objects", not fused, " ".join(fused))
    tmp = tempfile.mkdtemp(prefix="bp_devtrain_")
    try:
        host = os.path.join(tmp, "host")
        r = run(["cc"] + FLAGS + ["-o", host, SRC, os.path.join(NOBLAS, "libbackprop-core.a"), "-lm", "-lpthread"])
        if r.returncode:
            result("host program builds", False, r.stdout[-2000:])
            return summary("test_device_train")
        h = run([host])
        result("host program runs", h.returncode == 0 and "done" in h.stdout, h.stdout[-500:])
        host_rows = epochs(h.stdout)
        hr = host_rows[0]
        same = [e for e in range(1, 21) if ("ft", e) in hr and hr.get(("ftf", e)) == hr[("ft", e)]]
        result("fine-tune on features (bp_model_features one sample at a time) equals the fine-tune "
               "on inputs bit for bit, all 20 epochs", len(same) == 20,
               "%d of 20 epochs equal" % len(same))
        for cpu, (cflags, core, machine) in CPUS.items():
            elf = os.path.join(tmp, cpu + ".elf")
            r = run(["arm-none-eabi-gcc"] + cflags + FLAGS + ARM_LINK +
                    ["-o", elf, SRC, os.path.join(EMB, core, "libbackprop-core.a"), "-lm"])
            if r.returncode:
                result(cpu + ": device program links", False, r.stdout[-2000:])
                continue
            heap = [l.split()[-1] for l in run(["arm-none-eabi-nm", elf]).stdout.splitlines()
                    if l.split()[-1] in ("malloc", "free", "calloc", "realloc", "aligned_alloc")]
            result(cpu + ": links no malloc (BP_NO_HEAP core, an arena)", not heap, " ".join(heap))
            d = run(["timeout", "120", "qemu-system-arm"] + machine +
                    ["-nographic", "-semihosting-config", "enable=on,target=native", "-kernel", elf])
            ok = d.returncode == 0 and "done" in d.stdout
            result(cpu + ": runs under qemu", ok, "exit %d: %s" % (d.returncode, d.stdout[-500:]))
            if not ok:
                continue
            rows = epochs(d.stdout)
            compare(cpu, host_rows, rows)
            result(cpu + ": XOR learned", "xor right 4 of 4" in rows[1], " ".join(rows[1]))
            if cpu == "cortex-m4f":
                g = [line.split() for line in rows[1] if line.startswith("gradcheck")]
                good = bool(g) and float(g[0][2]) < 1e-3 and float(g[0][4]) < 1e-3 and float(g[0][6]) > 1e-2
                result("cortex-m4f: gradcheck in float32 below 1e-3 (%s)" % (" ".join(g[0][1:]) if g else ""),
                       good, " ".join(rows[1]))
        check_c_train(tmp)
        check_macs()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary("test_device_train")


if __name__ == "__main__":
    sys.exit(main())
