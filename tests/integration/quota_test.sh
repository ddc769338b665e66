#!/usr/bin/env bash
# Project quotas with real clients: skopeo is refused with Harbor's 403
# DENIED message once a push would pass the limit, a monolithic upload is
# refused before its bytes are sent, nothing half-written stays, usage counts
# a shared layer once per project, and raising the limit lets the push in.
source "$(dirname "$0")/lib/common.sh"

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
start_pier pier "$PORT" "$WORK/data"
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/small" image --layers 2 --size 200000 --seed 1
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/big" image --layers 2 --size 2000000 --seed 2

# A limit before the project's first push, by name (Pier), then read by id.
[ "$(status PUT "$BASE/api/v2.0/quotas/team" -H 'Content-Type: application/json' \
     -d '{"hard":{"storage":1500000}}')" = 200 ] || fail "PUT quota by name"
Q=$(curl -s "$BASE/api/v2.0/quotas")
ID=$(python3 -c 'import json,sys; q=[x for x in json.load(sys.stdin) if x["ref"]["name"]=="team"]; print(q[0]["id"])' <<<"$Q")
pass "quota set for team before its first push (id $ID)"

skopeo_ copy --dest-tls-verify=false "oci:$WORK/small:v1" "docker://127.0.0.1:$PORT/team/small:v1" >/dev/null \
  || fail "small image within the quota was refused"
# The same layers in another repository of the project cost nothing more.
USED1=$(curl -s "$BASE/api/v2.0/quotas/$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["used"]["storage"])')
skopeo_ copy --dest-tls-verify=false "oci:$WORK/small:v1" "docker://127.0.0.1:$PORT/team/again:v1" >/dev/null \
  || fail "the same image in another repository of the project was refused"
USED2=$(curl -s "$BASE/api/v2.0/quotas/$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["used"]["storage"])')
[ "$USED1" = "$USED2" ] || fail "usage counted shared blobs twice: $USED1 then $USED2"
EXPECTED=$(python3 - "$WORK/small" <<'PY'
import json, os, sys
root = sys.argv[1]
idx = json.load(open(root + "/index.json"))
m = idx["manifests"][0]
man = json.load(open(os.path.join(root, "blobs", "sha256", m["digest"].split(":")[1])))
print(m["size"] + man["config"]["size"] + sum(l["size"] for l in man["layers"]))
PY
)
[ "$USED1" = "$EXPECTED" ] || fail "usage $USED1, expected blobs + manifest = $EXPECTED"
pass "usage $USED1 bytes = config + layers + manifest, counted once for two repositories"

if skopeo_ copy --retry-times 0 --dest-tls-verify=false "oci:$WORK/big:v1" "docker://127.0.0.1:$PORT/team/big:v1" \
     > "$WORK/skopeo-big.out" 2>&1; then
  fail "an image past the quota was accepted"
fi
grep -q "denied: Quota exceeded when processing the request of adding" "$WORK/skopeo-big.out" \
  || { cat "$WORK/skopeo-big.out" >&2; fail "skopeo did not show Harbor's quota message"; }
grep -q "configured upper limit of 1.4 MiB" "$WORK/skopeo-big.out" || fail "the message does not give the limit"
pass "skopeo refused past the quota: $(grep -o 'denied: Quota[^"]*' "$WORK/skopeo-big.out" | head -1 | cut -c1-120)..."

# A monolithic upload announcing more than is left: refused before a byte is taken.
head -c 2000000 /dev/urandom > "$WORK/blob"
DIGEST=sha256:$(sha256sum "$WORK/blob" | cut -d' ' -f1)
curl -s -o "$WORK/post.json" -w '%{http_code}' -X POST -H 'Content-Type: application/octet-stream' \
  --data-binary "@$WORK/blob" "$BASE/v2/team/mono/blobs/uploads/?digest=$DIGEST" > "$WORK/post.code"
[ "$(cat "$WORK/post.code")" = 403 ] || fail "monolithic upload past the quota answered $(cat "$WORK/post.code")"
grep -q '"code":"DENIED"' "$WORK/post.json" || fail "no DENIED code: $(cat "$WORK/post.json")"
[ "$(status GET "$BASE/v2/team/mono/blobs/$DIGEST")" = 404 ] || fail "the refused blob is visible"
pass "monolithic POST past the quota: 403 DENIED, blob not visible"

curl -s "$BASE/metrics" > /dev/null
[ "$(status PUT "$BASE/api/v2.0/quotas/$ID" -d '{"hard":{"storage":-1}}')" = 200 ] || fail "lifting the limit"
skopeo_ copy --dest-tls-verify=false "oci:$WORK/big:v1" "docker://127.0.0.1:$PORT/team/big:v1" >/dev/null \
  || fail "the push was refused after the limit was lifted"
pass "with the limit lifted the same push goes through"

stop_pid "$PIER_PID"
"$PIER_BIN" fsck --data "$WORK/data" > "$WORK/fsck.out" || { cat "$WORK/fsck.out" >&2; fail "fsck found problems"; }
[ -z "$(ls -A "$WORK/data/uploads")" ] || fail "refused uploads left files: $(ls "$WORK/data/uploads")"
pass "fsck clean, no upload left behind"
