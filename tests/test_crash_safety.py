#!/usr/bin/env python3
"""test_crash_safety.py - `backprop train` (of the build in $BP_BUILD) killed
with SIGKILL at random moments, often while it writes its model file or a
checkpoint, never leaves a file that does not load: each time the path holds
the old bytes or the complete new bytes, and a run that ends normally leaves
no temporary file. A full disk (a file-size limit, and a tiny tmpfs when this
process may mount one) or a read-only directory gives a one-line error naming
the option and the cause, exit 1, and keeps the old file.

Half the kill times are drawn uniformly over a whole run (about 40 ms), the
other half within the save itself (a few ms), timed from the moment its
temporary file appears; how many kills landed inside a save shows in the
temporary files they left behind, which this test counts and removes.
$BP_KILL_POINTS (default 250; 100 on an AddressSanitizer build and 40 on a
ThreadSanitizer one, where a run takes seconds, mostly the sanitizer's start:
the saving code is the same in every build, and the plain builds kill it 250
times) sets the number of kills per scenario.
Prints a line per case and "cases: P ok, F failed"; exits non-zero on failure.
"""
import glob
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import report  # noqa: E402
from report import result, summary  # noqa: E402

BUILD = os.environ.get("BP_BUILD", "build/float")
B = os.path.abspath(os.path.join(BUILD, "bin", "backprop"))
_SUFFIX = BUILD.rstrip("/").rsplit("-", 1)[-1]  # "tsan", "san", or no suffix
KILLS = int(os.environ.get("BP_KILL_POINTS", {"tsan": "40", "san": "100"}.get(_SUFFIX, "250")))
ARCH = ["--layers", "32,512,512,4", "--seed", "1", "--quiet"]


def run(args, env=None, preexec=None):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([B] + args, env=e, capture_output=True, text=True, preexec_fn=preexec)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def put(path, data):
    """Replaces path by data the way a save does, so a reader never sees a mix."""
    with open(path + ".put", "wb") as f:
        f.write(data)
    os.replace(path + ".put", path)


def temps(d):
    return glob.glob(os.path.join(d, "*.tmp.*"))


def write_data(path):
    r = random.Random(1)
    with open(path, "w") as f:
        f.write(",".join("x%d" % i for i in range(32)) + ",label\n")
        for _ in range(64):
            f.write(",".join("%.3f" % r.uniform(-1, 1) for _ in range(32)) + ",c%d\n" % r.randrange(4))


def start_and_watch(args, env, d):
    """Starts a run; returns it and the time its temporary file appeared (None if never)."""
    p = subprocess.Popen([B] + args, env=dict(os.environ, **env), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    while p.poll() is None:
        if temps(d):
            return p, time.monotonic()
        time.sleep(0.0002)
    return p, None


def kill_test(name, d, target, args, env, old, new):
    """KILLS runs of args killed at random moments; target must always hold old or new.
    Half the kills fall anywhere in a run; the other half wait for the save's temporary
    file to appear and strike within the save's duration (measured here first)."""
    spans, saves = [], []
    for _ in range(5):
        t0 = time.monotonic()
        p, t_tmp = start_and_watch(args, env, d)
        p.wait()
        spans.append(time.monotonic() - t0)
        if t_tmp:
            saves.append(time.monotonic() - t_tmp)
    span, save = sorted(spans)[2], sorted(saves)[len(saves) // 2] if saves else 0.005
    rng = random.Random(name)
    counts = {"old": 0, "new": 0, "finished": 0}
    stale = bad = 0
    why = ""
    for i in range(KILLS):
        put(target, old)
        if i % 2:
            p, t_tmp = start_and_watch(args, env, d)
            if t_tmp is not None:
                time.sleep(rng.uniform(0, 1.2) * save)
        else:
            p = subprocess.Popen([B] + args, env=dict(os.environ, **env), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, 1.05) * span)
        p.send_signal(signal.SIGKILL)
        rc = p.wait()
        got = read(target)
        left = temps(d)
        if rc != -signal.SIGKILL:  # it finished before the kill
            counts["finished"] += 1
            if left and not why:
                bad, why = bad + 1, "run %d ended (exit %d) and left %s" % (i, rc, left)
        stale += len(left)
        for t in left:
            os.unlink(t)
        if got == old:
            counts["old"] += 1
        elif got == new:
            counts["new"] += 1
        else:
            bad += 1
            why = why or "kill %d: %s holds %s bytes, neither old nor new" % (
                i, os.path.basename(target), "no" if got is None else len(got))
    print("  %s: %d kill points (a %.1f ms run, a %.1f ms save): %d left the old file, %d the "
          "new one, %d runs finished first; %d killed mid-save (temporary files left)" %
          (name, KILLS, 1e3 * span, 1e3 * save, counts["old"], counts["new"], counts["finished"],
           stale))
    result(name, bad == 0 and counts["old"] and counts["new"] and stale, why or
           "the kills missed a case (old, new, mid-save): %s, %d mid-save" % (counts, stale))
    return KILLS


def refused(name, r, target, old, d, pattern):
    """The save failed cleanly: exit 1, a message naming the cause, old file kept, no temp."""
    msg = (r.stderr + r.stdout).strip()
    good = (r.returncode == 1 and pattern in msg and read(target) == old and not temps(d))
    result(name, good, "exit %d, %r, old file %s, temps %s" % (
        r.returncode, msg[-300:], "kept" if read(target) == old else "changed", temps(d)))


def main():
    if not report.built(B, "test_crash_safety.py"):
        return 1
    top = tempfile.mkdtemp(prefix="bp_crash_")
    os.chmod(top, 0o755)  # the read-only case runs as another user
    try:
        return cases(top)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def cases(top):
    data = os.path.join(top, "d.csv")
    write_data(data)
    os.chmod(data, 0o644)
    d = os.path.join(top, "w")
    os.mkdir(d)
    model, ckpt = os.path.join(d, "m.st"), os.path.join(d, "m.ckpt")

    # The old and the new model file, and the old and new checkpoint.
    base = ["train", "--data", data] + ARCH
    r1 = run(base + ["--epochs", "1", "--save", model])
    old_model = read(model)
    save_args = base + ["--epochs", "2", "--save", model]
    r2 = run(save_args)
    new_model = read(model)
    sigint = {"BACKPROP_TEST_SIGINT_AT": "1"}
    ckpt_args = base + ["--epochs", "3", "--batch", "16", "--save", model, "--checkpoint", ckpt]
    r3 = run(ckpt_args, {"BACKPROP_TEST_SIGINT_AT": "2"})
    old_ckpt = read(ckpt)
    r4 = run(ckpt_args, sigint)
    new_ckpt = read(ckpt)
    infos = [run(["info", "--model", p]).returncode for p in (model, ckpt)]
    setup = (r1.returncode, r2.returncode, r3.returncode, r4.returncode) == (0, 0, 130, 130)
    result("setup", setup and old_model and new_model and old_model != new_model and old_ckpt
           and new_ckpt and old_ckpt != new_ckpt and infos == [0, 0] and not temps(d),
           "exits %s, info %s: %s" % ((r1.returncode, r2.returncode, r3.returncode,
                                       r4.returncode), infos, (r2.stderr + r4.stderr)[-300:]))
    if report.counts["failed"]:
        summary("test_crash_safety.py")
        return 1

    kills = kill_test("sigkill-model-save", d, model, save_args, {}, old_model, new_model)
    kills += kill_test("sigkill-checkpoint-save", d, ckpt, ckpt_args, sigint, old_ckpt, new_ckpt)
    print("  %d kill points in all" % kills)

    # A full disk, as a file-size limit (SIGXFSZ ignored, so write() fails with EFBIG).
    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        import resource
        resource.setrlimit(resource.RLIMIT_FSIZE, (100000, resource.RLIM_INFINITY))
    put(model, old_model)
    refused("file-size-limit-model", run(save_args, preexec=small_files), model, old_model, d,
            "--save: %s: write failed: File too large (the file is unchanged)" % model)
    put(ckpt, old_ckpt)
    refused("file-size-limit-checkpoint", run(ckpt_args, sigint, preexec=small_files), ckpt,
            old_ckpt, d, "checkpoint: %s: write failed: File too large" % ckpt)

    # A real full disk: a tmpfs with room for the old model and half the new one
    # (when we may mount one).
    full = os.path.join(top, "full")
    os.mkdir(full)
    size = "size=%dk" % (len(old_model) * 3 // 2 // 1024)
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", size, "tmpfs", full], capture_output=True)
    if m.returncode == 0:
        try:
            target = os.path.join(full, "m.st")
            put(target, old_model)
            args = base + ["--epochs", "2", "--save", target]
            refused("enospc-tmpfs", run(args), target, old_model, full,
                    "No space left on device (the file is unchanged)")
        finally:
            subprocess.run(["umount", full])
    else:
        print("skip enospc-tmpfs: cannot mount a tmpfs here (%s)" % m.stderr.decode().strip())

    # A directory we may not write: as root, run as nobody; otherwise chmod it.
    ro = os.path.join(top, "ro")
    os.mkdir(ro)
    target = os.path.join(ro, "m.st")
    put(target, old_model)
    os.chmod(target, 0o644)
    if os.geteuid() == 0:
        def drop():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        r = run(save_args[:-1] + [target], preexec=drop)
    else:
        os.chmod(ro, 0o555)
        r = run(save_args[:-1] + [target])
        os.chmod(ro, 0o755)
    refused("read-only-directory", r, target, old_model, ro,
            "--save: %s: cannot create a temporary file beside it: Permission denied" % target)

    return summary("test_crash_safety.py")


if __name__ == "__main__":
    sys.exit(main())
