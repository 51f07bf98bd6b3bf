#!/usr/bin/env bash
# Installs the Debian packages backprop needs, when missing. As root it runs
# apt-get; otherwise it prints the exact command and fails.
#   scripts/deps.sh        what the build and the tests need (`make test`, `make`)
#   scripts/deps.sh demo   the build and Fashion-MNIST only (`make demo`)
#   scripts/deps.sh fuzz   clang and its libFuzzer runtime, for `make fuzz`
# Then, for the tests only, onnxruntime from the npm registry into tests/node/
# (its CPU library ships in the package; its CUDA download is skipped), and
# puppeteer-core into tests/browser/ for the playground's browser tests (it
# drives Debian's chromium: no browser is downloaded).
# README.md ("Two commands") lists each set: keep it in step.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(gcc make libopenblas-dev zlib1g-dev libjansson-dev
          python3-torch python3-numpy dataset-fashion-mnist
          libopenmpi-dev openmpi-bin
          gcc-arm-none-eabi picolibc-arm-none-eabi qemu-system-arm clang g++
          python3-onnx python3-sklearn python3-scipy python3-pytest python3-vega-datasets
          python3-venv python3-setuptools python3-wheel
          emscripten chromium)
# Node.js (20 here) usually comes with the machine; Debian's otherwise.
command -v npm >/dev/null || packages+=(nodejs npm)
[ "${1:-}" = fuzz ] && packages=(clang libclang-rt-dev libopenblas-dev zlib1g-dev libjansson-dev)
[ "${1:-}" = demo ] && packages=(gcc make libopenblas-dev zlib1g-dev libjansson-dev dataset-fashion-mnist)

npm_deps() {
    case "${1:-}" in fuzz|demo) return 0 ;; esac
    if [ ! -f tests/node/node_modules/onnxruntime-node/package.json ]; then
        echo "deps: npm install onnxruntime-node into tests/node" >&2
        (cd tests/node && ONNXRUNTIME_NODE_INSTALL=skip npm install --ignore-scripts --no-audit \
            --no-fund --no-package-lock --loglevel=error)
    fi
    [ -f tests/browser/node_modules/puppeteer-core/package.json ] && return 0
    echo "deps: npm install puppeteer-core into tests/browser" >&2
    (cd tests/browser && PUPPETEER_SKIP_DOWNLOAD=1 npm install --ignore-scripts --no-audit \
        --no-fund --no-package-lock --loglevel=error)
}
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then npm_deps "${1:-}"; exit 0; fi
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "backprop needs Debian packages that are missing. Run as root:" >&2
    echo "  apt-get update && $cmd" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$cmd -qq
npm_deps "${1:-}"
