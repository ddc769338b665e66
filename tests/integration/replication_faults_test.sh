#!/usr/bin/env bash
# Replication under faults, against a real `docker-registry` behind slowlink:
#  1. every connection is cut after 4 MB while a 40 MB layer goes up: the
#     execution succeeds and the bytes sent again are at most one chunk per cut;
#     at 1 MB/s a 12 MB layer is cut only once (no request crosses the cut);
#  2. Pier is killed with SIGKILL mid-blob and restarted: the execution resumes
#     by itself, completed blobs are not sent again; against a destination that
#     keeps upload sessions (a second Pier) the blob continues from its
#     committed offset. (registry:2 discards a session whose PATCH was cut
#     mid-body, so there the interrupted blob starts again: at most one blob.)
#  3. ten images sharing a 30 MB base replicated at once: the base crosses once;
#  4. with `speed` set and eight workers the rate stays within 10% of it.
source "$(dirname "$0")/lib/common.sh"

MiB=$((1024 * 1024))
blob_bytes() {  # total size of every blob of an OCI layout's image (config + layers)
  layout_manifest "$1" | json_get 'j["config"]["size"] + sum(l["size"] for l in j["layers"])'
}

dest_port=$(free_port)
start_docker_registry dest "$dest_port"

# new_pier NAME CONFIG_JSON: (re)starts Pier on $pier_port with that config.
pier_port=$(free_port)
API_BASE="http://127.0.0.1:$pier_port"
new_pier() {
  echo "$2" >"$WORK/$1.json"
  start_pier "$1" "$pier_port" "$WORK/data-$1" --config "$WORK/$1.json"
}
# add_registry URL → id ; add_policy NAME REG_ID FILTER TRIGGER [SPEED] → id
add_registry() {
  local n="r$RANDOM"
  api POST /registries -d "{\"name\":\"$n\",\"type\":\"docker-registry\",\"url\":\"$1\"}" >/dev/null
  api GET "/registries?name=$n" | json_get 'j[0]["id"]'
}
add_policy() {
  api POST /replication/policies -d "{\"name\":\"$1\",\"dest_registry\":{\"id\":$2},\"dest_namespace\":\"\",
    \"trigger\":{\"type\":\"$4\"},\"filters\":[{\"type\":\"name\",\"value\":\"$3\"}],\"speed\":${5:--1}}" >/dev/null
  api GET "/replication/policies?name=$1" | json_get 'j[0]["id"]'
}
# show_tasks EXEC_ID: tasks and their logs, for failure messages.
show_tasks() {
  local t
  for t in $(api GET "/replication/executions/$1/tasks" | json_get '" ".join(str(x["id"]) for x in j)'); do
    curl -s "$API_BASE/api/v2.0/replication/executions/$1/tasks/$t/log" | tail -n 15 >&2
  done
}
run_policy() {  # run_policy ID → execution id
  local loc
  loc=$(curl -sf -D - -o /dev/null -X POST -d "{\"policy_id\":$1}" "$API_BASE/api/v2.0/replication/executions" |
    tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
  echo "${loc##*/}"
}

# ---- 1. cuts every 4 MB -------------------------------------------------------
new_pier cuts '{"replication":{"engine":{"chunk_size_bytes":8388608}}}'
start_slowlink cut "$dest_port" --cut-after 4000000
reg=$(add_registry "http://$LINK_ADDR")
pol=$(add_policy cuts "$reg" "cut/**" manual)
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/big" image --layers 1 --size $((40 * MiB)) --seed 40
skopeo_ copy --dest-tls-verify=false "oci:$WORK/big:v1" "docker://127.0.0.1:$pier_port/cut/big:v1" >/dev/null
link_reset cut
e=$(run_policy "$pol")
[ "$(wait_execution "$e" 300)" = Succeed ] || { show_tasks "$e"; fail "execution under cuts did not succeed"; }
got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$dest_port/cut/big:v1")
[ "$got" = "$(layout_digest "$WORK/big")" ] || fail "destination digest $got"
need=$(blob_bytes "$WORK/big")
up=$(link_stat cut bytes_up)
cuts=$(link_stat cut connections_cut)
resent=$((up - need))
[ "$cuts" -ge 1 ] || fail "the link never cut a connection (bytes_up=$up)"
[ "$resent" -le $((cuts * 8 * MiB)) ] || fail "$resent bytes resent for $cuts cut(s): more than one 8 MiB chunk per cut"
pass "40 MB layer through a link that cuts every connection after 4 MB: $cuts cut(s), $resent bytes resent (≤ one chunk per cut)"

# 1b. A blob just over the cut and under one chunk goes up in one request; at
# 4 MB/s the kernel buffer holds its tail when the link cuts, so the cut shows
# as a reset while waiting for the answer. It must still teach the engine the
# link's limit (it used to retry the same request until it gave up).
start_slowlink cut2 "$dest_port" --cut-after 4000000 --rate 4000000
reg=$(add_registry "http://$LINK_ADDR")
pol=$(add_policy cuts2 "$reg" "cut2/**" manual)
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/edge" image --layers 1 --size 4000000 --seed 42
skopeo_ copy --dest-tls-verify=false "oci:$WORK/edge:v1" "docker://127.0.0.1:$pier_port/cut2/edge:v1" >/dev/null
e=$(run_policy "$pol")
[ "$(wait_execution "$e" 120)" = Succeed ] || { show_tasks "$e"; fail "a blob just over the cut did not get through"; }
cuts=$(link_stat cut2 connections_cut)
[ "$cuts" -le 2 ] || fail "$cuts cuts for one blob just over the cut (the engine did not learn the limit)"
pass "a $(blob_bytes "$WORK/edge")-byte blob through a link that cuts after 4 MB: $cuts cut(s)"

# 1c. Issue 10 §6: once the link cut one connection, no later request crosses
# the cut (bytes counted per connection across keep-alive requests): one
# 12 MB layer through a 1 MB/s link that cuts every connection after 4 MB
# is cut once, not once per wrong guess (it was 3 cuts and 2 x the layer).
start_slowlink cut3 "$dest_port" --cut-after 4000000 --rate 1000000
reg=$(add_registry "http://$LINK_ADDR")
pol=$(add_policy cuts3 "$reg" "cut3/**" manual)
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/twelve" image --layers 1 --size 12000000 --seed 43
skopeo_ copy --dest-tls-verify=false "oci:$WORK/twelve:v1" "docker://127.0.0.1:$pier_port/cut3/twelve:v1" >/dev/null
link_reset cut3
e=$(run_policy "$pol")
[ "$(wait_execution "$e" 120)" = Succeed ] || { show_tasks "$e"; fail "12 MB layer under cuts did not succeed"; }
cuts=$(link_stat cut3 connections_cut)
up=$(link_stat cut3 bytes_up)
[ "$cuts" -eq 1 ] || { show_tasks "$e"; fail "$cuts cuts for one 12 MB layer: a request crossed the learned cut"; }
[ "$up" -le $((12000000 * 14 / 10)) ] || fail "$up bytes on the wire for a 12 MB layer (> 1.4 x)"
pass "one 12 MB layer through a 1 MB/s link that cuts after 4 MB: 1 cut, $up bytes on the wire"
stop_pid "$PIER_PID"

# ---- 2. SIGKILL mid-blob, restart, resume ------------------------------------
# kill_resume NAME DEST_PORT BOUND_KIND: 4 layers of 8 MiB through a 4 MB/s link, 2 MiB chunks.
kill_resume() {
  local name=$1 port=$2 kind=$3
  local cfg='{"replication":{"engine":{"chunk_size_bytes":2097152,"workers_per_destination":1}}}'
  new_pier "$name" "$cfg"
  start_slowlink "$name-link" "$port" --rate 4000000
  local reg pol e sent
  reg=$(add_registry "http://$LINK_ADDR")
  pol=$(add_policy "$name" "$reg" "kill/**" manual)
  python3 "$LIB_DIR/make_oci_layout.py" "$WORK/$name-img" image --layers 4 --size $((8 * MiB)) --seed 41
  skopeo_ copy --dest-tls-verify=false "oci:$WORK/$name-img:v1" "docker://127.0.0.1:$pier_port/kill/app:v1" >/dev/null
  e=$(run_policy "$pol")
  # Kill once more than two layers went out: mid-way through the third.
  # Read off the link: bytes_sent counts only acknowledged bytes, and an
  # 8 MiB layer goes in one PUT, acknowledged only at its end.
  local deadline=$((SECONDS + 60))
  while :; do
    sent=$(link_stat "$name-link" bytes_up)
    [ "$sent" -ge $((21 * MiB)) ] && break
    [ $SECONDS -lt $deadline ] || fail "$name: only $sent bytes sent in 60 s"
    sleep 0.05
  done
  kill -9 "$PIER_PID"
  wait "$PIER_PID" 2>/dev/null || true
  local before
  before=$(link_stat "$name-link" bytes_up)
  link_reset "$name-link"
  start_pier "$name-2" "$pier_port" "$WORK/data-$name" --config "$WORK/$name.json"
  [ "$(wait_execution "$e" 120)" = Succeed ] || fail "$name: the execution did not resume to success"
  got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$port/kill/app:v1")
  [ "$got" = "$(layout_digest "$WORK/$name-img")" ] || fail "$name: destination digest $got"
  local need after
  need=$(blob_bytes "$WORK/$name-img")
  after=$(link_stat "$name-link" bytes_up)
  # What was left after the kill, plus what the kill cost.
  local left=$((need - before)) extra
  [ $left -lt 0 ] && left=0
  extra=$((after - left))
  if [ "$kind" = chunk ]; then
    [ "$extra" -le $((2 * MiB + 65536)) ] || fail "$name: $extra bytes resent after the restart (> one 2 MiB chunk)"
  else
    [ "$extra" -le $((8 * MiB + 65536)) ] || fail "$name: $extra bytes resent after the restart (> one 8 MiB blob)"
  fi
  pass "$name: SIGKILL after $before bytes; resumed to success sending $after more ($extra resent, bound: one $kind)"
  stop_pid "$PIER_PID"
}
kill_resume kill-registry2 "$dest_port" blob
# A second Pier as the destination keeps the committed offset of a cut PATCH.
pier_dest_port=$(free_port)
spawn "$WORK/pier-dest.log" "$PIER_BIN" serve --listen "127.0.0.1:$pier_dest_port" --data "$WORK/pier-dest-data"
wait_http "http://127.0.0.1:$pier_dest_port/healthz"
kill_resume kill-pier "$pier_dest_port" chunk

# ---- 3. ten images sharing a 30 MB base, at once -------------------------------
new_pier ten '{"replication":{"engine":{"workers_per_destination":4}}}'
start_slowlink ten "$dest_port" --rate 40000000
reg=$(add_registry "http://$LINK_ADDR")
pol=$(add_policy ten "$reg" "ten/**" manual)
total=0
for i in 0 1 2 3 4 5 6 7 8 9; do
  python3 "$LIB_DIR/make_oci_layout.py" "$WORK/ten$i" image --layers 3 --size $((15 * MiB)) --app-size 200000 \
    --base-seed 30 --seed $((100 + i))
  skopeo_ copy --dest-tls-verify=false "oci:$WORK/ten$i:v1" "docker://127.0.0.1:$pier_port/ten/app$i:v1" >/dev/null
done
link_reset ten
e=$(run_policy "$pol")
[ "$(wait_execution "$e" 300)" = Succeed ] || fail "ten-image execution did not succeed"
base=$(( $(blob_bytes "$WORK/ten0") ))
apps=0
for i in 0 1 2 3 4 5 6 7 8 9; do
  got=$(skopeo_ inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$dest_port/ten/app$i:v1")
  [ "$got" = "$(layout_digest "$WORK/ten$i")" ] || fail "ten/app$i digest $got"
done
up=$(link_stat ten bytes_up)
# One full image (base + app + config) plus nine apps and configs, plus requests.
bound=$((base + 9 * 400000 + 2 * MiB))
[ "$up" -le "$bound" ] || fail "ten images sharing a base sent $up bytes (base counted once would be ≤ $bound)"
[ "$up" -ge $((30 * MiB)) ] || fail "suspiciously few bytes: $up"
pass "ten images sharing a 30 MB base: $up bytes on the wire (base sent once)"
stop_pid "$PIER_PID"

# ---- 4. bandwidth budget with eight workers ----------------------------------
new_pier speed '{"replication":{"engine":{"workers_per_destination":8}}}'
start_slowlink speed "$dest_port"
reg=$(add_registry "http://$LINK_ADDR")
speed_kibit=16000                 # Harbor's unit: Kibit/s
rate=$((speed_kibit * 128))       # 2,048,000 bytes/s
pol=$(add_policy speed "$reg" "speed/**" manual "$speed_kibit")
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/sp" image --layers 8 --size $((3 * MiB)) --seed 50
skopeo_ copy --dest-tls-verify=false "oci:$WORK/sp:v1" "docker://127.0.0.1:$pier_port/speed/app:v1" >/dev/null
link_reset speed
e=$(run_policy "$pol")
# Measure a steady window: from 2 s to 8 s after the start.
t0=$(date +%s.%N)
python3 -c "import time; time.sleep(max(0, $t0 + 2 - time.time()))"
b1=$(link_stat speed bytes_up); t1=$(date +%s.%N)
python3 -c "import time; time.sleep(max(0, $t0 + 8 - time.time()))"
b2=$(link_stat speed bytes_up); t2=$(date +%s.%N)
[ "$(wait_execution "$e" 120)" = Succeed ] || fail "speed-limited execution did not succeed"
measured=$(python3 -c "print(int(($b2 - $b1) / ($t2 - $t1)))")
python3 -c "import sys; r=$measured/$rate; sys.exit(0 if 0.9 <= r <= 1.1 else 1)" ||
  fail "measured $measured B/s with speed $rate B/s and 8 workers (outside ±10%)"
pass "speed $speed_kibit Kibit/s ($rate B/s) with 8 workers: measured $measured B/s"
