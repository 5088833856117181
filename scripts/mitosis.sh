#!/usr/bin/env bash
# Runs the `mitosis` CLI from source (installing what it needs on first use).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deno_bin="$("$root/scripts/setup.sh")"
export RUST_BACKTRACE=0
exec "$deno_bin" run --allow-all "$root/mod.ts" "$@"
