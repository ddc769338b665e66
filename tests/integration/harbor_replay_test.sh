#!/usr/bin/env bash
# Pier as a Harbor replication endpoint (type `docker-registry`): replays the
# exact request sequence Harbor's registry client sends (lib/harbor_client.py,
# lib/harbor_replay.py: ping + challenge, HEAD manifest with Harbor's six
# Accept lines, HEAD blob, POST/PUT and PATCH "start-end"/PUT uploads with a
# chunk cut mid-body and resumed from the upload status, PUT manifest, a second
# tag, _catalog and tags/list through Link, GET manifest, GET blob whole and by
# Range, DELETE by digest), every response checked, against:
#   - a Pier with htpasswd (Basic challenge → Basic on every request);
#   - a Pier with its token realm (Bearer challenge → tokens per scope).
# Both also get the refusals: no credentials, a wrong password, a pull-only
# grant pushing. Then the same sequence through a path prefix (an ingress
# serving Pier under /pier), with and without public_url.
source "$(dirname "$0")/lib/common.sh"

htpasswd -nbB harbor 'harbor-Secret1' >"$WORK/htpasswd"
htpasswd -nbB viewer 'viewer-Secret1' >>"$WORK/htpasswd"
acl='[{"subject":"harbor","repository":"**","actions":["pull","push","delete"]},
      {"subject":"viewer","repository":"**","actions":["pull"]}]'
echo "{\"auth\":{\"htpasswd\":\"$WORK/htpasswd\",\"admins\":[\"harbor\"],\"acl\":$acl}}" >"$WORK/basic.json"
echo "{\"auth\":{\"htpasswd\":\"$WORK/htpasswd\",\"admins\":[\"harbor\"],\"acl\":$acl,
  \"token\":{\"enabled\":true,\"service\":\"pier-harbor\",\"issuer\":\"pier\"}}}" >"$WORK/bearer.json"

for mode in basic bearer; do
  port=$(free_port)
  start_pier "pier-$mode" "$port" "$WORK/data-$mode" --config "$WORK/$mode.json"
  python3 "$LIB_DIR/harbor_replay.py" "http://127.0.0.1:$port" harbor:harbor-Secret1 viewer:viewer-Secret1 \
    --mode "$mode" || fail "Harbor's request sequence ($mode mode) was not served as Harbor expects"
  kill -0 "$PIER_PID" 2>/dev/null || fail "pier ($mode) died during the replay"
  grep -q 'Secret1' "$WORK/pier-$mode.log" && fail "a password reached the log ($mode)"
  grep -q 'eyJ' "$WORK/pier-$mode.log" && fail "a token reached the log ($mode)"
  # What the cut chunk left behind must not have reached the store.
  stop_pid "$PIER_PID"
  "$PIER_BIN" fsck --data "$WORK/data-$mode" >"$WORK/fsck-$mode.out" 2>&1 || fail "fsck after the replay ($mode): $(cat "$WORK/fsck-$mode.out")"
  pass "Harbor's docker-registry request sequence, $mode mode"
done

# ---- behind a path prefix ----
# Pier serves /v2/ at its root; a proxy maps http://host/pier/v2/... onto it.
# Harbor's authorizer pings the host's root /v2/ and authenticates only paths
# that start with /v2/, so a prefixed endpoint gets no credentials from
# Harbor: this works with auth off (Pier's default LAN-cache mode). Location
# and Link must lead back through the prefix: absolute under public_url, or
# relative /v2/ paths that Harbor appends to its endpoint URL.
for variant in public-url relative; do
  port=$(free_port)
  proxy_port=$(free_port)
  extra=()
  [ "$variant" = public-url ] && extra=(--public-url "http://127.0.0.1:$proxy_port/pier")
  start_pier "pier-prefix-$variant" "$port" "$WORK/data-prefix-$variant" "${extra[@]}"
  spawn "$WORK/proxy-$variant.log" python3 -u "$LIB_DIR/prefix_proxy.py" "$proxy_port" "127.0.0.1:$port" /pier
  deadline=$((SECONDS + 10))
  until grep -q '^listening' "$WORK/proxy-$variant.log"; do
    [ $SECONDS -lt $deadline ] || fail "prefix proxy did not start"
    sleep 0.05
  done
  [ "$(status GET "http://127.0.0.1:$proxy_port/v2/")" = 404 ] || fail "the proxy serves outside its prefix"
  python3 "$LIB_DIR/harbor_replay.py" "http://127.0.0.1:$proxy_port/pier" harbor:unused viewer:unused --mode none ||
    fail "Harbor's request sequence through the /pier prefix ($variant) was not served as Harbor expects"
  grep -q 'path=/pier' "$WORK/pier-prefix-$variant.log" && fail "the prefix reached Pier ($variant)"
  pass "Harbor's docker-registry request sequence through a /pier path prefix ($variant Location/Link)"
done
