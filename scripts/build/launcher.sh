#!/bin/sh
# @PROGRAM@ @VERSION@ (commit @COMMIT@, built @DATE@) for Linux x86_64 (glibc).
#
# A self-extracting executable: this POSIX sh header is followed by a
# gzip-compressed tar archive (the payload) holding the Deno runtime, this
# program's bundled code and the native files it needs. The first start
# checks the payload's SHA-256 digest and extracts it into
#   $MITOSIS_RUNTIME_DIR/<digest>/   (MITOSIS_RUNTIME_DIR defaults to
#   $XDG_CACHE_HOME/mitosis/runtime, else $HOME/.cache/mitosis/runtime)
# under a lock, in a temporary directory renamed into place only once it is
# complete; later starts find it there and start at once. Needs sh, coreutils,
# gzip and tar; flock (util-linux) serialises concurrent first starts.
set -u
program='@PROGRAM@'
digest='@DIGEST@'
payload_offset=@OFFSET@
entry='@ENTRY@'
flags='@FLAGS@'
self=$0
case $self in
*/*) ;;
*) self=$(command -v -- "$self") || { echo "$program: cannot find its own file ($0)" >&2; exit 70; } ;;
esac

if [ -n "${MITOSIS_RUNTIME_DIR:-}" ]; then
  runtime=$MITOSIS_RUNTIME_DIR
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
  runtime=$XDG_CACHE_HOME/mitosis/runtime
elif [ -n "${HOME:-}" ]; then
  runtime=$HOME/.cache/mitosis/runtime
else
  echo "$program: no directory for its runtime: set MITOSIS_RUNTIME_DIR (or HOME)" >&2
  exit 70
fi
dir=$runtime/$digest

cache_error() {
  echo "$program: cannot prepare its runtime in $1: $2." >&2
  echo "$program: its runtime needs @SIZE_MB@ MB in a writable directory; set MITOSIS_RUNTIME_DIR to move it" \
    "(now $runtime)." >&2
  exit 73
}

extract() {
  mkdir -p "$runtime" 2>/dev/null || cache_error "$runtime" "the directory cannot be created"
  locked=
  if command -v flock >/dev/null 2>&1; then
    lock=$runtime/.$digest.lock
    locked=1
    # In a subshell: a failed redirection of a special built-in would end this shell.
    (: >>"$lock") 2>/dev/null || cache_error "$runtime" "the directory is not writable"
    exec 9>>"$lock"
    flock 9 || cache_error "$runtime" "cannot lock $lock"
    # Another start may have finished while this one waited for the lock.
    if [ -f "$dir/.complete" ]; then exec 9>&-; return 0; fi
    # Holding the lock, no other start extracts this digest: leftovers of interrupted starts go.
    rm -rf "$runtime/.$digest.tmp."* "$dir" 2>/dev/null
  fi
  tmp=$(mktemp -d "$runtime/.$digest.tmp.XXXXXX" 2>/dev/null) || cache_error "$runtime" "the directory is not writable"
  actual=$(tail -c +"$payload_offset" "$self" | sha256sum) || { rm -rf "$tmp"; echo "$program: cannot read $self" >&2; exit 74; }
  actual=${actual%% *}
  if [ "$actual" != "$digest" ]; then
    rm -rf "$tmp"
    echo "$program: $self is damaged: its payload's SHA-256 is $actual, expected $digest; copy the file again" >&2
    exit 74
  fi
  echo "$program: first start of this build: extracting its runtime into $dir" >&2
  if ! reason=$(tail -c +"$payload_offset" "$self" | gzip -dc | tar -xf - -C "$tmp" 2>&1); then
    rm -rf "$tmp"
    reason=$(printf '%s' "$reason" | head -n 1 | cut -c 1-200)
    cache_error "$runtime" "extraction failed: ${reason:-tar failed}"
  fi
  chmod 755 "$tmp" && (: >"$tmp/.complete") 2>/dev/null || {
    rm -rf "$tmp"
    cache_error "$runtime" "the directory is not writable"
  }
  # The rename publishes the runtime atomically; a concurrent start without flock may have won.
  if ! mv -T "$tmp" "$dir" 2>/dev/null; then
    rm -rf "$tmp"
    [ -f "$dir/.complete" ] || cache_error "$runtime" "cannot rename $tmp to $dir"
  fi
  if [ -n "$locked" ]; then exec 9>&-; fi
  return 0
}

[ -f "$dir/.complete" ] || extract

@DISPATCH@
DENO_DIR=${DENO_DIR:-$runtime/deno}
DENO_NO_UPDATE_CHECK=1
DENO_NO_PROMPT=1
export DENO_DIR DENO_NO_UPDATE_CHECK DENO_NO_PROMPT
exec "$dir/bin/deno" run --allow-all --no-config --no-lock $flags "$dir/app/$entry" "$@"
