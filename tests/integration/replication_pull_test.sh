#!/usr/bin/env bash
# Pull-mode replication and chaining, with real registries on both sides:
# a source `docker-registry` (standing in for Harbor) holds an image; a
# pull-mode policy copies it into Pier under another namespace; storing it
# fires Pier's push event, so an event-based push policy then copies it on
# to a second `docker-registry` (standing in for ACR): Harbor → Pier → ACR.
source "$(dirname "$0")/lib/common.sh"

src_port=$(free_port)
start_docker_registry src "$src_port"
acr_port=$(free_port)
start_docker_registry acr "$acr_port"
pier_port=$(free_port)
start_pier pier "$pier_port" "$WORK/data"
API_BASE="http://127.0.0.1:$pier_port"

mk() { python3 "$LIB_DIR/make_oci_layout.py" "$@"; }
# to_src LAYOUT:TAG REPO:TAG [skopeo flags]: puts an OCI layout image into the source registry.
to_src() { skopeo_ copy "${@:3}" --dest-tls-verify=false "oci:$WORK/$1" "docker://127.0.0.1:$src_port/$2" >/dev/null; }

mk "$WORK/img" image --layers 3 --size 300000 --seed 61
mk "$WORK/multi" index --layers 1 --size 100000 --seed 62
to_src img:v1 library/app:v1
to_src img:v1 library/app:v1.1
to_src multi:multi library/multi:m --all
to_src img:v1 other/skip:v1
want=$(layout_digest "$WORK/img")
want_multi=$(layout_digest "$WORK/multi")

api POST /registries -d "{\"name\":\"harbor\",\"type\":\"docker-registry\",\"url\":\"http://127.0.0.1:$src_port\"}" >/dev/null
api POST /registries -d "{\"name\":\"acr\",\"type\":\"docker-registry\",\"url\":\"http://127.0.0.1:$acr_port\"}" >/dev/null
harbor=$(api GET "/registries?name=harbor" | json_get '[r["id"] for r in j if r["name"]=="harbor"][0]')
acr=$(api GET "/registries?name=acr" | json_get '[r["id"] for r in j if r["name"]=="acr"][0]')
api POST /replication/policies -d "{\"name\":\"from-harbor\",\"src_registry\":{\"id\":$harbor},\"dest_registry\":null,
  \"dest_namespace\":\"mirror\",\"dest_namespace_replace_count\":-1,\"trigger\":{\"type\":\"manual\"},
  \"filters\":[{\"type\":\"name\",\"value\":\"library/**\"}]}" >/dev/null
api POST /replication/policies -d "{\"name\":\"to-acr\",\"dest_registry\":{\"id\":$acr},
  \"dest_namespace\":\"lgy\",\"dest_namespace_replace_count\":-1,\"trigger\":{\"type\":\"event_based\"},
  \"filters\":[{\"type\":\"name\",\"value\":\"mirror/**\"}]}" >/dev/null
to_acr=$(api GET "/replication/policies?name=to-acr" | json_get '[p["id"] for p in j if p["name"]=="to-acr"][0]')

"$PIER_BIN" replicate --policy from-harbor --server "$API_BASE" >"$WORK/pull.out" 2>&1 || fail "pull: $(cat "$WORK/pull.out")"
grep -q "Succeed (2 task(s)" "$WORK/pull.out" || fail "expected 2 tasks (app v1+v1.1 as one artifact, multi): $(cat "$WORK/pull.out")"
got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$pier_port/mirror/app:v1.1")
[ "$got" = "$want" ] || fail "Pier has $got for mirror/app:v1.1"
got=$(curl -sf -o /dev/null -w '%header{docker-content-digest}' -H 'Accept: application/vnd.oci.image.index.v1+json' \
  "http://127.0.0.1:$pier_port/v2/mirror/multi/manifests/m")
[ "$got" = "$want_multi" ] || fail "Pier has index $got"
[ "$(status GET "http://127.0.0.1:$pier_port/v2/mirror/skip/tags/list")" = 404 ] || fail "the name filter let other/skip in"
pass "pull-mode policy copied library/app (two tags, one artifact) and an index from the source into mirror/"

# The pull fired push events: the event-based policy sends mirror/* on to "ACR".
deadline=$((SECONDS + 60))
until [ "$(status GET "http://127.0.0.1:$acr_port/v2/lgy/app/manifests/v1.1" -H 'Accept: application/vnd.oci.image.manifest.v1+json')" = 200 ] &&
      [ "$(status GET "http://127.0.0.1:$acr_port/v2/lgy/multi/manifests/m" -H 'Accept: application/vnd.oci.image.index.v1+json')" = 200 ]; do
  [ $SECONDS -lt $deadline ] || fail "the chained push did not reach the second registry"
  sleep 0.2
done
for e in $(api GET "/replication/executions?policy_id=$to_acr" | json_get '" ".join(str(x["id"]) for x in j)'); do
  [ "$(wait_execution "$e" 60)" = Succeed ] || fail "chained execution $e did not succeed"
done
got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$acr_port/lgy/app:v1")
[ "$got" = "$want" ] || fail "second registry has $got"
pass "storing the pulled images fired the event-based push policy: Harbor → Pier → ACR, digests kept"

# Running the pull again: everything is already here.
"$PIER_BIN" replicate --policy from-harbor --server "$API_BASE" >"$WORK/pull2.out" 2>&1 || fail "second pull failed"
e=$(api GET "/replication/executions?policy_id=1&page_size=1" | json_get 'j[0]["id"]')
n=$(api GET "/replication/executions/$e/tasks" | json_get 'sum(1 for t in j if t["status"]=="Succeed")')
[ "$n" = 2 ] || fail "second pull: $(api GET "/replication/executions/$e/tasks")"
pass "a second pull finds everything already here"

# The label filter in pull mode: Pier reads each candidate's image config from the source.
mk "$WORK/prod" image --layers 1 --size 40000 --seed 63 --label pier.prod=yes --label team=a
mk "$WORK/plain" image --layers 1 --size 40000 --seed 64 --no-labels
mk "$WORK/pmulti" index --layers 1 --size 30000 --seed 65 --label pier.prod=yes
mk "$WORK/big" image --layers 1 --size 30000 --seed 66 --label pier.prod=yes --config-pad 1100000
to_src prod:v1 labels/prod:v1
to_src plain:v1 labels/plain:v1
to_src pmulti:multi labels/pmulti:m --all
to_src big:v1 labels/big:v1
want_prod=$(layout_digest "$WORK/prod")
want_plain=$(layout_digest "$WORK/plain")
big_config=$(layout_manifest "$WORK/big" | json_get 'j["config"]["digest"]')
pull_policy() {  # pull_policy NAME NAMESPACE FILTERS_JSON → id
  api POST /replication/policies -d "{\"name\":\"$1\",\"src_registry\":{\"id\":$harbor},\"dest_registry\":null,
    \"dest_namespace\":\"$2\",\"dest_namespace_replace_count\":-1,\"trigger\":{\"type\":\"manual\"},\"filters\":$3}" >/dev/null
  api GET "/replication/policies?name=$1" | json_get "[p['id'] for p in j if p['name']=='$1'][0]"
}
tasks_of() {  # tasks_of POLICY_ID → "resource=status" lines, sorted
  local e
  e=$(latest_execution "$1")
  api GET "/replication/executions/$e/tasks" | json_get '"\n".join(sorted(t["src_resource"].split(":")[0].split("@")[0]+"="+t["status"] for t in j))'
}

labelled=$(pull_policy labelled labelled '[{"type":"name","value":"labels/**"},{"type":"label","value":["pier.prod"]}]')
"$PIER_BIN" replicate --policy labelled --server "$API_BASE" >"$WORK/labelled.out" 2>&1 &&
  fail "the oversized config should fail its task: $(cat "$WORK/labelled.out")"
got=$(tasks_of "$labelled" | tr '\n' ' ')
[ "$got" = "labels/big=Failed labels/pmulti=Succeed labels/prod=Succeed " ] || fail "label matches tasks: $got"
got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$pier_port/labelled/prod:v1")
[ "$got" = "$want_prod" ] || fail "Pier has $got for labelled/prod:v1, want $want_prod"
[ "$(status GET "http://127.0.0.1:$pier_port/v2/labelled/pmulti/manifests/m" -H 'Accept: application/vnd.oci.image.index.v1+json')" = 200 ] ||
  fail "the labelled index was not copied"
for r in plain big; do
  [ "$(status GET "http://127.0.0.1:$pier_port/v2/labelled/$r/tags/list")" = 404 ] || fail "labelled/$r was copied"
done
e=$(latest_execution "$labelled")
big_task=$(api GET "/replication/executions/$e/tasks" | json_get '[t for t in j if t["src_resource"].startswith("labels/big")][0]["id"]')
log=$(curl -sf "$API_BASE/api/v2.0/replication/executions/$e/tasks/$big_task/log")
echo "$log" | grep -q "label filter: config $big_config is [0-9]* bytes; Pier reads labels from configs of at most 1048576 bytes" ||
  fail "the failed task's log does not say why: $log"
pass "pull-mode label filter (matches): the labelled image and index copied, the unlabelled one not, an oversized config a Failed task saying why"

unlabelled=$(pull_policy unlabelled unlabelled '[{"type":"name","value":"labels/p*"},{"type":"label","value":["pier.prod"],"decoration":"excludes"}]')
"$PIER_BIN" replicate --policy unlabelled --server "$API_BASE" >"$WORK/unlabelled.out" 2>&1 || fail "excludes: $(cat "$WORK/unlabelled.out")"
got=$(tasks_of "$unlabelled" | tr '\n' ' ')
[ "$got" = "labels/plain=Succeed " ] || fail "label excludes tasks: $got"
got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$pier_port/unlabelled/plain:v1")
[ "$got" = "$want_plain" ] || fail "Pier has $got for unlabelled/plain:v1"
[ "$(status GET "http://127.0.0.1:$pier_port/v2/unlabelled/prod/tags/list")" = 404 ] || fail "excludes copied the labelled image"
pass "pull-mode label filter (excludes): only the unlabelled image copied"
