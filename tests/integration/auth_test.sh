#!/usr/bin/env bash
# Basic auth with an htpasswd file (bcrypt) and a per-repository ACL: skopeo
# with credentials works, without is refused with a challenge, a user
# outside its ACL gets 403, and _catalog shows only pullable repositories.
source "$(dirname "$0")/lib/common.sh"

htpasswd -nbB ci secret-ci >"$WORK/htpasswd"
htpasswd -nbB viewer secret-v >>"$WORK/htpasswd"
# A stale MD5 (apr1) entry: left out with a warning, the others keep working.
htpasswd -nbm legacy secret-l >>"$WORK/htpasswd"
cat >"$WORK/config.json" <<JSON
{"auth":{"htpasswd":"$WORK/htpasswd","acl":[
  {"subject":"ci","repository":"**","actions":["pull","push","delete"]},
  {"subject":"viewer","repository":"public/**","actions":["pull"]}]}}
JSON
port=$(free_port)
start_pier pier "$port" "$WORK/data" --config "$WORK/config.json"
reg="127.0.0.1:$port"
python3 "$LIB_DIR/make_oci_layout.py" "$WORK/img" image --layers 1 --size 10000 --seed 4

code=$(status GET "http://$reg/v2/")
[ "$code" = 401 ] || fail "anonymous /v2/ got $code"
curl -s -D - -o /dev/null "http://$reg/v2/" | grep -qi '^WWW-Authenticate: Basic realm="pier"' || fail "no Basic challenge"
[ "$(status GET "http://$reg/v2/" -u ci:wrong)" = 401 ] || fail "wrong password accepted"
[ "$(status GET "http://$reg/v2/" -u ci:secret-ci)" = 200 ] || fail "right password refused"
pass "challenge and Basic verification"
[ "$(status GET "http://$reg/v2/" -u legacy:secret-l)" = 401 ] || fail "apr1 user accepted"
grep -q 'htpasswd entry left out.*line [0-9]*: user legacy left out: unsupported hash scheme \$apr1\$' "$WORK/pier.log" ||
  fail "no warning naming the apr1 line: $(grep -i htpasswd "$WORK/pier.log")"
pass "an apr1 line is left out with a warning; the other users work"

if skopeo_ copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$reg/public/app:v1" >/dev/null 2>&1; then
  fail "anonymous push succeeded"
fi
skopeo_ copy --dest-tls-verify=false --dest-creds ci:secret-ci "oci:$WORK/img:v1" "docker://$reg/public/app:v1" >/dev/null
skopeo_ copy --dest-tls-verify=false --dest-creds ci:secret-ci "oci:$WORK/img:v1" "docker://$reg/private/app:v1" >/dev/null
pass "skopeo pushes with credentials, refused without"

skopeo_ inspect --tls-verify=false --creds viewer:secret-v "docker://$reg/public/app:v1" >/dev/null || fail "viewer cannot pull public"
code=$(status GET "http://$reg/v2/private/app/manifests/v1" -u viewer:secret-v)
[ "$code" = 403 ] || fail "viewer read private: $code"
code=$(status POST "http://$reg/v2/public/app/blobs/uploads/" -u viewer:secret-v)
[ "$code" = 403 ] || fail "viewer may push: $code"
cat=$(curl -sf -u viewer:secret-v "http://$reg/v2/_catalog" | jq -c .repositories)
[ "$cat" = '["public/app"]' ] || fail "viewer catalog $cat"
cat=$(curl -sf -u ci:secret-ci "http://$reg/v2/_catalog" | jq -c .repositories)
[ "$cat" = '["private/app","public/app"]' ] || fail "ci catalog $cat"
pass "ACL: pull-only user sees and reads only its repositories"

# Mount needs pull rights on the source repository.
digest=$(layout_digest "$WORK/img")
layer=$(curl -sf -u ci:secret-ci -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$reg/v2/private/app/manifests/v1" | jq -r '.layers[0].digest')
code=$(status POST "http://$reg/v2/other/x/blobs/uploads/?mount=$layer&from=private/app" -u ci:secret-ci)
[ "$code" = 201 ] || fail "mount by ci got $code"
pass "cross-repository mount ($digest)"
