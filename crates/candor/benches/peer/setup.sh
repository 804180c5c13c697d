#!/usr/bin/env bash
# Installs the serving bench's do-it-yourself peer (requirements.txt, pinned) into the venv
# VENV_DIR, once: a venv whose stamp matches requirements.txt is left as it is.
# Usage: setup.sh VENV_DIR
set -euo pipefail
venv="${1:?usage: setup.sh VENV_DIR}"
here="$(cd "$(dirname "$0")" && pwd)"
stamp="$venv/.requirements"
if [ -f "$stamp" ] && cmp -s "$stamp" "$here/requirements.txt"; then
    exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
cp "$here/requirements.txt" "$stamp"
