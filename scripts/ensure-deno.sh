#!/usr/bin/env bash
# Prints the path of a Deno 2.9.6 binary, installing it from npm into
# .tools/ when the deno on PATH is missing or another version.
# Needs only Node >= 20 and npm.
set -euo pipefail
DENO_VERSION=2.9.6
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if command -v deno >/dev/null 2>&1 && deno --version 2>/dev/null | head -n1 | grep -q "deno ${DENO_VERSION} "; then
  command -v deno
  exit 0
fi
local_deno="$root/.tools/node_modules/.bin/deno"
if [ ! -x "$local_deno" ] || ! "$local_deno" --version 2>/dev/null | head -n1 | grep -q "deno ${DENO_VERSION} "; then
  echo "installing deno ${DENO_VERSION} into .tools/ (npm)" >&2
  npm install --silent --no-audit --no-fund --prefix "$root/.tools" "deno@${DENO_VERSION}" >&2
fi
echo "$local_deno"
