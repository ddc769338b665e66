#!/usr/bin/env bash
# Every route × every identity (anonymous, wrong password, broken headers, a
# user with pull on one repository, a user with push elsewhere, an admin),
# with htpasswd + ACL and again with Pier's token realm: zero wrongful
# access, zero 5xx, no protected content in a refusal. Token mode adds
# tokens replayed on another repository, tampered, expired, alg none.
# The matrix lives in lib/auth_matrix.py.
source "$(dirname "$0")/lib/common.sh"

htpasswd -nbB admin secret-admin >"$WORK/htpasswd"
htpasswd -nbB puller secret-pull >>"$WORK/htpasswd"
htpasswd -nbB pusher secret-push >>"$WORK/htpasswd"
echo -n "webhook-secret-am" >"$WORK/webhook.secret"

for mode in basic token; do
  token=false
  [ "$mode" = token ] && token=true
  cat >"$WORK/config-$mode.json" <<JSON
{"auth": {"htpasswd": "$WORK/htpasswd", "admins": ["admin"],
          "acl": [{"subject": "admin", "repository": "**", "actions": ["pull", "push", "delete"]},
                  {"subject": "puller", "repository": "team/a", "actions": ["pull"]},
                  {"subject": "pusher", "repository": "other/**", "actions": ["pull", "push"]}],
          "token": {"enabled": $token, "issuer": "pier-am", "service": "pier-am-svc"}},
 "metrics": {"require_auth": true},
 "webhooks": {"harbor": {"authorization_file": "$WORK/webhook.secret"}}}
JSON
  port=$(free_port)
  start_pier "pier-$mode" "$port" "$WORK/data-$mode" --config "$WORK/config-$mode.json"
  python3 "$LIB_DIR/auth_matrix.py" "127.0.0.1:$port" "$mode" "$WORK/data-$mode" webhook-secret-am \
    >"$WORK/matrix-$mode.out" || fail "auth matrix ($mode): $(cat "$WORK/matrix-$mode.out")"
  kill -0 "$PIER_PID" 2>/dev/null || fail "pier died during the $mode matrix"
  pass "$(tail -n 1 "$WORK/matrix-$mode.out")"
  stop_pid "$PIER_PID"
done
