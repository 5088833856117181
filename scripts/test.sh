#!/usr/bin/env bash
# Runs the whole test suite after installing what it needs. Tests start their
# own embedded PostgreSQL, servers and processes on loopback.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deno_bin="$("$root/scripts/setup.sh")"
cd "$root"
export RUST_BACKTRACE=0 NO_COLOR=1
exec "$deno_bin" test --allow-all tests/ "$@"
