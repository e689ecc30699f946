#!/usr/bin/env sh
# Runs the native forge/anvil/cast binary from node_modules so exit codes survive
# (the npm launchers always exit 0). Usage: tools/foundry.sh <forge|anvil|cast> [args...]
set -eu
tool="$1"; shift
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
bin="$root/node_modules/@foundry-rs/$tool-linux-amd64/bin/$tool"
if [ ! -x "$bin" ]; then
  echo "error: $bin missing; run 'make install' first" >&2
  exit 127
fi
exec "$bin" "$@"
