#!/usr/bin/env python3
"""Every route x every identity, against a Pier with htpasswd + ACL.

usage: auth_matrix.py HOST:PORT basic|token DATA_DIR WEBHOOK_SECRET UPSTREAM_HOST:PORT UPSTREAM_PASSWORD

The Pier under test has these users (auth_matrix_test.sh writes them):
  admin/secret-admin    auth.admins; pull, push, delete on **
  puller/secret-pull    pull on team/a
  pusher/secret-push    pull, push on other/**
  proxier/secret-proxy  pull, push on hub/**
and a pull-through upstream `hub` (prefix hub, ns docker.io) at
UPSTREAM_HOST:PORT, a docker-registry without auth, configured with a
password (UPSTREAM_PASSWORD) that must never appear in an answer. Its image
library/app:v1 is reached as /v2/hub/library/app/... and as
/v2/library/app/...?ns=docker.io, both the local repository hub/library/app.
and, in `token` mode, its token realm on (issuer pier-am, service pier-am-svc).

Identities tried on every route: anonymous, a wrong password, broken
Authorization headers, puller, pusher, admin. In token mode registry routes
are reached the way docker and skopeo do it (request, Bearer challenge, token
from the realm with Basic credentials, retry); tokens are also replayed on
another repository, tampered with, expired, signed with `alg: none`.

Pass means: every request an identity may make is answered as for any
authorized client, every other one gets 401/403 (404 where the spec says so)
without any of the protected content in the body, and nothing answers 5xx.
Standard-library Python only.
"""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_checks import Client, with_query  # noqa: E402

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
USERS = {"admin": "secret-admin", "puller": "secret-pull", "pusher": "secret-push", "proxier": "secret-proxy"}
# The ACL above, as the test's own model: user -> [(repository glob, actions)].
ACL = {"admin": [("**", {"pull", "push", "delete"})],
       "puller": [("team/a", {"pull"})],
       "pusher": [("other/**", {"pull", "push"})],
       "proxier": [("hub/**", {"pull", "push"})]}
ADMINS = {"admin"}
ISSUER, SERVICE = "pier-am", "pier-am-svc"
REPOS = ["team/a", "other/b", "secret/c"]

failures = []
counts = {"requests": 0, "allowed": 0, "denied": 0}


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr, flush=True)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def may(user, action, repo):
    """The model: may `user` (None = anonymous) do `action` on `repo`?"""
    if user is None:
        return False  # no anonymous rules, anonymous_pull off
    for glob, actions in ACL.get(user, []):
        if action in actions and (glob == "**" or glob == repo or
                                  (glob.endswith("/**") and repo.startswith(glob[:-2]))):
            return True
    return False


# ------------------------------------------------------------ identities

class Identity:
    def __init__(self, name, user=None, password=None, raw_header=None):
        self.name, self.user, self.password, self.raw_header = name, user, password, raw_header

    @property
    def valid_user(self):
        """The user the server should recognise, or None."""
        return self.user if self.user and USERS.get(self.user) == self.password else None

    def basic(self):
        if self.raw_header is not None:
            return [("Authorization", self.raw_header)]
        if self.user is None:
            return []
        return [("Authorization", "Basic " + b64(f"{self.user}:{self.password}"))]


IDENTITIES = [
    Identity("anonymous"),
    Identity("wrong-password", "puller", "not-the-password"),
    Identity("broken-basic", raw_header="Basic !!!not-base64!!!"),
    Identity("basic-no-colon", raw_header="Basic " + b64("admin")),
    Identity("bearer-garbage", raw_header="Bearer abc.def.ghi"),
    Identity("bearer-empty", raw_header="Bearer"),
    Identity("unknown-scheme", raw_header="Digest username=admin"),
    Identity("puller", "puller", USERS["puller"]),
    Identity("pusher", "pusher", USERS["pusher"]),
    Identity("proxier", "proxier", USERS["proxier"]),
    Identity("admin", "admin", USERS["admin"]),
]


class Session:
    """Sends requests as one identity; in token mode it answers Bearer challenges."""

    def __init__(self, c, mode, ident):
        self.c, self.mode, self.ident = c, mode, ident

    def token_for(self, challenge, extra_scopes=()):
        # key="quoted value" pairs; values hold commas ("pull,push").
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = urllib.parse.urlsplit(params.get("realm", ""))
        q = [("service", params.get("service", ""))]
        q += [("scope", sc) for sc in ([params["scope"]] if "scope" in params else []) + list(extra_scopes)]
        r = self.c.get(realm.path + "?" + urllib.parse.urlencode(q), headers=self.ident.basic())
        counts["requests"] += 1
        if r.status >= 500:
            fail(f"{self.ident.name}: token realm answered {r}")
        if r.status != 200:
            return None, r
        return r.json().get("token"), r

    def request(self, method, target, body=None, headers=(), extra_scopes=()):
        """extra_scopes: asked of the realm on top of the challenge's, as
        docker asks for the source repository's pull when it mounts."""
        headers = list(headers)
        if self.mode == "token" and target.startswith("/v2/") and self.ident.raw_header is None:
            r = self.c.request(method, target, body=body, headers=headers)
            counts["requests"] += 1
            challenge = r.header("WWW-Authenticate") or ""
            if r.status != 401 or not challenge.startswith("Bearer "):
                return r
            token, tr = self.token_for(challenge, extra_scopes)
            if token is None:
                return tr  # the realm refused the credentials: that is the answer the client sees
            headers.append(("Authorization", "Bearer " + token))
        else:
            headers += self.ident.basic()
        r = self.c.request(method, target, body=body, headers=headers)
        counts["requests"] += 1
        return r


# ------------------------------------------------------------ seeding (as admin, Basic)

ADMIN_BASIC = [("Authorization", "Basic " + b64("admin:" + USERS["admin"]))]


def push_blob(c, repo, data):
    d = sha(data)
    r = c.request("POST", with_query(f"/v2/{repo}/blobs/uploads/", digest=d), body=data, headers=ADMIN_BASIC)
    if r.status != 201:
        raise SystemExit(f"seeding: blob push to {repo} failed: {r}")
    return d


def push_image(c, repo, tag, marker):
    """An image whose layer holds `marker`; returns its parts."""
    layer = b"LAYER-" + marker
    config = json.dumps({"architecture": "amd64", "os": "linux", "marker": marker.decode()}).encode()
    ld, cd = push_blob(c, repo, layer), push_blob(c, repo, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": cd, "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": ld, "size": len(layer)}]}).encode()
    r = c.request("PUT", f"/v2/{repo}/manifests/{tag}", body=manifest,
                  headers=ADMIN_BASIC + [("Content-Type", OCI_MANIFEST)])
    if r.status != 201:
        raise SystemExit(f"seeding: manifest push to {repo} failed: {r}")
    return {"manifest": manifest, "digest": sha(manifest), "layer": ld, "config": cd,
            "layer_bytes": layer, "markers": [marker, manifest[:60]]}


def seed_upstream(up):
    """library/app:v1 at the upstream (docker-registry: POST then PUT)."""
    def blob(data):
        r = up.request("POST", "/v2/library/app/blobs/uploads/")
        if r.status != 202:
            raise SystemExit(f"seeding the upstream: {r}")
        r = up.request("PUT", with_query(up.path_of(r.header("Location")), digest=sha(data)), body=data)
        if r.status != 201:
            raise SystemExit(f"seeding the upstream: blob: {r}")
        return sha(data)
    layer = b"LAYER-UPSTREAM-SECRET-" + os.urandom(8).hex().encode()
    config = json.dumps({"architecture": "amd64", "os": "linux", "marker": "UPSTREAM-CONFIG"}).encode()
    ld, cd = blob(layer), blob(config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": cd, "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                       "digest": ld, "size": len(layer)}]}).encode()
    r = up.request("PUT", "/v2/library/app/manifests/v1", body=manifest, headers=[("Content-Type", OCI_MANIFEST)])
    if r.status != 201:
        raise SystemExit(f"seeding the upstream: manifest: {r}")
    return {"digest": sha(manifest), "layer": ld, "config": cd, "markers": [layer, manifest[:60]]}


def start_session(c, repo):
    r = c.request("POST", f"/v2/{repo}/blobs/uploads/", headers=ADMIN_BASIC)
    if r.status != 202:
        raise SystemExit(f"seeding: upload session in {repo} failed: {r}")
    return c.path_of(r.header("Location"))


# ------------------------------------------------------------ the judgement

def judge(ident, what, r, allowed, ok, denied=(401, 403), markers=()):
    counts["allowed" if allowed else "denied"] += 1
    label = f"[{ident.name}] {what}"
    if r.status >= 500:
        fail(f"{label}: 5xx: {r}")
        return
    if allowed:
        if r.status not in ok:
            fail(f"{label}: allowed, want {ok}, got {r}")
        return
    if r.status not in denied:
        fail(f"{label}: must be refused with {denied}, got {r}")
    for m in markers:
        if m and m in r.body:
            fail(f"{label}: a refused answer carries protected content {m[:40]!r}: {r}")


def registry_routes(c, mode, images):
    seq = [0]

    def fresh(repo):
        seq[0] += 1
        return push_image(c, repo, f"t{seq[0]}", f"FRESH-{repo}-{seq[0]}".encode())

    for ident in IDENTITIES:
        s = Session(c, mode, ident)
        u = ident.valid_user
        # In token mode an anonymous client holds a valid token (with no
        # access), and the base endpoint only asks for a valid one (as
        # distribution's token auth does); it reveals nothing.
        anonymous_token = mode == "token" and ident.user is None and ident.raw_header is None
        r = s.request("GET", "/v2/")
        judge(ident, "GET /v2/", r, u is not None or anonymous_token, (200,))
        for repo in REPOS:
            img = images[repo]
            marks = img["markers"]
            base = f"/v2/{repo}"
            pull, push, delete = may(u, "pull", repo), may(u, "push", repo), may(u, "delete", repo)
            for method in ("GET", "HEAD"):
                for ref in ("v1", img["digest"]):
                    r = s.request(method, f"{base}/manifests/{ref}", headers=[("Accept", OCI_MANIFEST)])
                    judge(ident, f"{method} {base}/manifests/{ref[:20]}", r, pull, (200,), markers=marks)
                for d in (img["layer"], img["config"]):
                    r = s.request(method, f"{base}/blobs/{d}")
                    judge(ident, f"{method} {base}/blobs/{d[:20]}", r, pull, (200,), markers=marks)
            r = s.request("GET", f"{base}/blobs/{img['layer']}", headers=[("Range", "bytes=0-3")])
            judge(ident, f"GET {base}/blobs (Range)", r, pull, (206,), markers=marks)
            r = s.request("GET", f"{base}/tags/list")
            judge(ident, f"GET {base}/tags/list", r, pull, (200,), markers=[b'"v1"'])
            r = s.request("GET", f"{base}/referrers/{img['digest']}")
            judge(ident, f"GET {base}/referrers", r, pull, (200,), markers=marks)
            # Writes.
            data = f"blob by {ident.name} in {repo}".encode()
            r = s.request("POST", with_query(f"{base}/blobs/uploads/", digest=sha(data)), body=data)
            judge(ident, f"POST {base}/blobs/uploads (monolithic)", r, push, (201,))
            r = s.request("POST", f"{base}/blobs/uploads/")
            judge(ident, f"POST {base}/blobs/uploads (session)", r, push, (202,))
            r = s.request("PUT", f"{base}/manifests/by-{ident.name}", body=img["manifest"],
                          headers=[("Content-Type", OCI_MANIFEST)])
            judge(ident, f"PUT {base}/manifests/by-{ident.name}", r, push, (201,))
            # An upload session someone else (admin) opened in this repository.
            for method, body, hdrs, ok in (("GET", None, [], (204,)),
                                           ("PATCH", b"x", [("Content-Range", "0-0")], (202,)),
                                           ("DELETE", None, [], (204,))):
                loc = start_session(c, repo)
                r = s.request(method, loc, body=body, headers=hdrs)
                need = pull if method == "GET" else push
                judge(ident, f"{method} {repo}'s upload session opened by admin", r, need, ok)
            # ... and reached through another repository's path: never found.
            loc = start_session(c, "secret/c")
            uuid = loc.split("/blobs/uploads/")[1].split("?")[0]
            r = s.request("GET", f"{base}/blobs/uploads/{uuid}")
            if repo != "secret/c":
                judge(ident, f"GET secret/c's session through {base}", r, False, (), denied=(401, 403, 404))
            # Deletes, on fresh content so later checks keep theirs.
            f = fresh(repo)
            r = s.request("DELETE", f"{base}/manifests/{f['digest']}")
            judge(ident, f"DELETE {base}/manifests/<digest>", r, delete, (202,))
            still = c.head(f"{base}/manifests/{f['digest']}", headers=ADMIN_BASIC).status
            if still != (404 if delete else 200):
                fail(f"[{ident.name}] DELETE {base}/manifests: manifest now answers {still}")
            f = fresh(repo)
            r = s.request("DELETE", f"{base}/blobs/{f['layer']}")
            judge(ident, f"DELETE {base}/blobs/<digest>", r, delete, (202,))
        # Cross-repository mount from a repository the caller may not pull.
        src = images["secret/c"]["layer"]
        r = s.request("POST", with_query("/v2/other/b/blobs/uploads/", mount=src, **{"from": "secret/c"}),
                      extra_scopes=["repository:secret/c:pull"])
        can_push, can_read_src = may(u, "push", "other/b"), may(u, "pull", "secret/c")
        if can_push and can_read_src:
            judge(ident, "mount secret/c → other/b", r, True, (201,))
        elif can_push:
            judge(ident, "mount secret/c → other/b without pull on secret/c", r, True, (202,))
            check_r = c.head(f"/v2/other/b/blobs/{src}", headers=ADMIN_BASIC)
            if check_r.status != 404:
                fail(f"[{ident.name}] a refused mount linked secret/c's blob into other/b: {check_r}")
        else:
            judge(ident, "mount into other/b", r, False, ())
        # Catalog: everyone logged in may list, and sees only what they may pull.
        # With tokens the catalog scope goes to auth.admins only (Harbor's pull rules read it).
        r = s.request("GET", "/v2/_catalog")
        catalog_ok = u in ADMINS if mode == "token" else u is not None
        judge(ident, "GET /v2/_catalog", r, catalog_ok, (200,), markers=[b"secret/c"])
        if catalog_ok and r.status == 200:
            listed = set(r.json().get("repositories") or [])
            for repo in REPOS:
                if (repo in listed) != may(u, "pull", repo):
                    fail(f"[{ident.name}] catalog {'lists' if repo in listed else 'hides'} {repo}: {sorted(listed)}")


PROXIED = "hub/library/app"  # the local name of the upstream's library/app


def proxy_routes(c, mode, img):
    """Pull-through names, both addressing styles: Pier's ACL applies to
    the local name; pushes are 405 UNSUPPORTED for whoever may push there."""
    styles = [("prefix", "/v2/hub/library/app", ""), ("ns", "/v2/library/app", "?ns=docker.io")]
    for ident in IDENTITIES:
        s = Session(c, mode, ident)
        u = ident.valid_user
        pull, push = may(u, "pull", PROXIED), may(u, "push", PROXIED)
        for style, base, q in styles:
            for method in ("GET", "HEAD"):
                for ref in ("v1", img["digest"]):
                    r = s.request(method, f"{base}/manifests/{ref}{q}", headers=[("Accept", OCI_MANIFEST)])
                    judge(ident, f"{style}: {method} manifest {ref[:20]}", r, pull, (200,), markers=img["markers"])
                for d in (img["layer"], img["config"]):
                    r = s.request(method, f"{base}/blobs/{d}{q}")
                    judge(ident, f"{style}: {method} blob {d[:20]}", r, pull, (200,), markers=img["markers"])
                    if pull and method == "GET" and r.status == 200 and sha(r.body) != d:
                        fail(f"[{ident.name}] {style}: blob {d[:20]} came back as {sha(r.body)}")
            r = s.request("GET", f"{base}/tags/list{q}")
            judge(ident, f"{style}: GET tags/list", r, pull, (200,), markers=[b'"v1"'])
            # Writes into a proxied name: refused as unsupported, after the ACL.
            data = f"push by {ident.name}".encode()
            for what, method, target, body, hdrs in (
                    ("POST upload (session)", "POST", f"{base}/blobs/uploads/{q}", None, []),
                    ("POST upload (monolithic)", "POST", with_query(f"{base}/blobs/uploads/{q}", digest=sha(data)),
                     data, []),
                    ("PUT manifest", "PUT", f"{base}/manifests/pushed{q}", b"{}", [("Content-Type", OCI_MANIFEST)])):
                r = s.request(method, target, body=body, headers=hdrs)
                judge(ident, f"{style}: {what} into a proxied name", r, push, (405,))
                if push and r.status == 405 and b"UNSUPPORTED" not in r.body:
                    fail(f"[{ident.name}] {style}: {what}: 405 without UNSUPPORTED: {r}")


def management_routes(c, mode, webhook_secret, upstream_password):
    api = "/api/v2.0"
    checks = [("GET", f"{api}/proxy/upstreams", None, (200,)),("GET", f"{api}/registries", None, (200,)),
              ("GET", f"{api}/registries/999", None, (404,)),
              ("POST", f"{api}/registries", b'{"name": 5}', (400,)),
              ("POST", f"{api}/registries/ping", b'{}', (400,)),
              ("GET", f"{api}/replication/adapters", None, (200,)),
              ("GET", f"{api}/replication/policies", None, (200,)),
              ("POST", f"{api}/replication/policies", b'{}', (400,)),
              ("DELETE", f"{api}/replication/policies/999", None, (404,)),
              ("GET", f"{api}/replication/executions", None, (200,)),
              ("POST", f"{api}/replication/executions", b'{"policy_id": 999}', (400, 404)),
              ("PUT", f"{api}/replication/executions/999", b'{}', (404,)),
              ("GET", f"{api}/replication/executions/999/tasks", None, (404,))]
    for ident in IDENTITIES:
        s = Session(c, mode, ident)
        admin = ident.valid_user in ADMINS
        for method, path, body, ok in checks:
            hdrs = [("Content-Type", "application/json")] if body else []
            r = s.request(method, path, body=body, headers=hdrs)
            judge(ident, f"{method} {path}", r, admin, ok, markers=[b"secret-"])
            if upstream_password.encode() in r.body:
                fail(f"[{ident.name}] {method} {path}: the upstream's password is in the answer")
        # /metrics with require_auth: any valid user.
        r = s.request("GET", "/metrics")
        judge(ident, "GET /metrics (require_auth)", r, ident.valid_user is not None, (200,),
              markers=[b"pier_http_requests_total"])
        # The webhook intake takes only its own secret, whatever else a caller has.
        r = s.request("POST", "/webhooks/harbor", body=b'{"type": "PUSH_ARTIFACT"}',
                      headers=[("Content-Type", "application/json")])
        judge(ident, "POST /webhooks/harbor without its secret", r, False, ())
    r = c.request("POST", "/webhooks/harbor", body=b'{"type": 5}',
                  headers=[("Content-Type", "application/json"), ("Authorization", webhook_secret)])
    counts["requests"] += 1
    if r.status != 400:
        fail(f"webhook with its secret and a malformed payload: want 400, got {r}")


# ------------------------------------------------------------ token mode

def claims_of(token):
    p = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def forge(key_file, claims, alg="ES256"):
    """A JWT signed with the realm's own key (to make expired or foreign
    tokens that only differ from real ones in what is being tested)."""
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    if alg != "ES256":
        return f"{header}.{payload}."
    with tempfile.NamedTemporaryFile() as f:
        f.write(signing_input)
        f.flush()
        der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_file, f.name],
                             check=True, capture_output=True).stdout
    # DER SEQUENCE { INTEGER r, INTEGER s } → r || s, 32 bytes each (JOSE).
    i = 2 if der[1] < 0x80 else 3
    parts = []
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        parts.append(der[i + 2:i + 2 + n].lstrip(b"\0").rjust(32, b"\0"))
        i += 2 + n
    return f"{header}.{payload}.{b64url(parts[0] + parts[1])}"


def token_routes(c, data_dir):
    key = os.path.join(data_dir, "token", "token.key")

    def bearer(path, token):
        counts["requests"] += 1
        return c.request("GET", path, headers=[("Authorization", "Bearer " + token),
                                               ("Accept", OCI_MANIFEST)])

    def realm(ident, scope):
        counts["requests"] += 1
        return c.get("/token?" + urllib.parse.urlencode({"service": SERVICE, "scope": scope}),
                     headers=ident.basic())

    secret_manifest = "/v2/secret/c/manifests/v1"
    # The realm grants the requested ∩ the ACL, never more.
    for ident in IDENTITIES:
        r = realm(ident, "repository:secret/c:pull,push,delete")
        if r.status >= 500:
            fail(f"[{ident.name}] /token: {r}")
        if ident.user and ident.valid_user is None:
            if r.status != 401:
                fail(f"[{ident.name}] /token with a wrong password: want 401, got {r}")
            continue
        if ident.raw_header is not None and r.status == 401:
            continue  # refused outright; an anonymous token (below) would be fine too
        if r.status != 200:
            fail(f"[{ident.name}] /token: want 200, got {r}")
            continue
        granted = {a for e in claims_of(r.json()["token"]).get("access", []) for a in e.get("actions", [])}
        want = {a for a in ("pull", "push", "delete") if may(ident.valid_user, a, "secret/c")}
        if granted != want:
            fail(f"[{ident.name}] /token for secret/c granted {sorted(granted)}, the ACL says {sorted(want)}")
    puller = IDENTITIES[[i.name for i in IDENTITIES].index("puller")]
    tok = realm(puller, "repository:team/a:pull").json()["token"]
    # Control: the token works where it was granted.
    r = bearer("/v2/team/a/manifests/v1", tok)
    if r.status != 200:
        fail(f"puller's team/a token on team/a: want 200, got {r}")
    # ... and nowhere else.
    for path in (secret_manifest, "/v2/other/b/manifests/v1"):
        r = bearer(path, tok)
        judge(puller, f"team/a token replayed on {path}", r, False, ())
    r = c.request("POST", "/v2/team/a/blobs/uploads/", headers=[("Authorization", "Bearer " + tok)])
    counts["requests"] += 1
    judge(puller, "pull token used to push", r, False, ())
    # Tampered signature, tampered claims.
    h, p, sig = tok.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    judge(puller, "tampered signature", bearer("/v2/team/a/manifests/v1", f"{h}.{p}.{flipped}"), False, ())
    claims = claims_of(tok)
    claims["access"] = [{"type": "repository", "name": "secret/c", "actions": ["pull"]}]
    judge(puller, "claims changed under the old signature",
          bearer(secret_manifest, f"{h}.{b64url(json.dumps(claims).encode())}.{sig}"), False, ())
    # Forged with the realm's own key: valid is accepted (so the forging is right) ...
    now = int(time.time())
    good = {"iss": ISSUER, "sub": "admin", "aud": SERVICE, "iat": now, "nbf": now - 5, "exp": now + 300,
            "jti": "am-1", "access": [{"type": "repository", "name": "secret/c", "actions": ["pull"]}]}
    r = bearer(secret_manifest, forge(key, good))
    if r.status != 200:
        fail(f"a token signed with the realm key and valid claims: want 200, got {r}")
    # ... expired, not yet valid, another issuer or audience, alg none: refused.
    for what, change in (("expired", {"exp": now - 3600, "iat": now - 7200, "nbf": now - 7200}),
                         ("not yet valid", {"nbf": now + 3600}),
                         ("another issuer", {"iss": "someone-else"}),
                         ("another audience", {"aud": "other-service"}),
                         ("no expiry", {"exp": None})):
        bad = dict(good, **change)
        if bad.get("exp") is None:
            bad.pop("exp")
        judge(puller, f"token {what}", bearer(secret_manifest, forge(key, bad)), False, (),
              markers=[b"LAYER-", b"schemaVersion"])
    judge(puller, "alg none", bearer(secret_manifest, forge(key, good, alg="none")), False, (),
          markers=[b"schemaVersion"])


def main():
    if len(sys.argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    hostport, mode, data_dir, webhook_secret, upstream, upstream_password = sys.argv[1:]
    c = Client(hostport)
    images = {repo: push_image(c, repo, "v1", f"SECRET-{repo}".encode()) for repo in REPOS}
    registry_routes(c, mode, images)
    proxy_routes(c, mode, seed_upstream(Client(upstream)))
    management_routes(c, mode, webhook_secret, upstream_password)
    if mode == "token":
        token_routes(c, data_dir)
    print(f"auth matrix ({mode}): {counts['requests']} requests, {counts['allowed']} allowed and "
          f"{counts['denied']} refused as the ACL says, {len(failures)} failure(s)")
    if counts["denied"] < 100 or counts["allowed"] < 50:
        fail(f"the matrix ran too few checks ({counts}): something skipped it")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
