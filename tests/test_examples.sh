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
echo "cases: $ok ok, $failed failed (examples)"
[ "$failed" -eq 0 ]
