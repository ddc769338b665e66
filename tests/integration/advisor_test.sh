#!/usr/bin/env bash
# The layer advisor (`pier report`, GET /api/v2.0/report) on real content:
# three builds of a Java service made from this machine's files
# (lib/make_app_image.py: a /usr/share/doc base layer, an apt layer with the
# real /var/lib/apt/lists, a Spring-Boot-shaped fat JAR of Debian's jars)
# pushed with skopeo, replicated to a docker-registry behind slowlink. The
# report's numbers are checked against the real bytes: layer sizes and
# digests, what the destination lacks, the fat JAR's entries and a layered
# jar's real per-layer bytes, the largest changed file, apt lists in the
# rebuilt layer, the drifting base; its predicted time against the measured
# replication; the table output; the metrics after a push.
source "$(dirname "$0")/lib/common.sh"

dest_port=$(free_port)
start_docker_registry dest "$dest_port"
# 2 MB/s: slow enough that the link, not round trips, decides the time.
start_slowlink link "$dest_port" --rate 2000000
pier_port=$(free_port)
start_pier pier "$pier_port" "$WORK/data"
API_BASE="http://127.0.0.1:$pier_port"
api POST /registries -d "{\"name\":\"acr\",\"type\":\"docker-registry\",\"url\":\"http://$LINK_ADDR\"}" >/dev/null
reg=$(api GET /registries | json_get 'j[0]["id"]')
api POST /replication/policies -d "{\"name\":\"to-acr\",\"dest_registry\":{\"id\":$reg},\"dest_namespace\":\"\",
  \"trigger\":{\"type\":\"manual\"},\"filters\":[{\"type\":\"name\",\"value\":\"team/**\"}]}" >/dev/null
pol=$(api GET /replication/policies | json_get 'j[0]["id"]')
run_policy() {
  local loc
  loc=$(curl -sf -D - -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"policy_id\":$pol}" \
    "$API_BASE/api/v2.0/replication/executions" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
  echo "${loc##*/}"
}
report() { "$PIER_BIN" report --server "$API_BASE" "$@"; }

push() { skopeo_ copy --dest-tls-verify=false "oci:$WORK/b$1:$1" "docker://127.0.0.1:$pier_port/team/app:$1" >/dev/null; }
for b in 1 2; do python3 "$LIB_DIR/make_app_image.py" "$WORK/b$b" --build "$b" >"$WORK/b$b.json"; done
python3 "$LIB_DIR/make_app_image.py" "$WORK/b3" --build 3 --base-variant 1 >"$WORK/b3.json"

# Build 1 goes out first: the destination's rate comes from this run.
push 1
e1=$(run_policy)
[ "$(wait_execution "$e1" 180)" = Succeed ] || fail "replicating build 1"
push 2
report team/app:2 --json >"$WORK/r2.json" || fail "pier report team/app:2"
py() { python3 - "$@"; }
py "$WORK/r2.json" "$WORK/b1.json" "$WORK/b2.json" <<'PY' || fail "report on build 2 (see above)"
import json, sys
r, b1, b2 = (json.load(open(p)) for p in sys.argv[1:4])
def check(cond, what):
    if not cond:
        print("report check failed:", what, file=sys.stderr); sys.exit(1)
check(r["against"]["reference"] == "1", "compared with build 1: %s" % r["against"])
L = r["layers"]
check([l["digest"] for l in L] == [l["digest"] for l in b2["layers"]], "layer digests")
check([l["size"] for l in L] == [l["size"] for l in b2["layers"]], "layer sizes")
check([l["status"] for l in L] == ["shared", "new", "new"], "new/shared: %s" % [l["status"] for l in L])
new = b2["layers"][1]["size"] + b2["layers"][2]["size"]
check(r["totals"]["new_bytes"] == new, "new bytes %s vs %s" % (r["totals"]["new_bytes"], new))
check("COPY target/app.jar" in L[2]["created_by"], "history step: %r" % L[2]["created_by"])
# Content: the largest change in the app layer is the jar.
c = L[2]["content"]
check(c["changed_files"][0]["path"] == "app/app.jar" and c["changed_files"][0]["size"] == b2["jar_size"],
      "largest change: %s" % c["changed_files"][:1])
check(L[0]["content"]["changed_files"] == [], "the shared base changed nothing")
check(L[0]["content"]["tar_bytes"] == b2["layers"][0]["tar_size"], "base tar bytes")
# The fat JAR, from its central directory; only the application layer changed.
jars = r["fat_jars"]
check(len(jars) == 1 and jars[0]["path"] == "app/app.jar" and jars[0]["listing"] == "central-directory",
      "fat jar: %s" % jars)
j = jars[0]
changed = [l["name"] for l in j["layers"] if l["changed"]]
check(changed == ["application"], "changed boot layers: %s" % changed)
ents = b2["jar_entries"]
def entries(pred): return [e for e in ents if pred(e["name"])]
deps = entries(lambda n: n.startswith("BOOT-INF/lib/") and "SNAPSHOT" not in n)
snap = entries(lambda n: n.startswith("BOOT-INF/lib/") and "SNAPSHOT" in n)
loader = entries(lambda n: n.startswith("org/springframework/boot/loader/"))
by = {l["name"]: l for l in j["layers"]}
check(by["dependencies"]["entries"] == len(deps), "dependencies entries %s vs %d" % (by["dependencies"]["entries"], len(deps)))
check(by["snapshot-dependencies"]["entries"] == len(snap) == 1, "snapshot entries")
check(by["spring-boot-loader"]["entries"] == len(loader), "loader entries")
check(by["application"]["entries"] == len(ents) - len(deps) - len(snap) - len(loader), "application entries")
check(j["bytes_per_build"] == b2["jar_size"], "fat jar bytes")
check(j["layered_bytes_per_build"] == by["application"]["bytes"], "layered bytes = application's")
check(j["layered_bytes_per_build"] * 5 < j["bytes_per_build"], "a layered jar sends far less")
kinds = [f["kind"] for f in r["findings"]]
for k in ("fat-jar", "package-manager-state", "largest-changes"):
    check(k in kinds, "finding %s in %s" % (k, kinds))
pm = [p for p in r["package_managers"] if p["what"] == "apt-lists"]
check(pm and pm[0]["layer"] == 1 and pm[0]["layer_is_new"], "apt lists in layer 1: %s" % r["package_managers"])
# zstd: an estimate for every gzip layer, smaller than gzip on this text.
check(r["zstd"]["layers_measured"] == 3 and r["zstd"]["zstd_bytes"] < r["zstd"]["gzip_bytes"], "zstd: %s" % r["zstd"])
# The destination: build 2's new layers and config are missing, at the measured rate.
d = r["destinations"][0]
want = new + b2["config"]["size"]
check(d["name"] == "acr" and d["rate_source"] == "history", "destination: %s" % d)
check(d["bytes_to_send"] == want, "to send %s vs %s" % (d["bytes_to_send"], want))
check(d["seconds"] is not None and d["seconds"] > 0, "seconds: %s" % d["seconds"])
print(json.dumps({"predicted": d["seconds"], "bytes": want, "rate": d["rate_bytes_per_second"],
                  "layered": j["layered_bytes_per_build"], "jar": j["bytes_per_build"]}))
PY
pass "report on build 2 matches the real bytes: layers, fat JAR (only 'application' changed), apt lists, zstd, destination"

# The layered jar's estimate against real layers: the jar's entries
# extracted as layertools would, one gzip tar per boot layer.
python3 - "$WORK/b2" "$WORK/r2.json" <<'PY' || fail "layered-jar estimate vs real layers"
import gzip, hashlib, io, json, os, sys, tarfile, zipfile
root, r = sys.argv[1], json.load(open(sys.argv[2]))
idx = json.load(open(os.path.join(root, "index.json")))
blob = lambda d: open(os.path.join(root, "blobs", "sha256", d.split(":")[1]), "rb").read()
m = json.loads(blob(idx["manifests"][0]["digest"]))
jar = tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(m["layers"][2]["digest"])))).extractfile("app/app.jar").read()
z = zipfile.ZipFile(io.BytesIO(jar))
def layer_of(n):
    if n.startswith("BOOT-INF/lib/"): return "snapshot-dependencies" if "SNAPSHOT" in n else "dependencies"
    if n.startswith("org/springframework/boot/loader/"): return "spring-boot-loader"
    return "application"
for name in sorted({layer_of(i.filename) for i in z.infolist()}):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for i in z.infolist():
            if layer_of(i.filename) != name: continue
            data = z.read(i)
            ti = tarfile.TarInfo("application/" + i.filename); ti.size = len(data); ti.mtime = 0
            t.addfile(ti, io.BytesIO(data))
    real = len(gzip.compress(buf.getvalue(), 6, mtime=0))
    est = [l for l in r["fat_jars"][0]["layers"] if l["name"] == name][0]["bytes"]
    print("%-22s real %9d estimate %9d  %.3f" % (name, real, est, est / real))
    # Within 10 %, or 8 kB for layers of a few kB (a tar's headers and
    # gzip's cross-file matches weigh more there).
    if abs(est - real) > max(0.10 * real, 8192):
        print("estimate off for", name, file=sys.stderr); sys.exit(1)
PY
pass "the layered-jar estimate is within 10 % of real gzip'ed layertools layers"

# The prediction against the real replication of build 2.
pred=$(json_get 'j["destinations"][0]["seconds"]' <"$WORK/r2.json")
start=$(date +%s.%N)
e2=$(run_policy)
[ "$(wait_execution "$e2" 180)" = Succeed ] || fail "replicating build 2"
took=$(python3 -c "import time;print(time.time()-$start)")
python3 -c "
p,t=$pred,$took
print('predicted %.1f s, measured %.1f s (%.2fx)'%(p,t,p/t))
# Loose here (a shared CI machine); bench/advisor_bench.sh holds the 10 % bar.
assert 0.6*t<=p<=1.5*t, 'prediction off'" || fail "predicted $pred s, replication took $took s"
pass "predicted ${pred} s for build 2, the replication took $(printf %.1f "$took") s"

# Now the destination holds build 2: nothing left to send.
report team/app:2 --json | json_get 'j["destinations"][0]["bytes_to_send"]' | grep -qx 0 ||
  fail "after replication build 2 still has bytes to send"

# Build 3: another base image (a drifting base) — named, with its bytes.
push 3
report team/app:3 --json >"$WORK/r3.json"
python3 - "$WORK/r3.json" "$WORK/b3.json" <<'PY' || fail "report on build 3"
import json, sys
r, b3 = (json.load(open(p)) for p in sys.argv[1:3])
assert r["against"]["reference"] == "2", r["against"]
b = r["base_image"]
assert b["drifted"] and b["leading_new_layers"] == 3 and b["leading_new_bytes"] == sum(l["size"] for l in b3["layers"]), b
assert any(f["kind"] == "base-image-drift" for f in r["findings"]), r["findings"]
PY
pass "build 3's drifting base image is named"

# --against, the table, and refusals.
report team/app:3 --against 1 --json | json_get 'j["against"]["reference"]' | grep -qx 1 || fail "--against 1"
report team/app:2 >"$WORK/table.txt" || fail "pier report (table)"
for want in "Destinations" "acr" "fat JAR" "apt lists" "COPY target/app.jar"; do
  grep -qF "$want" "$WORK/table.txt" || { cat "$WORK/table.txt" >&2; fail "table lacks '$want'"; }
done
set +e
report team/app:nope >/dev/null 2>"$WORK/err.txt"; rc=$?
set -e
[ $rc = 1 ] && grep -q "no manifest" "$WORK/err.txt" || fail "unknown tag: rc=$rc $(cat "$WORK/err.txt")"
[ "$(status GET "$API_BASE/api/v2.0/report?repository=team/app&reference=..%2F1")" = 400 ] || fail "bad reference not refused"
pass "--against, the table output, and refusals"

# The report made after each push feeds the metrics (summed over
# repositories; no repository label).
b3_new=$(json_get 'sum(l["size"] for l in j["layers"])' <"$WORK/b3.json")
b3_jar=$(json_get 'j["jar_size"]' <"$WORK/b3.json")
deadline=$((SECONDS + 30))
until curl -sf "$API_BASE/metrics" >"$WORK/metrics.txt" && grep -qx "pier_advisor_new_bytes $b3_new" "$WORK/metrics.txt"; do
  [ $SECONDS -lt $deadline ] || { grep advisor "$WORK/metrics.txt" >&2; fail "pier_advisor_new_bytes is not build 3's $b3_new"; }
  sleep 0.2
done
grep -qx 'pier_advisor_repositories 1' "$WORK/metrics.txt" || fail "pier_advisor_repositories"
grep -q '^pier_advisor_send_seconds{destination="acr"} ' "$WORK/metrics.txt" || fail "no pier_advisor_send_seconds for acr"
grep -qx "pier_advisor_fat_jar_bytes $b3_jar" "$WORK/metrics.txt" || fail "pier_advisor_fat_jar_bytes is not build 3's jar"
if grep -v '^#' "$WORK/metrics.txt" | grep -q 'team/'; then fail "a repository name in /metrics"; fi
pass "a push is reported on by itself: pier_advisor_* for build 3, no repository label"
