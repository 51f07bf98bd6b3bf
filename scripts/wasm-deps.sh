#!/usr/bin/env bash
# Fetches the C sources the WebAssembly build of the library needs besides
# libc: jansson (model file and encoder JSON) and zlib (CRC-32, gzip input).
# Debian's emscripten has a frozen cache without ports (-sUSE_ZLIB fails), so
# they come from Debian's own source packages, by name, through apt-get with
# a private deb-src list (no root needed), unpacked once into DIR:
#   scripts/wasm-deps.sh build/wasm-deps   ->  DIR/jansson/src, DIR/zlib
set -euo pipefail
dir=${1:?usage: scripts/wasm-deps.sh DIR}
[ -f "$dir/jansson/src/jansson.h" ] && [ -f "$dir/zlib/zlib.h" ] && exit 0
mkdir -p "$dir/apt/lists/partial" "$dir/dl"
dir=$(cd "$dir" && pwd)
cat > "$dir/apt/src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt_opts=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$dir/apt"
          -o Dir::State::Lists="$dir/apt/lists" -o Debug::NoLocking=1 -qq)
if ! apt-get "${apt_opts[@]}" update >&2; then
    echo "wasm-deps: apt-get update of Debian's source list failed (no network?)" >&2; exit 1
fi
(cd "$dir/dl" && apt-get "${apt_opts[@]}" source --download-only jansson zlib >&2) || {
    echo "wasm-deps: apt-get source jansson zlib failed" >&2; exit 1; }
unpack() {  # name, glob of the upstream tarball
    local tar
    tar=$(ls "$dir"/dl/$2 2>/dev/null | head -n 1)
    [ -n "$tar" ] || { echo "wasm-deps: no $2 in $dir/dl" >&2; exit 1; }
    rm -rf "$dir/$1" && mkdir -p "$dir/$1"
    tar -xf "$tar" -C "$dir/$1" --strip-components=1
}
unpack jansson 'jansson_*.orig.tar.*'
unpack zlib 'zlib_*.orig.tar.*'
# jansson's CMake/autoconf would write these two; the values fit wasm32.
cat > "$dir/jansson/src/jansson_config.h" <<'H'
#ifndef JANSSON_CONFIG_H
#define JANSSON_CONFIG_H
#define JSON_INLINE inline
#define JSON_INTEGER_IS_LONG_LONG 1
#define JSON_HAVE_LOCALECONV 1
#define JSON_HAVE_ATOMIC_BUILTINS 1
#define JSON_HAVE_SYNC_BUILTINS 1
#define JSON_PARSER_MAX_DEPTH 2048
#endif
H
cat > "$dir/jansson/src/jansson_private_config.h" <<'H'
#define HAVE_STDINT_H 1
#define HAVE_UNISTD_H 1
#define HAVE_SYS_TIME_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_GETTIMEOFDAY 1
#define HAVE_LOCALECONV 1
#define HAVE_ATOMIC_BUILTINS 1
#define HAVE_SYNC_BUILTINS 1
#define INITIAL_HASHTABLE_ORDER 3
#define USE_URANDOM 0
H
echo "wasm-deps: jansson and zlib sources in $dir" >&2
