#!/usr/bin/env bash
# Builds TinyGo from the Go module proxy against Debian bookworm's LLVM 19 and
# installs it with this directory's *-debian.json targets, which link Debian's
# prebuilt C libraries instead of TinyGo's git submodules (the module zip has
# no lib/* submodules and no src/net).
#
# Usage: install-tinygo.sh PREFIX
# Result: PREFIX/bin/tinygo, and TINYGOROOT=PREFIX/root with the extra targets
#   linux-amd64-musl-debian, wasip1-debian and cortex-m-qemu-debian.
# Needs Go >= 1.25 and the Debian packages ci/targets.sh installs (llvm-19-dev,
# libclang-19-dev, clang-19, lld-19, binaryen, wasi-libc,
# libclang-rt-19-dev-wasm32, musl-dev, libclang-rt-19-dev,
# picolibc-arm-none-eabi).
set -euo pipefail
TINYGO_VERSION=${TINYGO_VERSION:-v0.42.0}
PREFIX=${1:?usage: install-tinygo.sh PREFIX}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$PREFIX" && PREFIX=$(cd "$PREFIX" && pwd)

# 1. Source from the module proxy. `go install …@version` does not work here:
#    the proxy refuses tinygo's @v/list and the dependency
#    tinygo.org/x/espflasher, so download the zip and build a patched copy.
mod_dir=$(go mod download -json "github.com/tinygo-org/tinygo@${TINYGO_VERSION}" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$mod_dir" ] || { echo "install-tinygo: go mod download github.com/tinygo-org/tinygo@${TINYGO_VERSION} failed" >&2; exit 1; }
rm -rf "${PREFIX:?}/root" "${PREFIX:?}/bin"
mkdir -p "$PREFIX/bin"
cp -r "$mod_dir" "$PREFIX/root"
chmod -R u+w "$PREFIX/root"
cd "$PREFIX/root"

# 2. Drop the ESP32 flasher; only `tinygo flash` for ESP32 loses out.
python3 - <<'PY'
p = 'main.go'
s = open(p).read()
s = s.replace('\t"tinygo.org/x/espflasher/pkg/espflasher"\n', '')
i = s.index('func flashBinUsingEsp32(')
j = s.index('\n}\n', i) + 3
s = s[:i] + ('func flashBinUsingEsp32(port, resetMode, tmppath string, options *compileopts.Options) error {\n'
             '\treturn errors.New("esp32 flashing not available in this build")\n}\n') + s[j:]
open(p, 'w').write(s)
PY
go mod edit -droprequire tinygo.org/x/espflasher
# src/net is a git submodule (tinygo-org/net); nothing tested here imports net.
mkdir -p src/net

# 3. Build against the system LLVM 19 (TinyGo 0.42 defaults to LLVM 20).
CGO_ENABLED=1 CC=clang-19 CXX=clang++-19 GOFLAGS="${GOFLAGS:-} -mod=mod" \
	go build -tags llvm19 -o "$PREFIX/bin/tinygo" .

# 4. Debian-backed libraries and the target files. TinyGo brings its own
#    malloc, so drop dlmalloc from Debian's wasi-libc (else: duplicate realloc).
mkdir -p lib-debian
cp /usr/lib/wasm32-wasi/libc.a lib-debian/wasi-libc-nomalloc.a
llvm-ar-19 d lib-debian/wasi-libc-nomalloc.a dlmalloc.o
cp "$HERE"/*-debian.json targets/

"$PREFIX/bin/tinygo" version
