#!/usr/bin/env bash
# The Grafana dashboard and the alert rules against a real Prometheus that
# scrapes a Pier, twice:
#  - idle: a fresh Pier with a destination and a policy created through the
#    API, nothing replicated yet: every dashboard query, stripped of its
#    `or on() vector(0)` fallback, must return data from Pier's own series
#    (zeros are data); the policy's series exist once each, also after the
#    policy is changed; the pull-through upstream's series exist too;
#  - after a pull through the cache and in the middle of a replication (to a
#    docker-registry behind slowlink):
#    every dashboard query and every rule expression (comparisons made
#    `bool`, so a quiet alert still answers 0/1; `a unless b` rules are
#    checked side by side) must return data through Prometheus's HTTP API.
# Also `promtool check rules` on the rules file.
source "$(dirname "$0")/lib/common.sh"
command -v prometheus >/dev/null || fail "prometheus not installed (scripts/deps.sh)"
SRC=${PIER_SOURCE_DIR:-$(cd "$LIB_DIR/../../.." && pwd)}
BOARD="$SRC/charts/pier/dashboards/pier.json"
RULES="$SRC/charts/pier/rules/pier-rules.yaml"
promtool check rules "$RULES" >/dev/null || fail "promtool check rules"

dest_port=$(free_port)
start_docker_registry dest "$dest_port"
start_slowlink link "$dest_port" --rate 3000000
pier_port=$(free_port)
# A pull-through upstream too (the same docker-registry, under mirror/), so
# the "Pull-through cache" row has series from the start.
cat >"$WORK/pier.json" <<JSON
{"proxy": {"upstreams": [{"name": "mirror", "url": "http://127.0.0.1:$dest_port", "prefix": "mirror"}]}}
JSON
start_pier pier "$pier_port" "$WORK/data" --config "$WORK/pier.json"
API_BASE="http://127.0.0.1:$pier_port"
api POST /registries -d "{\"name\":\"acr\",\"type\":\"docker-registry\",\"url\":\"http://$LINK_ADDR\"}" >/dev/null
reg=$(api GET /registries | json_get 'j[0]["id"]')
api POST /replication/policies -d "{\"name\":\"to-acr\",\"dest_registry\":{\"id\":$reg},\"dest_namespace\":\"\",
  \"trigger\":{\"type\":\"manual\"},\"filters\":[{\"type\":\"name\",\"value\":\"team/**\"}]}" >/dev/null

pport=$(free_port)
cat >"$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: pier
    static_configs: [{targets: ["127.0.0.1:$pier_port"]}]
YAML
spawn "$WORK/prometheus.log" prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
  --web.listen-address="127.0.0.1:$pport" --log.level=warn
PROM="http://127.0.0.1:$pport/api/v1/query"
count() { curl -sf --get --data-urlencode "query=$1" "$PROM" | python3 -c 'import json,sys;print(len(json.load(sys.stdin)["data"]["result"]))' 2>/dev/null || echo 0; }
wait_data() {
  local deadline=$((SECONDS + ${2:-60}))
  until [ "$(count "$1")" -gt 0 ]; do
    [ $SECONDS -lt $deadline ] || fail "Prometheus never returned data for: $1"
    sleep 0.5
  done
}
wait_data 'up{job="pier"} == 1'

# check_all FILE WHAT: every expression of FILE (promql_exprs.py lines)
# returns data within 60 s; fails naming those that never do.
check_all() {
  local file=$1 what=$2 line expr ok part deadline=$((SECONDS + 60))
  local -a missing
  while :; do
    missing=()
    while IFS= read -r line; do
      expr=$(echo "$line" | python3 -c 'import json,sys;print(json.load(sys.stdin)["expr"])')
      [ "$(count "$expr")" -gt 0 ] && continue
      # A quiet `a unless b` rule: each side must still answer.
      ok=1
      while IFS= read -r part; do
        [ -n "$part" ] || continue
        [ "$(count "$part")" -gt 0 ] || ok=0
      done < <(echo "$line" | python3 -c 'import json,sys;[print(p.replace("\n"," ")) for p in json.load(sys.stdin).get("parts",[])]')
      if [ $ok = 1 ] && echo "$line" | grep -q '"parts": \[".'; then continue; fi
      missing+=("$(echo "$line" | python3 -c 'import json,sys;print(json.load(sys.stdin)["where"])')")
    done <"$file"
    [ ${#missing[@]} -eq 0 ] && return 0
    [ $SECONDS -lt $deadline ] || fail "$what: no data for ${#missing[@]} expression(s): ${missing[*]}"
    sleep 2
  done
}

# --- Idle: nothing replicated yet; the policy was created through the API. ---
# destination_up comes from the health check, which reaches an endpoint
# created through the API within its failing_interval (30 s; unknown is not
# down, so there is no zero before): wait for it on its own, then the rest.
wait_data 'pier_replication_destination_up{destination="acr"}' 90
python3 "$LIB_DIR/promql_exprs.py" --strict "$BOARD" "$RULES" >"$WORK/idle.jsonl"
idle_total=$(wc -l <"$WORK/idle.jsonl")
[ "$idle_total" -ge 20 ] || fail "only $idle_total dashboard queries found"
check_all "$WORK/idle.jsonl" "idle Pier"
pass "idle Pier: all $idle_total dashboard queries return data without their fallback (zeros are data)"
# The API-created policy's series, each once: 4 outcomes, 7 reasons, 3 triggers.
series_once() {
  local want=$1 q=$2 got
  got=$(count "$q")
  [ "$got" = "$want" ] || fail "$q: $got series, want $want"
}
check_policy_series() {
  series_once 4 'pier_replication_blobs_total{destination="acr",policy="to-acr"} == 0'
  series_once 7 'pier_replication_failures_total{destination="acr",policy="to-acr"} == 0'
  series_once 3 'pier_replication_executions_started_total{policy="to-acr"} == 0'
  series_once 1 'pier_replication_sent_bytes_total{destination="acr",policy="to-acr"} == 0'
  series_once 1 'pier_replication_pending_bytes{destination="acr",policy="to-acr"} == 0'
}
check_policy_series
pol=$(api GET "/replication/policies?name=to-acr" | json_get 'j[0]["id"]')
policy=$(api GET "/replication/policies/$pol" | json_get 'json.dumps(dict(j, description="changed"))')
api PUT "/replication/policies/$pol" -d "$policy" >/dev/null
# A scrape taken after the update.
after=$(date +%s)
wait_data "timestamp(up{job=\"pier\"}) > $after + 1"
check_policy_series
pass "the API-created policy has its zero series, once each (also after an update)"

# --- In the middle of a replication. ---
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/small" image --layers 1 --size 100000 --seed 71
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/big" image --layers 2 --size 15000000 --seed 72
skopeo_ copy --dest-tls-verify=false "oci:$WORK/small:v1" "docker://127.0.0.1:$pier_port/team/small:v1" >/dev/null
skopeo_ copy --dest-tls-verify=false "oci:$WORK/big:v1" "docker://127.0.0.1:$pier_port/team/big:v1" >/dev/null

# Something pulled through the cache: fetched from the upstream, then served
# (an image of its own: a layer Pier already holds is linked, not fetched).
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/proxied" image --layers 1 --size 100000 --seed 73
skopeo_ copy --dest-tls-verify=false "oci:$WORK/proxied:v1" "docker://127.0.0.1:$dest_port/lib/proxied:v1" >/dev/null
skopeo_ copy --src-tls-verify=false "docker://127.0.0.1:$pier_port/mirror/lib/proxied:v1" "oci:$WORK/proxied-back:v1" \
  >/dev/null || fail "pull through the cache"
wait_data 'pier_proxy_served_bytes_total{upstream="mirror"} > 100000'
wait_data 'pier_proxy_upstream_bytes_total{upstream="mirror"} > 100000'
pass "Prometheus sees bytes fetched from the upstream and served from the cache"

e=$(curl -sf -D - -o /dev/null -X POST -d "{\"policy_id\":1}" "$API_BASE/api/v2.0/replication/executions" |
  tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
e=${e##*/}
# Mid-replication: bytes moving, one task (the small image) already done.
wait_data 'pier_replication_sent_bytes_total > 0'
wait_data 'pier_replication_task_duration_seconds_count > 0'
wait_data 'rate(pier_replication_sent_bytes_total[1m]) > 0'
pass "Prometheus sees the replication in flight (execution $e)"

python3 "$LIB_DIR/promql_exprs.py" "$BOARD" "$RULES" >"$WORK/exprs.jsonl"
total=$(wc -l <"$WORK/exprs.jsonl")
[ "$total" -ge 20 ] || fail "only $total expressions found"
check_all "$WORK/exprs.jsonl" "mid-replication"
pass "all $total dashboard queries and rule expressions return data from a real Prometheus"
[ "$(wait_execution "$e" 120)" = Succeed ] || fail "the replication did not finish"
