#!/usr/bin/env python3
"""Helpers for bench/gc_bench.sh (python3 stdlib only).

  push-load BASE SECONDS THREADS TAG_PREFIX -> "<images> <seconds> <errors>"
      THREADS clients push images for SECONDS, each as docker does: HEAD every
      blob, POST + PUT (?digest=) the missing ones, PUT the manifest by tag.
      An image: a 1 KiB config and two 256 KiB layers of its own (random
      bytes), over one base layer shared by every image. Keep-alive
      connections, one per client.
  gc BASE DELETE_UNTAGGED WORKERS           -> "<seconds> <job_status> <pier json>"
      POST /api/v2.0/system/gc/schedule {"schedule":{"type":"Manual"}} and
      polls the run until it ends.
  gc-loop BASE STOP_FILE                    -> "<runs>"
      GC runs back to back until STOP_FILE exists.
  maxrss -- CMD...                          -> runs CMD, prints "<seconds> <peak RSS KiB> <exit code>"
"""
import hashlib
import http.client
import json
import os
import resource
import subprocess
import sys
import threading
import time
import urllib.parse


def die(msg):
    print("gcbench: " + msg, file=sys.stderr)
    sys.exit(1)


class Client:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def req(self, method, path, body=b"", headers=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.conn.putrequest(method, path, skip_accept_encoding=True)
                for k, v in (headers or {}).items():
                    self.conn.putheader(k, v)
                if body or method in ("PUT", "POST"):
                    self.conn.putheader("Content-Length", str(len(body)))
                self.conn.endheaders(body if body else None)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise RuntimeError("unreachable")


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(c, repo, data):
    d = sha(data)
    st, _, _ = c.req("HEAD", "/v2/%s/blobs/%s" % (repo, d))
    if st == 200:
        return d
    st, h, body = c.req("POST", "/v2/%s/blobs/uploads/" % repo)
    if st != 202:
        raise RuntimeError("POST %d %r" % (st, body[:200]))
    u = urllib.parse.urlsplit(h["location"])
    q = (u.query + "&" if u.query else "") + "digest=" + d
    st, _, body = c.req("PUT", u.path + "?" + q, data, {"Content-Type": "application/octet-stream"})
    if st != 201:
        raise RuntimeError("PUT blob %d %r" % (st, body[:200]))
    return d


def desc(mt, data):
    return {"mediaType": mt, "digest": sha(data), "size": len(data)}


def push_image(c, repo, tag, base_layer):
    cfg = os.urandom(1024)
    layers = [base_layer, os.urandom(256 << 10), os.urandom(256 << 10)]
    for blob in [cfg] + layers:
        push_blob(c, repo, blob)
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": desc("application/vnd.oci.image.config.v1+json", cfg),
                    "layers": [desc("application/vnd.oci.image.layer.v1.tar", l) for l in layers]}).encode()
    st, _, body = c.req("PUT", "/v2/%s/manifests/%s" % (repo, tag), m,
                        {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    if st != 201:
        raise RuntimeError("PUT manifest %d %r" % (st, body[:200]))


def cmd_push_load(base, seconds, threads, prefix):
    seconds, threads = float(seconds), int(threads)
    base_layer = os.urandom(256 << 10)
    done, errors = [0], [0]
    lock = threading.Lock()
    start = time.monotonic()
    end = start + seconds

    def work(i):
        c = Client(base)
        n = 0
        while time.monotonic() < end:
            try:
                push_image(c, "load/%s-%d" % (prefix, i), "t%d" % n, base_layer)
                with lock:
                    done[0] += 1
            except Exception as e:  # counted, and the first few shown: a GC race would show here
                with lock:
                    errors[0] += 1
                    if errors[0] <= 3:
                        print("gcbench: push error: %s" % e, file=sys.stderr)
            n += 1

    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("%d %.3f %d" % (done[0], time.monotonic() - start, errors[0]))


def run_gc(c, delete_untagged, workers):
    body = json.dumps({"schedule": {"type": "Manual"},
                       "parameters": {"delete_untagged": delete_untagged, "dry_run": False,
                                      "workers": workers}}).encode()
    t0 = time.monotonic()
    st, h, data = c.req("POST", "/api/v2.0/system/gc/schedule", body, {"Content-Type": "application/json"})
    if st not in (200, 201):
        die("POST gc: %d %r" % (st, data[:300]))
    loc = urllib.parse.urlsplit(h.get("location", "")).path
    if not loc:
        die("POST gc: no Location")
    while True:
        st, _, data = c.req("GET", loc)
        if st != 200:
            die("GET %s: %d" % (loc, st))
        j = json.loads(data)
        if j.get("job_status") in ("Success", "Error", "Stopped"):
            return time.monotonic() - t0, j
        time.sleep(0.05)


def cmd_gc(base, delete_untagged, workers):
    secs, j = run_gc(Client(base), delete_untagged == "true", int(workers))
    print("%.3f %s %s" % (secs, j.get("job_status"), json.dumps(j.get("pier", {}), separators=(",", ":"))))


def cmd_gc_loop(base, stop_file):
    c = Client(base)
    runs = 0
    while not os.path.exists(stop_file):
        _, j = run_gc(c, False, 1)
        if j.get("job_status") != "Success":
            die("gc run ended %s" % j.get("job_status"))
        runs += 1
    print(runs)


def cmd_maxrss(*cmd):
    t0 = time.monotonic()
    p = subprocess.run(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    secs = time.monotonic() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode(errors="replace")[-2000:])
    print("%.3f %d %d" % (secs, rss, p.returncode))


def main():
    if len(sys.argv) < 2:
        die("usage: see the docstring")
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "maxrss" and args and args[0] == "--":
        args = args[1:]
    fn = {"push-load": cmd_push_load, "gc": cmd_gc, "gc-loop": cmd_gc_loop, "maxrss": cmd_maxrss}.get(cmd)
    if fn is None:
        die("unknown command " + cmd)
    fn(*args)


if __name__ == "__main__":
    main()
