#!/usr/bin/env bash
# test_no_threads.sh - the library with no threads at all (-DBP_NO_THREADS,
# issue 24's bare-metal build; WebAssembly without shared memory takes the
# same path): the core (src/base, src/nn) compiled with it and -DBP_NO_BLAS
# references no pthread function, links with -lm alone, reports one thread
# and refuses more with a message (tests/no_threads/main.c), and trains to
# the same bits as the same sources built with the thread pool, on one
# thread. In the precision of $BP_BUILD.
set -u
BUILD=${BP_BUILD:-build/float}
ok=0; failed=0
pass() { echo "ok   $1"; ok=$((ok + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
finish() { echo "cases: $ok ok, $failed failed (test_no_threads.sh, $(basename "$BUILD"))"; [ "$failed" -eq 0 ]; exit; }
case "$(basename "$BUILD")" in *double*) real=-DBP_REAL_DOUBLE ;; *) real= ;; esac
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
flags=(-std=c11 -O2 -fno-math-errno -Wall -Wextra -Werror -Iinclude -Isrc/base -Isrc/nn -Itests
       $real -DBP_NO_BLAS -D_POSIX_C_SOURCE=200809L)
build() {  # dir, extra flags...: the core's objects and the program, in dir
    local dir=$1; shift
    mkdir -p "$dir"
    for f in src/base/*.c src/nn/*.c; do
        cc "${flags[@]}" "$@" -c "$f" -o "$dir/$(basename "${f%.c}").o" || return 1
    done
}
if build "$tmp/none" -DBP_NO_THREADS; then pass "core compiles with BP_NO_THREADS"
else fail "core compiles with BP_NO_THREADS"; finish; fi
refs=$(nm -u "$tmp"/none/*.o | grep -E 'pthread|sched_|cblas|openblas' | sort -u)
if [ -z "$refs" ]; then pass "no pthread or BLAS symbol referenced"
else fail "referenced: $(echo $refs)"; fi
if cc "${flags[@]}" -DBP_NO_THREADS -o "$tmp/none/prog" tests/no_threads/main.c "$tmp"/none/*.o -lm; then
    pass "links with -lm alone"
else fail "links with -lm alone"; finish; fi
build "$tmp/pool" && cc "${flags[@]}" -o "$tmp/pool/prog" tests/no_threads/main.c "$tmp"/pool/*.o -lm -lpthread \
    || { fail "core with the pool builds"; finish; }
a=$("$tmp/none/prog" 2>&1); ra=$?
b=$("$tmp/pool/prog" 2>&1); rb=$?
if [ $ra -eq 0 ]; then pass "no-threads program's checks"; else fail "no-threads program: $a"; fi
if [ $rb -eq 0 ]; then pass "pool program's checks"; else fail "pool program: $b"; fi
la=$(grep '^result' <<<"$a"); lb=$(grep '^result' <<<"$b")
if [ -n "$la" ] && [ "$la" = "$lb" ]; then pass "same bits with and without the pool # $la"
else fail "results differ: '$la' vs '$lb'"; fi
finish
