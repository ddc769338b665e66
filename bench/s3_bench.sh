#!/usr/bin/env bash
# Pier vs registry:2 (Debian `docker-registry`, distribution 2.8) on the SAME
# real S3: a throw-away Ceph radosgw started here (tests/integration/lib/rgw.sh),
# everything on loopback, measured with real clients.
#
# usage: bench/s3_bench.sh PATH_TO_PIER [--size-mib N] [--runs R] [--write-results FILE]
#                          [--wrk-seconds N] [--wait-idle N] [--keep]
#
#   registry:2: storage driver `s3` (regionendpoint = the RGW, bucket reg2)
#   pier:       storage.type "s3" (endpoint = the RGW, bucket pier, path style)
# Each server keeps its blob bytes in its own bucket of the same RGW.
# Per run (R runs, default 3; the server order alternates from run to run):
#   (1) push: skopeo copy oci:DIR:v1 docker://HOST/bench/img:rR of an image of
#       4 layers x N/4 MiB random bytes (N default 256), fresh content per run
#   (2) pull: skopeo copy docker://HOST/bench/img:rR oci:FRESH_DIR:v1; every
#       blob then checked against the source (untimed)
#   (3) 16 concurrent skopeo pushes, distinct 16 MiB single-layer images,
#       aggregate = bytes / wall time
#   (4) manifest GET by tag: wrk -t2 -c16 -d10s on /v2/bench/img/manifests/r1
#       with the OCI manifest Accept header, after a 2 s warm-up
# plus what bounds them, once per run, untimed against the servers:
#   a raw PUT and GET of one N MiB object to/from the RGW (1 stream, SigV4
#   signed by bench/lib/s3bench.py), and skopeo's own oci: -> oci: copy of the
#   push image (the client's ceiling on this machine).
# Medians over the runs; MB = 10^6 bytes. --write-results FILE writes a
# markdown section (for bench/RESULTS.md) to FILE.
# --wait-idle N: before each timed run wait up to N s (default 5) for the CPUs
#   to be <= 10% busy (the RGW's own background work included).
# --keep: keep the work folder (/var/tmp/s3-bench.*) and its logs.
# Needs root (rgw.sh), and ceph-mon ceph-osd radosgw ceph-common skopeo
# docker-registry wrk. Bounded: every wait has a deadline; ~5-6 min at defaults.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
S3LIB="$HERE/lib/s3bench.py"
LIB="$HERE/lib/benchlib.py"   # for lib/quiet.sh
RGW_SH="$ROOT/tests/integration/lib/rgw.sh"
GEN="$ROOT/tests/integration/lib/make_oci_layout.py"

usage() { sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

PIER=""
SIZE_MIB=256
LAYERS=4
RUNS=3
CONC_N=16
CONC_MIB=16
WRK_SECONDS=10
WRK_CONNS=16
WRK_THREADS=2
WAIT_IDLE=5
WRITE_RESULTS=""
KEEP=0
ORIG_ARGS=("$@")

while [ $# -gt 0 ]; do
  case "$1" in
    --size-mib) SIZE_MIB="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --write-results) WRITE_RESULTS="$2"; shift 2 ;;
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
[[ $SIZE_MIB =~ ^[0-9]+$ && $SIZE_MIB -ge $LAYERS ]] || { echo "--size-mib must be an integer >= $LAYERS" >&2; exit 2; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs must be >= 1" >&2; exit 2; }
if [ -n "$WRITE_RESULTS" ]; then
  WRITE_RESULTS=$(cd "$(dirname "$WRITE_RESULTS")" && pwd)/$(basename "$WRITE_RESULTS")
fi

log() { printf '%s\n' "$*"; }
section() { printf '\n== %s\n' "$*"; }
die() { printf 's3_bench: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
mbps() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s / 1e6 }'; }  # BYTES SECONDS
cpudiff() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { python3 "$S3LIB" median "$@"; }

[ "$(id -u)" -eq 0 ] || die "must run as root (the radosgw cluster of rgw.sh)"
for t in docker-registry skopeo wrk python3 radosgw ceph-osd ceph-mon curl; do
  command -v "$t" >/dev/null || die "$t not found (apt-get install -y docker-registry skopeo wrk radosgw ceph-osd ceph-mon ceph-common)"
done

# ---- work folder, cleanup (every process by its pid) -------------------------
# BlueStore opens its block file with O_DIRECT (not on tmpfs): /var/tmp.
WORK=$(mktemp -d /var/tmp/s3-bench.XXXXXX)
declare -A PID=() BASE=() PORT=()
CONC_PIDS=()
cleanup() {
  local rc=$? p side
  trap - EXIT INT TERM
  for p in "${CONC_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for side in "${!PID[@]}"; do
    p="${PID[$side]}"
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    fi
  done
  bash "$RGW_SH" stop "$WORK/rgw" >/dev/null 2>&1 || echo "s3_bench: rgw.sh stop failed" >&2
  if [ "$KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
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

# ---- RGW -----------------------------------------------------------------------
section "radosgw"
# Every push run and concurrent run leaves its bytes in the cluster (and RGW
# frees deleted objects only after its 2 h GC delay): size the sparse OSD file.
OSD_GIB=$(( (2 * RUNS * (SIZE_MIB * 3 + CONC_N * CONC_MIB) + RUNS * SIZE_MIB) / 1024 + 4 ))
AVAIL_MIB=$(df -P -m "$WORK" | awk 'NR==2 {print $4}')
NEED_MIB=$(( OSD_GIB * 1024 + (RUNS + 1) * (SIZE_MIB + CONC_N * CONC_MIB) * 2 ))
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
log "buckets: reg2 (registry:2, made here beforehand), raw (raw PUT/GET); pier makes its own bucket 'pier'"

# ---- servers ---------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
section "servers"
mkdir -p "$WORK/reg" "$WORK/pier/data"
PORT[reg]=$(free_port)
# distribution 2.8's s3-aws driver: regionendpoint makes it use path-style
# URLs (it has no `forcepathstyle` option); chunksize = its multipart part
# size (default 10 MiB, spelled out); redirect off so pulls go through it.
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
  addr: 127.0.0.1:${PORT[reg]}
  secret: s3-bench-secret
EOF
# The AWS SDK in docker-registry panics at start ("LoadCustomCABundleError:
# unable to load custom CA bundle, HTTPClient's transport unsupported type")
# when AWS_CA_BUNDLE is set in the environment: unset it (and the other AWS_
# variables, so only the config file speaks). REGISTRY_* would override the
# config: unset those too.
mapfile -t UNSET < <(env | sed -n 's/^\(\(AWS\|REGISTRY\)_[A-Za-z0-9_]*\)=.*/-u\n\1/p')
env "${UNSET[@]}" docker-registry serve "$WORK/reg/config.yml" >"$WORK/reg/server.log" 2>&1 &
PID[reg]=$!
BASE[reg]="http://127.0.0.1:${PORT[reg]}"

PORT[pier]=$(free_port)
printf '%s\n' "$RGW_SECRET_KEY" >"$WORK/pier/s3-secret"
chmod 600 "$WORK/pier/s3-secret"
PIER_CONFIG="{\"storage\": {\"type\": \"s3\", \"s3\": {\"endpoint\": \"$RGW_ENDPOINT\", \"region\": \"us-east-1\", \"bucket\": \"pier\", \"prefix\": \"\", \"path_style\": true, \"access_key\": \"$RGW_ACCESS_KEY\", \"secret_key_file\": \"$WORK/pier/s3-secret\"}}, \"log\": {\"access\": false}}"
echo "$PIER_CONFIG" >"$WORK/pier/config.json"
"$PIER" serve --listen "127.0.0.1:${PORT[pier]}" --data "$WORK/pier/data" --config "$WORK/pier/config.json" \
  >"$WORK/pier/server.log" 2>&1 &
PID[pier]=$!
BASE[pier]="http://127.0.0.1:${PORT[pier]}"
for side in reg pier; do
  python3 "$S3LIB" wait-v2 "${BASE[$side]}" "${PID[$side]}" 30 \
    || { tail -20 "$WORK/$side/server.log" >&2; die "$side did not start"; }
done
REG_VERSION=$(docker-registry --version 2>&1 | head -1)
PIER_VERSION=$("$PIER" --version 2>&1 | head -1 || true)
NAME_reg="registry:2"
NAME_pier="pier"
log "registry:2 pid ${PID[reg]} at ${BASE[reg]} ($REG_VERSION): s3 driver, bucket reg2, chunksize 10 MiB, redirect off, log level error, access log off"
log "pier       pid ${PID[pier]} at ${BASE[pier]} ($PIER_VERSION): storage s3, bucket pier, path style, access log off"

alive() {  # PHASE: fail loudly if a server died during PHASE
  local side
  for side in reg pier; do
    if ! kill -0 "${PID[$side]}" 2>/dev/null; then
      tail -30 "$WORK/$side/server.log" >&2 || true
      die "$side (pid ${PID[$side]}) died during $1"
    fi
  done
}
srvcpu() { python3 "$S3LIB" cpu-secs "${PID[$1]}"; }
order() { if [ $(( $1 % 2 )) = 1 ]; then echo "reg pier"; else echo "pier reg"; fi; }

POLICY="$WORK/policy.json"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$POLICY"
# No credentials, no ~/.docker or containers auth file in the way.
echo '{}' >"$WORK/auth.json"
# skopeo_ SECONDS ARGS...: skopeo with a deadline.
skopeo_() {
  local t=$1; shift
  REGISTRY_AUTH_FILE="$WORK/auth.json" timeout "$t" skopeo --policy "$POLICY" "$@"
}

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

# Untimed warm-up: one small push and pull per server (first connections to
# the RGW, lazy set-up).
for side in reg pier; do
  skopeo_ 120 copy -q --dest-tls-verify=false "oci:$WORK/img/warm:v1" "docker://127.0.0.1:${PORT[$side]}/bench/warm:v1" \
    || { alive warm-up; die "warm-up push to $side failed"; }
  skopeo_ 120 copy -q --src-tls-verify=false "docker://127.0.0.1:${PORT[$side]}/bench/warm:v1" "oci:$WORK/warm-back-$side:v1" \
    || { alive warm-up; die "warm-up pull from $side failed"; }
  python3 "$S3LIB" verify-layout "$WORK/img/warm" "$WORK/warm-back-$side" v1
done
log "warm-up: a 100 kB image pushed to and pulled from each server, bytes verified"

# ---- per run: raw S3, client ceiling, push, pull -----------------------------------
section "(1) push and (2) pull with skopeo: $LAYERS x $((SIZE_MIB / LAYERS)) MiB image, fresh per run, median of $RUNS; 'server CPU' and 'RGW CPU' (radosgw + ceph-osd + ceph-mon) are user+system seconds during the run"
declare -A PUSH=() PULL=()
RAWPUT=(); RAWGET=(); LOCAL=()
RAW_BYTES=$((SIZE_MIB * 1048576))
for r in $(seq "$RUNS"); do
  img="$WORK/img/push-$r"
  # What bounds the figures: the RGW with one plain client, and skopeo alone.
  cat "$WORK/img/raw.bin" >/dev/null
  quiet
  s=$(python3 "$S3LIB" put-object "$RGW_ENDPOINT" raw "raw-$r" "$WORK/img/raw.bin")
  v=$(mbps "$RAW_BYTES" "$s"); RAWPUT+=("$v")
  s=$(python3 "$S3LIB" get-object "$RGW_ENDPOINT" raw "raw-$r" "$RAW_BYTES")
  g=$(mbps "$RAW_BYTES" "$s"); RAWGET+=("$g")
  cat "$img"/blobs/sha256/* >/dev/null
  quiet
  t0=$(now)
  skopeo_ 300 copy -q "oci:$img:v1" "oci:$WORK/local-$r:v1" || die "local skopeo copy failed"
  l=$(mbps "${PUSH_BYTES[$r]}" "$(elapsed "$t0" "$(now)")"); LOCAL+=("$l")
  python3 "$S3LIB" verify-layout "$img" "$WORK/local-$r" v1
  rm -rf "$WORK/local-$r"
  log "  run $r raw RGW PUT of $SIZE_MIB MiB: $v MB/s, GET: $g MB/s; skopeo oci: -> oci: local copy: $l MB/s"
  for side in $(order "$r"); do
    name=$(eval echo \$NAME_$side)
    ref="docker://127.0.0.1:${PORT[$side]}/bench/img:r$r"
    sync
    cat "$img"/blobs/sha256/* >/dev/null
    quiet
    c0=$(srvcpu "$side"); g0=$(rgwcpu); t0=$(now)
    skopeo_ 300 copy -q --dest-tls-verify=false "oci:$img:v1" "$ref" || { alive push; die "push to $side failed"; }
    s=$(elapsed "$t0" "$(now)")
    v=$(mbps "${PUSH_BYTES[$r]}" "$s"); PUSH[$side]+="$v "
    log "  run $r $name push: ${s}s  $v MB/s  (server CPU $(cpudiff "$c0" "$(srvcpu "$side")") s, RGW CPU $(cpudiff "$g0" "$(rgwcpu)") s)"
  done
  for side in $(order "$r"); do
    name=$(eval echo \$NAME_$side)
    ref="docker://127.0.0.1:${PORT[$side]}/bench/img:r$r"
    dest="$WORK/pull-$side-$r"
    quiet
    c0=$(srvcpu "$side"); g0=$(rgwcpu); t0=$(now)
    skopeo_ 300 copy -q --src-tls-verify=false "$ref" "oci:$dest:v1" || { alive pull; die "pull from $side failed"; }
    s=$(elapsed "$t0" "$(now)")
    v=$(mbps "${PUSH_BYTES[$r]}" "$s"); PULL[$side]+="$v "
    python3 "$S3LIB" verify-layout "$img" "$dest" v1 || die "$side: pulled image differs from what was pushed"
    rm -rf "$dest"
    log "  run $r $name pull: ${s}s  $v MB/s  (server CPU $(cpudiff "$c0" "$(srvcpu "$side")") s, RGW CPU $(cpudiff "$g0" "$(rgwcpu)") s; every blob verified)"
  done
done
alive "push/pull"
for side in reg pier; do
  # shellcheck disable=SC2086
  put "${side}_push_mbps" "$(median ${PUSH[$side]})"
  # shellcheck disable=SC2086
  put "${side}_pull_mbps" "$(median ${PULL[$side]})"
done
put raw_put_mbps "$(median "${RAWPUT[@]}")"
put raw_get_mbps "$(median "${RAWGET[@]}")"
put local_copy_mbps "$(median "${LOCAL[@]}")"

# ---- (3) concurrent pushes -------------------------------------------------------------
section "(3) $CONC_N concurrent skopeo pushes of distinct $CONC_MIB MiB single-layer images (aggregate = bytes / wall time; median of $RUNS)"
declare -A CONC=()
for r in $(seq "$RUNS"); do
  for side in $(order "$r"); do
    name=$(eval echo \$NAME_$side)
    sync
    cat "$WORK"/img/conc-"$r"-*/blobs/sha256/* >/dev/null
    quiet
    c0=$(srvcpu "$side"); g0=$(rgwcpu); t0=$(now)
    CONC_PIDS=()
    for i in $(seq "$CONC_N"); do
      skopeo_ 300 copy -q --dest-tls-verify=false "oci:$WORK/img/conc-$r-$i:v1" \
        "docker://127.0.0.1:${PORT[$side]}/bench/conc-$i:r$r" >"$WORK/conc-$side-$r-$i.log" 2>&1 &
      CONC_PIDS+=($!)
    done
    failed=0
    for p in "${CONC_PIDS[@]}"; do wait "$p" || failed=$((failed + 1)); done
    CONC_PIDS=()
    s=$(elapsed "$t0" "$(now)")
    [ "$failed" = 0 ] || { cat "$WORK"/conc-"$side"-"$r"-*.log >&2; alive "concurrent push"; die "$failed of $CONC_N concurrent pushes to $side failed"; }
    v=$(mbps "${CONC_BYTES[$r]}" "$s"); CONC[$side]+="$v "
    log "  run $r $name: ${s}s  $v MB/s  (server CPU $(cpudiff "$c0" "$(srvcpu "$side")") s, RGW CPU $(cpudiff "$g0" "$(rgwcpu)") s)"
  done
done
alive "concurrent push"
for side in reg pier; do
  # shellcheck disable=SC2086
  put "${side}_conc_mbps" "$(median ${CONC[$side]})"
done

# ---- (4) manifest GETs ---------------------------------------------------------------------
ACCEPT='application/vnd.oci.image.manifest.v1+json'
section "(4) manifest GET by tag: wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECONDS}s --latency -H 'Accept: $ACCEPT' BASE/v2/bench/img/manifests/r1 (median of $RUNS, after a 2 s warm-up)"
WANT=$(python3 "$S3LIB" manifest-digest "${BASE[pier]}" bench/img r1 "$ACCEPT")
for side in reg pier; do
  d=$(python3 "$S3LIB" manifest-digest "${BASE[$side]}" bench/img r1 "$ACCEPT") || die "manifest GET on $side failed"
  [ "$d" = "$WANT" ] || die "$side answers bench/img:r1 with $d, pier with $WANT"
done
log "  both answer bench/img:r1 with the OCI manifest $WANT (Content-Type $ACCEPT)"
declare -A RPS=() P99=()
for side in reg pier; do
  timeout 30 wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d2s -H "Accept: $ACCEPT" "${BASE[$side]}/v2/bench/img/manifests/r1" >/dev/null
done
for r in $(seq "$RUNS"); do
  for side in $(order "$r"); do
    name=$(eval echo \$NAME_$side)
    out="$WORK/wrk-$side-$r.txt"
    quiet
    c0=$(srvcpu "$side"); g0=$(rgwcpu)
    timeout $((WRK_SECONDS + 30)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECONDS}s" --latency -H "Accept: $ACCEPT" \
      "${BASE[$side]}/v2/bench/img/manifests/r1" >"$out"
    read -r rps p99 non2xx errs reqs < <(python3 "$LIB" parse-wrk "$out")
    RPS[$side]+="$rps "; P99[$side]+="$p99 "
    note=""
    [ "$non2xx" = 0 ] || note="  WARNING: $non2xx non-2xx responses"
    [ "$errs" = 0 ] || note="$note  WARNING: $errs socket errors"
    log "  run $r $name: $rps req/s, p99 $p99 ms ($reqs requests; server CPU $(cpudiff "$c0" "$(srvcpu "$side")") s, RGW CPU $(cpudiff "$g0" "$(rgwcpu)") s)$note"
  done
done
alive "manifest GETs"
for side in reg pier; do
  # shellcheck disable=SC2086
  put "${side}_rps" "$(median ${RPS[$side]})"
  # shellcheck disable=SC2086
  put "${side}_p99_ms" "$(median ${P99[$side]})"
done
put max_busy "$MAX_BUSY"

# ---- table ---------------------------------------------------------------------------------------
CPU_MODEL=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
MEM_GIB=$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)
FS_LINE=$(df -T -P "$WORK" | awk 'NR==2 {print $2 " on " $1}')
section "results (medians of $RUNS runs)"
log "machine: nproc $(nproc) ($CPU_MODEL), $MEM_GIB GiB RAM, kernel $(uname -r); RGW: $RGW_VERSION, OSD on $FS_LINE"
log "skopeo: $(skopeo --version 2>&1 | head -1); wrk: $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
python3 "$S3LIB" table "$RESULTS" "$WORK/table.md"

CMDLINE="bench/s3_bench.sh"
for a in "${ORIG_ARGS[@]}"; do CMDLINE+=" $(printf '%q' "$a")"; done
if [ -n "$WRITE_RESULTS" ]; then
  {
    echo "## Pier vs registry:2 on the same S3 (Ceph radosgw)"
    echo
    echo "Produced by \`bench/s3_bench.sh --write-results FILE\`; rerun to refresh."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- command: \`$CMDLINE\`"
    echo "- machine: nproc $(nproc) ($CPU_MODEL), $MEM_GIB GiB RAM, kernel $(uname -r); client, servers and the whole Ceph cluster share these CPUs"
    echo "- S3: $RGW_VERSION, started by \`tests/integration/lib/rgw.sh\`: 1 mon, 1 BlueStore OSD on a ${OSD_GIB} GiB sparse file ($FS_LINE, under /var/tmp), pools of size 1, beast frontend on loopback"
    echo "- registry:2: $REG_VERSION, \`storage.s3\` with regionendpoint = the RGW, region us-east-1, bucket reg2, secure false, v4auth true, rootdirectory /, chunksize 10 MiB (its default), \`redirect.disable: true\`, inmemory blob descriptor cache, log level error, access log off. Distribution 2.8 has no \`forcepathstyle\` option: setting regionendpoint makes it address the bucket path-style. It starts only with \`AWS_CA_BUNDLE\` unset (set, the AWS SDK panics: \"LoadCustomCABundleError: ... HTTPClient's transport unsupported type\")."
    echo "- pier: $PIER_VERSION, config \`{\"storage\": {\"type\": \"s3\", \"s3\": {\"endpoint\": RGW, \"region\": \"us-east-1\", \"bucket\": \"pier\", \"prefix\": \"\", \"path_style\": true, \"access_key\": ..., \"secret_key_file\": FILE}}, \"log\": {\"access\": false}}\` (redirect off: pulls stream through Pier)"
    echo "- clients: $(skopeo --version 2>&1 | head -1) (\`--dest-tls-verify=false\` / \`--src-tls-verify=false\`, policy insecureAcceptAnything, \`-q\`); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
    echo "- method: $RUNS runs; the server order alternates from run to run; medians. Per run: one fresh image of $LAYERS layers x $((SIZE_MIB / LAYERS)) MiB random bytes (tests/integration/lib/make_oci_layout.py, a new seed per run, so nothing dedups) pushed \`oci:\` -> \`docker://127.0.0.1:PORT/bench/img:rR\`, then pulled back into a fresh \`oci:\` folder, every blob then checked against the source; $CONC_N skopeo pushes in parallel of distinct $CONC_MIB MiB single-layer images, wall time of all; $RUNS wrk runs of ${WRK_SECONDS} s on \`/v2/bench/img/manifests/r1\` with \`Accept: $ACCEPT\` (after a 2 s warm-up). MB/s = bytes of manifest + config + layers / wall time of the skopeo command, MB = 10^6 bytes. Before each timed run: sync, source files read into the page cache, wait up to ${WAIT_IDLE} s for idle CPUs (busiest sample seen: ${MAX_BUSY}%). Untimed, once per run: one ${SIZE_MIB} MiB PUT and GET straight to the RGW (one stream, SigV4 by bench/lib/s3bench.py) and skopeo's own \`oci:\` -> \`oci:\` copy of the push image."
    echo
    cat "$WORK/table.md"
    echo
    echo "Reading the figures:"
    echo
    rv() { sed -n "s/^$1=//p" "$RESULTS" | tail -1 | awk '{ printf "%.0f", $1 }'; }
    echo "- Everything runs on the same $(nproc) CPUs: skopeo, the registry, radosgw, ceph-osd and ceph-mon (and anything else on the machine; busiest 1 s sample just before a timed run: ${MAX_BUSY}%). 'RGW CPU' in the runs below is what the Ceph daemons spent: the more CPU the S3 side takes per byte, the less is left for the registry and the client."
    echo "- (1) push: bounded by the RGW's own write rate (one plain PUT: $(rv raw_put_mbps) MB/s) and by skopeo itself (its oci: -> oci: copy: $(rv local_copy_mbps) MB/s, it gunzips and hashes every layer). Both servers send an upload to S3 as multipart parts (pier 8 MiB, registry:2 10 MiB chunksize) and, once the digest is verified, copy it server-side to its blob key: pier with one CopyObject (RGW shares the data, no rewrite); registry:2 2.8 with one CopyObject up to its multipartcopythresholdsize (32 MiB) and above it with UploadPartCopy in 32 MiB pieces, which the RGW serves by reading and writing the bytes again ($( [ "$LAYER_BYTES" -gt $((32 << 20)) ] && echo "the case of every $((SIZE_MIB / LAYERS)) MiB layer here" || echo "not the case of the $((SIZE_MIB / LAYERS)) MiB layers here"))."
    echo "- (2) pull: both servers stream the blob from the RGW (redirect off), so the RGW's GET rate (one plain GET: $(rv raw_get_mbps) MB/s) and skopeo writing and verifying every layer into a local oci: folder bound it."
    echo "- (3) concurrent pushes: $CONC_N skopeo processes, the registry and the Ceph daemons contend for $(nproc) CPUs; the figure is mostly CPU per byte, client and RGW included (see 'server CPU' and 'RGW CPU' per run)."
    echo "- (4) manifest GETs: registry:2 reads the tag link and the manifest from the bucket on every request (the inmemory cache holds blob descriptors, not tags or manifests), so each GET costs S3 round trips and RGW CPU; pier answers from its local metadata and never touches S3 (RGW CPU ~0 during its runs). wrk shares the CPUs with the server."
    echo
    echo "Every run (the table holds the medians):"
    echo
    echo '```'
    grep -E '^(== [(]|  (run |both answer|WARNING))' "$WORK/run.log" | sed 's#'"$WORK"'#$WORK#g'
    echo '```'
  } >"$WRITE_RESULTS"
  log ""
  log "wrote $WRITE_RESULTS"
fi
