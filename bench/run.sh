#!/usr/bin/env bash
# Runs the interleaved benchmark comparison and updates docs/PERFORMANCE.md.
# Usage: bash bench/run.sh [-passes 8] [-benchtime 100ms] [-bench regexp]
# The MQTTIn and MQTTOut rows run Debian's mosquitto (apt-get install
# mosquitto, or AIMDB_MOSQUITTO=/path/to/mosquitto); without it they are
# skipped and their targets print "no data".
set -euo pipefail
cd "$(dirname "$0")"
export GOFLAGS=-buildvcs=false
exec go run ./cmd/benchratio -update ../docs/PERFORMANCE.md "$@"
