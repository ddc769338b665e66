#!/usr/bin/env bash
# registry:2 vs Pier alone vs Pier as 3 replicas, all on the SAME real S3 (a
# throw-away Ceph radosgw, tests/integration/lib/rgw.sh) and, for the
# replicated Pier, one PostgreSQL (tests/integration/lib/postgres.sh);
# everything on loopback, measured with real clients, in one run.
#
# usage: bench/replicas_bench.sh PATH_TO_PIER [--size-mib N] [--runs R] [--write-results FILE]
#                                [--slowlink PATH] [--link-rate BYTES_PER_S] [--no-rocksdb]
#                                [--wrk-seconds N] [--wait-idle N] [--keep]
#
# Servers (columns), each with its own bucket on the one RGW:
#   reg   registry:2 (Debian docker-registry 2.8), storage driver s3, bucket reg2
#   pier  Pier, 1 process, blobs on S3 (bucket pier), records in its local
#         RocksDB: the column of bench/s3_bench.sh, kept for comparison
#         (--no-rocksdb leaves it out)
#   pg1   Pier, 1 replica: blobs on S3 (bucket pierpg1), records in
#         PostgreSQL (database pier)
#   pg3   Pier, 3 replicas on bucket pierpg3 and database pier3 (one
#         PostgreSQL server for both databases), behind nginx round-robin
#         (proxy_request_buffering off, proxy_buffering off,
#         client_max_body_size 0, Host passed through, HTTP/1.1 keep-alive to
#         the replicas); clients talk to nginx only
# Per run (R runs, default 1; the server order reverses from run to run), as
# bench/s3_bench.sh does:
#   (1) push: skopeo copy oci:DIR:v1 docker://HOST/bench/img:rR of an image of
#       4 layers x N/4 MiB random bytes (N default 1024 = 1 GiB), fresh per run
#   (2) pull: skopeo copy docker://HOST/bench/img:rR oci:FRESH_DIR:v1; every
#       blob then checked against the source (untimed)
#   (3) 16 concurrent skopeo pushes, distinct 16 MiB single-layer images,
#       aggregate = bytes / wall time
#   (4) manifest GET by tag: wrk -t2 -c16 -d10s on /v2/bench/img/manifests/r1
#       with the OCI manifest Accept header, after a 2 s warm-up
#   untimed bounds: one raw N MiB PUT and GET to/from the RGW, skopeo's own
#   oci: -> oci: copy of the push image.
# Then once, Pier 3 replicas only, "replica loss": a replication (Harbor API:
# registry, manual policy on bench/img tag r1, execution) of the run-1 image
# to a docker-registry behind slowlink --rate BYTES_PER_S (default 4000000),
# engine chunk_size_bytes 8 MiB; once a quarter of the image passed the link
# the leading replica is kill -9'ed. Figures: (a) seconds from the kill until
# another replica logs "this replica leads", (b) seconds from the kill until
# the execution is Succeed (and what the link alone needed for the bytes
# left), (c) bytes on the link vs the image (what was sent twice). The
# destination's copy is then pulled and every blob verified.
# Medians over the runs; MB = 10^6 bytes. --write-results FILE writes a
# markdown section (for bench/RESULTS.md).
# --wait-idle N: before each timed run wait up to N s (default 5) for idle CPUs.
# --keep: keep the work folder (/var/tmp/replicas-bench.*) and its logs.
# Needs root (rgw.sh, postgres.sh), ceph-mon ceph-osd radosgw ceph-common
# postgresql nginx skopeo docker-registry wrk, and slowlink (--slowlink, default
# the one built next to Pier: BUILD/bench/slowlink/slowlink). Every wait has a
# deadline; ~18 min at --size-mib 1024 --runs 2 on 2 busy CPUs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
S3LIB="$HERE/lib/s3bench.py"
LIB="$HERE/lib/benchlib.py"   # for lib/quiet.sh
RGW_SH="$ROOT/tests/integration/lib/rgw.sh"
PG_SH="$ROOT/tests/integration/lib/postgres.sh"
GEN="$ROOT/tests/integration/lib/make_oci_layout.py"

usage() { sed -n '2,48p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

PIER=""
SLOWLINK=""
SIZE_MIB=1024
LAYERS=4
RUNS=1
CONC_N=16
CONC_MIB=16
WRK_SECONDS=10
WRK_CONNS=16
WRK_THREADS=2
WAIT_IDLE=5
LINK_RATE=4000000
CHUNK=8388608
WITH_ROCKSDB=1
WRITE_RESULTS=""
KEEP=0
ORIG_ARGS=("$@")

while [ $# -gt 0 ]; do
  case "$1" in
    --size-mib) SIZE_MIB="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --write-results) WRITE_RESULTS="$2"; shift 2 ;;
    --slowlink) SLOWLINK="$2"; shift 2 ;;
    --link-rate) LINK_RATE="$2"; shift 2 ;;
    --no-rocksdb) WITH_ROCKSDB=0; shift ;;
    --wrk-seconds) WRK_SECONDS="$2"; shift 2 ;;
    --wait-idle) WAIT_IDLE="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) [ -z "$PIER" ] || { echo "extra argument $1" >&2; usage; }; PIER="$1"; shift ;;
  esac
done
[ -n "$PIER" ] || { echo "PATH_TO_PIER is required" >&2; usage; }
[ -x "$PIER" ] || { echo "not executable: $PIER" >&2; exit 2; }
PIER=$(cd "$(dirname "$PIER")" && pwd)/$(basename "$PIER")
SLOWLINK=${SLOWLINK:-$(dirname "$PIER")/../../bench/slowlink/slowlink}
[ -x "$SLOWLINK" ] || { echo "slowlink not found at $SLOWLINK (--slowlink PATH)" >&2; exit 2; }
SLOWLINK=$(cd "$(dirname "$SLOWLINK")" && pwd)/$(basename "$SLOWLINK")
[[ $SIZE_MIB =~ ^[0-9]+$ && $SIZE_MIB -ge $LAYERS ]] || { echo "--size-mib must be an integer >= $LAYERS" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs must be >= 1" >&2; exit 2; }
[[ $LINK_RATE =~ ^[1-9][0-9]*$ ]] || { echo "--link-rate must be a positive integer" >&2; exit 2; }
if [ -n "$WRITE_RESULTS" ]; then
  WRITE_RESULTS=$(cd "$(dirname "$WRITE_RESULTS")" && pwd)/$(basename "$WRITE_RESULTS")
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

log() { printf '%s\n' "$*"; }
section() { printf '\n== %s\n' "$*"; }
die() { printf 'replicas_bench: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
mbps() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s / 1e6 }'; }  # BYTES SECONDS
cpudiff() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { python3 "$S3LIB" median "$@"; }

[ "$(id -u)" -eq 0 ] || die "must run as root (rgw.sh, postgres.sh)"
for t in docker-registry skopeo wrk python3 radosgw ceph-osd ceph-mon curl "$NGINX"; do
  command -v "$t" >/dev/null || die "$t not found (apt-get install -y docker-registry skopeo wrk nginx postgresql radosgw ceph-osd ceph-mon ceph-common)"
done

SIDES="reg"
[ "$WITH_ROCKSDB" = 0 ] || SIDES+=" pier"
SIDES+=" pg1 pg3"
NSIDES=$(wc -w <<<"$SIDES")

# ---- work folder, cleanup (every process by its pid) -------------------------
# BlueStore opens its block file with O_DIRECT (not on tmpfs): /var/tmp.
WORK=$(mktemp -d /var/tmp/replicas-bench.XXXXXX)
# PostgreSQL runs as the postgres user: its folder must be reachable, WORK is 0700.
PG_DIR=$(mktemp -d /tmp/replicas-bench-pg.XXXXXX)
chmod 755 "$PG_DIR"
declare -A SRV=() BASE=() HOSTPORT=() NAME=()
EXTRA_PIDS=()   # nginx, the destination registry, slowlink
CONC_PIDS=()
stop_pid() {  # PID: TERM, up to 5 s, then KILL; reaped
  local p=$1
  kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 0; }
  kill -TERM "$p" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  return 0
}
cleanup() {
  local rc=$? p side
  set +e
  trap - EXIT INT TERM
  for p in "${CONC_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for side in "${!SRV[@]}"; do
    for p in ${SRV[$side]}; do stop_pid "$p"; done
  done
  for p in "${EXTRA_PIDS[@]}"; do stop_pid "$p"; done
  bash "$RGW_SH" stop "$WORK/rgw" >/dev/null 2>&1 || echo "replicas_bench: rgw.sh stop failed" >&2
  bash "$PG_SH" stop "$PG_DIR" >/dev/null 2>&1 || echo "replicas_bench: postgres.sh stop failed" >&2
  if [ "$KEEP" = 1 ]; then
    cp "$PG_DIR/postgres.log" "$WORK/postgres.log" 2>/dev/null
    echo "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  rm -rf "$PG_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

exec > >(tee "$WORK/run.log") 2>&1
RESULTS="$WORK/results.env"
: >"$RESULTS"
put() { echo "$1=$2" >>"$RESULTS"; }
source "$HERE/lib/quiet.sh"

# ---- RGW, PostgreSQL --------------------------------------------------------------
section "radosgw, PostgreSQL"
# Every push and concurrent run leaves its bytes in the cluster (RGW frees
# deleted objects only after its 2 h GC delay): size the sparse OSD file.
# registry:2 writes a layer above 32 MiB twice (parts, then UploadPartCopy).
OSD_GIB=$(( (2 * RUNS * (SIZE_MIB * (NSIDES + 1) + NSIDES * CONC_N * CONC_MIB) + RUNS * SIZE_MIB) / 1024 + 4 ))
AVAIL_MIB=$(df -P -m "$WORK" | awk 'NR==2 {print $4}')
NEED_MIB=$(( OSD_GIB * 1024 + (RUNS + 3) * (SIZE_MIB + CONC_N * CONC_MIB) * 2 ))
[ "$AVAIL_MIB" -gt "$NEED_MIB" ] || die "need about $NEED_MIB MiB free in $WORK, have $AVAIL_MIB"
t0=$(now)
RGW_OSD_SIZE_GIB=$OSD_GIB RGW_OWNER_PID=$$ bash "$RGW_SH" start "$WORK/rgw" >"$WORK/rgw-start.log" 2>&1 \
  || { cat "$WORK/rgw-start.log" >&2; die "radosgw did not start"; }
# shellcheck disable=SC1091
source "$WORK/rgw/env"
export S3_ACCESS_KEY=$RGW_ACCESS_KEY S3_SECRET_KEY=$RGW_SECRET_KEY
RGW_PIDS=$(cat "$WORK"/rgw/run/{rgw,osd,mon}.pid.own | tr '\n' ' ')
rgwcpu() { python3 "$S3LIB" cpu-secs $RGW_PIDS; }  # radosgw + ceph-osd + ceph-mon CPU seconds so far
RGW_VERSION=$(radosgw --version 2>&1 | head -1)
log "radosgw at $RGW_ENDPOINT ready in $(elapsed "$t0" "$(now)") s ($RGW_VERSION; 1 mon, 1 BlueStore OSD on a ${OSD_GIB} GiB sparse file under $WORK/rgw, size 1 pools)"
python3 "$S3LIB" make-bucket "$RGW_ENDPOINT" reg2
python3 "$S3LIB" make-bucket "$RGW_ENDPOINT" raw

t0=$(now)
bash "$PG_SH" start "$PG_DIR" >"$WORK/pg-start.log" 2>&1 || { cat "$WORK/pg-start.log" >&2; die "PostgreSQL did not start"; }
# shellcheck disable=SC1091
source "$PG_DIR/env"
# A second database for the 3 replicas, made by the role itself (CREATEDB);
# the password goes through the environment, never a command line.
PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=10 timeout 30 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
  -h 127.0.0.1 -p "$PG_PORT" -U pier -d pier -c 'CREATE DATABASE pier3' >/dev/null || die "CREATE DATABASE pier3 failed"
PG_VERSION=$("$PG_BIN/postgres" --version 2>&1 | head -1)
pgcpu() { python3 "$S3LIB" tree-cpu-secs "$PG_PID"; }  # postmaster + backends, reaped ones included
log "PostgreSQL at 127.0.0.1:$PG_PORT ready in $(elapsed "$t0" "$(now)") s ($PG_VERSION; fsync off as postgres.sh runs it); databases pier (pg1) and pier3 (pg3)"

# ---- servers ---------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
section "servers"
mkdir -p "$WORK/reg" "$WORK/pier" "$WORK/pg1" "$WORK/pg3" "$WORK/nginx"
printf '%s\n' "$RGW_SECRET_KEY" >"$WORK/s3-secret"
printf '%s\n' "$PG_PASSWORD" >"$WORK/db-password"
chmod 600 "$WORK/s3-secret" "$WORK/db-password"

port=$(free_port)
cat >"$WORK/reg/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  s3:
    accesskey: $RGW_ACCESS_KEY
    secretkey: $RGW_SECRET_KEY
    region: us-east-1
    regionendpoint: $RGW_ENDPOINT
    bucket: reg2
    secure: false
    v4auth: true
    rootdirectory: /
    chunksize: 10485760
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  redirect:
    disable: true
http:
  addr: 127.0.0.1:$port
  secret: replicas-bench-secret
EOF
# docker-registry's AWS SDK panics with AWS_CA_BUNDLE set, and REGISTRY_*
# would override its config: unset those (see bench/s3_bench.sh).
mapfile -t UNSET < <(env | sed -n 's/^\(\(AWS\|REGISTRY\)_[A-Za-z0-9_]*\)=.*/-u\n\1/p')
env "${UNSET[@]}" docker-registry serve "$WORK/reg/config.yml" >"$WORK/reg/server.log" 2>&1 &
SRV[reg]=$!
HOSTPORT[reg]="127.0.0.1:$port"
NAME[reg]="registry:2"

s3conf() {  # BUCKET: Pier's storage block
  echo "\"storage\": {\"type\": \"s3\", \"s3\": {\"endpoint\": \"$RGW_ENDPOINT\", \"region\": \"us-east-1\", \"bucket\": \"$1\", \"prefix\": \"\", \"path_style\": true, \"access_key\": \"$RGW_ACCESS_KEY\", \"secret_key_file\": \"$WORK/s3-secret\", \"redirect\": false}}"
}
pgconf() {  # DBNAME: Pier's metadata block
  echo "\"metadata\": {\"type\": \"postgres\", \"postgres\": {\"dsn\": \"host=127.0.0.1 port=$PG_PORT dbname=$1 user=pier\", \"password_file\": \"$WORK/db-password\"}}"
}
ENGINE='"replication": {"engine": {"chunk_size_bytes": '"$CHUNK"'}}'
echo "{$(s3conf pier), \"log\": {\"access\": false}}" >"$WORK/pier/config.json"
echo "{$(s3conf pierpg1), $(pgconf pier), $ENGINE, \"log\": {\"access\": false}}" >"$WORK/pg1/config.json"
echo "{$(s3conf pierpg3), $(pgconf pier3), $ENGINE, \"log\": {\"access\": false}}" >"$WORK/pg3/config.json"

start_pier() {  # SIDE NAME: one Pier process on a free port, waited for; sets P_PORT, P_PID
  local side=$1 name=$2
  P_PORT=$(free_port)
  "$PIER" serve --listen "127.0.0.1:$P_PORT" --data "$WORK/$side/data-$name" --config "$WORK/$side/config.json" \
    >"$WORK/$side/$name.log" 2>&1 &
  P_PID=$!
  SRV[$side]+="$P_PID "
  python3 "$S3LIB" wait-v2 "http://127.0.0.1:$P_PORT" "$P_PID" 60 \
    || { tail -20 "$WORK/$side/$name.log" >&2; die "$side $name did not start"; }
}
if [ "$WITH_ROCKSDB" = 1 ]; then
  start_pier pier server
  HOSTPORT[pier]="127.0.0.1:$P_PORT"
  NAME[pier]="pier (RocksDB)"
fi
start_pier pg1 server
HOSTPORT[pg1]="127.0.0.1:$P_PORT"
NAME[pg1]="pier 1 replica (PG)"
grep -q "metadata: postgres" "$WORK/pg1/server.log" || die "pg1 does not say its records are in PostgreSQL"
# The replicas one after the other (the first makes the bucket and the tables).
declare -a R_PORT=() R_PID=()
for i in 1 2 3; do
  start_pier pg3 "replica$i"
  R_PORT[$i]=$P_PORT; R_PID[$i]=$P_PID
done
NAME[pg3]="pier 3 replicas (PG, nginx)"

# nginx round-robin in front of the 3 (as tests/integration/replicas_test.sh,
# plus keep-alive connections to the replicas and one worker per CPU).
LB=$(free_port)
cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  log_format upstream '\$request_method \$upstream_addr \$status';
  access_log $WORK/nginx/upstream.log upstream buffer=256k flush=1s;
  upstream pier {
    server 127.0.0.1:${R_PORT[1]};
    server 127.0.0.1:${R_PORT[2]};
    server 127.0.0.1:${R_PORT[3]};
    keepalive 32;
  }
  server {
    listen 127.0.0.1:$LB;
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_http_version 1.1;
    location / {
      proxy_pass http://pier;
      proxy_set_header Host \$http_host;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout;
    }
  }
}
CONF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/nginx.log" 2>&1 &
NGINX_PID=$!
EXTRA_PIDS+=("$NGINX_PID")
HOSTPORT[pg3]="127.0.0.1:$LB"
for side in $SIDES; do
  BASE[$side]="http://${HOSTPORT[$side]}"
done
for side in reg pg3; do
  p=${SRV[$side]}; [ "$side" = pg3 ] && p=$NGINX_PID
  python3 "$S3LIB" wait-v2 "${BASE[$side]}" "$p" 30 || die "$side did not answer at ${BASE[$side]}"
done
REG_VERSION=$(docker-registry --version 2>&1 | head -1)
PIER_VERSION=$("$PIER" --version 2>&1 | head -1 || true)
NGINX_VERSION=$("$NGINX" -v 2>&1 | head -1)
log "registry:2 pid ${SRV[reg]} at ${BASE[reg]} ($REG_VERSION): s3 driver, bucket reg2, chunksize 10 MiB, redirect off, log level error, access log off"
[ "$WITH_ROCKSDB" = 0 ] || log "pier (RocksDB) pid ${SRV[pier]} at ${BASE[pier]} ($PIER_VERSION): storage s3 bucket pier, records in its RocksDB"
log "pier 1 replica pid ${SRV[pg1]} at ${BASE[pg1]}: storage s3 bucket pierpg1, metadata postgres database pier"
log "pier 3 replicas pids ${SRV[pg3]} on ports ${R_PORT[*]}, behind $NGINX_VERSION pid $NGINX_PID at ${BASE[pg3]}: bucket pierpg3, database pier3"
log "every Pier: access log off, replication chunk_size_bytes $CHUNK"

srvpids() {  # SIDE: the processes that serve it (pg3: the replicas and nginx with its workers)
  if [ "$1" = pg3 ]; then echo "${SRV[pg3]} $NGINX_PID $(cat /proc/"$NGINX_PID"/task/*/children 2>/dev/null)"; else echo "${SRV[$1]}"; fi
}
alive() {  # PHASE: fail loudly if a server died during PHASE
  local side p
  for side in $SIDES; do
    for p in $(srvpids "$side"); do
      if ! kill -0 "$p" 2>/dev/null; then
        tail -30 "$WORK/$side"/*.log >&2 || true
        die "$side (pid $p) died during $1"
      fi
    done
  done
}
# shellcheck disable=SC2046
srvcpu() { python3 "$S3LIB" cpu-secs $(srvpids "$1"); }
# A server's figures with what it cost: server CPU, PostgreSQL CPU, RGW CPU.
cost0() { C0=$(srvcpu "$1"); G0=$(rgwcpu); D0=$(pgcpu); }
cost() {
  local s="server CPU $(cpudiff "$C0" "$(srvcpu "$1")") s"
  case "$1" in pg1|pg3) s+=", PostgreSQL CPU $(cpudiff "$D0" "$(pgcpu)") s" ;; esac
  echo "$s, RGW CPU $(cpudiff "$G0" "$(rgwcpu)") s"
}
order() {  # RUN: alternate the order
  if [ $(( $1 % 2 )) = 1 ]; then echo "$SIDES"; else tr ' ' '\n' <<<"$SIDES" | tac | tr '\n' ' '; fi
}

POLICY="$WORK/policy.json"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$POLICY"
echo '{}' >"$WORK/auth.json"
skopeo_() {  # SECONDS ARGS...: skopeo with a deadline
  local t=$1; shift
  REGISTRY_AUTH_FILE="$WORK/auth.json" timeout "$t" skopeo --policy "$POLICY" "$@"
}
# Deadline of one copy of the big image: 300 s + 1 s per MiB (>= 1 MB/s).
T_COPY=$(( 300 + SIZE_MIB ))

# ---- test data (untimed) ------------------------------------------------------------
section "test data (untimed)"
LAYER_BYTES=$(( SIZE_MIB * 1048576 / LAYERS ))
t0=$(now)
mkdir -p "$WORK/img"
python3 "$GEN" "$WORK/img/warm" image --layers 1 --size 100000 --seed 7 >/dev/null
for r in $(seq "$RUNS"); do
  python3 "$GEN" "$WORK/img/push-$r" image --layers "$LAYERS" --size "$LAYER_BYTES" --seed $((1000 + r)) >/dev/null &
  for i in $(seq "$CONC_N"); do
    python3 "$GEN" "$WORK/img/conc-$r-$i" image --layers 1 --size $((CONC_MIB * 1048576)) --seed $((100000 + 100 * r + i)) >/dev/null
  done
  wait $! || die "generating the push image of run $r failed"
done
head -c "$((SIZE_MIB * 1048576))" /dev/urandom >"$WORK/img/raw.bin"
declare -A PUSH_BYTES=() CONC_BYTES=()
for r in $(seq "$RUNS"); do
  PUSH_BYTES[$r]=$(python3 "$S3LIB" layout-bytes "$WORK/img/push-$r" v1)
  CONC_BYTES[$r]=0
  for i in $(seq "$CONC_N"); do
    CONC_BYTES[$r]=$(( ${CONC_BYTES[$r]} + $(python3 "$S3LIB" layout-bytes "$WORK/img/conc-$r-$i" v1) ))
  done
done
log "per run: 1 image of $LAYERS layers x $((SIZE_MIB / LAYERS)) MiB random (gzip -1: ${PUSH_BYTES[1]} bytes with manifest and config), $CONC_N images of 1 x $CONC_MIB MiB (${CONC_BYTES[1]} bytes together), seeds differ per run; made in $(elapsed "$t0" "$(now)") s"
put size_mib "$SIZE_MIB"; put layers "$LAYERS"; put layer_mib "$((SIZE_MIB / LAYERS))"; put runs "$RUNS"
put conc_n "$CONC_N"; put conc_mib "$CONC_MIB"; put wrk_conns "$WRK_CONNS"; put wrk_seconds "$WRK_SECONDS"

for side in $SIDES; do
  skopeo_ 120 copy -q --dest-tls-verify=false "oci:$WORK/img/warm:v1" "docker://${HOSTPORT[$side]}/bench/warm:v1" \
    || { alive warm-up; die "warm-up push to $side failed"; }
  skopeo_ 120 copy -q --src-tls-verify=false "docker://${HOSTPORT[$side]}/bench/warm:v1" "oci:$WORK/warm-back-$side:v1" \
    || { alive warm-up; die "warm-up pull from $side failed"; }
  python3 "$S3LIB" verify-layout "$WORK/img/warm" "$WORK/warm-back-$side" v1
done
log "warm-up: a 100 kB image pushed to and pulled from each server, bytes verified"

# ---- per run: raw S3, client ceiling, push, pull -----------------------------------
section "(1) push and (2) pull with skopeo: $LAYERS x $((SIZE_MIB / LAYERS)) MiB image, fresh per run, median of $RUNS; 'server CPU' (pg3: the 3 replicas + nginx), 'PostgreSQL CPU' (postmaster + backends) and 'RGW CPU' (radosgw + ceph-osd + ceph-mon) are user+system seconds during the run"
declare -A PUSH=() PULL=()
RAWPUT=(); RAWGET=(); LOCAL=()
RAW_BYTES=$((SIZE_MIB * 1048576))
for r in $(seq "$RUNS"); do
  img="$WORK/img/push-$r"
  cat "$WORK/img/raw.bin" >/dev/null
  quiet
  s=$(python3 "$S3LIB" put-object "$RGW_ENDPOINT" raw "raw-$r" "$WORK/img/raw.bin")
  v=$(mbps "$RAW_BYTES" "$s"); RAWPUT+=("$v")
  s=$(python3 "$S3LIB" get-object "$RGW_ENDPOINT" raw "raw-$r" "$RAW_BYTES")
  g=$(mbps "$RAW_BYTES" "$s"); RAWGET+=("$g")
  cat "$img"/blobs/sha256/* >/dev/null
  quiet
  t0=$(now)
  skopeo_ "$T_COPY" copy -q "oci:$img:v1" "oci:$WORK/local-$r:v1" || die "local skopeo copy failed"
  l=$(mbps "${PUSH_BYTES[$r]}" "$(elapsed "$t0" "$(now)")"); LOCAL+=("$l")
  python3 "$S3LIB" verify-layout "$img" "$WORK/local-$r" v1
  rm -rf "$WORK/local-$r"
  log "  run $r raw RGW PUT of $SIZE_MIB MiB: $v MB/s, GET: $g MB/s; skopeo oci: -> oci: local copy: $l MB/s"
  for side in $(order "$r"); do
    ref="docker://${HOSTPORT[$side]}/bench/img:r$r"
    sync
    cat "$img"/blobs/sha256/* >/dev/null
    quiet
    cost0 "$side"; t0=$(now)
    skopeo_ "$T_COPY" copy -q --dest-tls-verify=false "oci:$img:v1" "$ref" || { alive push; die "push to $side failed"; }
    s=$(elapsed "$t0" "$(now)")
    v=$(mbps "${PUSH_BYTES[$r]}" "$s"); PUSH[$side]+="$v "
    log "  run $r ${NAME[$side]} push: ${s}s  $v MB/s  ($(cost "$side"))"
  done
  for side in $(order "$r"); do
    ref="docker://${HOSTPORT[$side]}/bench/img:r$r"
    dest="$WORK/pull-$side-$r"
    quiet
    cost0 "$side"; t0=$(now)
    skopeo_ "$T_COPY" copy -q --src-tls-verify=false "$ref" "oci:$dest:v1" || { alive pull; die "pull from $side failed"; }
    s=$(elapsed "$t0" "$(now)")
    v=$(mbps "${PUSH_BYTES[$r]}" "$s"); PULL[$side]+="$v "
    c=$(cost "$side")
    python3 "$S3LIB" verify-layout "$img" "$dest" v1 || die "$side: pulled image differs from what was pushed"
    rm -rf "$dest"
    log "  run $r ${NAME[$side]} pull: ${s}s  $v MB/s  ($c; every blob verified)"
  done
done
alive "push/pull"
for side in $SIDES; do
  # shellcheck disable=SC2086
  put "${side}_push_mbps" "$(median ${PUSH[$side]})"
  # shellcheck disable=SC2086
  put "${side}_pull_mbps" "$(median ${PULL[$side]})"
done
put raw_put_mbps "$(median "${RAWPUT[@]}")"
put raw_get_mbps "$(median "${RAWGET[@]}")"
put local_copy_mbps "$(median "${LOCAL[@]}")"
# Did the balancer spread the requests? (its log is flushed every second)
sleep 1.5
SPREAD=$(awk '$2 ~ /^127/ {n[$2]++} END {for (a in n) printf "%s %d requests, ", a, n[a]}' "$WORK/nginx/upstream.log" | sed 's/, $//')
log "  nginx sent the requests so far to: $SPREAD"

# ---- (3) concurrent pushes -------------------------------------------------------------
section "(3) $CONC_N concurrent skopeo pushes of distinct $CONC_MIB MiB single-layer images (aggregate = bytes / wall time; median of $RUNS)"
declare -A CONC=()
for r in $(seq "$RUNS"); do
  for side in $(order "$r"); do
    sync
    cat "$WORK"/img/conc-"$r"-*/blobs/sha256/* >/dev/null
    quiet
    cost0 "$side"; t0=$(now)
    CONC_PIDS=()
    for i in $(seq "$CONC_N"); do
      skopeo_ 300 copy -q --dest-tls-verify=false "oci:$WORK/img/conc-$r-$i:v1" \
        "docker://${HOSTPORT[$side]}/bench/conc-$i:r$r" >"$WORK/conc-$side-$r-$i.log" 2>&1 &
      CONC_PIDS+=($!)
    done
    failed=0
    for p in "${CONC_PIDS[@]}"; do wait "$p" || failed=$((failed + 1)); done
    CONC_PIDS=()
    s=$(elapsed "$t0" "$(now)")
    [ "$failed" = 0 ] || { cat "$WORK"/conc-"$side"-"$r"-*.log >&2; alive "concurrent push"; die "$failed of $CONC_N concurrent pushes to $side failed"; }
    v=$(mbps "${CONC_BYTES[$r]}" "$s"); CONC[$side]+="$v "
    log "  run $r ${NAME[$side]}: ${s}s  $v MB/s  ($(cost "$side"))"
  done
done
alive "concurrent push"
for side in $SIDES; do
  # shellcheck disable=SC2086
  put "${side}_conc_mbps" "$(median ${CONC[$side]})"
done

# ---- (4) manifest GETs ---------------------------------------------------------------------
ACCEPT='application/vnd.oci.image.manifest.v1+json'
section "(4) manifest GET by tag: wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECONDS}s --latency -H 'Accept: $ACCEPT' BASE/v2/bench/img/manifests/r1 (median of $RUNS, after a 2 s warm-up)"
WANT=$(python3 "$S3LIB" manifest-digest "${BASE[reg]}" bench/img r1 "$ACCEPT")
for side in $SIDES; do
  d=$(python3 "$S3LIB" manifest-digest "${BASE[$side]}" bench/img r1 "$ACCEPT") || die "manifest GET on $side failed"
  [ "$d" = "$WANT" ] || die "$side answers bench/img:r1 with $d, registry:2 with $WANT"
done
log "  all answer bench/img:r1 with the OCI manifest $WANT (Content-Type $ACCEPT)"
declare -A RPS=() P99=()
for side in $SIDES; do
  timeout 30 wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d2s -H "Accept: $ACCEPT" "${BASE[$side]}/v2/bench/img/manifests/r1" >/dev/null
done
for r in $(seq "$RUNS"); do
  for side in $(order "$r"); do
    out="$WORK/wrk-$side-$r.txt"
    quiet
    cost0 "$side"
    timeout $((WRK_SECONDS + 30)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECONDS}s" --latency -H "Accept: $ACCEPT" \
      "${BASE[$side]}/v2/bench/img/manifests/r1" >"$out"
    read -r rps p99 non2xx errs reqs < <(python3 "$LIB" parse-wrk "$out")
    RPS[$side]+="$rps "; P99[$side]+="$p99 "
    note=""
    [ "$non2xx" = 0 ] || note="  WARNING: $non2xx non-2xx responses"
    [ "$errs" = 0 ] || note="$note  WARNING: $errs socket errors"
    log "  run $r ${NAME[$side]}: $rps req/s, p99 $p99 ms ($reqs requests; $(cost "$side"))$note"
  done
done
alive "manifest GETs"
for side in $SIDES; do
  # shellcheck disable=SC2086
  put "${side}_rps" "$(median ${RPS[$side]})"
  # shellcheck disable=SC2086
  put "${side}_p99_ms" "$(median ${P99[$side]})"
done

# ---- (5) replica loss during a replication (pg3 only) --------------------------------------
IMG_BYTES=${PUSH_BYTES[1]}
KILL_AT=$(( IMG_BYTES / 4 ))
section "(5) replica loss, pier 3 replicas: replication of bench/img:r1 ($IMG_BYTES bytes) to a docker-registry behind slowlink --rate $LINK_RATE, chunk_size_bytes $CHUNK; kill -9 of the leader once $KILL_AT bytes passed the link"
DEST_PORT=$(free_port)
mkdir -p "$WORK/dest"
cat >"$WORK/dest/config.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $WORK/dest/data}
  delete: {enabled: true}
http: {addr: 127.0.0.1:$DEST_PORT, secret: replicas-bench-dest}
EOF
env "${UNSET[@]}" docker-registry serve "$WORK/dest/config.yml" >"$WORK/dest/server.log" 2>&1 &
DEST_PID=$!
EXTRA_PIDS+=("$DEST_PID")
python3 "$S3LIB" wait-v2 "http://127.0.0.1:$DEST_PORT" "$DEST_PID" 30 || die "the destination registry did not start"
"$SLOWLINK" --listen 127.0.0.1:0 --target "127.0.0.1:$DEST_PORT" --rate "$LINK_RATE" --stats-file "$WORK/link.json" \
  >"$WORK/link.out" 2>"$WORK/link.log" &
LINK_PID=$!
EXTRA_PIDS+=("$LINK_PID")
deadline=$((SECONDS + 10))
until grep -q '^listening ' "$WORK/link.out" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || die "slowlink did not start"
  sleep 0.05
done
LINK_ADDR=$(awk '/^listening /{print $2; exit}' "$WORK/link.out")
linkbytes() { python3 "$S3LIB" link-stat "$WORK/link.json" "$LINK_PID" bytes_up; }
API="${BASE[pg3]}/api/v2.0"
api() {  # METHOD PATH [curl args...]: through nginx, fails on HTTP errors, prints the body
  local m=$1 p=$2; shift 2
  curl -sS -f --max-time 30 -X "$m" -H 'Content-Type: application/json' "$@" "$API$p"
}
json_get() { python3 -c "import json,sys;j=json.load(sys.stdin);print($1)"; }
api POST /registries -d "{\"name\":\"dest\",\"type\":\"docker-registry\",\"url\":\"http://$LINK_ADDR\"}" >/dev/null
rid=$(api GET "/registries?name=dest" | json_get 'j[0]["id"]')
api POST /replication/policies -d "{\"name\":\"to-dest\",\"dest_registry\":{\"id\":$rid},\"dest_namespace\":\"\",
  \"trigger\":{\"type\":\"manual\"},\"filters\":[{\"type\":\"name\",\"value\":\"bench/img\"},{\"type\":\"tag\",\"value\":\"r1\"}]}" >/dev/null
policy=$(api GET "/replication/policies?name=to-dest" | json_get 'j[0]["id"]')
leader=""
for i in 1 2 3; do grep -q "this replica leads" "$WORK/pg3/replica$i.log" && leader="$leader$i"; done
[ ${#leader} = 1 ] || die "want exactly one leading replica, the logs say '${leader}'"
log "  replica $leader leads (pid ${R_PID[$leader]}); the execution is started through nginx"
loc=$(curl -sS -f --max-time 30 -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"policy_id\":$policy}" \
      "$API/replication/executions" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
exec_id=${loc##*/}
[ -n "$exec_id" ] || die "no execution started"
t_start=$(now)
deadline=$((SECONDS + KILL_AT / LINK_RATE * 3 + 120))
while :; do
  b=$(linkbytes)
  [ "$b" -lt "$KILL_AT" ] || break
  [ $SECONDS -lt $deadline ] || die "the leader did not send $KILL_AT bytes in time (sent $b)"
  sleep 0.2
done
declare -a LEADS=()
for i in 1 2 3; do LEADS[$i]=$(grep -c "this replica leads" "$WORK/pg3/replica$i.log" || true); done
kill -KILL "${R_PID[$leader]}"
t_kill=$(now)
wait "${R_PID[$leader]}" 2>/dev/null || true
SRV[pg3]=$(tr ' ' '\n' <<<"${SRV[pg3]}" | grep -vx "${R_PID[$leader]}" | tr '\n' ' ')
at_kill=$(linkbytes)
log "  leader killed $(elapsed "$t_start" "$t_kill") s after the start, $at_kill bytes on the link by then"
watch=()
for i in 1 2 3; do [ "$i" = "$leader" ] || watch+=("$WORK/pg3/replica$i.log:${LEADS[$i]}"); done
read -r new_log t_lead < <(python3 "$S3LIB" wait-new-line 60 "this replica leads" "${watch[@]}") || die "no other replica took the lead within 60 s"
new_leader=${new_log##*replica}; new_leader=${new_leader%.log}
T_LEAD=$(elapsed "$t_kill" "$t_lead")
log "  (a) replica $new_leader leads ${T_LEAD} s after the kill"
status=$(python3 "$S3LIB" wait-execution "${BASE[pg3]}" "$exec_id" $(( (IMG_BYTES - at_kill) / LINK_RATE * 3 + 180 )))
t_done=$(now)
T_DONE=$(elapsed "$t_kill" "$t_done")
[ "$status" = Succeed ] || die "the execution ended $status after the leader was killed"
grep -q "resuming replication execution" "$WORK/pg3/replica$new_leader.log" || die "replica $new_leader did not log resuming the execution"
sent=$(linkbytes)
T_LINK=$(awk -v a="$IMG_BYTES" -v b="$at_kill" -v r="$LINK_RATE" 'BEGIN { printf "%.1f", (a - b) / r }')
RESENT=$(( sent - IMG_BYTES ))
# What the link needed after the kill for everything it carried then (the
# bytes left plus those sent again): the floor of (b) once a leader runs.
T_LINK_ALL=$(awk -v s="$sent" -v b="$at_kill" -v r="$LINK_RATE" 'BEGIN { printf "%.1f", (s - b) / r }')
T_LEAD=$(printf '%.1f' "$T_LEAD"); T_DONE=$(printf '%.1f' "$T_DONE")
log "  (b) execution $exec_id Succeed ${T_DONE} s after the kill ($(elapsed "$t_start" "$t_done") s after its start); the $((IMG_BYTES - at_kill)) bytes left at the kill need ${T_LINK} s on the link alone, the $((sent - at_kill)) it carried after the kill (resent bytes included) ${T_LINK_ALL} s"
log "  (c) $sent bytes on the link for a $IMG_BYTES-byte image: $RESENT bytes more ($(awk -v a="$RESENT" -v c="$CHUNK" 'BEGIN { printf "%.2f", a / c }') chunks of $CHUNK; HTTP headers included)"
skopeo_ "$T_COPY" copy -q --src-tls-verify=false "docker://127.0.0.1:$DEST_PORT/bench/img:r1" "oci:$WORK/dest-back:v1" \
  || die "pulling the replicated image from the destination failed"
python3 "$S3LIB" verify-layout "$WORK/img/push-1" "$WORK/dest-back" v1 || die "the destination's image differs from the pushed one"
rm -rf "$WORK/dest-back"
log "  the destination's bench/img:r1 pulled back: every blob verified"
put loss_image_bytes "$IMG_BYTES"; put loss_at_kill "$at_kill"; put loss_lead_s "$T_LEAD"; put loss_done_s "$T_DONE"
put loss_link_s "$T_LINK"; put loss_link_all_s "$T_LINK_ALL"; put loss_sent "$sent"; put loss_resent "$RESENT"
skopeo_ 120 copy -q --src-tls-verify=false "docker://${HOSTPORT[pg3]}/bench/warm:v1" "oci:$WORK/warm-after:v1" \
  || die "pull through nginx failed after the kill"
python3 "$S3LIB" verify-layout "$WORK/img/warm" "$WORK/warm-after" v1
log "  after the kill, a pull through nginx (2 replicas left) still works"
put max_busy "$MAX_BUSY"

# ---- table ---------------------------------------------------------------------------------------
CPU_MODEL=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
MEM_GIB=$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)
FS_LINE=$(df -T -P "$WORK" | awk 'NR==2 {print $2 " on " $1}')
section "results (medians of $RUNS runs)"
log "machine: nproc $(nproc) ($CPU_MODEL), $MEM_GIB GiB RAM, kernel $(uname -r); RGW: $RGW_VERSION, OSD on $FS_LINE; $PG_VERSION"
log "skopeo: $(skopeo --version 2>&1 | head -1); wrk: $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2); $NGINX_VERSION"
COLS=()
for side in $SIDES; do COLS+=("$side=${NAME[$side]}"); done
python3 "$S3LIB" table-sides "$RESULTS" "$WORK/table.md" "${COLS[@]}"
{
  echo
  echo "Replica loss (pier 3 replicas; one replication of the run-1 image, $IMG_BYTES bytes, over slowlink --rate $LINK_RATE, chunk_size_bytes $CHUNK; the leader kill -9'ed once $at_kill bytes had passed the link):"
  echo
  echo "| figure | value |"
  echo "|---|---|"
  echo "| (a) kill -9 of the leader -> another replica logs \"this replica leads\" | ${T_LEAD} s |"
  echo "| (b) kill -9 -> execution Succeed | ${T_DONE} s (the link alone needs ${T_LINK} s for the bytes left at the kill, ${T_LINK_ALL} s for all it carried after the kill) |"
  echo "| (c) bytes on the link / image bytes | $sent / $IMG_BYTES = $(awk -v a="$sent" -v b="$IMG_BYTES" 'BEGIN { printf "%.4f", a / b }') ($RESENT bytes more, HTTP included) |"
} | tee -a "$WORK/table.md"

CMDLINE="bench/replicas_bench.sh"
for a in "${ORIG_ARGS[@]}"; do CMDLINE+=" $(printf '%q' "$a")"; done
if [ -n "$WRITE_RESULTS" ]; then
  {
    echo "## Pier 1 and 3 replicas (S3 + PostgreSQL) vs registry:2 on the same S3, and a replica loss"
    echo
    echo "Produced by \`bench/replicas_bench.sh --write-results FILE\`; rerun to refresh."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- command: \`$CMDLINE\`"
    echo "- machine: nproc $(nproc) ($CPU_MODEL), $MEM_GIB GiB RAM, kernel $(uname -r); clients, servers, nginx, PostgreSQL and the whole Ceph cluster share these CPUs"
    echo "- S3: $RGW_VERSION, \`tests/integration/lib/rgw.sh\`: 1 mon, 1 BlueStore OSD on a ${OSD_GIB} GiB sparse file ($FS_LINE), pools of size 1; one bucket per server"
    echo "- PostgreSQL: $PG_VERSION, \`tests/integration/lib/postgres.sh\` (fsync off, synchronous_commit off); database pier for pier 1 replica, pier3 for the 3 replicas"
    echo "- registry:2: $REG_VERSION, as in bench/s3_bench.sh (s3 driver, chunksize 10 MiB, redirect off, inmemory blob descriptor cache, log level error, access log off)"
    echo "- pier: $PIER_VERSION, storage s3 (path style, redirect off), access log off, replication chunk_size_bytes $CHUNK. $( [ "$WITH_ROCKSDB" = 1 ] && echo 'pier (RocksDB): records in its local RocksDB (the column of bench/s3_bench.sh); ')pier 1 replica (PG): \`\"metadata\": {\"type\": \"postgres\"}\`; pier 3 replicas: 3 processes with the same config (own --data each), one bucket and one database, behind $NGINX_VERSION round-robin (worker_processes auto, proxy_request_buffering off, proxy_buffering off, client_max_body_size 0, Host passed through, HTTP/1.1 keepalive 32 to the replicas); clients talk to nginx only"
    echo "- clients: $(skopeo --version 2>&1 | head -1); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
    echo "- method: as bench/s3_bench.sh: $RUNS run(s), server order reversed from run to run, medians; one fresh image of $LAYERS layers x $((SIZE_MIB / LAYERS)) MiB random per run pushed then pulled (every blob verified); $CONC_N parallel pushes of distinct $CONC_MIB MiB images; wrk ${WRK_SECONDS} s on the manifest by tag. 'server CPU' of the 3 replicas includes nginx. Busiest 1 s CPU sample before a timed run: ${MAX_BUSY}%. Then the replica loss (pier 3 replicas only): a manual replication policy (Harbor API through nginx: POST /api/v2.0/registries, /replication/policies, /replication/executions) of bench/img:r1 to a docker-registry (filesystem) behind \`slowlink --rate $LINK_RATE\`; once a quarter of the image passed the link the leading replica is kill -9'ed; (a) from the kill until another replica's log says \"this replica leads\" (polled every 50 ms), (b) until GET /replication/executions/ID says Succeed (polled every 200 ms), (c) slowlink's bytes_up. The image at the destination is pulled back and verified."
    echo
    cat "$WORK/table.md"
    echo
    echo "Every run (the table holds the medians):"
    echo
    echo '```'
    grep -E '^(== [(]|  (run |all answer|nginx sent|WARNING|replica |leader |\([abc]\)|the destination|after the kill))' "$WORK/run.log" | sed 's#'"$WORK"'#$WORK#g'
    echo '```'
  } >"$WRITE_RESULTS"
  log ""
  log "wrote $WRITE_RESULTS"
fi
