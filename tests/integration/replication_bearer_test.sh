#!/usr/bin/env bash
# Replication to a Bearer-auth destination that behaves like Aliyun ACR: a
# `docker-registry` in token mode whose realm is a Pier (Pier's own /token,
# signed JWTs), reached through slowlink with latency. The destination is an
# `ali-acr` endpoint (two-level names, docker login credentials). Checks the
# image arrives byte-identical, the token realm was used, a wrong password
# is refused when the endpoint is created, and a user without push rights
# makes the execution fail with the reason in the task log.
source "$(dirname "$0")/lib/common.sh"

SERVICE=acr-like
ISSUER=pier-issuer
htpasswd -nbB mirror 'mirror-secret' >"$WORK/htpasswd"
htpasswd -nbB reader 'reader-secret' >>"$WORK/htpasswd"
cat >"$WORK/issuer.json" <<JSON
{"auth":{"htpasswd":"$WORK/htpasswd","admins":["mirror"],
  "acl":[{"subject":"mirror","repository":"**","actions":["pull","push","delete"]},
         {"subject":"reader","repository":"**","actions":["pull"]}],
  "token":{"enabled":true,"issuer":"$ISSUER","service":"$SERVICE","expiration_seconds":300}}}
JSON
issuer_port=$(free_port)
start_pier issuer "$issuer_port" "$WORK/issuer-data" --config "$WORK/issuer.json"

reg_port=$(free_port)
cat >"$WORK/registry.yml" <<YML
version: 0.1
log: {level: info}
storage:
  filesystem: {rootdirectory: $WORK/registry-data}
http: {addr: 127.0.0.1:$reg_port, secret: pier-bearer-test}
auth:
  token:
    realm: http://127.0.0.1:$issuer_port/token
    service: $SERVICE
    issuer: $ISSUER
    rootcertbundle: $WORK/issuer-data/token/token.crt
YML
spawn "$WORK/registry.log" docker-registry serve "$WORK/registry.yml"
wait_http "http://127.0.0.1:$reg_port/v2/"
start_slowlink link "$reg_port" --latency-ms 20

pier_port=$(free_port)
start_pier pier "$pier_port" "$WORK/data"
API_BASE="http://127.0.0.1:$pier_port"

# A wrong password: the endpoint is refused at creation (Harbor pings it).
code=$(status POST "$API_BASE/api/v2.0/registries" -H 'Content-Type: application/json' -d "{\"name\":\"bad\",
  \"type\":\"ali-acr\",\"url\":\"http://$LINK_ADDR\",\"credential\":{\"access_key\":\"mirror\",\"access_secret\":\"nope\"}}")
[ "$code" = 400 ] || fail "an endpoint with a wrong password was accepted ($code)"

api POST /registries -d "{\"name\":\"acr\",\"type\":\"ali-acr\",\"url\":\"http://$LINK_ADDR\",
  \"credential\":{\"type\":\"basic\",\"access_key\":\"mirror\",\"access_secret\":\"mirror-secret\"}}" >/dev/null
api POST /registries -d "{\"name\":\"acr-ro\",\"type\":\"ali-acr\",\"url\":\"http://$LINK_ADDR\",
  \"credential\":{\"type\":\"basic\",\"access_key\":\"reader\",\"access_secret\":\"reader-secret\"}}" >/dev/null
acr=$(api GET "/registries?name=acr" | json_get '[r["id"] for r in j if r["name"]=="acr"][0]')
acr_ro=$(api GET "/registries?name=acr-ro" | json_get '[r["id"] for r in j if r["name"]=="acr-ro"][0]')
for p in "to-acr:$acr" "to-acr-ro:$acr_ro"; do
  api POST /replication/policies -d "{\"name\":\"${p%%:*}\",\"dest_registry\":{\"id\":${p##*:}},
    \"dest_namespace\":\"lgy-images\",\"dest_namespace_replace_count\":-1,\"trigger\":{\"type\":\"manual\"},
    \"filters\":[{\"type\":\"name\",\"value\":\"team/**\"}]}" >/dev/null
done
# ACR's two-level rule is checked when the policy is created.
code=$(status POST "$API_BASE/api/v2.0/replication/policies" -H 'Content-Type: application/json' -d "{\"name\":\"deep\",
  \"dest_registry\":{\"id\":$acr},\"dest_namespace\":\"a/b\",\"trigger\":{\"type\":\"manual\"}}")
[ "$code" = 400 ] || fail "a policy producing three-level names for ali-acr was accepted ($code)"

python3 "$LIB_DIR/make_oci_layout.py" "$WORK/img" image --layers 3 --size 700000 --seed 21
want=$(layout_digest "$WORK/img")
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://127.0.0.1:$pier_port/team/app:v1" >/dev/null

tokens_before=$(grep -c 'path=/token' "$WORK/issuer.log" || true)
"$PIER_BIN" replicate --policy to-acr --server "$API_BASE" >"$WORK/cli.out" 2>"$WORK/cli.err" \
  || fail "replication to the Bearer destination failed: $(cat "$WORK/cli.out")"
got=$(skopeo_ inspect --tls-verify=false --creds mirror:mirror-secret --format '{{.Digest}}' \
  "docker://127.0.0.1:$reg_port/lgy-images/app:v1")
[ "$got" = "$want" ] || fail "destination has $got, pushed $want"
skopeo_ copy --src-tls-verify=false --src-creds mirror:mirror-secret \
  "docker://127.0.0.1:$reg_port/lgy-images/app:v1" "oci:$WORK/back:v1" >/dev/null
for f in "$WORK"/img/blobs/sha256/*; do
  cmp -s "$f" "$WORK/back/blobs/sha256/$(basename "$f")" || fail "blob $(basename "$f") differs"
done
[ "$(grep -c 'path=/token' "$WORK/issuer.log")" -gt "$tokens_before" ] || fail "the token realm was not used"
pass "team/app:v1 replicated to lgy-images/app:v1 on a Bearer-auth registry through Pier's token realm"
# The CLI's last line: the end as it is (full bar only here, where it succeeded).
grep -q '\[#*\] 100%.*Succeed in .* sent' "$WORK/cli.err" || fail "pier replicate's final line: $(tail -n 2 "$WORK/cli.err")"

# A user who may only pull: what is there already is fine, a new image fails
# and its task log says why.
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/img2" image --layers 1 --size 100000 --seed 22
skopeo_ copy --dest-tls-verify=false "oci:$WORK/img2:v1" "docker://127.0.0.1:$pier_port/team/other:v1" >/dev/null
rc=0; "$PIER_BIN" replicate --policy to-acr-ro --server "$API_BASE" >"$WORK/ro.out" 2>"$WORK/ro.err" || rc=$?
[ $rc = 1 ] || fail "replication with a pull-only user exited $rc: $(cat "$WORK/ro.out")"
# A failed run's bar keeps its real total and says what was sent and why (not "0 B/0 B").
tail -n 1 "$WORK/ro.err" | grep -q '^\[-*\] *0%  0 B/[0-9.]* KiB  tasks [0-9]*/[0-9]*  Failed after .*: 0 B sent; ' ||
  fail "pier replicate's final line for a failed run: $(tail -n 1 "$WORK/ro.err")"
e=$(api GET "/replication/executions?page_size=1" | json_get 'j[0]["id"]')
t=$(api GET "/replication/executions/$e/tasks?status=Failed" | json_get 'j[0]["id"] if len(j)==1 and "team/other" in j[0]["src_resource"] else ""')
[ -n "$t" ] || fail "expected exactly the team/other task to fail: $(api GET "/replication/executions/$e/tasks")"
log=$(curl -sf "$API_BASE/api/v2.0/replication/executions/$e/tasks/$t/log")
echo "$log" | grep -qiE "401|403|denied|unauthorized|auth" || fail "task log does not say why: $log"
pass "a pull-only destination user fails the execution, with the reason in the task log"
