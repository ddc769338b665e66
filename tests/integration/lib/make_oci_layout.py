#!/usr/bin/env python3
"""Writes OCI image layouts for tests: real gzip'ed tar layers of random
content, so skopeo and registries treat them as ordinary images.

usage: make_oci_layout.py DIR KIND [--layers N] [--size BYTES] [--seed S]
                          [--base-seed B] [--app-size BYTES] [--tag T]
                          [--label KEY=VALUE ...] [--no-labels] [--config-pad BYTES]
  KIND: image      one linux/amd64 image tagged "v1"
        index      a two-platform index (amd64, arm64) tagged "multi"
        artifact   an image tagged "v1" plus an OCI artifact whose subject is
                   that image (artifactType application/vnd.pier.test.sbom),
                   tagged "sbom"
  Every image config carries the label pier.test=yes, unless --label gives
  its own set (repeatable) or --no-labels gives none. --config-pad adds a
  field of that many bytes to each config (an oversized config).
"""
import argparse, gzip, hashlib, io, json, os, random, tarfile, time

def blob(root, data):
    d = hashlib.sha256(data).hexdigest()
    p = os.path.join(root, "blobs", "sha256", d)
    if not os.path.exists(p):
        with open(p, "wb") as f:
            f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}

TEXT = False  # --text: layers of words (compressible, like an OS layer), not random bytes
WORDS = [w.encode() for w in "the of and to in is for on with as by at from this that are be or an it".split()]

def layer(rng, size, name):
    if TEXT:
        out = bytearray()
        while len(out) < size:
            out += rng.choice(WORDS) + (b"\n" if rng.random() < 0.1 else b" ")
            if rng.random() < 0.02:
                out += b"%d" % rng.randrange(1 << 30)
        payload = bytes(out[:size])
    elif size < 1 << 28:
        payload = rng.randbytes(size)
    else:
        # randbytes(n) asks getrandbits(8 * n), a C int: 256 MiB and more in
        # 128 MiB pieces (smaller sizes keep their bytes for a given seed).
        payload = b"".join(rng.randbytes(min(1 << 27, size - o)) for o in range(0, size, 1 << 27))
    tb = io.BytesIO()
    with tarfile.open(fileobj=tb, mode="w") as t:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mtime = 0
        t.addfile(info, io.BytesIO(payload))
    return gzip.compress(tb.getvalue(), compresslevel=1, mtime=0), hashlib.sha256(tb.getvalue()).hexdigest()

DEFAULT_LABELS = {"pier.test": "yes"}

def image(root, rng, layers, size, arch, base_rng=None, app_size=None, labels=DEFAULT_LABELS, pad=0):
    descs, diffs = [], []
    for i in range(layers):
        # With a base: every layer but the last comes from the base seed (a
        # shared "JRE"), the last from the image's own seed (the app).
        last = i == layers - 1
        r = base_rng if base_rng is not None and not last else rng
        n = app_size if app_size is not None and last else size
        gz, diff = layer(r, n, f"{arch}-layer-{i}.bin")
        d = blob(root, gz)
        d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
        descs.append(d)
        diffs.append("sha256:" + diff)
    config = {"architecture": arch, "os": "linux",
              "config": {"Labels": labels} if labels else {},
              "rootfs": {"type": "layers", "diff_ids": diffs}}
    if pad:
        config["pier.pad"] = "x" * pad
    config = json.dumps(config).encode()
    c = blob(root, config)
    c["mediaType"] = "application/vnd.oci.image.config.v1+json"
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": c, "layers": descs}).encode()
    md = blob(root, m)
    md["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    return md

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("kind", choices=["image", "index", "artifact"])
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=int(time.time() * 1000))
    ap.add_argument("--base-seed", type=int, default=None,
                    help="image: all layers but the last from this seed (a shared base)")
    ap.add_argument("--app-size", type=int, default=None, help="image: size of the last layer")
    ap.add_argument("--tag", default="v1", help="image: the tag name")
    ap.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                    help="a config label (repeatable); replaces the default pier.test=yes")
    ap.add_argument("--no-labels", action="store_true", help="image configs without labels")
    ap.add_argument("--config-pad", type=int, default=0, help="bytes of padding in each image config")
    ap.add_argument("--text", action="store_true", help="compressible layers (words), not random bytes")
    a = ap.parse_args()
    global TEXT
    TEXT = a.text
    labels = dict(DEFAULT_LABELS)
    if a.label:
        bad = [l for l in a.label if "=" not in l]
        if bad:
            ap.error("--label wants KEY=VALUE, got " + bad[0])
        labels = dict(l.split("=", 1) for l in a.label)
    if a.no_labels:
        labels = {}
    rng = random.Random(a.seed)
    root = a.dir
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    entries = []
    if a.kind in ("image", "artifact"):
        base = random.Random(a.base_seed) if a.base_seed is not None else None
        m = image(root, rng, a.layers, a.size, "amd64", base, a.app_size, labels, a.config_pad)
        entries.append(dict(m, annotations={"org.opencontainers.image.ref.name": a.tag}))
        if a.kind == "artifact":
            empty = blob(root, b"{}")
            empty["mediaType"] = "application/vnd.oci.empty.v1+json"
            sbom = blob(root, json.dumps({"sbom": rng.random()}).encode())
            sbom["mediaType"] = "application/spdx+json"
            art = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                              "artifactType": "application/vnd.pier.test.sbom",
                              "config": empty, "layers": [sbom],
                              "subject": {"mediaType": m["mediaType"], "digest": m["digest"], "size": m["size"]},
                              "annotations": {"org.example.kind": "sbom"}}).encode()
            ad = blob(root, art)
            ad["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
            entries.append(dict(ad, annotations={"org.opencontainers.image.ref.name": "sbom"}))
    else:
        children = []
        for arch in ("amd64", "arm64"):
            m = image(root, rng, a.layers, a.size, arch, labels=labels, pad=a.config_pad)
            m["platform"] = {"architecture": arch, "os": "linux"}
            children.append(m)
        idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": children}).encode()
        d = blob(root, idx)
        d["mediaType"] = "application/vnd.oci.image.index.v1+json"
        entries.append(dict(d, annotations={"org.opencontainers.image.ref.name": "multi"}))
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": entries}, f)

if __name__ == "__main__":
    main()
