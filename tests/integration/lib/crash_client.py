#!/usr/bin/env python3
"""Load, crash-resume and verification client for crash_test.sh.

  crash_client.py load HOST:PORT --journal J --state S --cycle N [--threads 16] [--max-seconds 60]
      Concurrent uploaders push random blobs (64 KiB-4 MiB; monolithic POST
      ?digest=, chunked PATCHes with Content-Range, or streamed PATCH + PUT)
      and append every blob acknowledged with 201 to the journal (one JSON
      line, fsync'ed); a quarter of them also get a uniquely tagged image
      manifest, journaled the same way. One extra thread runs a resumable chunked upload and
      records, fsync'ed, how many bytes were sent and acknowledged. Runs until
      the server dies (connections refused), then exits: 0, or 1 when the
      server answered something unexpected while alive.
  crash_client.py wait-started --journal J --state S --cycle N [--timeout 30]
      Returns once this cycle has journaled a blob and the resumable upload
      has an acknowledged chunk.
  crash_client.py resume HOST:PORT --state S --journal J
      After a restart: the upload's Range must be between the last
      acknowledged and the sent size; continues from it and completes the blob.
  crash_client.py verify HOST:PORT --journal J
      Every journaled blob: HEAD 200 with its size, GET bytes hash to the
      digest; every journaled manifest: GET by tag and by digest hash to it.
Python standard library only.
"""
import argparse
import hashlib
import http.client
import json
import math
import os
import random
import socket
import sys
import threading
import time

MIN_SIZE, MAX_SIZE = 64 * 1024, 4 * 1024 * 1024
RESUMABLE_CHUNK = 256 * 1024
RESUMABLE_CAP = 96 * 1024 * 1024  # the resumable upload stops growing here
REPOS = [f"crash/r{i}" for i in range(4)]


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def fsync_append(path, line, lock):
    with lock:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())


def write_state(path, state):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dfd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class ServerGone(Exception):
    pass


class Unexpected(Exception):
    pass


CONN_ERRORS = (ConnectionError, http.client.HTTPException, socket.timeout, OSError)


class Conn:
    """A keep-alive connection; reconnects after a drop only if the server is alive."""

    def __init__(self, hostport, timeout=60):
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.timeout = timeout
        self.c = None

    def server_alive(self):
        try:
            c = http.client.HTTPConnection(self.host, self.port, timeout=5)
            c.request("GET", "/v2/")
            r = c.getresponse()
            r.read()
            c.close()
            return r.status == 200
        except CONN_ERRORS:
            return False

    def request(self, method, target, body=None, headers=None, chunks=None):
        """Returns (status, headers dict lower-case, body). Raises ServerGone
        when the connection fails and the server no longer answers."""
        headers = dict(headers or {})
        try:
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            if chunks is not None:
                headers["Transfer-Encoding"] = "chunked"
                self.c.request(method, target, body=iter(chunks), headers=headers, encode_chunked=True)
            else:
                if body is None and method in ("POST", "PUT", "PATCH"):
                    body = b""
                self.c.request(method, target, body=body, headers=headers)
            r = self.c.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            if r.will_close:
                self.close()
            return r.status, hdrs, data
        except CONN_ERRORS as e:
            self.close()
            if self.server_alive():
                raise Unexpected(f"{method} {target}: connection failed while the server is up: "
                                 f"{type(e).__name__}: {e}") from e
            raise ServerGone(str(e)) from e

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


def range_end(hdrs):
    v = hdrs.get("range", "")
    if v.startswith("bytes="):
        v = v[6:]
    a, _, b = v.partition("-")
    if a != "0" or not b.isdigit():
        raise Unexpected(f"malformed Range header {v!r}")
    return int(b) + 1


def location_path(loc):
    if loc.startswith("http://") or loc.startswith("https://"):
        loc = "/" + loc.split("/", 3)[3]
    return loc


def with_digest(loc, d):
    return loc + ("&" if "?" in loc else "?") + "digest=" + d


# ------------------------------------------------------------------ load


class Load:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors = []
        self.done = {"mono": 0, "chunked": 0, "stream": 0, "manifest": 0}
        seed_rng = random.Random(args.cycle * 7919)
        # A few contents several threads push at once, to different repositories.
        self.shared = [seed_rng.randbytes(seed_rng.randint(MIN_SIZE, 1024 * 1024)) for _ in range(3)]

    def error(self, msg):
        with self.lock:
            self.errors.append(msg)
        print("UNEXPECTED: " + msg, file=sys.stderr, flush=True)

    def journal(self, repo, d, size, how):
        fsync_append(self.args.journal, json.dumps({"repo": repo, "digest": d, "size": size, "how": how,
                                                    "cycle": self.args.cycle}), self.lock)
        with self.lock:
            self.done[how] = self.done.get(how, 0) + 1

    def expect(self, got, want, what, hdrs, body):
        if got != want:
            raise Unexpected(f"{what}: want {want}, got {got} {hdrs} {body[:300]!r}")

    def push_one(self, conn, rng):
        repo = rng.choice(REPOS)
        if rng.random() < 0.1:
            data = rng.choice(self.shared)
        else:
            # log-uniform between 64 KiB and 4 MiB
            data = rng.randbytes(int(math.exp(rng.uniform(math.log(MIN_SIZE), math.log(MAX_SIZE)))))
        d = sha(data)
        how = rng.choice(["mono", "mono", "chunked", "chunked", "stream"])
        if how == "mono":
            st, h, b = conn.request("POST", f"/v2/{repo}/blobs/uploads/?digest={d}", body=data,
                                    headers={"Content-Type": "application/octet-stream"})
            self.expect(st, 201, "monolithic POST", h, b)
        else:
            st, h, b = conn.request("POST", f"/v2/{repo}/blobs/uploads/")
            self.expect(st, 202, "POST session", h, b)
            loc = location_path(h["location"])
            if how == "chunked":
                off = 0
                while off < len(data):
                    n = min(len(data) - off, rng.randint(32 * 1024, 1024 * 1024))
                    st, h, b = conn.request("PATCH", loc, body=data[off:off + n],
                                            headers={"Content-Type": "application/octet-stream",
                                                     "Content-Range": f"{off}-{off + n - 1}"})
                    self.expect(st, 202, "PATCH", h, b)
                    if range_end(h) != off + n:
                        raise Unexpected(f"PATCH {loc}: Range {h.get('range')} after {off + n} bytes")
                    off += n
                    loc = location_path(h["location"])
            else:
                pieces = [data[i:i + 100_000] for i in range(0, len(data), 100_000)]
                st, h, b = conn.request("PATCH", loc, chunks=pieces,
                                        headers={"Content-Type": "application/octet-stream"})
                self.expect(st, 202, "streamed PATCH", h, b)
                if range_end(h) != len(data):
                    raise Unexpected(f"streamed PATCH {loc}: Range {h.get('range')} after {len(data)} bytes")
                loc = location_path(h["location"])
            st, h, b = conn.request("PUT", with_digest(loc, d))
            self.expect(st, 201, "closing PUT", h, b)
        if h.get("docker-content-digest") != d:
            raise Unexpected(f"201 for {d} carries Docker-Content-Digest {h.get('docker-content-digest')}")
        self.journal(repo, d, len(data), how)
        if rng.random() < 0.25:
            self.push_manifest(conn, rng, repo, d, len(data))

    def push_manifest(self, conn, rng, repo, layer, size):
        """An image whose layer is the blob just pushed, tagged uniquely."""
        cfg = json.dumps({"architecture": "amd64", "os": "linux", "n": rng.random()}).encode()
        st, h, b = conn.request("POST", f"/v2/{repo}/blobs/uploads/?digest={sha(cfg)}", body=cfg)
        self.expect(st, 201, "config POST", h, b)
        m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg),
                                   "size": len(cfg)},
                        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer,
                                    "size": size}]}).encode()
        tag = f"c{self.args.cycle}-{rng.getrandbits(48):012x}"
        st, h, b = conn.request("PUT", f"/v2/{repo}/manifests/{tag}", body=m,
                                headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        self.expect(st, 201, "manifest PUT", h, b)
        if h.get("docker-content-digest") != sha(m):
            raise Unexpected(f"manifest 201 carries Docker-Content-Digest {h.get('docker-content-digest')}")
        fsync_append(self.args.journal, json.dumps({"kind": "manifest", "repo": repo, "digest": sha(m),
                                                    "tag": tag, "size": len(m), "how": "manifest",
                                                    "cycle": self.args.cycle}), self.lock)
        with self.lock:
            self.done["manifest"] = self.done.get("manifest", 0) + 1

    def uploader(self, idx):
        rng = random.Random(f"{self.args.cycle}-{idx}-{time.time_ns()}")
        conn = Conn(self.args.hostport)
        try:
            while not self.stop.is_set():
                try:
                    self.push_one(conn, rng)
                except ServerGone:
                    return
                except Unexpected as e:
                    self.error(f"uploader {idx}: {e}")
                    conn.close()
        finally:
            conn.close()

    def resumable(self):
        args = self.args
        conn = Conn(args.hostport)
        seed = f"resumable-{args.cycle}"
        try:
            st, h, b = conn.request("POST", "/v2/crash/resumable/blobs/uploads/")
            self.expect(st, 202, "resumable POST", h, b)
            loc = location_path(h["location"])
            state = {"repo": "crash/resumable", "location": loc, "seed": seed, "chunk": RESUMABLE_CHUNK,
                     "acked": 0, "sent": 0, "cycle": args.cycle}
            write_state(args.state, state)
            while not self.stop.is_set() and state["acked"] < RESUMABLE_CAP:
                off = state["acked"]
                chunk = stream_bytes(seed, off, RESUMABLE_CHUNK)
                state["sent"] = off + len(chunk)
                write_state(args.state, state)  # before the bytes leave: the upper bound
                st, h, b = conn.request("PATCH", loc, body=chunk,
                                        headers={"Content-Type": "application/octet-stream",
                                                 "Content-Range": f"{off}-{off + len(chunk) - 1}"})
                self.expect(st, 202, "resumable PATCH", h, b)
                if range_end(h) != off + len(chunk):
                    raise Unexpected(f"resumable PATCH: Range {h.get('range')}, want 0-{off + len(chunk) - 1}")
                loc = location_path(h["location"])
                state["acked"] = off + len(chunk)
                state["location"] = loc
                write_state(args.state, state)
            # Capped: wait for the crash.
            self.stop.wait()
        except ServerGone:
            return
        except Unexpected as e:
            self.error(f"resumable: {e}")
        finally:
            conn.close()

    def run(self):
        threads = [threading.Thread(target=self.uploader, args=(i,), daemon=True) for i in range(self.args.threads)]
        rt = threading.Thread(target=self.resumable, daemon=True)
        for t in threads + [rt]:
            t.start()
        deadline = time.monotonic() + self.args.max_seconds
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        # Uploaders all ended: the server is gone. Release the resumable thread.
        self.stop.set()
        rt.join(max(1.0, deadline - time.monotonic()))
        alive = [t for t in threads + [rt] if t.is_alive()]
        print(f"cycle {self.args.cycle}: pushed {self.done}; unexpected {len(self.errors)}; "
              f"threads still running {len(alive)}", flush=True)
        if alive:
            print(f"load did not end within {self.args.max_seconds}s (server not killed?)", file=sys.stderr)
            return 1
        return 1 if self.errors else 0


def stream_bytes(seed, offset, length):
    """Bytes [offset, offset+length) of the resumable upload's endless content:
    chunk k is random.Random(f"{seed}-{k}").randbytes(RESUMABLE_CHUNK)."""
    out = bytearray()
    while length > 0:
        k, within = divmod(offset, RESUMABLE_CHUNK)
        block = random.Random(f"{seed}-{k}").randbytes(RESUMABLE_CHUNK)
        piece = block[within:within + length]
        out += piece
        offset += len(piece)
        length -= len(piece)
    return bytes(out)


# ------------------------------------------------------------ other commands


def read_journal(path):
    entries = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for ln in f:
                ln = ln.strip()
                if ln:
                    entries.append(json.loads(ln))
    return entries


def cmd_wait_started(args):
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        blobs = [e for e in read_journal(args.journal) if e.get("cycle") == args.cycle]
        state = None
        if os.path.exists(args.state):
            with open(args.state, encoding="utf-8") as f:
                state = json.load(f)
        if blobs and state and state.get("acked", 0) > 0:
            return 0
        time.sleep(0.05)  # polling the condition
    print(f"load of cycle {args.cycle} did not get going within {args.timeout}s", file=sys.stderr)
    return 1


def cmd_resume(args):
    with open(args.state, encoding="utf-8") as f:
        state = json.load(f)
    conn = Conn(args.hostport)
    loc = state["location"]
    try:
        st, h, b = conn.request("GET", loc)
        if st != 204:
            print(f"FAIL: resumable upload {loc} after the crash: GET status want 204, got {st} {h} {b[:300]!r} "
                  f"(acknowledged {state['acked']} bytes before the kill)", file=sys.stderr)
            return 1
        got = range_end(h)
        if not state["acked"] <= got <= state["sent"]:
            print(f"FAIL: resumable upload {loc}: Range says {got} bytes after the crash; acknowledged "
                  f"{state['acked']}, sent at most {state['sent']}", file=sys.stderr)
            return 1
        # Continue from where the server is, to a size that is not a chunk multiple.
        final = got + RESUMABLE_CHUNK + 12345
        rest = stream_bytes(state["seed"], got, final - got)
        half = len(rest) // 2
        st, h, b = conn.request("PATCH", location_path(h.get("location", loc)), body=rest[:half],
                                headers={"Content-Type": "application/octet-stream",
                                         "Content-Range": f"{got}-{got + half - 1}"})
        if st != 202 or range_end(h) != got + half:
            print(f"FAIL: resuming PATCH from {got}: {st} {h} {b[:300]!r}", file=sys.stderr)
            return 1
        whole = hashlib.sha256()
        for off in range(0, final, 8 * RESUMABLE_CHUNK):
            whole.update(stream_bytes(state["seed"], off, min(8 * RESUMABLE_CHUNK, final - off)))
        d = "sha256:" + whole.hexdigest()
        st, h, b = conn.request("PUT", with_digest(location_path(h["location"]), d), body=rest[half:],
                                headers={"Content-Type": "application/octet-stream"})
        if st != 201:
            print(f"FAIL: closing the resumed upload ({final} bytes, {d}): {st} {h} {b[:300]!r}", file=sys.stderr)
            return 1
        st, h, b = conn.request("GET", f"/v2/{state['repo']}/blobs/{d}")
        if st != 200 or sha(b) != d:
            print(f"FAIL: resumed blob {d}: GET {st}, {len(b)} bytes hashing to {sha(b)}", file=sys.stderr)
            return 1
    except (ServerGone, Unexpected) as e:
        print(f"FAIL: resuming the upload: {e}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    fsync_append(args.journal, json.dumps({"repo": state["repo"], "digest": d, "size": final, "how": "resumable",
                                           "cycle": state["cycle"]}), threading.Lock())
    print(f"resumable: acknowledged {state['acked']}, sent {state['sent']}, server kept {got}; "
          f"completed {final} bytes", flush=True)
    return 0


def cmd_verify(args):
    entries = read_journal(args.journal)
    problems = []
    lock = threading.Lock()
    todo = list(entries)

    def worker():
        conn = Conn(args.hostport)
        try:
            while True:
                with lock:
                    if not todo:
                        return
                    e = todo.pop()
                what = f"blob {e['digest']} ({e['size']} bytes, {e['how']}, cycle {e['cycle']}) in {e['repo']}"
                try:
                    if e.get("kind") == "manifest":
                        what = f"manifest {e['repo']}:{e['tag']} ({e['digest']}, cycle {e['cycle']})"
                        for ref in (e["tag"], e["digest"]):
                            st, h, b = conn.request("GET", f"/v2/{e['repo']}/manifests/{ref}",
                                                    headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
                            if st != 200 or sha(b) != e["digest"]:
                                raise Unexpected(f"GET by {ref}: {st}, {len(b)} bytes hashing to {sha(b)}")
                        continue
                    st, h, b = conn.request("HEAD", f"/v2/{e['repo']}/blobs/{e['digest']}")
                    if st != 200 or h.get("content-length") != str(e["size"]):
                        raise Unexpected(f"HEAD {st}, Content-Length {h.get('content-length')}")
                    st, h, b = conn.request("GET", f"/v2/{e['repo']}/blobs/{e['digest']}")
                    if st != 200 or sha(b) != e["digest"] or len(b) != e["size"]:
                        raise Unexpected(f"GET {st}, {len(b)} bytes hashing to {sha(b)}")
                except (ServerGone, Unexpected) as ex:
                    with lock:
                        problems.append(f"{what}: {ex}")
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in problems[:20]:
        print("FAIL: journaled (acknowledged with 201) " + p, file=sys.stderr)
    total = sum(e["size"] for e in entries)
    nm = sum(1 for e in entries if e.get("kind") == "manifest")
    print(f"verified {len(entries) - len(problems)}/{len(entries)} journaled blobs and manifests "
          f"({nm} manifests, {total / 1048576:.0f} MiB)", flush=True)
    return 1 if problems or not entries else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("load")
    lp.add_argument("hostport")
    lp.add_argument("--journal", required=True)
    lp.add_argument("--state", required=True)
    lp.add_argument("--cycle", type=int, required=True)
    lp.add_argument("--threads", type=int, default=16)
    lp.add_argument("--max-seconds", type=float, default=60)
    wp = sub.add_parser("wait-started")
    wp.add_argument("--journal", required=True)
    wp.add_argument("--state", required=True)
    wp.add_argument("--cycle", type=int, required=True)
    wp.add_argument("--timeout", type=float, default=30)
    rp = sub.add_parser("resume")
    rp.add_argument("hostport")
    rp.add_argument("--state", required=True)
    rp.add_argument("--journal", required=True)
    vp = sub.add_parser("verify")
    vp.add_argument("hostport")
    vp.add_argument("--journal", required=True)
    args = p.parse_args()
    if args.cmd == "load":
        return Load(args).run()
    if args.cmd == "wait-started":
        return cmd_wait_started(args)
    if args.cmd == "resume":
        return cmd_resume(args)
    return cmd_verify(args)


if __name__ == "__main__":
    sys.exit(main())
