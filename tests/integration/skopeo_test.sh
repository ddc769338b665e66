#!/usr/bin/env bash
# Real client: skopeo pushes OCI layouts (single image, multi-arch index,
# artifact with a subject) into Pier and copies them back out; bytes and
# digests must be identical. Then skopeo sync, skopeo delete, and the
# referrers API for the artifact.
source "$(dirname "$0")/lib/common.sh"

port=$(free_port)
start_pier pier "$port" "$WORK/data"
reg="127.0.0.1:$port"
gen="$LIB_DIR/make_oci_layout.py"

python3 "$gen" "$WORK/img" image --layers 3 --size 300000 --seed 1
python3 "$gen" "$WORK/multi" index --layers 2 --size 200000 --seed 2
python3 "$gen" "$WORK/art" artifact --layers 1 --size 50000 --seed 3

# Every blob file of layout $1 also exists with identical bytes in layout $2.
same_blobs() {
  for f in "$1"/blobs/sha256/*; do cmp -s "$f" "$2/blobs/sha256/$(basename "$f")" || fail "blob $(basename "$f") differs or is missing"; done
}

# --- single image ---
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$reg/team/app:v1" >/dev/null
want=$(layout_digest "$WORK/img" v1)
got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://$reg/team/app:v1")
[ "$got" = "$want" ] || fail "manifest digest $got != $want"
skopeo_ copy --src-tls-verify=false "docker://$reg/team/app:v1" "oci:$WORK/img-back:v1" >/dev/null
same_blobs "$WORK/img" "$WORK/img-back"
[ "$(layout_digest "$WORK/img-back" v1)" = "$want" ] || fail "pulled manifest digest changed"
pass "single image round trip keeps bytes and digests"

# --- multi-arch index ---
skopeo_ copy --all --dest-tls-verify=false "oci:$WORK/multi:multi" "docker://$reg/team/multi:multi" >/dev/null
want=$(layout_digest "$WORK/multi" multi)
raw_digest=$(skopeo_ inspect --tls-verify=false --raw "docker://$reg/team/multi:multi" | sha256sum | cut -d' ' -f1)
[ "sha256:$raw_digest" = "$want" ] || fail "index bytes changed: sha256:$raw_digest != $want"
skopeo_ copy --all --src-tls-verify=false "docker://$reg/team/multi:multi" "oci:$WORK/multi-back:multi" >/dev/null
same_blobs "$WORK/multi" "$WORK/multi-back"
pass "multi-arch index round trip keeps bytes and digests"

# --- artifact with subject, and the referrers API ---
skopeo_ copy --dest-tls-verify=false "oci:$WORK/art:v1" "docker://$reg/team/art:v1" >/dev/null
skopeo_ copy --dest-tls-verify=false "oci:$WORK/art:sbom" "docker://$reg/team/art:sbom" >/dev/null
subject=$(layout_digest "$WORK/art" v1)
sbom=$(layout_digest "$WORK/art" sbom)
refs=$(curl -sf "http://$reg/v2/team/art/referrers/$subject")
[ "$(echo "$refs" | jq -r '.manifests[0].digest')" = "$sbom" ] || fail "referrers lacks the artifact: $refs"
[ "$(echo "$refs" | jq -r '.manifests[0].artifactType')" = "application/vnd.pier.test.sbom" ] || fail "artifactType missing: $refs"
filtered=$(curl -sf "http://$reg/v2/team/art/referrers/$subject?artifactType=application/none")
[ "$(echo "$filtered" | jq '.manifests | length')" = 0 ] || fail "artifactType filter ignored: $filtered"
hdr=$(curl -s -D - -o /dev/null "http://$reg/v2/team/art/referrers/$subject?artifactType=application/none")
echo "$hdr" | grep -qi '^OCI-Filters-Applied: artifactType' || fail "no OCI-Filters-Applied header"
skopeo_ copy --src-tls-verify=false "docker://$reg/team/art:sbom" "oci:$WORK/art-back:sbom" >/dev/null
[ "$(layout_digest "$WORK/art-back" sbom)" = "$sbom" ] || fail "artifact digest changed"
pass "artifact with subject: stored, listed as referrer, pulled back identical"

# --- skopeo sync of a whole repository (all tags) ---
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$reg/team/app:v2" >/dev/null
skopeo_ sync --src docker --dest dir --src-tls-verify=false "$reg/team/app" "$WORK/sync" >/dev/null
n=$(find "$WORK/sync" -name manifest.json | wc -l)
[ "$n" = 2 ] || fail "skopeo sync copied $n tags, wanted 2"
tags=$(curl -sf "http://$reg/v2/team/app/tags/list" | jq -c .tags)
[ "$tags" = '["v1","v2"]' ] || fail "tags list $tags"
pass "skopeo sync copies every tag"

# --- skopeo delete ---
skopeo_ delete --tls-verify=false "docker://$reg/team/app:v2" >/dev/null
code=$(status GET "http://$reg/v2/team/app/manifests/v2")
[ "$code" = 404 ] || fail "deleted manifest still served ($code)"
code=$(status GET "http://$reg/v2/team/app/manifests/v1")
[ "$code" = 404 ] || fail "v1 shares the digest, deleting by digest must remove it too ($code)"
pass "skopeo delete removes the manifest and its tags"

# --- catalog ---
cat=$(curl -sf "http://$reg/v2/_catalog" | jq -c .repositories)
[ "$cat" = '["team/app","team/art","team/multi"]' ] || fail "catalog $cat"
page=$(curl -s -D "$WORK/h" "http://$reg/v2/_catalog?n=1" | jq -c .repositories)
[ "$page" = '["team/app"]' ] || fail "catalog page $page"
grep -qi '^Link: </v2/_catalog?n=1&last=team%2Fapp>; rel="next"' "$WORK/h" || grep -qi '^Link: </v2/_catalog?n=1&last=team/app>; rel="next"' "$WORK/h" || fail "no Link header: $(cat "$WORK/h")"
pass "catalog lists repositories with pagination"
