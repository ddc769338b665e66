#!/usr/bin/env python3
"""zstd vs gzip over a slow link: Pier with and without transcoding against
`skopeo copy --dest-compress-format zstd`, each to a fresh docker-registry
behind bench/slowlink (see bench/transcode_bench.sh for the usage)."""
import argparse, gzip, hashlib, io, json, os, resource, shutil, subprocess, sys, tarfile, tempfile, time, zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replbench import Env, Procs, die, final_stats, free_port, http, log, wait_http  # noqa: E402

LINK = 1_000_000  # bytes/s
LATENCY_MS = 40


# ---- realistic layers ----------------------------------------------------------

def finish(t, tb):
    t.close()
    return tb.getvalue()


def jre_files():
    """What a jlink'd JRE layer holds: the runtime's native libraries and its jimage (`modules`),
    the bulk of it; not the JDK's ct.sym, jmods or headers."""
    lib = "/usr/lib/jvm/java-17-openjdk-amd64/lib"
    sos = sorted(os.path.join(lib, n) for n in os.listdir(lib) if n.endswith(".so"))
    return sos + [os.path.join(lib, "modules"), os.path.join(lib, "server", "libjvm.so")]


def tar_of(paths, cap):
    """A tar of `paths` (files, or the regular files under folders, sorted), stopping at `cap`
    bytes of content."""
    tb = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=tb, mode="w") as t:
        for root in paths:
            walk = [(os.path.dirname(root), [], [os.path.basename(root)])] if os.path.isfile(root) else os.walk(root)
            for dirpath, dirs, files in walk:
                dirs.sort()
                for name in sorted(files):
                    p = os.path.join(dirpath, name)
                    if os.path.islink(p) or not os.path.isfile(p):
                        continue
                    size = os.path.getsize(p)
                    if total >= cap:
                        return finish(t, tb)
                    info = t.gettarinfo(p, arcname=p.lstrip("/"))
                    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                    # A file larger than what is left goes in cut to fit (its
                    # first bytes are as representative as the rest).
                    info.size = min(size, cap - total)
                    with open(p, "rb") as f:
                        t.addfile(info, f)
                    total += info.size
    return tb.getvalue()


def fat_jar_tar(cap):
    """A Spring-Boot-shaped fat JAR (BOOT-INF/lib/*.jar stored, classes deflated) of Debian's jars, in a tar."""
    zb = io.BytesIO()
    total = 0
    with zipfile.ZipFile(zb, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: org.springframework.boot.loader.JarLauncher\n"
                   "Start-Class: com.example.App\nSpring-Boot-Lib: BOOT-INF/lib/\n")
        for name in sorted(os.listdir("/usr/share/java")):
            p = os.path.join("/usr/share/java", name)
            if not name.endswith(".jar") or os.path.islink(p):
                continue
            size = os.path.getsize(p)
            if total + size > cap:
                continue
            z.write(p, "BOOT-INF/lib/" + name, compress_type=zipfile.ZIP_STORED)
            total += size
        z.writestr(zipfile.ZipInfo("BOOT-INF/classes/com/example/App.class"), b"\xca\xfe\xba\xbe" + bytes(4000),
                   compress_type=zipfile.ZIP_DEFLATED)
    tb = io.BytesIO()
    with tarfile.open(fileobj=tb, mode="w") as t:
        data = zb.getvalue()
        info = tarfile.TarInfo("app/app.jar")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return tb.getvalue()


def blob(root, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}


def make_image(root, layers):
    """An OCI layout with one image of `layers` [(name, tar bytes)], gzip -6 as builders do."""
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    descs, diffs, info = [], [], []
    for name, tar in layers:
        gz = gzip.compress(tar, compresslevel=6, mtime=0)
        d = blob(root, gz)
        d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
        descs.append(d)
        diffs.append("sha256:" + hashlib.sha256(tar).hexdigest())
        info.append((name, len(tar), len(gz)))
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
    c = blob(root, config)
    c["mediaType"] = "application/vnd.oci.image.config.v1+json"
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": c, "layers": descs}).encode()
    md = blob(root, m)
    md["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    md["annotations"] = {"org.opencontainers.image.ref.name": "v1"}
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [md]}, f)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    return info


# ---- runs -------------------------------------------------------------------------

def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dest_layers(port, repo, tag):
    st, _, body = http("GET", "http://127.0.0.1:%d/v2/%s/manifests/%s" % (port, repo, tag),
                       headers={"Accept": "application/vnd.oci.image.manifest.v1+json,"
                                          "application/vnd.docker.distribution.manifest.v2+json"})
    if st != 200:
        die("destination manifest %s:%s: %d" % (repo, tag, st))
    m = json.loads(body)
    return [(l["mediaType"], l["size"]) for l in m["layers"]]


def run_pier(env, name, compression):
    reg, port = env.start_registry(name + "-dest")
    link, addr, stats = env.start_slowlink(name + "-link", port, ["--rate", str(LINK), "--latency-ms", str(LATENCY_MS)])
    api = env.pier_base + "/api/v2.0"
    st, _, body = http("POST", api + "/registries", {"name": name, "type": "docker-registry", "url": "http://" + addr})
    if st != 201:
        die("POST /registries: %d %s" % (st, body[:200]))
    reg_id = json.loads(http("GET", api + "/registries?name=" + name)[2])[0]["id"]
    pol = {"name": name, "dest_registry": {"id": reg_id}, "dest_namespace": "", "trigger": {"type": "manual"},
           "filters": [{"type": "name", "value": "bench/app"}]}
    if compression is not None:
        pol["compression"] = compression
    st, _, body = http("POST", api + "/replication/policies", pol)
    if st != 201:
        die("POST /replication/policies: %d %s" % (st, body[:200]))
    pol_id = json.loads(http("GET", api + "/replication/policies?name=" + name)[2])[0]["id"]
    cpu0 = cpu_seconds(env.pier.pid)
    t0 = time.monotonic()
    st, h, body = http("POST", api + "/replication/executions", {"policy_id": pol_id})
    if st != 201:
        die("POST /replication/executions: %d %s" % (st, body[:200]))
    exec_id = h["Location"].rstrip("/").rsplit("/", 1)[-1]
    status = "InProgress"
    while time.monotonic() < t0 + env.args.timeout:
        status = json.loads(http("GET", api + "/replication/executions/" + exec_id)[2])["status"]
        if status != "InProgress":
            break
        time.sleep(0.02)
    wall = time.monotonic() - t0
    cpu = cpu_seconds(env.pier.pid) - cpu0
    s = final_stats(env, link, stats)
    layers = dest_layers(port, "bench/app", "v1") if status == "Succeed" else []
    env.procs.stop(reg)
    return {"tool": name, "ok": status == "Succeed", "status": status, "wall": wall, "cpu": cpu,
            "bytes_up": s["bytes_up"], "layers": layers}


def run_skopeo(env, name, level):
    reg, port = env.start_registry(name + "-dest")
    link, addr, stats = env.start_slowlink(name + "-link", port, ["--rate", str(LINK), "--latency-ms", str(LATENCY_MS)])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    args = ["copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--dest-compress-format", "zstd"]
    if level:
        args += ["--dest-compress-level", str(level)]
    rc = env.skopeo(*(args + ["docker://127.0.0.1:%d/bench/app:v1" % env.pier_port, "docker://%s/bench/app:v1" % addr]),
                    check=False, log_name=name + ".log")
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    s = final_stats(env, link, stats)
    layers = dest_layers(port, "bench/app", "v1") if rc == 0 else []
    env.procs.stop(reg)
    return {"tool": name, "ok": rc == 0, "status": "exit %d" % rc, "wall": wall, "cpu": cpu,
            "bytes_up": s["bytes_up"], "layers": layers}


def fresh_pier(env, layout, tag):
    """A Pier of its own (no transcodes yet), holding the image."""
    if getattr(env, "pier", None) is not None:
        env.procs.stop(env.pier)
        shutil.rmtree(os.path.join(env.work, "pier-data"), ignore_errors=True)
    env.start_pier()
    env.skopeo("copy", "--dest-tls-verify=false", "oci:%s:v1" % layout, "docker://127.0.0.1:%d/bench/app:v1" % env.pier_port)


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
    work = tempfile.mkdtemp(prefix="pier-transcode-bench.")
    procs = Procs(work)
    env = Env(args, work, procs)
    try:
        mb = int(1e6 * args.scale)
        log("building layers from this machine's files")
        layers = [("OS-like (/usr/bin, /usr/lib/x86_64-linux-gnu)", tar_of(["/usr/bin", "/usr/lib/x86_64-linux-gnu"], 40 * mb)),
                  ("JRE-like (java-17 lib/*.so, then lib/modules)", tar_of(jre_files(), 40 * mb)),
                  ("fat JAR (Debian's jars in BOOT-INF/lib)", fat_jar_tar(20 * mb))]
        layout = os.path.join(work, "img")
        info = make_image(layout, layers)
        runs = []
        for name, kind, arg in [("pier-gzip", "pier", None),
                                ("pier-zstd-adaptive", "pier", {"format": "zstd"}),
                                ("pier-zstd-12", "pier", {"format": "zstd", "level": 12}),
                                ("skopeo-zstd", "skopeo", None),
                                ("skopeo-zstd-12", "skopeo", 12)]:
            fresh_pier(env, layout, "v1")
            log("run %s" % name)
            r = run_pier(env, name, arg) if kind == "pier" else run_skopeo(env, name, arg)
            log("  %s: %s, %.1f s, %d bytes on the wire, cpu %.1f s" % (name, r["status"], r["wall"], r["bytes_up"], r["cpu"]))
            runs.append(r)
        md = report(args, info, runs)
        print(md)
        if args.write_results:
            with open(args.write_results, "w") as f:
                f.write(md)
    finally:
        procs.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def report(args, info, runs):
    gz = [g for _, _, g in info]
    out = ["Command: `%s`" % args.command, "",
           "Link: %d B/s, %d ms each way (bench/slowlink); layers gzip -6 as image builders write them." % (LINK, LATENCY_MS),
           "", "| layer | tar bytes | gzip bytes | " + " | ".join(r["tool"] + " bytes" for r in runs if r["layers"]) + " |",
           "|---|---|---|" + "---|" * len([r for r in runs if r["layers"]])]
    for i, (name, tar, g) in enumerate(info):
        cells = []
        for r in runs:
            if not r["layers"]:
                continue
            mt, size = r["layers"][i]
            cells.append("%d (%.3f x%s)" % (size, size / g, ", zstd" if mt.endswith("zstd") else ""))
        out.append("| %s | %d | %d | %s |" % (name, tar, g, " | ".join(cells)))
    out += ["", "| run | result | wall s | bytes on the wire | wire ÷ gzip run | wall ÷ (wire ÷ link) | CPU s |",
            "|---|---|---|---|---|---|---|"]
    base = next((r for r in runs if r["tool"] == "pier-gzip"), None)
    for r in runs:
        ideal = r["bytes_up"] / LINK
        out.append("| %s | %s | %.1f | %d | %s | %.3f | %.1f |" % (
            r["tool"], r["status"], r["wall"], r["bytes_up"],
            "%.3f x" % (r["bytes_up"] / base["bytes_up"]) if base else "-", r["wall"] / ideal if ideal else 0, r["cpu"]))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
