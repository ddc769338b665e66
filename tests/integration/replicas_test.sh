#!/usr/bin/env bash
# Three Pier replicas on one S3 bucket (a Ceph radosgw) and one PostgreSQL,
# behind nginx round-robin, as the Helm chart runs them with replicaCount 3:
# skopeo round trips through the balancer, the OCI conformance workflows
# through the balancer (so consecutive requests of one push land on
# different replicas), a chunked upload whose POST, PATCHes and PUT each go
# to another replica, push via one replica and pull via another, two
# replication executions at once (to a Pier and to a docker-registry) that
# survive kill -9 of the replica running them (another takes the lead and
# continues: at most one chunk per blob sent again to the Pier, at most the
# blob in flight from 0 to docker-registry, whose signed upload state allows
# no better) within each destination's bandwidth budget before and after,
# pull-through fills on S3 from three replicas at once, retention and GC
# started through different replicas, readiness that
# follows the database, and the cluster keeps serving after that kill.
# Bounded: every wait has a deadline, the whole test well under ctest's 600 s.
source "$(dirname "$0")/lib/common.sh"

command -v nginx >/dev/null || NGINX=/usr/sbin/nginx
NGINX=${NGINX:-nginx}
[ -x "$(command -v "$NGINX")" ] || fail "nginx is not installed (scripts/deps.sh installs it)"

RGW_DIR=$(mktemp -d /var/tmp/pier-rgw-it.XXXXXX)
PG_DIR=$(mktemp -d /tmp/pier-pg-it.XXXXXX)
chmod 755 "$PG_DIR"
# errexit is off inside: `(exit $rc)` hands cleanup the status without aborting the trap.
trap 'rc=$?; set +e; [ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null;
      bash "$LIB_DIR/rgw.sh" stop "$RGW_DIR/c" >/dev/null 2>&1; rm -rf "$RGW_DIR";
      bash "$LIB_DIR/postgres.sh" stop "$PG_DIR" >/dev/null 2>&1; rm -rf "$PG_DIR"; (exit $rc); cleanup' EXIT
RGW_OWNER_PID=$$ bash "$LIB_DIR/rgw.sh" start "$RGW_DIR/c" >"$WORK/rgw.log" 2>&1 || { cat "$WORK/rgw.log" >&2; fail "radosgw did not start"; }
bash "$LIB_DIR/postgres.sh" start "$PG_DIR" >"$WORK/pg.log" 2>&1 || { cat "$WORK/pg.log" >&2; fail "PostgreSQL did not start"; }
# shellcheck disable=SC1091
source "$RGW_DIR/c/env"
# shellcheck disable=SC1091
source "$PG_DIR/env"
printf '%s\n' "$RGW_SECRET_KEY" >"$WORK/s3-secret"
printf '%s\n' "$PG_PASSWORD" >"$WORK/db-password"

# A registry Pier caches as a pull-through upstream (proxy.upstreams).
up_port=$(free_port)
start_docker_registry upstream "$up_port"
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/big" image --layers 1 --size 20000000 --seed 44
skopeo_ copy --dest-tls-verify=false "oci:$WORK/big:v1" "docker://127.0.0.1:$up_port/library/big:v1" >/dev/null

cat >"$WORK/pier.json" <<JSON
{"storage": {"type": "s3", "s3": {"endpoint": "$RGW_ENDPOINT", "region": "us-east-1", "bucket": "pier",
   "prefix": "", "path_style": true, "access_key": "$RGW_ACCESS_KEY",
   "secret_key_file": "$WORK/s3-secret", "redirect": false}},
 "metadata": {"type": "postgres", "postgres": {"dsn": "$PG_DSN", "password_file": "$WORK/db-password"}},
 "replication": {"engine": {"chunk_size_bytes": 524288, "bandwidth_bytes_per_second": 1000000}},
 "proxy": {"upstreams": [{"name": "hub", "url": "http://127.0.0.1:$up_port", "ns": ["docker.io"]}]},
 "gc": {"grace_seconds": 0, "schedule": ""}}
JSON

declare -a PORT PID
for i in 1 2 3; do
  PORT[$i]=$(free_port)
  export PIER_REPLICA="pier-$i"  # the chart sets the pod name: the metrics' replica label
  start_pier "pier$i" "${PORT[$i]}" "$WORK/data$i" --config "$WORK/pier.json"
  PID[$i]=$PIER_PID
done
unset PIER_REPLICA
grep -q "$PG_PASSWORD" "$WORK"/pier*.log && fail "the database password reached a log"
grep -q "metadata: postgres" "$WORK/pier1.log" || fail "replica 1 does not say its records are in PostgreSQL"

# --- nginx round-robin in front of the three ---
LB=$(free_port)
start_nginx_rr nginx "$LB" "${PORT[1]}" "${PORT[2]}" "${PORT[3]}"
lb="127.0.0.1:$LB"

# --- skopeo through the balancer ---
gen="$LIB_DIR/make_oci_layout.py"
python3 "$gen" "$WORK/img" image --layers 3 --size 200000 --app-size 9000000 --seed 7
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$lb/team/app:v1" >/dev/null
want=$(layout_digest "$WORK/img" v1)
skopeo_ copy --src-tls-verify=false "docker://$lb/team/app:v1" "oci:$WORK/back:v1" >/dev/null
for f in "$WORK"/img/blobs/sha256/*; do
  cmp -s "$f" "$WORK/back/blobs/sha256/$(basename "$f")" || fail "blob $(basename "$f") differs after the round trip"
done
[ "$(layout_digest "$WORK/back" v1)" = "$want" ] || fail "manifest digest changed"
used=$(grep -o ' 127\.0\.0\.1:[0-9]*' "$WORK/nginx/upstream.log" | sort -u | wc -l)
[ "$used" -eq 3 ] || fail "the balancer used $used replicas, not 3"
pass "skopeo push and pull through nginx over 3 replicas keep every byte (requests spread over all 3)"

# --- push via one replica, pull via another ---
python3 "$gen" "$WORK/img2" image --layers 2 --size 150000 --seed 8
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img2:v1" "docker://127.0.0.1:${PORT[1]}/team/other:v2" >/dev/null
skopeo_ copy --src-tls-verify=false "docker://127.0.0.1:${PORT[3]}/team/other:v2" "oci:$WORK/back2:v2" >/dev/null
for f in "$WORK"/back2/blobs/sha256/*; do
  cmp -s "$f" "$WORK/img2/blobs/sha256/$(basename "$f")" || fail "blob $(basename "$f") pulled via replica 3 differs"
done
pass "pushed via replica 1, pulled via replica 3 byte-identical"

# --- one chunked upload, every request on another replica ---
head -c 3000000 /dev/urandom >"$WORK/chunked"
head -c 1200000 "$WORK/chunked" >"$WORK/c1"
tail -c +1200001 "$WORK/chunked" >"$WORK/c2"
digest="sha256:$(sha256sum "$WORK/chunked" | cut -d' ' -f1)"
loc=$(curl -sf -D - -o /dev/null -X POST "http://127.0.0.1:${PORT[1]}/v2/team/chunked/blobs/uploads/" |
      tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
[ -n "$loc" ] || fail "no Location for the upload"
path=${loc#http://*/}
path=/${path#/}
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/octet-stream' \
       -H "Content-Range: 0-1199999" --data-binary @"$WORK/c1" "http://127.0.0.1:${PORT[2]}$path")
[ "$code" = 202 ] || fail "PATCH 1 on replica 2 answered $code"
range=$(curl -s -D - -o /dev/null "http://127.0.0.1:${PORT[1]}$path" | tr -d '\r' | awk -F': ' 'tolower($1)=="range"{print $2}')
[ "$range" = "0-1199999" ] || fail "replica 1 sees the session at '$range', not 0-1199999"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/octet-stream' \
       -H "Content-Range: 1200000-2999999" --data-binary @"$WORK/c2" "http://127.0.0.1:${PORT[3]}$path")
[ "$code" = 202 ] || fail "PATCH 2 on replica 3 answered $code"
sep='?'; case "$path" in *\?*) sep='&';; esac
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://127.0.0.1:${PORT[1]}$path${sep}digest=$digest")
[ "$code" = 201 ] || fail "PUT on replica 1 answered $code"
curl -sf "http://127.0.0.1:${PORT[2]}/v2/team/chunked/blobs/$digest" -o "$WORK/chunked.back" || fail "GET via replica 2 failed"
cmp -s "$WORK/chunked" "$WORK/chunked.back" || fail "the chunked blob differs"
pass "a chunked upload started on replica 1, PATCHed on 2 and 3, committed on 1 reads back via 2"

# --- pull-through on S3: three replicas miss the same layer at once ---
# One replica downloads the layer into the bucket while its client reads
# the bytes as they arrive (a spool file in its own data folder); the other
# two wait for that download (a cluster lock per digest,
# proxy.cluster_fill_wait_seconds) and serve the stored blob: the upstream
# sends the layer once for the cluster.
big_layer=$(python3 -c "import json,sys;m=json.load(open(sys.argv[1]));print(m['layers'][0]['digest'])" \
  "$WORK/big/blobs/sha256/$(layout_digest "$WORK/big" v1 | cut -d: -f2)")
for i in 1 2 3; do
  skopeo_ copy --src-tls-verify=false "docker://127.0.0.1:${PORT[$i]}/hub/library/big:v1" "oci:$WORK/pt$i:v1" \
    >"$WORK/pt$i.out" 2>&1 &
  PT[$i]=$!
done
for i in 1 2 3; do wait "${PT[$i]}" || fail "pull-through via replica $i failed: $(tail -3 "$WORK/pt$i.out")"; done
for i in 1 2 3; do
  cmp -s "$WORK/big/blobs/sha256/${big_layer#sha256:}" "$WORK/pt$i/blobs/sha256/${big_layer#sha256:}" ||
    fail "the layer pulled through replica $i differs"
done
fetches=$(grep -c "GET /v2/library/big/blobs/$big_layer" "$WORK/upstream.log" || true)
[ "$fetches" = 1 ] || fail "the upstream sent the layer $fetches times for 3 replicas (once for the cluster expected)"
skopeo_ copy --src-tls-verify=false "docker://$lb/hub/library/big:v1" "oci:$WORK/pt4:v1" >/dev/null
after=$(grep -c "GET /v2/library/big/blobs/$big_layer" "$WORK/upstream.log" || true)
[ "$after" = "$fetches" ] || fail "a warm pull fetched the layer from the upstream again"
pass "pull-through on S3: 3 replicas missing one 20 MB layer at once, byte-identical; upstream sent it $fetches time(s) for the cluster; warm pulls come from the bucket"

# --- fsck of the shared records and bucket from a replica's config ---
# (before the conformance workflows: they delete blobs a manifest still names,
# which registries allow and fsck rightly reports)
"$PIER_BIN" fsck --data "$WORK/data1" --config "$WORK/pier.json" >"$WORK/fsck.log" 2>&1 ||
  fail "fsck found problems: $(cat "$WORK/fsck.log")"
pass "pier fsck over PostgreSQL and S3: $(tail -1 "$WORK/fsck.log")"

# --- OCI conformance workflows through the balancer ---
python3 "$LIB_DIR/conformance_suite.py" "$lb" >"$WORK/suite.log" 2>&1 ||
  { tail -30 "$WORK/suite.log" >&2; fail "conformance workflows failed through the balancer"; }
pass "OCI conformance through nginx: $(tail -1 "$WORK/suite.log")"

# --- retention and GC with three replicas running ---
# Three tags of ret/app pushed through the balancer; a retention policy
# (through one replica) keeps the newest; GC (through another, deleting
# untagged manifests) removes the other two's layers from the bucket.
for i in 1 2 3; do
  python3 "$gen" "$WORK/ret$i" image --layers 1 --size 120000 --seed $((60 + i))
  skopeo_ copy --dest-tls-verify=false "oci:$WORK/ret$i:v1" "docker://$lb/ret/app:v$i" >/dev/null
  sleep 1.1  # push times one second apart: "newest" must be unambiguous
done
layer_of() { python3 -c "import json,sys;m=json.load(open(sys.argv[1]));print(m['layers'][0]['digest'].split(':')[1])" \
  "$WORK/ret$1/blobs/sha256/$(layout_digest "$WORK/ret$1" v1 | cut -d: -f2)"; }
s3_has() {  # s3_has HEX: the blob object exists
  S3_ACCESS_KEY=$RGW_ACCESS_KEY S3_SECRET_KEY=$RGW_SECRET_KEY python3 "$LIB_DIR/s3_list.py" "$RGW_ENDPOINT" pier \
    "blobs/sha256/${1:0:2}/$1" | grep -qx "blobs/sha256/${1:0:2}/$1"
}
for i in 1 2 3; do s3_has "$(layer_of $i)" || fail "ret/app:v$i's layer is not in the bucket"; done
r1="http://127.0.0.1:${PORT[1]}/api/v2.0"
r2="http://127.0.0.1:${PORT[2]}/api/v2.0"
project=$(curl -sf "$r1/quotas" | json_get '[q["id"] for q in j if q["ref"]["name"]=="ret"][0]')
policy="{\"algorithm\":\"or\",\"rules\":[{\"disabled\":false,\"action\":\"retain\",\"template\":\"latestPushedK\",
  \"params\":{\"latestPushedK\":1},\"tag_selectors\":[{\"kind\":\"doublestar\",\"decoration\":\"matches\",\"pattern\":\"**\"}],
  \"scope_selectors\":{\"repository\":[{\"kind\":\"doublestar\",\"decoration\":\"repoMatches\",\"pattern\":\"**\"}]}}],
  \"trigger\":{\"kind\":\"Schedule\",\"settings\":{\"cron\":\"\"}},\"scope\":{\"level\":\"project\",\"ref\":$project}}"
rloc=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d "$policy" "$r1/retentions" |
       tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
rid=${rloc##*/}
[ -n "$rid" ] || fail "no retention policy created"
eloc=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"dry_run":false}' \
       "$r2/retentions/$rid/executions" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
eid=${eloc##*/}
[ -n "$eid" ] || fail "no retention execution started through replica 2"
deadline=$((SECONDS + 60))
until [ "$(curl -sf "$r2/retentions/$rid/executions" | json_get "[e['status'] for e in j if e['id']==$eid][0]")" = Succeed ]; do
  [ $SECONDS -lt $deadline ] || fail "retention execution $eid did not succeed"
  sleep 0.2
done
tags=$(skopeo_ list-tags --tls-verify=false "docker://$lb/ret/app" | json_get '" ".join(sorted(j["Tags"]))')
[ "$tags" = "v3" ] || fail "retention kept '$tags', not v3"
sleep 1.1  # grace_seconds 0 still means "older than now"
gloc=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' \
       -d '{"schedule":{"type":"Manual"},"parameters":{"delete_untagged":true}}' "http://127.0.0.1:${PORT[3]}/api/v2.0/system/gc/schedule" |
       tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
gid=${gloc##*/}
[ -n "$gid" ] || fail "no GC run started through replica 3"
deadline=$((SECONDS + 60))
until [[ "$(curl -sf "http://127.0.0.1:${PORT[3]}/api/v2.0/system/gc/$gid" | json_get 'j["job_status"]')" =~ ^(Success|Error|Stopped)$ ]]; do
  [ $SECONDS -lt $deadline ] || fail "GC run $gid did not end"
  sleep 0.2
done
[ "$(curl -sf "http://127.0.0.1:${PORT[1]}/api/v2.0/system/gc/$gid" | json_get 'j["job_status"]')" = Success ] ||
  fail "GC run $gid did not succeed (as replica 1 reads it)"
for i in 1 2; do s3_has "$(layer_of $i)" && fail "ret/app:v$i's layer is still in the bucket after GC"; done
s3_has "$(layer_of 3)" || fail "GC removed ret/app:v3's layer"
skopeo_ copy --src-tls-verify=false "docker://$lb/ret/app:v3" "oci:$WORK/ret-back:v3" >/dev/null || fail "v3 does not pull after GC"
skopeo_ copy --src-tls-verify=false "docker://$lb/team/app:v1" "oci:$WORK/app-after-gc:v1" >/dev/null || fail "team/app:v1 does not pull after GC"
pass "retention through replica 2 kept ret/app:v3 only; GC through replica 3 removed the other layers from the bucket; v3 and team/app:v1 still pull"

# --- replication survives the loss of the replica running it ---
# One replica leads (a lease in PostgreSQL): it runs every execution,
# whichever replica's API started it. Two executions of team/app:v1 run at
# once, each to its own destination behind its own slowlink (no cap of its
# own: it measures): a docker-registry and a single-node Pier. kill -9 the
# leader once both links carried 4.5-5 MB, i.e. several 512 KiB chunks of the
# 9 MB layer are acknowledged at both: another replica takes the lease once
# it runs out and continues both from the persisted progress.
# - Pier keeps an upload's state server-side and drops what a cut PATCH
#   appended (GET on the upload URL reports the committed offset): at most
#   the chunk in flight at the kill goes again, per blob.
# - docker-registry signs the offset into its upload URL (_state): when a
#   PATCH was cut by the kill, the session is refused at the saved offset
#   and cancelled ("upload resumed at wrong offset"), so that blob starts
#   again from 0 (README: "distribution's signed upload state limits
#   resume"): at most what went over its link before the kill, again.
CHUNK=524288  # replication.engine.chunk_size_bytes in pier.json
dest_port=$(free_port)
start_docker_registry dest "$dest_port"
start_slowlink dest-link "$dest_port"
dreg_addr=$LINK_ADDR
pdest_port=$(free_port)
start_pier dstpier "$pdest_port" "$WORK/dstpier-data"  # local folder, no config
start_slowlink pdest-link "$pdest_port"
preg_addr=$LINK_ADDR
API_BASE="http://$lb"
declare -A POL_ID=()
for d in acr:"$dreg_addr" piers:"$preg_addr"; do
  name=${d%%:*}
  api POST /registries -d "{\"name\":\"$name\",\"type\":\"docker-registry\",\"url\":\"http://${d#*:}\"}" >/dev/null
  reg_id=$(api GET "/registries?name=$name" | json_get 'j[0]["id"]')
  api POST /replication/policies -d "{\"name\":\"to-$name\",\"dest_registry\":{\"id\":$reg_id},\"dest_namespace\":\"\",
    \"trigger\":{\"type\":\"manual\"},\"filters\":[{\"type\":\"name\",\"value\":\"team/app\"}]}" >/dev/null
  POL_ID[$name]=$(api GET "/replication/policies?name=to-$name" | json_get 'j[0]["id"]')
done
leader=""
deadline=$((SECONDS + 20))
while [ -z "$leader" ]; do
  for i in 1 2 3; do grep -q "this replica leads" "$WORK/pier$i.log" && leader=$i; done
  [ -n "$leader" ] || { [ $SECONDS -lt $deadline ] || fail "no replica leads"; sleep 0.2; }
done
n_leading=$(grep -l "this replica leads" "$WORK"/pier[123].log | wc -l)
[ "$n_leading" -eq 1 ] || fail "$n_leading replicas claim the lead"
for i in 1 2 3; do
  want_leader=0; [ "$i" = "$leader" ] && want_leader=1
  curl -sf "http://127.0.0.1:${PORT[$i]}/metrics" | grep -qx "pier_cluster_leader{replica=\"pier-$i\"} $want_leader" ||
    fail "replica $i's /metrics does not say pier_cluster_leader{replica=\"pier-$i\"} $want_leader"
done
# Store-wide figures are the cluster's (kept in PostgreSQL with the records):
# every replica reports the same usage for project team, and only the
# leader exports the store-wide gauges (one series per cluster for sum()).
declare -A USED=()
for i in 1 2 3; do
  USED[$i]=$(API_BASE="http://127.0.0.1:${PORT[$i]}" api GET "/quotas?page_size=100" |
             json_get 'sum(q["used"]["storage"] for q in j if q["ref"]["name"] == "team")')
done
[ "${USED[1]}" -gt 0 ] && [ "${USED[1]}" = "${USED[2]}" ] && [ "${USED[2]}" = "${USED[3]}" ] ||
  fail "replicas disagree on project team's usage: ${USED[1]} / ${USED[2]} / ${USED[3]}"
for i in 1 2 3; do
  want_series=0; [ "$i" = "$leader" ] && want_series=1
  got=$(curl -sf "http://127.0.0.1:${PORT[$i]}/metrics" | grep -c '^pier_cache_stored_blobs ' || true)
  [ "$got" = "$want_series" ] || fail "replica $i exports pier_cache_stored_blobs $got times (leader: replica $leader)"
done
pass "every replica reports project team's usage as ${USED[1]} bytes; only the leader exports the store-wide gauges"
# Both started through a replica that does not lead: the leader picks them up.
other=$(( leader % 3 + 1 ))
declare -A EXEC=()
for name in acr piers; do
  loc=$(curl -sf -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"policy_id\":${POL_ID[$name]}}" \
        "http://127.0.0.1:${PORT[$other]}/api/v2.0/replication/executions" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
  EXEC[$name]=${loc##*/}
  [ -n "${EXEC[$name]}" ] || fail "no execution to $name started"
done
# wait_links BYTES WHAT: until both links carried more than BYTES (30 s).
wait_links() {
  local deadline=$((SECONDS + 30))
  until [ "$(link_stat dest-link bytes_up)" -gt "$1" ] && [ "$(link_stat pdest-link bytes_up)" -gt "$1" ]; do
    [ $SECONDS -lt $deadline ] || fail "$2 did not send $1 bytes to both destinations within 30 s"
    sleep 0.1
  done
}
within_budget() {  # RATE WHAT
  python3 -c "import sys; sys.exit(0 if $1 <= 1000000*1.15 else 1)" ||
    fail "$2 carried $1 B/s with a 1,000,000 B/s budget"
}
# Each destination's budget (1 MB/s, the same on every replica) holds for
# the cluster: measured on both links over one 1 s window while the leader
# sends.
wait_links 1500000 "the leader (replica $leader)"
read -r rate_d1 rate_p1 <<<"$(link_rates 1 dest-link pdest-link)"
within_budget "$rate_d1" "the docker-registry link"
within_budget "$rate_p1" "the Pier link"
wait_links 4500000 "the leader (replica $leader)"
kill -9 "${PID[$leader]}"
wait "${PID[$leader]}" 2>/dev/null || true
killed_at=$(date +%s.%N)
at_kill_d=$(link_stat dest-link bytes_up)
at_kill_p=$(link_stat pdest-link bytes_up)
image=$(du -cb "$WORK"/img/blobs/sha256/* | tail -1 | cut -f1)
nblobs=$(find "$WORK"/img/blobs/sha256 -type f | wc -l)
# Pier's bound: one chunk per blob that may have been in flight at the kill
# (in practice only the 9 MB layer's: the small blobs go in one request each
# and were done by then), plus the heads of the requests (~18 PATCHes, HEADs,
# GETs of the upload status, the manifest PUT: far below 64 KiB).
limit_p=$(( image + nblobs * CHUNK + 65536 ))
# The kill must come late enough for that bound to tell a resume from a
# restart: a restart of the layer from 0 would send what went before the
# kill again (all of it but the small blobs), more than the slack.
[ $(( at_kill_p - (image - 9000000) )) -gt $(( limit_p - image )) ] ||
  fail "killed after only $at_kill_p bytes to the Pier: a restart from 0 would pass the bound $limit_p"
# Once the next leader sends, the budget holds for it too.
deadline=$((SECONDS + 60))
until [ "$(link_stat dest-link bytes_up)" -gt $((at_kill_d + 500000)) ] &&
      [ "$(link_stat pdest-link bytes_up)" -gt $((at_kill_p + 500000)) ]; do
  [ $SECONDS -lt $deadline ] || fail "no replica resumed sending to both destinations within 60 s"
  sleep 0.1
done
read -r rate_d2 rate_p2 <<<"$(link_rates 1 dest-link pdest-link)"
within_budget "$rate_d2" "after the take-over the docker-registry link"
within_budget "$rate_p2" "after the take-over the Pier link"
for name in acr piers; do
  status=$(wait_execution "${EXEC[$name]}" 120)
  [ "$status" = Succeed ] || fail "the execution to $name ended $status after the leader was killed"
done
resumed_in=$(python3 -c "import time;print(round(time.time()-$killed_at,1))")
new_leader=""
for i in 1 2 3; do [ "$i" != "$leader" ] && grep -q "this replica leads" "$WORK/pier$i.log" && new_leader=$i; done
[ -n "$new_leader" ] || fail "no other replica took the lead"
grep -q "resuming replication execution" "$WORK/pier$new_leader.log" || fail "replica $new_leader did not resume the executions"
claimed=$(curl -sf "http://127.0.0.1:${PORT[$new_leader]}/metrics" |
          awk -v r="replica=\"pier-$new_leader\"" '$1 ~ /^pier_replication_executions_claimed_total\{/ && index($1, r) {s += $2} END {print s+0}')
[ "$claimed" -ge 2 ] || fail "replica $new_leader's pier_replication_executions_claimed_total says $claimed, not both executions"
sent_d=$(link_stat dest-link bytes_up)
sent_p=$(link_stat pdest-link bytes_up)
[ "$sent_p" -le "$limit_p" ] ||
  fail "sent $sent_p bytes to the Pier for a $image-byte image (limit $limit_p): more than one $CHUNK-byte chunk per blob again"
# docker-registry: at most the layer in flight from 0 again (no more than all
# that went over its link before the kill), plus the chunk the kill cut and
# the request heads.
limit_d=$(( image + at_kill_d + CHUNK + 65536 ))
[ "$sent_d" -le "$limit_d" ] ||
  fail "sent $sent_d bytes to docker-registry for a $image-byte image (limit $limit_d): more than the blob in flight again"
skopeo_ copy --src-tls-verify=false "docker://127.0.0.1:$dest_port/team/app:v1" "oci:$WORK/dest:v1" >/dev/null
[ "$(layout_digest "$WORK/dest" v1)" = "$want" ] || fail "docker-registry's image differs"
skopeo_ copy --src-tls-verify=false "docker://127.0.0.1:$pdest_port/team/app:v1" "oci:$WORK/pdest:v1" >/dev/null
[ "$(layout_digest "$WORK/pdest" v1)" = "$want" ] || fail "the destination Pier's image differs"
for f in "$WORK"/img/blobs/sha256/*; do
  for d in dest pdest; do
    cmp -s "$f" "$WORK/$d/blobs/sha256/$(basename "$f")" || fail "blob $(basename "$f") differs at $d"
  done
done
pass "leader (replica $leader) killed mid-replication to 2 destinations: replica $new_leader finished both ${resumed_in}s later, both byte-identical; Pier: killed at $at_kill_p, $sent_p bytes sent for a $image-byte image, resent $((sent_p - image)) counting request heads (limit $limit_p: one $CHUNK-byte chunk per blob); docker-registry: killed at $at_kill_d, $sent_d bytes sent, resent $((sent_d - image)) counting request heads (limit $limit_d: the blob in flight from 0); link rates before/after the take-over: docker-registry $rate_d1/$rate_d2, Pier $rate_p1/$rate_p2 B/s (budget 1000000 each)"

# --- a replica dies: the others keep serving ---
rm -rf "$WORK/back3"
skopeo_ copy --src-tls-verify=false "docker://$lb/team/app:v1" "oci:$WORK/back3:v1" >/dev/null ||
  fail "pull through the balancer failed after replica $leader was killed"
[ "$(layout_digest "$WORK/back3" v1)" = "$want" ] || fail "manifest digest changed after the kill"
python3 "$gen" "$WORK/img4" image --layers 2 --size 100000 --seed 9
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img4:v1" "docker://$lb/team/after:v1" >/dev/null ||
  fail "push through the balancer failed after replica $leader was killed"
pass "after kill -9 of replica $leader, pulls and pushes through the balancer still work"

# --- readiness follows the database ---
# (last: it stops PostgreSQL) /readyz turns 503 naming the metadata within
# its 2 s check interval; /healthz (liveness) stays 200.
r=${PORT[$new_leader]}
[ "$(status GET "http://127.0.0.1:$r/readyz")" = 200 ] || fail "/readyz is not 200 while all is well"
bash "$LIB_DIR/postgres.sh" stop "$PG_DIR" >/dev/null 2>&1 || fail "stopping PostgreSQL failed"
deadline=$((SECONDS + 15))
until [ "$(status GET "http://127.0.0.1:$r/readyz")" = 503 ]; do
  [ $SECONDS -lt $deadline ] || fail "/readyz stayed ready with the database down"
  sleep 0.2
done
curl -s "http://127.0.0.1:$r/readyz" | grep -q "not ready: metadata" || fail "/readyz does not say the metadata is away"
[ "$(status GET "http://127.0.0.1:$r/healthz")" = 200 ] || fail "/healthz must stay 200"
pass "with PostgreSQL down, /readyz answers 503 (\"$(curl -s "http://127.0.0.1:$r/readyz" | head -c 60)...\") and /healthz 200"
