#!/usr/bin/env python3
"""test_messages.py - the messages a newcomer meets (issue 26), each through
the command of $BP_BUILD on a small file: the message names the problem and
says what to do.

- a mistyped option names the nearest one; a file given without its option
  suggests --model or --data;
- a file that is no model says so and what it looks like;
- a model of 784 inputs given a 4-column table names the widths before any
  label; predict's advice on a missing value applies to predict;
- columns are numbered from 0, as --target, --ignore and --categorical take
  them, and named where they have a name;
- a table of text columns only needs --header or --no-header; predict
  recognises the model's column names as a header;
- 1e400, 3.5e38 (float32) and inf are out of range or not finite, not "text";
- values are escaped (control bytes, invalid UTF-8) and cut so the hint
  survives; the UTF-8 target message has file and line;
- no stray space, no doubled "export:", info lists fill values only when
  they are used;
and bp_text_escape itself (ctypes): escapes, cuts at a character, stays
within its buffer.
Prints "ok NAME" / "FAIL NAME: why" and "cases: P ok, F failed".
"""
import ctypes
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from report import built, result, summary  # noqa: E402
from sanitized import preload_for  # noqa: E402

BUILD = os.environ.get("BP_BUILD", "build/float")
preload_for(BUILD)
B = os.path.abspath(os.path.join(BUILD, "bin", "backprop"))
FLOAT32 = True


def run(*args, cwd):
    r = subprocess.run([B] + [str(a) for a in args], capture_output=True, cwd=cwd)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def expect(name, r, code, *parts, absent=()):
    rc, out, err = r
    text = out + err
    bad = [p for p in parts if p not in text] + ["unwanted %r" % a for a in absent if a in text]
    good = rc == code and not bad
    result(name, good, "exit %d (want %d), missing %s in %r" % (rc, code, bad, text[-600:]))


def write(d, name, text):
    with open(os.path.join(d, name), "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    return name


def iris_like(d):
    rows = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    for i in range(30):
        rows.append("%.1f,%.1f,%.1f,%.1f,%s" % (5 + i % 7 * 0.3, 3 + i % 3 * 0.2, 1 + i % 5,
                                                0.2 + i % 4 * 0.5, ["setosa", "versicolor", "virginica"][i % 3]))
    write(d, "iris.csv", "\n".join(rows) + "\n")
    write(d, "flowers.csv", "\n".join(r.rsplit(",", 1)[0] for r in rows) + "\n")
    run("train", "--data", "iris.csv", "--hidden", 4, "--epochs", 1, "--quiet", "--save", "iris.st",
        cwd=d)


def options(d):
    expect("suggest-epochs", run("train", "--data", "iris.csv", "--epoch", 3, cwd=d), 2,
           "unknown option '--epoch'; did you mean --epochs?")
    expect("suggest-hidden", run("train", "--data", "iris.csv", "--hiden", 3, cwd=d), 2,
           "did you mean --hidden?")
    expect("no-suggestion-far", run("train", "--zzzzzzzz", cwd=d), 2,
           "unknown option '--zzzzzzzz'", absent=("did you mean",))
    expect("other-command-option", run("info", "--data", "x", cwd=d), 2,
           "unknown option '--data' ('info' does not take it)")
    expect("info-positional-model", run("info", "iris.st", cwd=d), 2,
           "unexpected argument 'iris.st'", "did you mean --model iris.st?")
    expect("predict-positional-data", run("predict", "iris.csv", cwd=d), 2,
           "did you mean --data iris.csv?")
    expect("only-by-no-stray-space", run("train", "--data", "iris.csv", "--hidden", 4, "--opt", "adam",
                                         "--momentum", 0.5, "--save", "x.st", cwd=d), 2,
           "(only by: momentum nesterov notes-momentum rmsprop)")


def not_a_model(d):
    expect("csv-as-model", run("info", "--model", "iris.csv", cwd=d), 1,
           "iris.csv: not a model file (safetensors or ONNX): it looks like CSV or other text, "
           "starting \"sepal_length,sepal_width,", absent=("header length",))
    write(d, "r.bin", bytes(range(1, 200)))
    expect("binary-as-model", run("info", "--model", "r.bin", cwd=d), 1,
           "not a model file (safetensors or ONNX): it looks like binary data")
    write(d, "empty.st", b"")
    expect("empty-as-model", run("eval", "--model", "empty.st", "--data", "iris.csv", cwd=d), 1,
           "it looks like an empty file")


def widths(d):
    # a model of 784 inputs with class labels (fashion-mnist's) and a 4-column table
    r = run("train", "--data", "fashion-mnist", "--layers", "784,10", "--epochs", 1, "--quiet",
            "--save", "fm.st", cwd=d)
    if r[0] != 0:
        result("fm-model", False, r[2])
        return
    expect("eval-width-first", run("eval", "--model", "fm.st", "--data", "iris.csv", cwd=d), 1,
           "4 inputs per sample but the model takes 784", absent=("setosa",))
    expect("predict-width-first", run("predict", "--model", "fm.st", "--data", "flowers.csv", cwd=d),
           1, "--data has 4 columns but the model takes 784 inputs")


def columns(d):
    write(d, "mixed.csv", "a,b,y\n1,2,x\n2,q,y\n3,4,x\n5,6,y\n")
    expect("column-0-based-named", run("train", "--data", "mixed.csv", "--hidden", 4, "--save", "u.st",
                                       cwd=d), 1,
           "input column 1 (\"b\") mixes numbers and text", "--categorical")
    write(d, "mixed-nh.csv", "1,2,x\n2,q,y\n3,4,x\n5,6,y\n")
    expect("column-0-based-no-header", run("train", "--data", "mixed-nh.csv", "--no-header",
                                           "--hidden", 4, "--save", "u.st", cwd=d), 1,
           "input column 1 mixes numbers and text")
    # the index in the message is the one --categorical takes: it then trains
    expect("column-index-as-option", run("train", "--data", "mixed-nh.csv", "--no-header",
                                         "--categorical", 1, "--hidden", 4, "--epochs", 1, "--quiet",
                                         "--save", "u.st", cwd=d), 0, "saved u.st")


def missing(d):
    write(d, "miss.csv", "a,b,y\n1,2,x\n,3,y\n2,3,x\n5,6,y\n4,4,x\n")
    expect("missing-at-train", run("train", "--data", "miss.csv", "--hidden", 4, "--save", "u.st",
                                   cwd=d), 1,
           "miss.csv:3:1: input column 0 (\"a\"): missing value \"\"", "--missing impute",
           "--missing drop")
    r = run("train", "--data", "miss.csv", "--hidden", 4, "--epochs", 1, "--quiet", "--missing", "drop",
            "--save", "drop.st", cwd=d)
    expect("missing-drop-trains", r, 0, "rows dropped")
    expect("missing-at-predict", run("predict", "--model", "drop.st", "--data", "miss.csv", cwd=d), 1,
           "missing value", "fill in the value, or train the model with --missing impute",
           absent=("choose --missing",))
    r = run("info", "--model", "drop.st", cwd=d)
    expect("info-no-unused-fill", r, 0, "missing values: drop", absent=("missing ->",))
    run("train", "--data", "miss.csv", "--hidden", 4, "--epochs", 1, "--quiet", "--missing", "impute",
        "--save", "imp.st", cwd=d)
    expect("info-fill-when-imputed", run("info", "--model", "imp.st", cwd=d), 0, "missing ->")


def headers(d):
    write(d, "text.csv", "color,size,y\nred,big,x\nblue,small,y\ngreen,big,x\nred,small,y\n")
    expect("all-text-refused", run("train", "--data", "text.csv", "--hidden", 4, "--save", "t.st",
                                   cwd=d), 1,
           "text.csv:1: every column of the first rows is text", "--header or --no-header")
    r = run("train", "--data", "text.csv", "--header", "--hidden", 4, "--epochs", 1, "--quiet",
            "--save", "t.st", cwd=d)
    expect("all-text-with-header", r, 0, "saved t.st")
    r = run("train", "--data", "text.csv", "--no-header", "--hidden", 4, "--epochs", 1, "--quiet",
            "--save", "t0.st", cwd=d)
    expect("all-text-no-header", r, 0, "saved t0.st")
    rc, out, err = run("predict", "--model", "t.st", "--data", "text.csv", cwd=d)
    result("predict-model-names-as-header", rc == 0 and len(out.splitlines()) == 5,
           "exit %d, %d lines: %s" % (rc, len(out.splitlines()), err))


def numbers(d):
    cases = [("e400", "1e400", "is out of the range of float64"), ("inf", "inf", "is not finite")]
    if FLOAT32:
        cases.append(("f32", "3.5e38", "is out of the range of float32"))
    for tag, v, why in cases:
        write(d, tag + ".csv", "a,b,y\n1,2,x\n%s,3,y\n2,3,x\n4,4,y\n" % v)
        expect("number-" + tag, run("train", "--data", tag + ".csv", "--hidden", 4, "--save", "u.st",
                                    cwd=d), 1,
               "input column 0 (\"a\"): \"%s\" %s" % (v, why), absent=("mixes numbers and text",))
        # a column of only such values: refused too, not made categorical
        write(d, tag + "-all.csv", "a,b,y\n%s,2,x\n%s,3,y\n%s,3,x\n%s,4,y\n" % ((v,) * 4))
        expect("number-only-" + tag, run("train", "--data", tag + "-all.csv", "--hidden", 4,
                                         "--save", "u.st", cwd=d), 1, why)


def odd_bytes(d):
    write(d, "ctl.csv", b'a,b,y\n1,2,x\n"bad\nline\x1b[31m",3,y\n2,3,x\n4,4,y\n')
    rc, out, err = run("train", "--data", "ctl.csv", "--hidden", 4, "--save", "u.st", cwd=d)
    result("control-bytes-escaped", rc == 1 and "\\nline\\x1b[31m" in err and "\x1b" not in err
           and err.count("\n") == 1, repr(err))
    write(d, "long.csv", "a,b,y\n1,2,x\n" + "Z" * 10_000_000 + ",3,y\n2,3,x\n4,4,y\n")
    rc, out, err = run("train", "--data", "long.csv", "--hidden", 4, "--save", "u.st", cwd=d)
    result("long-value-cut-hint-kept", rc == 1 and len(err) < 600 and "(10000000 bytes)" in err
           and "--categorical" in err, "%d bytes: %r" % (len(err), err[:300]))
    write(d, "u8.csv", b"a,b,y\n1,2,x\n1,3,\xff\xfe\n2,3,x\n")
    expect("utf8-target-file-line", run("train", "--data", "u8.csv", "--hidden", 4, "--save", "u.st",
                                        cwd=d), 1,
           "u8.csv:3:5: target column 2 (\"y\"): \"\\xff\\xfe\" is not valid UTF-8")
    # info escapes what came from the data
    write(d, "cat.csv", b"a,b,y\n1,2,x\n\x01\xc3\xa9,3,y\n2,3,x\n5,6,y\n")
    run("train", "--data", "cat.csv", "--categorical", "a", "--hidden", 4, "--epochs", 1, "--quiet",
        "--save", "cat.st", cwd=d)
    rc, out, err = run("info", "--model", "cat.st", cwd=d)
    result("info-escapes", rc == 0 and "\\x01\u00e9" in out and "\x01" not in out, repr(out[-400:]))


def export_prefix(d):
    expect("export-single-prefix", run("export", "--model", "iris.st", "--format", "c", "--output",
                                       "x.txt", cwd=d), 2,
           "backprop export: output 'x.txt' must be", absent=("export: export:",))


def headers_comments(d):
    """The generated headers say what the input is (issue 26)."""
    if os.path.exists(os.path.join(d, "fm.st")):
        r = run("export", "--model", "fm.st", "--format", "c", "--output", "fm.c", "--quantize", "int8",
                "--calibrate", "fashion-mnist", "--calibrate-samples", 200, cwd=d)
        h = open(os.path.join(d, "fm.h")).read() if r[0] == 0 else r[2]
        result("int8-header-raw-input", "The input is the raw features (the normalization is folded "
               "into layer 1)" in h and "normalized features" not in h, h[-800:])
    run("export", "--model", "t.st", "--format", "c", "--output", "t.c", cwd=d)
    h = open(os.path.join(d, "t.h")).read() if os.path.exists(os.path.join(d, "t.h")) else ""
    result("table-header-encoded-input", "one sample's encoded vector" in h and "To encode a row" in h
           and "raw features" not in h, h[:1500])


def escape_api():
    lib = ctypes.CDLL(os.path.abspath(os.path.join(BUILD, "libbackprop.so")))
    f = lib.bp_text_escape
    f.restype = ctypes.c_char_p
    f.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]

    def esc(size, s):
        buf = ctypes.create_string_buffer(size + 8)
        ctypes.memset(buf, 0x55, size + 8)
        out = f(buf, size, s)
        return out, buf.raw[size:] == b"\x55" * 8

    out, kept = esc(96, b"a\tb\nc\\d\x7f\x01")
    result("escape-controls", out == b"a\\tb\\nc\\\\d\\x7f\\x01" and kept, repr(out))
    out, kept = esc(32, "\u00e9".encode() * 100)
    text = out.decode("utf-8", "strict")  # a character never cut in two
    result("escape-cut-utf8", text.endswith("...(200 bytes)") and len(out) < 32 and kept, repr(out))
    out, kept = esc(40, b"\xc3(\xff")
    result("escape-invalid-utf8", out == b"\\xc3(\\xff" and kept, repr(out))


def main():
    global FLOAT32
    if not built(B, "test_messages.py"):
        return 1
    FLOAT32 = "float32" in subprocess.run([B, "--version"], capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory(prefix="bp-test-messages-") as d:
        iris_like(d)
        for step in (options, not_a_model, widths, columns, missing, headers, numbers, odd_bytes,
                     export_prefix, headers_comments):
            step(d)
    escape_api()
    return summary("test_messages.py")


if __name__ == "__main__":
    sys.exit(main())
