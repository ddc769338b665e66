#!/usr/bin/env bash
# Crash safety: several cycles of heavy concurrent pushing (blobs, and
# manifests tagging some of them) into one data folder, each ended by SIGKILL
# at a random moment, then a restart that must keep every blob and manifest
# the client saw acknowledged (201), keep a resumable upload at least at its
# last acknowledged Range (and not past what was sent), let the client finish
# that upload, and leave `pier fsck` clean at the end. SIGKILL keeps the page
# cache, so this checks ordering and atomicity (file vs. record), not fsync.
# The load, resume and verify logic lives in lib/crash_client.py.
source "$(dirname "$0")/lib/common.sh"

client="$LIB_DIR/crash_client.py"
data="$WORK/data"
journal="$WORK/journal.jsonl"
cycles=${CRASH_CYCLES:-4}
threads=${CRASH_THREADS:-16}

# wait_exit PID SECONDS: until the process is gone; its exit status in $EXIT_RC.
wait_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
  EXIT_RC=0
  wait "$pid" || EXIT_RC=$?
}

port=$(free_port)
start_pier pier0 "$port" "$data"
for cycle in $(seq 1 "$cycles"); do
  state="$WORK/resumable-$cycle.json"
  spawn "$WORK/load-$cycle.log" python3 "$client" load "127.0.0.1:$port" --journal "$journal" \
    --state "$state" --cycle "$cycle" --threads "$threads" --max-seconds 60
  load_pid=$LAST_PID
  python3 "$client" wait-started --journal "$journal" --state "$state" --cycle "$cycle" --timeout 30 ||
    fail "cycle $cycle: load did not start: $(tail -n 5 "$WORK/load-$cycle.log")"
  delay=$(python3 -c 'import random; print(f"{random.uniform(0.5, 3.0):.2f}")')
  sleep "$delay"  # deliberate: the random crash moment
  kill -KILL "$PIER_PID"
  wait "$PIER_PID" 2>/dev/null || true
  wait_exit "$load_pid" 90 || fail "cycle $cycle: load client still running 90s after the kill"
  [ "$EXIT_RC" = 0 ] || fail "cycle $cycle: the server answered unexpectedly under load: $(grep -m 5 UNEXPECTED "$WORK/load-$cycle.log")"
  load_summary=$(tail -n 1 "$WORK/load-$cycle.log")

  port=$(free_port)
  start_pier "pier$cycle" "$port" "$data"
  python3 "$client" resume "127.0.0.1:$port" --state "$state" --journal "$journal" >"$WORK/resume-$cycle.out" ||
    fail "cycle $cycle: resumable upload after the crash"
  python3 "$client" verify "127.0.0.1:$port" --journal "$journal" >"$WORK/verify-$cycle.out" ||
    fail "cycle $cycle: acknowledged blobs lost or damaged after the crash"
  pass "cycle $cycle: SIGKILL after ${delay}s ($load_summary); $(cat "$WORK/verify-$cycle.out"); $(cat "$WORK/resume-$cycle.out")"
done

stop_pid "$PIER_PID"
"$PIER_BIN" fsck --data "$data" >"$WORK/fsck.log" 2>&1 || fail "fsck after $cycles crashes: $(tail -n 20 "$WORK/fsck.log")"
pass "fsck is clean after $cycles crashes: $(tail -n 1 "$WORK/fsck.log")"
