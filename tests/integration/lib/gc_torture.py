#!/usr/bin/env python3
"""GC torture load for tests/integration/gc_torture_test.sh (stdlib only).

gc_torture.py BASE SECONDS CLIENTS OUT_JSON

CLIENTS clients, each owning two repositories (torture/cN-a, torture/cN-b),
for SECONDS: push images whose layers come from a pool shared by every
client (so blobs are shared across repositories and projects' links come and
go), by HEAD then upload or cross-repository mount from another client's
repository; retag (tags t0..t4 are reused, so old manifests become untagged);
delete manifests by digest. Meanwhile one more thread runs GC back to back
through Harbor's API with delete_untagged. Every operation must succeed the
way a registry promises (a mount may fall back to an upload: that is the
spec); any other answer is an error, reported and counted.

Writes OUT_JSON: {"tags": {"repo:tag": manifest digest}, "ops": {...},
"errors": [...], "gc_runs": N}. Exit 0 even with errors (the test judges).
"""
import hashlib
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.parse


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


class Conn:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.c = u.hostname, u.port, None

    def req(self, method, path, body=b"", headers=None):
        for attempt in range(2):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.c.putrequest(method, path, skip_accept_encoding=True)
                for k, v in (headers or {}).items():
                    self.c.putheader(k, v)
                if body or method in ("PUT", "POST"):
                    self.c.putheader("Content-Length", str(len(body)))
                self.c.endheaders(body if body else None)
                r = self.c.getresponse()
                return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
            except (http.client.HTTPException, OSError):
                self.c.close()
                self.c = None
                if attempt:
                    raise


POOL = [os.urandom(48 << 10) for _ in range(8)]  # shared layers
MT = "application/vnd.oci.image.manifest.v1+json"


class Client:
    def __init__(self, base, i, clients, out, lock):
        self.c = Conn(base)
        self.i, self.n = i, clients
        self.repos = ["torture/c%d-a" % i, "torture/c%d-b" % i]
        self.out, self.lock = out, lock
        self.tags = {}      # "repo:tag" -> digest
        self.pushed = []    # (repo, digest) still present
        self.rng = random.Random(i)
        self.ops = {"push": 0, "mount": 0, "upload": 0, "skip": 0, "delete": 0}

    def error(self, what):
        with self.lock:
            self.out["errors"].append("client %d: %s" % (self.i, what))

    def put_blob(self, repo, data):
        d = sha(data)
        st, _, _ = self.c.req("HEAD", "/v2/%s/blobs/%s" % (repo, d))
        if st == 200:
            self.ops["skip"] += 1
            return True
        if self.rng.random() < 0.7:
            other = "torture/c%d-%s" % (self.rng.randrange(self.n), self.rng.choice("ab"))
            st, h, body = self.c.req("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" % (repo, d, other))
            if st == 201:
                self.ops["mount"] += 1
                return True
            if st != 202:
                self.error("mount POST %s: %d %r" % (repo, st, body[:200]))
                return False
        else:
            st, h, body = self.c.req("POST", "/v2/%s/blobs/uploads/" % repo)
            if st != 202:
                self.error("POST %s: %d %r" % (repo, st, body[:200]))
                return False
        u = urllib.parse.urlsplit(h["location"])
        q = (u.query + "&" if u.query else "") + "digest=" + d
        st, _, body = self.c.req("PUT", u.path + "?" + q, data, {"Content-Type": "application/octet-stream"})
        if st != 201:
            self.error("PUT blob %s: %d %r" % (repo, st, body[:200]))
            return False
        self.ops["upload"] += 1
        return True

    def push(self):
        repo = self.rng.choice(self.repos)
        layers = self.rng.sample(POOL, 3)
        cfg = json.dumps({"client": self.i, "n": self.ops["push"], "r": self.rng.random()}).encode()
        for b in [cfg] + layers:
            if not self.put_blob(repo, b):
                return
        m = json.dumps({"schemaVersion": 2, "mediaType": MT,
                        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg),
                                   "size": len(cfg)},
                        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(l),
                                    "size": len(l)} for l in layers]}).encode()
        tag = "t%d" % self.rng.randrange(5)
        st, _, body = self.c.req("PUT", "/v2/%s/manifests/%s" % (repo, tag), m, {"Content-Type": MT})
        if st != 201:
            self.error("PUT manifest %s:%s: %d %r" % (repo, tag, st, body[:300]))
            return
        self.tags["%s:%s" % (repo, tag)] = sha(m)
        self.pushed.append((repo, sha(m)))
        self.ops["push"] += 1

    def delete(self):
        if not self.pushed:
            return
        repo, d = self.pushed.pop(self.rng.randrange(len(self.pushed)))
        st, _, body = self.c.req("DELETE", "/v2/%s/manifests/%s" % (repo, d))
        # 404: a GC already took it (untagged by a retag) or it was pushed twice.
        if st not in (202, 404):
            self.error("DELETE %s@%s: %d %r" % (repo, d, st, body[:200]))
            return
        for k in [k for k, v in self.tags.items() if v == d and k.startswith(repo + ":")]:
            del self.tags[k]
        self.ops["delete"] += 1

    def run(self, end):
        while time.monotonic() < end:
            if self.rng.random() < 0.8:
                self.push()
            else:
                self.delete()


def gc_loop(base, end, out, lock):
    c = Conn(base)
    body = json.dumps({"schedule": {"type": "Manual"},
                       "parameters": {"delete_untagged": True, "dry_run": False, "workers": 2}}).encode()
    while time.monotonic() < end:
        st, h, data = c.req("POST", "/api/v2.0/system/gc/schedule", body, {"Content-Type": "application/json"})
        if st == 409:  # one still running (the scheduler's): wait for it
            time.sleep(0.05)
            continue
        if st != 201:
            with lock:
                out["errors"].append("gc POST: %d %r" % (st, data[:200]))
            return
        loc = urllib.parse.urlsplit(h["location"]).path
        while True:
            st, _, data = c.req("GET", loc)
            j = json.loads(data) if st == 200 else {}
            if j.get("job_status") in ("Success", "Error", "Stopped"):
                break
            time.sleep(0.02)
        with lock:
            out["gc_runs"] += 1
            if j.get("job_status") != "Success":
                out["errors"].append("gc run %s ended %s" % (loc, j.get("job_status")))


def main():
    base, seconds, clients, out_path = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    out = {"errors": [], "gc_runs": 0}
    lock = threading.Lock()
    end = time.monotonic() + seconds
    cs = [Client(base, i, clients, out, lock) for i in range(clients)]
    ts = [threading.Thread(target=c.run, args=(end,)) for c in cs]
    ts.append(threading.Thread(target=gc_loop, args=(base, end, out, lock)))
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out["tags"] = {}
    out["ops"] = {}
    for c in cs:
        out["tags"].update(c.tags)
        for k, v in c.ops.items():
            out["ops"][k] = out["ops"].get(k, 0) + v
    with open(out_path, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
