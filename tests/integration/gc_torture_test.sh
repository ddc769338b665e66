#!/usr/bin/env bash
# GC torture (issue 12): 8 clients push, retag, delete and mount images that
# share layers while GC (delete_untagged) runs back to back through Harbor's
# API, for a bounded time (GC_TORTURE_SECONDS, default 60). Afterwards: no
# client saw an error, every tag still pulls byte-identical with skopeo (its
# manifest digest is the one pushed, every blob verified), a GC after the
# grace period leaves nothing unreferenced (`pier gc --dry-run` offline finds
# nothing), and `pier fsck` is clean.
source "$(dirname "$0")/lib/common.sh"

SECONDS_LOAD=${GC_TORTURE_SECONDS:-60}
GRACE=15
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
cat > "$WORK/pier.json" <<JSON
{"gc": {"grace_seconds": $GRACE, "schedule": ""}, "log": {"access": false}}
JSON
start_pier pier "$PORT" "$WORK/data" --config "$WORK/pier.json"

python3 "$LIB_DIR/gc_torture.py" "$BASE" "$SECONDS_LOAD" 8 "$WORK/torture.json"
LOAD_END=$SECONDS
python3 - "$WORK/torture.json" <<'PY' || fail "the load saw errors"
import json, sys
r = json.load(open(sys.argv[1]))
print("ok - load: %s, %d GC runs, %d tags left" % (r["ops"], r["gc_runs"], len(r["tags"])))
if r["errors"]:
    print("\n".join(r["errors"][:20]), file=sys.stderr)
    sys.exit(1)
if r["gc_runs"] < 2 or r["ops"].get("push", 0) < 50 or r["ops"].get("delete", 0) < 5 or r["ops"].get("mount", 0) < 1:
    sys.exit("too little happened to mean anything: %s, %d GC runs" % (r["ops"], r["gc_runs"]))
PY
pass "no client saw an error while GC ran back to back"

# Every tag pulls, byte-identical: the manifest is the one pushed, skopeo
# verifies every blob against its digest.
python3 -c 'import json,sys; [print(k, v) for k, v in json.load(open(sys.argv[1]))["tags"].items()]' \
  "$WORK/torture.json" > "$WORK/tags"
n=0
while read -r ref digest; do
  got=$(skopeo_ inspect --tls-verify=false --raw "docker://127.0.0.1:$PORT/$ref" | sha256sum | cut -d' ' -f1)
  [ "sha256:$got" = "$digest" ] || fail "$ref: manifest sha256:$got, pushed $digest"
  rm -rf "$WORK/pull"
  skopeo_ copy --src-tls-verify=false "docker://127.0.0.1:$PORT/$ref" "dir:$WORK/pull" >/dev/null \
    || fail "$ref does not pull"
  n=$((n + 1))
done < "$WORK/tags"
[ "$n" -gt 0 ] || fail "no tag left to check"
pass "$n tags pull byte-identical"

# Past the grace period one more GC takes everything unreferenced.
while [ $((SECONDS - LOAD_END)) -le $GRACE ]; do sleep 0.5; done
curl -s -o "$WORK/gc.json" -D "$WORK/gc.h" -X POST "$BASE/api/v2.0/system/gc/schedule" \
  -H 'Content-Type: application/json' \
  -d '{"schedule":{"type":"Manual"},"parameters":{"delete_untagged":true,"dry_run":false,"workers":1}}'
LOC=$(awk 'tolower($1)=="location:"{print $2}' "$WORK/gc.h" | tr -d '\r')
[ -n "$LOC" ] || fail "no GC run started: $(cat "$WORK/gc.json")"
deadline=$((SECONDS + 60))
until curl -s "http://127.0.0.1:$PORT$LOC" | grep -q '"job_status":"Success"'; do
  [ $SECONDS -lt $deadline ] || fail "the final GC did not succeed: $(curl -s "http://127.0.0.1:$PORT$LOC")"
  sleep 0.1
done
stop_pid "$PIER_PID"
"$PIER_BIN" gc --data "$WORK/data" --dry-run --delete-untagged --grace-seconds 0 > "$WORK/gc-dry.out" \
  || fail "pier gc --dry-run failed: $(cat "$WORK/gc-dry.out")"
if grep -q "^\[dry run\] delete" "$WORK/gc-dry.out"; then
  grep "^\[dry run\] delete" "$WORK/gc-dry.out" | head -5 >&2
  fail "unreferenced content outside the grace period survived the final GC"
fi
pass "nothing unreferenced left ($(tail -1 "$WORK/gc-dry.out"))"
"$PIER_BIN" fsck --data "$WORK/data" > "$WORK/fsck.out" || { tail -5 "$WORK/fsck.out" >&2; fail "fsck found problems"; }
pass "fsck clean: $(tail -1 "$WORK/fsck.out")"
