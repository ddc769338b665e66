#!/usr/bin/env bash
# Pier vs registry:2 (Debian `docker-registry`, distribution 2.8) on loopback.
#
# usage: bench/registry_bench.sh PATH_TO_PIER [--size-mib N] [--quick] [--write-results]
#                                [--push-runs N] [--pull-runs N] [--conc-runs N] [--wrk-runs N]
#                                [--wrk-seconds N] [--settle-seconds N] [--wait-idle N]
#                                [--keep] [--registry-both-sides]
#
# Starts both servers with fresh data folders under one temp dir (on the file
# system of $TMPDIR, default /tmp) and measures them with the same clients
# (curl for pushes, a socket client discarding bodies for timed pulls, wrk
# for manifests):
#   (a) one N MiB blob pushed monolithically (POST + PUT ?digest=), MB/s
#   (b) the same blob pulled back (GET), MB/s
#   (c) 16 concurrent monolithic pushes of distinct 64 MiB blobs, aggregate MB/s
#   (d) manifest GETs by tag, wrk -t2 -c64 -d10s --latency: requests/s and p99
#   (e) peak RSS (VmHWM) of each server at the end
# plus the machine's durable write rate (dd conv=fsync on the same file system).
# Prints one table with the ratio pier/registry:2 and the bars from the issue;
# --write-results also writes bench/RESULTS.md.
#
# --quick: small sizes for a smoke run (the figures mean little).
# --settle-seconds N: pause after sync + drop_caches before each write run
#   (default 5). The VM disk here is erratic: dd conv=fsync of 1 GiB has
#   ranged from ~140 MB/s to ~1.5 GB/s, worst when runs follow each other
#   without a pause; hence one dd beside every push run.
# --wait-idle N: before each timed run wait up to N s (default 60) for the CPUs
#   to be <= 10% busy; the busiest sample is printed, since anything else running
#   (a compiler, say) skews every figure on a 2-CPU machine.
# --registry-both-sides: debug the script by running registry:2 in Pier's place
#   (PATH_TO_PIER is then ignored).
# Needs root for `echo 3 > /proc/sys/vm/drop_caches` (it says if that failed).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LIB="$HERE/lib/benchlib.py"
REPO_NAME=bench

usage() { sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

PIER=""
SIZE_MIB=1024
CONC_N=16
CONC_MIB=64
PUSH_RUNS=3
PULL_RUNS=3
CONC_RUNS=3
WRK_RUNS=3
WRK_SECONDS=10
WRK_CONNS=64
WRK_THREADS=2
SETTLE=5
WAIT_IDLE=60
QUICK=0
WRITE_RESULTS=0
KEEP=0
BOTH_REGISTRY=0
SIZE_SET=0
ORIG_ARGS=("$@")

while [ $# -gt 0 ]; do
  case "$1" in
    --size-mib) SIZE_MIB="$2"; SIZE_SET=1; shift 2 ;;
    --size-mib=*) SIZE_MIB="${1#*=}"; SIZE_SET=1; shift ;;
    --quick) QUICK=1; shift ;;
    --write-results) WRITE_RESULTS=1; shift ;;
    --push-runs) PUSH_RUNS="$2"; shift 2 ;;
    --pull-runs) PULL_RUNS="$2"; shift 2 ;;
    --conc-runs) CONC_RUNS="$2"; shift 2 ;;
    --wrk-runs) WRK_RUNS="$2"; shift 2 ;;
    --wrk-seconds) WRK_SECONDS="$2"; shift 2 ;;
    --settle-seconds) SETTLE="$2"; shift 2 ;;
    --wait-idle) WAIT_IDLE="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --registry-both-sides) BOTH_REGISTRY=1; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) [ -z "$PIER" ] || { echo "extra argument $1" >&2; usage; }; PIER="$1"; shift ;;
  esac
done

if [ "$QUICK" = 1 ]; then
  [ "$SIZE_SET" = 1 ] || SIZE_MIB=64
  CONC_MIB=4
  PUSH_RUNS=1; CONC_RUNS=1; WRK_RUNS=1; WRK_SECONDS=3; SETTLE=1; WAIT_IDLE=0
fi

if [ "$BOTH_REGISTRY" = 0 ]; then
  [ -n "$PIER" ] || { echo "PATH_TO_PIER is required" >&2; usage; }
  [ -x "$PIER" ] || { echo "not executable: $PIER" >&2; exit 2; }
  PIER=$(cd "$(dirname "$PIER")" && pwd)/$(basename "$PIER")
fi

log() { printf '%s\n' "$*"; }
section() { printf '\n== %s\n' "$*"; }
die() { printf 'registry_bench: %s\n' "$*" >&2; exit 1; }

# ---- tools ----------------------------------------------------------------
for t in docker-registry curl python3 sha256sum dd; do
  command -v "$t" >/dev/null || die "$t not found (docker-registry: apt-get install -y docker-registry)"
done
if ! command -v wrk >/dev/null; then
  log "wrk missing: apt-get install -y wrk"
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; } \
    || die "could not install wrk"
fi

# ---- temp dir, cleanup ------------------------------------------------------
TMPBASE="${TMPDIR:-/tmp}"
WORK=$(mktemp -d "$TMPBASE/registry-bench.XXXXXX")
declare -A PID=()
cleanup() {
  local rc=$?
  for side in "${!PID[@]}"; do
    local p="${PID[$side]}"
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    fi
  done
  if [ "$KEEP" = 1 ]; then
    echo "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

exec > >(tee "$WORK/run.log") 2>&1
RESULTS="$WORK/results.env"
: >"$RESULTS"
put() { echo "$1=$2" >>"$RESULTS"; }

# ---- machine ---------------------------------------------------------------
FS_LINE=$(df -T -P "$WORK" | awk 'NR==2 {print $2 " on " $1 " (mounted at " $7 ")"}')
MEM_GIB=$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)
CPU_MODEL=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
REG_VERSION=$(docker-registry --version 2>&1 | head -1)
if [ "$BOTH_REGISTRY" = 1 ]; then PIER_VERSION="registry:2 standing in for pier (--registry-both-sides)";
else PIER_VERSION=$("$PIER" --version 2>&1 | head -1 || true); fi
section "machine"
log "cpus: $(nproc) ($CPU_MODEL); RAM: $MEM_GIB GiB; kernel $(uname -r)"
log "work dir: $WORK  file system: $FS_LINE (same file system as $TMPBASE)"
log "registry:2: $REG_VERSION"
log "pier: $PIER_VERSION ${PIER:+($PIER)}"
log "curl: $(curl --version | head -1 | cut -d' ' -f1-2); wrk: $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"

# Disk space: test files + per server (every push run + every concurrent run + one spare) + dd + verify copy.
NEED_MIB=$(( SIZE_MIB + CONC_N*CONC_MIB + 2*(PUSH_RUNS*SIZE_MIB + CONC_RUNS*CONC_N*CONC_MIB + SIZE_MIB) + 2*SIZE_MIB + 1024 ))
AVAIL_MIB=$(df -P -m "$WORK" | awk 'NR==2 {print $4}')
[ "$AVAIL_MIB" -gt "$NEED_MIB" ] || die "need about $NEED_MIB MiB free in $WORK, have $AVAIL_MIB"

# ---- page cache control ----------------------------------------------------
DROP_OK=0
if sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then DROP_OK=1; fi
log "drop_caches: $([ "$DROP_OK" = 1 ] && echo "works (sync; echo 3 > /proc/sys/vm/drop_caches before each push run)" \
  || echo "NOT permitted: push runs only sync, page cache state is less comparable")"
# Before each timed run: wait (up to --wait-idle s) for the CPUs to be quiet and
# remember the busiest sample seen.
source "$HERE/lib/quiet.sh"
# Before a timed write: flush dirty pages and empty the page cache so neither
# server inherits the other's write-back, pause (--settle-seconds), then read
# the source file(s) back in so the client reads from RAM and only the
# server's writes touch the disk.
settle() {
  sync
  if [ "$DROP_OK" = 1 ]; then echo 3 >/proc/sys/vm/drop_caches; fi
  sleep "$SETTLE"
  quiet
  cat "$@" >/dev/null
}

# ---- test data (untimed) ---------------------------------------------------
section "test data (untimed)"
BIG="$WORK/data/big.bin"
mkdir -p "$WORK/data"
head -c "$((SIZE_MIB * 1048576))" /dev/urandom >"$BIG"
BIG_BYTES=$(stat -c %s "$BIG")
for i in $(seq -w 1 "$CONC_N"); do
  head -c "$((CONC_MIB * 1048576))" /dev/urandom >"$WORK/data/conc-$i.bin"
done
log "$BIG: $SIZE_MIB MiB from /dev/urandom; $CONC_N x $CONC_MIB MiB concurrent files"
# Every push run uses fresh content (the first 32 bytes carry a run tag) so no
# server can skip work because it already holds the digest; digests are
# computed here, before the timed part.
tag_file() {  # FILE TAG
  printf '%-32.32s' "$2" | dd of="$1" bs=32 count=1 conv=notrunc status=none
}
digest_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

# ---- servers ---------------------------------------------------------------
start_registry() {  # SIDE
  local side=$1 port dir
  port=$(python3 "$LIB" free-port)
  dir="$WORK/$side"
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
EOF
  docker-registry serve "$dir/config.yml" >"$dir/server.log" 2>&1 &
  PID[$side]=$!
  BASE[$side]="http://127.0.0.1:$port"
  PORT[$side]=$port
}
start_pier() {  # SIDE
  local side=$1 port dir
  port=$(python3 "$LIB" free-port)
  dir="$WORK/$side"
  mkdir -p "$dir/data"
  echo '{"log":{"access":false}}' >"$dir/config.json"
  "$PIER" serve --listen "127.0.0.1:$port" --data "$dir/data" --config "$dir/config.json" >"$dir/server.log" 2>&1 &
  PID[$side]=$!
  BASE[$side]="http://127.0.0.1:$port"
  PORT[$side]=$port
}
declare -A BASE=() PORT=()
NAME_reg="registry:2"
NAME_pier="pier"

section "servers"
start_registry reg
if [ "$BOTH_REGISTRY" = 1 ]; then start_registry pier; else start_pier pier; fi
for side in reg pier; do
  python3 "$LIB" wait-ready "${BASE[$side]}" "${PID[$side]}" 30 \
    || { tail -20 "$WORK/$side/server.log" >&2; die "$side did not start"; }
done
log "registry:2 pid ${PID[reg]} at ${BASE[reg]}, data $WORK/reg/data (log level error, access log off, so logging does not skew it)"
log "pier       pid ${PID[pier]} at ${BASE[pier]}, data $WORK/pier/data (config {\"log\":{\"access\":false}}, same reason)"

alive() {  # PHASE: fail loudly if a server died during PHASE
  for side in reg pier; do
    if ! kill -0 "${PID[$side]}" 2>/dev/null; then
      tail -30 "$WORK/$side/server.log" >&2 || true
      die "$side (pid ${PID[$side]}) died during $1"
    fi
  done
}
srvcpu() { python3 "$LIB" cpu-secs "${PID[$1]}"; }  # SIDE -> CPU seconds used so far
cpudiff() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mbps() { python3 -c "import sys; print('%.1f' % ($1 / float(sys.argv[1]) / 1e6))" "$2"; }  # BYTES SECONDS
median() { python3 "$LIB" median "$@"; }
# Alternate which server goes first from run to run.
order() { if [ $(( $1 % 2 )) = 1 ]; then echo "reg pier"; else echo "pier reg"; fi; }

put size_mib "$SIZE_MIB"; put conc_n "$CONC_N"; put conc_mib "$CONC_MIB"; put wrk_conns "$WRK_CONNS"

# ---- durable write rate + (a) monolithic push -----------------------------------
section "(a) push one $SIZE_MIB MiB blob monolithically: POST uploads + PUT ?digest= with curl -T (median of $PUSH_RUNS, each run a fresh blob)"
log "  each run also measures the durable write rate: dd if=/dev/zero of=$WORK/ddtest bs=1M count=$SIZE_MIB conv=fsync"
log "  before each dd and push: sync; drop caches; sleep ${SETTLE}s; wait for idle CPUs; read the source file into the page cache"
log "  note: pier answers 201 only after the blob is fsync'ed; registry:2 answers once the bytes are in the page cache (no fsync)"
declare -A PUSH=()
DD=()
BIG_DIGEST=""
for r in $(seq "$PUSH_RUNS"); do
  tag_file "$BIG" "pier-bench push run $r"
  BIG_DIGEST=$(digest_of "$BIG")
  settle /dev/null
  dd if=/dev/zero of="$WORK/ddtest" bs=1M count="$SIZE_MIB" conv=fsync 2>"$WORK/dd.out"
  rm -f "$WORK/ddtest"
  v=$(python3 "$LIB" parse-dd "$WORK/dd.out")
  DD+=("$v")
  log "  run $r dd: $v MB/s   ($(tail -1 "$WORK/dd.out"))"
  for side in $(order "$r"); do
    settle "$BIG"
    c0=$(srvcpu "$side")
    s=$(python3 "$LIB" push "${BASE[$side]}" "$REPO_NAME" "$BIG" "$BIG_DIGEST") || { alive push; die "push to $side failed"; }
    v=$(mbps "$BIG_BYTES" "$s")
    PUSH[$side]+="$v "
    log "  run $r $(eval echo \$NAME_$side): ${s}s  $v MB/s  (server CPU $(cpudiff "$c0" "$(srvcpu "$side")") s)"
  done
done
alive push
for side in reg pier; do
  # shellcheck disable=SC2086
  put "${side}_push_mbps" "$(median ${PUSH[$side]})"
done
DD_MBPS=$(median "${DD[@]}")
put dd_mbps "$DD_MBPS"; put dd_count "$SIZE_MIB"
log "  dd median: $(printf '%.0f' "$DD_MBPS") MB/s"
# One upload is hashed as one SHA-256 stream: that rate bounds any push that
# verifies its digest while it streams, whatever the disk does.
if command -v openssl >/dev/null; then
  SHA_MBPS=$(openssl speed -seconds 3 -bytes 1048576 -evp sha256 2>/dev/null |
    awk '$1 == "sha256" { v = $2; sub(/k$/, "", v); printf "%.0f", v / 1000 }')
  if [ -n "$SHA_MBPS" ]; then
    put sha_mbps "$SHA_MBPS"
    log "  sha256 one stream (openssl speed -evp sha256, 1 MiB blocks): $SHA_MBPS MB/s"
  fi
fi

# ---- (b) pull ----------------------------------------------------------------
section "(b) pull the $SIZE_MIB MiB blob (GET with a lean socket client that discards the body in the kernel, recv MSG_TRUNC, on its own CPU; median of $PULL_RUNS; page cache warm after one untimed curl pull whose sha256 is verified). Kernel-discard figure: no client copies the bytes; bench/pull_bench.sh measures pulls with a copying client"
for side in reg pier; do
  python3 "$LIB" pull "${BASE[$side]}" "$REPO_NAME" "$BIG_DIGEST" "$BIG_BYTES" "$WORK/pulled.bin" >/dev/null \
    || { alive pull; die "verifying pull from $side failed"; }
  got=$(digest_of "$WORK/pulled.bin")
  rm -f "$WORK/pulled.bin"
  [ "$got" = "$BIG_DIGEST" ] || die "$side returned wrong bytes: $got, want $BIG_DIGEST"
  log "  $(eval echo \$NAME_$side): pulled bytes verified (sha256 matches)"
done
# Timed pulls: the server on CPU 0, the client on CPU 1, the same for both
# servers. A real client pulls from another machine; on loopback the
# scheduler otherwise sometimes puts the client on the server's sending core
# and the figure measures that placement (Pier: 2.4 GB/s co-located, 6-7 GB/s
# apart, from one run to the next), not the server.
PIN=0
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then PIN=1; fi
ALL_CPUS="0-$(( $(nproc) - 1 ))"
if [ "$PIN" = 1 ]; then
  log "  timed pulls: server pinned to CPU 0 (taskset -a -p -c 0), client to CPU 1 (taskset -c 1), both servers alike"
fi
declare -A PULL=()
for r in $(seq "$PULL_RUNS"); do
  for side in $(order "$r"); do
    quiet
    CLIENT=()
    if [ "$PIN" = 1 ]; then
      taskset -a -p -c 0 "${PID[$side]}" >/dev/null
      CLIENT=(taskset -c 1)
    fi
    c0=$(srvcpu "$side")
    s=$("${CLIENT[@]}" python3 "$LIB" pull-raw "${BASE[$side]}" "$REPO_NAME" "$BIG_DIGEST" "$BIG_BYTES") || { alive pull; die "pull from $side failed"; }
    if [ "$PIN" = 1 ]; then taskset -a -p -c "$ALL_CPUS" "${PID[$side]}" >/dev/null; fi
    v=$(mbps "$BIG_BYTES" "$s")
    PULL[$side]+="$v "
    log "  run $r $(eval echo \$NAME_$side): ${s}s  $v MB/s  (server CPU $(cpudiff "$c0" "$(srvcpu "$side")") s)"
  done
done
alive pull
for side in reg pier; do
  # shellcheck disable=SC2086
  put "${side}_pull_mbps" "$(median ${PULL[$side]})"
done

# ---- (c) concurrent pushes ---------------------------------------------------
section "(c) $CONC_N concurrent monolithic pushes of distinct $CONC_MIB MiB blobs (aggregate = total bytes / wall time; median of $CONC_RUNS)"
CONC_FILES=("$WORK"/data/conc-*.bin)
CONC_BYTES=$(( CONC_N * CONC_MIB * 1048576 ))
declare -A CONC=()
for r in $(seq "$CONC_RUNS"); do
  : >"$WORK/conc.list"
  for f in "${CONC_FILES[@]}"; do
    tag_file "$f" "pier-bench conc run $r $(basename "$f")"
    echo "$(digest_of "$f") $f" >>"$WORK/conc.list"
  done
  for side in $(order "$r"); do
    settle "${CONC_FILES[@]}"
    c0=$(srvcpu "$side")
    s=$(python3 "$LIB" concurrent-push "${BASE[$side]}" "$REPO_NAME" "$WORK/conc.list") \
      || { alive "concurrent push"; die "concurrent push to $side failed"; }
    v=$(mbps "$CONC_BYTES" "$s")
    CONC[$side]+="$v "
    log "  run $r $(eval echo \$NAME_$side): ${s}s  $v MB/s  (server CPU $(cpudiff "$c0" "$(srvcpu "$side")") s)"
  done
done
alive "concurrent push"
for side in reg pier; do
  # shellcheck disable=SC2086
  put "${side}_conc_mbps" "$(median ${CONC[$side]})"
done

# ---- (d) manifest GETs ---------------------------------------------------------
ACCEPT='application/vnd.oci.image.manifest.v1+json'
section "(d) manifest GET by tag: wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECONDS}s --latency -H 'Accept: $ACCEPT' BASE/v2/$REPO_NAME/manifests/latest (median of $WRK_RUNS, after a 2 s warm-up)"
log "  note: wrk and the server share the machine's $(nproc) cores"
for side in reg pier; do
  d=$(python3 "$LIB" setup-manifest "${BASE[$side]}" "$REPO_NAME" latest) || { alive "manifest setup"; die "manifest setup on $side failed"; }
  log "  $(eval echo \$NAME_$side): pushed config + 1 layer + OCI manifest $d as :latest"
done
declare -A RPS=() P99=()
for side in reg pier; do
  wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d2s -H "Accept: $ACCEPT" "${BASE[$side]}/v2/$REPO_NAME/manifests/latest" >/dev/null
done
for r in $(seq "$WRK_RUNS"); do
  for side in $(order "$r"); do
    out="$WORK/wrk-$side-$r.txt"
    quiet
    c0=$(srvcpu "$side")
    wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_SECONDS}s" --latency -H "Accept: $ACCEPT" \
      "${BASE[$side]}/v2/$REPO_NAME/manifests/latest" >"$out"
    read -r rps p99 non2xx errs reqs < <(python3 "$LIB" parse-wrk "$out")
    RPS[$side]+="$rps "
    P99[$side]+="$p99 "
    note=""
    [ "$non2xx" = 0 ] || note="  WARNING: $non2xx non-2xx responses"
    [ "$errs" = 0 ] || note="$note  WARNING: $errs socket errors"
    log "  run $r $(eval echo \$NAME_$side): $rps req/s, p99 $p99 ms ($reqs requests; server CPU $(cpudiff "$c0" "$(srvcpu "$side")") s)$note"
  done
done
alive "manifest GETs"
for side in reg pier; do
  # shellcheck disable=SC2086
  put "${side}_rps" "$(median ${RPS[$side]})"
  # shellcheck disable=SC2086
  put "${side}_p99_ms" "$(median ${P99[$side]})"
done

# ---- (e) peak RSS ----------------------------------------------------------------
section "(e) peak RSS: VmHWM from /proc/PID/status at the end"
for side in reg pier; do
  k=$(python3 "$LIB" vmhwm "${PID[$side]}")
  put "${side}_rss_kib" "$k"
  log "  $(eval echo \$NAME_$side): $k KiB"
done

# ---- table -------------------------------------------------------------------
section "results (medians)"
put max_busy "$MAX_BUSY"
python3 "$LIB" table "$RESULTS" "$WORK/table.md"

CMDLINE="bench/registry_bench.sh"
for a in "${ORIG_ARGS[@]}"; do CMDLINE+=" $(printf '%q' "$a")"; done
if [ "$WRITE_RESULTS" = 1 ]; then
  OUT="$HERE/RESULTS.md"
  # The sections of bench/pull_bench.sh and bench/replication_bench.sh are kept.
  KEEP=""
  if [ -f "$OUT" ]; then
    KEEP=$(sed -n '/^## \(Pulls measured as clients see them\|Replication: \)/,$p' "$OUT")
  fi
  {
    echo "# Pier vs registry:2 benchmark"
    echo
    echo "Produced by \`bench/registry_bench.sh --write-results\`; rerun to refresh."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- command: \`$CMDLINE\`"
    echo "- machine: $(nproc) CPUs ($CPU_MODEL), $MEM_GIB GiB RAM, kernel $(uname -r)"
    echo "- file system of the data folders and dd: $FS_LINE, under \`$TMPBASE\`"
    echo "- registry:2: $REG_VERSION, filesystem storage, delete enabled, inmemory blob descriptor cache, log level error, access log off"
    echo "- pier: $PIER_VERSION, config \`{\"log\":{\"access\":false}}\`"
    echo "- clients: $(curl --version | head -1 | cut -d' ' -f1-2) for pushes (with \`Expect:\` cleared) and the verifying pull, a Python socket client discarding the body with recv(MSG_TRUNC) for timed pulls (server pinned to CPU 0, client to CPU 1, for both servers), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2) for manifests"
    echo "- method: medians of $PUSH_RUNS push runs (1 fresh blob each, and one dd per run; before each: sync, drop caches$([ "$DROP_OK" = 1 ] || echo " (NOT permitted)"), ${SETTLE} s pause, wait up to ${WAIT_IDLE} s for idle CPUs, source file re-read into the page cache), $PULL_RUNS pulls (page cache warm, after one untimed sha256-verified pull), $CONC_RUNS concurrent-push runs, $WRK_RUNS wrk runs of ${WRK_SECONDS}s (after a 2 s warm-up); server order alternates per run. MB = 10^6 bytes. wrk and the server share the $(nproc) cores."
    echo
    cat "$WORK/table.md"
    echo
    echo "Reading the figures:"
    echo
    echo "- pier answers a blob PUT only once the blob is fsync'ed; registry:2 answers when the bytes are in the page cache, so its push rate is not bounded by the disk."
    echo "- The disk is a VM disk: dd conv=fsync of 1 GiB has been seen anywhere from ~140 MB/s to ~1.5 GB/s on this machine from one minute to the next, which is why a dd runs next to every push run and the ratio uses the medians of the same run."
    echo "- Every figure is CPU-sensitive on 2 CPUs shared by client and server; the busiest-sample line above says whether other work was running just before a timed run (work that started during a run is not caught). 'server CPU' below is the server's user+system CPU time during that run."
    echo
    echo "Every run (the table holds the medians):"
    echo
    echo '```'
    grep -E '^(== [(]|  (run |dd median|sha256|timed pulls|WARNING|note: pier|registry:2: |pier: |before|each run))' "$WORK/run.log" | sed 's#'"$WORK"'#$WORK#g'
    echo '```'
    if [ -n "$KEEP" ]; then
      echo
      echo "$KEEP"
    fi
  } >"$OUT"
  log ""
  log "wrote $OUT"
fi
