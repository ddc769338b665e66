#!/usr/bin/env bash
# The pull-through cache when the upstream lies or Pier dies, judged from
# the HTTP side only (so it holds whether a fill is stored before it is
# served or streamed to clients while it arrives):
#  - an upstream whose blob bodies have one byte flipped (lib/flip_proxy.py
#    in front of docker-registry): no client gets a complete 200 with wrong
#    bytes, skopeo's pull fails, nothing is stored, Pier stays up, and the
#    same blob then comes right through an honest upstream;
#  - `kill -9` while a large blob is being fetched (upstream behind
#    slowlink): after a restart no half blob is visible; the blob comes back
#    whole and verified after a new fetch; fsck is clean.
source "$(dirname "$0")/lib/common.sh"

up_port=$(free_port)
start_docker_registry upstream "$up_port"
up="127.0.0.1:$up_port"
gen="$LIB_DIR/make_oci_layout.py"
python3 "$gen" "$WORK/small" image --layers 1 --size 1000000 --seed 61
python3 "$gen" "$WORK/big" image --layers 1 --size 8000000 --seed 62
skopeo_ copy --dest-tls-verify=false "oci:$WORK/small:v1" "docker://$up/library/small:v1" >/dev/null
skopeo_ copy --dest-tls-verify=false "oci:$WORK/big:v1" "docker://$up/library/big:v1" >/dev/null
first_layer() {
  local m
  m=$(layout_digest "$1" v1)
  python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' "$1/blobs/sha256/${m#sha256:}"
}
small_layer=$(first_layer "$WORK/small")
big_layer=$(first_layer "$WORK/big")

spawn "$WORK/flip.log" python3 "$LIB_DIR/flip_proxy.py" "$up"
deadline=$((SECONDS + 10))
until grep -q '^listening ' "$WORK/flip.log"; do
  [ $SECONDS -lt $deadline ] || fail "flip_proxy did not start"
  sleep 0.05
done
flip_port=$(awk '/^listening /{print $2; exit}' "$WORK/flip.log")
# 4 MB/s: the 8 MB layer takes two seconds to fetch, time to kill Pier mid-way.
start_slowlink link "$up_port" --rate 4000000 --direction both

cat >"$WORK/pier.json" <<JSON
{"proxy": {"upstreams": [
  {"name": "bad", "url": "http://127.0.0.1:$flip_port"},
  {"name": "good", "url": "http://$up"},
  {"name": "slow", "url": "http://$LINK_ADDR"}
]}}
JSON
port=$(free_port)
start_pier pier "$port" "$WORK/data" --config "$WORK/pier.json"
reg="127.0.0.1:$port"
stored() { [ -e "$WORK/data/blobs/sha256/${1:7:2}/${1#sha256:}" ]; }

# --- an upstream that flips a byte of every blob ---
for i in 1 2; do
  res=$(python3 "$LIB_DIR/blob_get.py" "http://$reg/v2/bad/library/small/blobs/$small_layer" "$small_layer" \
    "$WORK/flipped-$i") || fail "a client got a complete 200 with wrong bytes: $res"
  case "$res" in *"verified=yes"*) fail "the flipping upstream served the right bytes? $res" ;; esac
done
grep -q "^flipped /v2/library/small/blobs/$small_layer" "$WORK/flip.log" || fail "the proxy flipped nothing"
if skopeo_ copy --src-tls-verify=false "docker://$reg/bad/library/small:v1" "oci:$WORK/bad-back:v1" \
  >"$WORK/skopeo-bad.log" 2>&1; then
  fail "skopeo pulled an image whose layer the upstream corrupted"
fi
kill -0 "$PIER_PID" 2>/dev/null || fail "pier died on a corrupt upstream blob"
! stored "$small_layer" || fail "the corrupt blob was stored"
pass "flipped byte upstream: no complete 200 with wrong bytes ($res), skopeo fails, nothing stored, Pier up"

res=$(python3 "$LIB_DIR/blob_get.py" "http://$reg/v2/good/library/small/blobs/$small_layer" "$small_layer" \
  "$WORK/good") || fail "$res"
[ "$res" = "status=200 complete=yes verified=yes bytes=$(stat -c %s "$WORK/small/blobs/sha256/${small_layer#sha256:}")" ] ||
  fail "the honest upstream after the corrupt one: $res"
skopeo_ copy --src-tls-verify=false "docker://$reg/good/library/small:v1" "oci:$WORK/good-back:v1" >/dev/null ||
  fail "skopeo pull through the honest upstream"
pass "the same blob through the honest upstream: whole and verified"

# --- kill -9 mid-fetch of a large blob ---
link_reset link
spawn "$WORK/cut-client.log" python3 "$LIB_DIR/blob_get.py" "http://$reg/v2/slow/library/big/blobs/$big_layer" \
  "$big_layer" "$WORK/cut"
client=$LAST_PID
deadline=$((SECONDS + 20))
until [ "$(link_stat link bytes_down)" -gt 2000000 ]; do
  [ $SECONDS -lt $deadline ] || fail "the fetch of the large blob never got going"
  sleep 0.1
done
[ "$(link_stat link bytes_down)" -lt 7000000 ] || fail "the fetch was almost done before the kill: raise the layer size"
kill -9 "$PIER_PID"
wait "$PIER_PID" 2>/dev/null || true
wait "$client" || fail "the client cut by the crash got a complete 200 with wrong bytes: $(cat "$WORK/cut-client.log")"
! stored "$big_layer" || fail "a half-fetched blob is in blobs/ after kill -9"
"$PIER_BIN" fsck --data "$WORK/data" >"$WORK/fsck-killed.log" 2>&1 ||
  fail "fsck right after kill -9: $(tail -n 20 "$WORK/fsck-killed.log")"
pass "kill -9 mid-fetch: the client saw $(cat "$WORK/cut-client.log"), no blob stored, fsck clean"

start_pier pier-restarted "$port" "$WORK/data" --config "$WORK/pier.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "http://$reg/v2/slow/library/big/blobs/$big_layer")
case "$code" in 200 | 404 | 503) ;; *) fail "HEAD after the restart: $code" ;; esac
res=$(python3 "$LIB_DIR/blob_get.py" "http://$reg/v2/slow/library/big/blobs/$big_layer" "$big_layer" "$WORK/after") ||
  fail "$res"
[ "$res" = "status=200 complete=yes verified=yes bytes=$(stat -c %s "$WORK/big/blobs/sha256/${big_layer#sha256:}")" ] ||
  fail "GET after the restart: $res"
stored "$big_layer" || fail "the refetched blob is not in the store"
pass "after the restart the blob is fetched again, whole and verified"

stop_pid "$PIER_PID"
"$PIER_BIN" fsck --data "$WORK/data" >"$WORK/fsck.log" 2>&1 || fail "fsck: $(tail -n 20 "$WORK/fsck.log")"
pass "fsck is clean at the end"
