#!/usr/bin/env bash
# Runs the tests of the portable packages on every target AimDB for Go
# claims, from a microcontroller to the browser, and reports each target's
# test count and the size of the station program (examples/station-mcu).
#
# Usage: bash ci/targets.sh [target...]        (no target: all of them)
#
#   native         linux/amd64
#   js-node        js/wasm under Node.js
#   js-browser     js/wasm in headless Chromium (wasmbrowsertest)
#   wasip1         wasip1/wasm under wazero
#   arm64          linux/arm64 under qemu-user
#   armv7          linux/arm GOARM=7 under qemu-user (Cortex-A7)
#   riscv64        linux/riscv64 under qemu-user
#   s390x          linux/s390x under qemu-user (big-endian)
#   tinygo-linux   TinyGo, linux/amd64 (musl)
#   tinygo-wasip1  TinyGo, wasip1 under wazero
#   tinygo-cortexm TinyGo, Cortex-M3 (TI LM3S6965) in qemu-system-arm
#
# Everything it needs is installed by the script itself: Debian packages
# with apt-get (as root, or through sudo), wazero and wasmbrowsertest from
# the pinned module ci/tools, and TinyGo built from the Go module proxy
# against Debian's LLVM (ci/tinygo/install-tinygo.sh). Tools are cached
# outside the clone, in $AIMDB_CI_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/aimdb-ci), keyed on the files that
# define them, so a second run only runs tests.
#
# A target fails if a test fails, if a listed package runs no test, or if
# a test skips: where a target cannot run a test, the test says so with a
# build constraint and a comment (see docs/PLATFORMS.md), it never skips.
# The script exits non-zero if any target failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

# The packages that claim portability. Every Go target runs PORTABLE;
# the TinyGo targets run TINYGO_PKGS (TinyGo's test runner ignores
# Example functions, so the hello-* examples, which are tested by their
# Output comments, are not listed there); the Cortex-M3 runs MCU_PKGS: the
# root package's test binary does not fit its 256 KB of flash (see
# docs/PLATFORMS.md), so there the core runs as the station program.
# A new package claims portability by being added here.
PORTABLE=${PORTABLE:-". ./internal/buffer ./aimdbtest ./contract ./codec/postcard ./examples/..."}
TINYGO_PKGS=${TINYGO_PKGS:-". ./internal/buffer ./aimdbtest ./contract ./codec/postcard ./examples/station-mcu"}
MCU_PKGS=${MCU_PKGS:-"./internal/buffer ./contract ./codec/postcard ./examples/station-mcu"}
STATION=./examples/station-mcu

ALL_TARGETS="native js-node js-browser wasip1 arm64 armv7 riscv64 s390x tinygo-linux tinygo-wasip1 tinygo-cortexm"
TINYGO_VERSION=v0.42.0

CACHE=${AIMDB_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/aimdb-ci}
mkdir -p "$CACHE"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/aimdb-ci.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
GOVERSION=$(go env GOVERSION)
GOROOT_WASM="$(go env GOROOT)/lib/wasm"

say() { printf '%s\n' "$*"; }
die() { say "ci/targets.sh: $*" >&2; return 1; }

# key FILE... prints a short hash of the files and the Go version, used to
# name cache entries so that editing a tool's definition rebuilds it.
key() { { cat "$@"; echo "$GOVERSION"; } | sha256sum | cut -c1-12; }

# ---- installers --------------------------------------------------------

APT_UPDATED=0
# apt_install PKG... installs the Debian packages that are missing.
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	local sudo=()
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "needs root to install: apt-get install ${missing[*]}" || return 1
		sudo=(sudo)
	fi
	say "apt-get install ${missing[*]}"
	if [ $APT_UPDATED = 0 ]; then
		"${sudo[@]}" apt-get update -qq || die "apt-get update failed" || return 1
		APT_UPDATED=1
	fi
	local attempt
	for attempt in 1 2 3; do
		DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >"$WORK/apt.log" 2>&1 && return 0
		# Debian's container images delete downloaded packages after every
		# dpkg run (/etc/apt/apt.conf.d/docker-clean), which breaks an
		# install that apt splits into several dpkg runs; another run
		# downloads what is still missing.
		say "apt-get install failed (attempt $attempt of 3)"
		"${sudo[@]}" dpkg --configure -a >>"$WORK/apt.log" 2>&1
	done
	tail -20 "$WORK/apt.log"
	die "apt-get install ${missing[*]} failed; install them by hand"
}

# tools builds wazero and wasmbrowsertest from ci/tools (pinned versions).
TOOLS="$CACHE/tools-$(key ci/tools/go.mod ci/tools/go.sum)"
tools() {
	[ -x "$TOOLS/wazero" ] && [ -x "$TOOLS/wasmbrowsertest" ] && return 0
	say "building wazero and wasmbrowsertest (ci/tools) into $TOOLS"
	rm -rf "$TOOLS.tmp" && mkdir -p "$TOOLS.tmp" || return 1
	go -C ci/tools build -o "$TOOLS.tmp/" github.com/tetratelabs/wazero/cmd/wazero github.com/agnivade/wasmbrowsertest ||
		die "could not build ci/tools" || return 1
	rm -rf "$TOOLS" && mv "$TOOLS.tmp" "$TOOLS"
}

QEMU_USER_PKGS="qemu-user-static"
TINYGO_APT="llvm-19-dev libclang-19-dev clang-19 lld-19 binaryen wasi-libc libclang-rt-19-dev-wasm32 musl-dev libclang-rt-19-dev picolibc-arm-none-eabi qemu-system-arm python3"
TINYGO="$CACHE/tinygo-${TINYGO_VERSION#v}-$(key ci/tinygo/install-tinygo.sh ci/tinygo/*.json)"
# tinygo_setup installs TinyGo (once) and puts it, LLVM's tools and wazero
# on PATH. TinyGo keeps its own build cache in ${XDG_CACHE_HOME:-~/.cache}/tinygo.
tinygo_setup() {
	# The shared LLVM libraries are needed even when TinyGo is cached.
	# shellcheck disable=SC2086
	apt_install $TINYGO_APT || return 1
	tools || return 1
	if [ ! -x "$TINYGO/bin/tinygo" ]; then
		say "building TinyGo $TINYGO_VERSION into $TINYGO"
		rm -rf "$TINYGO.tmp"
		TINYGO_VERSION=$TINYGO_VERSION bash ci/tinygo/install-tinygo.sh "$TINYGO.tmp" >"$WORK/tinygo-install.log" 2>&1 || {
			tail -30 "$WORK/tinygo-install.log"
			die "building TinyGo failed (ci/tinygo/install-tinygo.sh)"
			return 1
		}
		# Nothing in the install records its own path, so it can be moved.
		rm -rf "$TINYGO" && mv "$TINYGO.tmp" "$TINYGO"
	fi
	export TINYGOROOT="$TINYGO/root"
	export PATH="$TINYGO/bin:/usr/lib/llvm-19/bin:$TOOLS:$PATH"
	say "  $(tinygo version)"
}

# ---- test runs and counting --------------------------------------------

# count LOG reads `go test -v` or `tinygo test -v` output and prints one
# line per package with its number of passed tests (subtests and examples
# included). It fails if a test failed or skipped, a package failed or a
# package ran no test, and sets PASSED to the total.
count() {
	local out
	out=$(awk '
		/^[ \t]*--- PASS: / { pass++ }
		/^[ \t]*--- FAIL: / { fail++; print "    " $0 }
		/^[ \t]*--- SKIP: / { skip++; print "    " $0 "   <- skipped: use a build constraint instead" }
		/^(ok|FAIL)[ \t]+[^ \t]+/ {
			pkgs++; total += pass; fails += fail; skips += skip
			if ($1 == "FAIL") failed++
			if (pass == 0) { empty++; note = "   <- no test ran" } else note = ""
			printf "  %-4s %-60s %4d passed%s\n", $1, $2, pass, note
			pass = 0; fail = 0; skip = 0
		}
		END {
			printf "TOTAL %d %d %d %d %d\n", total, pkgs, failed + fails, skips, empty
		}' "$1")
	say "$out" | grep -v '^TOTAL'
	local total pkgs bad skips empty
	read -r _ total pkgs bad skips empty <<<"$(say "$out" | grep '^TOTAL')"
	PASSED=$total
	[ "$pkgs" -gt 0 ] && [ "$bad" = 0 ] && [ "$skips" = 0 ] && [ "$empty" = 0 ]
}

# hint LOG explains the usual reason a TinyGo build fails to link.
hint() {
	if grep -q 'linker could not find symbol internal/synctest' "$1"; then
		say "  hint: TinyGo has no testing/synctest; give the test file that imports it"
		say "        //go:build !tinygo and a comment saying why (docs/PLATFORMS.md)"
	fi
}

# gotest NAME GOOS GOARCH [go test flags...] runs PORTABLE for one target.
gotest() {
	local name=$1 goos=$2 goarch=$3
	shift 3
	local log="$WORK/$name.log"
	# shellcheck disable=SC2086 # PORTABLE is a list
	GOOS=$goos GOARCH=$goarch go test -count=1 -v -timeout=10m "$@" $PORTABLE >"$log" 2>&1
	local rc=$?
	count "$log"
	local crc=$?
	if [ $rc != 0 ] || [ $crc != 0 ]; then
		say "  --- output of go test on $name ---"
		grep -v -e '^=== \(RUN\|PAUSE\|CONT\)' -e '^ *--- PASS' "$log" | tail -150
		return 1
	fi
}

# tinytest NAME TARGET PKGS runs `tinygo test` for one TinyGo target.
tinytest() {
	local name=$1 target=$2 pkgs=$3
	local log="$WORK/$name.log"
	# TinyGo has no test timeout; a deadlock would hang forever.
	# shellcheck disable=SC2086
	timeout 1200 tinygo test -v -target="$target" $pkgs >"$log" 2>&1
	local rc=$?
	count "$log"
	local crc=$?
	if [ $rc != 0 ] || [ $crc != 0 ]; then
		[ $rc = 124 ] && say "  tinygo test timed out after 20 minutes"
		say "  --- output of tinygo test on $name ---"
		grep -v -e '^=== \(RUN\|PAUSE\|CONT\)' -e '^ *--- PASS' "$log" | tail -150
		hint "$log"
		return 1
	fi
}

# toplevel PKG lists the top-level tests TinyGo compiles for a bare-metal
# target in PKG, in file order.
toplevel() {
	local dir files
	dir=$(go list -f '{{.Dir}}' "$1") || return 1
	files=$(GOOS=linux GOARCH=arm go list -tags tinygo,baremetal -f '{{join .TestGoFiles " "}} {{join .XTestGoFiles " "}}' "$1") || return 1
	# shellcheck disable=SC2086 # files is a list
	(cd "$dir" && sed -n -E 's/^func (Test[A-Za-z0-9_]*)\([A-Za-z0-9_]+ \*testing\.T\).*/\1/p' $files)
}

# mcutest NAME TARGET PKGS is tinytest for a microcontroller: it boots the
# emulated chip once per top-level test. TinyGo's test runner keeps every
# subtest's name for the life of the program, and goroutine stacks need
# contiguous heap, so one boot for a whole package can run out of a 64 KB
# chip's RAM where one boot per top-level test does not. (TinyGo matches
# -run and -skip as substrings, so a test whose name another contains is
# run with -skip for that one.) Each test runs in a goroutine, with the
# stack mcustack gives its package.
# mcustack PKG is the goroutine stack size for PKG's tests on the chip:
# the target's 2 KB, except where a test formats errors with fmt, which
# needs about 3 KB under TinyGo (4 KB for every goroutine would run the
# buffer conformance tests, which start many, out of RAM).
mcustack() {
	case $1 in
	./contract) say 4KB ;;
	*) say 2KB ;;
	esac
}

mcutest() {
	local name=$1 target=$2 pkgs=$3 log="$WORK/$1.log" rc=0 pkg n m tests
	: >"$log"
	for pkg in $pkgs; do
		read -r -a tests <<<"$(toplevel "$pkg" | tr '\n' ' ')"
		if [ ${#tests[@]} = 0 ]; then
			say "  $pkg: no test compiles for $target" >>"$log"
			rc=1
			continue
		fi
		local -A covered=()
		for n in "${tests[@]}"; do
			[ -n "${covered[$n]:-}" ] && continue
			local sup=()
			for m in "${tests[@]}"; do
				[ "$m" != "$n" ] && [[ $m == *"$n"* ]] && sup+=("$m")
			done
			local flags=(-run "$n")
			if [ ${#sup[@]} = 1 ]; then
				flags+=(-skip "${sup[0]}")
			else
				for m in "${sup[@]}"; do covered[$m]=1; done
			fi
			# TinyGo has no test timeout; a deadlock would hang forever.
			timeout 600 tinygo test -v -target="$target" -stack-size="$(mcustack "$pkg")" "${flags[@]}" "$pkg" >"$WORK/boot.log" 2>&1 || rc=1
			# Name the boot in the package's result line.
			sed -E "s/^(ok|FAIL)([[:space:]]+[^[:space:]]+)/\1\2:$n/" "$WORK/boot.log" >>"$log"
		done
		unset covered
	done
	count "$log"
	local crc=$?
	if [ $rc != 0 ] || [ $crc != 0 ]; then
		say "  --- output of tinygo test on $name ---"
		grep -v -e '^=== \(RUN\|PAUSE\|CONT\)' -e '^ *--- PASS' "$log" | tail -150
		hint "$log"
		return 1
	fi
}

# ---- station program sizes -----------------------------------------------

human() { awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%.1f MB", b/1048576; else printf "%.1f KB", b/1024 }'; }

# gosize GOOS GOARCH builds the station program stripped and sets SIZE.
gosize() {
	local goos=$1 goarch=$2 out="$WORK/station-$1-$2"
	GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags='-s -w' -o "$out" "$STATION" || return 1
	SIZE="$(human "$(stat -c %s "$out")") ($(stat -c %s "$out") bytes)"
	say "  station program: $SIZE, go build -trimpath -ldflags='-s -w'"
}

# ---- targets ---------------------------------------------------------------

t_native() { gotest native linux amd64 && gosize linux amd64; }

# jshost NAME PATTERN prints the JavaScript host TestJSHost logged, and
# fails unless it matches PATTERN.
jshost() {
	local host
	host=$(grep -m1 -o 'JS host: .*' "$WORK/$1.log")
	say "  ${host:-JS host: not logged}"
	grep -q "$2" <<<"$host" || die "$1: expected a JS host matching '$2'"
}

t_js_node() {
	command -v node >/dev/null || apt_install nodejs || return 1
	gotest js-node js wasm -exec="$GOROOT_WASM/go_js_wasm_exec" && jshost js-node 'Node.js' && gosize js wasm
}

t_js_browser() {
	apt_install chromium && tools || return 1
	# wasmbrowsertest drives Chromium over CDP; as root, chromedp adds
	# --no-sandbox by itself.
	# Go's js/wasm test runner writes each example's output to
	# $TMPDIR/go-example-stdout-<name>-<n>.txt and moves to the next n when
	# the file exists; wasmbrowsertest's file system proxy loses the EEXIST
	# code, so two packages with an Example of the same name must not run
	# at once (-p 1), and each run gets a fresh TMPDIR.
	mkdir -p "$WORK/browser-tmp"
	TMPDIR="$WORK/browser-tmp" gotest js-browser js wasm -p=1 -exec="$TOOLS/wasmbrowsertest" &&
		jshost js-browser 'HeadlessChrome' && gosize js wasm
}

t_wasip1() {
	tools || return 1
	local wcache="$CACHE/wazero-cache"
	# wazero's compilation cache grows with every new test binary.
	if [ -d "$wcache" ] && [ "$(du -sm "$wcache" | cut -f1)" -gt 1024 ]; then rm -rf "$wcache"; fi
	gotest wasip1 wasip1 wasm -exec="$TOOLS/wazero run -mount=/:/ -env-inherit -cachedir=$wcache" &&
		gosize wasip1 wasm
}

# t_qemu NAME GOARCH QEMU: linux/GOARCH under qemu-user. The build
# machine has no binfmt_misc, so test binaries are run through -exec.
# Variables set in front of the call (GOARM=7) reach go test and go build.
t_qemu() {
	local name=$1 goarch=$2 qemu=$3
	# shellcheck disable=SC2086
	apt_install $QEMU_USER_PKGS || return 1
	# AIMDB_TEST_EXEC: for tests that start this test binary again.
	AIMDB_TEST_EXEC="$qemu" gotest "$name" linux "$goarch" -exec="$qemu" && gosize linux "$goarch"
}

t_tinygo_linux() {
	tinygo_setup || return 1
	tinytest tinygo-linux linux-amd64-musl-debian "$TINYGO_PKGS" || return 1
	tinygo build -no-debug -target=linux-amd64-musl-debian -o "$WORK/station-tinygo-linux" "$STATION" || return 1
	SIZE="$(human "$(stat -c %s "$WORK/station-tinygo-linux")") ($(stat -c %s "$WORK/station-tinygo-linux") bytes)"
	say "  station program: $SIZE, tinygo build -no-debug (static, musl)"
}

t_tinygo_wasip1() {
	tinygo_setup || return 1
	tinytest tinygo-wasip1 wasip1-debian "$TINYGO_PKGS" || return 1
	tinygo build -no-debug -target=wasip1-debian -o "$WORK/station.wasm" "$STATION" || return 1
	SIZE="$(human "$(stat -c %s "$WORK/station.wasm")") ($(stat -c %s "$WORK/station.wasm") bytes)"
	say "  station program: $SIZE, tinygo build -no-debug"
}

t_tinygo_cortexm() {
	tinygo_setup || return 1
	mcutest tinygo-cortexm cortex-m-qemu-debian "$MCU_PKGS" || return 1
	# The station program itself, on the emulated chip.
	local elf="$WORK/station.elf" sizes
	sizes=$(tinygo build -size short -target=cortex-m-qemu-debian -o "$elf" "$STATION") || return 1
	timeout 120 qemu-system-arm -machine lm3s6965evb -semihosting -nographic -kernel "$elf" >"$WORK/station.out" 2>&1
	local rc=$?
	grep -v '^Timer with period zero' "$WORK/station.out" | sed 's/^/    /'
	if [ $rc != 0 ] || ! grep -q '^station: done, 7 temperatures' "$WORK/station.out"; then
		say "  station program failed on the Cortex-M3 (exit $rc)"
		return 1
	fi
	PASSED=$((PASSED + 1))
	say "  station program ran on the emulated LM3S6965: 1 more pass"
	# `-size short` prints: code data bss | flash ram, then the numbers.
	local flash ram
	read -r flash ram <<<"$(say "$sizes" | awk 'NR == 2 { print $5, $6 }')"
	say "  station program: flash $(human "$flash") ($flash bytes) of 256 KB, static RAM $(human "$ram") ($ram bytes) of 64 KB"
	firmware || return 1
}

# firmware builds the station firmware (AimX over UART0), prints what
# takes its flash, fails if it no longer fits the LM3S6965, and runs the
# end-to-end tests: qemu-system-arm boots it with UART0 on a pty, a hub
# links it over serial://, and the weather hub passes its readings on to
# MQTT, AimX and the dashboard in Chromium, and `aimdb demo --mcu`
# builds and boots it (examples/station-mcu/firmware/qemu_test.go,
# chain_test.go, cmd/aimdb/demo_mcu_qemu_test.go).
FIRMWARE=./examples/station-mcu/firmware
# FIRMWARE_STACK is the goroutine stack the firmware needs (2 KB, the
# target's default, overflows on record.list; see docs/PLATFORMS.md).
FIRMWARE_STACK=3KB
firmware() {
	local elf="$WORK/firmware.elf" sizes flash ram
	# The linker refuses a firmware that overflows the part's memory.
	sizes=$(tinygo build -stack-size=$FIRMWARE_STACK -size full -target=cortex-m-qemu-debian -o "$elf" "$FIRMWARE") || {
		say "$sizes" | tail -5
		say "  the firmware does not build, or no longer fits the LM3S6965 (256 KB flash, 64 KB RAM)"
		return 1
	}
	read -r flash ram <<<"$(say "$sizes" | awk '$1 == "total" || /\| total$/ { print $6, $7 }')"
	if [ -z "$flash" ]; then
		read -r flash ram <<<"$(tinygo build -stack-size=$FIRMWARE_STACK -size short -target=cortex-m-qemu-debian -o "$elf" "$FIRMWARE" | awk 'NR == 2 { print $5, $6 }')"
	fi
	if [ "$flash" -gt 262144 ] || [ "$ram" -gt 65536 ]; then
		say "  firmware: $flash bytes of flash, $ram of RAM: more than the LM3S6965 has (262144, 65536)"
		return 1
	fi
	SIZE="firmware flash $(human "$flash") ($flash bytes) of 256 KB, static RAM $(human "$ram") ($ram bytes) of 64 KB"
	say "  $SIZE; the packages taking most flash (tinygo build -size full):"
	say "$sizes" | awk -F'|' 'NF == 3 && $2 ~ /[0-9]/ { split($2, f, " "); p = $3; sub(/^ +/, "", p); if (p != "total") printf "%8d  %s\n", f[1], p }' |
		sort -rn | head -15 | sed 's/^/    /'
	local e2e="$WORK/firmware-heapstat.elf"
	tinygo build -stack-size=$FIRMWARE_STACK -tags heapstat -target=cortex-m-qemu-debian -o "$e2e" "$FIRMWARE" || return 1
	# `aimdb demo --mcu` builds the firmware itself (into the user cache).
	AIMDB_FIRMWARE_ELF="$e2e" timeout 400 go test -count=1 -tags qemu_e2e -run 'OnQEMU$|^TestDemoMCU$' -v "$FIRMWARE" ./cmd/aimdb >"$WORK/firmware.log" 2>&1
	local rc=$?
	grep -E '^\s+(qemu|chain)_test.go:[0-9]+:' "$WORK/firmware.log" | sed 's/^\s*/    /'
	if [ $rc != 0 ]; then
		say "  --- the firmware's end-to-end test failed (exit $rc) ---"
		grep -v '^Timer with period zero' "$WORK/firmware.log" | tail -40 | sed 's/^/    /'
		return 1
	fi
	local n
	n=$(grep -c '^--- PASS' "$WORK/firmware.log")
	PASSED=$((PASSED + n))
	say "  the firmware served AimX over the emulated UART0 to a hub, through the weather hub to MQTT, AimX and the dashboard, and in aimdb demo --mcu: $n more passes"
}

# ---- main --------------------------------------------------------------------

targets=${*:-$ALL_TARGETS}
for t in $targets; do
	case " $ALL_TARGETS " in *" $t "*) ;; *)
		say "unknown target $t; known: $ALL_TARGETS" >&2
		exit 2
		;;
	esac
done

fail=0
summary=()
for t in $targets; do
	say ""
	say "== $t"
	PASSED=0 SIZE=-
	start=$SECONDS
	case $t in
	native) t_native ;;
	js-node) t_js_node ;;
	js-browser) t_js_browser ;;
	wasip1) t_wasip1 ;;
	arm64) t_qemu arm64 arm64 qemu-aarch64-static ;;
	armv7) GOARM=7 t_qemu armv7 arm "qemu-arm-static -cpu cortex-a7" ;;
	riscv64) t_qemu riscv64 riscv64 qemu-riscv64-static ;;
	s390x) t_qemu s390x s390x qemu-s390x-static ;;
	tinygo-linux) t_tinygo_linux ;;
	tinygo-wasip1) t_tinygo_wasip1 ;;
	tinygo-cortexm) t_tinygo_cortexm ;;
	esac
	rc=$?
	status=PASS
	if [ $rc != 0 ]; then
		status=FAIL
		fail=1
	fi
	secs=$((SECONDS - start))
	say "== $t: $status, $PASSED tests passed (${secs}s)"
	summary+=("$(printf '%-15s %-4s %6s  %5ss  %s' "$t" "$status" "$PASSED" "$secs" "$SIZE")")
done

say ""
say "target          result  tests   time  station program"
for line in "${summary[@]}"; do say "$line"; done
if [ $fail != 0 ]; then
	say "ci/targets.sh: FAILED"
	exit 1
fi
say "ci/targets.sh: every target passed"
