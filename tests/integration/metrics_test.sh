#!/usr/bin/env bash
# Metrics end to end: Pier serves /metrics on its main port and on a
# metrics-only port; skopeo pushes an image (twice, to two repositories);
# the text passes `promtool check metrics`; a real Prometheus scrapes both
# ports every second and its query API returns Pier's series.
source "$(dirname "$0")/lib/common.sh"
command -v prometheus >/dev/null || fail "prometheus not installed (scripts/deps.sh)"
command -v promtool >/dev/null || fail "promtool not installed (scripts/deps.sh)"

port=$(free_port)
mport=$(free_port)
cat >"$WORK/pier.json" <<JSON
{"metrics": {"enabled": true, "listen": "127.0.0.1:$mport"}}
JSON
start_pier pier "$port" "$WORK/data" --config "$WORK/pier.json"
reg="127.0.0.1:$port"
wait_http "http://127.0.0.1:$mport/metrics"

# --- the endpoint itself ---
ctype=$(curl -s -o /dev/null -w '%{content_type}' "http://$reg/metrics")
[ "$ctype" = "text/plain; version=0.0.4; charset=utf-8" ] || fail "Content-Type: $ctype"
[ "$(status POST "http://$reg/metrics")" = 405 ] || fail "POST /metrics should be 405"
[ "$(status GET "http://127.0.0.1:$mport/v2/")" = 404 ] || fail "metrics port serves only /metrics"
pass "/metrics answers with the Prometheus text format on both ports"

# --- metrics.enabled: false removes the endpoint ---
off_port=$(free_port)
echo '{"metrics": {"enabled": false}}' >"$WORK/off.json"
start_pier pier-off "$off_port" "$WORK/data-off" --config "$WORK/off.json"
[ "$(status GET "http://127.0.0.1:$off_port/metrics")" = 404 ] || fail "/metrics served with metrics disabled"
stop_pid "$PIER_PID"
pass "metrics.enabled=false: no /metrics"

# --- some traffic: a push, the same image to a second repository, a pull, junk ---
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/img" image --layers 3 --size 200000 --seed 7
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$reg/team/app:v1" >/dev/null
# Layers and config are blobs; the manifest lives in the metadata store.
want_blobs=$(( $(ls "$WORK/img/blobs/sha256" | wc -l) - 1 ))
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$reg/team/copy:v1" >/dev/null
skopeo_ copy --src-tls-verify=false "docker://$reg/team/app:v1" "oci:$WORK/back:v1" >/dev/null
curl -s -o /dev/null "http://$reg/secret-looking/path"
curl -s -o /dev/null "http://$reg/v2/team/app/blobs/sha256:$(printf '0%.0s' {1..64})"

text=$(curl -sf "http://$reg/metrics")
echo "$text" >"$WORK/scrape.txt"
# One value of the exact series $1 (name plus labels as serialized).
value() { awk -v s="$1" 'index($0, s" ") == 1 { print $2; found=1; exit } END { if (!found) print "missing" }' "$WORK/scrape.txt"; }
positive() { local v; v=$(value "$1"); awk -v v="$v" 'BEGIN { exit !(v != "missing" && v > 0) }' || fail "$1 = $v, want > 0"; }

promtool check metrics <"$WORK/scrape.txt" >"$WORK/promtool.log" 2>&1 || { cat "$WORK/promtool.log" >&2; fail "promtool check metrics"; }
pass "promtool check metrics accepts the exposition"

positive 'pier_http_requests_total{code="201",handler="manifest",method="PUT"}'
positive 'pier_http_requests_total{code="200",handler="manifest",method="GET"}'
positive 'pier_http_requests_total{code="404",handler="other",method="GET"}'
positive 'pier_cache_blob_reads_total{result="hit"}'
positive 'pier_cache_blob_reads_total{result="miss"}'
[ "$(value pier_cache_stored_blobs)" = "$want_blobs" ] || fail "stored blobs: $(value pier_cache_stored_blobs), want $want_blobs"
positive pier_cache_stored_bytes
positive pier_cache_dedup_saved_bytes_total
positive pier_cache_disk_free_bytes
positive process_resident_memory_bytes
positive process_start_time_seconds
positive 'pier_http_request_size_bytes_sum{handler="blob_upload"}'
positive 'pier_http_response_size_bytes_sum{handler="blob"}'
# From the file: `echo | grep -q` under pipefail fails when grep stops
# reading before echo has written a text larger than the pipe (SIGPIPE).
grep -q '^pier_build_info{revision="[^"]*",version="[^"]*"} 1$' "$WORK/scrape.txt" || fail "pier_build_info missing"
if echo "$text" | grep -v '^#' | grep -q 'team/\|secret-looking\|sha256:'; then fail "a label carries a repository, path or digest"; fi
pass "request, cache, process and build families carry the push and pull, with bounded labels"

# --- a real Prometheus scraping both ports every second ---
pport=$(free_port)
cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pier
    static_configs: [{targets: ["127.0.0.1:$port"]}]
  - job_name: pier-metrics-port
    static_configs: [{targets: ["127.0.0.1:$mport"]}]
YAML
promtool check config "$WORK/prometheus.yml" >/dev/null || fail "prometheus config"
spawn "$WORK/prometheus.log" prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
  --web.listen-address="127.0.0.1:$pport" --log.level=warn
api="http://127.0.0.1:$pport/api/v1/query"
# query PROMQL: the JSON result vector.
query() { curl -sf --get --data-urlencode "query=$1" "$api" | jq -c '.data.result' 2>/dev/null || echo '[]'; }
# wait_query PROMQL: until the query returns at least one series (60 s deadline).
wait_query() {
  local deadline=$((SECONDS + 60)) r
  while :; do
    r=$(query "$1")
    [ "$(echo "$r" | jq 'length')" -gt 0 ] && { echo "$r"; return 0; }
    [ $SECONDS -lt $deadline ] || fail "Prometheus never returned data for: $1 (last: $r)"
    sleep 0.5
  done
}
wait_query 'up{job="pier"} == 1' >/dev/null
wait_query 'up{job="pier-metrics-port"} == 1' >/dev/null
pass "Prometheus scrapes both ports (up == 1)"

r=$(wait_query 'sum(pier_http_requests_total{job="pier",handler="manifest"}) > 0')
echo "$r" | jq -e '.[0].value[1] | tonumber > 0' >/dev/null || fail "manifest requests: $r"
r=$(wait_query 'pier_cache_stored_blobs{job="pier"} > 0')
[ "$(echo "$r" | jq -r '.[0].value[1]')" = "$want_blobs" ] || fail "stored blobs via Prometheus: $r"
wait_query 'pier_build_info{job="pier-metrics-port"} == 1' >/dev/null
wait_query 'process_resident_memory_bytes{job="pier"} > 0' >/dev/null
wait_query 'pier_http_requests_total{job="pier",handler="metrics",code="200"} > 0' >/dev/null
pass "Prometheus queries return Pier's series (requests, cache, build, process, its own scrapes)"
