#!/usr/bin/env bash
# Generates TC strings with known decodings for the Candor TCF decoder's oracle test.
#
# Usage: oracle/run.sh OUTPUT_PATH [CASE_COUNT]
#
# The cases come from an encoder written independently of Candor, so agreement on
# every field is evidence that our decoder reads the wire format as CMPs write it.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 OUTPUT_PATH [CASE_COUNT]" >&2
  exit 2
fi

out="$1"
count="${2:-500}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

cd "$here"
# The lock file pins the encoder version; `npm ci` refuses to drift from it.
if [[ -f package-lock.json ]]; then
  npm ci --silent --no-audit --no-fund >/dev/null
else
  npm install --silent --no-audit --no-fund >/dev/null
fi

# Resolve the output path against the caller's directory, not this one.
case "$out" in
  /*) ;;
  *) out="$OLDPWD/$out" ;;
esac

node generate.mjs "$out" "$count"
