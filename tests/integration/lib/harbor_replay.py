#!/usr/bin/env python3
"""Replays the request sequence Harbor sends to a `docker-registry` endpoint
(see harbor_client.py) against a fresh Pier and checks every response.

usage: harbor_replay.py ENDPOINT USER:PASSWORD VIEWER:PASSWORD --mode basic|bearer|none

`none`: a Pier without auth, e.g. behind a path prefix (ENDPOINT
http://host/prefix), where Harbor's authorizer, pinging the host's root
/v2/, finds no challenge and sends no credentials; the refusals are skipped.

USER may pull, push and delete everything (and, in bearer mode, is one of
auth.admins so the catalog scope is granted); VIEWER may only pull. The
registry must be empty. Order, as Harbor does it:
  refusals (no credentials, wrong password, a pull-only grant pushing);
  ping; push of three repositories (HEAD manifest 404, HEAD blob 404,
  POST + PUT ?digest= whole, POST + PATCH "start-end" chunks with one chunk
  cut mid-body, upload status GET, resume, last chunk by PUT ?digest=,
  PUT manifest, HEAD manifest 200, a second tag);
  pull side (_catalog?n=1 and tags/list?n=1 through Link, GET manifest,
  GET blob whole and by Range in chunks);
  DELETE manifest by digest (after a HEAD by tag, as DeleteManifest does).
Stops at the first wrong answer with the request and response. Exit 1 then.
"""
import argparse
import hashlib
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harbor_client as hc  # noqa: E402

MIB = 1024 * 1024
CHUNK = MIB  # Harbor uses 10 MiB; smaller pieces keep the test quick


class Failed(Exception):
    pass


def check(cond, what, resp=None):
    if not cond:
        raise Failed(what + (f"\n  {resp}" if resp is not None else ""))


def ok(what):
    print(f"ok - {what}", flush=True)


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def expect(resp, status, what):
    check(resp.status == status, f"{what}: want {status}", resp)
    return resp


def spec_error(resp):
    try:
        return json.loads(resp.body)["errors"][0]["code"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


# ---------------------------------------------------------------- refusals

def refusals(endpoint, user, viewer, mode):
    user_name, user_pw = user.split(":", 1)
    viewer_name, viewer_pw = viewer.split(":", 1)
    probe = f"{endpoint}/v2/harbor-neg/app/manifests/v1"

    r = expect(hc.request("GET", f"{endpoint}/v2/", [("User-Agent", hc.USER_AGENT)]), 401, "GET /v2/ without credentials")
    scheme, params = hc.parse_challenge(r.header("WWW-Authenticate") or "")
    check(scheme == mode, f"challenge scheme {scheme!r}, want {mode!r}", r)
    check(spec_error(r) == "UNAUTHORIZED", "401 without the spec error code UNAUTHORIZED", r)
    r = expect(hc.request("HEAD", probe, [("User-Agent", hc.USER_AGENT)]), 401, "HEAD manifest without credentials")

    if mode == "basic":
        bad = hc.HarborClient(endpoint, user_name, user_pw + "x")
        expect(bad.ping(), 401, "ping with a wrong password")
        check(bad.mode == "basic", "wrong-password client did not see a Basic challenge")
        v = hc.HarborClient(endpoint, viewer_name, viewer_pw)
        r = expect(v.initiate_upload("harbor-neg/app"), 403, "POST upload by a pull-only user")
        check(spec_error(r) == "DENIED", "403 without the spec error code DENIED", r)
        ok("basic: 401 + Basic challenge without credentials and with a wrong password; pull-only user 403 DENIED on push")
        return

    check(params.get("realm", "").endswith("/token") and params.get("service"), "Bearer challenge lacks realm/service", r)
    bad = hc.HarborClient(endpoint, user_name, user_pw + "x")
    bad._initialize()
    token, r = bad.fetch_token(["repository:harbor-neg/app:pull"])
    check(token is None and r.status == 401, "token request with a wrong password: want 401", r)
    check(spec_error(r) == "UNAUTHORIZED", "token 401 without the spec error code", r)

    # A token for pull only, then a push with it (what Harbor would do if its
    # cache handed out the pull token for a POST).
    c = hc.HarborClient(endpoint, user_name, user_pw)
    c._initialize()
    pull_token, r = c.fetch_token(["repository:harbor-neg/app:pull"])
    check(pull_token, "pull token refused", r)
    r = hc.request("POST", f"{endpoint}/v2/harbor-neg/app/blobs/uploads/",
                   [("Authorization", "Bearer " + pull_token), ("User-Agent", hc.USER_AGENT)], b"")
    check(r.status in (401, 403), "POST upload with a pull-only token: want 401/403", r)
    check(spec_error(r) in ("UNAUTHORIZED", "DENIED"), "push refusal without a spec error code", r)
    if r.status == 401:
        check('error="insufficient_scope"' in (r.header("WWW-Authenticate") or ""), "401 without insufficient_scope", r)
    # The pull-only user asking for push gets a token without push.
    v = hc.HarborClient(endpoint, viewer_name, viewer_pw)
    v._initialize()
    viewer_token, r = v.fetch_token(["repository:harbor-neg/app:pull,push"])
    check(viewer_token, "viewer token refused", r)
    r = hc.request("PUT", f"{endpoint}/v2/harbor-neg/app/manifests/v1",
                   [("Authorization", "Bearer " + viewer_token), ("Content-Type", hc.OCI_MANIFEST),
                    ("User-Agent", hc.USER_AGENT)], b"{}")
    check(r.status in (401, 403) and spec_error(r) in ("UNAUTHORIZED", "DENIED"), "viewer pushed a manifest", r)
    r = hc.request("HEAD", probe, [("Authorization", "Bearer not-a-token"), ("User-Agent", hc.USER_AGENT)])
    expect(r, 401, "HEAD manifest with a garbage token")
    ok("bearer: 401 + Bearer challenge without credentials; wrong password 401 at the realm; "
       "pull-scoped tokens cannot push (401 insufficient_scope / spec error code)")


# ---------------------------------------------------------------- push side

class Image:
    """A config, a small layer and (optionally) a 3.5 MiB layer pushed in chunks."""

    def __init__(self, media_type, big, seed, small=None):
        r = random.Random(seed)
        self.small = small if small is not None else r.randbytes(200_000)
        self.big = r.randbytes(3 * MIB + MIB // 2) if big else None
        layers = [self.small] + ([self.big] if big else [])
        docker = media_type == hc.DOCKER_MANIFEST
        cfg = {"architecture": "amd64", "os": "linux",
               "rootfs": {"type": "layers", "diff_ids": [sha(b) for b in layers]}, "seed": seed}
        self.config = json.dumps(cfg, sort_keys=True).encode()
        cfg_type = "application/vnd.docker.container.image.v1+json" if docker else "application/vnd.oci.image.config.v1+json"
        layer_type = "application/vnd.docker.image.rootfs.diff.tar.gzip" if docker else "application/vnd.oci.image.layer.v1.tar+gzip"
        self.media_type = media_type
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": media_type,
            "config": {"mediaType": cfg_type, "digest": sha(self.config), "size": len(self.config)},
            "layers": [{"mediaType": layer_type, "digest": sha(b), "size": len(b)} for b in layers],
        }, indent=3).encode()  # Harbor pushes the source's bytes unchanged: any formatting must survive
        self.digest = sha(self.manifest)
        self.blobs = [self.config] + layers


def check_target(c, url, what, r):
    """Location/Link targets must lead back through the endpoint: absolute
    under it, or relative /v2/ paths (which Harbor appends to it)."""
    check(url.startswith(c.url + "/v2/") if "://" in url else url.startswith("/v2/"),
          f"{what}: {url!r} does not lead back through {c.url}", r)


def check_upload_headers(r, what, c=None):
    check(r.header("Location"), f"{what}: no Location", r)
    if c is not None:
        check_target(c, r.header("Location"), what + " Location", r)
    check(r.header("Docker-Upload-UUID"), f"{what}: no Docker-Upload-UUID", r)


def push_whole(c, repo, data):
    d = sha(data)
    expect(c.blob_exist(repo, d), 404, f"HEAD blob {d[:19]} in {repo}")
    r = expect(c.initiate_upload(repo), 202, f"POST upload in {repo}")
    check_upload_headers(r, "POST upload", c)
    check(r.header("Range") in (None, "0-0"), "fresh upload Range", r)
    r = expect(c.monolithic_upload(r.header("Location"), d, data), 201, f"PUT ?digest= whole blob in {repo}")
    check(r.header("Docker-Content-Digest") == d, "PUT blob Docker-Content-Digest", r)
    check(r.header("Location"), "PUT blob: no Location", r)


def push_chunked(c, repo, data):
    """PushBlobChunk as the replication job drives it, with the second chunk
    cut mid-body and recovered through getUploadStatus."""
    d, size = sha(data), len(data)
    expect(c.blob_exist(repo, d), 404, f"HEAD blob {d[:19]} in {repo}")
    r = expect(c.initiate_upload(repo), 202, f"POST upload (chunked) in {repo}")
    check_upload_headers(r, "POST upload", c)
    location, start, cut_done, pieces = r.header("Location"), 0, False, 0
    while start < size:
        chunk = data[start:start + CHUNK]
        end = start + len(chunk) - 1
        if start == CHUNK and not cut_done:
            cut_done = True
            c.push_chunk_cut(location, chunk, start, len(chunk) // 2)
            # getUploadStatus(url): GET the URL the failed chunk went to.
            r = expect(c.upload_status(c.upload_url(location)), 204, "GET upload status after a cut PATCH")
            check(r.header("Range") == f"0-{start - 1}", f"status Range after the cut: want 0-{start - 1}", r)
            check(r.header("Location"), "status answer without Location (Harbor continues at it)", r)
            check_target(c, r.header("Location"), "status Location", r)
            check(r.header("Docker-Upload-UUID"), "status answer without Docker-Upload-UUID", r)
            location = r.header("Location")
            start = int(r.header("Range").split("-")[1]) + 1
            continue
        r = c.push_chunk(location, d, size, chunk, start)
        pieces += 1
        if end == size - 1:
            expect(r, 201, f"last chunk PUT ?digest= {start}-{end}")
            check(r.header("Docker-Content-Digest") == d, "last chunk Docker-Content-Digest", r)
        else:
            expect(r, 202, f"PATCH Content-Range {start}-{end}")
            check(r.header("Range") == f"0-{end}", f"PATCH Range: want 0-{end}", r)
            check_upload_headers(r, "PATCH", c)
            location = r.header("Location")
        start = end + 1
    check(cut_done and pieces == 4, f"chunk plan: cut={cut_done} pieces={pieces}")


def push_manifest(c, repo, tag, img):
    r = expect(c.push_manifest(repo, tag, img.media_type, img.manifest), 201, f"PUT manifest {repo}:{tag}")
    check(r.header("Docker-Content-Digest") == img.digest, "PUT manifest Docker-Content-Digest", r)
    check(r.header("Location"), "PUT manifest: no Location", r)
    check_target(c, r.header("Location"), "PUT manifest Location", r)
    r = expect(c.manifest_exist(repo, tag), 200, f"HEAD manifest {repo}:{tag} after the push")
    check(r.header("Docker-Content-Digest") == img.digest, "HEAD manifest Docker-Content-Digest", r)
    check(r.header("Content-Type") == img.media_type, "HEAD manifest Content-Type", r)
    check(r.header("Content-Length") == str(len(img.manifest)), "HEAD manifest Content-Length", r)
    check(r.body == b"", "HEAD manifest with a body", r)


def push_image(c, repo, img, chunked):
    expect(c.manifest_exist(repo, "v1"), 404, f"HEAD manifest {repo}:v1 before the push")
    for b in img.blobs:
        if chunked and b is img.big:
            push_chunked(c, repo, b)
        else:
            push_whole(c, repo, b)
    push_manifest(c, repo, "v1", img)
    # The same artifact under a second tag: Copy HEADs the tag, finds every
    # blob present and pushes the manifest again.
    expect(c.manifest_exist(repo, "v2"), 404, f"HEAD manifest {repo}:v2 before tagging")
    for b in img.blobs:
        r = expect(c.blob_exist(repo, sha(b)), 200, f"HEAD blob {sha(b)[:19]} present in {repo}")
        check(r.header("Content-Length") == str(len(b)), "HEAD blob Content-Length", r)
        check(r.header("Docker-Content-Digest") == sha(b), "HEAD blob Docker-Content-Digest", r)
    push_manifest(c, repo, "v2", img)


# ---------------------------------------------------------------- pull side

def paginate(c, first, key, what):
    items, pages, url = [], 0, first
    while url:
        r = expect(c.do("GET", url), 200, f"{what} page {pages + 1}")
        check((r.header("Content-Type") or "").startswith("application/json"), f"{what} Content-Type", r)
        page = json.loads(r.body)[key]
        check(len(page) <= 1, f"{what} page larger than n=1", r)
        items += page
        pages += 1
        nxt = hc.next_link(r.header("Link"))
        if nxt:
            check_target(c, nxt, f"{what} Link", r)
        url = c.absolute(nxt) if nxt else ""
        check(pages <= 50, f"{what}: Link never ends")
    return items, pages


def pull_side(c, images):
    repos, pages = paginate(c, f"{c.url}/v2/_catalog?n=1", "repositories", "_catalog?n=1")
    check(repos == sorted(images), f"catalog {repos}, want {sorted(images)}")
    check(pages >= len(images), f"catalog took {pages} pages for {len(images)} repositories")
    for repo, img in images.items():
        tags, pages = paginate(c, f"{c.url}/v2/{repo}/tags/list?n=1", "tags", f"{repo} tags/list?n=1")
        check(tags == ["v1", "v2"] and pages >= 2, f"{repo} tags {tags} in {pages} pages")
        for tag in tags:
            r = expect(c.pull_manifest(repo, tag), 200, f"GET manifest {repo}:{tag}")
            check(r.body == img.manifest, "GET manifest bytes differ from the pushed ones", r)
            check(r.header("Content-Type") == img.media_type, "GET manifest Content-Type", r)
            check(r.header("Docker-Content-Digest") == img.digest, "GET manifest Docker-Content-Digest", r)
        r = expect(c.pull_manifest(repo, img.digest), 200, f"GET manifest {repo}@digest")
        check(r.body == img.manifest, "GET manifest by digest bytes", r)
        for b in img.blobs:
            r = expect(c.pull_blob(repo, sha(b)), 200, f"GET blob {sha(b)[:19]} from {repo}")
            check(r.body == b, "GET blob bytes differ", r)
            check(r.header("Content-Length") == str(len(b)), "GET blob Content-Length", r)
        if img.big is not None:
            # Chunk mode: the blob in Range pieces, put back together.
            big, got, start = img.big, b"", 0
            while start < len(big):
                end = min(start + CHUNK, len(big)) - 1
                r = expect(c.pull_blob_chunk(repo, sha(big), start, end), 206, f"GET blob Range bytes={start}-{end}")
                check(r.body == big[start:end + 1], f"Range {start}-{end} bytes differ", r)
                check(r.header("Content-Range") == f"bytes {start}-{end}/{len(big)}", "206 Content-Range", r)
                check(r.header("Content-Length") == str(end - start + 1), "206 Content-Length", r)
                got += r.body
                start = end + 1
            check(got == big, "ranged pieces do not add up to the blob")
            s, e = 12345, 12345 + 999
            r = expect(c.pull_blob_chunk(repo, sha(big), s, e), 206, "GET blob odd Range")
            check(r.body == big[s:e + 1], "odd Range bytes differ", r)


def delete_side(c, repo, img):
    # DeleteManifest(repo, "v1"): the tag is resolved by HEAD, then DELETE by digest.
    r = expect(c.manifest_exist(repo, "v1"), 200, f"HEAD {repo}:v1 before delete")
    digest = r.header("Docker-Content-Digest")
    check(digest == img.digest, "HEAD digest before delete", r)
    expect(c.delete_manifest(repo, digest), 202, f"DELETE {repo}@digest")
    expect(c.manifest_exist(repo, digest), 404, f"HEAD {repo}@digest after delete")
    expect(c.manifest_exist(repo, "v1"), 404, f"HEAD {repo}:v1 after delete")
    expect(c.delete_manifest(repo, digest), 404, f"DELETE {repo}@digest again")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("user")
    ap.add_argument("viewer")
    ap.add_argument("--mode", choices=["basic", "bearer", "none"], required=True)
    a = ap.parse_args()
    endpoint = a.endpoint.rstrip("/")
    try:
        if a.mode != "none":
            refusals(endpoint, a.user, a.viewer, a.mode)

        c = hc.HarborClient(endpoint, *a.user.split(":", 1))
        r = expect(c.ping(), 200, "ping GET /v2/ with credentials")
        if a.mode != "none":
            check(c.challenge.status == 401, "the authorizer's unauthenticated ping was not a 401", c.challenge)
        check(c.mode == a.mode, f"client chose {c.mode}, want {a.mode}", c.challenge)
        check(r.header("Docker-Distribution-API-Version") == "registry/2.0", "no Docker-Distribution-API-Version", r)
        if a.mode == "none":
            ok(f"ping: no challenge at the host's root /v2/ ({c.challenge.status}) -> no credentials, then 200")
        else:
            ok(f"ping: unauthenticated 401 challenge -> {c.mode}, then 200")

        images = {
            "harbor/app": Image(hc.OCI_MANIFEST, big=True, seed=1),
            "harbor/base": Image(hc.DOCKER_MANIFEST, big=False, seed=2),
        }
        # tools shares base's layer: a repository that was not given a blob must still say 404 for it.
        images["harbor/tools"] = Image(hc.OCI_MANIFEST, big=False, seed=3, small=images["harbor/base"].small)
        push_image(c, "harbor/app", images["harbor/app"], chunked=True)
        ok("push harbor/app (OCI): HEAD 404s, whole POST+PUT, PATCH 'start-end' chunks, cut chunk -> "
           "GET status 204 Range 0-N + Location -> resume, last chunk PUT ?digest=, manifest 201, HEAD 200, second tag")
        push_image(c, "harbor/base", images["harbor/base"], chunked=False)
        push_image(c, "harbor/tools", images["harbor/tools"], chunked=False)
        ok("push harbor/base (docker schema2) and harbor/tools (OCI): whole uploads, manifests, second tags")

        pull_side(c, images)
        ok("pull: _catalog?n=1 and tags/list?n=1 through Link rel=next, manifests (type, digest, bytes), "
           "blobs whole and by Range bytes=s-e (206, exact bytes)")

        delete_side(c, "harbor/tools", images["harbor/tools"])
        ok("delete: HEAD by tag, DELETE by digest 202, then 404")

        if a.mode == "bearer":
            asked = {s for scopes, _ in c.token_log for s in scopes}
            want = {"repository:harbor/app:pull", "repository:harbor/app:pull,push",
                    "repository:harbor/tools:*", "registry:catalog:*"}
            check(want <= asked, f"token scopes asked {sorted(asked)}, missing {sorted(want - asked)}")
            check(() in [s for s, _ in c.token_log], "no scope-less token for the ping")
            for scopes, r in c.token_log:
                expect(r, 200, f"token for {scopes}")
                j = json.loads(r.body)
                check(j.get("token") or j.get("access_token"), "token answer without token/access_token", r)
            ok(f"bearer: {len(c.token_log)} token requests, scopes pull / pull,push / * / registry:catalog:* all granted")
        print(f"replayed {len(c.log)} registry requests", flush=True)
    except Failed as e:
        print(f"FAIL: {e}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
