#!/usr/bin/env bash
# Runs Candor's whole test suite on a fresh machine: installs what the tests need, starts the
# services they use, then `cargo test --workspace`.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -p candor-domain   # extra arguments go to cargo test
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# The MovieLens protocol test drives the shared reference script, which needs numpy and scipy.
if ! python3 -c 'import numpy, scipy' >/dev/null 2>&1; then
  echo "test.sh: installing numpy and scipy for the recommendation protocol test" >&2
  python3 -m pip install --quiet --disable-pip-version-check numpy scipy
fi

# The TCF decoder is checked against TC strings written by the IAB's reference encoder.
work="${TMPDIR:-/tmp}/candor-test"
mkdir -p "$work"
if command -v node >/dev/null 2>&1; then
  bash crates/candor-signals/oracle/run.sh "$work/tcf-oracle-cases.jsonl"
  export CANDOR_TCF_ORACLE_CASES="$work/tcf-oracle-cases.jsonl"
else
  echo "test.sh: node is missing; install Node.js to run the TCF oracle" >&2
  exit 1
fi

# The PostgreSQL store's tests need a server; they fail (never skip) when the URL is set and
# the server is not there. Use the given one, or start the machine's own cluster.
if [ -z "${CANDOR_TEST_POSTGRES_URL:-}" ]; then
  if ! pg_isready -q -h 127.0.0.1 >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "test.sh: starting PostgreSQL for the storage tests" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  fi
  export CANDOR_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/postgres"
fi

cargo test --workspace "$@"

# The HTTP API suite again, every test on its own PostgreSQL schema: both backends must behave
# exactly alike.
echo "test.sh: the HTTP API suite on PostgreSQL" >&2
CANDOR_TEST_BACKEND=postgres cargo test -p candor-server --test it "$@"
