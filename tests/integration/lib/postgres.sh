#!/usr/bin/env bash
# A private PostgreSQL 15 server for tests, all of it under one folder.
#
#   postgres.sh start DIR   initdb (first time) + start; writes DIR/env
#   postgres.sh stop DIR    fast shutdown by PID, waits until it is gone
#
# DIR/env (sourceable, mode 0600):
#   PG_DSN=host=127.0.0.1 port=N dbname=pier user=pier   (no password in it)
#   PG_PASSWORD=...   the role's password (also alone in DIR/password)
#   PG_PID=...        the postmaster
#   PG_PORT, PG_SOCKET_DIR, PG_DATA, PG_BIN
#
# The server listens on 127.0.0.1 only, on a port picked free by binding port
# 0 (another start may grab it in between: a failed start is retried on a
# fresh port), and on a unix socket in DIR/sock; so two instances never
# share anything. Loopback TCP takes scram-sha-256 (role `pier`, a random
# password, database `pier` it owns, CREATEDB); the socket (only the
# postgres user and root can enter DIR/sock) trusts the superuser.
# initdb refuses to run as root: as root, the server runs as `postgres` via
# runuser. Durability is off (fsync=off): a test server is thrown away, and
# the tests are about semantics, not surviving power loss.
# `start` on a DIR that already holds a stopped server restarts it on the
# same port (tests restart the server under live connection pools).
# Exit codes: 0 ok, 3 PostgreSQL is not installed, 1 anything else.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
READY_SECONDS=${PG_READY_SECONDS:-60}

die() { echo "postgres.sh: $*" >&2; exit 1; }
usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
DIR=$(cd "$2" && pwd)
DATA=$DIR/data
SOCK=$DIR/sock
LOG=$DIR/postgres.log

AS=()
if [ "$(id -u)" -eq 0 ]; then
  getent passwd postgres >/dev/null || die "running as root needs the postgres user (Debian's postgresql package)"
  AS=(runuser -u postgres --)
fi

now_ms() { date +%s%3N; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
# A postmaster that exited may linger as a zombie until whoever inherited it
# reaps it (pg_ctl daemonizes it): a zombie counts as gone.
pid_alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
  [ "$state" != Z ]
}

# Polls pg_isready on the socket until the server accepts connections, the
# postmaster dies, or the deadline passes.
wait_ready() {
  local port=$1 deadline=$(( $(date +%s) + READY_SECONDS )) pid=""
  while :; do
    [ -z "$pid" ] && [ -f "$DATA/postmaster.pid" ] && pid=$(head -n1 "$DATA/postmaster.pid" 2>/dev/null || true)
    if "$PG_BIN/pg_isready" -q -h "$SOCK" -p "$port" -d postgres -U postgres 2>/dev/null; then
      head -n1 "$DATA/postmaster.pid"
      return 0
    fi
    # pg_ctl -W returns at once; a postmaster that failed (port taken) exits.
    if [ -n "$pid" ] && ! pid_alive "$pid"; then return 1; fi
    [ "$(date +%s)" -lt "$deadline" ] || { echo "not ready after ${READY_SECONDS}s" >&2; return 1; }
    sleep 0.05
  done
}

start() {
  [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] || { echo "postgres.sh: no initdb/pg_ctl in $PG_BIN (apt-get install postgresql)" >&2; exit 3; }
  local t0 fresh=0 port="" password pid=""
  t0=$(now_ms)
  umask 077
  if [ -f "$DIR/env" ]; then
    # shellcheck disable=SC1091
    port=$(. "$DIR/env" && echo "$PG_PORT")
    pid=$(. "$DIR/env" && echo "$PG_PID")
    pid_alive "$pid" && die "already running (pid $pid) in $DIR"
  fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    fresh=1
    rm -rf "$DATA" "$SOCK"
    mkdir -p "$DATA" "$SOCK"
    if [ ${#AS[@]} -gt 0 ]; then
      chmod 0711 "$DIR"  # postgres may pass through, list nothing
      chown postgres: "$DATA" "$SOCK"
    fi
    "${AS[@]}" "$PG_BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$DIR/initdb.log" 2>&1 \
      || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  fi
  local tries=0
  while :; do
    tries=$((tries + 1))
    [ -n "$port" ] && [ $fresh -eq 0 ] && [ $tries -eq 1 ] || port=$(free_port)
    rm -f "$LOG"
    [ ${#AS[@]} -gt 0 ] && { touch "$LOG"; chown postgres: "$LOG"; }
    "${AS[@]}" "$PG_BIN/pg_ctl" start -W -D "$DATA" -l "$LOG" \
      -o "-k $SOCK -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      >/dev/null || die "pg_ctl start failed"
    if pid=$(wait_ready "$port"); then break; fi
    [ $tries -lt 4 ] || { tail -n 20 "$LOG" >&2; die "server did not start"; }
    echo "postgres.sh: start on port $port failed, retrying on another" >&2
  done
  if [ $fresh -eq 1 ]; then
    password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    # The password goes through stdin, never a command line (ps shows those).
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$port" -U postgres -d postgres >/dev/null <<SQL \
      || die "could not create role and database"
CREATE ROLE pier LOGIN CREATEDB PASSWORD '$password';
CREATE DATABASE pier OWNER pier;
SQL
    printf '%s' "$password" >"$DIR/password"
  else
    password=$(cat "$DIR/password")
  fi
  cat >"$DIR/env" <<ENV
PG_DSN='host=127.0.0.1 port=$port dbname=pier user=pier'
PG_PASSWORD='$password'
PG_PID=$pid
PG_PORT=$port
PG_SOCKET_DIR='$SOCK'
PG_DATA='$DATA'
PG_BIN='$PG_BIN'
ENV
  echo "postgres.sh: ready on 127.0.0.1:$port (pid $pid) in $(( $(now_ms) - t0 )) ms" >&2
}

stop() {
  [ -f "$DIR/env" ] || return 0
  local pid deadline
  pid=$(. "$DIR/env" && echo "$PG_PID")
  pid_alive "$pid" || return 0
  # Fast shutdown: roll back open transactions, disconnect, checkpoint.
  "${AS[@]}" "$PG_BIN/pg_ctl" stop -W -D "$DATA" -m fast >/dev/null 2>&1 || kill -INT "$pid" 2>/dev/null || true
  deadline=$(( $(date +%s) + 30 ))
  while pid_alive "$pid"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "postgres.sh: pid $pid ignored fast shutdown for 30s, killing it" >&2
      kill -QUIT "$pid" 2>/dev/null || true
      sleep 1
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.05
  done
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
