#!/usr/bin/env bash
# Garbage collection end to end: skopeo pushes two images sharing a layer
# into one repository and deletes one; a dry run through Harbor's GC API
# names the unshared blobs and removes nothing; a real run removes their
# files and keeps the shared layer; the kept image still pulls byte-identical;
# the metrics show the runs; after stopping Pier, fsck is clean, `pier gc`
# refuses nothing and finds nothing left; while Pier runs, `pier gc` refuses.
source "$(dirname "$0")/lib/common.sh"

port=$(free_port)
echo '{"gc": {"grace_seconds": 0, "schedule": ""}}' >"$WORK/config.json"
start_pier pier "$port" "$WORK/data" --config "$WORK/config.json"
reg="127.0.0.1:$port"
api="http://$reg/api/v2.0"
gen="$LIB_DIR/make_oci_layout.py"

# Two images: layer 0 from the same base seed (shared), layer 1 their own.
python3 "$gen" "$WORK/a" image --layers 2 --size 200000 --base-seed 7 --seed 1 --tag a
python3 "$gen" "$WORK/b" image --layers 2 --size 200000 --base-seed 7 --seed 2 --tag b
skopeo_ copy --dest-tls-verify=false "oci:$WORK/a:a" "docker://$reg/team/app:a" >/dev/null
skopeo_ copy --dest-tls-verify=false "oci:$WORK/b:b" "docker://$reg/team/app:b" >/dev/null

blobs_of() { layout_manifest "$1" "$2" | jq -r '.config.digest, .layers[].digest'; }
blobs_of "$WORK/a" a | sort >"$WORK/a.blobs"
blobs_of "$WORK/b" b | sort >"$WORK/b.blobs"
shared=$(comm -12 "$WORK/a.blobs" "$WORK/b.blobs")
only_b=$(comm -13 "$WORK/a.blobs" "$WORK/b.blobs")
[ "$(echo "$shared" | wc -l)" = 1 ] || fail "the images should share one layer: $shared"
[ "$(echo "$only_b" | wc -l)" = 2 ] || fail "b should have a config and a layer of its own: $only_b"
blob_file() { local d=$1; echo "$WORK/data/blobs/sha256/${d:7:2}/${d#sha256:}"; }
for d in $shared $only_b; do [ -f "$(blob_file "$d")" ] || fail "no blob file for $d after the push"; done

skopeo_ delete --tls-verify=false "docker://$reg/team/app:b" >/dev/null
# grace_seconds 0 still means "older than now": let a second pass.
sleep 1.1

# run_gc BODY: POST a Manual run, wait for it to end; prints the run's id.
run_gc() {
  curl -s -D "$WORK/h" -o /dev/null -X POST -H 'Content-Type: application/json' -d "$1" "$api/system/gc/schedule"
  grep -q '^HTTP/1.1 201' "$WORK/h" || fail "POST /system/gc/schedule: $(cat "$WORK/h")"
  local loc id deadline=$((SECONDS + 60))
  loc=$(grep -i '^Location:' "$WORK/h" | tr -d '\r' | awk '{print $2}')
  id=${loc##*/}
  [[ "$loc" == /api/v2.0/system/gc/* && "$id" =~ ^[0-9]+$ ]] || fail "Location $loc"
  until [[ "$(curl -sf "$api/system/gc/$id" | jq -r .job_status)" =~ ^(Success|Error|Stopped)$ ]]; do
    [ $SECONDS -lt $deadline ] || fail "GC run $id did not end"
    sleep 0.1
  done
  echo "$id"
}

# --- dry run: names the unshared blobs, removes nothing ---
id=$(run_gc '{"schedule":{"type":"Manual"},"parameters":{"dry_run":true,"workers":2}}')
run=$(curl -sf "$api/system/gc/$id")
[ "$(echo "$run" | jq -r .job_status)" = Success ] || fail "dry run: $run"
[ "$(echo "$run" | jq -r .job_name)" = GARBAGE_COLLECTION ] || fail "job_name: $run"
[ "$(echo "$run" | jq -r .job_parameters)" = '{"delete_untagged":false,"dry_run":true,"workers":2}' ] ||
  fail "job_parameters: $run"
curl -sf "$api/system/gc/$id/log" >"$WORK/dry.log"
for d in $only_b; do grep -q "delete blob $d" "$WORK/dry.log" || fail "dry run log lacks $d: $(cat "$WORK/dry.log")"; done
grep -q "$shared" "$WORK/dry.log" && fail "dry run would remove the shared layer: $(cat "$WORK/dry.log")"
freed=$(echo "$run" | jq -r .pier.freed_bytes)
[ "$freed" -gt 0 ] || fail "dry run frees nothing: $run"
grep -q "totals: would free $freed bytes" "$WORK/dry.log" || fail "no totals line: $(tail -n 3 "$WORK/dry.log")"
for d in $shared $only_b; do [ -f "$(blob_file "$d")" ] || fail "the dry run removed $d"; done
pass "dry run names the unshared blobs ($freed bytes) and removes nothing"

# --- real run: the unshared blob files go, the shared one stays ---
id=$(run_gc '{"schedule":{"type":"Manual"}}')
run=$(curl -sf "$api/system/gc/$id")
[ "$(echo "$run" | jq -r .job_status)" = Success ] || fail "run: $run"
[ "$(echo "$run" | jq -r .pier.blobs_deleted)" = 2 ] || fail "blobs_deleted: $run"
[ "$(echo "$run" | jq -r .pier.blob_bytes_deleted)" = "$freed" ] || fail "freed differs from the dry run: $run"
for d in $only_b; do [ ! -e "$(blob_file "$d")" ] || fail "blob file of $d is still there"; done
[ -f "$(blob_file "$shared")" ] || fail "the shared layer's file was removed"
[ "$(curl -sf "$api/system/gc" | jq -r '.[0].id')" = "$id" ] || fail "history is not newest first"
skopeo_ copy --src-tls-verify=false "docker://$reg/team/app:a" "oci:$WORK/a-back:a" >/dev/null
for f in "$WORK"/a/blobs/sha256/*; do
  cmp -s "$f" "$WORK/a-back/blobs/sha256/$(basename "$f")" || fail "pulled blob $(basename "$f") differs"
done
pass "real run frees the unshared blobs, keeps the shared layer; the kept image pulls byte-identical"

# --- metrics ---
curl -sf "http://$reg/metrics" >"$WORK/metrics.txt"
grep -q '^pier_gc_runs_total{result="success"} 2$' "$WORK/metrics.txt" || fail "runs_total: $(grep pier_gc_ "$WORK/metrics.txt")"
grep -q "^pier_gc_reclaimed_bytes_total $freed\$" "$WORK/metrics.txt" || fail "reclaimed bytes: $(grep pier_gc_ "$WORK/metrics.txt")"
grep -q '^pier_gc_reclaimed_blobs_total 2$' "$WORK/metrics.txt" || fail "reclaimed blobs: $(grep pier_gc_ "$WORK/metrics.txt")"
grep -q '^pier_gc_runs_total{result="error"} 0$' "$WORK/metrics.txt" || fail "error series missing"
ts=$(awk '/^pier_gc_last_success_timestamp_seconds /{print int($2)}' "$WORK/metrics.txt")
[ "$ts" -gt $(( $(date +%s) - 300 )) ] || fail "last success timestamp $ts"
grep -q '^pier_gc_schedule_interval_seconds 0$' "$WORK/metrics.txt" || fail "gc.schedule \"\" is no schedule"
pass "metrics show the runs"

# --- offline: refused while Pier holds the folder; then fsck and gc ---
if "$PIER_BIN" gc --data "$WORK/data" --dry-run >"$WORK/busy.out" 2>&1; then fail "pier gc ran beside a running Pier"; fi
grep -q "in use by a running Pier" "$WORK/busy.out" || fail "unclear refusal: $(cat "$WORK/busy.out")"
pass "pier gc refuses while Pier runs and says why"
stop_pid "$PIER_PID"
"$PIER_BIN" fsck --data "$WORK/data" >"$WORK/fsck.log" 2>&1 || fail "fsck after GC: $(tail -n 20 "$WORK/fsck.log")"
"$PIER_BIN" gc --data "$WORK/data" --dry-run --grace-seconds 0 >"$WORK/offline.out" 2>&1 ||
  fail "pier gc --dry-run: $(cat "$WORK/offline.out")"
grep -q "^would free 0 B (0 bytes).*(nothing to collect)" "$WORK/offline.out" || fail "offline dry run: $(cat "$WORK/offline.out")"
pass "fsck is clean after GC and offline pier gc finds nothing left"
