#!/usr/bin/env bash
# Pier as a pull-through cache of a real registry (docker-registry upstream):
# both addressing styles (podman-style prefix, containerd-style ?ns=) reach
# the same cache; images come out byte-identical (single image and multi-arch
# index, skopeo; containerd 1.6 through a hosts.toml; podman 4.3 through a
# registries.conf mirror); pushes into a proxied name are refused while
# hosted names beside them work; with the upstream stopped, cached tags are
# still served (and quickly: the upstream is marked offline), uncached ones
# get 503; a tag moved upstream shows once tag_ttl ran out;
# /api/v2.0/proxy/upstreams lists the upstream healthy, then unhealthy once
# stopped, never with its credentials; fsck is clean at the end.
source "$(dirname "$0")/lib/common.sh"

up_port=$(free_port)
start_docker_registry upstream "$up_port"
UP_PID=$LAST_PID
up="127.0.0.1:$up_port"
gen="$LIB_DIR/make_oci_layout.py"
python3 "$gen" "$WORK/img" image --layers 3 --size 300000 --seed 41
python3 "$gen" "$WORK/img2" image --layers 2 --size 100000 --seed 42
python3 "$gen" "$WORK/multi" index --layers 1 --size 100000 --seed 43
python3 "$gen" "$WORK/pod" image --layers 2 --size 200000 --seed 45
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$up/library/app:v1" >/dev/null
skopeo_ copy --all --dest-tls-verify=false "oci:$WORK/multi:multi" "docker://$up/team/multi:m" >/dev/null
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img2:v1" "docker://$up/library/other:v1" >/dev/null
skopeo_ copy --dest-tls-verify=false "oci:$WORK/pod:v1" "docker://$up/library/pod:v1" >/dev/null
want=$(layout_digest "$WORK/img" v1)

python3 "$gen" "$WORK/big" image --layers 1 --size 20000000 --seed 44
skopeo_ copy --dest-tls-verify=false "oci:$WORK/big:v1" "docker://$up/library/big:v1" >/dev/null
# Pier reaches the upstream through a 20 MB/s link, so a cold 20 MB layer
# takes a second to fill: long enough for concurrent clients to overlap.
start_slowlink link "$up_port" --rate 20000000 --direction both
# Credentials the upstream does not ask for: they must never show in the API.
echo -n "up-secret-77" >"$WORK/up.pass"
cat >"$WORK/pier.json" <<JSON
{"proxy": {"upstreams": [
  {"name": "hub", "url": "http://$LINK_ADDR", "ns": ["docker.io"], "tag_ttl_seconds": 0, "offline_period_seconds": 30,
   "username": "up-user-77", "password_file": "$WORK/up.pass"}
]}}
JSON
port=$(free_port)
start_pier pier "$port" "$WORK/data" --config "$WORK/pier.json"
reg="127.0.0.1:$port"
API_BASE="http://$reg"

# --- /api/v2.0/proxy/upstreams: the configured upstream, healthy, no secret ---
upstreams_api() { api GET /proxy/upstreams >"$WORK/upstreams.json"; cat "$WORK/upstreams.json"; }
[ "$(upstreams_api | json_get '[(u["name"], u["prefix"], u["ns"], u["tag_ttl_seconds"], u["offline_period_seconds"], u["credential_configured"], u["type"], u["status"]) for u in j]')" = \
  "[('hub', 'hub', ['docker.io'], 0, 30, True, 'docker-hub', 'healthy')]" ] ||
  fail "GET /api/v2.0/proxy/upstreams: $(cat "$WORK/upstreams.json")"
! grep -q -e up-secret-77 -e up-user-77 -e up.pass "$WORK/upstreams.json" || fail "the upstream listing shows a secret"
pass "API: the upstream listed with its settings, healthy, no credential in the answer"

# --- prefix style (podman/CRI-O mirrors, Harbor proxy projects) ---
got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://$reg/hub/app:v1")
[ "$got" = "$want" ] || fail "prefix style: digest $got != $want (Docker Hub's library/ rule)"
skopeo_ copy --src-tls-verify=false "docker://$reg/hub/library/app:v1" "oci:$WORK/back:v1" >/dev/null
for f in "$WORK"/img/blobs/sha256/*; do
  cmp -s "$f" "$WORK/back/blobs/sha256/$(basename "$f")" || fail "blob $(basename "$f") differs after the pull-through"
done
[ "$(layout_digest "$WORK/back" v1)" = "$want" ] || fail "pulled manifest digest changed"
pass "prefix style: image pulled through Pier is byte-identical"

skopeo_ copy --all --src-tls-verify=false "docker://$reg/hub/team/multi:m" "oci:$WORK/multi-back:m" >/dev/null
up_raw=$(skopeo_ inspect --tls-verify=false --raw "docker://$up/team/multi:m" | sha256sum)
pier_raw=$(skopeo_ inspect --tls-verify=false --raw "docker://$reg/hub/team/multi:m" | sha256sum)
[ "$up_raw" = "$pier_raw" ] || fail "index bytes differ from the upstream's: $pier_raw vs $up_raw"
pass "multi-arch index pulled through byte-identical (not trimmed)"

# --- ns style (containerd hosts.toml): the same cache ---
accept="application/vnd.oci.image.manifest.v1+json"
hdrs=$(curl -sfI -H "Accept: $accept" "http://$reg/v2/library/app/manifests/v1?ns=docker.io") ||
  fail "ns style: HEAD manifest failed"
echo "$hdrs" | grep -qi "^docker-content-digest: $want" || fail "ns style: HEAD lacks the digest: $hdrs"
echo "$hdrs" | grep -qi "^content-length: " || fail "ns style: HEAD lacks Content-Length (containerd would GET)"
layer=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' \
  "$WORK/img/blobs/sha256/${want#sha256:}")
# A HEAD of a layer nobody pulled yet is answered from the upstream's HEAD:
# nothing is downloaded for it.
want_other=$(layout_digest "$WORK/img2" v1)
layer2=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' \
  "$WORK/img2/blobs/sha256/${want_other#sha256:}")
hdrs=$(curl -sfI "http://$reg/v2/hub/library/other/blobs/$layer2") || fail "HEAD of an uncached layer failed"
echo "$hdrs" | grep -qi "^content-length: $(stat -c %s "$WORK/img2/blobs/sha256/${layer2#sha256:}")" ||
  fail "HEAD of an uncached layer: wrong or no Content-Length: $hdrs"
! grep -q "GET /v2/library/other/blobs/$layer2" "$WORK/upstream.log" || fail "a HEAD downloaded the layer"
got=$(curl -sf "http://$reg/v2/library/app/blobs/$layer?ns=docker.io" | sha256sum | cut -d' ' -f1)
[ "sha256:$got" = "$layer" ] || fail "ns style: blob bytes hash to sha256:$got"
# Served from the cache filled by the prefix-style pull: same local repository.
curl -sf "http://$reg/v2/hub/library/app/tags/list" | grep -q '"v1"' || fail "cached tag not listed under hub/library/app"
[ "$(status GET "http://$reg/v2/library/app/manifests/v1")" = 404 ] || fail "without ns the name must be hosted (404)"
pass "ns style: same cache, HEAD carries digest and length, blob bytes verified"

# --- 16 concurrent cold pulls of one layer: the upstream sends it once ---
big=$(layout_digest "$WORK/big" v1)
big_layer=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' \
  "$WORK/big/blobs/sha256/${big#sha256:}")
curl -sf -o /dev/null -H "Accept: $accept" "http://$reg/v2/library/big/manifests/v1?ns=docker.io" || fail "big manifest"
pids=()
for i in $(seq 1 16); do
  curl -sf -o "$WORK/big-$i" "http://$reg/v2/library/big/blobs/$big_layer?ns=docker.io" & pids+=($!)
done
# Streamed, not stored-then-served: a client has bytes while the upstream is
# still sending (docker-registry logs a GET once its answer is complete).
deadline=$((SECONDS + 30))
until [ -s "$WORK/big-1" ]; do
  [ $SECONDS -lt $deadline ] || fail "no byte of the cold layer reached a client"
  sleep 0.01
done
! grep -q "GET /v2/library/big/blobs/$big_layer" "$WORK/upstream.log" ||
  fail "the first byte reached the client only after the upstream had sent the whole layer"
# A Range in the middle of the layer is answered from the growing file too.
big_file="$WORK/big/blobs/sha256/${big_layer#sha256:}"
curl -sf -o "$WORK/big-range" -H "Range: bytes=10000000-10065535" \
  "http://$reg/v2/hub/library/big/blobs/$big_layer" & pids+=($!)
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent cold pull failed"; done
for i in $(seq 1 16); do
  [ "sha256:$(sha256sum <"$WORK/big-$i" | cut -d' ' -f1)" = "$big_layer" ] || fail "client $i got other bytes"
done
cmp -s "$WORK/big-range" <(tail -c +10000001 "$big_file" | head -c 65536) || fail "Range of an in-flight layer: wrong bytes"
n=$(grep -c "GET /v2/library/big/blobs/$big_layer" "$WORK/upstream.log" || true)
[ "$n" = 1 ] || fail "16 concurrent cold pulls sent $n GETs of the layer upstream, want 1"
pass "16 concurrent cold pulls of a 20 MB layer: streamed while it downloads, a Range too, every client verified, 1 upstream GET"

# --- containerd 1.6 (ctr) through a _default hosts.toml: every registry via Pier ---
mkdir -p "$WORK/certs.d/_default"
cat >"$WORK/certs.d/_default/hosts.toml" <<TOML
[host."http://$reg"]
  capabilities = ["pull", "resolve"]
TOML
start_containerd
ctr_ images pull --hosts-dir "$WORK/certs.d" docker.io/library/other:v1 >"$WORK/ctr-pull.log" 2>&1 ||
  fail "ctr images pull through Pier failed: $(tail -n 5 "$WORK/ctr-pull.log")"
got=$(ctr_ images ls | awk '$1 == "docker.io/library/other:v1" { print $3 }')
[ "$got" = "$want_other" ] || fail "containerd resolved docker.io/library/other:v1 to $got, want $want_other"
grep -q 'path=/v2/library/other/manifests/v1 query="ns=docker.io"' "$WORK/pier.log" ||
  fail "containerd's requests did not reach Pier with ?ns=docker.io"
pass "containerd 1.6 pulls and unpacks docker.io/library/other:v1 through Pier (ns style), digest $got"

# --- podman 4.3 through a registries.conf mirror (prefix style, no ns) ---
# Rootful with its own storage (vfs) and run folders under $WORK, so it
# needs no system configuration. The primary location is a closed port: the
# image can only come from the mirror.
command -v podman >/dev/null || fail "podman not installed (scripts/deps.sh)"
mkdir -p "$WORK/podman/tmp"
cat >"$WORK/podman/registries.conf" <<TOML
[[registry]]
prefix = "docker.io"
location = "127.0.0.1:1"
insecure = true
[[registry.mirror]]
location = "$reg/hub"
insecure = true
TOML
cat >"$WORK/podman/storage.conf" <<TOML
[storage]
driver = "vfs"
graphroot = "$WORK/podman/root"
runroot = "$WORK/podman/run"
TOML
podman_() {
  CONTAINERS_REGISTRIES_CONF="$WORK/podman/registries.conf" CONTAINERS_STORAGE_CONF="$WORK/podman/storage.conf" \
    podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" --storage-driver vfs --events-backend none \
    --cgroup-manager cgroupfs --tmpdir "$WORK/podman/tmp" "$@"
}
podman_ pull --signature-policy "$POLICY" docker.io/library/pod:v1 >"$WORK/podman-pull.log" 2>&1 ||
  fail "podman pull through Pier failed: $(tail -n 5 "$WORK/podman-pull.log")"
want_pod=$(layout_digest "$WORK/pod" v1)
got=$(podman_ image inspect --format '{{.Digest}}' docker.io/library/pod:v1)
[ "$got" = "$want_pod" ] || fail "podman resolved docker.io/library/pod:v1 to $got, want $want_pod"
grep -q 'path=/v2/hub/library/pod/manifests/v1' "$WORK/pier.log" ||
  fail "podman's requests did not reach Pier under the mirror's path /v2/hub/"
# podman verified every blob against its digest; the layers Pier served
# (its cached copies) are the upstream's bytes.
pod_manifest="$WORK/pod/blobs/sha256/${want_pod#sha256:}"
for d in $(python3 -c 'import json,sys;print(" ".join(l["digest"][7:] for l in json.load(open(sys.argv[1]))["layers"]))' "$pod_manifest"); do
  cmp -s "$WORK/pod/blobs/sha256/$d" "$WORK/data/blobs/sha256/${d:0:2}/$d" || fail "layer $d served to podman differs"
done
[ "$(podman_ image inspect --format '{{json .RootFS.Layers}}' docker.io/library/pod:v1 | tr -d ' ')" = \
  "$(python3 -c 'import json,sys;m=json.load(open(sys.argv[1]));c=json.load(open(sys.argv[2]+m["config"]["digest"][7:]));print(json.dumps(c["rootfs"]["diff_ids"]).replace(" ",""))' \
     "$pod_manifest" "$WORK/pod/blobs/sha256/")" ] || fail "podman unpacked other layers than the upstream's"
pass "podman 4.3 pulls docker.io/library/pod:v1 through a registries.conf mirror on Pier; layers byte-identical"

# --- writes into a proxied name are refused; hosted names work beside it ---
code=$(status POST "http://$reg/v2/hub/library/app/blobs/uploads/")
[ "$code" = 405 ] || fail "POST upload into a proxied name: $code, want 405"
curl -s -X POST "http://$reg/v2/hub/x/blobs/uploads/" | grep -q "pull-through cache" ||
  fail "the 405 must say the name is a pull-through cache"
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img2:v1" "docker://$reg/team/hosted:v1" >/dev/null ||
  fail "push to a hosted name failed"
pass "push into a proxied name: 405 naming the upstream; hosted push beside it works"

# --- Pier's ACL applies to proxied names, however they are addressed ---
htpasswd -nbB puller secret-p >"$WORK/htpasswd"
htpasswd -nbB other secret-o >>"$WORK/htpasswd"
cat >"$WORK/pier-auth.json" <<JSON
{"auth": {"htpasswd": "$WORK/htpasswd", "acl": [
   {"subject": "puller", "repository": "hub/**", "actions": ["pull"]},
   {"subject": "other", "repository": "library/**", "actions": ["pull", "push"]}]},
 "proxy": {"upstreams": [{"name": "hub", "url": "http://$LINK_ADDR", "ns": ["docker.io"]}]}}
JSON
aport=$(free_port)
PIER_PID_MAIN=$PIER_PID
start_pier pier-auth "$aport" "$WORK/data-auth" --config "$WORK/pier-auth.json"
areg="127.0.0.1:$aport"
for path in "/v2/hub/library/app/manifests/v1" "/v2/library/app/manifests/v1?ns=docker.io"; do
  [ "$(status GET "http://$areg$path")" = 401 ] || fail "anonymous $path: want 401"
  [ "$(status GET "http://$areg$path" -u other:secret-o)" = 403 ] ||
    fail "other (pull on library/** only) reached $path: the ACL must see hub/library/app"
  [ "$(status GET "http://$areg$path" -u puller:secret-p -H "Accept: $accept")" = 200 ] || fail "puller refused on $path"
done
[ "$(status POST "http://$areg/v2/hub/library/app/blobs/uploads/" -u puller:secret-p)" = 403 ] ||
  fail "puller has no push right: 403 before anything else"
stop_pid "$PIER_PID"
PIER_PID=$PIER_PID_MAIN
pass "ACL: both addressing styles are checked against the local name hub/library/app"

# --- a tag moved upstream shows once tag_ttl ran out (0 here: at once; the
# unit tests move a fake clock through a real TTL) ---
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img2:v1" "docker://$up/library/app:v1" >/dev/null
want2=$(layout_digest "$WORK/img2" v1)
got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://$reg/hub/app:v1")
[ "$got" = "$want2" ] || fail "moved tag: Pier serves $got, upstream has $want2"
skopeo_ copy --src-tls-verify=false "docker://$reg/hub/app:v1" "oci:$WORK/moved:v1" >/dev/null  # caches its layers
pass "a tag moved upstream is served once the TTL ran out"

# --- upstream down: cached content still served, fast; uncached gets 503 ---
stop_pid "$UP_PID"
start=$(date +%s%N)
for i in $(seq 1 20); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Accept: $accept" \
    "http://$reg/v2/library/app/manifests/v1?ns=docker.io")
  [ "$code" = 200 ] || fail "cached tag with the upstream down: $code (pull $i)"
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
skopeo_ copy --src-tls-verify=false "docker://$reg/hub/app:v1" "oci:$WORK/offline:v1" >/dev/null ||
  fail "a cached image must still pull with the upstream down"
code=$(status GET "http://$reg/v2/hub/library/never/manifests/v1")
[ "$code" = 503 ] || fail "uncached name with the upstream down: $code, want 503"
pass "upstream down: 20 cached tag requests served in ${ms} ms, image pulls, uncached name 503"
[ "$(upstreams_api | json_get 'j[0]["status"]')" = unhealthy ] ||
  fail "the API still says the stopped upstream is healthy: $(cat "$WORK/upstreams.json")"
! grep -q -e up-secret-77 -e up-user-77 "$WORK/upstreams.json" || fail "the upstream listing shows a secret"
pass "API: the stopped upstream is listed unhealthy"

# --- metrics: what the cache did, per upstream ---
curl -sf "http://$reg/metrics" >"$WORK/metrics.txt" || fail "GET /metrics"
metric() { awk -v k="$1" 'index($0, k) == 1 { print $2 }' "$WORK/metrics.txt"; }
for series in 'pier_proxy_requests_total{kind="blob",result="miss",upstream="hub"}' \
              'pier_proxy_requests_total{kind="manifest",result="stale",upstream="hub"}' \
              'pier_proxy_upstream_bytes_total{upstream="hub"}' \
              'pier_proxy_upstream_latency_seconds_count{upstream="hub"}'; do
  v=$(metric "$series")
  [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v > 0) }' || fail "$series is ${v:-missing}, want > 0"
done
[ "$(metric 'pier_proxy_upstream_up{upstream="hub"}')" = 0 ] || fail "pier_proxy_upstream_up must be 0 while offline"
[ -n "$(metric 'pier_proxy_requests_total{kind="blob",result="coalesced",upstream="hub"}')" ] ||
  fail "zero series for every result must exist"
[ "$(metric 'pier_proxy_fetches_in_flight{upstream="hub"}')" = 0 ] || fail "a fetch still counted in flight"
# Served: at least the 16 streamed copies of the big layer; fetched: it once.
served=$(metric 'pier_proxy_served_bytes_total{upstream="hub"}')
fetched=$(metric 'pier_proxy_upstream_bytes_total{upstream="hub"}')
big_size=$(stat -c %s "$big_file")
awk -v s="${served:-0}" -v f="$fetched" -v b="$big_size" 'BEGIN { exit !(s >= 16 * b && s - f >= 15 * b) }' ||
  fail "served ${served:-missing} / fetched $fetched bytes: want ≥ 16 and 15 saved copies of the $big_size-byte layer"
pass "metrics: misses, stale answers, upstream bytes and latency, upstream down, $served bytes served for $fetched fetched"

# --- the upstream comes back with the tag moved: the new digest once the
# offline period (30 s) has run out and tag_ttl (0) asks again ---
start_docker_registry upstream "$up_port"
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$up/library/app:v1" >/dev/null
deadline=$((SECONDS + 90))
while :; do
  got=$(curl -s -I -H "Accept: $accept" "http://$reg/v2/library/app/manifests/v1?ns=docker.io" |
    awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }' | tr -d '\r')
  [ "$got" = "$want" ] && break
  [ -n "$got" ] || fail "cached tag not answered while waiting for the upstream to be asked again"
  [ $SECONDS -lt $deadline ] || fail "upstream back with v1 moved to $want: Pier still serves $got"
  sleep 0.5
done
skopeo_ copy --src-tls-verify=false "docker://$reg/hub/app:v1" "oci:$WORK/back-again:v1" >/dev/null ||
  fail "the moved tag does not pull after the upstream came back"
pass "upstream restarted with v1 moved: Pier serves the new digest after the offline period, and it pulls"

stop_pid "$PIER_PID"
"$PIER_BIN" fsck --data "$WORK/data" >"$WORK/fsck.log" 2>&1 || fail "fsck: $(tail -n 20 "$WORK/fsck.log")"
pass "fsck is clean with cached manifests and blobs"
