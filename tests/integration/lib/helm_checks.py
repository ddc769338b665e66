#!/usr/bin/env python3
"""Checks for helm_test.sh on `helm template` output and the chart's files.

  objects RENDERED.yaml MONITORING(yes|no) [REPLICAS]
                                              the rendered objects are what the chart promises
                                              (REPLICAS pods, default 1: above one, shared S3 and
                                              PostgreSQL, a PodDisruptionBudget, PIER_REPLICA)
  extract RENDERED.yaml OUTDIR PORT           writes OUTDIR/config.json (paths moved under OUTDIR,
                                              listen on 127.0.0.1:PORT) and the Secret's files
  metrics DASHBOARD.json RULES.yaml OUT.yaml  every metric name is in the contract; writes the
                                              dashboard's expressions as a rules file for promtool
  api REGISTRIES.json POLICIES.json SECRETS_DIR  the seeded objects, secrets masked
Exits non-zero with a message naming what is wrong.
"""
import json
import os
import re
import sys

import yaml


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def load(path):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    return by_kind


def one(objs, kind, pred=lambda o: True):
    found = [o for o in objs.get(kind, []) if pred(o)]
    check(len(found) == 1, f"want exactly one {kind}, found {len(found)}")
    return found[0]


def main_configmap(objs):
    return one(objs, "ConfigMap", lambda o: "config.json" in o.get("data", {}))


def secret_values(objs):
    out = {}
    for s in objs.get("Secret", []):
        out.update(s.get("stringData") or {})
    return out


def cmd_objects(path, monitoring, replicas="1"):
    replicas = int(replicas)
    objs = load(path)
    sts = one(objs, "StatefulSet")
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    check(spec["replicas"] == replicas, f"StatefulSet: {replicas} replica(s), found {spec['replicas']}")
    vct = spec.get("volumeClaimTemplates") or []
    check(len(vct) == 1 and vct[0]["metadata"]["name"] == "data", "StatefulSet: a volumeClaimTemplate named data")
    check(vct[0]["spec"]["resources"]["requests"]["storage"], "StatefulSet: the PVC asks for storage")
    psc = pod["securityContext"]
    check(psc.get("runAsNonRoot") is True, "pod securityContext.runAsNonRoot must be true")
    check(isinstance(psc.get("runAsUser"), int) and psc["runAsUser"] != 0, "pod runs as a non-zero uid")
    check(psc.get("fsGroup"), "pod securityContext.fsGroup must be set (the PVC must be writable)")
    (c,) = pod["containers"]
    check(c["securityContext"].get("readOnlyRootFilesystem") is True, "container readOnlyRootFilesystem")
    check(c["securityContext"].get("allowPrivilegeEscalation") is False, "container allowPrivilegeEscalation false")
    check(c["command"] == ["pier", "serve", "--config", "/etc/pier/config.json"] and not c.get("args"),
          f"container command: {c.get('command')} {c.get('args')}")
    check(c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, "liveness probe GET /healthz on http")
    check(c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, "readiness probe GET /readyz on http")
    check(any(p["name"] == "http" and p["containerPort"] == 5000 for p in c["ports"]), "container port http 5000")
    check(c.get("resources", {}).get("requests"), "container resources.requests")
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    check(mounts.get("/data", {}).get("name") == "data", "PVC mounted at /data")
    check(mounts.get("/etc/pier/config.json", {}).get("subPath") == "config.json", "config.json mounted from the ConfigMap")
    check("/etc/pier/secrets" in mounts, "Secret mounted at /etc/pier/secrets")
    check("/tmp" in mounts, "/tmp is a writable emptyDir (read-only root)")
    vols = {v["name"]: v for v in pod["volumes"]}
    check("emptyDir" in vols[mounts["/tmp"]["name"]], "/tmp is an emptyDir")
    check(vols["config"]["configMap"]["name"] == main_configmap(objs)["metadata"]["name"], "config volume names the ConfigMap")
    secret_name = vols["secrets"]["secret"]["secretName"]
    if objs.get("Secret"):
        check(secret_name == one(objs, "Secret")["metadata"]["name"], "secrets volume names the chart's Secret")

    svc = one(objs, "Service", lambda o: o["spec"].get("clusterIP") != "None")
    check(svc["spec"]["ports"][0]["targetPort"] == "http", "Service targets the http port")
    check(svc["spec"]["selector"] == spec["selector"]["matchLabels"], "Service selects the pod")
    headless = one(objs, "Service", lambda o: o["spec"].get("clusterIP") == "None")
    check(spec["serviceName"] == headless["metadata"]["name"], "StatefulSet serviceName is the headless Service")

    cm = main_configmap(objs)
    text = cm["data"]["config.json"]
    cfg = json.loads(text)
    check(cfg["data"] == "/data" and cfg["listen"] == "0.0.0.0:5000", "config: data /data, listen :5000")
    check("access_secret\"" not in text, "ConfigMap must not carry access_secret")
    for key, value in secret_values(objs).items():
        for line in str(value).splitlines():
            secret = line.split(":", 1)[1] if key == "htpasswd" else line
            check(secret.strip() == "" or secret not in text, f"ConfigMap carries the secret of {key}")
    hook = cfg.get("webhooks", {}).get("harbor")
    if hook is not None:
        check(hook == {"authorization_file": "/etc/pier/secrets/webhook-harbor-authorization"},
              f"config: webhooks.harbor must name the mounted Secret file only: {hook}")
        if objs.get("Secret"):
            check(secret_values(objs).get("webhook-harbor-authorization"),
                  "Secret: webhook-harbor-authorization missing")
    for r in cfg.get("replication", {}).get("registries", []):
        cred = r.get("credential", {})
        if cred.get("access_key"):
            check(cred.get("access_secret_file") == f"/etc/pier/secrets/registry-{r['name']}",
                  f"registry {r['name']}: secret comes from the mounted Secret")

    check_shared(objs, cfg, c, pod, replicas, sts)

    kinds_on = {"ServiceMonitor", "PrometheusRule"}
    dash = [o for o in objs.get("ConfigMap", []) if "pier.json" in o.get("data", {})]
    if monitoring == "yes":
        for k in kinds_on:
            check(len(objs.get(k, [])) == 1, f"{k} rendered when enabled")
        sm = objs["ServiceMonitor"][0]
        check(sm["spec"]["endpoints"][0]["port"] == "http" and sm["spec"]["endpoints"][0]["path"] == "/metrics",
              "ServiceMonitor scrapes /metrics on http")
        sel = sm["spec"]["selector"]["matchLabels"]
        check(svc["metadata"]["labels"] | sel == svc["metadata"]["labels"], "ServiceMonitor selects the Service")
        check(headless["metadata"]["labels"] | sel != headless["metadata"]["labels"],
              "ServiceMonitor must not select the headless Service too (double scrapes)")
        pr = objs["PrometheusRule"][0]
        here = os.path.dirname(os.path.abspath(__file__))
        rules_file = os.path.join(here, "..", "..", "..", "charts", "pier", "rules", "pier-rules.yaml")
        with open(rules_file) as f:
            check(pr["spec"]["groups"] == yaml.safe_load(f)["groups"], "PrometheusRule carries rules/pier-rules.yaml")
        check(len(dash) == 1, "dashboard ConfigMap rendered when enabled")
        check(dash[0]["metadata"]["labels"].get("grafana_dashboard") == "1", "dashboard labelled grafana_dashboard: \"1\"")
        board = json.loads(dash[0]["data"]["pier.json"])
        check(board.get("title") == "Pier" and board.get("panels"), "dashboard JSON has a title and panels")
        ing = one(objs, "Ingress")
        check(ing["metadata"]["annotations"].get("nginx.ingress.kubernetes.io/proxy-body-size") == "0",
              "Ingress lets big layers through (proxy-body-size 0)")
        check(ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == svc["metadata"]["name"],
              "Ingress routes to the Service")
    else:
        for k in kinds_on:
            check(not objs.get(k), f"{k} must not render when disabled")
        check(not dash, "dashboard ConfigMap must not render when disabled")
        check(not objs.get("Ingress"), "Ingress must not render when disabled")
    print(f"ok - objects in {os.path.basename(path)}")


def check_shared(objs, cfg, container, pod, replicas, sts):
    """S3, PostgreSQL, PIER_REPLICA and the PodDisruptionBudget."""
    storage = cfg.get("storage", {})
    metadata = cfg.get("metadata")
    secrets = secret_values(objs)
    if replicas > 1:
        check(storage.get("type") == "s3", f"{replicas} replicas: config storage.type must be s3")
        check(metadata is not None and metadata.get("type") == "postgres",
              f"{replicas} replicas: config metadata.type must be postgres")
    if storage.get("type") == "s3":
        s3 = storage.get("s3", {})
        check("secret_key" not in s3, "config: storage.s3 must not carry secret_key")
        check(s3.get("secret_key_file") == "/etc/pier/secrets/s3-secret-key",
              f"config: storage.s3.secret_key_file names the mounted Secret file: {s3.get('secret_key_file')}")
        for k in ("endpoint", "region", "bucket", "access_key"):
            check(s3.get(k), f"config: storage.s3.{k} is empty")
        check(isinstance(s3.get("path_style"), bool) and isinstance(s3.get("redirect"), bool),
              "config: storage.s3.path_style and redirect are booleans")
        if objs.get("Secret"):
            check(secrets.get("s3-secret-key"), "Secret: s3-secret-key missing")
    else:
        check("s3" not in storage and "type" not in storage, f"config: storage without S3 has no type/s3: {storage}")
        check("s3-secret-key" not in secrets, "Secret: s3-secret-key without S3")
    if metadata is not None:
        pg = metadata.get("postgres", {})
        check(metadata.get("type") == "postgres" and set(pg) == {"dsn", "password_file"},
              f"config: metadata is postgres with dsn and password_file only: {metadata}")
        check(pg["password_file"] == "/etc/pier/secrets/db-password", "config: password_file names the mounted Secret file")
        check("password" not in pg["dsn"], f"config: the DSN must not carry a password: {pg['dsn']}")
        fields = dict(kv.split("=", 1) for kv in pg["dsn"].split())
        check(set(fields) == {"host", "port", "dbname", "user", "sslmode"} and fields["host"],
              f"config: DSN fields: {pg['dsn']}")
        if objs.get("Secret"):
            check(secrets.get("db-password"), "Secret: db-password missing")
    else:
        check("db-password" not in secrets, "Secret: db-password without a database")
    # Both files come from the volume mounted at /etc/pier/secrets.
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    vols = {v["name"]: v for v in pod["volumes"]}
    check("secret" in vols[mounts["/etc/pier/secrets"]], "/etc/pier/secrets is a Secret volume")

    env = {e["name"]: e for e in container.get("env") or []}
    shared = replicas > 1 or storage.get("type") == "s3" or metadata is not None
    if shared:
        check(env.get("PIER_REPLICA", {}).get("valueFrom") == {"fieldRef": {"fieldPath": "metadata.name"}},
              f"env PIER_REPLICA from the pod name (downward API): {env.get('PIER_REPLICA')}")
    else:
        check("PIER_REPLICA" not in env, "PIER_REPLICA on a single pod with local storage")

    pdbs = objs.get("PodDisruptionBudget", [])
    if replicas > 1:
        check(len(pdbs) == 1, f"{replicas} replicas: want one PodDisruptionBudget, found {len(pdbs)}")
        pdb = pdbs[0]
        check(pdb["apiVersion"] == "policy/v1", f"PodDisruptionBudget apiVersion: {pdb['apiVersion']}")
        check(pdb["spec"]["selector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"],
              "PodDisruptionBudget selects the StatefulSet's pods")
        check(("maxUnavailable" in pdb["spec"]) != ("minAvailable" in pdb["spec"]),
              f"PodDisruptionBudget: exactly one of maxUnavailable/minAvailable: {pdb['spec']}")
    else:
        check(not pdbs, "no PodDisruptionBudget for a single replica")


def cmd_extract(path, outdir, port):
    objs = load(path)
    cfg = json.loads(main_configmap(objs)["data"]["config.json"])
    secrets_dir = os.path.join(outdir, "secrets")
    os.makedirs(secrets_dir, exist_ok=True)
    for key, value in secret_values(objs).items():
        check(re.fullmatch(r"[-._A-Za-z0-9]+", key) is not None, f"Secret key {key!r} is a valid file name")
        with open(os.path.join(secrets_dir, key), "w") as f:
            f.write(value)
    # The pod's mounts, moved under OUTDIR: /data and /etc/pier/secrets.
    text = json.dumps(cfg).replace('"/etc/pier/secrets/', json.dumps(secrets_dir + "/")[:-1])
    cfg = json.loads(text)
    cfg["data"] = os.path.join(outdir, "data")
    cfg["listen"] = f"127.0.0.1:{port}"
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


CONTRACT = {
    "pier_replication_sent_bytes_total", "pier_replication_blobs_total", "pier_replication_failures_total",
    "pier_replication_rate_bytes_per_second", "pier_replication_pending_bytes", "pier_replication_pending_blobs",
    "pier_replication_eta_seconds", "pier_replication_executions_started_total",
    "pier_replication_executions_finished_total", "pier_replication_executions_in_progress",
    "pier_replication_tasks_finished_total", "pier_replication_tasks_in_progress",
    "pier_replication_task_duration_seconds", "pier_replication_blob_transfer_duration_seconds",
    "pier_replication_resumed_uploads_total", "pier_replication_resume_saved_bytes_total",
    "pier_replication_transfers_in_flight", "pier_replication_destination_up",
    "pier_cache_stored_bytes", "pier_cache_stored_blobs", "pier_cache_dedup_saved_bytes_total",
    "pier_cache_uploads_in_progress", "pier_cache_blob_reads_total", "pier_cache_disk_free_bytes",
    "pier_cache_disk_size_bytes", "pier_http_requests_total", "pier_http_request_duration_seconds",
    "pier_http_request_size_bytes", "pier_http_response_size_bytes", "pier_http_requests_in_flight",
    "pier_build_info",
    "pier_proxy_requests_total", "pier_proxy_upstream_bytes_total", "pier_proxy_served_bytes_total",
    "pier_proxy_upstream_up", "pier_proxy_upstream_latency_seconds", "pier_proxy_fetches_in_flight",
    "pier_gc_runs_total", "pier_gc_reclaimed_bytes_total", "pier_gc_reclaimed_blobs_total", "pier_gc_duration_seconds",
    "pier_gc_last_success_timestamp_seconds", "pier_gc_pinned_bytes", "pier_gc_last_run_error",
    "pier_gc_schedule_interval_seconds",
    "pier_storage_free_bytes", "pier_storage_reserve_bytes", "pier_storage_refusals_total", "pier_storage_used_bytes",
    "pier_storage_capacity_bytes", "pier_storage_high_watermark_bytes", "pier_storage_low_watermark_bytes",
    "pier_storage_evicted_bytes_total", "pier_storage_evicted_images_total", "pier_storage_eviction_blocked",
    "pier_advisor_new_bytes", "pier_advisor_send_seconds", "pier_advisor_fat_jar_bytes", "pier_advisor_layered_jar_bytes",
}
HISTOGRAMS = {"pier_replication_task_duration_seconds", "pier_replication_blob_transfer_duration_seconds",
              "pier_http_request_duration_seconds", "pier_http_request_size_bytes", "pier_http_response_size_bytes",
              "pier_proxy_upstream_latency_seconds"}
# Grafana's variables, replaced by values Prometheus accepts.
GRAFANA_VARS = {"$__rate_interval": "1m", "$__range": "1h", "$instance": ".*", "$destination": ".*", "$upstream": ".*"}


def metric_names(expr):
    return set(re.findall(r"(?<![A-Za-z0-9_:])((?:pier|process)_[A-Za-z0-9_]*)", expr))


def base_name(n):
    for suffix in ("_bucket", "_sum", "_count"):
        if n.endswith(suffix) and n[: -len(suffix)] in HISTOGRAMS:
            return n[: -len(suffix)]
    return n


def check_names(where, expr):
    names = metric_names(expr)
    for n in names:
        if n.startswith("process_"):
            continue
        check(base_name(n) in CONTRACT, f"{where}: metric {n} is not in the metrics contract")
        check(n not in HISTOGRAMS, f"{where}: histogram {n} must be used as _bucket/_sum/_count")
    return {base_name(n) for n in names}


def cmd_metrics(dashboard, rules, out):
    with open(dashboard) as f:
        board = json.load(f)
    vars_ = {v["name"]: v for v in board["templating"]["list"]}
    check(vars_.get("datasource", {}).get("type") == "datasource" and vars_["datasource"].get("query") == "prometheus",
          "dashboard: a datasource variable of type prometheus")
    check("instance" in vars_ and "destination" in vars_, "dashboard: instance and destination variables")
    used = set()
    exprs = []
    for v in board["templating"]["list"]:
        if v["type"] == "query":
            used |= check_names(f"variable {v['name']}", v["definition"])
    for p in board["panels"]:
        if p["type"] == "row":
            continue
        check(p.get("datasource", {}).get("uid") == "${datasource}", f"panel {p['title']!r} uses ${{datasource}}")
        check(p.get("targets"), f"panel {p['title']!r} has queries")
        for t in p["targets"]:
            used |= check_names(f"panel {p['title']!r}", t["expr"])
            check("$instance" in t["expr"], f"panel {p['title']!r}: query ignores $instance: {t['expr']}")
            e = t["expr"]
            for k, v in GRAFANA_VARS.items():
                e = e.replace(k, v)
            exprs.append((p["title"], e))
    with open(rules) as f:
        groups = yaml.safe_load(f)["groups"]
    alerts = []
    for g in groups:
        for r in g["rules"]:
            used |= check_names(f"rule {r.get('alert') or r.get('record')}", r["expr"])
            alerts.append(r.get("alert"))
    for want in ("PierReplicationFailing", "PierReplicationStalled", "PierDestinationUnreachable",
                 "PierDiskNearlyFull", "PierHTTPErrorRatioHigh", "PierProxyUpstreamDown", "PierGcFailing",
                 "PierGcNotRun", "PierStorageAboveHighWatermark", "PierEvictionBlocked"):
        check(want in alerts, f"rules: alert {want} missing")
    # The board covers every family of the contract except process_*.
    missing = CONTRACT - used
    check(not missing, f"metrics never shown or alerted on: {sorted(missing)}")
    rules_out = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:expr_{i}", "expr": e} for i, (_, e) in enumerate(exprs)]}]}
    with open(out, "w") as f:
        yaml.safe_dump(rules_out, f)
    print(f"ok - {len(exprs)} dashboard queries and {len(alerts)} rules use only contract metrics")


def cmd_api(registries_path, policies_path, secrets_dir):
    with open(registries_path) as f:
        raw_regs = f.read()
    with open(policies_path) as f:
        raw_pols = f.read()
    for name in os.listdir(secrets_dir):
        if name.startswith("registry-"):
            with open(os.path.join(secrets_dir, name)) as f:
                secret = f.read().strip()
            check(secret not in raw_regs and secret not in raw_pols, f"API answer leaks the secret of {name}")
    regs = {r["name"]: r for r in json.loads(raw_regs)}
    check(set(regs) == {"harbor", "ali-acr"}, f"seeded registries: {sorted(regs)}")
    check(regs["ali-acr"]["type"] == "ali-acr" and regs["ali-acr"]["url"] == "https://registry.cn-hangzhou.aliyuncs.com",
          "ali-acr registry fields")
    check(regs["harbor"]["type"] == "harbor" and regs["harbor"]["credential"]["access_key"] == "robot$pier",
          "harbor registry fields")
    for r in regs.values():
        check(r["credential"]["access_secret"] == "*****", f"registry {r['name']}: secret masked as *****")
    pols = {p["name"]: p for p in json.loads(raw_pols)}
    check(set(pols) == {"team-to-acr", "harbor-library-nightly", "harbor-library-events", "library-to-acr"},
          f"seeded policies: {sorted(pols)}")
    push = pols["team-to-acr"]
    check(push["dest_registry"]["id"] == regs["ali-acr"]["id"] and push["dest_registry"]["name"] == "ali-acr",
          "team-to-acr goes to ali-acr")
    check(push["src_registry"]["id"] == 0, "team-to-acr starts from this Pier")
    check(push["dest_namespace"] == "lgy-images" and push["trigger"]["type"] == "event_based", "team-to-acr fields")
    check([f["value"] for f in push["filters"]] == ["team/**", "v*"], "team-to-acr filters")
    pull = pols["harbor-library-nightly"]
    check(pull["src_registry"]["id"] == regs["harbor"]["id"] and pull["dest_registry"]["id"] == 0,
          "harbor-library-nightly pulls from harbor")
    check(pull["trigger"]["trigger_settings"]["cron"] == "0 0 2 * * *", "harbor-library-nightly cron")
    events = pols["harbor-library-events"]
    check(events["src_registry"]["id"] == regs["harbor"]["id"] and events["dest_registry"]["id"] == 0
          and events["trigger"]["type"] == "event_based", "harbor-library-events: event-based pull from harbor")
    chain = pols["library-to-acr"]
    check(chain["dest_registry"]["id"] == regs["ali-acr"]["id"] and chain["trigger"]["type"] == "event_based",
          "library-to-acr: event-based push to ali-acr")
    ids = {n: r["id"] for n, r in regs.items()} | {n: p["id"] for n, p in pols.items()}
    print(json.dumps(ids, sort_keys=True))


if __name__ == "__main__":
    cmds = {"objects": cmd_objects, "extract": cmd_extract, "metrics": cmd_metrics, "api": cmd_api}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        fail(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])
