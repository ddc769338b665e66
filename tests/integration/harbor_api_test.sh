#!/usr/bin/env bash
# Harbor-compatible management API (/api/v2.0): replication endpoints and
# policies against a real docker-registry destination, persisted across a
# restart; then the admin-only rule with auth on.
source "$(dirname "$0")/lib/common.sh"

dest_port=$(free_port)
cat >"$WORK/dest.yml" <<YML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $WORK/dest-data
http:
  addr: 127.0.0.1:$dest_port
YML
spawn "$WORK/dest.log" docker-registry serve "$WORK/dest.yml"
echo "$LAST_PID" >"$WORK/dest.pid"
wait_http "http://127.0.0.1:$dest_port/v2/"

pier_port=$(free_port)
start_pier pier "$pier_port" "$WORK/data"
API="http://127.0.0.1:$pier_port/api/v2.0"

# req METHOD PATH [JSON] [curl args...]: sets CODE; headers in $WORK/h, body in $WORK/b.
req() {
  local m=$1 p=$2 body=${3:-}; shift 3 || shift $#
  if [ -n "$body" ]; then
    CODE=$(curl -s -D "$WORK/h" -o "$WORK/b" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' \
      --data-binary "$body" "$@" "$API$p")
  else
    CODE=$(curl -s -D "$WORK/h" -o "$WORK/b" -w '%{http_code}' -X "$m" "$@" "$API$p")
  fi
}
expect() { [ "$CODE" = "$1" ] || fail "$2: got HTTP $CODE, want $1: $(cat "$WORK/b")"; }
header() { grep -i "^$1:" "$WORK/h" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
# jq-like checks with python: pyj 'expr[, expr...]' prints the values space-separated.
pyj() { python3 -c "import json,sys; j=json.load(open('$WORK/b')); print($1)"; }

# --- registries ---
req POST /registries "{\"name\":\"dest\",\"url\":\"http://127.0.0.1:$dest_port\",\"type\":\"docker-registry\",
  \"credential\":{\"type\":\"basic\",\"access_key\":\"bob\",\"access_secret\":\"hunter2\"},\"insecure\":true}"
expect 201 "create registry"
loc=$(header Location)
[[ "$loc" =~ ^/api/v2.0/registries/([0-9]+)$ ]] || fail "Location $loc"
reg_id=${BASH_REMATCH[1]}
pass "POST /registries pings the endpoint and answers 201 + Location ($loc)"

req GET /registries
expect 200 "list registries"
[ "$(header X-Total-Count)" = 1 ] || fail "X-Total-Count $(header X-Total-Count)"
[ "$(pyj 'j[0]["credential"]["access_secret"]')" = "*****" ] || fail "secret not masked: $(cat "$WORK/b")"
grep -q hunter2 "$WORK/b" && fail "secret leaked in list"
[ "$(pyj 'j[0]["name"], j[0]["status"], j[0]["credential"]["access_key"]')" = "dest healthy bob" ] ||
  fail "registry object $(cat "$WORK/b")"
grep -q hunter2 "$WORK/pier.log" && fail "secret leaked in the log"
pass "GET /registries: X-Total-Count, secret masked, healthy"

closed=$(free_port)
req POST /registries "{\"name\":\"down\",\"url\":\"http://127.0.0.1:$closed\",\"type\":\"docker-registry\"}"
expect 400 "unreachable registry"
[ "$(pyj 'j["errors"][0]["code"]')" = "BAD_REQUEST" ] || fail "unhealthy body $(cat "$WORK/b")"
pyj 'j["errors"][0]["message"]' | grep -q "^the registry is unhealthy: " || fail "unhealthy body $(cat "$WORK/b")"
pyj 'j["errors"][0]["message"]' | grep -q "credential" && fail "a registry that is down blamed the credential: $(cat "$WORK/b")"
req POST /registries "{\"name\":\"dest\",\"url\":\"http://127.0.0.1:$dest_port\",\"type\":\"docker-registry\"}"
expect 409 "duplicate name"
req POST /registries '{"url":"http://127.0.0.1:1","type":"docker-registry"}'
expect 400 "missing name"
grep -q name "$WORK/b" || fail "missing-name error does not name the field: $(cat "$WORK/b")"
pass "unreachable endpoint 400 'the registry is unhealthy'; duplicate 409; missing name 400"

# A registry that answers but refuses the credential is told apart from one that is down;
# PUT is checked as POST is (nested credential, unknown keys, health), and stores nothing that fails.
htpasswd -Bbc "$WORK/authed.htpasswd" carol right-pw 2>/dev/null
authed_port=$(free_port)
start_docker_registry authed "$authed_port" "$WORK/authed.htpasswd"
authed_url="http://127.0.0.1:$authed_port"
req POST /registries "{\"name\":\"authed\",\"url\":\"$authed_url\",\"type\":\"docker-registry\",
  \"credential\":{\"type\":\"basic\",\"access_key\":\"carol\",\"access_secret\":\"wrong-pw\"}}"
expect 400 "wrong password"
pyj 'j["errors"][0]["message"]' | grep -q "refused the credential (check access_key and access_secret)" ||
  fail "a refused credential is not named: $(cat "$WORK/b")"
req POST /registries "{\"name\":\"authed\",\"url\":\"$authed_url\",\"type\":\"docker-registry\",
  \"credential\":{\"type\":\"basic\",\"access_key\":\"carol\",\"access_secret\":\"right-pw\"}}"
expect 201 "right password"
authed_id=$(header Location | sed 's#.*/##')
req PUT "/registries/$authed_id" '{"credential":{"access_secret":"wrong-again"}}'
expect 400 "PUT with a secret the registry refuses"
pyj 'j["errors"][0]["message"]' | grep -q "refused the credential" || fail "PUT wrong secret: $(cat "$WORK/b")"
req POST /registries/ping "{\"id\":$authed_id}"
expect 200 "the stored secret is still the right one after a refused PUT"
req PUT "/registries/$authed_id" '{"descripton":"typo"}'
expect 400 "unknown key"
grep -q descripton "$WORK/b" || fail "unknown key not named: $(cat "$WORK/b")"
req PUT "/registries/$authed_id" '{"type":"harbor"}'
expect 400 "type change"
req GET "/registries/$authed_id"
cp "$WORK/b" "$WORK/authed.json"
req PUT "/registries/$authed_id" "$(cat "$WORK/authed.json")"
expect 200 "PUT back what GET returned"
req PUT "/registries/$authed_id" '{"credential":{"type":"basic","access_key":"carol","access_secret":"right-pw"},"description":"d2"}'
expect 200 "PUT with the nested credential"
req GET "/registries/$authed_id"
[ "$(pyj 'j["description"], j["status"]')" = "d2 healthy" ] || fail "after PUT: $(cat "$WORK/b")"
req DELETE "/registries/$authed_id"
expect 200 "delete authed"
pass "wrong credential named as such; PUT validated like POST (nested credential, unknown keys, type, health)"

req GET "/registries/$reg_id/info"
expect 200 "info"
[ "$(pyj 'j["supported_copy_by_chunk"]')" = True ] || fail "info $(cat "$WORK/b")"
req GET /replication/adapters
expect 200 "adapters"
[ "$(pyj '"docker-registry" in j')" = True ] || fail "adapters $(cat "$WORK/b")"
req POST /registries/ping "{\"id\":$reg_id}"
expect 200 "ping by id"
req POST /registries/ping "{\"type\":\"docker-registry\",\"url\":\"http://127.0.0.1:$closed\"}"
expect 400 "ping closed port"
req GET /registries/999
expect 404 "unknown registry"
pass "info, adapters, ping, unknown id 404"

# --- policies ---
policy="{\"name\":\"to-dest\",\"src_registry\":null,\"dest_registry\":{\"id\":$reg_id},\"dest_namespace\":\"lgy-images\",
 \"dest_namespace_replace_count\":-1,
 \"trigger\":{\"type\":\"event_based\",\"trigger_settings\":{\"cron\":\"\"}},
 \"filters\":[{\"type\":\"name\",\"value\":\"team/**\"},{\"type\":\"tag\",\"value\":\"v*\",\"decoration\":\"matches\"},
            {\"type\":\"label\",\"value\":[\"prod\"],\"decoration\":\"excludes\"},{\"type\":\"resource\",\"value\":\"image\"}],
 \"deletion\":true,\"override\":true,\"enabled\":true,\"speed\":-1,\"copy_by_chunk\":true}"
req POST /replication/policies "$policy"
expect 201 "create policy"
loc=$(header Location)
[[ "$loc" =~ ^/api/v2.0/replication/policies/([0-9]+)$ ]] || fail "policy Location $loc"
pol_id=${BASH_REMATCH[1]}

check_policy() {
  req GET "/replication/policies/$pol_id"
  expect 200 "get policy"
  python3 - "$WORK/b" "$reg_id" <<'PY' || fail "policy fields differ: $(cat "$WORK/b")"
import json, sys
j = json.load(open(sys.argv[1])); reg = int(sys.argv[2])
want = {"name": "to-dest", "dest_namespace": "lgy-images", "dest_namespace_replace_count": -1,
        "replicate_deletion": True, "override": True, "enabled": True, "speed": -1, "copy_by_chunk": True}
for k, v in want.items():
    assert j[k] == v, (k, j[k], v)
assert j["dest_registry"]["id"] == reg and j["dest_registry"]["credential"]["access_secret"] == "*****", j["dest_registry"]
assert (j["src_registry"] or {}).get("id", 0) == 0
assert j["trigger"]["type"] == "event_based"
f = [(x["type"], x["value"], x.get("decoration", "")) for x in j["filters"]]
assert f == [("name", "team/**", ""), ("tag", "v*", "matches"), ("label", ["prod"], "excludes"),
             ("resource", "image", "")], f
PY
}
check_policy
pass "POST /replication/policies 201 + Location; GET returns the same fields, replicate_deletion from deletion"

req POST /replication/policies "$(echo "$policy" | python3 -c 'import json,sys; j=json.load(sys.stdin); del j["name"]; print(json.dumps(j))')"
expect 400 "policy without name"
grep -q '"message":"name' "$WORK/b" || fail "missing-name error does not name the field: $(cat "$WORK/b")"
req POST /replication/policies "$(echo "$policy" | python3 -c 'import json,sys; j=json.load(sys.stdin); j["name"]="x"; j["trigger"]={"type":"scheduled","trigger_settings":{"cron":"* * * * *"}}; print(json.dumps(j))')"
expect 400 "bad cron"
grep -q 'trigger.trigger_settings.cron' "$WORK/b" || fail "bad-cron error does not name the field: $(cat "$WORK/b")"
req POST /replication/policies "$(echo "$policy" | python3 -c 'import json,sys; j=json.load(sys.stdin); j["name"]="y"; j["dest_registry"]={"id":77}; print(json.dumps(j))')"
expect 400 "unknown registry id"
req POST /replication/policies "$policy"
expect 409 "duplicate policy name"
req POST /replication/policies '{"name":'
expect 400 "bad JSON"
pass "bad policies: missing name, bad cron, unknown registry 400 naming the field; duplicate 409; bad JSON 400"

req GET "/replication/policies?page=1&page_size=1&q=name%3D~to-"
expect 200 "list policies"
[ "$(header X-Total-Count)" = 1 ] || fail "policies X-Total-Count $(header X-Total-Count)"
req GET "/replication/policies?q=name%3Dnope"
[ "$(header X-Total-Count)" = 0 ] || fail "q name=nope matched"
req GET "/replication/policies?page_size=101"
expect 400 "page_size over 100"
pass "policy list with page/page_size and q"

# --- restart: everything is still there ---
stop_pid "$PIER_PID"
pier_port=$(free_port)
# Health checks every second (defaults: 5 minutes, 30 s while failing) for the health section below.
echo '{"replication": {"health": {"interval_seconds": 1, "failing_interval_seconds": 1}}}' >"$WORK/health.json"
start_pier pier2 "$pier_port" "$WORK/data" --config "$WORK/health.json"
API="http://127.0.0.1:$pier_port/api/v2.0"
req GET /registries
expect 200 "list after restart"
[ "$(header X-Total-Count)" = 1 ] || fail "registries after restart: $(cat "$WORK/b")"
[ "$(pyj 'j[0]["id"], j[0]["name"]')" = "$reg_id dest" ] || fail "registry after restart: $(cat "$WORK/b")"
check_policy
req POST /registries/ping "{\"id\":$reg_id}"
expect 200 "ping after restart (stored credential still usable)"
pass "registries and policies survive a restart"

# --- health: the status follows the endpoint, and so does pier_replication_destination_up ---
# wait_registry_status STATUS UP: until GET /registries and /metrics both say so.
wait_registry_status() {
  local deadline=$((SECONDS + 30))
  until req GET /registries && [ "$(pyj 'j[0]["status"]')" = "$1" ] &&
    curl -s "http://127.0.0.1:$pier_port/metrics" | grep -Eq "^pier_replication_destination_up\{destination=\"dest\"\} $2(\.0)?$"; do
    [ $SECONDS -lt $deadline ] || fail "registry never became $1 (up $2): $(cat "$WORK/b")"
    sleep 0.2
  done
}
wait_registry_status healthy 1
stop_pid "$(cat "$WORK/dest.pid")"
wait_registry_status unhealthy 0
grep -q 'msg="registry unhealthy" registry=dest' "$WORK/pier2.log" || fail "no unhealthy log line"
spawn "$WORK/dest2.log" docker-registry serve "$WORK/dest.yml"
echo "$LAST_PID" >"$WORK/dest.pid"
wait_http "http://127.0.0.1:$dest_port/v2/"
wait_registry_status healthy 1
pass "health checks: destination down → unhealthy + destination_up 0; back → healthy + 1"

# --- delete ---
req DELETE "/registries/$reg_id"
expect 412 "delete registry used by a policy"
req DELETE "/replication/policies/$pol_id"
expect 200 "delete policy"
req GET "/replication/policies/$pol_id"
expect 404 "deleted policy"
req DELETE "/registries/$reg_id"
expect 200 "delete registry"
req GET /registries
[ "$(header X-Total-Count)" = 0 ] || fail "registries left after delete: $(cat "$WORK/b")"
pass "DELETE policy then registry (registry in use: 412)"

# --- auth on: admins only ---
stop_pid "$PIER_PID"
htpasswd -nbB admin secret-a >"$WORK/htpasswd"
htpasswd -nbB dev secret-d >>"$WORK/htpasswd"
echo "{\"auth\":{\"htpasswd\":\"$WORK/htpasswd\",\"admins\":[\"admin\"]}}" >"$WORK/config.json"
pier_port=$(free_port)
start_pier pier3 "$pier_port" "$WORK/data" --config "$WORK/config.json"
API="http://127.0.0.1:$pier_port/api/v2.0"
req GET /registries
expect 401 "anonymous"
header WWW-Authenticate | grep -q Basic || fail "no Basic challenge"
req GET /registries "" -u dev:secret-d
expect 403 "non-admin"
req GET /registries "" -u admin:wrong
expect 401 "wrong password"
req GET /registries "" -u admin:secret-a
expect 200 "admin"
pass "with auth on: anonymous 401, non-admin 403, admin 200"
rc=0; PIER_PASSWORD=wrong "$PIER_BIN" replicate --policy any --server "http://127.0.0.1:$pier_port" --user admin \
  2>"$WORK/cli401.err" || rc=$?
[ $rc = 2 ] || fail "pier replicate with a wrong password exited $rc"
grep -q 'PIER_PASSWORD or --password-file' "$WORK/cli401.err" || fail "401 without a hint: $(cat "$WORK/cli401.err")"
rc=0; PIER_PASSWORD=secret-d "$PIER_BIN" replicate --policy any --server "http://127.0.0.1:$pier_port" --user dev \
  2>"$WORK/cli403.err" || rc=$?
grep -q 'auth.admins' "$WORK/cli403.err" || fail "403 without a hint: $(cat "$WORK/cli403.err")"
pass "pier replicate names the fix for a 401 and a 403"
