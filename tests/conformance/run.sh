#!/usr/bin/env bash
# Checks that the served OpenAPI document tells the truth: Schemathesis (pinned:
# requirements.txt) generates requests from `/openapi.json`, valid and invalid, sends them to a
# real server started by tests/demo-server.sh (the web demo: fresh data, fresh keys, a
# seeded shopper), and checks every answer against the document:
#
#   not_a_server_error           no 5xx, whatever is sent
#   status_code_conformance      every status is one the operation documents
#   content_type_conformance     every body has a documented media type
#   response_schema_conformance  every body matches its documented schema
#   negative_data_rejection      what the document forbids, the server refuses
#
# The run is bounded and repeatable: deterministic generation (the same cases every run), at
# most `examples_per_operation` cases per operation and phase, and a time limit past which the
# run fails. schemathesis.toml holds what the checks are told about the API.
#
#   bash tests/conformance/run.sh
#
# The cargo target directory follows CARGO_TARGET_DIR as usual.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# The whole Schemathesis run, past which it is stopped and fails.
run_seconds_max=240
examples_per_operation=25

work="${TMPDIR:-/tmp}/candor-conformance"
mkdir -p "$work"
# Schemathesis goes into a directory of its own, not the system's site-packages.
python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
  --target "$work/python" --upgrade -r "$here/requirements.txt"

# Builds and starts the web demo with fresh data and keys (stopped when this script exits).
source "$root/tests/demo-server.sh"
start_demo_server
url="$CANDOR_URL"
admin_key="$CANDOR_ADMIN_KEY"

# The admin key may do everything a server key may. Deterministic generation keeps no
# database of past failures, so every run sends the same requests. One worker: with two, the
# coverage phase stopped with internal errors on some operations, and one takes under a minute.
# From the work directory: Schemathesis keeps state in its working directory, not the clone.
cd "$work"
PYTHONPATH="$work/python" timeout "$run_seconds_max" python3 -m schemathesis.cli \
  --config-file "$here/schemathesis.toml" run \
  "$url/openapi.json" \
  --header "Authorization: Bearer $admin_key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection \
  --phases examples,coverage,fuzzing \
  --max-examples "$examples_per_operation" \
  --generation-deterministic \
  --workers 1 \
  --no-color \
  --report junit --report-dir "$work/report"
