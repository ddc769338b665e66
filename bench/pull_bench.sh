#!/usr/bin/env bash
# Pulls as clients see them: Pier vs registry:2 vs nginx, with a client that
# copies the body into user space (curl -o /dev/null), on loopback and across
# a veth pair, plus the first pull right after a push.
#
# usage: bench/pull_bench.sh PATH_TO_PIER [--size-mib N] [--push-mib N] [--rounds N]
#                            [--wait-idle N] [--no-veth] [--no-first] [--no-pin]
#                            [--pier-config JSON] [--compare-no-warm] [--write-results] [--keep]
#
# Runs as root: it makes two network namespaces (removed on exit), "srv" with
# the three servers and "cli" with the veth client:
#   srv: lo + veth 10.213.0.1/30  <--veth-->  cli: 10.213.0.2/30
# so the loopback client runs in srv (127.0.0.1) and the veth client in cli.
#   (a) warm pulls of one N MiB blob (default 1024): Pier, registry:2 and
#       nginx serving Pier's very blob file (a symlink, sendfile on: the limit
#       a server can reach), each verified once by sha256 (untimed), then
#       --rounds rounds (default 5) of one timed curl pull per server, the
#       order rotating per round; MB/s and the server's CPU (utime+stime from
#       /proc, the whole process tree for nginx) in ms per GiB.
#   (b) first pull after a push (loopback): per round and server, a fresh
#       --push-mib blob (default 1024) is pushed (POST + PUT ?digest=, curl)
#       and pulled at once with curl. Before each push: sync, drop caches,
#       the source file read back, wait for idle CPUs; nothing between the
#       push and the pull (that is the push-then-deploy flow).
# Timed pulls pin the server (every thread) to CPU 0 and the client to CPU 1,
# every server alike (--no-pin: leave placement to the scheduler).
# --pier-config: Pier's config file text (default {"log":{"access":false}}),
# e.g. {"log":{"access":false},"uploads":{"warm_bytes":0}} to turn the
# read-back of fresh uploads off.
# --compare-no-warm: (b) also runs a second Pier with {"uploads":{"warm_bytes":0}}
# ("pier-nowarm"): what the read-back changes, push and first pull, same run.
# --write-results adds/replaces the "## Pulls measured as clients see them"
# section of bench/RESULTS.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB="$HERE/lib/benchlib.py"
PLIB="$HERE/lib/pullbench.py"
REPO_NAME=bench

usage() { sed -n '2,32p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

PIER=""; SIZE_MIB=1024; PUSH_MIB=1024; ROUNDS=5; WAIT_IDLE=30
VETH=1; FIRST=1; PIN=1; WRITE_RESULTS=0; KEEP=0; NOWARM=0
PIER_CONFIG='{"log":{"access":false}}'
ORIG_ARGS=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --size-mib) SIZE_MIB="$2"; shift 2 ;;
    --push-mib) PUSH_MIB="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --wait-idle) WAIT_IDLE="$2"; shift 2 ;;
    --no-veth) VETH=0; shift ;;
    --no-first) FIRST=0; shift ;;
    --no-pin) PIN=0; shift ;;
    --pier-config) PIER_CONFIG="$2"; shift 2 ;;
    --compare-no-warm) NOWARM=1; shift ;;
    --write-results) WRITE_RESULTS=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) [ -z "$PIER" ] || { echo "extra argument $1" >&2; usage; }; PIER="$1"; shift ;;
  esac
done
[ -n "$PIER" ] && [ -x "$PIER" ] || { echo "PATH_TO_PIER (executable) is required" >&2; usage; }
PIER=$(cd "$(dirname "$PIER")" && pwd)/$(basename "$PIER")

log() { printf '%s\n' "$*"; }
section() { printf '\n== %s\n' "$*"; }
die() { printf 'pull_bench: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, drop_caches)"
for t in docker-registry curl python3 sha256sum ip taskset; do
  command -v "$t" >/dev/null || die "$t not found (docker-registry: apt-get install -y docker-registry)"
done
if ! command -v nginx >/dev/null; then
  log "nginx missing: apt-get install -y nginx-light"
  DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light >/dev/null 2>&1 \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light >/dev/null; } \
    || die "could not install nginx-light"
fi
[ "$(nproc)" -ge 2 ] || PIN=0

# ---- work dir, namespaces, cleanup -------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pull-bench.XXXXXX")
NS_SRV="pb-srv-$$"; NS_CLI="pb-cli-$$"; VS="pbs$$"; VC="pbc$$"
SRV_IP=10.213.0.1; CLI_IP=10.213.0.2
declare -A PID=()
cleanup() {
  local rc=$?
  for side in "${!PID[@]}"; do
    local p="${PID[$side]}"
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  ip netns del "$NS_SRV" 2>/dev/null || true  # takes the veth pair with it
  ip netns del "$NS_CLI" 2>/dev/null || true
  if [ "$KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
exec > >(tee "$WORK/run.log") 2>&1

ip netns add "$NS_SRV"
ip netns add "$NS_CLI"
ip link add "$VS" type veth peer name "$VC"
ip link set "$VS" netns "$NS_SRV"
ip link set "$VC" netns "$NS_CLI"
ip -n "$NS_SRV" addr add "$SRV_IP/30" dev "$VS"
ip -n "$NS_CLI" addr add "$CLI_IP/30" dev "$VC"
for ns in "$NS_SRV" "$NS_CLI"; do ip -n "$ns" link set lo up; done
ip -n "$NS_SRV" link set "$VS" up
ip -n "$NS_CLI" link set "$VC" up
IN_SRV=(ip netns exec "$NS_SRV")
IN_CLI=(ip netns exec "$NS_CLI")

RESULTS="$WORK/results.env"
: >"$RESULTS"
add() { sed -i "/^$1=/d" "$RESULTS"; echo "$1=$2" >>"$RESULTS"; }
append() { local cur; cur=$(sed -n "s/^$1=//p" "$RESULTS"); add "$1" "$cur $2"; }

CPU_MODEL=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
MEM_GIB=$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)
FS_LINE=$(df -T -P "$WORK" | awk 'NR==2 {print $2 " on " $1}')
REG_VERSION=$(docker-registry --version 2>&1 | head -1)
NGINX_VERSION=$(nginx -v 2>&1 | head -1)
PIER_VERSION=$("$PIER" --version 2>&1 | head -1 || true)
section "machine"
log "cpus: $(nproc) ($CPU_MODEL); RAM: $MEM_GIB GiB; kernel $(uname -r); work dir $WORK ($FS_LINE)"
log "pier: $PIER_VERSION ($PIER); registry:2: $REG_VERSION; $NGINX_VERSION; $(curl --version | head -1 | cut -d' ' -f1-2)"
log "veth: $NS_SRV/$VS $SRV_IP/30 <-> $NS_CLI/$VC $CLI_IP/30, mtu $(ip -n "$NS_SRV" -o link show "$VS" | sed -n 's/.* mtu \([0-9]*\).*/\1/p')"
NEED_MIB=$(( 3*SIZE_MIB + FIRST*(ROUNDS*2*PUSH_MIB + PUSH_MIB) + 1024 ))
AVAIL_MIB=$(df -P -m "$WORK" | awk 'NR==2 {print $4}')
[ "$AVAIL_MIB" -gt "$NEED_MIB" ] || die "need about $NEED_MIB MiB free in $WORK, have $AVAIL_MIB"

source "$HERE/lib/quiet.sh"
digest_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
tag_file() { printf '%-32.32s' "$2" | dd of="$1" bs=32 count=1 conv=notrunc status=none; }

# ---- servers (in the srv namespace) ------------------------------------------------
declare -A URL=() NAME=([pier]=pier [reg]=registry:2 [nginx]=nginx [pier0]=pier-nowarm)
PORT_PIER=5001; PORT_REG=5002; PORT_NGINX=8080; PORT_PIER0=5003
mkdir -p "$WORK/pier/data" "$WORK/reg/data" "$WORK/nginx/root" "$WORK/nginx/tmp"
echo "$PIER_CONFIG" >"$WORK/pier/config.json"
"${IN_SRV[@]}" "$PIER" serve --listen "0.0.0.0:$PORT_PIER" --data "$WORK/pier/data" \
  --config "$WORK/pier/config.json" >"$WORK/pier/server.log" 2>&1 &
PID[pier]=$!
if [ "$NOWARM" = 1 ]; then
  mkdir -p "$WORK/pier0/data"
  echo '{"log":{"access":false},"uploads":{"warm_bytes":0}}' >"$WORK/pier0/config.json"
  "${IN_SRV[@]}" "$PIER" serve --listen "0.0.0.0:$PORT_PIER0" --data "$WORK/pier0/data" \
    --config "$WORK/pier0/config.json" >"$WORK/pier0/server.log" 2>&1 &
  PID[pier0]=$!
fi
cat >"$WORK/reg/config.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/reg/data}, delete: {enabled: true}, cache: {blobdescriptor: inmemory}}
http: {addr: ":$PORT_REG"}
EOF
"${IN_SRV[@]}" docker-registry serve "$WORK/reg/config.yml" >"$WORK/reg/server.log" 2>&1 &
PID[reg]=$!
# nginx as a plain static server: one worker (one connection at a time),
# sendfile on, its default sendfile_max_chunk, no access log.
cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
user root;  # reads Pier's blob file in the 0700 work dir
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log error;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path $WORK/nginx/tmp;
  proxy_temp_path $WORK/nginx/tmp;
  server { listen $PORT_NGINX; root $WORK/nginx/root; }
}
EOF
"${IN_SRV[@]}" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/server.log" 2>&1 &
PID[nginx]=$!
for side in "${!PID[@]}"; do
  port_var="PORT_${side^^}"
  URL[$side]="http://127.0.0.1:${!port_var}"
done
for side in pier reg $([ "$NOWARM" = 1 ] && echo pier0); do
  "${IN_SRV[@]}" python3 "$LIB" wait-ready "${URL[$side]}" "${PID[$side]}" 30 \
    || { tail -20 "$WORK/$side/server.log" >&2; die "$side did not start"; }
done
for _ in $(seq 100); do "${IN_SRV[@]}" curl -s -o /dev/null "${URL[nginx]}/" && break; sleep 0.1; done
alive() {
  for side in "${!PID[@]}"; do
    kill -0 "${PID[$side]}" 2>/dev/null || { tail -30 "$WORK/$side/server.log" >&2 || true; die "$side died during $1"; }
  done
}
srvcpu() { python3 "$PLIB" cpu-tree "${PID[$1]}"; }
pin() {  # SIDE CPUS: every thread of the server's process tree
  local p
  for p in $(python3 "$PLIB" pids-tree "${PID[$1]}"); do taskset -a -p -c "$2" "$p" >/dev/null; done
}
ALL_CPUS="0-$(( $(nproc) - 1 ))"
CLIENT_PIN=()
[ "$PIN" = 1 ] && CLIENT_PIN=(taskset -c 1)
rotate() {  # ROUND LIST...: the list rotated by ROUND
  local r=$1; shift
  local a=("$@") n=$# i
  for i in $(seq 0 $((n - 1))); do printf '%s ' "${a[$(( (i + r) % n ))]}"; done
}
# ONE timed pull: SIDE NETNS_CMD_PREFIX URL SIZE -> "seconds cpu_ms_per_gib"
timed_pull() {
  local side=$1 ns=$2 url=$3 size=$4 c0 c1 s
  [ "$PIN" = 1 ] && pin "$side" 0
  c0=$(srvcpu "$side")
  s=$(ip netns exec "$ns" "${CLIENT_PIN[@]}" python3 "$PLIB" curl-pull "$url" "$size") || { alive pull; die "pull from $side failed"; }
  c1=$(srvcpu "$side")
  [ "$PIN" = 1 ] && pin "$side" "$ALL_CPUS"
  python3 -c 'import sys; s,c0,c1,n=map(float,sys.argv[1:]); print("%.6f %.0f" % (s, (c1-c0)*1000/(n/2**30)))' "$s" "$c0" "$c1" "$size"
}
mbps() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[1]) / float(sys.argv[2]) / 1e6))' "$1" "$2"; }
log "pier pid ${PID[pier]}, registry:2 pid ${PID[reg]}, nginx pid ${PID[nginx]} (master; CPU counts its worker too); all in netns $NS_SRV"
[ "$PIN" = 1 ] && log "timed pulls: server pinned to CPU 0 (every thread), client (curl) to CPU 1"

# ---- (a) warm pulls -----------------------------------------------------------------------
section "(a) warm pulls of one $SIZE_MIB MiB blob with curl -o /dev/null (copies into user space), $ROUNDS rounds, server order rotating"
BIG="$WORK/big.bin"
head -c "$((SIZE_MIB * 1048576))" /dev/urandom >"$BIG"
BIG_BYTES=$(stat -c %s "$BIG")
BIG_DIGEST=$(digest_of "$BIG")
for side in pier reg; do
  "${IN_SRV[@]}" python3 "$LIB" push "${URL[$side]}" "$REPO_NAME" "$BIG" "$BIG_DIGEST" >/dev/null || die "push to $side failed"
done
BLOB_FILE="$WORK/pier/data/blobs/sha256/${BIG_DIGEST:7:2}/${BIG_DIGEST:7}"
[ -f "$BLOB_FILE" ] || die "pier's blob file not found at $BLOB_FILE"
mkdir -p "$WORK/nginx/root/v2/$REPO_NAME/blobs"
ln -s "$BLOB_FILE" "$WORK/nginx/root/v2/$REPO_NAME/blobs/$BIG_DIGEST"
BLOB_PATH="/v2/$REPO_NAME/blobs/$BIG_DIGEST"
for side in pier reg nginx; do
  "${IN_CLI[@]}" python3 "$PLIB" curl-pull "http://$SRV_IP:${URL[$side]##*:}$BLOB_PATH" "$BIG_BYTES" "$WORK/pulled.bin" >/dev/null \
    || { alive verify; die "verifying pull from $side failed"; }
  got=$(digest_of "$WORK/pulled.bin"); rm -f "$WORK/pulled.bin"
  [ "$got" = "$BIG_DIGEST" ] || die "$side returned wrong bytes: $got"
  log "  ${NAME[$side]}: pulled bytes verified over the veth pair (sha256 matches); page cache now warm"
done
NETS=(lo); [ "$VETH" = 1 ] && NETS+=(veth)
for net in "${NETS[@]}"; do
  if [ "$net" = lo ]; then ns=$NS_SRV; host=127.0.0.1; else ns=$NS_CLI; host=$SRV_IP; fi
  log " $net ($host):"
  for r in $(seq "$ROUNDS"); do
    for side in $(rotate "$r" pier reg nginx); do
      quiet
      read -r s cpu < <(timed_pull "$side" "$ns" "http://$host:${URL[$side]##*:}$BLOB_PATH" "$BIG_BYTES")
      [ -n "${s:-}" ] || die "timed pull from $side failed"
      v=$(mbps "$BIG_BYTES" "$s")
      append "${side}_${net}_mbps" "$v"; append "${side}_${net}_cpu" "$cpu"
      log "  run $r $net ${NAME[$side]}: ${s}s  $v MB/s  server CPU $cpu ms/GiB"
    done
  done
done
alive "warm pulls"

# ---- (b) first pull after a push ----------------------------------------------------------
DROP_OK=0
if sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then DROP_OK=1; fi
if [ "$FIRST" = 1 ]; then
  section "(b) first pull after a push, loopback: fresh $PUSH_MIB MiB blob pushed, then pulled at once with curl; $ROUNDS rounds, order alternating"
  log "  before each push: sync; drop caches$([ "$DROP_OK" = 1 ] || echo " (NOT permitted)"); read the source back; wait for idle CPUs"
  SRC="$WORK/push.bin"
  head -c "$((PUSH_MIB * 1048576))" /dev/urandom >"$SRC"
  PUSH_BYTES=$(stat -c %s "$SRC")
  for r in $(seq "$ROUNDS"); do
    for side in $(rotate "$r" pier reg $([ "$NOWARM" = 1 ] && echo pier0)); do
      tag_file "$SRC" "pull-bench first $r $side"
      d=$(digest_of "$SRC")
      sync
      [ "$DROP_OK" = 1 ] && echo 3 >/proc/sys/vm/drop_caches
      cat "$SRC" >/dev/null
      quiet
      s=$("${IN_SRV[@]}" python3 "$LIB" push "${URL[$side]}" "$REPO_NAME" "$SRC" "$d") || { alive push; die "push to $side failed"; }
      read -r ps cpu < <(timed_pull "$side" "$NS_SRV" "${URL[$side]}/v2/$REPO_NAME/blobs/$d" "$PUSH_BYTES")
      [ -n "${ps:-}" ] || die "first pull from $side failed"
      pv=$(mbps "$PUSH_BYTES" "$s"); v=$(mbps "$PUSH_BYTES" "$ps")
      append "${side}_push_mbps" "$pv"; append "${side}_first_mbps" "$v"; append "${side}_first_cpu" "$cpu"
      log "  run $r ${NAME[$side]}: push ${s}s $pv MB/s; first pull ${ps}s $v MB/s, server CPU $cpu ms/GiB"
    done
  done
  alive "first pulls"
fi

# ---- table ---------------------------------------------------------------------------------
section "results (medians of $ROUNDS)"
python3 "$PLIB" table "$RESULTS" "$WORK/table.md"
log "busiest 1 s CPU sample just before a timed run: $MAX_BUSY%"

CMDLINE="bench/pull_bench.sh"
for a in "${ORIG_ARGS[@]}"; do CMDLINE+=" $(printf '%q' "$a")"; done
if [ "$WRITE_RESULTS" = 1 ]; then
  OUT="$HERE/RESULTS.md"
  SEC="$WORK/section.md"
  {
    echo "## Pulls measured as clients see them"
    echo
    echo "Produced by \`bench/pull_bench.sh --write-results\` (issue 10 §5); rerun to refresh."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- command: \`$CMDLINE\`"
    echo "- machine: $(nproc) CPUs ($CPU_MODEL), $MEM_GIB GiB RAM, kernel $(uname -r); data on $FS_LINE"
    echo "- servers: $PIER_VERSION (config \`$PIER_CONFIG\`); registry:2 $REG_VERSION (log level error, access log off); $NGINX_VERSION (1 worker, sendfile on, tcp_nopush on, access log off) serving Pier's own blob file"
    echo "- client: $(curl --version | head -1 | cut -d' ' -f1-2) \`-o /dev/null\`: it copies every byte into user space like any real client (containerd, docker, skopeo). Timed pulls: server pinned to CPU 0 (all threads), curl to CPU 1$([ "$PIN" = 1 ] || echo " (NOT: --no-pin)")."
    echo "- networks: loopback inside one network namespace, and a veth pair between two namespaces the bench creates ($SRV_IP/30 - $CLI_IP/30, mtu 1500)."
    echo "- method: $ROUNDS rounds, server order rotating per round, medians; server CPU = utime+stime delta from /proc/PID/stat (nginx: master + worker) per GiB pulled. First pull: fresh $PUSH_MIB MiB blob per round and server; before each push sync + drop caches + source re-read + idle wait, nothing between push and pull."
    echo "- noise: the machine's 2 CPUs are shared with other engineers' builds; the busiest 1 s CPU sample just before a timed run was $MAX_BUSY% (work that started during a run is not caught)."
    echo
    cat "$WORK/table.md"
    echo
    echo "Every run:"
    echo
    echo '```'
    grep -E '^(== [(]|  (run |WARNING)| (lo|veth) )' "$WORK/run.log" | sed 's#'"$WORK"'#$WORK#g'
    echo '```'
  } >"$SEC"
  python3 - "$OUT" "$SEC" <<'EOF'
import re, sys
out, sec = sys.argv[1], open(sys.argv[2]).read()
text = open(out).read() if __import__("os").path.exists(out) else ""
start = text.find("## Pulls measured as clients see them")
if start >= 0:
    m = re.compile(r"^## (?!#)", re.M).search(text, start + 3)
    text = text[:start] + sec + ("\n" + text[m.start():] if m else "")
else:
    m = re.compile(r"^## Replication: ", re.M).search(text)
    text = text[:m.start()] + sec + "\n" + text[m.start():] if m else text.rstrip("\n") + "\n\n" + sec
open(out, "w").write(text)
EOF
  log "wrote the section to $OUT"
fi
