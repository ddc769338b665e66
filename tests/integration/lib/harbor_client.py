"""A Python copy of the requests Harbor's registry client sends to a
`docker-registry` endpoint (goharbor/harbor src/pkg/registry/client.go and
src/pkg/registry/auth/, v2.x), so a test can replay them against Pier.

What is copied, because a registry must serve exactly this:
- the authorizer pings `<scheme>://<host>/v2/` once without credentials and
  picks Bearer when the challenge offers it, else Basic, else nothing;
- Bearer: one token per scope set, fetched with GET <realm>?service=..&scope=..
  and Basic credentials; `token` or else `access_token` is used; the scope is
  derived from the request path and method (pull for GET/HEAD, pull,push for
  POST/PUT/PATCH, * for DELETE, registry:catalog:* for the catalog);
- registry calls carry `User-Agent: harbor-registry-client`; the ping and the
  token fetch go through a plain Go client (`Go-http-client/1.1`);
- manifests are asked for with six separate Accept lines in Harbor's order;
- chunk uploads send `Content-Range: <start>-<end>` (no "bytes="), the last
  chunk by PUT ?digest= with a body; after a failed chunk the upload URL is
  GET and `Range: 0-N` plus `Location` tell where to continue;
- relative Location and Link URLs are appended to the endpoint URL.

Every response is returned whole (status, headers, body); the caller checks.
Python standard library only.
"""
import base64
import http.client
import json
import socket
import urllib.parse

from api_checks import Resp

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
# client.go `accepts`, in its order; each one is added as its own header line.
HARBOR_ACCEPTS = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST, SCHEMA1_SIGNED, SCHEMA1]
USER_AGENT = "harbor-registry-client"
GO_USER_AGENT = "Go-http-client/1.1"


class Response(Resp):
    """api_checks.Resp (header lookups, json) with the URL a request went to."""

    def __init__(self, method, url, status, headers, body):
        super().__init__(method, url, status, headers, body)  # headers: (name, value) pairs as sent
        self.url = url

    def __str__(self):
        hdrs = "; ".join(f"{k}: {v}" for k, v in self.headers)
        return f"{self.method} {self.url} -> {self.status} [{hdrs}] {self.body[:300]!r}"


def request(method, url, headers=(), body=None, timeout=60):
    """One request on a fresh connection; headers is a list of (name, value)
    so a name may repeat (Harbor's Accept lines)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    target = u.path + ("?" + u.query if u.query else "")
    conn.putrequest(method, target, skip_accept_encoding=True)
    for k, v in headers:
        conn.putheader(k, v)
    if body is not None or method in ("POST", "PUT", "PATCH"):
        conn.putheader("Content-Length", str(len(body or b"")))
    conn.endheaders()
    if body:
        conn.send(body)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return Response(method, url, r.status, r.getheaders(), data)


def parse_challenge(value):
    """`Bearer realm="..",service=".."` -> ("bearer", {realm, service, ...})."""
    scheme, _, rest = value.strip().partition(" ")
    params, i = {}, 0
    while i < len(rest):
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().lstrip(",").strip().lower()
        if rest[eq + 1:eq + 2] == '"':
            end = rest.find('"', eq + 2)
            params[key] = rest[eq + 2:end]
            i = end + 1
        else:
            end = rest.find(",", eq + 1)
            end = len(rest) if end < 0 else end
            params[key] = rest[eq + 1:end].strip()
            i = end
        while i < len(rest) and rest[i] in ", ":
            i += 1
    return scheme.lower(), params


def harbor_scope(method, path, query):
    """bearer/scope.go parseScopes: the scopes Harbor asks a token for."""
    path = path.rstrip("/")
    parts = path.split("/v2/", 1)
    if len(parts) != 2:
        return []
    rest = parts[1]
    repo = None
    scopes = []
    for marker in ("/manifests/", "/blobs/uploads", "/blobs/", "/tags/list"):
        if marker in rest:
            repo = rest.split(marker, 1)[0]
            if marker == "/blobs/uploads":
                frm = urllib.parse.parse_qs(query).get("from")
                if frm:
                    scopes.append(f"repository:{frm[0]}:pull")
            break
    if repo:
        actions = {"GET": "pull", "HEAD": "pull", "DELETE": "*"}.get(method, "pull,push")
        scopes.append(f"repository:{repo}:{actions}")
        return scopes
    if rest == "_catalog":
        return ["registry:catalog:*"]
    return []


class HarborClient:
    """client.go's client with auth.NewAuthorizer(username, password)."""

    def __init__(self, endpoint, username, password):
        self.url = endpoint.rstrip("/")
        self.basic = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.mode = None          # "bearer" | "basic" | "none", set by the first request
        self.challenge = None     # the ping's Response
        self.realm = self.service = None
        self.tokens = {}          # scope tuple -> token (bearer/cache.go)
        self.token_log = []       # (scopes, Response) of every token fetch
        self.log = []             # every registry Response, in order

    # --- authorizer ---
    def _initialize(self):
        u = urllib.parse.urlsplit(self.url)
        ping = request("GET", f"{u.scheme}://{u.netloc}/v2/", [("User-Agent", GO_USER_AGENT)])
        self.challenge = ping
        schemes = dict(parse_challenge(v) for v in ping.header_all("WWW-Authenticate"))
        if "bearer" in schemes:
            self.mode = "bearer"
            self.realm, self.service = schemes["bearer"].get("realm"), schemes["bearer"].get("service")
        elif "basic" in schemes:
            self.mode = "basic"
        elif not schemes:
            self.mode = "none"
        else:
            raise RuntimeError(f"unsupported auth scheme: {list(schemes)}")

    def fetch_token(self, scopes, basic=None):
        """bearer/authorizer.go fetchToken; returns (token or None, Response)."""
        realm = urllib.parse.urlsplit(self.realm)
        query = urllib.parse.parse_qsl(realm.query) + [("service", self.service)]
        query += [("scope", s) for s in scopes]
        # url.Values.Encode sorts by key; the scope values keep their order.
        query.sort(key=lambda kv: kv[0])
        url = urllib.parse.urlunsplit(realm._replace(query=urllib.parse.urlencode(query)))
        r = request("GET", url, [("Authorization", basic or self.basic), ("User-Agent", GO_USER_AGENT)])
        self.token_log.append((tuple(scopes), r))
        if r.status != 200:
            return None, r
        j = json.loads(r.body)
        return (j.get("token") or j.get("access_token")), r

    def _authorize(self, method, url):
        if self.mode is None:
            self._initialize()
        u = urllib.parse.urlsplit(url)
        base = urllib.parse.urlsplit(self.url)
        # isTarget: only requests to the ping's host whose path starts with /v2/.
        if u.netloc != base.netloc or u.scheme != base.scheme or not u.path.startswith("/v2/"):
            return []
        if self.mode == "basic":
            return [("Authorization", self.basic)]
        if self.mode == "bearer":
            scopes = tuple(harbor_scope(method, u.path, u.query))
            if scopes not in self.tokens:
                token, r = self.fetch_token(scopes)
                if token is None:
                    raise RuntimeError(f"token fetch failed: {r}")
                self.tokens[scopes] = token
            return [("Authorization", "Bearer " + self.tokens[scopes])]
        return []

    def do(self, method, url, headers=(), body=None):
        h = self._authorize(method, url) + [("User-Agent", USER_AGENT)] + list(headers)
        r = request(method, url, h, body)
        self.log.append(r)
        return r

    def absolute(self, location):
        """Location/Link targets: absolute as given, relative appended to the endpoint."""
        return location if "://" in location else self.url + location

    # --- client.go calls, one request each ---
    def ping(self):
        return self.do("GET", f"{self.url}/v2/")

    def manifest_exist(self, repo, ref):
        return self.do("HEAD", f"{self.url}/v2/{repo}/manifests/{ref}", [("Accept", a) for a in HARBOR_ACCEPTS])

    def pull_manifest(self, repo, ref):
        return self.do("GET", f"{self.url}/v2/{repo}/manifests/{ref}", [("Accept", a) for a in HARBOR_ACCEPTS])

    def push_manifest(self, repo, ref, media_type, payload):
        return self.do("PUT", f"{self.url}/v2/{repo}/manifests/{ref}", [("Content-Type", media_type)], payload)

    def delete_manifest(self, repo, digest):
        return self.do("DELETE", f"{self.url}/v2/{repo}/manifests/{digest}")

    def blob_exist(self, repo, digest):
        return self.do("HEAD", f"{self.url}/v2/{repo}/blobs/{digest}")

    def pull_blob(self, repo, digest):
        return self.do("GET", f"{self.url}/v2/{repo}/blobs/{digest}", [("Accept-Encoding", "identity")])

    def pull_blob_chunk(self, repo, digest, start, end):
        return self.do("GET", f"{self.url}/v2/{repo}/blobs/{digest}",
                       [("Accept-Encoding", "identity"), ("Range", f"bytes={start}-{end}")])

    def initiate_upload(self, repo):
        return self.do("POST", f"{self.url}/v2/{repo}/blobs/uploads/", body=b"")

    def upload_url(self, location, digest=None):
        """buildChunkBlobUploadURL / buildMonolithicBlobUploadURL."""
        u = urllib.parse.urlsplit(self.absolute(location))
        q = urllib.parse.parse_qsl(u.query)
        if digest:
            q = [kv for kv in q if kv[0] != "digest"] + [("digest", digest)]
            q.sort(key=lambda kv: kv[0])
        return urllib.parse.urlunsplit(u._replace(query=urllib.parse.urlencode(q)))

    def monolithic_upload(self, location, digest, data):
        return self.do("PUT", self.upload_url(location, digest), body=data)

    def push_chunk(self, location, digest, blob_size, chunk, start):
        end = start + len(chunk) - 1
        last = end == blob_size - 1
        method = "PUT" if last else "PATCH"
        url = self.upload_url(location, digest if last else None)
        return self.do(method, url, [("Content-Range", f"{start}-{end}")], chunk)

    def push_chunk_cut(self, location, chunk, start, send_bytes):
        """A PATCH whose connection dies after `send_bytes` of the chunk: what
        Harbor sees when a link drops mid-chunk (its c.do returns an error)."""
        url = self.upload_url(location)
        h = self._authorize("PATCH", url) + [("User-Agent", USER_AGENT),
                                             ("Content-Range", f"{start}-{start + len(chunk) - 1}"),
                                             ("Content-Length", str(len(chunk)))]
        u = urllib.parse.urlsplit(url)
        s = socket.create_connection((u.hostname, u.port or 80), timeout=30)
        head = f"PATCH {u.path}{'?' + u.query if u.query else ''} HTTP/1.1\r\nHost: {u.netloc}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in h) + "\r\n"
        s.sendall(head.encode() + chunk[:send_bytes])
        s.shutdown(socket.SHUT_WR)
        try:
            leftover = s.recv(65536)  # whatever the server says about the short body, or nothing
        except OSError:
            leftover = b""
        s.close()
        return leftover

    def upload_status(self, url):
        return self.do("GET", url)


def next_link(link):
    """client.go next(): the URL of rel="next" in a Link header, or ""."""
    if not link:
        return ""
    for part in link.split(","):
        segs = [p.strip() for p in part.split(";")]
        if segs and segs[0].startswith("<") and segs[0].endswith(">"):
            if any(p.replace(" ", "") in ('rel="next"', "rel=next") for p in segs[1:]):
                return segs[0][1:-1]
    return ""
