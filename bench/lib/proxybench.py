#!/usr/bin/env python3
"""Pull-through cache benchmark: Pier against registry:2 in proxy mode.

One upstream (docker-registry) behind bench/slowlink (20 MB/s, 20 ms, both
directions, one link per cache so the bytes each cache fetches are counted
apart); the same client for both caches: a thread per client that GETs the
manifest and every blob, hashing the bytes as they arrive (what a pulling
client does), and checks them.

  cold16   16 concurrent cold pulls of one image: upstream bytes / image size,
           wall time / (image size / link rate)
  ttfb     time to the first body byte of a cold 100 MB blob, against the
           upstream's own time to first byte over the same kind of link
  warm     one client pulling the cached image, MB/s, against Pier serving the
           same image pushed to it (hosted)
  offline  the upstream stopped: 1,000 manifest GETs by tag of the cached image,
           p50/p99 per cache

usage: proxybench.py --pier PIER --slowlink SLOWLINK [--image-mb 200] [--big-mb 100]
                     [--rate 20000000] [--latency-ms 20] [--write-results FILE]
"""
import argparse
import concurrent.futures
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import replbench as rb  # noqa: E402  (shared helpers: processes, registries, slowlink, layouts)

ACCEPT = ", ".join(["application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json"])


def get(port, path, sink=None, headers=None, timeout=600):
    """GET; returns (status, body or None, seconds to first body byte). With a
    sink, the body is fed to it in 1 MiB pieces and not kept."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.monotonic()
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    first = None
    body = [] if sink is None else None
    while True:
        piece = r.read1(1 << 20) if hasattr(r, "read1") else r.read(1 << 20)
        if not piece:
            break
        if first is None:
            first = time.monotonic() - t0
        if sink is None:
            body.append(piece)
        else:
            sink(piece)
    c.close()
    return r.status, (b"".join(body) if body is not None else None), first


def pull(port, prefix, image):
    """A client pull: manifest by tag, then every blob, each hashed and checked."""
    st, body, _ = get(port, "/v2/%s%s/manifests/%s" % (prefix, image.repo, image.tag), headers={"Accept": ACCEPT})
    if st != 200 or "sha256:" + hashlib.sha256(body).hexdigest() != image.manifest_digest:
        raise RuntimeError("manifest: status %d" % st)
    total = len(body)
    for d, size in image.blobs.items():
        h = hashlib.sha256()
        st, _, _ = get(port, "/v2/%s%s/blobs/%s" % (prefix, image.repo, d), sink=h.update)
        if st != 200 or "sha256:" + h.hexdigest() != d:
            raise RuntimeError("blob %s: status %d" % (d, st))
        total += size
    return total


class Cache:
    """One cache under test: its own data, its own link to the upstream."""

    def __init__(self, env, name, upstream_port, args):
        self.name = name
        self.link, addr, self.stats = env.start_slowlink(
            name + "-link", upstream_port,
            ["--rate", str(args.rate), "--latency-ms", str(args.latency_ms), "--direction", "both"])
        self.port = rb.free_port()
        data = os.path.join(env.work, name + "-data")
        if name == "pier":
            cfg = os.path.join(env.work, "pier.json")
            with open(cfg, "w") as f:
                json.dump({"log": {"access": False},
                           "proxy": {"upstreams": [{"name": "up", "url": "http://" + addr, "tag_ttl_seconds": 60}]}}, f)
            self.proc = env.procs.spawn(name, [args.pier, "serve", "--listen", "127.0.0.1:%d" % self.port,
                                               "--data", data, "--config", cfg])
            self.prefix = "up/"
        else:
            yml = os.path.join(env.work, name + ".yml")
            with open(yml, "w") as f:
                f.write("version: 0.1\nlog: {level: warn}\nstorage:\n  filesystem: {rootdirectory: %s}\n"
                        "http: {addr: 127.0.0.1:%d, secret: bench}\nproxy: {remoteurl: 'http://%s'}\n"
                        % (data, self.port, addr))
            env_vars = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
            self.proc = env.procs.spawn(name, ["docker-registry", "serve", yml], env=env_vars)
            self.prefix = ""
        rb.wait_http("http://127.0.0.1:%d/v2/" % self.port)

    def fetched(self):
        self.link.send_signal(10)  # SIGUSR1: rewrite the stats file
        time.sleep(0.3)
        return json.load(open(self.stats))["bytes_down"]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pier", required=True)
    ap.add_argument("--slowlink", required=True)
    ap.add_argument("--image-mb", type=int, default=200)
    ap.add_argument("--big-mb", type=int, default=100)
    ap.add_argument("--rate", type=int, default=20000000)
    ap.add_argument("--latency-ms", type=int, default=20)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--offline-requests", type=int, default=1000)
    ap.add_argument("--write-results")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="pier-proxybench.")
    procs = rb.Procs(work)
    env = rb.Env(args, work, procs)
    try:
        return run(args, env)
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)


def run(args, env):
    up_proc, up_port = env.start_registry("upstream")
    layers = 4
    rb.make_layout(os.path.join(env.work, "app"), layers, args.image_mb * 1000000 // layers, None, 71)
    rb.make_layout(os.path.join(env.work, "big"), 1, args.big_mb * 1000000, None, 72)
    app = rb.Image("library/app", "v1", os.path.join(env.work, "app"))
    big = rb.Image("library/big", "v1", os.path.join(env.work, "big"))
    for im in (app, big):
        env.skopeo("copy", "--dest-tls-verify=false", "oci:%s:v1" % im.layout,
                   "docker://127.0.0.1:%d/%s:%s" % (up_port, im.repo, im.tag))
    size = app.own_bytes
    limit = size / args.rate
    rows, notes = [], []
    rb.log("image %.1f MB (%d layers), big blob %.1f MB, link %d B/s + %d ms"
           % (size / 1e6, layers, big.own_bytes / 1e6, args.rate, args.latency_ms))

    # The upstream's own time to first byte for the big blob, over a link alike.
    _, addr, _ = env.start_slowlink("direct-link", up_port, ["--rate", str(args.rate), "--latency-ms",
                                                             str(args.latency_ms), "--direction", "both"])
    dport = int(addr.rsplit(":", 1)[1])
    big_layer = [d for d in big.blobs if big.blobs[d] > 1000000][0]
    _, _, up_ttfb = get(dport, "/v2/%s/blobs/%s" % (big.repo, big_layer), sink=lambda b: None)

    caches = [Cache(env, "pier", up_port, args), Cache(env, "registry2", up_port, args)]
    res = {}
    for c in caches:
        r = res[c.name] = {}
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(args.clients) as ex:
            totals = list(ex.map(lambda _: pull(c.port, c.prefix, app), range(args.clients)))
        r["cold_s"] = time.monotonic() - t0
        r["cold_up"] = c.fetched()
        assert all(t == size for t in totals)
        before = c.fetched()
        _, _, r["ttfb"] = get(c.port, "/v2/%s%s/blobs/%s" % (c.prefix, big.repo, big_layer), sink=lambda b: None)
        r["ttfb_up"] = c.fetched() - before
        rb.log("%s: cold x%d %.1f s, %.1f MB upstream; ttfb %.0f ms" % (c.name, args.clients, r["cold_s"],
                                                                        r["cold_up"] / 1e6, r["ttfb"] * 1000))
    # Warm: Pier's cache against Pier serving the same image pushed to it.
    pier = caches[0]
    env.skopeo("copy", "--dest-tls-verify=false", "oci:%s:v1" % app.layout,
               "docker://127.0.0.1:%d/hosted/app:v1" % pier.port)
    hosted = rb.Image("hosted/app", "v1", app.layout)
    warm = {"cache": [], "hosted": []}
    for _ in range(3):
        for kind, prefix, im in (("cache", pier.prefix, app), ("hosted", "", hosted)):
            t0 = time.monotonic()
            pull(pier.port, prefix, im)
            warm[kind].append(size / (time.monotonic() - t0))
    # Offline: the upstream stops; cached tags keep being served.
    env.procs.stop(up_proc)
    for c in caches:
        lat = []
        t_end = time.monotonic() + 180  # a cache that hangs on the dead upstream is cut short (and says so)
        for _ in range(args.offline_requests):
            if time.monotonic() > t_end:
                res[c.name]["offline_fail"] = res[c.name].get("offline_fail", 0) + args.offline_requests - len(lat)
                break
            t0 = time.monotonic()
            st, _, _ = get(c.port, "/v2/%s%s/manifests/v1" % (c.prefix, app.repo), headers={"Accept": ACCEPT},
                           timeout=60)
            lat.append(time.monotonic() - t0)
            if st != 200:
                res[c.name]["offline_fail"] = res[c.name].get("offline_fail", 0) + 1
        res[c.name]["p50"], res[c.name]["p99"] = pct(lat, 50), pct(lat, 99)

    p, r2 = res["pier"], res["registry2"]
    wc, wh = sorted(warm["cache"])[1], sorted(warm["hosted"])[1]
    table = [
        ("%d concurrent cold pulls" % args.clients, "upstream bytes / image", "%.3fx" % (p["cold_up"] / size),
         "%.3fx" % (r2["cold_up"] / size), "Pier <= 1.02x", p["cold_up"] / size <= 1.02),
        ("%d concurrent cold pulls" % args.clients, "wall time / (image / link rate)", "%.2fx (%.1f s)" % (p["cold_s"] / limit, p["cold_s"]),
         "%.2fx (%.1f s)" % (r2["cold_s"] / limit, r2["cold_s"]), "Pier <= 1.1x", p["cold_s"] / limit <= 1.1),
        ("cold %d MB blob" % args.big_mb, "time to first byte (upstream %.0f ms)" % (up_ttfb * 1000), "%.0f ms" % (p["ttfb"] * 1000),
         "%.0f ms" % (r2["ttfb"] * 1000), "Pier <= upstream + 50 ms", p["ttfb"] <= up_ttfb + 0.05),
        ("warm pull", "MB/s, cache vs hosted (median of 3)", "%.0f vs %.0f (%.2fx)" % (wc / 1e6, wh / 1e6, wc / wh), "-",
         ">= 0.95x hosted", wc / wh >= 0.95),
        ("upstream down", "%d cached tag GETs: p50 / p99" % args.offline_requests,
         "%.1f / %.1f ms%s" % (p["p50"] * 1000, p["p99"] * 1000, " (%d failed)" % p["offline_fail"] if "offline_fail" in p else ""),
         "%.1f / %.1f ms%s" % (r2["p50"] * 1000, r2["p99"] * 1000, " (%d failed)" % r2["offline_fail"] if "offline_fail" in r2 else ""),
         "Pier p99 <= 20 ms", p["p99"] <= 0.020 and "offline_fail" not in p),
    ]
    out = ["| scenario | metric | pier | registry:2 (proxy) | bar | result |", "|---|---|---|---|---|---|"]
    for row in table:
        out.append("| %s | %s | %s | %s | %s | %s |" % (row[:5] + ("PASS" if row[5] else "MISS",)))
    text = "\n".join(out)
    print(text)
    if args.write_results:
        with open(args.write_results, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
