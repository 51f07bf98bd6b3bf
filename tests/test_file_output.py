#!/usr/bin/env python3
"""test_file_output.py - what `backprop` (of the build in $BP_BUILD) does to
the thing at an output path, for each of the library's writers: the model
file (init --save, bp_model_save), ONNX (export --format onnx), the C export
(export --format c) and predictions (predict --output). All go through one
writer, bp_file (src/io/file_atomic.c); each case is checked for each writer:

1. a FIFO at the path gets the bytes in place (a reader process reads them,
   under a timeout) and stays a FIFO; a rename would have replaced it and
   left the reader waiting forever;
2. /dev/full: a device node of it made with mknod in the test's folder (so
   that the system's is never at risk), or a symbolic link to it for a user
   who cannot write /dev; skipped, saying why, as root where mknod is not
   allowed: the command fails with ENOSPC's message and the node stays;
3. a symbolic link stays a link and the file it names (in another folder)
   holds the new bytes, the same as a plain write gives; no temporary file is
   left in either folder;
4. a new file's mode is 0666 less the umask under umask 022 and 077, and a
   replaced file keeps its own mode (0640);
5. a write that fails (a file-size limit: EFBIG) leaves the old file as it
   was and no temporary file.
Prints a line per case and "cases: P ok, F failed"; exits non-zero on failure.
"""
import os
import resource
import signal
import stat
import subprocess
import sys
import tempfile
import shutil

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from report import built, result, summary  # noqa: E402

BUILD = os.environ.get("BP_BUILD", "build/float")
B = os.path.abspath(os.path.join(BUILD, "bin", "backprop"))
TIMEOUT = 20


def run(cmd, umask=None, fsize=None, timeout=TIMEOUT):
    """cmd's (exit status, stderr); -9 when it ran past the timeout."""
    def setup():
        if umask is not None:
            os.umask(umask)
        if fsize is not None:  # the write past fsize bytes fails with EFBIG
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, resource.RLIM_INFINITY))
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=setup, timeout=timeout)
        return r.returncode, r.stderr
    except subprocess.TimeoutExpired:
        return -9, "timed out after %d s" % timeout


class Writer:
    """One of the commands that write a file, and the suffix its path needs."""

    def __init__(self, name, suffix, args):
        self.name, self.suffix, self.args = name, suffix, args

    def cmd(self, path):
        return [B] + [path if a == "PATH" else a for a in self.args]


def writers(tmp):
    model = os.path.join(tmp, "m.safetensors")
    data = os.path.join(tmp, "d.csv")
    with open(data, "w") as f:  # 60 rows: predictions well over the size limit of case 5
        f.write("a,b,c,t\n" + "".join("%d,%d,%d,%d\n" % (i, i % 7, -i, i % 2) for i in range(60)))
    subprocess.run([B, "init", "--layers", "3,5,2", "--seed", "1", "--save", model],
                   check=True, capture_output=True)
    return [
        Writer("model save", ".safetensors", ["init", "--layers", "3,5,2", "--seed", "2", "--save", "PATH"]),
        Writer("ONNX save", ".onnx", ["export", "--model", model, "--format", "onnx", "--output", "PATH"]),
        Writer("C export", ".c", ["export", "--model", model, "--format", "c", "--output", "PATH"]),
        Writer("predict --output", ".csv", ["predict", "--model", model, "--data", data, "--output", "PATH"]),
    ]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def temps(*dirs):
    return [n for d in dirs for n in os.listdir(d) if ".tmp." in n]


def expected(w, d):
    """The bytes w writes to a plain file named out{suffix} in folder d."""
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "out" + w.suffix)
    rc, err = run(w.cmd(p))
    return read(p) if rc == 0 else None


def check_fifo(w, d, want):
    os.makedirs(d)
    p = os.path.join(d, "out" + w.suffix)
    os.mkfifo(p)
    reader = subprocess.Popen(["cat", p], stdout=subprocess.PIPE)
    rc, err = run(w.cmd(p), timeout=TIMEOUT)
    try:
        got, _ = reader.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        reader.kill()
        got = reader.communicate()[0]
        err += " (the reader was still waiting after 5 s)"
    still = stat.S_ISFIFO(os.lstat(p).st_mode)
    result("%s: a FIFO at the path gets the bytes in place (%d bytes) and stays a FIFO" % (w.name, len(got)),
           rc == 0 and got == want and still and not temps(d),
           "exit %d, %d bytes of %d, FIFO %s, temps %s: %s" % (rc, len(got), len(want), still, temps(d), err))


def full_node(p):
    """Makes p a node of /dev/full: a device node (mknod) where allowed, else,
    for a user who cannot write /dev anyway, a symbolic link to /dev/full.
    None, or why neither can be done here."""
    if not os.path.exists("/dev/full"):
        return "there is no /dev/full"
    try:
        os.mknod(p, 0o666 | stat.S_IFCHR, os.stat("/dev/full").st_rdev)
        with open(p, "wb") as f:  # a folder mounted nodev refuses to open it
            f.write(b"x")
    except OSError as e:
        if e.errno == 28:  # ENOSPC: a working node of /dev/full
            return None
        if os.path.lexists(p):
            os.unlink(p)
        if os.geteuid() == 0:  # never risk the system's /dev/full under a wrong writer
            return "root, but no device node can be made here (%s)" % e
        os.symlink("/dev/full", p)
        return None
    return "writing to a node of /dev/full succeeded"


def check_full(w, d):
    os.makedirs(d)
    p = os.path.join(d, "full" + w.suffix)
    why = full_node(p)
    if why:
        print("skip %s: /dev/full: %s" % (w.name, why))
        return
    rc, err = run(w.cmd(p))
    still = stat.S_ISCHR(os.stat(p).st_mode)
    result("%s: /dev/full fails with ENOSPC's message (the node stays)" % w.name,
           rc == 1 and "No space left on device" in err and err.count("\n") == 1 and still and not temps(d),
           "exit %d, still a device %s, temps %s: %r" % (rc, still, temps(d), err))


def check_symlink(w, d, want):
    real_dir = os.path.join(d, "real")
    os.makedirs(real_dir)
    target = os.path.join(real_dir, "target" + w.suffix)
    with open(target, "wb") as f:
        f.write(b"old")
    link = os.path.join(d, "out" + w.suffix)
    os.symlink(os.path.join("real", "target" + w.suffix), link)  # relative, as people make them
    rc, err = run(w.cmd(link))
    is_link = os.path.islink(link)
    got = read(target) if os.path.exists(target) else b""
    result("%s: a symlink stays a link, the file it names gets the new bytes" % w.name,
           rc == 0 and is_link and got == want and not temps(d, real_dir),
           "exit %d, link %s, target %d bytes of %d, temps %s: %s" % (rc, is_link, len(got), len(want),
                                                                  temps(d, real_dir), err))


def check_modes(w, d):
    os.makedirs(d)
    for mask in (0o022, 0o077):
        p = os.path.join(d, "new%o%s" % (mask, w.suffix))
        rc, err = run(w.cmd(p), umask=mask)
        mode = stat.S_IMODE(os.stat(p).st_mode) if rc == 0 else None
        result("%s: a new file under umask %03o gets mode %03o" % (w.name, mask, 0o666 & ~mask),
               mode == 0o666 & ~mask, "exit %d, mode %s: %s" % (rc, oct(mode) if mode is not None else None, err))
    p = os.path.join(d, "old" + w.suffix)
    with open(p, "wb") as f:
        f.write(b"old")
    os.chmod(p, 0o640)
    rc, err = run(w.cmd(p), umask=0o022)
    mode = stat.S_IMODE(os.stat(p).st_mode)
    result("%s: a replaced file keeps its mode (0640)" % w.name, rc == 0 and mode == 0o640,
           "exit %d, mode %o: %s" % (rc, mode, err))


def check_failed_write(w, d):
    os.makedirs(d)
    p = os.path.join(d, "out" + w.suffix)
    olds = [p] + ([p[:-1] + "h"] if w.suffix == ".c" else [])
    for o in olds:
        with open(o, "wb") as f:
            f.write(b"the old file")
    rc, err = run(w.cmd(p), fsize=100)
    intact = all(read(o) == b"the old file" for o in olds)
    result("%s: a failing write (EFBIG) keeps the old file, leaves no temporary file" % w.name,
           rc == 1 and "File too large" in err and intact and not temps(d),
           "exit %d, intact %s, temps %s: %r" % (rc, intact, temps(d), err))


def main():
    if not built(B, "test_file_output"):
        return 1
    tmp = tempfile.mkdtemp(prefix="bp_file_output_")
    try:
        for i, w in enumerate(writers(tmp)):
            base = os.path.join(tmp, "w%d" % i)
            want = expected(w, os.path.join(base, "plain"))
            result("%s: writes a plain file" % w.name, want is not None, "")
            if want is None:
                continue
            check_fifo(w, os.path.join(base, "fifo"), want)
            check_full(w, os.path.join(base, "full"))
            check_symlink(w, os.path.join(base, "link"), want)
            check_modes(w, os.path.join(base, "modes"))
            check_failed_write(w, os.path.join(base, "fail"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary("test_file_output")


if __name__ == "__main__":
    sys.exit(main())
