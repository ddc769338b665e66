#!/usr/bin/env python3
"""OCI Distribution Spec 1.1 API checks against a running Pier.

Covers what the opencontainers/distribution-spec conformance suite checks
(workflows pull, push, content discovery, content management) plus the
robustness cases real clients hit: streamed PATCHes, Expect: 100-continue,
416 recovery, several Accept lines, oversized headers and manifests, bodies
cut short.

usage: api_checks.py HOST:PORT [--public-url-server HOST:PORT]

Each check group prints `ok - <what>` or `FAIL: <what>: <request/response>`;
every group runs even when an earlier one failed, and the server must still
answer GET /v2/ after each group. Exit status 1 when anything failed.
API_CHECKS_ONLY=SUBSTRING runs only the groups whose function name holds it
(for debugging); one that matches no group exits 2 having run nothing.
Python standard library only.
"""
import hashlib
import http.client
import json
import os
import random
import socket
import sys
import time
import traceback
import urllib.parse

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
# What Harbor sends: one Accept line per type.
HARBOR_ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST,
                 "application/vnd.oci.artifact.manifest.v1+json", "*/*"]
MIB = 1024 * 1024

rng = random.Random(int(os.environ.get("API_CHECKS_SEED", "1234")))


class CheckFailed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def rand_bytes(n):
    return rng.randbytes(n)


def fake_digest():
    return "sha256:" + rng.randbytes(32).hex()


# ---------------------------------------------------------------- HTTP client


class Resp:
    def __init__(self, method, target, status, headers, body):
        self.method, self.target, self.status, self.headers, self.body = method, target, status, headers, body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise CheckFailed(f"{self.method} {self.target}: body is not JSON: {self.body[:300]!r}")

    def __str__(self):
        hdrs = "; ".join(f"{k}: {v}" for k, v in self.headers
                         if k.lower() not in ("date", "server", "cache-control", "etag", "accept-ranges"))
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        return f"{self.method} {self.target} -> {self.status} [{hdrs}] {body!r}"


class Client:
    """One HTTP connection per request (state never leaks between checks)."""

    def __init__(self, hostport):
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.hostport = hostport

    def path_of(self, url):
        """Location/Link values may be relative paths or absolute URLs."""
        u = urllib.parse.urlsplit(url)
        if u.scheme:
            check(u.scheme == "http" and u.netloc == self.hostport,
                  f"absolute URL {url!r} does not point at this registry ({self.hostport})")
        check(u.path.startswith("/v2/"), f"URL {url!r} is not under /v2/")
        return u.path + ("?" + u.query if u.query else "")

    def request(self, method, target, body=None, headers=(), chunks=None, timeout=60):
        """headers: list of (name, value), names may repeat. chunks: list of
        byte strings sent with Transfer-Encoding: chunked."""
        if body is None and chunks is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.putrequest(method, target, skip_accept_encoding=True)
            for k, v in headers:
                conn.putheader(k, v)
            names = {k.lower() for k, _ in headers}
            if chunks is not None:
                conn.putheader("Transfer-Encoding", "chunked")
            elif body is not None and "content-length" not in names:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            try:
                if chunks is not None:
                    for c in chunks:
                        if c:
                            conn.send(b"%x\r\n" % len(c) + c + b"\r\n")
                    conn.send(b"0\r\n\r\n")
                elif body:
                    conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer early and close; read that answer
            r = conn.getresponse()
            data = r.read()
            return Resp(method, target, r.status, r.getheaders(), data)
        finally:
            conn.close()

    def get(self, target, **kw):
        return self.request("GET", target, **kw)

    def head(self, target, **kw):
        return self.request("HEAD", target, **kw)


def with_query(target, **params):
    q = urllib.parse.urlencode(params)
    return target + ("&" if "?" in target else "?") + q


def expect(r, status, what):
    statuses = status if isinstance(status, tuple) else (status,)
    check(r.status in statuses, f"{what}: want {' or '.join(map(str, statuses))}, got {r}")


def expect_error(r, status, code, what):
    expect(r, status, what)
    if r.method == "HEAD":
        return
    try:
        j = json.loads(r.body)
        codes = [e["code"] for e in j["errors"]]
        for e in j["errors"]:
            check(isinstance(e.get("message", ""), str), "message must be a string")
    except (ValueError, KeyError, TypeError):
        raise CheckFailed(f"{what}: error body is not {{\"errors\":[{{\"code\"...}}]}}: {r}")
    codes_wanted = code if isinstance(code, tuple) else (code,)
    check(any(c in codes for c in codes_wanted), f"{what}: want error code {code}, got {codes}: {r}")


def expect_header(r, name, want, what):
    got = r.header(name)
    check(got == want, f"{what}: header {name} want {want!r}, got {got!r}: {r}")


def parse_range(r, what):
    """'0-<end>' → end+1 (bytes committed)."""
    v = r.header("Range")
    check(v is not None, f"{what}: no Range header: {r}")
    v = v.strip()
    if v.startswith("bytes="):
        v = v[6:]
    a, _, b = v.partition("-")
    check(a == "0" and b.isdigit(), f"{what}: malformed Range {v!r}: {r}")
    return int(b) + 1


# ---------------------------------------------------------- raw socket client


class Raw:
    def __init__(self, c, timeout=15):
        self.sock = socket.create_connection((c.host, c.port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        self.sock.settimeout(max(0.05, deadline - time.monotonic()))
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def read_head(self, timeout=15):
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            check(time.monotonic() < deadline, "timed out waiting for a response header")
            self._fill(deadline)
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1])
        hdrs = []
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdrs.append((k.strip(), v.strip()))
        return status, hdrs

    def read_response(self, method, target, timeout=15):
        deadline = time.monotonic() + timeout
        status, hdrs = self.read_head(timeout)
        while 100 <= status < 200:
            status, hdrs = self.read_head(timeout)
        n = 0
        for k, v in hdrs:
            if k.lower() == "content-length":
                n = int(v)
        if method == "HEAD" or status in (204, 304):
            n = 0
        while len(self.buf) < n:
            check(time.monotonic() < deadline, "timed out reading a response body")
            self._fill(deadline)
        body, self.buf = self.buf[:n], self.buf[n:]
        return Resp(method, target, status, hdrs, body)

    def closed_by_peer(self, timeout=15):
        """True once the server closes (EOF or reset) within the deadline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.sock.settimeout(max(0.05, deadline - time.monotonic()))
                if not self.sock.recv(65536):
                    return True
            except (ConnectionResetError, BrokenPipeError):
                return True
            except socket.timeout:
                return False
        return False

    def close(self):
        self.sock.close()


def request_head(c, method, target, headers):
    lines = [f"{method} {target} HTTP/1.1", f"Host: {c.hostport}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# ------------------------------------------------------------- push helpers


def push_blob(c, repo, data):
    d = sha(data)
    r = c.request("POST", with_query(f"/v2/{repo}/blobs/uploads/", digest=d), body=data,
                  headers=[("Content-Type", "application/octet-stream")])
    expect(r, 201, f"monolithic push of {d} to {repo}")
    return d


def descriptor(media_type, data, **extra):
    d = {"mediaType": media_type, "digest": sha(data), "size": len(data)}
    d.update(extra)
    return d


def put_manifest(c, repo, ref, body, media_type, headers=()):
    return c.request("PUT", f"/v2/{repo}/manifests/{ref}", body=body,
                     headers=[("Content-Type", media_type)] + list(headers))


def make_image(c, repo, tag=None, layers=1, seed_note="", annotations=None):
    """Pushes config + layers + an OCI manifest; returns (digest, bytes)."""
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "note": seed_note + rng.randbytes(4).hex(),
                      "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    push_blob(c, repo, cfg)
    lays = []
    for _ in range(layers):
        data = rand_bytes(rng.randint(100, 5000))
        push_blob(c, repo, data)
        lays.append(descriptor(OCI_LAYER, data))
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, cfg), "layers": lays}
    if annotations:
        m["annotations"] = annotations
    body = json.dumps(m, indent=2).encode()
    d = sha(body)
    r = put_manifest(c, repo, tag or d, body, OCI_MANIFEST)
    expect(r, 201, f"PUT image manifest to {repo}")
    return d, body


def upload_session(c, repo):
    r = c.request("POST", f"/v2/{repo}/blobs/uploads/")
    expect(r, 202, f"POST upload session in {repo}")
    loc = r.header("Location")
    check(loc, f"POST upload session: no Location: {r}")
    return c.path_of(loc)


def patch_chunk(c, loc, data, start, what):
    r = c.request("PATCH", loc, body=data,
                  headers=[("Content-Type", "application/octet-stream"),
                           ("Content-Range", f"{start}-{start + len(data) - 1}")])
    expect(r, 202, what)
    check(r.header("Location"), f"{what}: no Location: {r}")
    got = parse_range(r, what)
    check(got == start + len(data), f"{what}: Range says {got} bytes, want {start + len(data)}: {r}")
    return c.path_of(r.header("Location"))


def read_blob(c, repo, d, want, what):
    r = c.get(f"/v2/{repo}/blobs/{d}")
    expect(r, 200, what)
    check(r.body == want, f"{what}: blob bytes differ ({len(r.body)} bytes, want {len(want)})")
    check(sha(r.body) == d, f"{what}: blob hashes to {sha(r.body)}, not {d}")


# ------------------------------------------------------------------ groups

GROUPS = []


def group(title):
    def deco(fn):
        GROUPS.append((title, fn))
        return fn
    return deco


REPOS = set()  # every repository a check created, for the catalog check


def repo(name):
    REPOS.add(name)
    return name


@group("GET /v2/ answers 200 with Docker-Distribution-API-Version: registry/2.0")
def base(c):
    r = c.get("/v2/")
    expect(r, 200, "GET /v2/")
    expect_header(r, "Docker-Distribution-API-Version", "registry/2.0", "GET /v2/")


@group("push: monolithic POST ?digest= with body → 201 + Location + Docker-Content-Digest")
def push_monolithic(c):
    rp = repo("conf/push")
    data = rand_bytes(3000)
    d = sha(data)
    r = c.request("POST", with_query(f"/v2/{rp}/blobs/uploads/", digest=d), body=data,
                  headers=[("Content-Type", "application/octet-stream")])
    expect(r, 201, "monolithic POST")
    check(r.header("Location"), f"monolithic POST: no Location: {r}")
    expect_header(r, "Docker-Content-Digest", d, "monolithic POST")
    g = c.get(c.path_of(r.header("Location")))
    expect(g, 200, "GET the Location of a monolithic POST")
    check(g.body == data, "GET Location: bytes differ")
    h = c.head(f"/v2/{rp}/blobs/{d}")
    expect(h, 200, "HEAD after monolithic POST")
    check(h.header("Content-Length") == str(len(data)), f"HEAD Content-Length: {h}")


@group("push: POST then PUT ?digest= with the body → 201")
def push_post_put(c):
    rp = repo("conf/push")
    data = rand_bytes(5000)
    d = sha(data)
    loc = upload_session(c, rp)
    r = c.request("PUT", with_query(loc, digest=d), body=data, headers=[("Content-Type", "application/octet-stream")])
    expect(r, 201, "PUT ?digest= with body")
    check(r.header("Location"), f"PUT: no Location: {r}")
    expect_header(r, "Docker-Content-Digest", d, "PUT")
    read_blob(c, rp, d, data, "blob after POST+PUT")
    read_blob(c, rp, d, data, "blob after POST+PUT (again)")
    g = c.get(c.path_of(r.header("Location")))
    check(g.status == 200 and g.body == data, f"GET PUT's Location: {g}")


@group("push: chunked PATCHes with Content-Range → 202 + Range, GET status → 204, final PUT with/without last chunk")
def push_chunked(c):
    rp = repo("conf/chunked")
    # Two PATCHes, status, empty PUT.
    a, b = rand_bytes(70000), rand_bytes(33333)
    data = a + b
    d = sha(data)
    loc = upload_session(c, rp)
    loc = patch_chunk(c, loc, a, 0, "first PATCH")
    loc = patch_chunk(c, loc, b, len(a), "second PATCH")
    s = c.get(loc)
    expect(s, 204, "GET upload status")
    check(parse_range(s, "GET upload status") == len(data), f"upload status Range: {s}")
    check(s.header("Location"), f"upload status: no Location: {s}")
    check(s.header("Docker-Upload-UUID"), f"upload status: no Docker-Upload-UUID: {s}")
    r = c.request("PUT", with_query(loc, digest=d), body=b"")
    expect(r, 201, "closing PUT without a body")
    expect_header(r, "Docker-Content-Digest", d, "closing PUT")
    read_blob(c, rp, d, data, "chunked blob")

    # Last chunk in the PUT, with Content-Range (as the conformance suite sends it).
    a, b = rand_bytes(40000), rand_bytes(1234)
    d = sha(a + b)
    loc = upload_session(c, rp)
    loc = patch_chunk(c, loc, a, 0, "PATCH before PUT-with-chunk")
    r = c.request("PUT", with_query(loc, digest=d), body=b,
                  headers=[("Content-Type", "application/octet-stream"),
                           ("Content-Range", f"{len(a)}-{len(a) + len(b) - 1}")])
    expect(r, 201, "closing PUT with last chunk and Content-Range")
    read_blob(c, rp, d, a + b, "blob closed by PUT with a Content-Range chunk")

    # Last chunk in the PUT without Content-Range.
    a, b = rand_bytes(20000), rand_bytes(777)
    d = sha(a + b)
    loc = upload_session(c, rp)
    loc = patch_chunk(c, loc, a, 0, "PATCH before plain PUT-with-chunk")
    r = c.request("PUT", with_query(loc, digest=d), body=b, headers=[("Content-Type", "application/octet-stream")])
    expect(r, 201, "closing PUT with last chunk, no Content-Range")
    read_blob(c, rp, d, a + b, "blob closed by PUT with a plain chunk")

    # Many small chunks.
    parts = [rand_bytes(rng.randint(1, 3000)) for _ in range(12)]
    data = b"".join(parts)
    loc = upload_session(c, rp)
    off = 0
    for i, p in enumerate(parts):
        loc = patch_chunk(c, loc, p, off, f"small PATCH #{i}")
        off += len(p)
    r = c.request("PUT", with_query(loc, digest=sha(data)))
    expect(r, 201, "closing PUT after 12 small chunks")
    read_blob(c, rp, sha(data), data, "blob of 12 small chunks")


@group("push: streamed PATCH (Transfer-Encoding: chunked, no Content-Range) then empty PUT → 201")
def push_streamed(c):
    rp = repo("conf/streamed")
    pieces = [rand_bytes(n) for n in (1000, 7000, 65536, 3, 200000)]
    more = [rand_bytes(n) for n in (4096, 10)]
    data = b"".join(pieces) + b"".join(more)
    loc = upload_session(c, rp)
    r = c.request("PATCH", loc, chunks=pieces, headers=[("Content-Type", "application/octet-stream")])
    expect(r, 202, "streamed PATCH")
    n = sum(map(len, pieces))
    check(parse_range(r, "streamed PATCH") == n, f"streamed PATCH Range: {r}")
    loc = c.path_of(r.header("Location"))
    r = c.request("PATCH", loc, chunks=more, headers=[("Content-Type", "application/octet-stream")])
    expect(r, 202, "second streamed PATCH")
    check(parse_range(r, "second streamed PATCH") == len(data), f"second streamed PATCH Range: {r}")
    loc = c.path_of(r.header("Location"))
    r = c.request("PUT", with_query(loc, digest=sha(data)), body=b"")
    expect(r, 201, "empty PUT after streamed PATCHes")
    read_blob(c, rp, sha(data), data, "streamed blob")

    # Streamed PATCH with Content-Length and no Content-Range (docker's daemon does this).
    data = rand_bytes(90000)
    loc = upload_session(c, rp)
    r = c.request("PATCH", loc, body=data, headers=[("Content-Type", "application/octet-stream")])
    expect(r, 202, "PATCH with Content-Length and no Content-Range")
    check(parse_range(r, "PATCH without Content-Range") == len(data), f"Range: {r}")
    r = c.request("PUT", with_query(c.path_of(r.header("Location")), digest=sha(data)))
    expect(r, 201, "empty PUT after PATCH without Content-Range")
    read_blob(c, rp, sha(data), data, "blob pushed with one PATCH without Content-Range")


@group("push: Expect: 100-continue on a PATCH gets 100 Continue, then 202")
def push_expect_continue(c):
    rp = repo("conf/expect")
    data = rand_bytes(100000)
    loc = upload_session(c, rp)
    raw = Raw(c)
    try:
        raw.send(request_head(c, "PATCH", loc, [
            ("Content-Type", "application/octet-stream"), ("Content-Length", str(len(data))),
            ("Content-Range", f"0-{len(data) - 1}"), ("Expect", "100-continue")]))
        status, hdrs = raw.read_head(timeout=10)
        check(status == 100, f"PATCH with Expect: 100-continue: want 100 Continue before the body, got {status} {hdrs}")
        raw.send(data)
        r = raw.read_response("PATCH", loc)
    finally:
        raw.close()
    expect(r, 202, "PATCH after 100 Continue")
    check(parse_range(r, "PATCH after 100 Continue") == len(data), f"Range: {r}")
    # Same for a monolithic POST.
    data2 = rand_bytes(5000)
    target = with_query(f"/v2/{rp}/blobs/uploads/", digest=sha(data2))
    raw = Raw(c)
    try:
        raw.send(request_head(c, "POST", target, [
            ("Content-Type", "application/octet-stream"), ("Content-Length", str(len(data2))),
            ("Expect", "100-continue")]))
        status, hdrs = raw.read_head(timeout=10)
        check(status == 100, f"POST with Expect: 100-continue: want 100, got {status} {hdrs}")
        raw.send(data2)
        r2 = raw.read_response("POST", target)
    finally:
        raw.close()
    expect(r2, 201, "monolithic POST after 100 Continue")
    r = c.request("PUT", with_query(c.path_of(r.header("Location")), digest=sha(data)))
    expect(r, 201, "PUT after Expect PATCH")
    read_blob(c, rp, sha(data), data, "blob sent after 100 Continue")
    read_blob(c, rp, sha(data2), data2, "monolithic blob sent after 100 Continue")


@group("push: PATCH with a gap or an overlap → 416 with the current Range; the session then continues")
def push_416(c):
    rp = repo("conf/range")
    a, b = rand_bytes(10000), rand_bytes(5000)
    loc = upload_session(c, rp)
    loc = patch_chunk(c, loc, a, 0, "first PATCH")
    n = len(a)
    for name, start in (("gap", n + 10), ("overlap", n - 5), ("restart at 0", 0)):
        r = c.request("PATCH", loc, body=b, headers=[("Content-Type", "application/octet-stream"),
                                                     ("Content-Range", f"{start}-{start + len(b) - 1}")])
        expect(r, 416, f"PATCH with a {name} (Content-Range {start}-..., session at {n})")
        check(parse_range(r, f"416 for a {name}") == n, f"416 for a {name}: Range must show 0-{n - 1}: {r}")
        s = c.get(loc)
        expect(s, 204, f"upload status after a {name}")
        check(parse_range(s, "status") == n, f"after a {name} the session moved: {s}")
    loc = patch_chunk(c, loc, b, n, "PATCH continuing after 416s")
    d = sha(a + b)
    r = c.request("PUT", with_query(loc, digest=d))
    expect(r, 201, "closing PUT after 416s")
    read_blob(c, rp, d, a + b, "blob after 416s")
    # A first PATCH that does not start at 0.
    loc = upload_session(c, rp)
    r = c.request("PATCH", loc, body=b, headers=[("Content-Range", f"5-{5 + len(b) - 1}")])
    expect(r, 416, "first PATCH starting at 5")
    # Only the spec's `<start>-<end>` form: Range syntax and the response form are refused, nothing is kept.
    loc = upload_session(c, rp)
    for form in (f"bytes=0-{len(b) - 1}", f"bytes 0-{len(b) - 1}/{len(b)}", f"0-{len(b) - 1}/{len(b)}"):
        expect_error(c.request("PATCH", loc, body=b, headers=[("Content-Range", form)]), 400,
                     "BLOB_UPLOAD_INVALID", f"PATCH with Content-Range {form!r}")
    # The session kept nothing: the same bytes at 0 in the spec's form are the whole blob.
    loc = patch_chunk(c, loc, b, 0, "PATCH at 0 after refused Content-Range forms")
    r = c.request("PUT", with_query(loc, digest=sha(b)))
    expect(r, 201, "closing PUT after refused Content-Range forms")
    read_blob(c, rp, sha(b), b, "blob after refused Content-Range forms")


@group("push: wrong digest on close → 400 DIGEST_INVALID, nothing stored, session gone")
def push_wrong_digest(c):
    rp = repo("conf/baddigest")
    data, other = rand_bytes(8000), rand_bytes(10)
    loc = upload_session(c, rp)
    loc = patch_chunk(c, loc, data, 0, "PATCH")
    r = c.request("PUT", with_query(loc, digest=sha(other)))
    expect_error(r, 400, "DIGEST_INVALID", "PUT with a digest the bytes do not hash to")
    expect_error(c.head(f"/v2/{rp}/blobs/{sha(other)}"), 404, "BLOB_UNKNOWN", "HEAD the claimed digest")
    expect_error(c.get(f"/v2/{rp}/blobs/{sha(other)}"), 404, "BLOB_UNKNOWN", "GET the claimed digest")
    expect_error(c.head(f"/v2/{rp}/blobs/{sha(data)}"), 404, "BLOB_UNKNOWN", "HEAD the real digest")
    expect_error(c.get(loc), 404, "BLOB_UPLOAD_UNKNOWN", "upload status after DIGEST_INVALID")
    # Monolithic.
    r = c.request("POST", with_query(f"/v2/{rp}/blobs/uploads/", digest=sha(other)), body=data)
    expect_error(r, 400, "DIGEST_INVALID", "monolithic POST with a wrong digest")
    expect_error(c.head(f"/v2/{rp}/blobs/{sha(other)}"), 404, "BLOB_UNKNOWN", "HEAD after bad monolithic POST")
    # POST then PUT with body.
    loc = upload_session(c, rp)
    r = c.request("PUT", with_query(loc, digest=sha(other)), body=data)
    expect_error(r, 400, "DIGEST_INVALID", "PUT with body and a wrong digest")
    expect_error(c.get(loc), 404, "BLOB_UPLOAD_UNKNOWN", "session after a PUT with a wrong digest")
    expect_error(c.head(f"/v2/{rp}/blobs/{sha(data)}"), 404, "BLOB_UNKNOWN", "HEAD after PUT with wrong digest")


@group("push: unknown upload id → 404 BLOB_UPLOAD_UNKNOWN; sessions belong to their repository")
def upload_unknown(c):
    rp = repo("conf/uploads")
    import uuid
    for uid in (str(uuid.uuid4()), "not-a-uuid", "0" * 36):
        loc = f"/v2/{rp}/blobs/uploads/{uid}"
        expect_error(c.get(loc), 404, "BLOB_UPLOAD_UNKNOWN", f"GET unknown upload {uid}")
        expect_error(c.request("PATCH", loc, body=b"abc"), 404, "BLOB_UPLOAD_UNKNOWN", f"PATCH unknown upload {uid}")
        expect_error(c.request("PUT", with_query(loc, digest=sha(b"abc")), body=b"abc"), 404, "BLOB_UPLOAD_UNKNOWN",
                     f"PUT unknown upload {uid}")
        expect_error(c.request("DELETE", loc), 404, "BLOB_UPLOAD_UNKNOWN", f"DELETE unknown upload {uid}")
    loc = upload_session(c, rp)
    uid = loc.split("?")[0].rsplit("/", 1)[1]
    other = f"/v2/{repo('conf/uploads-other')}/blobs/uploads/{uid}"
    expect_error(c.get(other), 404, "BLOB_UPLOAD_UNKNOWN", "another repository's upload session")
    expect_error(c.request("PATCH", other, body=b"x"), 404, "BLOB_UPLOAD_UNKNOWN", "PATCH another repo's session")
    expect(c.get(loc), 204, "own session still there")


@group("push: DELETE upload → 204, then 404 BLOB_UPLOAD_UNKNOWN")
def upload_cancel(c):
    rp = repo("conf/uploads")
    loc = upload_session(c, rp)
    loc = patch_chunk(c, loc, rand_bytes(1000), 0, "PATCH")
    expect(c.request("DELETE", loc), 204, "DELETE upload session")
    expect_error(c.get(loc), 404, "BLOB_UPLOAD_UNKNOWN", "status of a cancelled session")
    expect_error(c.request("PATCH", loc, body=b"x", headers=[("Content-Range", "1000-1000")]), 404,
                 "BLOB_UPLOAD_UNKNOWN", "PATCH a cancelled session")
    expect_error(c.request("DELETE", loc), 404, "BLOB_UPLOAD_UNKNOWN", "DELETE a cancelled session twice")


@group("pull: blob HEAD/GET → 200 with Content-Length + Docker-Content-Digest; Range → 206; bad range → 416")
def blob_read(c):
    rp = repo("conf/pull")
    data = rand_bytes(1000)
    d = push_blob(c, rp, data)
    h = c.head(f"/v2/{rp}/blobs/{d}")
    expect(h, 200, "HEAD blob")
    check(h.header("Content-Length") == "1000", f"HEAD Content-Length: {h}")
    expect_header(h, "Docker-Content-Digest", d, "HEAD blob")
    check(h.body == b"", "HEAD has a body")
    g = c.get(f"/v2/{rp}/blobs/{d}")
    expect(g, 200, "GET blob")
    check(g.header("Content-Length") == "1000", f"GET Content-Length: {g}")
    expect_header(g, "Docker-Content-Digest", d, "GET blob")
    check(g.body == data, "GET blob bytes differ")
    r = c.get(f"/v2/{rp}/blobs/{d}", headers=[("Range", "bytes=10-19")])
    expect(r, 206, "GET Range: bytes=10-19")
    expect_header(r, "Content-Range", "bytes 10-19/1000", "GET Range: bytes=10-19")
    check(r.body == data[10:20], f"range bytes differ: {r.body!r} vs {data[10:20]!r}")
    r = c.get(f"/v2/{rp}/blobs/{d}", headers=[("Range", "bytes=990-")])
    expect(r, 206, "GET Range: bytes=990-")
    check(r.body == data[990:], "open range bytes differ")
    r = c.get(f"/v2/{rp}/blobs/{d}", headers=[("Range", "bytes=-5")])
    expect(r, 206, "GET Range: bytes=-5")
    check(r.body == data[-5:], "suffix range bytes differ")
    r = c.get(f"/v2/{rp}/blobs/{d}", headers=[("Range", "bytes=2000-2010")])
    expect(r, 416, "GET Range beyond the end")
    expect_error(c.get(f"/v2/{rp}/blobs/{fake_digest()}"), 404, "BLOB_UNKNOWN", "GET unknown blob")
    expect_error(c.head(f"/v2/{rp}/blobs/{fake_digest()}"), 404, "BLOB_UNKNOWN", "HEAD unknown blob")
    # An empty blob.
    d0 = push_blob(c, rp, b"")
    h = c.head(f"/v2/{rp}/blobs/{d0}")
    expect(h, 200, "HEAD empty blob")
    check(h.header("Content-Length") == "0", f"empty blob Content-Length: {h}")
    expect(c.get(f"/v2/{rp}/blobs/{d0}"), 200, "GET empty blob")


@group("content management: DELETE blob → 202 then 404 BLOB_UNKNOWN")
def blob_delete(c):
    rp = repo("conf/blobdel")
    data = rand_bytes(2000)
    d = push_blob(c, rp, data)
    expect(c.request("DELETE", f"/v2/{rp}/blobs/{d}"), 202, "DELETE blob")
    expect_error(c.head(f"/v2/{rp}/blobs/{d}"), 404, "BLOB_UNKNOWN", "HEAD deleted blob")
    expect_error(c.get(f"/v2/{rp}/blobs/{d}"), 404, "BLOB_UNKNOWN", "GET deleted blob")
    expect_error(c.request("DELETE", f"/v2/{rp}/blobs/{d}"), 404, "BLOB_UNKNOWN", "DELETE deleted blob")
    # It can be pushed again.
    push_blob(c, rp, data)
    read_blob(c, rp, d, data, "blob re-pushed after delete")


@group("repositories are isolated; cross-repo mount → 201; mount from a repo lacking the blob → 202 session")
def blob_mount(c):
    ra, rb, rc = repo("conf/mount-a"), repo("conf/mount-b"), repo("conf/mount-c")
    data = rand_bytes(4000)
    d = push_blob(c, ra, data)
    expect_error(c.head(f"/v2/{rb}/blobs/{d}"), 404, "BLOB_UNKNOWN", "HEAD in repo B of a blob pushed to A")
    expect_error(c.get(f"/v2/{rb}/blobs/{d}"), 404, "BLOB_UNKNOWN", "GET in repo B of a blob pushed to A")
    r = c.request("POST", with_query(f"/v2/{rb}/blobs/uploads/", mount=d, **{"from": ra}))
    expect(r, 201, "mount from A into B")
    check(r.header("Location"), f"mount: no Location: {r}")
    expect_header(r, "Docker-Content-Digest", d, "mount")
    read_blob(c, rb, d, data, "mounted blob in B")
    # Mount from a repository that lacks it → ordinary session.
    data2 = rand_bytes(3000)
    d2 = sha(data2)
    r = c.request("POST", with_query(f"/v2/{rc}/blobs/uploads/", mount=d2, **{"from": ra}))
    expect(r, 202, "mount of a blob the source lacks")
    loc = c.path_of(r.header("Location") or "")
    r = c.request("PUT", with_query(loc, digest=d2), body=data2)
    expect(r, 201, "upload through the session a failed mount opened")
    read_blob(c, rc, d2, data2, "blob uploaded after failed mount")
    # Mount from a repository that does not exist.
    r = c.request("POST", with_query(f"/v2/{rc}/blobs/uploads/", mount=d, **{"from": "conf/nothing-here"}))
    expect(r, 202, "mount from a repository that does not exist")
    expect_error(c.head(f"/v2/{rc}/blobs/{d}"), 404, "BLOB_UNKNOWN", "blob must not appear after a failed mount")
    # Mount without from: either mounted (201, automatic discovery) or a session (202).
    r = c.request("POST", with_query(f"/v2/{rc}/blobs/uploads/", mount=d))
    expect(r, (201, 202), "mount without from")
    # Deleting in A leaves B's link.
    expect(c.request("DELETE", f"/v2/{ra}/blobs/{d}"), 202, "DELETE blob in A")
    expect_error(c.head(f"/v2/{ra}/blobs/{d}"), 404, "BLOB_UNKNOWN", "blob deleted in A")
    read_blob(c, rb, d, data, "B's mounted blob after A deleted its link")


MANIFEST_STATE = {}


def check_manifest_served(c, rp, ref, body, media_type, what, accept=()):
    hdrs = [("Accept", a) for a in accept]
    g = c.get(f"/v2/{rp}/manifests/{ref}", headers=hdrs)
    expect(g, 200, f"GET {what}")
    check(g.body == body, f"GET {what}: bytes differ from what was pushed ({len(g.body)} vs {len(body)})")
    expect_header(g, "Content-Type", media_type, f"GET {what}")
    expect_header(g, "Docker-Content-Digest", sha(body), f"GET {what}")
    h = c.head(f"/v2/{rp}/manifests/{ref}", headers=hdrs)
    expect(h, 200, f"HEAD {what}")
    expect_header(h, "Content-Type", media_type, f"HEAD {what}")
    expect_header(h, "Docker-Content-Digest", sha(body), f"HEAD {what}")
    check(h.header("Content-Length") == str(len(body)), f"HEAD {what}: Content-Length: {h}")


@group("manifests: OCI manifest, OCI index, Docker schema2, Docker list, artifact with subject → 201 and served back")
def manifests_push(c):
    rp = repo("conf/manifests")
    st = MANIFEST_STATE
    # OCI image manifest by tag.
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    l1, l2 = rand_bytes(3000), rand_bytes(4000)
    for b in (cfg, l1, l2):
        push_blob(c, rp, b)
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, cfg),
         "layers": [descriptor(OCI_LAYER, l1), descriptor(OCI_LAYER, l2)]}
    body = json.dumps(m, indent=3).encode()  # indentation must survive byte for byte
    r = put_manifest(c, rp, "v1", body, OCI_MANIFEST)
    expect(r, 201, "PUT OCI manifest by tag")
    check(r.header("Location"), f"PUT OCI manifest: no Location: {r}")
    expect_header(r, "Docker-Content-Digest", sha(body), "PUT OCI manifest")
    g = c.get(c.path_of(r.header("Location")))
    check(g.status == 200 and g.body == body, f"GET the Location of PUT manifest: {g}")
    st["image"] = (sha(body), body)
    for ref in ("v1", sha(body)):
        check_manifest_served(c, rp, ref, body, OCI_MANIFEST, f"OCI manifest by {ref}")

    # OCI index: children pushed first by digest.
    children = []
    for arch in ("amd64", "arm64"):
        ccfg = json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        lay = rand_bytes(2000)
        push_blob(c, rp, ccfg)
        push_blob(c, rp, lay)
        cm = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, ccfg),
                         "layers": [descriptor(OCI_LAYER, lay)]}).encode()
        r = put_manifest(c, rp, sha(cm), cm, OCI_MANIFEST)
        expect(r, 201, f"PUT {arch} child by digest")
        expect_header(r, "Docker-Content-Digest", sha(cm), f"PUT {arch} child by digest")
        children.append(descriptor(OCI_MANIFEST, cm, platform={"architecture": arch, "os": "linux"}))
    idx = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
    r = put_manifest(c, rp, "multi", idx, OCI_INDEX)
    expect(r, 201, "PUT OCI index by tag")
    expect_header(r, "Docker-Content-Digest", sha(idx), "PUT OCI index")
    st["index"] = (sha(idx), idx)
    for ref in ("multi", sha(idx)):
        check_manifest_served(c, rp, ref, idx, OCI_INDEX, f"OCI index by {ref}")

    # Docker schema2 manifest.
    dcfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {}}).encode()
    dl = rand_bytes(2500)
    push_blob(c, rp, dcfg)
    push_blob(c, rp, dl)
    dm = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": descriptor(DOCKER_CONFIG, dcfg),
                     "layers": [descriptor(DOCKER_LAYER, dl)]}).encode()
    r = put_manifest(c, rp, "docker", dm, DOCKER_MANIFEST)
    expect(r, 201, "PUT Docker schema2 manifest")
    expect_header(r, "Docker-Content-Digest", sha(dm), "PUT Docker schema2 manifest")
    st["docker"] = (sha(dm), dm)
    for ref in ("docker", sha(dm)):
        check_manifest_served(c, rp, ref, dm, DOCKER_MANIFEST, f"Docker manifest by {ref}")

    # Docker manifest list.
    dlist = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [
        descriptor(DOCKER_MANIFEST, dm, platform={"architecture": "amd64", "os": "linux"})]}).encode()
    r = put_manifest(c, rp, "dockerlist", dlist, DOCKER_LIST)
    expect(r, 201, "PUT Docker manifest list")
    st["dockerlist"] = (sha(dlist), dlist)
    for ref in ("dockerlist", sha(dlist)):
        check_manifest_served(c, rp, ref, dlist, DOCKER_LIST, f"Docker list by {ref}")

    # OCI artifact with a subject, pushed by digest.
    empty = b"{}"
    push_blob(c, rp, empty)
    sbom = json.dumps({"spdxVersion": "SPDX-2.3", "name": "x"}).encode()
    push_blob(c, rp, sbom)
    art = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sbom.v1",
                      "config": descriptor(OCI_EMPTY, empty),
                      "layers": [descriptor("application/spdx+json", sbom)],
                      "subject": descriptor(OCI_MANIFEST, body),
                      "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z",
                                      "com.example.kind": "sbom"}}).encode()
    r = put_manifest(c, rp, sha(art), art, OCI_MANIFEST)
    expect(r, 201, "PUT artifact with subject")
    expect_header(r, "OCI-Subject", sha(body), "PUT artifact with subject")
    expect_header(r, "Docker-Content-Digest", sha(art), "PUT artifact")
    check(r.header("Location"), f"PUT artifact: no Location: {r}")
    st["artifact"] = (sha(art), art)
    check_manifest_served(c, rp, sha(art), art, OCI_MANIFEST, "artifact by digest")


@group("manifests: six separate Accept lines (as Harbor sends) negotiate every manifest type")
def manifests_accept(c):
    rp = "conf/manifests"
    st = MANIFEST_STATE
    check(len(st) == 5, "needs the manifests group to have pushed everything")
    types = {"image": OCI_MANIFEST, "index": OCI_INDEX, "docker": DOCKER_MANIFEST, "dockerlist": DOCKER_LIST,
             "artifact": OCI_MANIFEST}
    for k, (d, body) in st.items():
        check_manifest_served(c, rp, d, body, types[k], f"{k} with six Accept lines", accept=HARBOR_ACCEPT)
        # One Accept line naming only that type.
        check_manifest_served(c, rp, d, body, types[k], f"{k} with Accept: {types[k]}", accept=[types[k]])
        # One comma-separated Accept line (what docker sends).
        check_manifest_served(c, rp, d, body, types[k], f"{k} with a comma-separated Accept",
                              accept=[", ".join(HARBOR_ACCEPT[:4])])
    for ref in ("v1", "multi", "docker", "dockerlist"):
        g = c.get(f"/v2/{rp}/manifests/{ref}", headers=[("Accept", a) for a in HARBOR_ACCEPT])
        expect(g, 200, f"GET tag {ref} with six Accept lines")


@group("manifests: missing blob/child → MANIFEST_BLOB_UNKNOWN; bad JSON → MANIFEST_INVALID; bad digest → DIGEST_INVALID")
def manifests_invalid(c):
    rp = repo("conf/manifests-bad")
    cfg = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    push_blob(c, rp, cfg)
    missing = rand_bytes(100)
    m = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, cfg),
                    "layers": [descriptor(OCI_LAYER, missing)]}).encode()
    expect_error(put_manifest(c, rp, "missing-layer", m, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN",
                 "manifest referencing a layer never pushed")
    m2 = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, missing),
                     "layers": []}).encode()
    expect_error(put_manifest(c, rp, "missing-config", m2, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN",
                 "manifest referencing a config never pushed")
    # Blob present in another repository only.
    other = rand_bytes(100)
    push_blob(c, repo("conf/manifests-other"), other)
    m3 = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, cfg),
                     "layers": [descriptor(OCI_LAYER, other)]}).encode()
    expect_error(put_manifest(c, rp, "other-repo-layer", m3, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN",
                 "manifest referencing a layer of another repository")
    idx = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": fake_digest(), "size": 500,
         "platform": {"architecture": "amd64", "os": "linux"}}]}).encode()
    expect_error(put_manifest(c, rp, "missing-child", idx, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN",
                 "index referencing a missing child")
    for bad in (b"{not json", b"", b"[]", b'{"schemaVersion": 2, "mediaType": "' + OCI_MANIFEST.encode() + b'"}'):
        expect_error(put_manifest(c, rp, "bad-json", bad, OCI_MANIFEST), 400, "MANIFEST_INVALID",
                     f"malformed manifest {bad[:40]!r}")
    for ref in ("missing-layer", "missing-config", "missing-child", "bad-json"):
        expect_error(c.get(f"/v2/{rp}/manifests/{ref}"), 404, "MANIFEST_UNKNOWN", f"rejected manifest {ref} stored")
    good = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, cfg),
                       "layers": []}).encode()
    r = put_manifest(c, rp, sha(good + b" "), good, OCI_MANIFEST)
    expect_error(r, 400, "DIGEST_INVALID", "PUT by digest with a body that hashes differently")
    expect_error(c.get(f"/v2/{rp}/manifests/{sha(good)}"), 404, "MANIFEST_UNKNOWN", "mismatched manifest stored")
    expect_error(c.get(f"/v2/{rp}/manifests/nope"), 404, "MANIFEST_UNKNOWN", "GET unknown tag")
    expect_error(c.head(f"/v2/{rp}/manifests/nope"), 404, "MANIFEST_UNKNOWN", "HEAD unknown tag")
    expect_error(c.get(f"/v2/{rp}/manifests/{fake_digest()}"), 404, "MANIFEST_UNKNOWN", "GET unknown digest")
    expect(put_manifest(c, rp, "good", good, OCI_MANIFEST), 201, "a valid manifest after all the bad ones")


@group("manifests: 4 MiB manifest accepted; larger → 413/400 with an error body; server stays up")
def manifests_size(c):
    rp = repo("conf/big")
    cfg = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    push_blob(c, rp, cfg)

    def padded(total):
        base = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, cfg), "layers": [],
                "annotations": {"pad": ""}}
        n = total - len(json.dumps(base).encode())
        base["annotations"]["pad"] = "x" * n
        b = json.dumps(base).encode()
        assert len(b) == total, (len(b), total)
        return b

    body = padded(4 * MIB)
    r = put_manifest(c, rp, "four-mib", body, OCI_MANIFEST)
    expect(r, 201, "PUT a manifest of exactly 4 MiB")
    g = c.get(f"/v2/{rp}/manifests/four-mib")
    check(g.status == 200 and g.body == body, f"4 MiB manifest not served back intact: {g.status} {len(g.body)}")
    for size in (4 * MIB + 1, 5 * MIB):
        big = padded(size)
        r = put_manifest(c, rp, "too-big", big, OCI_MANIFEST)
        expect_error(r, (413, 400), ("SIZE_INVALID", "MANIFEST_INVALID"), f"PUT a manifest of {size} bytes")
        expect(c.get("/v2/"), 200, "GET /v2/ after an oversized manifest")
        expect_error(c.get(f"/v2/{rp}/manifests/too-big"), 404, "MANIFEST_UNKNOWN", "oversized manifest stored")
    # Oversized and streamed without Content-Length.
    big = padded(5 * MIB)
    r = c.request("PUT", f"/v2/{rp}/manifests/too-big", chunks=[big[i:i + 65536] for i in range(0, len(big), 65536)],
                  headers=[("Content-Type", OCI_MANIFEST)])
    expect_error(r, (413, 400), ("SIZE_INVALID", "MANIFEST_INVALID"), "chunked PUT of a 5 MiB manifest")
    expect(c.get("/v2/"), 200, "GET /v2/ after an oversized chunked manifest")


@group("content discovery: tags list sorted, ?n= pages with Link rel=next, ?last=, unknown repo → 404 NAME_UNKNOWN")
def tags_list(c):
    rp = repo("conf/tags")
    d, body = make_image(c, rp)
    tags = ["v2", "a1", "latest", "b-2", "Z9", "1.0", "a1.1", "_x"]
    for t in tags:
        expect(put_manifest(c, rp, t, body, OCI_MANIFEST), 201, f"PUT tag {t}")
    want = sorted(tags)
    r = c.get(f"/v2/{rp}/tags/list")
    expect(r, 200, "GET tags/list")
    j = r.json()
    check(j.get("name") == rp, f"tags/list name: {j}")
    check(j.get("tags") == want, f"tags/list must be sorted lexically: got {j.get('tags')}, want {want}")
    r = c.get(f"/v2/{rp}/tags/list?n=2")
    expect(r, 200, "GET tags/list?n=2")
    check(r.json()["tags"] == want[:2], f"first page: {r}")
    got = list(r.json()["tags"])
    pages = 1
    while r.header("Link"):
        link = r.header("Link")
        check(link.startswith("<") and 'rel="next"' in link, f"malformed Link header {link!r}")
        url = link[1:link.index(">")]
        r = c.get(c.path_of(url))
        expect(r, 200, f"GET Link {url}")
        page = r.json()["tags"]
        check(len(page) <= 2, f"page from {url} has {len(page)} > 2 tags")
        got += page
        pages += 1
        check(pages <= 10, "Link pagination does not end")
    check(got == want, f"following Link pages gives {got}, want {want}")
    check(pages == 4, f"8 tags with n=2 should take 4 pages, took {pages}")
    r = c.get(f"/v2/{rp}/tags/list?n=2&last=a1")
    expect(r, 200, "GET tags/list?n=2&last=a1")
    i = want.index("a1")
    check(r.json()["tags"] == want[i + 1:i + 3], f"?n=2&last=a1: {r}")
    r = c.get(f"/v2/{rp}/tags/list?last=latest")
    check(r.json()["tags"] == want[want.index("latest") + 1:], f"?last=latest: {r}")
    r = c.get(f"/v2/{rp}/tags/list?n=100")
    check(r.json()["tags"] == want and not r.header("Link"), f"?n=100 must return all without Link: {r}")
    expect_error(c.get("/v2/conf/no-such-repo/tags/list"), 404, "NAME_UNKNOWN", "tags of an unknown repository")


@group("content discovery: catalog sorted with ?n=/?last= and Link pagination")
def catalog(c):
    r = c.get("/v2/_catalog")
    expect(r, 200, "GET /v2/_catalog")
    repos = r.json().get("repositories")
    check(isinstance(repos, list), f"catalog: {r}")
    check(repos == sorted(repos), f"catalog not sorted: {repos}")
    # Repositories that hold something must be listed.
    for rp in ("conf/push", "conf/tags", "conf/manifests", "conf/chunked"):
        check(rp in repos, f"catalog lacks {rp}: {repos}")
    check(len(set(repos)) == len(repos), f"catalog has duplicates: {repos}")
    r = c.get("/v2/_catalog?n=2")
    expect(r, 200, "GET /v2/_catalog?n=2")
    got = list(r.json()["repositories"])
    check(got == repos[:2], f"catalog first page {got}, want {repos[:2]}")
    pages = 1
    while r.header("Link"):
        link = r.header("Link")
        check(link.startswith("<") and 'rel="next"' in link, f"malformed Link {link!r}")
        r = c.get(c.path_of(link[1:link.index(">")]))
        expect(r, 200, f"GET catalog Link {link}")
        got += r.json()["repositories"]
        pages += 1
        check(pages <= len(repos) + 2, "catalog pagination does not end")
    check(got == repos, f"catalog pages {got} != {repos}")
    r = c.get(with_query("/v2/_catalog", n=2, last=repos[0]))
    check(r.json()["repositories"] == repos[1:3], f"catalog ?n=2&last={repos[0]}: {r}")


@group("referrers: lists artifacts with artifactType/annotations, filters with OCI-Filters-Applied, empty never 404")
def referrers(c):
    rp = repo("conf/refs")
    subj, sbody = make_image(c, rp, tag="base")
    empty = b"{}"
    push_blob(c, rp, empty)
    arts = {}
    for kind, atype, cfg_type in (("sbom", "application/vnd.example.sbom.v1", OCI_EMPTY),
                                  ("sig", None, "application/vnd.example.sig.config.v1+json")):
        blob = json.dumps({"kind": kind, "n": rng.random()}).encode()
        push_blob(c, rp, blob)
        cfg = empty
        if cfg_type != OCI_EMPTY:
            cfg = json.dumps({"sig": kind}).encode()
            push_blob(c, rp, cfg)
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(cfg_type, cfg),
             "layers": [descriptor("application/octet-stream", blob)],
             "subject": descriptor(OCI_MANIFEST, sbody), "annotations": {"com.example.kind": kind}}
        if atype:
            m["artifactType"] = atype
        body = json.dumps(m).encode()
        r = put_manifest(c, rp, sha(body), body, OCI_MANIFEST)
        expect(r, 201, f"PUT {kind} referrer")
        expect_header(r, "OCI-Subject", subj, f"PUT {kind} referrer")
        arts[kind] = (sha(body), body, atype or cfg_type)
    r = c.get(f"/v2/{rp}/referrers/{subj}")
    expect(r, 200, "GET referrers")
    ct = (r.header("Content-Type") or "").split(";")[0].strip()
    check(ct == OCI_INDEX, f"referrers Content-Type {ct!r}, want {OCI_INDEX}")
    j = r.json()
    check(j.get("schemaVersion") == 2 and j.get("mediaType") == OCI_INDEX, f"referrers is not an image index: {j}")
    byd = {m["digest"]: m for m in j["manifests"]}
    check(len(j["manifests"]) == 2, f"want 2 referrers, got {j['manifests']}")
    for kind, (d, body, atype) in arts.items():
        check(d in byd, f"referrers lacks the {kind} artifact {d}: {j}")
        desc = byd[d]
        check(desc.get("mediaType") == OCI_MANIFEST, f"{kind} referrer mediaType: {desc}")
        check(desc.get("size") == len(body), f"{kind} referrer size: {desc}")
        check(desc.get("artifactType") == atype, f"{kind} referrer artifactType {desc.get('artifactType')!r}, "
                                                 f"want {atype!r} (the config mediaType when artifactType is absent)")
        check(desc.get("annotations") == {"com.example.kind": kind}, f"{kind} referrer annotations: {desc}")
    r = c.get(with_query(f"/v2/{rp}/referrers/{subj}", artifactType="application/vnd.example.sbom.v1"))
    expect(r, 200, "GET referrers?artifactType=")
    expect_header(r, "OCI-Filters-Applied", "artifactType", "filtered referrers")
    got = [m["digest"] for m in r.json()["manifests"]]
    check(got == [arts["sbom"][0]], f"artifactType filter: got {got}, want only the sbom")
    r = c.get(with_query(f"/v2/{rp}/referrers/{subj}", artifactType="application/none"))
    expect(r, 200, "GET referrers with an artifactType nobody has")
    expect_header(r, "OCI-Filters-Applied", "artifactType", "filtered referrers (no match)")
    check(r.json()["manifests"] == [], f"no match must give empty manifests: {r}")
    for what, d in (("an artifact with no referrers", arts["sbom"][0]), ("a digest never pushed", fake_digest())):
        r = c.get(f"/v2/{rp}/referrers/{d}")
        expect(r, 200, f"referrers of {what}")
        check(r.json().get("manifests") == [], f"referrers of {what} must be empty: {r}")
        ct = (r.header("Content-Type") or "").split(";")[0].strip()
        check(ct == OCI_INDEX, f"empty referrers Content-Type {ct!r}")
    # Subject that does not exist (yet): the spec says the registry MUST accept it.
    ghost = fake_digest()
    m = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.early",
                    "config": descriptor(OCI_EMPTY, empty), "layers": [descriptor(OCI_EMPTY, empty)],
                    "subject": {"mediaType": OCI_MANIFEST, "digest": ghost, "size": 123}}).encode()
    r = put_manifest(c, rp, sha(m), m, OCI_MANIFEST)
    expect(r, 201, "PUT a referrer whose subject does not exist (spec: MUST accept)")
    expect_header(r, "OCI-Subject", ghost, "PUT referrer of a missing subject")
    r = c.get(f"/v2/{rp}/referrers/{ghost}")
    check([x["digest"] for x in r.json()["manifests"]] == [sha(m)], f"referrers of the missing subject: {r}")
    # Deleting a referrer removes it from the list.
    expect(c.request("DELETE", f"/v2/{rp}/manifests/{arts['sig'][0]}"), 202, "DELETE the sig referrer")
    r = c.get(f"/v2/{rp}/referrers/{subj}")
    got = [m["digest"] for m in r.json()["manifests"]]
    check(got == [arts["sbom"][0]], f"after deleting the sig referrer the list is {got}")
    expect_error(c.get(f"/v2/{rp}/referrers/sha256:xyz"), 400, "DIGEST_INVALID", "referrers of a malformed digest")


@group("content management: DELETE manifest by tag → 202 (digest stays), by digest → 202 then 404")
def manifest_delete(c):
    rp = repo("conf/delete")
    d, body = make_image(c, rp, tag="t1")
    expect(put_manifest(c, rp, "t2", body, OCI_MANIFEST), 201, "second tag")
    expect(c.request("DELETE", f"/v2/{rp}/manifests/t1"), 202, "DELETE manifest by tag")
    expect_error(c.get(f"/v2/{rp}/manifests/t1"), 404, "MANIFEST_UNKNOWN", "GET deleted tag")
    check_manifest_served(c, rp, d, body, OCI_MANIFEST, "manifest by digest after its tag was deleted")
    check_manifest_served(c, rp, "t2", body, OCI_MANIFEST, "other tag after deleting t1")
    r = c.get(f"/v2/{rp}/tags/list")
    check(r.json().get("tags") == ["t2"], f"tags after deleting t1: {r}")
    expect(c.request("DELETE", f"/v2/{rp}/manifests/{d}"), 202, "DELETE manifest by digest")
    expect_error(c.get(f"/v2/{rp}/manifests/{d}"), 404, "MANIFEST_UNKNOWN", "GET deleted manifest")
    expect_error(c.head(f"/v2/{rp}/manifests/{d}"), 404, "MANIFEST_UNKNOWN", "HEAD deleted manifest")
    expect_error(c.get(f"/v2/{rp}/manifests/t2"), 404, "MANIFEST_UNKNOWN", "tag of a deleted manifest")
    expect_error(c.request("DELETE", f"/v2/{rp}/manifests/{d}"), 404, "MANIFEST_UNKNOWN", "DELETE twice")
    expect_error(c.request("DELETE", f"/v2/{rp}/manifests/nope"), 404, "MANIFEST_UNKNOWN", "DELETE unknown tag")
    # Pushing it again works.
    expect(put_manifest(c, rp, "t3", body, OCI_MANIFEST), 201, "re-push after delete")
    check_manifest_served(c, rp, "t3", body, OCI_MANIFEST, "re-pushed manifest")


@group("bad input: invalid repository names → 400 NAME_INVALID (or 404)")
def bad_names(c):
    long_name = "a" * 300
    cases = [("%2E%2E/x", (400, 404)), ("Foo", 400), ("team/Foo", 400), (long_name, 400),
             ("a" * 128 + "/" + "b" * 128, 400),
             ("x/-y", 400), ("x_/y", 400), ("x___y", 400), ("x/y.", 400)]
    for name, st in cases:
        statuses = st if isinstance(st, tuple) else (st,)
        for method, suffix, body in (("GET", "/tags/list", None), ("GET", "/manifests/latest", None),
                                     ("HEAD", "/blobs/" + sha(b"x"), None), ("POST", "/blobs/uploads/", b""),
                                     ("PUT", "/manifests/latest", b"{}")):
            what = f"{method} /v2/{name[:40]}{'...' if len(name) > 40 else ''}{suffix}"
            r = c.request(method, f"/v2/{name}{suffix}", body=body)
            expect(r, statuses, what)
            if r.status == 400:
                expect_error(r, 400, "NAME_INVALID", what)
    # Valid unusual names work.
    for name in ("a", "a0/b1/c2", "x.y/z__w/q--r", "a" * 200):
        d = push_blob(c, repo(name), b"hello " + name.encode())
        expect(c.head(f"/v2/{name}/blobs/{d}"), 200, f"blob in valid name {name[:40]!r}")
    # Invalid tags.
    for tag in ("-bad", ".bad", "x" * 129, "a%2Fb"):
        r = c.request("PUT", f"/v2/conf/push/manifests/{tag}", body=b"{}", headers=[("Content-Type", OCI_MANIFEST)])
        if tag == "a%2Fb":  # an escaped slash: a different path or an invalid tag
            expect(r, (400, 404), f"PUT manifest with invalid tag {tag[:40]!r}")
        else:
            expect_error(r, 400, "TAG_INVALID", f"PUT manifest with invalid tag {tag[:40]!r}")
            expect_error(c.get(f"/v2/conf/push/manifests/{tag}"), 404, "MANIFEST_UNKNOWN",
                         f"GET manifest with invalid tag {tag[:40]!r}")
            expect(c.head(f"/v2/conf/push/manifests/{tag}"), 404, f"HEAD manifest with invalid tag {tag[:40]!r}")


@group("bad input: malformed digests → 400 DIGEST_INVALID")
def bad_digests(c):
    rp = repo("conf/digests")
    data = rand_bytes(500)
    for bad in ("sha256:xyz", "md5:abc", "sha256:" + "a" * 63, "sha256:" + "A" * 64, "sha256:" + "a" * 65, "sha256:"):
        expect_error(c.get(f"/v2/{rp}/blobs/{bad}"), 400, "DIGEST_INVALID", f"GET blob {bad}")
        expect_error(c.head(f"/v2/{rp}/blobs/{bad}"), 400, "DIGEST_INVALID", f"HEAD blob {bad}")
        expect_error(c.request("DELETE", f"/v2/{rp}/blobs/{bad}"), 400, "DIGEST_INVALID", f"DELETE blob {bad}")
        expect_error(c.get(f"/v2/{rp}/manifests/{bad}"), 400, "DIGEST_INVALID", f"GET manifest {bad}")
        expect_error(c.request("POST", with_query(f"/v2/{rp}/blobs/uploads/", digest=bad), body=data), 400,
                     "DIGEST_INVALID", f"monolithic POST ?digest={bad}")
        expect_error(c.get(f"/v2/{rp}/referrers/{bad}"), 400, "DIGEST_INVALID", f"referrers of {bad}")
        loc = upload_session(c, rp)
        expect_error(c.request("PUT", with_query(loc, digest=bad), body=data), 400, "DIGEST_INVALID",
                     f"closing PUT ?digest={bad}")
        # The session was not touched: closing it properly still works.
        r = c.request("PUT", with_query(loc, digest=sha(data)), body=data)
        expect(r, 201, f"closing the session after the rejected ?digest={bad}")
    loc = upload_session(c, rp)
    expect_error(c.request("PUT", loc, body=data), 400, "DIGEST_INVALID", "closing PUT without ?digest=")
    expect_error(c.request("POST", with_query(f"/v2/{rp}/blobs/uploads/", mount="md5:abc", **{"from": "conf/push"})),
                 400, "DIGEST_INVALID", "mount of md5:abc")


@group("bad input: a 100 KB header → 431/400 and the connection is closed")
def huge_header(c):
    raw = Raw(c)
    try:
        try:
            raw.send(request_head(c, "GET", "/v2/", [("X-Big", "b" * 100_000)]))
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            r = raw.read_response("GET", "/v2/ (100 KB header)")
        except (EOFError, ConnectionResetError) as e:
            raise CheckFailed(f"100 KB header: connection dropped without a response ({e})")
        expect(r, (431, 400), "request with a 100 KB header")
        check(raw.closed_by_peer(15), "server kept the connection open after refusing a 100 KB header")
    finally:
        raw.close()
    # Many headers adding up past the limit.
    raw = Raw(c)
    try:
        try:
            raw.send(request_head(c, "GET", "/v2/", [(f"X-H{i}", "v" * 100) for i in range(1000)]))
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = raw.read_response("GET", "/v2/ (1000 headers)")
        expect(r, (431, 400), "request with 1000 headers of 100 bytes")
        check(raw.closed_by_peer(15), "server kept the connection open after 1000 headers")
    finally:
        raw.close()
    # A 100 KB request target.
    raw = Raw(c)
    try:
        try:
            raw.send(request_head(c, "GET", "/v2/" + "a" * 100_000 + "/tags/list", []))
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = raw.read_response("GET", "100 KB target")
        expect(r, (431, 400, 414), "request with a 100 KB target")
    finally:
        raw.close()


def wait_session_idle_then_patch(c, loc, data, start, what, deadline_s=10):
    """After a cut-short PATCH the server may still be noticing the close: the
    session must come back at `start` bytes (its last whole chunk) and accept
    the whole chunk again."""
    deadline = time.monotonic() + deadline_s
    while True:
        s = c.get(loc)
        expect(s, 204, f"{what}: session status")
        got = parse_range(s, what)
        check(got == start or (start == 0 and got == 1), f"{what}: session should be at {start} bytes: {s}")
        r = c.request("PATCH", loc, body=data, headers=[("Content-Type", "application/octet-stream"),
                                                        ("Content-Range", f"{start}-{start + len(data) - 1}")])
        if r.status == 202 or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # polling the condition "previous writer released"
    expect(r, 202, f"{what}: resending the whole chunk")
    check(parse_range(r, what) == start + len(data), f"{what}: Range after resend: {r}")
    return c.path_of(r.header("Location"))


@group("bad input: bodies cut short (raw socket) leave nothing visible; the session resumes from its last whole chunk")
def cut_short(c):
    rp = repo("conf/cut")
    data = rand_bytes(200_000)
    d = sha(data)
    # Monolithic POST, half the body, close.
    target = with_query(f"/v2/{rp}/blobs/uploads/", digest=d)
    raw = Raw(c)
    raw.send(request_head(c, "POST", target, [("Content-Type", "application/octet-stream"),
                                              ("Content-Length", str(len(data)))]) + data[:len(data) // 2])
    raw.close()
    expect(c.get("/v2/"), 200, "GET /v2/ after a cut-short monolithic POST")
    expect_error(c.head(f"/v2/{rp}/blobs/{d}"), 404, "BLOB_UNKNOWN", "blob of a cut-short POST")
    # PATCH with Content-Range, half the body, on a fresh session.
    loc = upload_session(c, rp)
    raw = Raw(c)
    raw.send(request_head(c, "PATCH", loc, [("Content-Type", "application/octet-stream"),
                                            ("Content-Length", str(len(data))),
                                            ("Content-Range", f"0-{len(data) - 1}")]) + data[:len(data) // 2])
    raw.close()
    loc = wait_session_idle_then_patch(c, loc, data, 0, "after a cut-short first PATCH")
    r = c.request("PUT", with_query(loc, digest=d))
    expect(r, 201, "close after resending the cut-short chunk")
    read_blob(c, rp, d, data, "blob completed after a cut-short PATCH")
    # A whole chunk, then a cut-short one: the server must rebuild its running
    # hash from the kept bytes, so the final digest still matches.
    a, b = rand_bytes(150_000), rand_bytes(120_000)
    loc = upload_session(c, rp)
    loc = patch_chunk(c, loc, a, 0, "whole first chunk")
    raw = Raw(c)
    raw.send(request_head(c, "PATCH", loc, [("Content-Type", "application/octet-stream"),
                                            ("Content-Length", str(len(b))),
                                            ("Content-Range", f"{len(a)}-{len(a) + len(b) - 1}")]) + b[:70_000])
    raw.close()
    loc = wait_session_idle_then_patch(c, loc, b, len(a), "after a cut-short second PATCH")
    r = c.request("PUT", with_query(loc, digest=sha(a + b)))
    expect(r, 201, "close after a cut-short second PATCH")
    read_blob(c, rp, sha(a + b), a + b, "blob after a cut-short second PATCH")
    # Streamed (chunked) PATCH cut mid-chunk, after a whole streamed PATCH.
    data2 = rand_bytes(100_000)
    loc = upload_session(c, rp)
    r = c.request("PATCH", loc, chunks=[data2[:40_000]], headers=[("Content-Type", "application/octet-stream")])
    expect(r, 202, "whole streamed PATCH")
    loc = c.path_of(r.header("Location"))
    raw = Raw(c)
    raw.send(request_head(c, "PATCH", loc, [("Content-Type", "application/octet-stream"),
                                            ("Transfer-Encoding", "chunked")])
             + b"%x\r\n" % 30000 + data2[40_000:70_000] + b"\r\n" + b"%x\r\n" % 30000 + data2[70_000:80_000])
    raw.close()
    loc = wait_session_idle_then_patch(c, loc, data2[40_000:], 40_000, "after a cut-short streamed PATCH")
    r = c.request("PUT", with_query(loc, digest=sha(data2)))
    expect(r, 201, "close after a cut-short streamed PATCH")
    read_blob(c, rp, sha(data2), data2, "blob after a cut-short streamed PATCH")
    # Manifest PUT cut short.
    cfg = json.dumps({"os": "linux"}).encode()
    push_blob(c, rp, cfg)
    m = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, cfg),
                    "layers": []}).encode()
    raw = Raw(c)
    raw.send(request_head(c, "PUT", f"/v2/{rp}/manifests/cut", [("Content-Type", OCI_MANIFEST),
                                                                 ("Content-Length", str(len(m)))]) + m[:len(m) // 2])
    raw.close()
    expect(c.get("/v2/"), 200, "GET /v2/ after a cut-short manifest PUT")
    expect_error(c.get(f"/v2/{rp}/manifests/cut"), 404, "MANIFEST_UNKNOWN", "manifest of a cut-short PUT")
    # Garbage instead of HTTP.
    raw = Raw(c)
    raw.send(b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
    try:
        raw.read_response("?", "garbage")
    except Exception:  # noqa: BLE001 - any answer or none is fine; the server must live on
        pass
    raw.close()
    expect(c.get("/v2/"), 200, "GET /v2/ after garbage bytes")


@group("bad input: unknown or misplaced methods → 405")
def bad_methods(c):
    for method, target in (("FOO", "/v2/"), ("BREW", "/v2/conf/push/blobs/uploads/"), ("POST", "/v2/"),
                           ("PUT", "/v2/conf/push/tags/list"), ("PATCH", "/v2/conf/push/manifests/v1"),
                           ("POST", "/v2/conf/push/blobs/" + sha(b"x")), ("PUT", "/v2/_catalog")):
        r = c.request(method, target)
        expect(r, 405, f"{method} {target}")


@group("concurrency: one blob pushed 8x at once; 6 racing PATCHes of one chunk → exactly one 202, the rest 416")
def concurrency(c):
    import threading
    rp = repo("conf/concurrent")
    data = rand_bytes(2 * MIB)
    results = []

    def run_all(fn, n):
        ts = [threading.Thread(target=fn, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        check(not any(t.is_alive() for t in ts), "concurrent requests did not finish within 60s")

    def mono(i):
        results.append(c.request("POST", with_query(f"/v2/{rp}/blobs/uploads/", digest=sha(data)), body=data))
    run_all(mono, 8)
    for r in results:
        expect(r, 201, "one of 8 concurrent pushes of the same blob")
    read_blob(c, rp, sha(data), data, "blob pushed 8 times at once")

    loc = upload_session(c, rp)
    chunk = rand_bytes(MIB)
    results.clear()

    def patch(i):
        results.append(c.request("PATCH", loc, body=chunk, headers=[("Content-Type", "application/octet-stream"),
                                                                    ("Content-Range", f"0-{len(chunk) - 1}")]))
    run_all(patch, 6)
    ok = [r for r in results if r.status == 202]
    check(len(ok) == 1, f"{len(ok)} of 6 racing PATCHes of bytes 0-{len(chunk) - 1} succeeded; want exactly 1: "
                        + "; ".join(map(str, results)))
    for r in results:
        if r.status != 202:
            expect(r, 416, "a racing PATCH that lost")
    s = c.get(loc)
    check(parse_range(s, "status after the race") == len(chunk), f"session after the race: {s}")
    r = c.request("PUT", with_query(loc, digest=sha(chunk)))
    expect(r, 201, "closing after the race")
    read_blob(c, rp, sha(chunk), chunk, "blob after racing PATCHes")


@group("keep-alive: many requests on one connection, including errors")
def keep_alive(c):
    rp = repo("conf/keepalive")
    conn = http.client.HTTPConnection(c.host, c.port, timeout=30)
    try:
        for i in range(30):
            data = rand_bytes(rng.randint(0, 3000))
            conn.request("POST", with_query(f"/v2/{rp}/blobs/uploads/", digest=sha(data)), body=data)
            r = conn.getresponse()
            r.read()
            check(r.status == 201, f"keep-alive push #{i}: {r.status}")
            conn.request("GET", f"/v2/{rp}/blobs/{sha(data)}")
            r = conn.getresponse()
            body = r.read()
            check(r.status == 200 and body == data, f"keep-alive GET #{i}: {r.status}")
            conn.request("GET", f"/v2/{rp}/manifests/nope{i}")
            r = conn.getresponse()
            r.read()
            check(r.status == 404, f"keep-alive 404 #{i}: {r.status}")
    finally:
        conn.close()


def absolute_urls(c):
    """Run against a Pier started with --public-url http://HOST:PORT: every
    Location and Link is absolute and must be followable."""
    rp = "conf/abs"
    a, b = rand_bytes(5000), rand_bytes(7000)
    r = c.request("POST", f"/v2/{rp}/blobs/uploads/")
    expect(r, 202, "POST (public URL)")
    loc = r.header("Location")
    check(loc.startswith("http://"), f"Location is not absolute with --public-url: {loc!r}")
    r = c.request("PATCH", c.path_of(loc), body=a, headers=[("Content-Range", f"0-{len(a) - 1}")])
    expect(r, 202, "PATCH at absolute Location")
    loc = r.header("Location")
    check(loc.startswith("http://"), f"PATCH Location not absolute: {loc!r}")
    r = c.request("PUT", with_query(c.path_of(loc), digest=sha(a + b)), body=b)
    expect(r, 201, "PUT at absolute Location")
    check(r.header("Location").startswith("http://"), f"blob Location not absolute: {r}")
    g = c.get(c.path_of(r.header("Location")))
    check(g.status == 200 and g.body == a + b, f"GET absolute blob Location: {g}")
    _, body = make_image(c, rp)
    for t in ("a", "b", "c"):
        expect(put_manifest(c, rp, t, body, OCI_MANIFEST), 201, f"PUT tag {t}")
    r = c.get(f"/v2/{rp}/tags/list?n=1")
    link = r.header("Link") or ""
    check(link.startswith("<http://"), f"Link not absolute with --public-url: {link!r}")
    r = c.get(c.path_of(link[1:link.index(">")]))
    check(r.json()["tags"] == ["b"], f"following absolute Link: {r}")


def run(groups, c):
    failed = []
    for title, fn in groups:
        t0 = time.monotonic()
        try:
            fn(c)
            print(f"ok - {title} ({time.monotonic() - t0:.1f}s)", flush=True)
        except CheckFailed as e:
            failed.append(title)
            print(f"FAIL: {title}\n      {e}", file=sys.stderr, flush=True)
        except Exception as e:  # noqa: BLE001 - report and keep going
            failed.append(title)
            print(f"FAIL: {title}\n      unexpected {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            traceback.print_exc(file=sys.stderr)
        # The server must survive every group.
        try:
            r = c.get("/v2/", timeout=10)
            alive = r.status == 200
        except Exception as e:  # noqa: BLE001
            alive, r = False, e
        if not alive:
            print(f"FAIL: server no longer answers GET /v2/ after '{title}': {r}", file=sys.stderr, flush=True)
            failed.append("server alive")
            break
    return failed


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    c = Client(args[0])
    only = os.environ.get("API_CHECKS_ONLY")  # substring filter for debugging
    groups = [g for g in GROUPS if not only or only in g[1].__name__]
    if not groups:
        # Running nothing is not a pass: a typo in the filter would look green.
        names = " ".join(g[1].__name__ for g in GROUPS)
        print(f"FAIL: API_CHECKS_ONLY={only!r} matches no check group; groups: {names}", file=sys.stderr)
        return 2
    failed = run(groups, c)
    if "--public-url-server" in args:
        pc = Client(args[args.index("--public-url-server") + 1])
        failed += run([("Location and Link URLs are absolute with --public-url and can be followed", absolute_urls)], pc)
    if failed:
        print(f"{len(failed)} check group(s) failed: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
