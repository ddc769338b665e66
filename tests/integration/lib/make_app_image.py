#!/usr/bin/env python3
"""Writes an OCI image layout of a Java service the way teams build them,
from real files of this machine, for the layer advisor's tests and bench:

  layer 0  "base":  a tar of /usr/share/doc (an OS-like layer of text)
  layer 1  "apt":   /var/lib/apt/lists and /var/lib/dpkg/status as left by
                    `apt-get update && apt-get install` in the Dockerfile (the
                    lists carry a per-build stamp: rebuilt every build)
  layer 2  "app":   app/app.jar, a Spring-Boot-shaped fat JAR: Debian's jars
                    from /usr/share/java STORED under BOOT-INF/lib (one of
                    them renamed *-SNAPSHOT.jar), deflated classes under
                    BOOT-INF/classes (App.class changes every build), the
                    loader under org/springframework/boot/loader, a manifest

Everything is deterministic for the same arguments (fixed mtimes, gzip
headers without time), so an unchanged layer has the same digest in two
builds. Prints a JSON summary: per layer its digest and size, and the fat
JAR's entries (name, compressed size, size, crc) for the test to check the
advisor against.

usage: make_app_image.py DIR --build N [--tag T] [--base-variant V]
                         [--doc-bytes B] [--lists-bytes B] [--jar-bytes B]
"""
import argparse, gzip, hashlib, io, json, os, random, sys, tarfile, zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_oci_layout import blob  # noqa: E402

MTIME = 1700000000


def real_files(top, cap, skip=0):
    """Regular files under `top`, sorted, up to `cap` bytes; the first `skip` left out."""
    out, total = [], 0
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for n in sorted(filenames):
            p = os.path.join(dirpath, n)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            out.append(p)
    out = out[skip:]
    kept = []
    for p in out:
        s = os.path.getsize(p)
        if total + s > cap:
            continue
        kept.append(p)
        total += s
    return kept


class Tar:
    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def add(self, name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = MTIME
        info.mode = 0o644
        self.tar.addfile(info, io.BytesIO(data))

    def layer(self):
        self.tar.close()
        raw = self.buf.getvalue()
        gz = io.BytesIO()
        with gzip.GzipFile(fileobj=gz, mode="wb", compresslevel=6, mtime=0) as g:
            g.write(raw)
        return raw, gz.getvalue()


def fat_jar(build, cap):
    rng = random.Random(7)
    jars = real_files("/usr/share/java", cap)
    jars = [j for j in jars if j.endswith(".jar")]
    if not jars:
        raise SystemExit("no jars in /usr/share/java (scripts/deps.sh installs Debian's Java libraries)")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        def put(name, data, method):
            zi = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            zi.compress_type = method
            z.writestr(zi, data)
        put("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\nMain-Class: org.springframework.boot.loader.JarLauncher\n"
            b"Start-Class: com.example.App\nSpring-Boot-Classes: BOOT-INF/classes/\nSpring-Boot-Lib: BOOT-INF/lib/\n",
            zipfile.ZIP_DEFLATED)
        for i in range(40):  # the loader: the same every build
            words = b" ".join(rng.choice([b"load", b"jar", b"class", b"url", b"archive", b"entry"]) for _ in range(900))
            put("org/springframework/boot/loader/Loader%02d.class" % i, words, zipfile.ZIP_DEFLATED)
        for i in range(30):  # the application's classes: App.class changes every build
            crng = random.Random(1000 + i + (build * 7919 if i == 0 else 0))
            words = b" ".join(crng.choice([b"service", b"order", b"customer", b"repository", b"controller", b"dto"])
                              for _ in range(1500))
            name = "App" if i == 0 else "Class%02d" % i
            put("BOOT-INF/classes/com/example/%s.class" % name, words, zipfile.ZIP_DEFLATED)
        put("BOOT-INF/classes/application.properties", b"server.port=8080\n", zipfile.ZIP_DEFLATED)
        libs = []
        for k, j in enumerate(jars):
            name = os.path.basename(j)
            if k == 0:
                name = name[:-4] + "-1.0-SNAPSHOT.jar"  # a snapshot dependency
            with open(j, "rb") as f:
                put("BOOT-INF/lib/" + name, f.read(), zipfile.ZIP_STORED)
            libs.append("BOOT-INF/lib/" + name)
        put("BOOT-INF/classpath.idx", "".join('- "%s"\n' % l[len("BOOT-INF/lib/"):] for l in libs).encode(),
            zipfile.ZIP_DEFLATED)
    data = buf.getvalue()
    entries = [{"name": i.filename, "compressed": i.compress_size, "size": i.file_size, "crc": i.CRC}
               for i in zipfile.ZipFile(io.BytesIO(data)).infolist()]
    return data, entries


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--build", type=int, required=True)
    ap.add_argument("--tag", default=None)
    ap.add_argument("--base-variant", type=int, default=0)
    ap.add_argument("--doc-bytes", type=int, default=4_000_000)
    ap.add_argument("--lists-bytes", type=int, default=3_000_000)
    ap.add_argument("--jar-bytes", type=int, default=5_000_000)
    a = ap.parse_args()
    root = a.dir
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

    base = Tar()
    for p in real_files("/usr/share/doc", a.doc_bytes, skip=a.base_variant * 25):
        with open(p, "rb") as f:
            base.add(p.lstrip("/"), f.read())
    apt = Tar()
    for p in real_files("/var/lib/apt/lists", a.lists_bytes):
        with open(p, "rb") as f:
            apt.add(p.lstrip("/"), f.read())
    apt.add("var/lib/apt/lists/build-stamp", ("build %d\n" % a.build).encode())
    if os.path.isfile("/var/lib/dpkg/status"):
        with open("/var/lib/dpkg/status", "rb") as f:
            apt.add("var/lib/dpkg/status", f.read())
    jar, entries = fat_jar(a.build, a.jar_bytes)
    app = Tar()
    app.add("app/app.jar", jar)

    layers, diff_ids, summary = [], [], {"layers": [], "jar_entries": entries, "jar_size": len(jar)}
    for name, t in (("base", base), ("apt", apt), ("app", app)):
        raw, gz = t.layer()
        d = blob(root, gz)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **d})
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        summary["layers"].append({"name": name, "tar_size": len(raw), **d})
    config = {
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": ["java", "-jar", "/app/app.jar"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created_by": "ADD debian-doc.tar /"},
            {"created_by": "/bin/sh -c apt-get update && apt-get install -y openjdk-17-jre-headless"},
            {"created_by": "ENV JAVA_OPTS=-Xmx512m", "empty_layer": True},
            {"created_by": "COPY target/app.jar /app/app.jar"},
        ],
    }
    cfg = blob(root, json.dumps(config, sort_keys=True).encode())
    summary["config"] = cfg
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **cfg}, "layers": layers}
    m = blob(root, json.dumps(manifest).encode())
    tag = a.tag or str(a.build)
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", **m,
             "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
    summary["manifest"] = m
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
