#!/usr/bin/env bash
# Pier with its blob bytes in a real S3 (a Ceph radosgw this test starts,
# tests/integration/lib/rgw.sh): skopeo pushes and pulls through it (a layer
# larger than a multipart part included), the OCI conformance workflows pass
# on it, Range reads work, nothing is left under uploads/ after the pushes,
# a restart keeps everything, `storage.s3.redirect` answers pulls with a
# presigned URL that skopeo follows, and a wrong secret stops the start with
# a message that does not carry it.
source "$(dirname "$0")/lib/common.sh"

# BlueStore wants O_DIRECT: the cluster lives on disk, under /var/tmp.
RGW_DIR=$(mktemp -d /var/tmp/pier-rgw-it.XXXXXX)
# errexit is off inside: `(exit $rc)` hands cleanup the status without aborting the trap.
trap 'rc=$?; set +e; bash "$LIB_DIR/rgw.sh" stop "$RGW_DIR/c" >/dev/null 2>&1; rm -rf "$RGW_DIR"; (exit $rc); cleanup' EXIT
RGW_OWNER_PID=$$ bash "$LIB_DIR/rgw.sh" start "$RGW_DIR/c" >"$WORK/rgw.log" 2>&1 || { cat "$WORK/rgw.log" >&2; fail "radosgw did not start"; }
# shellcheck disable=SC1091
source "$RGW_DIR/c/env"
printf '%s\n' "$RGW_SECRET_KEY" >"$WORK/s3-secret"

# write_config FILE REDIRECT [SECRET_FILE]
write_config() {
  cat >"$1" <<JSON
{"storage": {"type": "s3", "s3": {"endpoint": "$RGW_ENDPOINT", "region": "us-east-1", "bucket": "pier",
   "prefix": "it", "path_style": true, "access_key": "$RGW_ACCESS_KEY",
   "secret_key_file": "${3:-$WORK/s3-secret}", "redirect": $2}}}
JSON
}

# s3_keys PREFIX: the bucket's keys under PREFIX, one per line (signed by
# lib/s3_list.py, an implementation that shares no code with Pier's).
s3_keys() {
  S3_ACCESS_KEY=$RGW_ACCESS_KEY S3_SECRET_KEY=$RGW_SECRET_KEY python3 "$LIB_DIR/s3_list.py" "$RGW_ENDPOINT" pier "$1" ||
    fail "listing the bucket failed"
}

write_config "$WORK/pier.json" false
port=$(free_port)
start_pier pier "$port" "$WORK/data" --config "$WORK/pier.json"
reg="127.0.0.1:$port"
grep -q "$RGW_SECRET_KEY" "$WORK/pier.log" && fail "the S3 secret reached the log"

# --- skopeo round trip, one layer past the 8 MiB part size ---
gen="$LIB_DIR/make_oci_layout.py"
python3 "$gen" "$WORK/img" image --layers 2 --size 300000 --app-size 12000000 --seed 41
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$reg/team/app:v1" >/dev/null
want=$(layout_digest "$WORK/img" v1)
skopeo_ copy --src-tls-verify=false "docker://$reg/team/app:v1" "oci:$WORK/back:v1" >/dev/null
for f in "$WORK"/img/blobs/sha256/*; do
  cmp -s "$f" "$WORK/back/blobs/sha256/$(basename "$f")" || fail "blob $(basename "$f") differs after the round trip"
done
[ "$(layout_digest "$WORK/back" v1)" = "$want" ] || fail "manifest digest changed"
pass "skopeo push and pull through S3 keep every byte (a 12 MB layer in multipart parts)"

# Every blob of the image is an object under its digest; no session is left.
for f in "$WORK"/img/blobs/sha256/*; do
  h=$(basename "$f")
  # Manifests live in the metadata, not in the bucket.
  [ "sha256:$h" = "$want" ] && continue
  s3_keys "it/blobs/sha256/${h:0:2}/$h" | grep -qx "it/blobs/sha256/${h:0:2}/$h" || fail "no object for blob $h; under it/: $(s3_keys it/ | head -20)"
done
left=$(s3_keys "it/uploads/")
[ -z "$left" ] || fail "upload objects left behind: $left"
pass "blobs are objects named by digest; no upload object is left"

# --- Range ---
big=$(ls -S "$WORK"/img/blobs/sha256/ | head -1)
curl -sf -H "Range: bytes=9000000-9000099" "http://$reg/v2/team/app/blobs/sha256:$big" -o "$WORK/range" ||
  fail "range GET failed"
dd if="$WORK/img/blobs/sha256/$big" bs=1 skip=9000000 count=100 status=none | cmp -s - "$WORK/range" ||
  fail "range bytes differ"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Range: bytes=99999999-" "http://$reg/v2/team/app/blobs/sha256:$big")
[ "$code" = 416 ] || fail "unsatisfiable range answered $code"
pass "Range reads come from the right offset of the object"

# --- OCI conformance workflows on S3 ---
python3 "$LIB_DIR/conformance_suite.py" "$reg" >"$WORK/suite.log" 2>&1 ||
  { grep -E "FAIL|specs:" "$WORK/suite.log" >&2; fail "conformance specs failed on S3"; }
summary=$(tail -n 1 "$WORK/suite.log")
[[ "$summary" =~ ^specs:\ ([0-9]+)\ passed,\ 0\ failed,\ 4\ skipped ]] || fail "conformance on S3: $summary"
pass "conformance on S3: $summary"

# --- restart: metadata local, bytes in the bucket ---
stop_pid "$PIER_PID"
start_pier pier2 "$port" "$WORK/data" --config "$WORK/pier.json"
rm -rf "$WORK/back2"
skopeo_ copy --src-tls-verify=false "docker://$reg/team/app:v1" "oci:$WORK/back2:v1" >/dev/null
[ "$(layout_digest "$WORK/back2" v1)" = "$want" ] || fail "pull after restart changed the digest"
pass "after a restart the image still pulls from S3"

# --- replication reads its source blobs from S3 (ranged GETs, chunked PATCHes) ---
dest_port=$(free_port)
start_docker_registry dest "$dest_port"
API_BASE="http://$reg"
api POST /registries -d "{\"name\":\"dest\",\"type\":\"docker-registry\",\"url\":\"http://127.0.0.1:$dest_port\"}" >/dev/null
reg_id=$(api GET /registries | json_get 'j[0]["id"]')
api POST /replication/policies -d "{\"name\":\"to-dest\",\"src_registry\":null,\"dest_registry\":{\"id\":$reg_id},
  \"dest_namespace\":\"mirror\",\"dest_namespace_replace_count\":-1,\"trigger\":{\"type\":\"manual\"},
  \"filters\":[{\"type\":\"name\",\"value\":\"team/app\"}],\"override\":true,\"enabled\":true}" >/dev/null
pol_id=$(api GET /replication/policies | json_get 'j[0]["id"]')
api POST /replication/executions -d "{\"policy_id\":$pol_id}" >/dev/null
e1=$(wait_new_execution "$pol_id" 0 10)
[ "$(wait_execution "$e1")" = Succeed ] || { api GET "/replication/executions/$e1/tasks" >&2; fail "replication from S3 failed"; }
rm -rf "$WORK/dest-back"
skopeo_ copy --src-tls-verify=false "docker://127.0.0.1:$dest_port/mirror/app:v1" "oci:$WORK/dest-back:v1" >/dev/null
for f in "$WORK"/img/blobs/sha256/*; do
  cmp -s "$f" "$WORK/dest-back/blobs/sha256/$(basename "$f")" || fail "blob $(basename "$f") differs at the destination"
done
pass "a replication pushes the S3-stored image to docker-registry byte-identical (12 MB layer in chunks)"
stop_pid "$PIER_PID"

# --- redirect: pulls go to the object store with a presigned URL ---
write_config "$WORK/redirect.json" true
start_pier pier3 "$port" "$WORK/data" --config "$WORK/redirect.json"
hdr=$(curl -s -D - -o /dev/null "http://$reg/v2/team/app/blobs/sha256:$big")
echo "$hdr" | head -1 | grep -q " 307" || fail "no redirect: $hdr"
echo "$hdr" | grep -qi "^Location: $RGW_ENDPOINT/pier/it/blobs/sha256/${big:0:2}/$big?.*X-Amz-Signature=" ||
  fail "Location is not a presigned URL of the object: $hdr"
rm -rf "$WORK/back3"
skopeo_ copy --src-tls-verify=false "docker://$reg/team/app:v1" "oci:$WORK/back3:v1" >/dev/null
cmp -s "$WORK/img/blobs/sha256/$big" "$WORK/back3/blobs/sha256/$big" || fail "redirected pull changed bytes"
pass "storage.s3.redirect: blob GETs answer 307 to a presigned URL; skopeo follows it"
stop_pid "$PIER_PID"

# --- a wrong secret stops the start, without printing it ---
printf 'not-the-secret-%s\n' "$RANDOM" >"$WORK/bad-secret"
write_config "$WORK/bad.json" false "$WORK/bad-secret"
if "$PIER_BIN" serve --listen "127.0.0.1:$port" --data "$WORK/data" --config "$WORK/bad.json" >"$WORK/bad.log" 2>&1; then
  fail "pier started with a wrong S3 secret"
fi
grep -q "SignatureDoesNotMatch\|AccessDenied\|InvalidAccessKeyId" "$WORK/bad.log" || fail "unclear refusal: $(cat "$WORK/bad.log")"
grep -q "not-the-secret" "$WORK/bad.log" && fail "the secret was printed"
pass "a wrong secret stops the start with S3's reason and without the secret"

# --- the data folder remembers its blobs are in S3 ---
if "$PIER_BIN" serve --listen "127.0.0.1:$port" --data "$WORK/data" >"$WORK/local.log" 2>&1; then
  fail "pier opened an S3 data folder as local files"
fi
grep -Eq 'are in .{0,2}s3 pier/it/.{0,4} not .{0,2}filesystem' "$WORK/local.log" || fail "unclear refusal: $(cat "$WORK/local.log")"
"$PIER_BIN" fsck --data "$WORK/data" >"$WORK/fsck.log" 2>&1 && fail "fsck claimed to check S3 blobs"
grep -q "are in s3 pier/it/" "$WORK/fsck.log" || fail "fsck's refusal is unclear: $(cat "$WORK/fsck.log")"
pass "a data folder made for S3 refuses to open as local files (serve and fsck say why)"

# --- offline GC with the config: the deleted repository's blobs leave the bucket ---
"$PIER_BIN" gc --data "$WORK/data" --config "$WORK/pier.json" --dry-run >"$WORK/gc-dry.log" 2>&1 ||
  fail "pier gc --dry-run on S3 failed: $(cat "$WORK/gc-dry.log")"
before=$(s3_keys "it/blobs/" | wc -l)
[ "$before" -gt 0 ] || fail "no blobs in the bucket before GC"
"$PIER_BIN" gc --data "$WORK/data" --config "$WORK/pier.json" >"$WORK/gc.log" 2>&1 ||
  fail "pier gc on S3 failed: $(cat "$WORK/gc.log")"
after=$(s3_keys "it/blobs/" | wc -l)
for f in "$WORK"/img/blobs/sha256/*; do
  h=$(basename "$f")
  [ "sha256:$h" = "$want" ] && continue
  s3_keys "it/blobs/sha256/${h:0:2}/$h" | grep -qx "it/blobs/sha256/${h:0:2}/$h" || fail "GC removed referenced blob $h"
done
pass "pier gc --config runs against S3 ($before blob objects before, $after after; team/app:v1 intact)"

# --- fsck with the config hashes every blob object in the bucket ---
# The conformance workflows above delete blobs their manifest still names
# (registries allow it); fsck rightly reports those, and nothing else.
rc=0
"$PIER_BIN" fsck --data "$WORK/data" --config "$WORK/pier.json" >"$WORK/fsck2.log" 2>&1 || rc=$?
[ "$rc" -le 1 ] || fail "pier fsck --config on S3 failed: $(cat "$WORK/fsck2.log")"
other=$(grep '^DAMAGE' "$WORK/fsck2.log" | grep -v '^DAMAGE manifest conformance/' || true)
[ -z "$other" ] || fail "fsck found damage: $other"
grep -Eq "checked [1-9][0-9]* blobs, [1-9][0-9]* manifests" "$WORK/fsck2.log" ||
  fail "fsck checked nothing: $(cat "$WORK/fsck2.log")"
pass "pier fsck --config checks the blobs in S3: $(tail -1 "$WORK/fsck2.log") (the conformance repository's deleted blobs only)"
