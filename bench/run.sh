#!/usr/bin/env bash
# Runs the interleaved benchmark comparison and updates docs/PERFORMANCE.md.
# Usage: bash bench/run.sh [-passes 8] [-benchtime 100ms] [-bench regexp]
set -euo pipefail
cd "$(dirname "$0")"
export GOFLAGS=-buildvcs=false
exec go run ./cmd/benchratio -update ../docs/PERFORMANCE.md "$@"
