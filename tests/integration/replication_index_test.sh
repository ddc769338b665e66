#!/usr/bin/env bash
# Multi-arch indexes and labels in replication, against a real docker-registry:
#  - an index goes whole and byte for byte (same digest; children by digest first);
#  - Pier's platform filter copies only linux/amd64 and pushes a rewritten
#    index over it (a new digest, with exactly that one child);
#  - a label filter reads the image config's labels (excludes drops the image);
#  - tag filters with Harbor's semantics (matches v*, excludes).
source "$(dirname "$0")/lib/common.sh"

dest_port=$(free_port)
start_docker_registry dest "$dest_port"
pier_port=$(free_port)
start_pier pier "$pier_port" "$WORK/data"
API_BASE="http://127.0.0.1:$pier_port"
api POST /registries -d "{\"name\":\"dest\",\"type\":\"docker-registry\",\"url\":\"http://127.0.0.1:$dest_port\"}" >/dev/null
reg=$(api GET /registries | json_get 'j[0]["id"]')
policy() {  # policy NAME NAMESPACE FILTERS_JSON
  api POST /replication/policies -d "{\"name\":\"$1\",\"dest_registry\":{\"id\":$reg},\"dest_namespace\":\"$2\",
    \"dest_namespace_replace_count\":-1,\"trigger\":{\"type\":\"manual\"},\"filters\":$3}" >/dev/null
}
run() { "$PIER_BIN" replicate --policy "$1" --server "$API_BASE" >"$WORK/$1.out" 2>&1 || fail "$1: $(cat "$WORK/$1.out")"; }
remote_manifest() {  # remote_manifest REPO REF → the manifest JSON
  curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$dest_port/v2/$1/manifests/$2"
}

python3 "$LIB_DIR/make_oci_layout.py" "$WORK/multi" index --layers 2 --size 150000 --seed 31
skopeo_ copy --all --dest-tls-verify=false "oci:$WORK/multi:multi" "docker://127.0.0.1:$pier_port/os/multi:m" >/dev/null
want=$(layout_digest "$WORK/multi")

policy whole whole '[{"type":"name","value":"os/**"}]'
run whole
got=$(curl -sf -o /dev/null -w '%header{docker-content-digest}' -H 'Accept: application/vnd.oci.image.index.v1+json' \
  "http://127.0.0.1:$dest_port/v2/whole/multi/manifests/m")
[ "$got" = "$want" ] || fail "index digest at the destination $got, source $want"
skopeo_ copy --all --src-tls-verify=false "docker://127.0.0.1:$dest_port/whole/multi:m" "oci:$WORK/back:m" >/dev/null
for f in "$WORK"/multi/blobs/sha256/*; do
  cmp -s "$f" "$WORK/back/blobs/sha256/$(basename "$f")" || fail "blob $(basename "$f") differs"
done
pass "a multi-arch index replicated whole, byte for byte (digest $want)"

policy amd amd '[{"type":"name","value":"os/**"},{"type":"platform","value":"linux/amd64"}]'
run amd
idx=$(remote_manifest amd/multi m)
echo "$idx" | json_get 'len(j["manifests"])==1 and j["manifests"][0]["platform"]["architecture"]=="amd64"' | grep -qx True \
  || fail "platform-filtered index: $idx"
child=$(echo "$idx" | json_get 'j["manifests"][0]["digest"]')
ACCEPT='Accept: application/vnd.oci.image.manifest.v1+json'
[ "$(status GET "http://127.0.0.1:$dest_port/v2/amd/multi/manifests/$child" -H "$ACCEPT")" = 200 ] || fail "amd64 child missing"
arm=$(layout_manifest "$WORK/multi" | json_get '[m["digest"] for m in j["manifests"] if m["platform"]["architecture"] == "arm64"][0]')
[ "$(status GET "http://127.0.0.1:$dest_port/v2/amd/multi/manifests/$arm" -H "$ACCEPT")" = 404 ] || fail "arm64 child was copied"
pass "platform filter linux/amd64: a rewritten index with one child, arm64 left out"

# Labels and tags: the generated images carry the label pier.test=yes.
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/img" image --layers 1 --size 50000 --seed 32
for t in v1 v2 dev; do
  skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://127.0.0.1:$pier_port/lab/app:$t" >/dev/null
done
policy nolabel nolabel '[{"type":"name","value":"lab/**"},{"type":"label","value":["pier.test"],"decoration":"excludes"}]'
run nolabel
[ "$(status GET "http://127.0.0.1:$dest_port/v2/nolabel/app/tags/list")" = 404 ] || fail "label excludes still copied"
policy vtags vtags '[{"type":"name","value":"lab/**"},{"type":"label","value":["pier.test"]},{"type":"tag","value":"v*"}]'
run vtags
tags=$(curl -sf "http://127.0.0.1:$dest_port/v2/vtags/app/tags/list" | json_get '",".join(sorted(j["tags"]))')
[ "$tags" = "v1,v2" ] || fail "tag filter v*: destination tags $tags"
pass "label filter (matches/excludes on config labels) and tag filter v* (dev left out)"
