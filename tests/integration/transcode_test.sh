#!/usr/bin/env bash
# gzip→zstd transcoding on replication with real peers: skopeo pushes gzip
# images to Pier, a policy with "compression": {"format": "zstd"} copies
# them to a `docker-registry`. Checks: the destination holds OCI manifests
# with tar+zstd layers (an index rewritten over its rewritten children),
# every zstd layer decompresses (zstd(1)) to the tar whose sha256 is the
# config's diff_id; skopeo, containerd 1.6 (ctr, unpacking) and podman 4.3
# pull the transcoded image; a second run transcodes nothing and sends no
# blob; the policy JSON keeps the field.
source "$(dirname "$0")/lib/common.sh"

dest_port=$(free_port)
start_docker_registry dest "$dest_port"
pier_port=$(free_port)
start_pier pier "$pier_port" "$WORK/data"
API_BASE="http://127.0.0.1:$pier_port"
dest="127.0.0.1:$dest_port"

api POST /registries -d "{\"name\":\"dest\",\"type\":\"docker-registry\",\"url\":\"http://$dest\"}" >/dev/null
reg_id=$(api GET /registries | json_get 'j[0]["id"]')
api POST /replication/policies -d "{\"name\":\"zstd\",\"src_registry\":null,\"dest_registry\":{\"id\":$reg_id},
  \"dest_namespace\":\"\",\"trigger\":{\"type\":\"manual\"},\"filters\":[{\"type\":\"name\",\"value\":\"team/**\"}],
  \"override\":true,\"enabled\":true,\"compression\":{\"format\":\"zstd\",\"level\":3}}" >/dev/null
pol_id=$(api GET /replication/policies | json_get 'j[0]["id"]')
[ "$(api GET "/replication/policies/$pol_id" | json_get 'j["compression"]')" = "{'format': 'zstd', 'level': 3}" ] ||
  fail "the policy lost its compression: $(api GET "/replication/policies/$pol_id")"

python3 "$LIB_DIR/make_oci_layout.py" "$WORK/img" image --layers 3 --size 300000 --seed 5 --tag v1 --text
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/idx" index --layers 2 --size 200000 --seed 6 --text
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://127.0.0.1:$pier_port/team/app:v1" >/dev/null
skopeo_ copy --all --dest-tls-verify=false "oci:$WORK/idx:multi" "docker://127.0.0.1:$pier_port/team/multi:multi" >/dev/null

run_policy() {
  local loc
  loc=$(curl -sf -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"policy_id\":$pol_id}" \
    "$API_BASE/api/v2.0/replication/executions" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
  echo "${loc##*/}"
}
e1=$(run_policy)
[ "$(wait_execution "$e1")" = Succeed ] || { api GET "/replication/executions/$e1/tasks" >&2; fail "execution $e1 did not succeed"; }

# The image: an OCI manifest of zstd layers whose tars are the config's diff_ids.
raw=$(skopeo_ inspect --raw --tls-verify=false "docker://$dest/team/app:v1")
echo "$raw" >"$WORK/dest-manifest.json"
echo "$raw" | json_get 'j["mediaType"]=="application/vnd.oci.image.manifest.v1+json" and all(l["mediaType"]=="application/vnd.oci.image.layer.v1.tar+zstd" for l in j["layers"]) and len(j["layers"])==3' \
  | grep -qx True || fail "destination manifest is not OCI with zstd layers: $raw"
src_config=$(layout_manifest "$WORK/img" v1 | json_get 'j["config"]["digest"]')
[ "$(echo "$raw" | json_get 'j["config"]["digest"]')" = "$src_config" ] || fail "the config changed"
skopeo_ copy --src-tls-verify=false "docker://$dest/team/app:v1" "oci:$WORK/back:v1" >/dev/null ||
  fail "skopeo cannot copy the transcoded image"
diff_ids=$(json_get '" ".join(j["rootfs"]["diff_ids"])' <"$WORK/img/blobs/sha256/${src_config#sha256:}")
i=0
for d in $(echo "$raw" | json_get '" ".join(l["digest"][7:] for l in j["layers"])'); do
  i=$((i + 1))
  want=$(echo "$diff_ids" | cut -d' ' -f$i)
  got="sha256:$(zstd -dc "$WORK/back/blobs/sha256/$d" | sha256sum | cut -d' ' -f1)"
  [ "$got" = "$want" ] || fail "zstd layer $i decompresses to $got, the config says $want"
  # The frame stays within every client's window limit (2^27) and carries a checksum.
  info=$(zstd -lv "$WORK/back/blobs/sha256/$d" 2>&1)
  window=$(echo "$info" | sed -n 's/^Window Size:.*(\([0-9]*\) B)$/\1/p')
  [ -n "$window" ] && [ "$window" -le 134217728 ] || fail "zstd layer $i: window ${window:-unknown}: $info"
  echo "$info" | grep -q "^Check: XXH64" || fail "zstd layer $i has no checksum: $info"
done
gz_total=$(layout_manifest "$WORK/img" v1 | json_get 'sum(l["size"] for l in j["layers"])')
z_total=$(echo "$raw" | json_get 'sum(l["size"] for l in j["layers"])')
[ "$z_total" -lt "$gz_total" ] || fail "zstd layers ($z_total bytes) are not smaller than the gzip ones ($gz_total)"
pass "team/app:v1 arrived as OCI with 3 zstd layers ($gz_total gzip bytes → $z_total zstd bytes), each the config's diff_id"

# The index: rewritten over rewritten children.
iraw=$(skopeo_ inspect --raw --tls-verify=false "docker://$dest/team/multi:multi")
echo "$iraw" | json_get 'j["mediaType"]=="application/vnd.oci.image.index.v1+json" and len(j["manifests"])==2' | grep -qx True ||
  fail "destination index: $iraw"
for c in $(echo "$iraw" | json_get '" ".join(m["digest"] for m in j["manifests"])'); do
  craw=$(skopeo_ inspect --raw --tls-verify=false "docker://$dest/team/multi@$c")
  echo "$craw" | json_get 'all(l["mediaType"].endswith("+zstd") for l in j["layers"])' | grep -qx True ||
    fail "index child $c has other layers: $craw"
done
pass "team/multi:multi arrived as an OCI index whose two children have zstd layers"

# What it saved and did, in /metrics.
m=$(curl -sf "$API_BASE/metrics")
saved=$(echo "$m" | awk '/^pier_replication_transcode_saved_bytes_total\{destination="dest"\}/{print $2}')
python3 -c "import sys; sys.exit(0 if float('${saved:-0}') >= $gz_total - $z_total else 1)" ||
  fail "transcode saved bytes metric: ${saved:-none}, want at least $((gz_total - z_total))"
runs=$(echo "$m" | awk '/^pier_transcode_runs_total\{result="ok"\}/{print $2}')
[ "${runs:-0}" -ge 4 ] || fail "pier_transcode_runs_total{result=ok}: ${runs:-none}"
grep -q '^pier_transcode_queued 0' <<<"$m" || fail "transcodes still queued: $(echo "$m" | grep pier_transcode_)"
pass "metrics: $saved bytes saved on the wire, $runs transcodes, none queued"

# containerd 1.6 pulls and unpacks it.
mkdir -p "$WORK/certs.d/$dest"
cat >"$WORK/certs.d/$dest/hosts.toml" <<TOML
server = "http://$dest"
[host."http://$dest"]
  capabilities = ["pull", "resolve"]
TOML
start_containerd
ctr_ images pull --hosts-dir "$WORK/certs.d" "$dest/team/app:v1" >"$WORK/ctr-pull.log" 2>&1 ||
  fail "ctr images pull of the zstd image failed: $(tail -n 5 "$WORK/ctr-pull.log")"
grep -q "unpacking" "$WORK/ctr-pull.log" || fail "ctr did not unpack: $(tail -n 5 "$WORK/ctr-pull.log")"
ctr_ images check | grep "$dest/team/app:v1" | grep -q "complete" || fail "ctr images check: $(ctr_ images check)"
pass "containerd 1.6 pulls and unpacks the zstd image"

# podman 4.3 pulls it and its layers are the config's diff_ids.
mkdir -p "$WORK/podman/tmp"
cat >"$WORK/podman/registries.conf" <<TOML
[[registry]]
location = "$dest"
insecure = true
TOML
podman_() {
  CONTAINERS_REGISTRIES_CONF="$WORK/podman/registries.conf" \
    podman --root "$WORK/podman/root" --runroot "$WORK/podman/run" --storage-driver vfs --events-backend none \
    --cgroup-manager cgroupfs --tmpdir "$WORK/podman/tmp" "$@"
}
podman_ pull --signature-policy "$POLICY" "$dest/team/app:v1" >"$WORK/podman-pull.log" 2>&1 ||
  fail "podman pull of the zstd image failed: $(tail -n 5 "$WORK/podman-pull.log")"
[ "$(podman_ image inspect --format '{{json .RootFS.Layers}}' "$dest/team/app:v1" | tr -d ' ')" = \
  "$(json_get 'json.dumps(j["rootfs"]["diff_ids"]).replace(" ","")' <"$WORK/img/blobs/sha256/${src_config#sha256:}")" ] ||
  fail "podman unpacked other layers than the config's diff_ids"
pass "podman 4.3 pulls the zstd image; its layers are the config's diff_ids"

# A second run: nothing transcoded, no blob sent, both images already there.
before=$(curl -sf "$API_BASE/metrics" | awk '/^pier_replication_sent_bytes_total\{/{s+=$2} END {print s+0}')
e2=$(run_policy)
[ "$(wait_execution "$e2")" = Succeed ] || fail "execution $e2 did not succeed"
after=$(curl -sf "$API_BASE/metrics" | awk '/^pier_replication_sent_bytes_total\{/{s+=$2} END {print s+0}')
[ "$before" = "$after" ] || fail "a second run sent $((after - before)) bytes"
for t in $(api GET "/replication/executions/$e2/tasks" | json_get '" ".join(str(t["id"]) for t in j)'); do
  curl -sf "$API_BASE/api/v2.0/replication/executions/$e2/tasks/$t/log" | grep -q "already" ||
    fail "task $t of the second run did not find its image there: $(curl -sf "$API_BASE/api/v2.0/replication/executions/$e2/tasks/$t/log")"
done
pass "a second run sends nothing: every image is already there in zstd"
