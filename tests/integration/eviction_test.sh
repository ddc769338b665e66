#!/usr/bin/env bash
# Capacity eviction under a small storage.max_bytes, with real peers: a
# docker-registry upstream for pull-through copies and a docker-registry
# destination for an event-based push policy (team/**). Pier holds two
# pull-through copies, one replicated image (the destination acknowledged
# it) and unreplicated hosted images. Crossing the high mark evicts the
# pull-through copies first, then the replicated image (evict_replicated),
# never the unreplicated ones (nor one whose destination is down); what is left pulls byte-identical with skopeo,
# an evicted copy pulls again through the upstream, the replicated image is
# still at its destination, fsck is clean. Then only unreplicated content
# above the mark: eviction says it is blocked (metric) and drops nothing.
source "$(dirname "$0")/lib/common.sh"
gen="$LIB_DIR/make_oci_layout.py"

up_port=$(free_port)
start_docker_registry upstream "$up_port"
dest_port=$(free_port)
start_docker_registry dest "$dest_port"
echo "$LAST_PID" >"$WORK/dest.pid"
up="127.0.0.1:$up_port"

# Each image: two random layers of 300,000 bytes (+ a small config).
for i in 1 2; do
  python3 "$gen" "$WORK/cached$i" image --layers 2 --size 300000 --seed $((70 + i))
  skopeo_ copy --dest-tls-verify=false "oci:$WORK/cached$i:v1" "docker://$up/library/cached$i:v1" >/dev/null
done
for name in keep app; do
  seed=$(( $(printf '%d' "'${name:0:1}") + ${#name} * 7 ))
  python3 "$gen" "$WORK/$name" image --layers 2 --size 300000 --seed "$seed"
done
python3 "$gen" "$WORK/big" image --layers 2 --size 500000 --seed 91
python3 "$gen" "$WORK/big2" image --layers 2 --size 500000 --seed 92
python3 "$gen" "$WORK/big3" image --layers 2 --size 500000 --seed 93

# max 4,000,000: high mark 3,200,000, low mark 2,000,000. min idle 0: every
# image is a candidate as soon as no client holds it (the test's clients are
# done before the mark is crossed).
cat >"$WORK/pier.json" <<JSON
{"proxy": {"upstreams": [{"name": "hub", "url": "http://$up", "ns": ["docker.io"]}]},
 "storage": {"max_bytes": 4000000, "high_watermark_percent": 80, "low_watermark_percent": 50,
             "evict_replicated": true, "evict_min_idle_seconds": 0, "reserve_bytes": 0}}
JSON
port=$(free_port)
start_pier pier "$port" "$WORK/data" --config "$WORK/pier.json"
reg="127.0.0.1:$port"
API_BASE="http://$reg"
metric() { curl -sf "$API_BASE/metrics" | awk -v m="$1" '$1==m{print $2}'; }

api POST /registries -d "{\"name\":\"dest\",\"type\":\"docker-registry\",\"url\":\"http://127.0.0.1:$dest_port\"}" >/dev/null
reg_id=$(api GET /registries | json_get 'j[0]["id"]')
api POST /replication/policies -d "{\"name\":\"to-dest\",\"src_registry\":null,\"dest_registry\":{\"id\":$reg_id},
  \"dest_namespace\":\"\",\"trigger\":{\"type\":\"event_based\",\"trigger_settings\":{\"cron\":\"\"}},
  \"filters\":[{\"type\":\"name\",\"value\":\"team/**\"}],\"deletion\":false,\"override\":true,\"enabled\":true}" >/dev/null
pol_id=$(api GET /replication/policies | json_get 'j[0]["id"]')

# --- fill to 2.4 MB: below the high mark, nothing goes ---
skopeo_ copy --dest-tls-verify=false "oci:$WORK/keep:v1" "docker://$reg/local/keep:v1" >/dev/null
skopeo_ copy --dest-tls-verify=false "oci:$WORK/app:v1" "docker://$reg/team/app:v1" >/dev/null
e1=$(wait_new_execution "$pol_id" 0 10)
[ "$(wait_execution "$e1")" = Succeed ] || fail "replication of team/app:v1 did not succeed"
for i in 1 2; do
  skopeo_ copy --src-tls-verify=false "docker://$reg/hub/library/cached$i:v1" "oci:$WORK/pulled$i:v1" >/dev/null
done
[ "$(metric pier_storage_evicted_images_total)" = 0 ] || fail "evicted below the high mark"
used=$(metric pier_storage_used_bytes)
[ "${used:-0}" -ge 2400000 ] && [ "$used" -le 3200000 ] || fail "used bytes $used, expected 2.4 MB .. 3.2 MB"
pass "2 pull-through copies, 1 replicated and 1 hosted image: $used bytes, below the high mark, nothing evicted"

# --- cross the high mark: pull-through copies first, then the replicated image ---
skopeo_ copy --dest-tls-verify=false "oci:$WORK/big:v1" "docker://$reg/local/big:v1" >/dev/null
deadline=$((SECONDS + 60))
until [ "$(metric pier_storage_evicted_images_total)" = 3 ]; do
  [ $SECONDS -lt $deadline ] || fail "eviction did not take 3 images: $(curl -sf "$API_BASE/metrics" | grep pier_storage_)"
  sleep 0.5
done
used=$(metric pier_storage_used_bytes)
[ "$used" -le 2000000 ] || fail "after eviction $used bytes are used, the low mark is 2,000,000"
cached=$(curl -sf "$API_BASE/metrics" | awk '/^pier_storage_evicted_bytes_total\{reason="cached"\}/{print $2}')
replicated=$(curl -sf "$API_BASE/metrics" | awk '/^pier_storage_evicted_bytes_total\{reason="replicated"\}/{print $2}')
[ "${cached%.*}" -ge 1200000 ] || fail "cached bytes evicted: $cached"
[ "${replicated%.*}" -ge 600000 ] || fail "replicated bytes evicted: $replicated"
[ "$(metric pier_storage_eviction_blocked)" = 0 ] || fail "eviction reports blocked"
pass "above the high mark: 2 pull-through copies ($cached bytes) and the replicated image ($replicated bytes) evicted, $used bytes left"

[ "$(status GET "$API_BASE/v2/team/app/manifests/v1")" = 404 ] || fail "team/app:v1 still served after eviction"
for name in keep big; do
  skopeo_ copy --src-tls-verify=false "docker://$reg/local/$name:v1" "oci:$WORK/back-$name:v1" >/dev/null
  for f in "$WORK/$name"/blobs/sha256/*; do
    cmp -s "$f" "$WORK/back-$name/blobs/sha256/$(basename "$f")" || fail "local/$name: blob $(basename "$f") differs"
  done
done
got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$dest_port/team/app:v1")
[ "$got" = "$(layout_digest "$WORK/app")" ] || fail "the destination lost team/app:v1 ($got)"
skopeo_ copy --src-tls-verify=false "docker://$reg/hub/library/cached1:v1" "oci:$WORK/again:v1" >/dev/null
for f in "$WORK"/cached1/blobs/sha256/*; do
  cmp -s "$f" "$WORK/again/blobs/sha256/$(basename "$f")" || fail "re-pulled copy: blob $(basename "$f") differs"
done
pass "unreplicated images pull byte-identical; the replicated one is at its destination; an evicted copy pulls again"

# --- only content not safe elsewhere above the mark: blocked, nothing dropped ---
# team/late matches the policy but its destination is down: never acknowledged.
stop_pid "$(cat "$WORK/dest.pid")"
skopeo_ copy --dest-tls-verify=false "oci:$WORK/big2:v1" "docker://$reg/local/big2:v1" >/dev/null
skopeo_ copy --dest-tls-verify=false "oci:$WORK/big3:v1" "docker://$reg/team/late:v1" >/dev/null
deadline=$((SECONDS + 60))
until [ "$(metric pier_storage_eviction_blocked)" = 1 ]; do
  [ $SECONDS -lt $deadline ] || fail "eviction never said blocked: $(curl -sf "$API_BASE/metrics" | grep pier_storage_)"
  sleep 0.5
done
for name in local/keep local/big local/big2 team/late; do
  [ "$(status GET "$API_BASE/v2/$name/manifests/v1")" = 200 ] || fail "$name:v1 was evicted"
done
grep -q "capacity eviction could not free enough" "$WORK/pier.log" || fail "no warning in the log"
pass "only unreplicated content (one whose destination is down) above the high mark: pier_storage_eviction_blocked 1, every image kept"

stop_pid "$PIER_PID"
"$PIER_BIN" fsck --data "$WORK/data" >"$WORK/fsck.log" 2>&1 || fail "fsck: $(tail -n 20 "$WORK/fsck.log")"
pass "fsck clean after eviction"
