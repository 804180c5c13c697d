#!/usr/bin/env bash
# Regenerates the client libraries from the OpenAPI document a server with the default settings
# serves (printed by the `openapi` example of candor-server, no server started):
#
#   openapi.json             the document itself
#   python/                  openapi-python-client (pinned: requirements.txt)
#   typescript/schema.d.ts   openapi-typescript (pinned: typescript/package-lock.json), used
#                            through openapi-fetch by typescript/index.mjs
#
#   bash clients/generate.sh           rewrite the checked-in files
#   bash clients/generate.sh --check   fail, showing the difference, when they are out of date
#
# The check also type-checks the TypeScript client. The cargo target directory follows
# CARGO_TARGET_DIR as usual.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *) echo "usage: generate.sh [--check]" >&2; exit 2 ;;
esac

work="${TMPDIR:-/tmp}/candor-clients"
mkdir -p "$work"
# The generator goes into a directory of its own, not the system's site-packages; it runs ruff
# from PATH to format what it writes.
python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
  --target "$work/python" --upgrade -r "$here/requirements.txt"
(cd "$here/typescript" && npm ci --no-audit --no-fund --loglevel=error)

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
(cd "$root" && cargo run --quiet -p candor-server --example openapi) >"$out/openapi.json"

# The document's text/plain request bodies (what `navigator.sendBeacon` sends) are beyond the
# Python generator, which warns and keeps the JSON ones; its output is shown only on failure.
if ! RUFF_NO_CACHE=true PATH="$work/python/bin:$PATH" PYTHONPATH="$work/python" python3 -m openapi_python_client generate \
  --path "$out/openapi.json" --output-path "$out/python" --meta setup \
  --config "$here/python-config.yaml" >"$out/python.log" 2>&1; then
  cat "$out/python.log" >&2
  exit 1
fi
"$here/typescript/node_modules/.bin/openapi-typescript" "$out/openapi.json" \
  --output "$out/schema.d.ts" >/dev/null

if $check; then
  status=0
  diff -u "$here/openapi.json" "$out/openapi.json" || status=1
  diff -ru "$here/python" "$out/python" --exclude=__pycache__ || status=1
  diff -u "$here/typescript/schema.d.ts" "$out/schema.d.ts" || status=1
  if [ "$status" -ne 0 ]; then
    echo "generate.sh: the clients are out of date; run bash clients/generate.sh" >&2
    exit 1
  fi
  (cd "$here/typescript" && node_modules/.bin/tsc -p tsconfig.json)
  echo "clients are up to date"
else
  cp "$out/openapi.json" "$here/openapi.json"
  rm -rf "$here/python"
  cp -r "$out/python" "$here/python"
  cp "$out/schema.d.ts" "$here/typescript/schema.d.ts"
fi
