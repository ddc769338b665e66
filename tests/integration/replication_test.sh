#!/usr/bin/env bash
# Replication end to end with a real destination: skopeo pushes to Pier, an
# event-based policy copies to a Basic-auth `docker-registry` through
# slowlink (which counts the bytes on the wire). Checks: the image arrives
# byte-identical under the Harbor-style destination name; a second build
# that changes one layer sends only that layer; a manual run of an
# up-to-date policy sends no blob bytes; executions, tasks and logs answer
# in Harbor's shapes; Harbor's refusals (412 disabled, 404, 400 naming the
# field); executions persist across a restart.
source "$(dirname "$0")/lib/common.sh"

htpasswd -Bbc "$WORK/dest.htpasswd" mirror-user 'mirror-pass' 2>/dev/null
dest_port=$(free_port)
start_docker_registry dest "$dest_port" "$WORK/dest.htpasswd"
start_slowlink link "$dest_port"

pier_port=$(free_port)
start_pier pier "$pier_port" "$WORK/data"
API_BASE="http://127.0.0.1:$pier_port"

api POST /registries -d "{\"name\":\"dest\",\"type\":\"docker-registry\",\"url\":\"http://$LINK_ADDR\",
  \"credential\":{\"type\":\"basic\",\"access_key\":\"mirror-user\",\"access_secret\":\"mirror-pass\"}}" >/dev/null
reg_id=$(api GET /registries | json_get 'j[0]["id"]')
api POST /replication/policies -d "{\"name\":\"to-dest\",\"src_registry\":null,\"dest_registry\":{\"id\":$reg_id},
  \"dest_namespace\":\"mirror\",\"dest_namespace_replace_count\":-1,
  \"trigger\":{\"type\":\"event_based\",\"trigger_settings\":{\"cron\":\"\"}},
  \"filters\":[{\"type\":\"name\",\"value\":\"team/**\"}],\"deletion\":true,\"override\":true,\"enabled\":true}" >/dev/null
pol_id=$(api GET /replication/policies | json_get 'j[0]["id"]')

# Build 1: a shared base of two layers plus an app layer.
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/b1" image --layers 3 --size 400000 --base-seed 11 --seed 1 --tag v1
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/b2" image --layers 3 --size 400000 --base-seed 11 --seed 2 --tag v2
skopeo_ copy --dest-tls-verify=false "oci:$WORK/b1:v1" "docker://127.0.0.1:$pier_port/team/app:v1" >/dev/null
e1=$(wait_new_execution "$pol_id" 0 5)
[ "$(wait_execution "$e1")" = Succeed ] || { api GET "/replication/executions/$e1/tasks" >&2; fail "execution $e1 did not succeed"; }
got=$(skopeo_ inspect --tls-verify=false --creds mirror-user:mirror-pass --format '{{.Digest}}' \
  "docker://127.0.0.1:$dest_port/mirror/app:v1")
[ "$got" = "$(layout_digest "$WORK/b1")" ] || fail "destination has $got for mirror/app:v1"
skopeo_ copy --src-tls-verify=false --src-creds mirror-user:mirror-pass \
  "docker://127.0.0.1:$dest_port/mirror/app:v1" "oci:$WORK/back:v1" >/dev/null
for f in "$WORK"/b1/blobs/sha256/*; do
  cmp -s "$f" "$WORK/back/blobs/sha256/$(basename "$f")" || fail "blob $(basename "$f") differs at the destination"
done
pass "event-based policy replicated team/app:v1 to mirror/app:v1, byte-identical"

ex=$(api GET "/replication/executions/$e1")
echo "$ex" | json_get 'j["trigger"]=="event_based" and j["total"]==1 and j["succeed"]==1 and j["end_time"]!="0001-01-01T00:00:00.000Z"' \
  | grep -qx True || fail "execution object: $ex"
tasks=$(api GET "/replication/executions/$e1/tasks")
echo "$tasks" | json_get 'j[0]["status"]=="Succeed" and j[0]["operation"]=="copy" and j[0]["src_resource"]=="team/app:[v1]" and j[0]["dst_resource"]=="mirror/app:[v1]"' \
  | grep -qx True || fail "task object: $tasks"
task_id=$(echo "$tasks" | json_get 'j[0]["id"]')
log=$(curl -sf "$API_BASE/api/v2.0/replication/executions/$e1/tasks/$task_id/log")
echo "$log" | grep -q "uploaded" || fail "task log lacks blob outcomes: $log"
pass "execution, task and task log in Harbor's shapes"

# What the engine reported reached Prometheus's text.
m=$(curl -sf "$API_BASE/metrics")
echo "$m" | grep -E '^pier_replication_blobs_total\{.*destination="dest".*outcome="uploaded".*\} [1-9]' >/dev/null \
  || fail "no uploaded blobs in /metrics: $(echo "$m" | grep pier_replication_blobs || true)"
sent=$(echo "$m" | awk '/^pier_replication_sent_bytes_total\{/{print $2}' | head -1)
python3 -c "import sys; sys.exit(0 if float('${sent:-0}') >= 1200000 else 1)" || fail "sent bytes metric: ${sent:-none}"
echo "$m" | grep -E '^pier_replication_executions_finished_total\{.*status="Succeed".*\} 1' >/dev/null \
  || fail "no finished execution in /metrics"
pass "replication metrics: blobs by outcome, $sent bytes sent, executions by status"

# Build 2 changes only the app layer: only it (plus config and manifest) crosses.
link_reset link
skopeo_ copy --dest-tls-verify=false "oci:$WORK/b2:v2" "docker://127.0.0.1:$pier_port/team/app:v2" >/dev/null
e2=$(wait_new_execution "$pol_id" "$e1" 5)
[ "$(wait_execution "$e2")" = Succeed ] || fail "execution $e2 did not succeed"
app_layer=$(layout_manifest "$WORK/b2" | json_get 'j["layers"][-1]["size"] + j["config"]["size"]')
up=$(link_stat link bytes_up)
[ "$up" -ge "$app_layer" ] || fail "only $up bytes crossed, the new layer alone is $app_layer"
[ "$up" -le $((app_layer + 64 * 1024)) ] || fail "$up bytes crossed for a build whose new blobs are $app_layer bytes"
got=$(skopeo_ inspect --tls-verify=false --creds mirror-user:mirror-pass --format '{{.Digest}}' \
  "docker://127.0.0.1:$dest_port/mirror/app:v2")
[ "$got" = "$(layout_digest "$WORK/b2")" ] || fail "destination has $got for mirror/app:v2"
pass "second build sent only its changed layer: $up bytes on the wire for $app_layer new blob bytes"

# A manual run of an up-to-date policy: every artifact is already there.
link_reset link
loc=$(curl -sf -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"policy_id\":$pol_id}" \
  "$API_BASE/api/v2.0/replication/executions" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
e3=${loc##*/}
[ -n "$e3" ] || fail "POST /replication/executions gave no Location"
[ "$(wait_execution "$e3")" = Succeed ] || fail "manual execution $e3 did not succeed"
[ "$(api GET "/replication/executions/$e3" | json_get 'j["trigger"]+" "+str(j["total"])')" = "manual 2" ] \
  || fail "manual execution should have 2 tasks: $(api GET "/replication/executions/$e3")"
up=$(link_stat link bytes_up)
[ "$up" -le 16384 ] || fail "an up-to-date policy sent $up bytes"
pass "manual execution of an up-to-date policy: 2 tasks, $up request bytes, no blob sent"

# The CLI: `pier replicate --policy NAME` runs it and reports the outcome.
out=$("$PIER_BIN" replicate --policy to-dest --server "$API_BASE" 2>"$WORK/cli.err") || fail "pier replicate failed: $out $(cat "$WORK/cli.err")"
echo "$out" | grep -q ": Succeed (2 task(s): 2 succeeded" || fail "pier replicate said: $out"
grep -q "tasks 2/2" "$WORK/cli.err" || fail "no progress line: $(cat "$WORK/cli.err")"
rc=0; "$PIER_BIN" replicate --policy no-such --server "$API_BASE" 2>/dev/null || rc=$?
[ $rc = 2 ] || fail "pier replicate of an unknown policy exited $rc"
rc=0; "$PIER_BIN" replicate --policy to-dst --server "$API_BASE" 2>"$WORK/typo.err" || rc=$?
[ $rc = 2 ] || fail "pier replicate of a mistyped policy exited $rc"
grep -q "no policy named to-dst; did you mean to-dest?" "$WORK/typo.err" || fail "no suggestion: $(cat "$WORK/typo.err")"
pass "pier replicate --policy to-dest: $out"

# Deletion replication: deleting team/app:v1 on Pier deletes it at the destination.
d1=$(layout_digest "$WORK/b1")
[ "$(status DELETE "$API_BASE/v2/team/app/manifests/$d1")" = 202 ] || fail "delete on Pier refused"
e4=$(wait_new_execution "$pol_id" "$e3" 5)
[ "$(wait_execution "$e4")" = Succeed ] || fail "deletion execution $e4 did not succeed"
[ "$(status GET "http://127.0.0.1:$dest_port/v2/mirror/app/manifests/$d1" -u mirror-user:mirror-pass)" = 404 ] \
  || fail "mirror/app@$d1 still at the destination"
pass "a delete on Pier was replicated (replicate_deletion)"

# Harbor's refusals.
[ "$(status POST "$API_BASE/api/v2.0/replication/executions" -d '{"policy_id":999}')" = 404 ] || fail "unknown policy"
body=$(curl -s -X POST -d '{"policy":1}' "$API_BASE/api/v2.0/replication/executions")
echo "$body" | grep -q 'policy_id' || fail "bad body error does not name policy_id: $body"
api PUT "/replication/policies/$pol_id" -d '{"enabled":false}' >/dev/null
[ "$(status POST "$API_BASE/api/v2.0/replication/executions" -d "{\"policy_id\":$pol_id}")" = 412 ] \
  || fail "a disabled policy must answer 412"
[ "$(status GET "$API_BASE/api/v2.0/replication/executions/abc")" = 400 ] || fail "bad execution id"
[ "$(status GET "$API_BASE/api/v2.0/replication/executions/99999")" = 404 ] || fail "unknown execution"
pass "412 for a disabled policy, 404 unknown, 400 naming the field"

# Persisted: the same executions after a restart.
n=$(api GET "/replication/executions?policy_id=$pol_id" | json_get 'len(j)')
stop_pid "$PIER_PID"
start_pier pier2 "$pier_port" "$WORK/data"
[ "$(api GET "/replication/executions?policy_id=$pol_id" | json_get 'len(j)')" = "$n" ] || fail "executions lost on restart"
pass "$n executions survive a restart"
