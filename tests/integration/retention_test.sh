#!/usr/bin/env bash
# Harbor tag retention end to end with skopeo: five tags pushed, two pulled,
# a policy latestPushedK=2 OR latestPulledN=1 in Harbor's JSON; a dry run
# logs the two tags that would go and changes nothing; the real run deletes
# exactly those and the retained tags still pull byte-identical; a bad
# policy is refused with 400 naming the field.
source "$(dirname "$0")/lib/common.sh"

PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
API_BASE=$BASE
REG=127.0.0.1:$PORT
start_pier pier "$PORT" "$WORK/data"

for i in 1 2 3 4 5; do
  python3 "$LIB_DIR/make_oci_layout.py" "$WORK/img$i" image --layers 1 --size 50000 --seed "$((40 + i))" --tag "v$i"
  skopeo_ copy --dest-tls-verify=false "oci:$WORK/img$i:v$i" "docker://$REG/team/app:v$i" >/dev/null \
    || fail "push v$i"
  sleep 1.1  # push times are whole seconds: make the order unambiguous
done
pass "pushed v1..v5"
# Pull v1, then v2: v2 is the most recently pulled.
for i in 1 2; do
  skopeo_ copy --src-tls-verify=false "docker://$REG/team/app:v$i" "oci:$WORK/pulled$i:v$i" >/dev/null || fail "pull v$i"
  sleep 1.1
done
pass "pulled v1 then v2"

PROJECT=$(api GET "/quotas" | json_get '[q["id"] for q in j if q["ref"]["name"]=="team"][0]')
rule() {  # rule TEMPLATE N
  echo "{\"disabled\":false,\"action\":\"retain\",\"template\":\"$1\",\"params\":{\"$1\":$2},
    \"tag_selectors\":[{\"kind\":\"doublestar\",\"decoration\":\"matches\",\"pattern\":\"**\",\"extras\":\"{\\\"untagged\\\":true}\"}],
    \"scope_selectors\":{\"repository\":[{\"kind\":\"doublestar\",\"decoration\":\"repoMatches\",\"pattern\":\"**\"}]}}"
}
POLICY_JSON="{\"algorithm\":\"or\",\"rules\":[$(rule latestPushedK 2),$(rule latestPulledN 1)],
  \"trigger\":{\"kind\":\"Schedule\",\"settings\":{\"cron\":\"\"}},\"scope\":{\"level\":\"project\",\"ref\":$PROJECT}}"

# Bad input: 400 naming the field.
BAD=$(sed 's/"latestPushedK":2/"latestPushedK":0/' <<<"$POLICY_JSON")
CODE=$(curl -s -o "$WORK/bad.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$BAD" "$BASE/api/v2.0/retentions")
[ "$CODE" = 400 ] || fail "bad policy answered $CODE"
grep -q 'rules\[0\].params.latestPushedK: must be a positive integer' "$WORK/bad.json" || fail "400 does not name the field: $(cat "$WORK/bad.json")"
pass "bad policy: 400 $(cat "$WORK/bad.json")"

LOC=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d "$POLICY_JSON" "$BASE/api/v2.0/retentions" \
  | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
RID=${LOC##*/}
[ -n "$RID" ] || fail "no Location for the new policy"
[ "$(status POST "$BASE/api/v2.0/retentions" -H 'Content-Type: application/json' -d "$POLICY_JSON")" = 400 ] \
  || fail "a second policy for the project was accepted"
api GET "/retentions/$RID" | json_get 'j["rules"][1]["params"]["latestPulledN"]' | grep -qx 1 || fail "GET policy"
pass "policy $RID created for project $PROJECT; a second one is refused"

run() {  # run DRY_RUN → prints the log of the execution's single task
  local loc eid st tid
  loc=$(curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"dry_run\":$1}" \
    "$BASE/api/v2.0/retentions/$RID/executions" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
  eid=${loc##*/}
  [ -n "$eid" ] || fail "no execution created"
  for _ in $(seq 100); do
    st=$(api GET "/retentions/$RID/executions" | json_get "[e['status'] for e in j if e['id']==$eid][0]")
    [ "$st" != Running ] && break
    sleep 0.1
  done
  [ "$st" = Succeed ] || fail "execution $eid ended $st"
  tid=$(api GET "/retentions/$RID/executions/$eid/tasks" | json_get 'j[0]["id"]')
  api GET "/retentions/$RID/executions/$eid/tasks/$tid"
}
tags() { skopeo_ list-tags --tls-verify=false "docker://$REG/team/app" | json_get '" ".join(sorted(j["Tags"]))'; }

run true > "$WORK/dry.log"
cat "$WORK/dry.log"
for t in v1 v3; do grep -q "| $t | .*DEL (dry run)" "$WORK/dry.log" || fail "dry run log does not name $t as going"; done
for t in v2 v4 v5; do grep -q "| $t | .*RETAIN" "$WORK/dry.log" || fail "dry run log does not retain $t"; done
[ "$(tags)" = "v1 v2 v3 v4 v5" ] || fail "dry run changed the tags: $(tags)"
pass "dry run: log names v1 and v3, nothing changed"

run false > "$WORK/real.log"
[ "$(tags)" = "v2 v4 v5" ] || fail "after the run the tags are $(tags)"
for i in 2 4 5; do
  rm -rf "$WORK/back$i"
  skopeo_ copy --src-tls-verify=false "docker://$REG/team/app:v$i" "oci:$WORK/back$i:v$i" >/dev/null || fail "pull v$i after retention"
  [ "$(layout_digest "$WORK/back$i")" = "$(layout_digest "$WORK/img$i")" ] || fail "v$i manifest differs"
  for b in "$WORK/back$i"/blobs/sha256/*; do
    cmp -s "$b" "$WORK/img$i/blobs/sha256/$(basename "$b")" || fail "v$i blob $(basename "$b") differs"
  done
done
[ "$(status GET "$BASE/v2/team/app/manifests/v1")" = 404 ] || fail "v1 still served"
pass "real run: v1 and v3 gone, v2 v4 v5 pull byte-identical"

[ "$(status DELETE "$BASE/api/v2.0/retentions/$RID")" = 200 ] || fail "delete policy"
[ "$(status GET "$BASE/api/v2.0/retentions/$RID")" = 404 ] || fail "deleted policy still there"
pass "policy deleted"
