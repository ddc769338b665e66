#!/usr/bin/env bash
# A throw-away Ceph radosgw (S3) for tests: one ceph-mon, one BlueStore
# ceph-osd on a sparse file, one radosgw, and an S3 user with fixed keys.
#
#   rgw.sh start DIR   # DIR must be empty or absent; writes DIR/env
#   rgw.sh stop DIR    # SIGKILLs the daemons started in DIR (by their recorded
#                      # pids) and waits until they are gone
#
# Promises:
#  - every file (config, monitor and OSD data, sockets, pid and log files)
#    lives under DIR; nothing reads or writes /etc/ceph or /var/lib/ceph, so
#    two instances in two folders run side by side;
#  - ports are free loopback ports picked at start (bound to port 0);
#  - each step waits on a condition with a deadline (no fixed sleeps); on a
#    timeout it prints the daemons' log tails, stops what it started and
#    exits non-zero;
#  - DIR/env holds RGW_ENDPOINT, RGW_ACCESS_KEY, RGW_SECRET_KEY, RGW_REGION;
#  - with RGW_OWNER_PID set, the daemons are stopped when that process ends
#    (a test binary that crashes does not leave a cluster behind);
#  - the OSD is a 4 GiB sparse file (RGW_OSD_SIZE_GIB=N for another size).
# Needs root (as CI runs) and the Debian packages ceph-mon ceph-osd radosgw
# ceph-common uuid-runtime curl (scripts/deps.sh). Start-up steps and their
# times are logged in DIR/log/steps (~4-7 s to a usable S3 user here).
set -euo pipefail

# Ceph's Python CLI and the rados module belong to Debian's python3.
PY=/usr/bin/python3
ACCESS_KEY=PIERTESTACCESSKEY000
SECRET_KEY=pier-test-secret-key-0000000000000000000
DEADLINE_S=${RGW_DEADLINE_S:-90}
# Sparse; RGW_OSD_SIZE_GIB raises it for runs that write more (bench/s3_bench.sh).
OSD_SIZE=$((${RGW_OSD_SIZE_GIB:-4} << 30))

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2

now_ms() { date +%s%3N; }

log_tails() {
  local f
  for f in "$dir"/log/*; do
    [ -f "$f" ] || continue
    echo "---- tail $f" >&2
    tail -n 30 "$f" >&2 || true
  done
}

# True while `$1` runs (a zombie whose reaper is slow counts as gone).
alive() {
  local st
  st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# A throw-away cluster has nothing to save, and Ceph's daemons take ~2 s
# each to stop on SIGTERM: SIGKILL, then wait until they are gone.
stop_all() {
  local pids=() f p
  for f in "$dir"/run/*.pid.own; do
    [ -f "$f" ] || continue
    p=$(cat "$f")
    [[ $p =~ ^[0-9]+$ ]] && pids+=("$p")
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  local end=$(($(now_ms) + 10000))
  for p in "${pids[@]}"; do
    # Not our child (an earlier run of this script started it): poll.
    while alive "$p"; do
      [ "$(now_ms)" -lt "$end" ] || { echo "rgw.sh: pid $p does not exit" >&2; return 1; }
      sleep 0.02
    done
  done
  rm -f "$dir"/run/*.pid.own
}

fail() {
  echo "rgw.sh: $*" >&2
  log_tails
  stop_all
  exit 1
}

# Polls `"$@"` until it succeeds or `$1` seconds pass (what: $2).
wait_for() {
  local limit=$1 what=$2
  shift 2
  local end=$(($(now_ms) + limit * 1000))
  until "$@" >/dev/null 2>&1; do
    [ "$(now_ms)" -lt "$end" ] || fail "timed out after ${limit}s waiting for $what"
    [ "$(now_ms)" -lt "$start_deadline" ] || fail "start took longer than ${DEADLINE_S}s (at: $what)"
    sleep 0.1
  done
}

# Time since start, per step, in DIR/log/steps (to see where start-up goes).
step() { echo "$(($(now_ms) - t0)) ms: $*" >>"$dir/log/steps"; }

free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Runs a daemon in the foreground, detached from our stdio, recording its pid.
spawn() {
  local name=$1
  shift
  "$@" >"$dir/log/$name.out" 2>&1 </dev/null &
  echo $! >"$dir/run/$name.pid.own"
}

ceph_cli() { timeout 20 ceph -c "$dir/ceph.conf" --connect-timeout 10 "$@"; }

osd_up() { [ "$(ceph_cli osd stat -f json | $PY -c 'import json,sys; print(json.load(sys.stdin)["num_up_osds"])')" = 1 ]; }

rgw_answers() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$rgw_port/") || return 1
  [ "$code" = 200 ]
}

start() {
  t0=$(now_ms)
  start_deadline=$((t0 + DEADLINE_S * 1000))
  [ "$(id -u)" -eq 0 ] || { echo "rgw.sh: must run as root" >&2; exit 1; }
  for b in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool uuidgen curl; do
    command -v "$b" >/dev/null || { echo "rgw.sh: $b not installed (scripts/deps.sh)" >&2; exit 1; }
  done
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then echo "rgw.sh: $dir is not empty" >&2; exit 1; fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  mkdir -p "$dir"/{run,log,mon/a,osd/0,rgw,crash,tmp}
  local fsid mon_port rgw_port osd_uuid
  fsid=$(uuidgen)
  osd_uuid=$(uuidgen)
  mon_port=$(free_port)
  rgw_port=$(free_port)

  cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
# No cephx: a private loopback cluster. Without "crc secure" radosgw never
# reaches the monitor when auth is off.
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
# Every path under this folder (the defaults point at /var/lib/ceph).
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
crash dir = $dir/crash
tmp dir = $dir/tmp
keyring = $dir/keyring
mon data = $dir/mon/\$id
osd data = $dir/osd/\$id
osd journal = $dir/osd/\$id/journal
rgw data = $dir/rgw
# One OSD holds everything.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon warn on pool no redundancy = false
paxos propose interval = 0.05
mon osd full ratio = 0.99
mon osd backfillfull ratio = 0.99
mon osd nearfull ratio = 0.99
[osd]
osd objectstore = bluestore
bluestore block create = true
bluestore block size = $OSD_SIZE
bluestore fsck on mkfs = false
bluestore fsck on mount = false
# Closing the block device waits out one poll of its aio thread (250 ms by
# default), and start-up opens and closes it a dozen times.
bdev aio poll ms = 10
osd memory target = 939524096
bluestore cache autotune = false
bluestore cache size = 134217728
[client.rgw.pier]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw dynamic resharding = false
rgw enable usage log = false
EOF

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null \
    || fail "monmaptool failed"
  timeout 60 ceph-mon -c "$dir/ceph.conf" -i a --mkfs --monmap "$dir/monmap" >"$dir/log/mon-mkfs.out" 2>&1 \
    || fail "ceph-mon --mkfs failed: $(tail -n 5 "$dir/log/mon-mkfs.out")"
  spawn mon ceph-mon -c "$dir/ceph.conf" -i a -f
  wait_for 30 "the monitor" ceph_cli mon stat
  step "monitor up"

  local id
  id=$(ceph_cli osd new "$osd_uuid") || fail "ceph osd new failed"
  [ "$id" = 0 ] || fail "unexpected OSD id '$id'"
  timeout 60 ceph-osd -c "$dir/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$dir/log/osd-mkfs.out" 2>&1 \
    || fail "ceph-osd --mkfs failed: $(tail -n 5 "$dir/log/osd-mkfs.out")"
  spawn osd ceph-osd -c "$dir/ceph.conf" -i 0 -f
  wait_for 60 "the OSD to be up" osd_up
  step "OSD up"

  # RGW's pools up front: created lazily, each first request stalls ~2 s.
  # One rados connection for all of them (each ceph CLI run costs ~0.4 s).
  CEPH_CONF="$dir/ceph.conf" timeout 30 $PY - <<'EOF' || fail "creating RGW's pools failed"
import json, os, rados
c = rados.Rados(conffile=os.environ["CEPH_CONF"])
c.connect(timeout=10)
pools = [".rgw.root"] + ["default.rgw." + p for p in
         ("control", "meta", "log", "buckets.index", "buckets.data", "buckets.non-ec")]
for p in pools:
    pg = 8 if p.endswith("data") else 4
    for cmd in ({"prefix": "osd pool create", "pool": p, "pg_num": pg, "pgp_num": pg},
                {"prefix": "osd pool application enable", "pool": p, "app": "rgw"}):
        ret, _, err = c.mon_command(json.dumps(cmd), b"")
        if ret != 0:
            raise SystemExit(f"{cmd['prefix']} {p}: {err}")
c.shutdown()
EOF

  step "pools created"
  spawn rgw radosgw -c "$dir/ceph.conf" -n client.rgw.pier -f
  wait_for 60 "radosgw to answer on 127.0.0.1:$rgw_port" rgw_answers
  step "radosgw answers"

  timeout 60 radosgw-admin -c "$dir/ceph.conf" -n client.admin user create --uid=pier --display-name=pier \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$dir/log/user.out" 2>&1 \
    || fail "radosgw-admin user create failed: $(tail -n 5 "$dir/log/user.out")"

  if [ -n "${RGW_OWNER_PID:-}" ]; then
    # Kills the daemons when the owner (a test binary) ends, however it
    # ends: its folder may be gone by then, so the pids travel with the
    # watchdog. `stop` kills the watchdog first, so it never fires at pids
    # that were reused after a normal stop.
    local pids
    pids=$(cat "$dir"/run/{rgw,osd,mon}.pid.own | tr '\n' ' ')
    # shellcheck disable=SC2086
    (tail --pid="$RGW_OWNER_PID" -f /dev/null; kill -KILL $pids) >/dev/null 2>&1 </dev/null &
    echo $! >"$dir/run/0watchdog.pid.own"
  fi

  cat >"$dir/env.tmp" <<EOF
RGW_ENDPOINT=http://127.0.0.1:$rgw_port
RGW_ACCESS_KEY=$ACCESS_KEY
RGW_SECRET_KEY=$SECRET_KEY
RGW_REGION=us-east-1
EOF
  mv "$dir/env.tmp" "$dir/env"
  step "user created"
  echo "rgw.sh: radosgw ready at http://127.0.0.1:$rgw_port in $(($(now_ms) - t0)) ms" >&2
}

case "$cmd" in
  start) start ;;
  stop)
    [ -d "$dir" ] || exit 0
    stop_all
    ;;
  *) usage ;;
esac
