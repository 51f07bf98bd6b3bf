#!/usr/bin/env bash
# Runs every test program of each build directory given, then every
# tests/*.py and tests/*.sh once per build (with BP_BUILD set to it), adds up
# their "cases: P ok, F failed" lines and ends with "N passed, N failed".
# A build given as DIR:c runs its test programs only (make test SANITIZE=1's
# double-san: the scripts drive the same C through the CLI and ctypes, and
# run in float-san; CI's time).
# A program that dies before its summary counts as one failure.
# A script whose first lines hold "run-tests: once, unsanitized" tests what
# the sanitizers do not see (WebAssembly, qemu, its own builds): it runs only
# with the first build of a call, and not in -san/-tsan builds, where the plain
# make test runs it (CI's time: such a test took 3 minutes in each build).
set -u
cd "$(dirname "$0")/.."
passed=0; failed=0
# ThreadSanitizer builds (make SANITIZE=thread): its options reach the child
# processes of the Python and shell tests too. die_after_fork=0: a child forked
# after the pool started must start its own workers (test_train.c), which
# TSan refuses by default. atexit_sleep_ms=0: TSan's default second of sleep
# at each exit (for threads still running to report) would add a second to
# every command the shell and Python tests run, and make test_crash_safety.py's
# kills aimed at a save land after it; the library's workers are idle by then.
case " $* " in *-tsan[/\ :]*)
    export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp die_after_fork=0 atexit_sleep_ms=0 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" ;;
esac
run_one() {  # label, command...
    local label=$1; shift
    local out rc start=$SECONDS
    out=$("$@" 2>&1); rc=$?
    local line
    line=$(printf '%s\n' "$out" | grep -E '^cases: [0-9]+ ok, [0-9]+ failed' | tail -n 1)
    if [ -n "$line" ]; then
        local p f
        p=$(sed -E 's/^cases: ([0-9]+) ok.*/\1/' <<<"$line")
        f=$(sed -E 's/^cases: [0-9]+ ok, ([0-9]+) failed.*/\1/' <<<"$line")
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        passed=$((passed + p)); failed=$((failed + f))
    else
        failed=$((failed + 1))
        line="no summary (exit $rc)"
    fi
    if [ "$rc" -ne 0 ] || grep -q '^FAIL' <<<"$out" || [ -n "${VERBOSE:-}" ]; then
        printf '%s\n' "$out"
    fi
    printf '%-40s %s [%ds]\n' "$label" "$line" $((SECONDS - start))
}
first=${1:-}; first=${first%:c}
for arg in "$@"; do
    build=${arg%:c}
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        run_one "$(basename "$build")/$(basename "$t")" timeout 900 "$t"
    done
    [ "$arg" = "$build" ] || continue
    for s in tests/*.py tests/*.sh; do
        [ -f "$s" ] || continue
        if head -n 30 "$s" | grep -q 'run-tests: once, unsanitized'; then
            case "$build" in
                *-san|*-tsan|*-san/|*-tsan/) continue ;;
            esac
            [ "$build" = "$first" ] || continue
        fi
        case "$s" in *.py) interp=/usr/bin/python3 ;; *) interp=bash ;; esac
        run_one "$(basename "$build")/$(basename "$s")" env BP_BUILD="$build" timeout 900 "$interp" "$s"
    done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
