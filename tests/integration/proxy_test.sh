#!/usr/bin/env bash
# Real peer: the Debian `docker-registry` (distribution 2.8, registry:2) runs
# as a pull-through cache whose upstream is Pier. Pulling through it must
# return the exact image pushed to Pier: a second, independent registry
# implementation reads Pier's API (token-less upstream, manifests by tag and
# digest, blobs).
source "$(dirname "$0")/lib/common.sh"

pier_port=$(free_port)
start_pier pier "$pier_port" "$WORK/data"
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/img" image --layers 3 --size 200000 --seed 7
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/multi" index --layers 1 --size 100000 --seed 8
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://127.0.0.1:$pier_port/library/app:v1" >/dev/null
skopeo_ copy --all --dest-tls-verify=false "oci:$WORK/multi:multi" "docker://127.0.0.1:$pier_port/library/multi:m" >/dev/null

proxy_port=$(free_port)
cat >"$WORK/proxy.yml" <<YML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $WORK/proxy-data
http:
  addr: 127.0.0.1:$proxy_port
proxy:
  remoteurl: http://127.0.0.1:$pier_port
YML
spawn "$WORK/proxy.log" docker-registry serve "$WORK/proxy.yml"
wait_http "http://127.0.0.1:$proxy_port/v2/"

want=$(layout_digest "$WORK/img")
got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$proxy_port/library/app:v1")
[ "$got" = "$want" ] || fail "proxy served digest $got, pushed $want"
skopeo_ copy --src-tls-verify=false "docker://127.0.0.1:$proxy_port/library/app:v1" "oci:$WORK/back:v1" >/dev/null
for f in "$WORK"/img/blobs/sha256/*; do
  cmp -s "$f" "$WORK/back/blobs/sha256/$(basename "$f")" || fail "blob $(basename "$f") differs through the proxy"
done
pass "registry:2 pull-through cache reads an image from Pier, bytes identical"

skopeo_ copy --all --src-tls-verify=false "docker://127.0.0.1:$proxy_port/library/multi:m" "oci:$WORK/mback:m" >/dev/null
for f in "$WORK"/multi/blobs/sha256/*; do
  cmp -s "$f" "$WORK/mback/blobs/sha256/$(basename "$f")" || fail "index blob $(basename "$f") differs through the proxy"
done
pass "registry:2 pull-through cache reads a multi-arch index from Pier"

# The proxy really fetched from Pier (not some other source): Pier logged the blob GETs.
grep -q 'method=GET path=/v2/library/app/blobs/sha256' "$WORK/pier.log" || fail "Pier never served the proxy's blob GETs"
pass "the blob bytes came from Pier"
