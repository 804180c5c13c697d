#!/usr/bin/env bash
# Runs the browser tests of Candor's web front end: installs what they need (Chromium from
# Debian, playwright-core from npm), builds and starts a server with fresh keys, runs the
# tests with Node's test runner, and stops the server.
#
#   bash tests/browser/run.sh                 # all tests
#   bash tests/browser/run.sh --test-name-pattern=console
#
# Screenshots go to docs/screenshots/ (CANDOR_SCREENSHOTS overrides). The cargo target
# directory follows CARGO_TARGET_DIR as usual.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"
# How long the server may take to print its address after starting.
startup_seconds_max=60

if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: $chromium is missing; install Debian's chromium package as root" >&2
    exit 1
  fi
  echo "run.sh: installing chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
export CHROMIUM="$chromium"

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

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
CANDOR_DECIDE_KEY="$(awk '$1 == "decide" { print $2 }' "$log")"
CANDOR_SESSIONS_KEY="$(awk '$1 == "sessions" { print $2 }' "$log")"
CANDOR_PUBLISHABLE_KEY="$(awk '$1 == "publishable" { print $2 }' "$log")"
# Server keys are for the tests' own backend calls (as a shop's backend); pages get only the
# publishable key and tokens.
export CANDOR_URL CANDOR_ADMIN_KEY CANDOR_INGEST_KEY CANDOR_DECIDE_KEY CANDOR_SESSIONS_KEY CANDOR_PUBLISHABLE_KEY

cd "$here"
# One test at a time: each starts its own browser, and the machine has two cores.
node --test --test-concurrency=1 "$@"
