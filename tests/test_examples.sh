#!/usr/bin/env bash
# Runs every example program of the build ($BP_BUILD): each must exit 0.
set -u
ok=0; failed=0
for ex in "$BP_BUILD"/examples/*; do
    [ -x "$ex" ] || continue
    if out=$(timeout 60 "$ex" 2>&1); then
        echo "ok   $(basename "$ex"): $(tail -n 1 <<<"$out")"; ok=$((ok + 1))
    else
        echo "FAIL $(basename "$ex")"; printf '%s\n' "$out"; failed=$((failed + 1))
    fi
done
# The Python examples, on this build's libraries (both precisions: the
# float one and its double twin, or the other way round).
b=$(basename "$BP_BUILD"); case "$b" in *float*) twin=${b/float/double} ;; *) twin=${b/double/float} ;; esac
pyenv=(PYTHONPATH=python BACKPROP_LIBRARY="$BP_BUILD/libbackprop.so:$(dirname "$BP_BUILD")/$twin/libbackprop.so")
case "$b" in
    *-san*) pyenv+=(LD_PRELOAD="$(gcc -print-file-name=libasan.so)" ASAN_OPTIONS=detect_leaks=0) ;;
    *-tsan*) pyenv+=(LD_PRELOAD="$(gcc -print-file-name=libtsan.so)") ;;
esac
for ex in examples/python/*.py; do
    [ -f "$ex" ] || continue
    if out=$(env "${pyenv[@]}" timeout 300 /usr/bin/python3 "$ex" 2>&1); then
        echo "ok   $ex: $(tail -n 1 <<<"$out")"; ok=$((ok + 1))
    else
        echo "FAIL $ex"; printf '%s\n' "$out"; failed=$((failed + 1))
    fi
done
echo "cases: $ok ok, $failed failed (examples)"
[ "$failed" -eq 0 ]
