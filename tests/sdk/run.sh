#!/usr/bin/env bash
# Checks that the official Segment and RudderStack libraries, in their default configuration,
# deliver to Candor with only the endpoint changed: installs them (pinned: requirements.txt,
# package-lock.json), builds and starts a server with fresh keys as tests/browser/run.sh does,
# runs check.py (Python) and check.mjs (Node), and stops the server. Both read back through
# Candor's generated clients (clients/), which are first checked to be up to date with the
# OpenAPI document and, for TypeScript, type-checked together with candor.mjs.
#
#   bash tests/sdk/run.sh
#
# The cargo target directory follows CARGO_TARGET_DIR as usual.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# How long the server may take to print its address after starting.
startup_seconds_max=60
# The libraries retry refused batches with backoff; a run that hangs is a failure.
check_seconds_max=180

work="${TMPDIR:-/tmp}/candor-sdk-test"
mkdir -p "$work"
# The Python libraries go into a directory of their own, not the system's site-packages.
python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
  --target "$work/python" --upgrade -r "$here/requirements.txt"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
# Installs the TypeScript client's dependencies (openapi-fetch) for check.mjs.
bash "$root/clients/generate.sh" --check
"$root/clients/typescript/node_modules/.bin/tsc" -p "$here/tsconfig.json"

cd "$root"
cargo build --quiet -p candor-web --example web_demo
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac

log="$(mktemp)"
"$target/debug/examples/web_demo" >"$log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

# The demo prints its address, then its keys; `publishable` is the last line.
last_line='^publishable '
for _ in $(seq "$((startup_seconds_max * 10))"); do
  grep -q "$last_line" "$log" && break
  if ! kill -0 "$server" 2>/dev/null; then
    echo "run.sh: the server exited:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
if ! grep -q "$last_line" "$log"; then
  echo "run.sh: the server did not start within ${startup_seconds_max}s" >&2
  cat "$log" >&2
  exit 1
fi
CANDOR_URL="$(sed -n 's/^listening on //p' "$log")"
CANDOR_ADMIN_KEY="$(awk '$1 == "admin" { print $2 }' "$log")"
CANDOR_INGEST_KEY="$(awk '$1 == "ingest" { print $2 }' "$log")"
export CANDOR_URL CANDOR_ADMIN_KEY CANDOR_INGEST_KEY

cd "$here"
PYTHONPATH="$work/python:$root/clients/python" timeout "$check_seconds_max" python3 check.py
timeout "$check_seconds_max" node check.mjs
