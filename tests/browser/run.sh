#!/usr/bin/env bash
# Runs the browser tests of Candor's web front end and of Segment's browser library against
# Candor: installs what they need (Chromium from Debian; playwright-core and
# @segment/analytics-next from npm, pinned in package-lock.json), builds and starts a server
# with fresh keys, runs the tests with Node's test runner, and stops the server.
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

# Builds and starts the web demo with fresh data and keys (stopped when this script exits).
# Server keys are for the tests' own backend calls (as a shop's backend); pages get only the
# publishable key and tokens.
source "$root/tests/demo-server.sh"
start_demo_server

cd "$here"
# One test at a time: each starts its own browser, and the machine has two cores.
node --test --test-concurrency=1 "$@"
