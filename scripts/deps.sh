#!/usr/bin/env bash
# Installs the Debian packages backprop needs, when missing. As root it runs
# apt-get; otherwise it prints the exact command and fails.
#   scripts/deps.sh        what the build and the tests need
#   scripts/deps.sh fuzz   clang and its libFuzzer runtime, for `make fuzz`
set -euo pipefail
packages=(gcc make libopenblas-dev zlib1g-dev libjansson-dev
          python3-torch python3-numpy dataset-fashion-mnist
          libopenmpi-dev openmpi-bin)
[ "${1:-}" = fuzz ] && packages=(clang libclang-rt-dev libopenblas-dev zlib1g-dev libjansson-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
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
