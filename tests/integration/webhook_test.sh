#!/usr/bin/env bash
# Harbor webhooks: a `docker-registry` stands in for Harbor (a `harbor`
# endpoint), a second one for ACR. Harbor's PUSH_ARTIFACT payload, posted
# with the shared Authorization value, starts the event-based pull policy
# (Harbor → Pier), whose stored tags fire the event-based push policy
# (Pier → ACR). Duplicates are ignored; unauthenticated or malformed
# payloads get 401/400 and start nothing.
source "$(dirname "$0")/lib/common.sh"

src_port=$(free_port)
start_docker_registry harbor "$src_port"
acr_port=$(free_port)
start_docker_registry acr "$acr_port"
echo '{"webhooks":{"harbor":{"authorization":"Bearer hook-secret"}}}' >"$WORK/pier.json"
pier_port=$(free_port)
start_pier pier "$pier_port" "$WORK/data" --config "$WORK/pier.json"
API_BASE="http://127.0.0.1:$pier_port"
HOOK="$API_BASE/webhooks/harbor"

api POST /registries -d "{\"name\":\"harbor\",\"type\":\"harbor\",\"url\":\"http://127.0.0.1:$src_port\"}" >/dev/null
api POST /registries -d "{\"name\":\"acr\",\"type\":\"docker-registry\",\"url\":\"http://127.0.0.1:$acr_port\"}" >/dev/null
harbor=$(api GET "/registries?name=harbor" | json_get '[r["id"] for r in j if r["name"]=="harbor"][0]')
acr=$(api GET "/registries?name=acr" | json_get '[r["id"] for r in j if r["name"]=="acr"][0]')
api POST /replication/policies -d "{\"name\":\"from-harbor\",\"src_registry\":{\"id\":$harbor},\"dest_registry\":null,
  \"dest_namespace\":\"mirror\",\"trigger\":{\"type\":\"event_based\"},\"filters\":[{\"type\":\"name\",\"value\":\"library/**\"}]}" >/dev/null
api POST /replication/policies -d "{\"name\":\"to-acr\",\"dest_registry\":{\"id\":$acr},\"dest_namespace\":\"lgy\",
  \"trigger\":{\"type\":\"event_based\"},\"filters\":[{\"type\":\"name\",\"value\":\"mirror/**\"}]}" >/dev/null

python3 "$LIB_DIR/make_oci_layout.py" "$WORK/img" image --layers 2 --size 200000 --seed 95
want=$(layout_digest "$WORK/img")
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://127.0.0.1:$src_port/library/app:v1" >/dev/null
payload="{\"type\":\"PUSH_ARTIFACT\",\"occur_at\":1700000000,\"operator\":\"admin\",
 \"event_data\":{\"resources\":[{\"digest\":\"$want\",\"tag\":\"v1\",\"resource_url\":\"127.0.0.1:$src_port/library/app:v1\"}],
  \"repository\":{\"name\":\"app\",\"namespace\":\"library\",\"repo_full_name\":\"library/app\",\"repo_type\":\"public\"}}}"
executions() { api GET "/replication/executions" | json_get 'len(j)'; }

# Refusals first: nothing may start from them.
[ "$(status POST "$HOOK" -H 'Content-Type: application/json' -d "$payload")" = 401 ] || fail "no Authorization accepted"
[ "$(status POST "$HOOK" -H 'Authorization: Bearer wrong' -d "$payload")" = 401 ] || fail "wrong Authorization accepted"
body=$(curl -s -X POST -H 'Authorization: Bearer hook-secret' -d '{"type":"PUSH_ARTIFACT","event_data":{}}' "$HOOK")
echo "$body" | grep -q "event_data.repository" || fail "malformed payload answer does not name the field: $body"
[ "$(executions)" = 0 ] || fail "a refused webhook started an execution"
pass "unauthenticated and malformed webhooks: 401 / 400 naming the field, nothing started"

r=$(curl -sf -X POST -H 'Authorization: Bearer hook-secret' -H 'Content-Type: application/json' -d "$payload" "$HOOK")
[ "$(echo "$r" | json_get 'j["accepted"]')" = 1 ] || fail "webhook answer: $r"
deadline=$((SECONDS + 60))
until [ "$(status GET "http://127.0.0.1:$acr_port/v2/lgy/app/manifests/v1" -H 'Accept: application/vnd.oci.image.manifest.v1+json')" = 200 ]; do
  [ $SECONDS -lt $deadline ] || fail "the webhook did not bring library/app:v1 to ACR: $(api GET /replication/executions)"
  sleep 0.2
done
got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$acr_port/lgy/app:v1")
[ "$got" = "$want" ] || fail "ACR has $got"
got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$pier_port/mirror/app:v1")
[ "$got" = "$want" ] || fail "Pier has $got"
pass "Harbor's PUSH_ARTIFACT webhook: pulled into Pier (mirror/app) and pushed on to ACR (lgy/app), digest kept"

n=$(executions)
r=$(curl -sf -X POST -H 'Authorization: Bearer hook-secret' -d "$payload" "$HOOK")
[ "$(echo "$r" | json_get 'j["accepted"], j["duplicates"]')" = "0 1" ] || fail "duplicate not recognised: $r"
[ "$(executions)" = "$n" ] || fail "a duplicate webhook started an execution"
stop_pid "$PIER_PID"
start_pier pier2 "$pier_port" "$WORK/data" --config "$WORK/pier.json"
r=$(curl -sf -X POST -H 'Authorization: Bearer hook-secret' -d "$payload" "$HOOK")
[ "$(echo "$r" | json_get 'j["duplicates"]')" = 1 ] || fail "the event was not remembered across a restart: $r"
pass "a repeated event is ignored, also after a restart (events persisted before the answer)"
