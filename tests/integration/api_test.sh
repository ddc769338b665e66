#!/usr/bin/env bash
# The whole OCI Distribution 1.1 API, checked the way the official
# conformance suite (pull, push, content discovery, content management) does,
# plus the robustness cases real clients hit: streamed and 100-continue
# PATCHes, 416 recovery, Harbor's six Accept lines, oversized headers and
# manifests, bodies cut short, unknown methods. A second Pier started with
# --public-url checks that absolute Location/Link URLs can be followed.
# The checks live in lib/api_checks.py (standard-library Python).
source "$(dirname "$0")/lib/common.sh"

port=$(free_port)
start_pier pier "$port" "$WORK/data"
port2=$(free_port)
start_pier pier-public "$port2" "$WORK/data-public" --public-url "http://127.0.0.1:$port2"

python3 "$LIB_DIR/api_checks.py" "127.0.0.1:$port" --public-url-server "127.0.0.1:$port2" ||
  fail "OCI API checks failed (see FAIL lines above)"

# Both servers survived everything and still hold their data consistently.
for pid in "$PIER_PID" "${PIDS[0]}"; do kill -0 "$pid" 2>/dev/null || fail "pier (pid $pid) died during the checks"; done
stop_pid "${PIDS[0]}"
stop_pid "$PIER_PID"
"$PIER_BIN" fsck --data "$WORK/data" >"$WORK/fsck.log" 2>&1 || fail "fsck after the API checks: $(tail -n 20 "$WORK/fsck.log")"
pass "fsck is clean after the API checks"
