#!/usr/bin/env bash
# Control of executions: stop interrupts a blob in flight (the execution and
# its task end Stopped within seconds, not after the blob); a scheduled policy
# fires on its cron by itself.
source "$(dirname "$0")/lib/common.sh"

dest_port=$(free_port)
start_docker_registry dest "$dest_port"
start_slowlink link "$dest_port"
pier_port=$(free_port)
start_pier pier "$pier_port" "$WORK/data"
API_BASE="http://127.0.0.1:$pier_port"
api POST /registries -d "{\"name\":\"dest\",\"type\":\"docker-registry\",\"url\":\"http://$LINK_ADDR\"}" >/dev/null
reg=$(api GET /registries | json_get 'j[0]["id"]')
# 800 Kibit/s = 102,400 B/s: a 4 MB layer would take ~40 s.
api POST /replication/policies -d "{\"name\":\"slow\",\"dest_registry\":{\"id\":$reg},\"dest_namespace\":\"\",
  \"trigger\":{\"type\":\"manual\"},\"filters\":[{\"type\":\"name\",\"value\":\"slow/**\"}],\"speed\":800}" >/dev/null
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/img" image --layers 1 --size 4000000 --seed 81
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://127.0.0.1:$pier_port/slow/app:v1" >/dev/null

loc=$(curl -sf -D - -o /dev/null -X POST -d '{"policy_id":1}' "$API_BASE/api/v2.0/replication/executions" |
  tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
e=${loc##*/}
deadline=$((SECONDS + 30))
# The layer goes in one PUT (under the chunk size): bytes_sent counts only
# what the destination acknowledged, so "in flight" is read off the link.
until [ "$(link_stat link bytes_up)" -gt 200000 ]; do
  [ $SECONDS -lt $deadline ] || fail "the slow execution never started sending"
  sleep 0.1
done
t0=$SECONDS
api PUT "/replication/executions/$e" -d '{}' >/dev/null
[ "$(wait_execution "$e" 10)" = Stopped ] || fail "execution did not end Stopped"
[ $((SECONDS - t0)) -le 5 ] || fail "stop took $((SECONDS - t0)) s"
st=$(api GET "/replication/executions/$e/tasks" | json_get 'j[0]["status"]')
[ "$st" = Stopped ] || fail "task status $st after stop"
[ "$(status GET "http://127.0.0.1:$dest_port/v2/slow/app/manifests/v1")" = 404 ] || fail "manifest pushed despite stop"
pass "stop interrupted a blob in flight: execution and task Stopped within $((SECONDS - t0)) s"

# A scheduled policy: fires at the next minute boundary by itself.
api POST /replication/policies -d "{\"name\":\"cron\",\"dest_registry\":{\"id\":$reg},\"dest_namespace\":\"cron\",
  \"trigger\":{\"type\":\"scheduled\",\"trigger_settings\":{\"cron\":\"0 0-59 * * * *\"}},
  \"filters\":[{\"type\":\"name\",\"value\":\"slow/**\"}]}" >/dev/null
cron_id=$(api GET "/replication/policies?name=cron" | json_get '[p["id"] for p in j if p["name"]=="cron"][0]')
e=$(wait_new_execution "$cron_id" 0 75)
[ "$(api GET "/replication/executions/$e" | json_get 'j["trigger"]')" = scheduled ] || fail "trigger is not scheduled"
pass "the cron policy started execution $e by itself (trigger scheduled)"
api PUT "/replication/executions/$e" -d '{}' >/dev/null
