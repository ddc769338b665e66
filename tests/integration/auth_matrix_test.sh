#!/usr/bin/env bash
# Every route × every identity (anonymous, wrong password, broken headers, a
# user with pull on one repository, a user with push elsewhere, an admin),
# with htpasswd + ACL and again with Pier's token realm: zero wrongful
# access, zero 5xx, no protected content in a refusal. Token mode adds
# tokens replayed on another repository, tampered, expired, alg none.
# A pull-through upstream (docker-registry) is configured: its names, in both
# addressing styles, follow the ACL of the local name hub/library/app, pushes
# into them are 405 UNSUPPORTED for who may push there, and its password
# never appears in /api/v2.0/proxy/upstreams.
# The matrix lives in lib/auth_matrix.py.
source "$(dirname "$0")/lib/common.sh"

up_port=$(free_port)
start_docker_registry upstream "$up_port"
echo -n "upstream-pw-am" >"$WORK/upstream.pass"

htpasswd -nbB admin secret-admin >"$WORK/htpasswd"
htpasswd -nbB puller secret-pull >>"$WORK/htpasswd"
htpasswd -nbB pusher secret-push >>"$WORK/htpasswd"
htpasswd -nbB proxier secret-proxy >>"$WORK/htpasswd"
echo -n "webhook-secret-am" >"$WORK/webhook.secret"

for mode in basic token; do
  token=false
  [ "$mode" = token ] && token=true
  cat >"$WORK/config-$mode.json" <<JSON
{"auth": {"htpasswd": "$WORK/htpasswd", "admins": ["admin"],
          "acl": [{"subject": "admin", "repository": "**", "actions": ["pull", "push", "delete"]},
                  {"subject": "puller", "repository": "team/a", "actions": ["pull"]},
                  {"subject": "pusher", "repository": "other/**", "actions": ["pull", "push"]},
                  {"subject": "proxier", "repository": "hub/**", "actions": ["pull", "push"]}],
          "token": {"enabled": $token, "issuer": "pier-am", "service": "pier-am-svc"}},
 "metrics": {"require_auth": true},
 "webhooks": {"harbor": {"authorization_file": "$WORK/webhook.secret"}},
 "proxy": {"upstreams": [{"name": "hub", "url": "http://127.0.0.1:$up_port", "ns": ["docker.io"],
                          "username": "upstream-user", "password_file": "$WORK/upstream.pass"}]}}
JSON
  port=$(free_port)
  start_pier "pier-$mode" "$port" "$WORK/data-$mode" --config "$WORK/config-$mode.json"
  python3 "$LIB_DIR/auth_matrix.py" "127.0.0.1:$port" "$mode" "$WORK/data-$mode" webhook-secret-am \
    "127.0.0.1:$up_port" upstream-pw-am \
    >"$WORK/matrix-$mode.out" || fail "auth matrix ($mode): $(cat "$WORK/matrix-$mode.out")"
  kill -0 "$PIER_PID" 2>/dev/null || fail "pier died during the $mode matrix"
  pass "$(tail -n 1 "$WORK/matrix-$mode.out")"
  stop_pid "$PIER_PID"
done
