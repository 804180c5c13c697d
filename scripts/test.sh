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

# TLS to PostgreSQL: the storage tests connect with `sslmode=verify-full`, which needs a server
# certificate for `localhost` from a CA they trust. Makes a test CA and that certificate in the
# cluster's configuration directory (kept while valid for another week), points the cluster
# at them (ALTER SYSTEM, then a reload: no restart) and exports the CA's path. Plain
# connections keep working, since pg_hba's `host` lines take both. Runs as the `postgres`
# superuser over the local trust login, like the tests.
postgres_tls() {
  local admin=(psql -X -q -At -h 127.0.0.1 -U postgres -d postgres)
  local dir
  dir="$(dirname "$("${admin[@]}" -c 'SHOW config_file')")/candor-test-tls"
  if ! command -v openssl >/dev/null 2>&1; then
    echo "test.sh: openssl is missing; install it to make the PostgreSQL TLS test certificates" >&2
    exit 1
  fi
  local changed=0
  if [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/server.key" ] \
    || ! openssl x509 -checkend 604800 -noout -in "$dir/server.pem" >/dev/null 2>&1; then
    echo "test.sh: making a test CA and a PostgreSQL certificate for localhost in $dir" >&2
    local new="$dir.new"
    rm -rf "$new"
    mkdir -p "$new"
    cat >"$new/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = ext
[dn]
CN = Candor test CA
[ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
    cat >"$new/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
authorityKeyIdentifier = keyid
EOF
    local p256=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${p256[@]}" -config "$new/ca.cnf" -days 3650 \
      -keyout "$new/ca.key" -out "$new/ca.pem" 2>/dev/null
    openssl req -new "${p256[@]}" -subj /CN=localhost \
      -keyout "$new/server.key" -out "$new/server.csr" 2>/dev/null
    openssl x509 -req -in "$new/server.csr" -CA "$new/ca.pem" -CAkey "$new/ca.key" \
      -set_serial "0x$(openssl rand -hex 8)" -days 825 -extfile "$new/server.ext" \
      -out "$new/server.pem" 2>/dev/null
    # The CA's key is not needed again: a new CA is made with the next certificate.
    rm -f "$new/ca.key" "$new/ca.cnf" "$new/server.csr" "$new/server.ext"
    # PostgreSQL refuses a key that others can read.
    chown -R postgres:postgres "$new"
    chmod 755 "$new"
    chmod 644 "$new/ca.pem" "$new/server.pem"
    chmod 600 "$new/server.key"
    rm -rf "$dir"
    mv "$new" "$dir"
    changed=1
  fi
  if [ "$("${admin[@]}" -c 'SHOW ssl')" != on ] \
    || [ "$("${admin[@]}" -c 'SHOW ssl_cert_file')" != "$dir/server.pem" ] \
    || [ "$("${admin[@]}" -c 'SHOW ssl_key_file')" != "$dir/server.key" ]; then
    changed=1
  fi
  if [ "$changed" = 1 ]; then
    echo "test.sh: pointing PostgreSQL's TLS at the test certificate" >&2
    "${admin[@]}" -c 'ALTER SYSTEM SET ssl = on' \
      -c "ALTER SYSTEM SET ssl_cert_file = '$dir/server.pem'" \
      -c "ALTER SYSTEM SET ssl_key_file = '$dir/server.key'" \
      -c 'SELECT pg_reload_conf()' >/dev/null
  fi
  # A reload is asynchronous, and one that cannot load the files keeps the old ones: wait
  # until a checked connection works.
  local check="host=localhost hostaddr=127.0.0.1 user=postgres dbname=postgres sslmode=verify-full sslrootcert=$dir/ca.pem"
  local tries=0
  until psql -X -q -At "$check" -c 'SELECT 1' >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 50 ]; then
      echo "test.sh: PostgreSQL does not answer TLS with the test certificate:" >&2
      psql -X -q -At "$check" -c 'SELECT 1' >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  export CANDOR_TEST_POSTGRES_CA="$dir/ca.pem"
}

# The PostgreSQL store's tests need a server; they fail (never skip) when the URL is set and
# the server is not there. Use the given one, or start the machine's own cluster.
if [ -z "${CANDOR_TEST_POSTGRES_URL:-}" ]; then
  if ! pg_isready -q -h 127.0.0.1 >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "test.sh: starting PostgreSQL for the storage tests" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start
  fi
  export CANDOR_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/postgres"
  postgres_tls
fi

cargo test --workspace "$@"

# The HTTP API suite again, every test on its own PostgreSQL schema: both backends must behave
# exactly alike.
echo "test.sh: the HTTP API suite on PostgreSQL" >&2
CANDOR_TEST_BACKEND=postgres cargo test -p candor-server --test it "$@"
