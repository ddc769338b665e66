#!/usr/bin/env bash
# Pier's own Docker token realm (/token, ES256 JWT):
#  - as the issuer for a real docker-registry (distribution 2.8) in token mode,
#    the way Aliyun ACR works: skopeo pushes with the right credentials, is
#    refused with wrong ones, and a pull-only user can pull but not push;
#  - for Pier itself in Bearer mode: the challenge names the realm, skopeo
#    pushes and pulls through tokens, tokens are checked (scope, signature),
#    Basic keeps working, and the signing key survives a restart.
source "$(dirname "$0")/lib/common.sh"

SERVICE=pier-it-svc
ISSUER=pier-it
htpasswd -nbB ci secret-ci >"$WORK/htpasswd"
htpasswd -nbB viewer secret-v >>"$WORK/htpasswd"
cat >"$WORK/config.json" <<JSON
{"auth":{"htpasswd":"$WORK/htpasswd","admins":["ci"],
  "acl":[{"subject":"ci","repository":"**","actions":["pull","push","delete"]},
         {"subject":"viewer","repository":"**","actions":["pull"]}],
  "token":{"enabled":true,"issuer":"$ISSUER","service":"$SERVICE","expiration_seconds":120}}}
JSON
pier_port=$(free_port)
start_pier pier "$pier_port" "$WORK/data" --config "$WORK/config.json"
pier="127.0.0.1:$pier_port"
realm="http://$pier/token"
cert="$WORK/data/token/token.crt"
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/img" image --layers 2 --size 30000 --seed 11
want=$(layout_digest "$WORK/img")

# ---- the realm itself ----
[ -s "$cert" ] || fail "no generated certificate at $cert"
[ "$(stat -c %a "$WORK/data/token/token.key")" = 600 ] || fail "token key is not mode 0600"
grep -q "cert=$cert" "$WORK/pier.log" || fail "startup log does not name the certificate"

# token URL [curl args...]: the JSON answer of the realm.
token_json() { local q=$1; shift; curl -sf "$@" "$realm?service=$SERVICE&$q"; }
# claims JWT: the decoded payload.
claims() { python3 -c "import base64,sys;p=sys.argv[1].split('.')[1];print(base64.urlsafe_b64decode(p+'='*(-len(p)%4)).decode())" "$1"; }
access_of() { claims "$(echo "$1" | jq -r .token)" | jq -cS '.access'; }

j=$(token_json "scope=repository:team/app:pull,push&account=ci" -u ci:secret-ci) || fail "ci token refused"
[ "$(access_of "$j")" = '[{"actions":["pull","push"],"name":"team/app","type":"repository"}]' ] || fail "ci access $(access_of "$j")"
c=$(claims "$(echo "$j" | jq -r .token)")
[ "$(echo "$c" | jq -r '.iss + " " + .sub + " " + .aud')" = "$ISSUER ci $SERVICE" ] || fail "claims $c"
[ "$(echo "$c" | jq '.exp - .iat')" = 120 ] || fail "expiry $c"
[ "$(echo "$j" | jq -r '.access_token == .token and .expires_in == 120 and (.issued_at | test("Z$"))')" = true ] || fail "answer $j"
j=$(token_json "scope=repository:team/app:pull,push,delete" -u viewer:secret-v)
[ "$(access_of "$j")" = '[{"actions":["pull"],"name":"team/app","type":"repository"}]' ] || fail "viewer access $(access_of "$j")"
j=$(token_json "scope=repository:team/app:pull&scope=registry:catalog:*")
[ "$(access_of "$j")" = '[]' ] || fail "anonymous got $(access_of "$j")"
j=$(token_json "scope=registry:catalog:*" -u viewer:secret-v)
[ "$(access_of "$j")" = '[]' ] || fail "non-admin got the catalog"
j=$(token_json "scope=registry:catalog:*+repository:localhost:5000/a/b:pull" -u ci:secret-ci)
[ "$(access_of "$j" | jq -c 'map(.name)')" = '["catalog","localhost:5000/a/b"]' ] || fail "admin scopes $(access_of "$j")"
j=$(curl -sf -X POST "$realm" --data-urlencode grant_type=password --data-urlencode username=ci \
      --data-urlencode password=secret-ci --data-urlencode service=$SERVICE \
      --data-urlencode 'scope=repository:team/app:pull') || fail "OAuth2 password grant refused"
[ "$(echo "$j" | jq -r .access_token | cut -c1-3)" = eyJ ] || fail "no access_token: $j"
pass "realm grants requested ∩ ACL (catalog for admins only), GET and POST"

out=$(curl -s -w '\n%{http_code}' -u ci:wrong "$realm?service=$SERVICE&scope=repository:a:pull")
[ "$(echo "$out" | tail -1)" = 401 ] || fail "wrong password: $out"
echo "$out" | head -1 | jq -e '.errors[0].code == "UNAUTHORIZED"' >/dev/null || fail "no JSON error: $out"
out=$(curl -s -w '\n%{http_code}' -u ci:secret-ci "$realm?service=$SERVICE&scope=repository:a")
[ "$(echo "$out" | tail -1)" = 400 ] && echo "$out" | grep -q 'scope' || fail "bad scope: $out"
out=$(curl -s -w '\n%{http_code}' -u ci:secret-ci "$realm?service=elsewhere&scope=repository:a:pull")
[ "$(echo "$out" | tail -1)" = 400 ] && echo "$out" | grep -q 'service' || fail "wrong service: $out"
grep -q 'eyJ' "$WORK/pier.log" && fail "a token reached the log"
grep -q 'secret-ci' "$WORK/pier.log" && fail "a password reached the log"
pass "wrong credentials 401, bad scope and service 400, nothing secret logged"

# ---- docker-registry trusting Pier's realm (the ACR setup) ----
reg_port=$(free_port)
cat >"$WORK/registry.yml" <<YML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $WORK/registry-data
http:
  addr: 127.0.0.1:$reg_port
  secret: pier-token-test
auth:
  token:
    realm: $realm
    service: $SERVICE
    issuer: $ISSUER
    rootcertbundle: $cert
YML
spawn "$WORK/registry.log" docker-registry serve "$WORK/registry.yml"
wait_http "http://127.0.0.1:$reg_port/v2/"
reg="127.0.0.1:$reg_port"
curl -s -D - -o /dev/null "http://$reg/v2/" | grep -qi "^WWW-Authenticate: Bearer realm=\"$realm\",service=\"$SERVICE\"" \
  || fail "docker-registry does not point at Pier's realm"

skopeo_ copy --dest-tls-verify=false --dest-creds ci:secret-ci "oci:$WORK/img:v1" "docker://$reg/team/app:v1" >/dev/null \
  || fail "push to docker-registry with Pier tokens failed"
got=$(skopeo_ inspect --tls-verify=false --creds ci:secret-ci --format '{{.Digest}}' "docker://$reg/team/app:v1")
[ "$got" = "$want" ] || fail "docker-registry has $got, pushed $want"
pass "skopeo pushes into docker-registry with tokens from Pier (digest $want)"

if skopeo_ copy --dest-tls-verify=false --dest-creds ci:wrong "oci:$WORK/img:v1" "docker://$reg/team/bad:v1" >/dev/null 2>&1; then
  fail "push with a wrong password succeeded"
fi
if skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$reg/team/anon:v1" >/dev/null 2>&1; then
  fail "anonymous push succeeded"
fi
pass "wrong and missing credentials refused"

got=$(skopeo_ inspect --tls-verify=false --creds viewer:secret-v --format '{{.Digest}}' "docker://$reg/team/app:v1")
[ "$got" = "$want" ] || fail "viewer cannot pull: $got"
skopeo_ copy --src-tls-verify=false --src-creds viewer:secret-v "docker://$reg/team/app:v1" "oci:$WORK/from-reg:v1" >/dev/null \
  || fail "viewer pull failed"
if skopeo_ copy --dest-tls-verify=false --dest-creds viewer:secret-v "oci:$WORK/img:v1" "docker://$reg/team/viewer:v1" >/dev/null 2>&1; then
  fail "pull-only user pushed"
fi
pass "pull-only user pulls but cannot push"

# ---- Pier itself in Bearer mode ----
hdr=$(curl -s -D - -o /dev/null "http://$pier/v2/team/app/manifests/v1")
echo "$hdr" | grep -qi "^WWW-Authenticate: Bearer realm=\"$realm\",service=\"$SERVICE\",scope=\"repository:team/app:pull\"" \
  || fail "Pier's challenge: $hdr"
before=$(grep -c 'path=/token' "$WORK/pier.log")
skopeo_ copy --dest-tls-verify=false --dest-creds ci:secret-ci "oci:$WORK/img:v1" "docker://$pier/team/app:v1" >/dev/null \
  || fail "push to Pier in bearer mode failed"
[ "$(grep -c 'path=/token.*user=ci' "$WORK/pier.log")" -gt 0 ] && [ "$(grep -c 'path=/token' "$WORK/pier.log")" -gt "$before" ] \
  || fail "skopeo did not go through the token realm"
got=$(skopeo_ inspect --tls-verify=false --creds viewer:secret-v --format '{{.Digest}}' "docker://$pier/team/app:v1")
[ "$got" = "$want" ] || fail "Pier has $got, pushed $want"
skopeo_ copy --src-tls-verify=false --src-creds viewer:secret-v "docker://$pier/team/app:v1" "oci:$WORK/from-pier:v1" >/dev/null
for f in "$WORK"/img/blobs/sha256/*; do
  cmp -s "$f" "$WORK/from-pier/blobs/sha256/$(basename "$f")" || fail "blob $(basename "$f") differs after the round trip"
done
if skopeo_ copy --dest-tls-verify=false --dest-creds viewer:secret-v "oci:$WORK/img:v1" "docker://$pier/team/viewer:v1" >/dev/null 2>&1; then
  fail "pull-only user pushed to Pier"
fi
pass "skopeo push + pull round trip against Pier through its own tokens"

tok=$(token_json "scope=repository:team/app:pull" -u viewer:secret-v | jq -r .token)
accept='Accept: application/vnd.oci.image.manifest.v1+json'
[ "$(status GET "http://$pier/v2/team/app/manifests/v1" -H "Authorization: Bearer $tok" -H "$accept")" = 200 ] || fail "token pull refused"
[ "$(status GET "http://$pier/v2/team/other/tags/list" -H "Authorization: Bearer $tok")" = 401 ] || fail "token used outside its scope"
hdr=$(curl -s -D - -o /dev/null -X POST "http://$pier/v2/team/app/blobs/uploads/" -H "Authorization: Bearer $tok")
echo "$hdr" | grep -qi 'scope="repository:team/app:pull,push",error="insufficient_scope"' || fail "push with pull token: $hdr"
# Change a character in the middle of the signature (the last one may only carry padding bits).
pos=$(( ${#tok} - 20 ))
bad="${tok:0:pos}$( [ "${tok:pos:1}" = A ] && echo B || echo A )${tok:pos+1}"
[ "$(status GET "http://$pier/v2/team/app/manifests/v1" -H "Authorization: Bearer $bad" -H "$accept")" = 401 ] || fail "tampered token accepted"
payload=$(echo "$tok" | cut -d. -f2)
none="$(printf '{"alg":"none"}' | base64 -w0 | tr '+/' '-_' | tr -d '=').$payload."
[ "$(status GET "http://$pier/v2/team/app/manifests/v1" -H "Authorization: Bearer $none" -H "$accept")" = 401 ] || fail "alg none accepted"
[ "$(status GET "http://$pier/v2/" -H "Authorization: Bearer $tok")" = 200 ] || fail "token refused on /v2/"
[ "$(status GET "http://$pier/v2/team/app/manifests/v1" -u viewer:secret-v -H "$accept")" = 200 ] || fail "Basic no longer works"
cat_tok=$(token_json "scope=registry:catalog:*" -u ci:secret-ci | jq -r .token)
[ "$(curl -sf "http://$pier/v2/_catalog" -H "Authorization: Bearer $cat_tok" | jq -c .repositories)" = '["team/app"]' ] \
  || fail "admin catalog with token"
[ "$(status GET "http://$pier/v2/_catalog" -H "Authorization: Bearer $tok")" = 401 ] || fail "catalog without the catalog grant"
pass "tokens checked: scope, signature, alg none refused; Basic still accepted; catalog needs registry:catalog:*"

sum=$(sha256sum "$cert")
stop_pid "$PIER_PID"
start_pier pier2 "$pier_port" "$WORK/data" --config "$WORK/config.json"
[ "$(sha256sum "$cert")" = "$sum" ] || fail "certificate changed across a restart"
[ "$(status GET "http://$pier/v2/team/app/manifests/v1" -H "Authorization: Bearer $tok" -H "$accept")" = 200 ] \
  || fail "token from before the restart refused"
got=$(skopeo_ inspect --tls-verify=false --creds ci:secret-ci --format '{{.Digest}}' "docker://$reg/team/app:v1")
[ "$got" = "$want" ] || fail "docker-registry stopped trusting Pier after its restart"
pass "the signing key survives a restart"
