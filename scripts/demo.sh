#!/usr/bin/env bash
# make demo: trains 784-256-128-10 on Fashion-MNIST with the backprop command
# (`backprop demo`, which prints its full train command) and shows the test
# accuracy and the time taken. Usage: scripts/demo.sh [BUILD_DIR]
set -eu
build=${1:-build/float}
if [ ! -x "$build/bin/backprop" ]; then
    echo "demo: $build/bin/backprop is not built (run: make cli)" >&2
    exit 1
fi
exec "$build/bin/backprop" demo
