#!/usr/bin/env python3
"""Replication benchmark: Pier's engine vs skopeo over bench/slowlink.

Driven by bench/replication_bench.sh (see its header for the scenarios and
flags). python3 stdlib only. Every process it starts (Pier, docker-registry,
slowlink, skopeo) is remembered by PID and killed by PID at exit.

Method, the same for both tools:
  - the images live in one Pier (the source), pushed there over loopback
    before anything is timed;
  - per scenario and per tool: a fresh docker-registry (the destination) and
    a fresh slowlink in front of it, so both tools start with the same
    missing bytes; the tool talks to the destination only through slowlink;
  - bytes on the wire = slowlink's bytes_up (client -> destination);
  - "image complete" = the destination answers HEAD on the image's manifest
    (polled every 50 ms directly on the destination, not through the link);
  - wall time = from the start until the last image is complete and the tool
    has finished (Pier: the execution left InProgress, polled every 20 ms;
    skopeo: its last copy exited).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

MB = 1_000_000
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MAKE_LAYOUT = os.path.join(ROOT, "tests", "integration", "lib", "make_oci_layout.py")
ACCEPT = ",".join(["application/vnd.oci.image.manifest.v1+json",
                   "application/vnd.oci.image.index.v1+json",
                   "application/vnd.docker.distribution.manifest.v2+json",
                   "application/vnd.docker.distribution.manifest.list.v2+json"])


def log(msg):
    print(msg, flush=True)


def die(msg):
    print("replication_bench: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


class Procs:
    """Background processes, killed by PID at exit."""

    def __init__(self, work):
        self.work = work
        self.procs = []

    def spawn(self, name, cmd, **kw):
        out = open(os.path.join(self.work, name + ".log"), "wb")
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method, url, body=None, headers=None, timeout=10):
    """Returns (status, headers, body bytes); HTTP errors are answers, not exceptions."""
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json"} if data is not None else {}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def wait_http(url, deadline_s=30):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            http("GET", url, timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    die("timed out waiting for " + url)


# ---- images -----------------------------------------------------------------

def layout_blobs(root):
    """{digest: size} of every blob of the layout's image (config, layers, manifest)."""
    idx = json.load(open(os.path.join(root, "index.json")))
    md = idx["manifests"][0]
    m = json.load(open(os.path.join(root, "blobs", "sha256", md["digest"].split(":")[1])))
    blobs = {m["config"]["digest"]: m["config"]["size"]}
    for layer in m["layers"]:
        blobs[layer["digest"]] = layer["size"]
    return blobs, md["digest"], md["size"]


class Image:
    def __init__(self, repo, tag, layout):
        self.repo, self.tag, self.layout = repo, tag, layout
        self.blobs, self.manifest_digest, self.manifest_size = layout_blobs(layout)

    @property
    def own_bytes(self):  # everything the image needs at an empty destination
        return sum(self.blobs.values()) + self.manifest_size


def missing_bytes(images):
    """Distinct blobs plus every manifest: what an empty destination lacks."""
    blobs = {}
    for im in images:
        blobs.update(im.blobs)
    return sum(blobs.values()) + sum(im.manifest_size for im in images)


def make_layout(path, layers, size, app_size, seed, base_seed=None):
    cmd = [sys.executable, MAKE_LAYOUT, path, "image", "--layers", str(layers),
           "--size", str(size), "--seed", str(seed)]
    if base_seed is not None:
        cmd += ["--base-seed", str(base_seed)]
    if app_size is not None:
        cmd += ["--app-size", str(app_size)]
    subprocess.run(cmd, check=True)


class Env:
    def __init__(self, args, work, procs):
        self.args, self.work, self.procs = args, work, procs
        self.policy = os.path.join(work, "policy.json")
        with open(self.policy, "w") as f:
            json.dump({"default": [{"type": "insecureAcceptAnything"}]}, f)
        self.skopeo_env = dict(os.environ, REGISTRY_AUTH_FILE=os.path.join(work, "auth.json"))

    def skopeo(self, *args, check=True, log_name=None):
        cmd = ["skopeo", "--policy", self.policy] + list(args)
        out = open(os.path.join(self.work, log_name), "ab") if log_name else subprocess.DEVNULL
        p = subprocess.run(cmd, env=self.skopeo_env, stdout=out, stderr=subprocess.STDOUT if log_name else subprocess.PIPE)
        if check and p.returncode != 0:
            die("skopeo %s failed (exit %d)" % (" ".join(args), p.returncode))
        return p.returncode

    def start_pier(self):
        self.pier_port = free_port()
        cfg = os.path.join(self.work, "pier.json")
        with open(cfg, "w") as f:
            json.dump({"log": {"access": False}}, f)
        self.pier = self.procs.spawn("pier", [self.args.pier, "serve", "--listen", "127.0.0.1:%d" % self.pier_port,
                                              "--data", os.path.join(self.work, "pier-data"), "--config", cfg])
        self.pier_base = "http://127.0.0.1:%d" % self.pier_port
        wait_http(self.pier_base + "/healthz")

    def push_to_pier(self, im):
        self.skopeo("copy", "--dest-tls-verify=false", "oci:%s:v1" % im.layout,
                    "docker://127.0.0.1:%d/%s:%s" % (self.pier_port, im.repo, im.tag))

    def start_registry(self, name):
        port = free_port()
        data = os.path.join(self.work, name + "-data")
        yml = os.path.join(self.work, name + ".yml")
        with open(yml, "w") as f:
            f.write("version: 0.1\nlog: {level: info}\nstorage:\n"
                    "  filesystem: {rootdirectory: %s}\n  delete: {enabled: true}\n"
                    "http: {addr: 127.0.0.1:%d, secret: pier-bench-secret}\n" % (data, port))
        # REGISTRY_* in the environment would be read as config overrides.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        p = self.procs.spawn(name, ["docker-registry", "serve", yml], env=env)
        wait_http("http://127.0.0.1:%d/v2/" % port)
        return p, port

    def start_slowlink(self, name, target_port, flags):
        stats = os.path.join(self.work, name + ".json")
        out = os.path.join(self.work, name + ".out")
        cmd = [self.args.slowlink, "--listen", "127.0.0.1:0", "--target", "127.0.0.1:%d" % target_port,
               "--stats-file", stats] + flags
        p = subprocess.Popen(cmd, stdout=open(out, "wb"), stderr=open(os.path.join(self.work, name + ".log"), "wb"))
        self.procs.procs.append(p)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            with open(out) as f:
                line = f.readline()
            if line.startswith("listening "):
                return p, line.split()[1].strip(), stats
            time.sleep(0.05)
        die("slowlink %s did not start" % name)


# ---- measuring ----------------------------------------------------------------

class ManifestWatch:
    """Polls the destination for each image's manifest; records when it appears."""

    def __init__(self, dest_port, images, t0):
        self.dest_port, self.images, self.t0 = dest_port, images, t0
        self.done = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            for im in self.images:
                key = (im.repo, im.tag)
                if key in self.done:
                    continue
                url = "http://127.0.0.1:%d/v2/%s/manifests/%s" % (self.dest_port, im.repo, im.tag)
                try:
                    st, h, _ = http("HEAD", url, headers={"Accept": ACCEPT}, timeout=5)
                except OSError:
                    continue
                if st == 200 and h.get("Docker-Content-Digest") == im.manifest_digest:
                    self.done[key] = time.monotonic() - self.t0
            if len(self.done) == len(self.images):
                return
            self.stop.wait(0.05)

    def finish(self, grace_s=5):
        """Stops polling once everything was seen (or after grace_s)."""
        end = time.monotonic() + grace_s
        while len(self.done) < len(self.images) and time.monotonic() < end:
            time.sleep(0.05)
        self.stop.set()
        self.thread.join()
        return self.done


def final_stats(env, link, stats):
    env.procs.stop(link)  # SIGTERM: slowlink writes its final counters
    return json.load(open(stats))


class Result:
    def __init__(self, tool, **kw):
        self.tool = tool
        self.__dict__.update(kw)


def first_complete(images, done):
    """(seconds, image) of the first image seen complete, or (None, None)."""
    best = None
    for im in images:
        t = done.get((im.repo, im.tag))
        if t is not None and (best is None or t < best[0]):
            best = (t, im)
    return best or (None, None)


def run_pier(env, name, images, link_flags, engine_cfg=None):
    """One execution of a manual policy for all images; returns a Result."""
    reg_proc, dest_port = env.start_registry(name + "-dest")
    link, addr, stats = env.start_slowlink(name + "-link", dest_port, link_flags)
    api = env.pier_base + "/api/v2.0"
    st, _, body = http("POST", api + "/registries",
                       {"name": name, "type": "docker-registry", "url": "http://" + addr})
    if st != 201:
        die("POST /registries: %d %s" % (st, body[:200]))
    st, _, body = http("GET", api + "/registries?name=" + name)
    reg_id = json.loads(body)[0]["id"]
    repos = sorted({im.repo for im in images})
    flt = repos[0] if len(repos) == 1 else "{" + ",".join(repos) + "}"
    st, _, body = http("POST", api + "/replication/policies",
                       {"name": name, "dest_registry": {"id": reg_id}, "dest_namespace": "",
                        "trigger": {"type": "manual"}, "filters": [{"type": "name", "value": flt}],
                        "speed": -1})
    if st != 201:
        die("POST /replication/policies: %d %s" % (st, body[:200]))
    st, _, body = http("GET", api + "/replication/policies?name=" + name)
    pol_id = json.loads(body)[0]["id"]
    t0 = time.monotonic()
    watch = ManifestWatch(dest_port, images, t0)
    st, h, body = http("POST", api + "/replication/executions", {"policy_id": pol_id})
    if st != 201:
        die("POST /replication/executions: %d %s" % (st, body[:200]))
    exec_id = h["Location"].rstrip("/").rsplit("/", 1)[-1]
    deadline = t0 + env.args.timeout
    status, live = "InProgress", {}
    while time.monotonic() < deadline:
        st, _, body = http("GET", api + "/replication/executions/" + exec_id)
        j = json.loads(body)
        status = j["status"]
        live = j.get("pier", live) or live
        if status != "InProgress":
            break
        time.sleep(0.02)  # the wall time's resolution (was 0.1 s: up to 3% of a 3 s scenario)
    wall = time.monotonic() - t0
    done = watch.finish()
    if status == "InProgress":
        http("PUT", api + "/replication/executions/" + exec_id, {})
    s = final_stats(env, link, stats)
    env.procs.stop(reg_proc)
    return Result("pier", ok=(status == "Succeed" and len(done) == len(images)), status=status, wall=wall,
                  done=done, bytes_up=s["bytes_up"], cuts=s["connections_cut"], conns=s["connections_accepted"],
                  bytes_sent=live.get("bytes_sent"), exits=None)


def run_skopeo(env, name, images, link_flags, mode="copy"):
    """`skopeo copy` of each image in turn (or one `skopeo sync`), source = Pier."""
    reg_proc, dest_port = env.start_registry(name + "-dest")
    link, addr, stats = env.start_slowlink(name + "-link", dest_port, link_flags)
    t0 = time.monotonic()
    watch = ManifestWatch(dest_port, images, t0)
    exits = []
    if mode == "copy":
        for im in images:
            exits.append(env.skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                                    "docker://127.0.0.1:%d/%s:%s" % (env.pier_port, im.repo, im.tag),
                                    "docker://%s/%s:%s" % (addr, im.repo, im.tag),
                                    check=False, log_name=name + "-skopeo.log"))
    else:
        repo = images[0].repo
        exits.append(env.skopeo("sync", "--src", "docker", "--dest", "docker", "--src-tls-verify=false",
                                "--dest-tls-verify=false", "127.0.0.1:%d/%s" % (env.pier_port, repo),
                                "%s/%s" % (addr, os.path.dirname(repo)), check=False,
                                log_name=name + "-skopeo.log"))
    wall = time.monotonic() - t0
    done = watch.finish(grace_s=2)
    s = final_stats(env, link, stats)
    env.procs.stop(reg_proc)
    return Result("skopeo " + mode, ok=(all(e == 0 for e in exits) and len(done) == len(images)),
                  status=("exit 0" if not any(exits) else "exit " + ",".join(str(e) for e in exits)),
                  wall=wall, done=done,
                  bytes_up=s["bytes_up"], cuts=s["connections_cut"], conns=s["connections_accepted"],
                  bytes_sent=None, exits=exits)


# ---- reporting -------------------------------------------------------------------

class Report:
    def __init__(self):
        self.rows = []   # (scenario, metric, pier, skopeo, bar, verdict)
        self.notes = []

    def row(self, *cols):
        self.rows.append(cols)
        log("  %-34s | %-22s | %-22s | %-30s | %s" % cols[1:])

    def note(self, text):
        self.notes.append(text)
        log("  note: " + text)


def fmt_s(x):
    return "-" if x is None else "%.1f s" % x


def fmt_mb(x):
    return "-" if x is None else "%.2f MB" % (x / MB)


def verdict(ok):
    return "PASS" if ok else "MISS"


def describe(r, images):
    t, im = first_complete(images, r.done)
    first = "%s after %s" % (im.tag, fmt_s(t)) if im else "none"
    return ("%s: %s, wall %s, %d/%d images complete, first: %s, bytes_up %d, connections %d, cut %d"
            % (r.tool, r.status, fmt_s(r.wall), len(r.done), len(images), first, r.bytes_up, r.conns, r.cuts))


def seed_scenario(env, rep, images, rate, latency, with_sync):
    missing = missing_bytes(images)
    limit = missing / rate
    flags = ["--rate", str(rate), "--latency-ms", str(latency)]
    log("\n== seed: %d images, %s missing, physical limit %s" % (len(images), fmt_mb(missing), fmt_s(limit)))
    p = run_pier(env, "seed-pier", images, flags)
    log("  " + describe(p, images))
    s = run_skopeo(env, "seed-skopeo", images, flags)
    log("  " + describe(s, images))
    sy = None
    if with_sync:
        sy = run_skopeo(env, "seed-sync", images, flags, mode="sync")
        log("  " + describe(sy, images))
    sc = "seed"
    rep.row(sc, "missing bytes / physical limit", fmt_mb(missing), fmt_s(limit), "", "")
    sk_wall = "%s (%s)" % (fmt_s(s.wall), s.status) + ("; sync %s" % fmt_s(sy.wall) if sy else "")
    rep.row(sc, "wall time", fmt_s(p.wall), sk_wall,
            "<= 1.05 x limit (%.3fx), <= skopeo" % (p.wall / limit),
            verdict(p.ok and p.wall <= 1.05 * limit and p.wall <= s.wall))
    rep.row(sc, "bytes on the wire", fmt_mb(p.bytes_up), fmt_mb(s.bytes_up) + ("; sync " + fmt_mb(sy.bytes_up) if sy else ""),
            "<= 1.02 x missing (%.4fx)" % (p.bytes_up / missing), verdict(p.bytes_up <= 1.02 * missing))
    pt, pim = first_complete(images, p.done)
    st, sim = first_complete(images, s.done)
    if pim:
        own = pim.own_bytes / rate
        rep.row(sc, "first image complete", "%s (%s, own limit %s)" % (fmt_s(pt), pim.tag, fmt_s(own)),
                "%s (%s)" % (fmt_s(st), sim.tag if sim else "-"),
                "<= 1.1 x own missing/bw (%.3fx)" % (pt / own), verdict(pt <= 1.1 * own))
    else:
        rep.row(sc, "first image complete", "none", fmt_s(st), "<= 1.1 x own missing/bw", "MISS")
    return p, s, sy


def last_error(env, name):
    """The last error line skopeo wrote for scenario NAME (its FATA message)."""
    path = os.path.join(env.work, name + "-skopeo.log")
    lines = [l.strip() for l in open(path, errors="replace")] if os.path.exists(path) else []
    errs = [l for l in lines if "level=fatal" in l or l.startswith("FATA")]
    line = (errs or lines or ["(no output)"])[-1]
    line = re.sub(r"_state=[^&\"\\ ]*", "_state=...", line)  # opaque upload state: long, says nothing
    return line[-400:]


def cuts_scenario(env, rep, images, rate, latency, cut_after, chunk, baseline):
    """baseline: Pier's bytes on the wire for the same images without cuts
    (requests and manifests included), so resent = the difference."""
    missing = missing_bytes(images)
    if baseline is None:
        baseline = missing
    flags = ["--rate", str(rate), "--latency-ms", str(latency), "--cut-after", str(cut_after)]
    log("\n== cuts: same images, every connection cut after %d bytes" % cut_after)
    p = run_pier(env, "cuts-pier", images, flags)
    log("  " + describe(p, images))
    s = run_skopeo(env, "cuts-skopeo", images, flags)
    log("  " + describe(s, images))
    resent = max(0, p.bytes_up - baseline)
    per_cut = resent / p.cuts if p.cuts else 0
    sc = "cuts every %.0f MB" % (cut_after / MB)
    rep.row(sc, "outcome", "%s, %d/%d images" % (p.status, len(p.done), len(images)),
            "%s, %d/%d images" % (s.status, len(s.done), len(images)), "Pier finishes", verdict(p.ok))
    rep.row(sc, "wall time (limit %s)" % fmt_s(missing / rate), fmt_s(p.wall), fmt_s(s.wall), "", "")
    rep.row(sc, "bytes on the wire / cuts", "%s / %d cuts" % (fmt_mb(p.bytes_up), p.cuts),
            "%s / %d cuts" % (fmt_mb(s.bytes_up), s.cuts), "", "")
    rep.row(sc, "resent per cut (vs. no cuts)", "%s (%s resent)" % (fmt_mb(per_cut), fmt_mb(resent)), "-",
            "<= one chunk (%s)" % fmt_mb(chunk), verdict(p.ok and resent <= max(p.cuts, 0) * chunk))
    failed = [im.tag for im, e in zip(images, s.exits) if e != 0]
    rep.note("under cuts: Pier %s with %d cut(s) and %d connections; skopeo exited non-zero for %d of %d copies "
             "(%s), %d image(s) complete, %s on the wire" % (
                 "finished" if p.ok else "did NOT finish (%s)" % p.status, p.cuts, p.conns, len(failed),
                 len(images), ",".join(failed) or "none", len(s.done), fmt_mb(s.bytes_up)))
    if failed:
        rep.note("skopeo's last error under cuts: `%s`" % last_error(env, "cuts-skopeo").replace("|", "/"))
    return p, s


def cut1_scenario(env, rep, image, rate, latency, cut_after):
    """Issue 10 6: one layer, every connection cut after cut_after bytes. Once
    the first cut taught the engine the link's limit, no later request may
    cross it: one cut in all, bytes on the wire <= 1.4 x the layer."""
    flags = ["--rate", str(rate), "--latency-ms", str(latency), "--cut-after", str(cut_after)]
    layer = max(image.blobs.values())
    log("\n== cut1: one %s layer, every connection cut after %d bytes" % (fmt_mb(layer), cut_after))
    p = run_pier(env, "cut1-pier", [image], flags)
    log("  " + describe(p, [image]))
    sc = "one %.0f MB layer, cuts every %.0f MB" % (layer / MB, cut_after / MB)
    rep.row(sc, "outcome / cuts", "%s / %d cut(s), %d connections" % (p.status, p.cuts, p.conns), "-",
            "finishes, 1 cut (none after the first)", verdict(p.ok and p.cuts <= 1))
    rep.row(sc, "bytes on the wire / layer", "%s / %s = %.3fx" % (fmt_mb(p.bytes_up), fmt_mb(layer), p.bytes_up / layer),
            "-", "<= 1.4 x the layer", verdict(p.ok and p.bytes_up <= 1.4 * layer))
    rep.row(sc, "wall time", fmt_s(p.wall), "-", "", "")
    return p


def per_conn_scenario(env, rep, image, rate, latency):
    flags = ["--rate-per-conn", str(rate), "--latency-ms", str(latency)]
    missing = missing_bytes([image])
    log("\n== per-connection cap: %d B/s per connection, one image of %d new layers, %s missing"
        % (rate, len(image.blobs) - 1, fmt_mb(missing)))
    p = run_pier(env, "conn-pier", [image], flags)
    log("  " + describe(p, [image]))
    s = run_skopeo(env, "conn-skopeo", [image], flags)
    log("  " + describe(s, [image]))
    sc = "%.0f MB/s per connection" % (rate / MB)
    largest = max(image.blobs.values())
    rep.row(sc, "wall time (one at a time %s, parallel %s)" % (fmt_s(missing / rate), fmt_s(largest / rate)),
            "%.2f s" % p.wall,
            "%.2f s (%s)" % (s.wall, s.status),
            "<= 1.1 x parallel limit (%.3fx), <= 0.95 x skopeo (%.3fx)" % (p.wall / (largest / rate), p.wall / s.wall),
            verdict(p.ok and p.wall <= 1.1 * largest / rate and p.wall <= 0.95 * s.wall))
    rep.row(sc, "bytes on the wire", fmt_mb(p.bytes_up), fmt_mb(s.bytes_up), "", "")
    # The bar assumes skopeo sends layers one at a time (~12 s); the
    # skopeo measured here may upload them in parallel, so say both.
    serial = missing / rate
    rep.note("per-connection cap: skopeo took %s (sending the layers one at a time takes %s, the issue's premise); "
             "Pier took %s: %.2f x faster than skopeo, %.2f x faster than one layer at a time, %.2f x the "
             "parallel limit (%s)"
             % (fmt_s(s.wall), fmt_s(serial), fmt_s(p.wall), s.wall / p.wall, serial / p.wall,
                p.wall / (largest / rate), fmt_s(largest / rate)))
    return p, s


def markdown(rep, args, meta):
    out = ["## Replication: Pier vs skopeo over slowlink", "",
           "Produced by `bench/replication_bench.sh`; rerun to refresh.", ""]
    out += ["- " + m for m in meta]
    out += ["", "| scenario | metric | pier | skopeo | bar | result |", "|---|---|---|---|---|---|"]
    for r in rep.rows:
        out.append("| " + " | ".join(r) + " |")
    out += [""] + ["- " + n for n in rep.notes] + [""]
    return "\n".join(out)


def write_results(path, section):
    """Replaces (or appends) the replication section, keeping the rest."""
    head = "## Replication: Pier vs skopeo over slowlink"
    text = open(path).read() if os.path.exists(path) else ""
    if head in text:
        before, after = text.split(head, 1)
        nxt = after.find("\n## ")
        rest = after[nxt + 1:] if nxt >= 0 else ""
        text = before.rstrip("\n") + "\n\n" + section + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pier")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--per-conn-scale", type=float, default=None,
                    help="image scale of the per-connection scenario (default: --scale)")
    ap.add_argument("--write-results", action="store_true")
    ap.add_argument("--skopeo-sync", action="store_true", help="also time one `skopeo sync` in the seed scenario")
    ap.add_argument("--only", default="seed,cuts,conn")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per execution (default from sizes)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--command", default="")
    args = ap.parse_args()
    args.pier = os.path.abspath(args.pier)
    if not os.access(args.pier, os.X_OK):
        die("not executable: " + args.pier)
    args.slowlink = os.path.join(os.path.dirname(args.pier), "..", "..", "bench", "slowlink", "slowlink")
    if not os.access(args.slowlink, os.X_OK):
        die("slowlink not found at " + args.slowlink)
    for tool in ("skopeo", "docker-registry"):
        if not shutil.which(tool):
            die(tool + " not found (apt-get install -y " + tool + ")")
    if args.scale <= 0:
        die("--scale must be > 0")
    pc_scale = args.per_conn_scale if args.per_conn_scale is not None else args.scale
    only = set(args.only.split(","))
    rate, latency, cut_after, chunk = 1 * MB, 40, 4 * MB, 8 << 20
    if args.timeout is None:
        args.timeout = max(120.0, 3 * 700 * args.scale + 60)

    # SIGTERM/SIGINT: leave through the finally below, which kills by PID.
    def leave(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)
    work = tempfile.mkdtemp(prefix="repl-bench.")
    procs = Procs(work)
    try:
        env = Env(args, work, procs)
        t_start = time.time()
        log("work dir: %s; scale %g (per-connection scenario %g)" % (work, args.scale, pc_scale))
        env.start_pier()
        images = []
        if only & {"seed", "cuts"}:
            base_layer = int(40 * MB * args.scale)
            for i in range(10):
                app = int((50 + 50 * i / 9) * MB * args.scale)
                d = os.path.join(work, "build%02d" % (i + 1))
                make_layout(d, 6, base_layer, app, seed=1000 + i, base_seed=77)
                im = Image("seed/app", "build%02d" % (i + 1), d)
                env.push_to_pier(im)
                images.append(im)
            log("pushed %d images to Pier (base 5 x %s, apps %s..%s)" % (
                len(images), fmt_mb(base_layer), fmt_mb(int(50 * MB * args.scale)), fmt_mb(int(100 * MB * args.scale))))
        rep = Report()
        baseline = None
        if "seed" in only:
            baseline = seed_scenario(env, rep, images, rate, latency, args.skopeo_sync)[0].bytes_up
        if "cuts" in only:
            cuts_scenario(env, rep, images, rate, latency, cut_after, chunk, baseline)
        if "cut1" in only:
            d = os.path.join(work, "cut1")
            make_layout(d, 1, 12 * MB, None, seed=4343)
            im = Image("cut1/app", "v1", d)
            env.push_to_pier(im)
            cut1_scenario(env, rep, im, rate, latency, cut_after)
        if "conn" in only:
            d = os.path.join(work, "four")
            make_layout(d, 4, int(3 * MB * pc_scale), None, seed=4242)
            im = Image("conn/app", "v1", d)
            env.push_to_pier(im)
            per_conn_scenario(env, rep, im, rate, latency)
        meta = ["date: " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t_start)),
                "command: `%s`" % (args.command or " ".join(sys.argv)),
                "machine: %d CPUs, shared with other builds while it ran" % os.cpu_count(),
                "link: slowlink `--rate %d --latency-ms %d` (total cap; per-connection scenario: `--rate-per-conn %d`); "
                "cuts: `--cut-after %d`" % (rate, latency, rate, cut_after),
                "scale %g: base 5 x %s, app layer %s..%s per build, ten builds; per-connection image 4 x %s"
                % (args.scale, fmt_mb(40 * MB * args.scale), fmt_mb(50 * MB * args.scale),
                   fmt_mb(100 * MB * args.scale), fmt_mb(3 * MB * pc_scale)),
                "pier: default engine (4 workers per destination, 8 MiB chunks); skopeo %s, `skopeo copy` of each "
                "image in turn (and one `skopeo sync` of the repository with --skopeo-sync), default --retry-times" % subprocess.run(["skopeo", "--version"], capture_output=True,
                                                                      text=True).stdout.split()[-1],
                "method: fresh docker-registry + slowlink per scenario and tool; bytes = slowlink bytes_up; "
                "image complete = destination answers HEAD on its manifest (polled every 50 ms); "
                "MB = 10^6 bytes; physical limit = missing bytes / 1 MB/s"]
        md = markdown(rep, args, meta)
        if args.write_results:
            write_results(os.path.join(ROOT, "bench", "RESULTS.md"), md)
            log("\nwrote bench/RESULTS.md")
        else:
            log("\n" + md)
    finally:
        procs.stop_all()
        if args.keep:
            log("kept " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
