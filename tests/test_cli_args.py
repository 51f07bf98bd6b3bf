#!/usr/bin/env python3
"""test_cli_args.py - the backprop command (of the build in $BP_BUILD) on bad
and random command lines.

1. Every option of every command, read from `backprop CMD --help` (not from
   the C option table), given a value of the wrong type, an empty, negative,
   zero or non-finite value, an unknown name, no value, or an input file that
   does not exist: exit 2 and exactly one line on stderr naming the option.
2. An argv fuzzer: $BP_ARGV_RUNS (default 300; 100 in -tsan and double-san
   builds) random command lines mixing
   each command's options, other commands' options and junk with valid and
   invalid values (seeded by $BP_ARGV_SEED): every run exits 0, 1, 2 or 130
   (runs still going after a few seconds get a SIGINT, and may die of it),
   never dies of another signal, and prints no sanitizer report (run it on
   `make SANITIZE=1`).
3. The names of --act, --out-act, --loss, --init and --opt, read from the
   library (bp_activation_name ... through ctypes, not from the command): the
   command accepts each, and lists each in its --help, in its message for an
   unknown name, and in docs/CLI.md.
4. One owner for each decision: the width limit is the header's BP_MAX_WIDTH
   (the command's messages state it, and no other file of cli/ or src/
   repeats the number); cli/*.c leaves data specs ("csv:", "idx:", ".csv")
   to the library's parser; and, read from the object files' symbols, the
   option parser, the data and encoder files and the error printers call
   each other without a cycle.
Prints a line per case and "cases: P ok, F failed"; exits non-zero on failure.
"""
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import ctypes
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from report import built, result, summary  # noqa: E402
from sanitized import preload_for  # noqa: E402

BUILD = os.environ.get("BP_BUILD", "build/float")
preload_for(BUILD)
B = os.path.abspath(os.path.join(BUILD, "bin", "backprop"))
# 300 where a run is quick or the build is float32's AddressSanitizer one (the
# fuzzer's main target); 100 under ThreadSanitizer and in double-san, whose
# option parsing is the same code (CI's time).
_NAME = os.path.basename(BUILD.rstrip("/"))
RUNS = int(os.environ.get("BP_ARGV_RUNS", "100" if _NAME.endswith("-tsan") or
                          (_NAME.startswith("double") and _NAME.endswith("-san")) else "300"))
SEED = int(os.environ.get("BP_ARGV_SEED", "1"))
SANITIZED = BUILD.rstrip("/").endswith(("-san", "-tsan"))
COMMANDS = ["train", "eval", "predict", "init", "info", "gradcheck", "demo"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAN_REPORT = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|runtime error:")


def options(cmd):
    """{name: metavar or None} from the command's --help."""
    out = subprocess.run([B, cmd, "--help"], capture_output=True, text=True).stdout
    opts = {}
    for m in re.finditer(r"^  --([a-z0-9-]+)(?: ([^ ]+))?", out, re.M):
        if m.group(1) != "help":
            opts[m.group(1)] = m.group(2)
    return opts


REALS = {"RATE", "B", "A", "E", "L", "NORM", "F", "S", "G", "T", "H"}
INTS = {"N", "M"}
CHOICES = {"NAME", "NAME[,...]", "KIND"}
INPUTS = {"SPEC", "CKPT"}


def kind(name, metavar):
    if metavar is None:
        return "flag"
    if name in ("model", "init-from"):
        return "input"
    if metavar in INPUTS:
        return "input"
    if metavar.startswith("FILE"):
        return "output"
    if metavar in REALS or metavar in INTS:
        return "number"
    if metavar in CHOICES:
        return "choice"
    if metavar == "N,N,...":
        return "layers"
    return "text"  # --target COL: any header name


def bad_values(k):
    if k == "number":
        return ["abc", "", "nan", "inf", "-1", "1x", "0x10", "1e999"]
    if k == "choice":
        return ["nosuch", "", "RELU"]
    if k == "layers":
        return ["a,b", "4,0,3", "4,-1", "", "4,,3"]
    if k == "input":
        return ["no/such/file.csv", "missing.csv", "idx:nope,nope2"]
    return []


def library_names():
    """{function suffix: [names]}: bp_<what>_name(i) for i = 0, 1, ... up to its "unknown"."""
    lib = ctypes.CDLL(os.path.abspath(os.path.join(BUILD, "libbackprop.so")))
    names = {}
    for what in ("activation", "loss", "init", "optim"):
        f = getattr(lib, "bp_%s_name" % what)
        f.restype, f.argtypes = ctypes.c_char_p, [ctypes.c_int]
        names[what] = []
        while len(names[what]) < 64 and f(len(names[what])) not in (b"unknown", b"?"):
            names[what].append(f(len(names[what])).decode())
    return names


def option_names(lib):
    """{option: (names it must accept, a command line taking it as {})}."""
    init = ["init", "--layers", "2,3,2", "--save", "n.st"]
    return {
        "act": ([a for a in lib["activation"] if a != "softmax"], init + ["--act", "{}"]),
        "out-act": (lib["activation"], init + ["--out-act", "{}"]),
        "loss": (lib["loss"], init + ["--loss", "{}"]),
        "init": (lib["init"], init + ["--init", "{}"]),
        "opt": (lib["optim"], ["train", "--data", "xor", "--layers", "2,3,1", "--epochs", "1",
                               "--quiet", "--save", "n.st", "--opt", "{}"]),
    }


def help_entry(cmd, name):
    """The text of --name in `backprop cmd --help`, its lines joined."""
    out = subprocess.run([B, cmd, "--help"], capture_output=True, text=True).stdout
    m = re.search(r"^  --%s\b(.*?)(?=^  --|^\S|\Z)" % re.escape(name), out, re.M | re.S)
    return " ".join(m.group(1).split()) if m else ""


def listed(text, names):
    """The names missing from text, where a name is a whole word."""
    return [n for n in names if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(n), text)]


def library_name_lists(tmp):
    """Every name the library knows is accepted and listed by the command and docs/CLI.md."""
    with open(os.path.join(ROOT, "docs", "CLI.md")) as f:
        doc = f.read()
    for opt, (names, argv) in option_names(library_names()).items():
        refused = [n for n in names if subprocess.run(
            [B] + [a.replace("{}", n) for a in argv], capture_output=True, cwd=tmp,
            timeout=60).returncode != 0]
        result("library-names-accepted-%s" % opt, names and not refused,
               "--%s refuses %s" % (opt, refused))
        cmd = argv[0]
        err = subprocess.run([B] + [a.replace("{}", "nosuch") for a in argv], capture_output=True,
                             text=True, cwd=tmp).stderr
        lacking = listed(help_entry(cmd, opt), names)
        result("library-names-help-%s" % opt, not lacking,
               "`%s --help` for --%s lacks %s" % (cmd, opt, lacking))
        lacking = listed(err, names)
        result("library-names-error-%s" % opt, not lacking,
               "--%s nosuch: %r lacks %s" % (opt, err.strip(), lacking))
        row = re.search(r"^\| `--%s [^\n]*" % re.escape(opt), doc, re.M)
        lacking = listed(row.group(0) if row else "", names)
        result("library-names-docs-%s" % opt, not lacking,
               "docs/CLI.md's row of --%s lacks %s" % (opt, lacking))


def header_max_width():
    with open(os.path.join(ROOT, "include", "backprop.h")) as f:
        m = re.search(r"^#define BP_MAX_WIDTH \(1 << (\d+)\)", f.read(), re.M)
    return 1 << int(m.group(1)) if m else None


def width_limit(tmp):
    width = header_max_width()
    result("width-limit-in-header", width is not None, "include/backprop.h has no BP_MAX_WIDTH")
    if width is None:
        return
    for opt, value in (("layers", "2,%d,1" % (width + 1)), ("hidden", "%d" % (width + 1))):
        r = subprocess.run([B, "train", "--data", "xor", "--save", "w.st", "--" + opt, value],
                           capture_output=True, text=True, cwd=tmp)
        result("width-limit-%s" % opt, r.returncode == 2 and "1..%d" % width in r.stderr,
               "exit %d: %r" % (r.returncode, r.stderr))
    copies = []
    for d in ("cli", "src"):
        for dirpath, _, names in sorted(os.walk(os.path.join(ROOT, d))):
            for name in sorted(names):
                path = os.path.join(dirpath, name)
                with open(path, errors="replace") as f:
                    text = f.read()
                if re.search(r"\b%d\b|1 << 24\b" % width, text):
                    copies.append(os.path.relpath(path, ROOT))
    result("width-limit-one-copy", not copies, "the number is repeated in %s" % copies)


def cli_symbols(obj):
    """(defined, used) global symbols of one object file, from nm."""
    out = subprocess.run(["nm", obj], capture_output=True, text=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBR":
            defined.add(parts[2])
    return defined, used


def one_parser_no_cycle():
    literal = re.compile(r'"(csv:|idx:|\.csv|\.tsv|\.csv\.gz|\.tsv\.gz)"')
    parsing = []
    for name in sorted(os.listdir(os.path.join(ROOT, "cli"))):
        if name.endswith(".c"):
            with open(os.path.join(ROOT, "cli", name)) as f:
                parsing += ["cli/%s: %s" % (name, m.group(0)) for m in literal.finditer(f.read())]
    result("data-spec-parsed-by-library-only", not parsing, "spec forms in %s" % parsing)
    files = ["args", "data", "encode", "errors"]
    objs = {f: os.path.join(BUILD, "obj", "cli", f + ".o") for f in files}
    syms = {f: cli_symbols(o) for f, o in objs.items() if os.path.exists(o)}
    # a uses b: a calls a function or reads a table (cli_specs) that b defines
    uses = {a: sorted(b for b in syms if b != a and syms[a][1] & syms[b][0]) for a in syms}

    def cycle_from(path):
        for b in uses[path[-1]]:
            if b in path:
                return path[path.index(b):] + [b]
            found = cycle_from(path + [b])
            if found:
                return found
        return None

    cycle = next((c for c in map(cycle_from, [[a] for a in sorted(uses)]) if c), None)
    result("cli-files-no-call-cycle", len(syms) == len(files) and not cycle,
           "uses %s; cycle: %s" % (uses, " -> ".join(cycle or [])))


def one_line_naming(r, name):
    err = r.stderr.strip()
    return (r.returncode == 2 and err.count("\n") == 0 and ("--" + name) in err and
            not SAN_REPORT.search(r.stderr))


def systematic(tmp):
    """Each option of each command with each kind of bad value."""
    tried = bad = 0
    first = ""
    for cmd in COMMANDS:
        opts = options(cmd)
        if not opts:
            result("help-%s" % cmd, False, "no options in --help")
            continue
        for name, metavar in sorted(opts.items()):
            k = kind(name, metavar)
            argvs = [[cmd, "--" + name]] if k != "flag" else [[cmd, "--%s=1" % name]]
            argvs += [[cmd, "--%s=%s" % (name, v)] if v == "" else [cmd, "--" + name, v]
                      for v in bad_values(k)]
            for argv in argvs:
                r = subprocess.run([B] + argv, capture_output=True, text=True, cwd=tmp, timeout=60)
                tried += 1
                if not one_line_naming(r, name):
                    bad += 1
                    first = first or "%s -> exit %d: %r" % (argv, r.returncode, r.stderr[-300:])
        r = subprocess.run([B, cmd, "--no-such-option", "1"], capture_output=True, text=True, cwd=tmp)
        tried += 1
        if not one_line_naming(r, "no-such-option"):
            bad += 1
            first = first or "unknown option of %s -> exit %d: %r" % (cmd, r.returncode, r.stderr)
    print("  %d bad command lines, one per option and kind of bad value" % tried)
    result("every-option-bad-value", bad == 0, "%d of %d wrong; first: %s" % (bad, tried, first))


def value_pool(tmp):
    """Values by option: some valid (so that runs also succeed), many not."""
    lib = library_names()
    junk = ["", "-", "--", "=", "0", "-0", "1e308", "-1e308", "nan", "18446744073709551616",
            "2147483648", "x" * 5000, "\u00e9\u4e2d", "%s%n%x", "../" * 20, "/dev/null", "/"]
    data = ["xor", "iris.csv", "reg.csv", "csv:iris.csv", "idx:img,lab", "bad.csv",
            "missing.csv", "idx:img", "idx:,", "csv:", "mnist", "m.st"]
    files = ["m.st", "c.ckpt", "iris.csv", "nope.st", "/dev/null", "/", "sub/x.st", ""]
    outs = ["out.st", "out.ckpt", "log.jsonl", "p.svg", "o.csv", "/", "nodir/x", "/dev/full"]
    return {
        "data": data, "test": data, "model": files, "init-from": files, "resume": files,
        "save": outs, "checkpoint": outs, "log": outs, "plot": outs, "output": outs,
        "layers": ["2,4,1", "2,3,2", "4,8,3", "4,3", "2,1", "1,1", "4,16777216,3", "2," * 40 + "1",
                   "2,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,1"],
        "act": lib["activation"] + ["tanh,sigmoid", "identity,identity"],
        "out-act": lib["activation"], "loss": lib["loss"], "init": lib["init"],
        "opt": lib["optim"],
        "normalize": ["none", "scale", "standard"],
        "schedule": ["none", "step", "cosine", "warmup"],
        "epochs": ["1", "2", "0", "3"], "batch": ["1", "2", "4", "1000", "10000000"],
        "threads": ["1", "2", "0", "1024"], "seed": ["0", "1", "18446744073709551615"],
        "lr": ["0.1", "1e-3", "1e30", "1e-300", "10"], "min-lr": ["0", "1e-5", "1"],
        "momentum": ["0", "0.5", "0.999999"], "beta1": ["0", "0.9"], "beta2": ["0", "0.999"],
        "alpha": ["0", "0.99"], "eps": ["0", "1e-8", "1"], "weight-decay": ["0", "0.01", "1e10"],
        "clip": ["0", "1", "1e-30"], "leaky-slope": ["0", "0.01", "0.99"],
        "val-split": ["0", "0.2", "0.5", "0.99", "1"], "early-stop": ["1", "3"],
        "lr-step-epochs": ["1", "5"], "lr-gamma": ["0.5", "1", "2"], "warmup-epochs": ["0", "1", "5"],
        "target": ["-1", "0", "label", "species", "nosuch", "999", "-999"],
        "tol": ["1e-4", "0", "1"], "step": ["1e-5", "0", "1"], "floor": ["1e-8", "0"],
    }, junk


def random_argv(rng, all_opts, pool, junk):
    cmd = rng.choice(COMMANDS[:-1] * 6 + ["demo"] + ["", "--help", "--version", "nosuch"])
    argv = [cmd] if cmd else []
    own = list(all_opts.get(cmd, {}).items())
    other = [kv for c in all_opts.values() for kv in c.items()]
    for _ in range(rng.randrange(9)):
        roll = rng.random()
        if roll < 0.8 and own:
            name, metavar = rng.choice(own)
        elif roll < 0.9:
            name, metavar = rng.choice(other)
        else:
            argv.append(rng.choice(junk + ["--", "-x", "--=", "--data=", "--lr=1=2"]))
            continue
        if metavar is None:
            argv.append("--" + name if rng.random() < 0.95 else "--%s=1" % name)
            continue
        vals = pool.get(name, ["1"])
        v = rng.choice(vals) if rng.random() < 0.85 else rng.choice(junk)
        if rng.random() < 0.05:
            argv.append("--" + name)  # no value
        elif rng.random() < 0.3:
            argv.append("--%s=%s" % (name, v))
        else:
            argv += ["--" + name, v]
    return argv


def default_sigint():
    # A test started in the background by a shell inherits SIGINT ignored, and
    # an ignored SIGINT would not stop the commands that keep the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def fuzz(tmp):
    all_opts = {c: options(c) for c in COMMANDS}
    pool, junk = value_pool(tmp)
    rng = random.Random(SEED)
    limit = 20 if SANITIZED else 5
    codes = {}
    bad = 0
    first = ""
    for i in range(RUNS):
        argv = random_argv(rng, all_opts, pool, junk)
        p = subprocess.Popen([B] + argv, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, errors="replace", preexec_fn=default_sigint)
        interrupted = False
        try:
            _, err = p.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            interrupted = True
            p.send_signal(signal.SIGINT)
            try:
                _, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
                err = "hung after SIGINT\n" + err
        rc = p.returncode
        codes[rc] = codes.get(rc, 0) + 1
        # A command without a SIGINT handler (init, eval...) dies of the signal,
        # which a shell reports as 130 too.
        allowed = {0, 1, 2, 130} | ({-signal.SIGINT} if interrupted else set())
        if rc not in allowed or SAN_REPORT.search(err) or "hung after" in err:
            bad += 1
            first = first or "argv %r%s -> exit %d: %s" % (
                argv, " (interrupted)" if interrupted else "", rc, err[-600:])
        for f in os.listdir(tmp):  # outputs of earlier runs must not pile up
            if f.startswith(("out", "log", "p.", "o.")) or ".tmp." in f:
                os.unlink(os.path.join(tmp, f))
    print("  %d random command lines (seed %d): exit statuses %s" % (
        RUNS, SEED, ", ".join("%d: %d" % kv for kv in sorted(codes.items()))))
    result("argv-fuzz", bad == 0, "%d bad runs; first: %s" % (bad, first))


def setup(tmp):
    r = random.Random(3)
    with open(os.path.join(tmp, "iris.csv"), "w") as f:
        f.write("a,b,c,d,species\n")
        for _ in range(30):
            c = r.randrange(3)
            f.write(",".join("%.2f" % r.gauss(c + j * 0.2, 0.5) for j in range(4)) + ",s%d\n" % c)
    with open(os.path.join(tmp, "reg.csv"), "w") as f:
        f.write("x,y,label\n" + "".join("%d,%d,%d\n" % (i, i * 2, i * 3) for i in range(20)))
    with open(os.path.join(tmp, "bad.csv"), "w") as f:
        f.write("a,b,c\n1,2\n")
    img = bytes([0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 2]) + bytes(range(16))
    lab = bytes([0, 0, 8, 1, 0, 0, 0, 4, 1, 0, 3, 2])
    for name, b in (("img", img), ("lab", lab)):
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(b)
    os.mkdir(os.path.join(tmp, "sub"))
    r1 = subprocess.run([B, "init", "--layers", "2,4,1", "--save", "m.st"], cwd=tmp, capture_output=True)
    r2 = subprocess.run([B, "train", "--data", "xor", "--layers", "2,4,1", "--epochs", "2",
                         "--save", "x.st", "--quiet"], cwd=tmp, capture_output=True,
                        env=dict(os.environ, BACKPROP_TEST_SIGINT_AT="1"))
    os.replace(os.path.join(tmp, "x.st.ckpt"), os.path.join(tmp, "c.ckpt"))
    return r1.returncode == 0 and r2.returncode == 130


def main():
    if not built(B, "test_cli_args.py"):
        return 1
    tmp = tempfile.mkdtemp(prefix="bp_cli_args_")
    try:
        result("setup", setup(tmp), "init/train for the fixture files failed")
        library_name_lists(tmp)
        width_limit(tmp)
        one_parser_no_cycle()
        systematic(tmp)
        fuzz(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary("test_cli_args.py")


if __name__ == "__main__":
    sys.exit(main())
