"""The Python tests' report, in the form scripts/run-tests.sh adds up: a line
'ok   NAME' or 'FAIL NAME: why' per case, then 'cases: P ok, F failed (PROGRAM)'."""
import os
import sys

counts = {"ok": 0, "failed": 0}


def result(name, good, why=""):
    print("ok   %s" % name if good else "FAIL %s: %s" % (name, why))
    sys.stdout.flush()
    counts["ok" if good else "failed"] += 1


def summary(program):
    """Prints the closing line; returns the exit status (1 on any failure)."""
    print("cases: %d ok, %d failed (%s)" % (counts["ok"], counts["failed"], program))
    return 1 if counts["failed"] else 0


def built(path, program):
    """Whether the program under test is built; if not, reports the failure."""
    if os.access(path, os.X_OK):
        return True
    print("FAIL build: %s is not built" % path)
    print("cases: 0 ok, 1 failed (%s)" % program)
    return False
