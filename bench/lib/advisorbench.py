#!/usr/bin/env python3
"""The layer advisor's prediction against the replication it predicts
(bench/advisor_bench.sh has the usage): build 1 of a Java service
(tests/integration/lib/make_app_image.py: /usr/share/doc base, apt lists,
a Spring-Boot-shaped fat JAR of Debian's jars) is replicated to a fresh
docker-registry behind bench/slowlink, which gives Pier the destination's
rate; build 2 is pushed, `pier report --json` predicts its time, and the
policy's next run is timed. The peer: `skopeo copy` of build 2 to a
registry that holds build 1 (skopeo also sends only the missing blobs), the
same bytes over the same link, timed the same way."""
import argparse, json, os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replbench import Env, Procs, die, final_stats, http, log  # noqa: E402

LINK = 1_000_000  # bytes/s
LATENCY_MS = 40
HERE = os.path.dirname(os.path.abspath(__file__))
MAKE = os.path.join(HERE, "..", "..", "tests", "integration", "lib", "make_app_image.py")


def make(work, build, scale):
    out = os.path.join(work, "b%d" % build)
    r = subprocess.run([sys.executable, MAKE, out, "--build", str(build),
                        "--doc-bytes", str(int(20e6 * scale)), "--lists-bytes", str(int(8e6 * scale)),
                        "--jar-bytes", str(int(10e6 * scale))], check=True, capture_output=True, text=True)
    return out, json.loads(r.stdout)


def push(env, layout, build, repo="bench/app"):
    env.skopeo("copy", "--dest-tls-verify=false", "oci:%s:%d" % (layout, build),
               "docker://127.0.0.1:%d/%s:%d" % (env.pier_port, repo, build))


def run_policy(env, pol_id):
    api = env.pier_base + "/api/v2.0"
    t0 = time.monotonic()
    st, h, body = http("POST", api + "/replication/executions", {"policy_id": pol_id})
    if st != 201:
        die("POST /replication/executions: %d %s" % (st, body[:200]))
    exec_id = h["Location"].rstrip("/").rsplit("/", 1)[-1]
    while time.monotonic() < t0 + env.args.timeout:
        status = json.loads(http("GET", api + "/replication/executions/" + exec_id)[2])["status"]
        if status != "InProgress":
            break
        time.sleep(0.02)
    if status != "Succeed":
        die("execution %s: %s" % (exec_id, status))
    return time.monotonic() - t0


def scenario(env, name, compression, layouts):
    """Fresh Pier and destination; returns the prediction and the measurement for build 2."""
    if getattr(env, "pier", None) is not None:
        env.procs.stop(env.pier)
        shutil.rmtree(os.path.join(env.work, "pier-data"), ignore_errors=True)
    env.start_pier()
    reg, port = env.start_registry(name + "-dest")
    link, addr, stats = env.start_slowlink(name + "-link", port, ["--rate", str(LINK), "--latency-ms", str(LATENCY_MS)])
    api = env.pier_base + "/api/v2.0"
    http("POST", api + "/registries", {"name": name, "type": "docker-registry", "url": "http://" + addr})
    reg_id = json.loads(http("GET", api + "/registries?name=" + name)[2])[0]["id"]
    pol = {"name": name, "dest_registry": {"id": reg_id}, "dest_namespace": "", "trigger": {"type": "manual"},
           "filters": [{"type": "name", "value": "bench/app"}]}
    if compression:
        pol["compression"] = compression
    st, _, body = http("POST", api + "/replication/policies", pol)
    if st != 201:
        die("POST /replication/policies: %d %s" % (st, body[:200]))
    pol_id = json.loads(http("GET", api + "/replication/policies?name=" + name)[2])[0]["id"]
    push(env, layouts[0], 1)
    first = run_policy(env, pol_id)
    log("  %s: build 1 replicated in %.1f s" % (name, first))
    push(env, layouts[1], 2)
    rep = subprocess.run([env.args.pier, "report", "--server", env.pier_base, "bench/app:2", "--json"],
                         check=True, capture_output=True, text=True)
    report = json.loads(rep.stdout)
    d = report["destinations"][0]
    measured = run_policy(env, pol_id)
    log("  %s: predicted %.1f s (%d bytes at %.0f B/s, %s), measured %.1f s" % (
        name, d["seconds"] or -1, d["bytes_to_send"], d["rate_bytes_per_second"] or 0, d["rate_source"], measured))
    s = final_stats(env, link, stats)
    env.procs.stop(reg)
    return {"name": name, "first": first, "predicted": d["seconds"], "bytes": d["bytes_to_send"],
            "rate": d["rate_bytes_per_second"], "measured": measured, "wire": s["bytes_up"], "report": report}


def skopeo_peer(env, layouts):
    """skopeo copy of build 2 to a registry holding build 1, over the same link."""
    reg, port = env.start_registry("skopeo-dest")
    for b in (1, 2):
        if b == 2:
            link, addr, stats = env.start_slowlink("skopeo-link", port, ["--rate", str(LINK), "--latency-ms", str(LATENCY_MS)])
            t0 = time.monotonic()
            env.skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                       "docker://127.0.0.1:%d/bench/app:2" % env.pier_port, "docker://%s/bench/app:2" % addr)
            took = time.monotonic() - t0
            s = final_stats(env, link, stats)
        else:  # build 1 straight onto the registry, not over the link
            env.skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                       "docker://127.0.0.1:%d/bench/app:1" % env.pier_port, "docker://127.0.0.1:%d/bench/app:1" % port)
    env.procs.stop(reg)
    return {"measured": took, "wire": s["bytes_up"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pier")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--write-results", default=None, metavar="FILE")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--command", default="")
    args = ap.parse_args()
    args.slowlink = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(args.pier)))),
                                 "bench", "slowlink", "slowlink")
    work = tempfile.mkdtemp(prefix="pier-advisor-bench.")
    procs = Procs(work)
    env = Env(args, work, procs)
    try:
        log("building two builds from this machine's files")
        layouts, infos = zip(*[make(work, b, args.scale) for b in (1, 2)])
        runs = []
        for name, comp in [("plain", None), ("zstd", {"format": "zstd"})]:
            log("scenario %s" % name)
            runs.append(scenario(env, name, comp, layouts))
        log("peer: skopeo copy of build 2")
        peer = skopeo_peer(env, layouts)
        log("  skopeo: %.1f s, %d bytes on the wire" % (peer["measured"], peer["wire"]))
        md = results(args, infos, runs, peer)
        print(md)
        if args.write_results:
            with open(args.write_results, "w") as f:
                f.write(md)
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def results(args, infos, runs, peer):
    b2 = infos[1]
    out = ["Command: `%s`" % args.command, "",
           "Link: %d B/s, %d ms each way (bench/slowlink). Build 2 of %s: layers %s bytes (gzip); "
           "new against build 1: the apt layer and the fat-JAR layer." % (
               LINK, LATENCY_MS, "bench/app", ", ".join(str(l["size"]) for l in b2["layers"])), "",
           "| policy | rate from build 1's run | bytes to send (report) | predicted s | measured s | predicted ÷ measured | wire bytes |",
           "|---|---|---|---|---|---|---|"]
    for r in runs:
        out.append("| %s | %.0f B/s | %d | %.1f | %.1f | %.3f | %d |" % (
            r["name"], r["rate"] or 0, r["bytes"], r["predicted"] or 0, r["measured"],
            (r["predicted"] or 0) / r["measured"], r["wire"]))
    plain = runs[0]
    out += ["", "Peer, same link and bytes: `skopeo copy` of build 2 to a registry holding build 1: %.1f s, %d wire bytes; "
            "Pier's prediction ÷ skopeo's time: %.3f." % (peer["measured"], peer["wire"], (plain["predicted"] or 0) / peer["measured"])]
    fj = plain["report"].get("fat_jars", [])
    if fj:
        out += ["", "The report's fat-JAR finding for build 2: %d bytes per build as a fat JAR, %d as a layered jar." % (
            fj[0]["bytes_per_build"], fj[0]["layered_bytes_per_build"])]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
