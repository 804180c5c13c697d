#!/usr/bin/env bash
# Checks that the official Segment and RudderStack libraries, in their default configuration,
# deliver to Candor with only the endpoint changed: installs them (pinned: requirements.txt,
# package-lock.json), builds and starts a server with fresh keys (tests/demo-server.sh),
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

# Builds and starts the web demo with fresh data and keys (stopped when this script exits).
source "$root/tests/demo-server.sh"
start_demo_server

cd "$here"
PYTHONPATH="$work/python:$root/clients/python" timeout "$check_seconds_max" python3 check.py
timeout "$check_seconds_max" node check.mjs
