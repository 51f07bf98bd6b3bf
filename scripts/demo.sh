#!/usr/bin/env bash
# make demo: trains on Fashion-MNIST with the backprop command when it is
# built, and runs the XOR example.
set -eu
build=${1:-build/float}
"$build/examples/xor" | tail -n 5
if [ -x "$build/bin/backprop" ]; then
    "$build/bin/backprop" demo
fi
