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

# --- OCI layouts (skopeo's oci: directories) ---

# layout_digest DIR [REF]: the digest of the layout's top-level manifest
# tagged REF (annotation org.opencontainers.image.ref.name), or of the first
# one without REF. Fails (non-zero, message on stderr) when there is none.
layout_digest() {
  python3 - "$1" "${2:-}" <<'PY'
import json, sys
root, ref = sys.argv[1], sys.argv[2]
ms = json.load(open(root + "/index.json"))["manifests"]
if ref:
    ms = [m for m in ms if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref]
if not ms:
    sys.exit(f"layout_digest: no manifest {('tagged ' + ref + ' ') if ref else ''}in {root}")
print(ms[0]["digest"])
PY
}

# layout_manifest DIR [REF]: that manifest's bytes (JSON: pipe to json_get).
layout_manifest() {
  local d
  d=$(layout_digest "$@") || return 1
  cat "$1/blobs/sha256/${d#sha256:}"
}

# --- replication helpers ---
SLOWLINK_BIN=${SLOWLINK_BIN:-$(dirname "$PIER_BIN")/../../bench/slowlink/slowlink}

# start_slowlink NAME TARGET_PORT [slowlink flags...]: sets LINK_ADDR and
# LINK_PID (also kept as LINK_PIDS[NAME], so link_stat and link_reset reach
# the right one when several links run at once); stats in $WORK/NAME.json.
declare -gA LINK_PIDS=()
start_slowlink() {
  local name=$1 target=$2; shift 2
  [ -x "$SLOWLINK_BIN" ] || fail "slowlink binary not found at $SLOWLINK_BIN"
  "$SLOWLINK_BIN" --listen 127.0.0.1:0 --target "127.0.0.1:$target" --stats-file "$WORK/$name.json" "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.log" &
  LINK_PID=$!
  LINK_PIDS[$name]=$LINK_PID
  PIDS+=("$LINK_PID")
  local deadline=$((SECONDS + 10))
  until grep -q '^listening ' "$WORK/$name.out" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "slowlink $name did not start"
    sleep 0.05
  done
  LINK_ADDR=$(awk '/^listening /{print $2; exit}' "$WORK/$name.out")
}

# link_stat NAME FIELD: a counter from slowlink's stats file, fresh: asks
# for a rewrite (SIGUSR1) and waits until the file changed.
link_stat() {
  local f="$WORK/$1.json" before deadline=$((SECONDS + 5))
  before=$(stat -c %Y.%Z.%i "$f")
  kill -USR1 "${LINK_PIDS[$1]:-$LINK_PID}" 2>/dev/null || true
  while [ "$(stat -c %Y.%Z.%i "$f")" = "$before" ]; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.02
  done
  python3 -c "import json,sys;print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$f" "$2"
}

# link_rates SECONDS NAME...: the bytes_up rate (B/s) of each link over one
# measurement window of SECONDS (a sleep, not a wait on a condition), on one
# line in NAME order.
link_rates() {
  local secs=$1 n i=0 b t out=""; shift
  local -a b0=() t0=()
  for n in "$@"; do b0+=("$(link_stat "$n" bytes_up)"); t0+=("$(date +%s.%N)"); done
  sleep "$secs"
  for n in "$@"; do
    b=$(link_stat "$n" bytes_up); t=$(date +%s.%N)
    out+="$(python3 -c "print(int(($b - ${b0[$i]}) / ($t - ${t0[$i]})))") "
    i=$((i + 1))
  done
  echo "${out% }"
}

# link_reset NAME: zeroes slowlink's counters and waits until the file shows it.
link_reset() {
  local f="$WORK/$1.json" deadline=$((SECONDS + 5)) r
  r=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['resets'])" "$f")
  kill -USR2 "${LINK_PIDS[$1]:-$LINK_PID}"
  until [ "$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['resets'])" "$f")" -gt "$r" ]; do
    [ $SECONDS -lt $deadline ] || fail "slowlink $1 did not reset"
    sleep 0.02
  done
}

# start_nginx_rr NAME PORT UPSTREAM_PORT...: nginx ($NGINX, default nginx)
# round-robin on 127.0.0.1:PORT over the Piers on 127.0.0.1:UPSTREAM_PORT...
# (bodies streamed both ways, no size cap, Host passed through, the next
# upstream on a connection error or timeout), as the Helm chart's ingress
# runs them; its files under $WORK/NAME, one "METHOD URI UPSTREAM STATUS"
# line per request in $WORK/NAME/upstream.log. Waits until /healthz
# answers through it; sets NGINX_PID.
start_nginx_rr() {
  local name=$1 port=$2 up servers=""; shift 2
  local dir="$WORK/$name"
  for up in "$@"; do servers+=" server 127.0.0.1:$up;"; done
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $WORK/$name-error.log warn;
events { worker_connections 256; }
http {
  access_log $dir/access.log;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  log_format upstream '\$request_method \$uri \$upstream_addr \$status';
  access_log $dir/upstream.log upstream;
  upstream pier {$servers }
  server {
    listen 127.0.0.1:$port;
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_http_version 1.1;
    location / {
      proxy_pass http://pier;
      proxy_set_header Host \$http_host;
      proxy_next_upstream error timeout;
    }
  }
}
CONF
  spawn "$WORK/$name.log" "${NGINX:-nginx}" -p "$dir" -c "$dir/nginx.conf"
  NGINX_PID=$LAST_PID
  wait_http "http://127.0.0.1:$port/healthz"
}

# start_docker_registry NAME PORT [htpasswd-file]: a registry:2 with deletes
# on (and Basic auth when an htpasswd file is given).
start_docker_registry() {
  local name=$1 port=$2 htp=${3:-}
  {
    echo "version: 0.1"
    echo "log: {level: info}"
    echo "storage:"
    echo "  filesystem: {rootdirectory: $WORK/$name-data}"
    echo "  delete: {enabled: true}"
    echo "http: {addr: 127.0.0.1:$port, secret: pier-test-secret}"
    if [ -n "$htp" ]; then
      echo "auth:"
      echo "  htpasswd: {realm: $name, path: $htp}"
    fi
  } >"$WORK/$name.yml"
  spawn "$WORK/$name.log" docker-registry serve "$WORK/$name.yml"
  wait_http "http://127.0.0.1:$port/v2/"
}

# api METHOD PATH [curl args...]: the management API of the Pier on
# $API_BASE; prints the body; fails on HTTP errors.
api() {
  local m=$1 p=$2; shift 2
  curl -sS -f -X "$m" -H 'Content-Type: application/json' "$@" "$API_BASE/api/v2.0$p"
}

# json_get EXPR: evaluates a Python expression over `j` (the JSON on stdin).
json_get() { python3 -c "import json,sys;j=json.load(sys.stdin);print($1)"; }

# wait_execution ID [SECONDS]: until the execution ends; prints its status.
wait_execution() {
  local id=$1 deadline=$((SECONDS + ${2:-120})) st
  while :; do
    st=$(api GET "/replication/executions/$id" | json_get 'j["status"]')
    [ "$st" != InProgress ] && { echo "$st"; return 0; }
    [ $SECONDS -lt $deadline ] || fail "execution $id still InProgress after ${2:-120}s"
    sleep 0.2
  done
}

# latest_execution POLICY_ID: the newest execution id of a policy ("" if none).
latest_execution() {
  api GET "/replication/executions?policy_id=$1&page_size=1" | json_get 'j[0]["id"] if j else ""'
}

# wait_new_execution POLICY_ID AFTER_ID [SECONDS]: the id of an execution newer than AFTER_ID.
wait_new_execution() {
  local pid=$1 after=$2 deadline=$((SECONDS + ${3:-10})) id
  while :; do
    id=$(latest_execution "$pid")
    if [ -n "$id" ] && [ "$id" -gt "$after" ]; then echo "$id"; return 0; fi
    [ $SECONDS -lt $deadline ] || fail "no new execution of policy $pid within ${3:-10}s"
    sleep 0.1
  done
}

# start_containerd: a containerd 1.6 of its own under $WORK/ctd (root, state,
# socket; CRI off), waited for; then ctr_ talks to it.
start_containerd() {
  mkdir -p "$WORK/ctd"
  cat >"$WORK/ctd/config.toml" <<TOML
version = 2
root = "$WORK/ctd/root"
state = "$WORK/ctd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$WORK/ctd/ctd.sock"
TOML
  spawn "$WORK/containerd.log" containerd --config "$WORK/ctd/config.toml"
  local deadline=$((SECONDS + 30))
  until ctr --address "$WORK/ctd/ctd.sock" version >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "containerd did not start: $(tail -n 5 "$WORK/containerd.log")"
    sleep 0.1
  done
}
ctr_() { ctr --address "$WORK/ctd/ctd.sock" "$@"; }
