#!/usr/bin/env bash
# A pull-through download crossing a link that cuts every connection after
# 6 MB downstream: Pier resumes each cut with Range from what it holds, the
# client streaming the layer meanwhile gets every byte once and verified,
# and nothing half-done is left (no upload session, fsck clean).
source "$(dirname "$0")/lib/common.sh"

up_port=$(free_port)
start_docker_registry upstream "$up_port"
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/img" image --layers 1 --size 24000000 --seed 51
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://127.0.0.1:$up_port/library/cut:v1" >/dev/null
manifest=$(layout_digest "$WORK/img" v1)
layer=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' \
  "$WORK/img/blobs/sha256/${manifest#sha256:}")

start_slowlink link "$up_port" --rate 40000000 --direction both --cut-down-after 6000000
cat >"$WORK/pier.json" <<JSON
{"proxy": {"upstreams": [{"name": "hub", "url": "http://$LINK_ADDR", "ns": ["docker.io"]}]}}
JSON
port=$(free_port)
start_pier pier "$port" "$WORK/data" --config "$WORK/pier.json"
reg="127.0.0.1:$port"

curl -sf -o "$WORK/layer" "http://$reg/v2/hub/library/cut/blobs/$layer" || fail "GET of the layer through cuts failed"
[ "sha256:$(sha256sum <"$WORK/layer" | cut -d' ' -f1)" = "$layer" ] || fail "the streamed layer does not hash to its digest"
cuts=$(link_stat link connections_cut)
[ "$cuts" -ge 3 ] || fail "the link cut $cuts connections, want >= 3 (is --cut-down-after working?)"
resumes=$(grep -c "upstream fill cut; resuming with Range" "$WORK/pier.log" || true)
[ "$resumes" -ge 3 ] || fail "Pier logged $resumes resumes for $cuts cuts"
down=$(link_stat link bytes_down)
[ "$down" -lt 26000000 ] || fail "$down bytes came down for a 24 MB layer: cut bytes were fetched again"
pass "24 MB layer through $cuts download cuts: $resumes Range resumes, $down bytes down, client got it whole and verified"

# Served from the cache now, whole.
got=$(curl -sf "http://$reg/v2/library/cut/blobs/$layer?ns=docker.io" | sha256sum | cut -d' ' -f1)
[ "sha256:$got" = "$layer" ] || fail "cached layer hashes to sha256:$got"
stop_pid "$PIER_PID"
"$PIER_BIN" fsck --data "$WORK/data" >"$WORK/fsck.log" 2>&1 || fail "fsck: $(tail -n 20 "$WORK/fsck.log")"
[ -z "$(ls -A "$WORK/data/uploads" 2>/dev/null)" ] || fail "upload sessions left behind: $(ls "$WORK/data/uploads")"
pass "the layer is stored once, fsck clean, no upload session left"
