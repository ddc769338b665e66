# Shared helpers for integration tests. Source it; it sets `set -euo pipefail`,
# makes $WORK (a scratch folder removed at exit) and kills every process
# started through `spawn` by PID at exit.
set -euo pipefail

PIER_BIN=${PIER_BIN:-${1:-}}
[ -x "$PIER_BIN" ] || { echo "usage: $0 PATH_TO_PIER" >&2; exit 2; }
PIER_BIN=$(readlink -f "$PIER_BIN")
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d /tmp/pier-it.XXXXXX)
PIDS=()

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    echo "--- FAILED (rc=$rc); last log lines ---" >&2
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 30 "$f" >&2; }; done
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

# A TCP port nobody listens on right now.
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }

# spawn LOGFILE CMD...: start in background, remember the PID in $LAST_PID.
spawn() {
  local log=$1; shift
  "$@" >"$log" 2>&1 &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
}

# wait_http URL [SECONDS]: until the URL answers any HTTP status.
wait_http() {
  local url=$1 deadline=$((SECONDS + ${2:-30}))
  until curl -s -o /dev/null "$url"; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for $url"
    sleep 0.1
  done
}

# start_pier NAME PORT DATA [extra serve flags...]: sets PIER_PID.
start_pier() {
  local name=$1 port=$2 data=$3; shift 3
  spawn "$WORK/$name.log" "$PIER_BIN" serve --listen "127.0.0.1:$port" --data "$data" "$@"
  PIER_PID=$LAST_PID
  wait_http "http://127.0.0.1:$port/healthz"
}

stop_pid() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# Skopeo with a policy that accepts everything (tests run without /etc/containers).
POLICY="$WORK/policy.json"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$POLICY"
# Its own auth file too, passed per call: exporting REGISTRY_AUTH_FILE would
# also reach docker-registry, which reads REGISTRY_* as config overrides.
skopeo_() { REGISTRY_AUTH_FILE="$WORK/auth.json" skopeo --policy "$POLICY" "$@"; }

# status METHOD URL [curl args...]: prints the HTTP status code.
status() { local m=$1 u=$2; shift 2; curl -s -o /dev/null -w '%{http_code}' -X "$m" "$@" "$u"; }
