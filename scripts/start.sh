#!/usr/bin/env bash
# Quick start: installs what is needed, then runs the all-in-one local mode
# (`mitosis-coordinator --dev`): the coordinator on embedded PostgreSQL (data in
# $XDG_DATA_HOME/mitosis) plus a local node manager with tags `local`, and
# prints an example suite to try. Extra arguments are passed to
# mitosis-coordinator (see --help).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deno_bin="$("$root/scripts/setup.sh")"
cd "$root"
export RUST_BACKTRACE=0
exec "$deno_bin" run --allow-all coordinator/main.ts --dev "$@"
