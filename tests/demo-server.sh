# Sourced by the test scripts under tests/ (browser, sdk, conformance): builds the web demo,
# starts it with fresh data and fresh keys, waits until it has printed them, and exports
#
#   CANDOR_URL                the server's address
#   CANDOR_ADMIN_KEY, CANDOR_INGEST_KEY, CANDOR_DECIDE_KEY, CANDOR_SESSIONS_KEY
#                             server keys, for the tests' own backend calls
#   CANDOR_PUBLISHABLE_KEY    the publishable key, the only key a page may hold
#
# The server is stopped when the sourcing script exits. Usage, from a script that has set
# `root` to the repository's root:
#
#   source "$root/tests/demo-server.sh"
#   start_demo_server
#
# The cargo target directory follows CARGO_TARGET_DIR as usual.

# How long the server may take to print its address after starting.
demo_startup_seconds_max="${demo_startup_seconds_max:-60}"

start_demo_server() {
  (cd "$root" && cargo build --quiet -p candor-web --example web_demo)
  local target="${CARGO_TARGET_DIR:-$root/target}"
  case "$target" in /*) ;; *) target="$root/$target" ;; esac

  demo_log="$(mktemp)"
  "$target/debug/examples/web_demo" >"$demo_log" 2>&1 &
  demo_server=$!
  trap stop_demo_server EXIT

  # The demo prints its address, then its keys; `publishable` is the last line.
  local last_line='^publishable '
  for _ in $(seq "$((demo_startup_seconds_max * 10))"); do
    grep -q "$last_line" "$demo_log" && break
    if ! kill -0 "$demo_server" 2>/dev/null; then
      echo "run.sh: the server exited:" >&2
      cat "$demo_log" >&2
      exit 1
    fi
    sleep 0.1
  done
  if ! grep -q "$last_line" "$demo_log"; then
    echo "run.sh: the server did not start within ${demo_startup_seconds_max}s" >&2
    cat "$demo_log" >&2
    exit 1
  fi
  CANDOR_URL="$(sed -n 's/^listening on //p' "$demo_log")"
  local name
  for name in admin ingest decide sessions publishable; do
    declare -g "CANDOR_${name^^}_KEY=$(awk -v n="$name" '$1 == n { print $2 }' "$demo_log")"
  done
  export CANDOR_URL CANDOR_ADMIN_KEY CANDOR_INGEST_KEY CANDOR_DECIDE_KEY CANDOR_SESSIONS_KEY \
    CANDOR_PUBLISHABLE_KEY
}

stop_demo_server() {
  kill "$demo_server" 2>/dev/null || true
  wait "$demo_server" 2>/dev/null || true
  rm -f "$demo_log"
}
