#!/usr/bin/env python3
"""Helpers for bench/s3_bench.sh and bench/replicas_bench.sh. S3 requests are signed with AWS SigV4
written here from AWS's documentation (like tests/integration/lib/s3_list.py):
nothing is shared with Pier's own S3 client.

  s3bench.py make-bucket ENDPOINT BUCKET          # PUT bucket (200, or 409 when it is ours already)
  s3bench.py put-object ENDPOINT BUCKET KEY FILE  # one PUT of FILE (UNSIGNED-PAYLOAD); prints seconds
  s3bench.py get-object ENDPOINT BUCKET KEY SIZE # one GET, body read and dropped; prints seconds
    (keys from $S3_ACCESS_KEY, $S3_SECRET_KEY; region us-east-1)
  s3bench.py wait-v2 BASE PID SECONDS             # until GET BASE/v2/ answers 200 (or 401), PID alive
  s3bench.py manifest-digest BASE REPO TAG ACCEPT # HEAD the manifest; prints its digest
  s3bench.py layout-bytes DIR TAG                 # bytes of the manifest, config and layers of DIR:TAG
  s3bench.py verify-layout SRC DST TAG            # every blob of SRC:TAG is in DST with the same bytes
  s3bench.py cpu-secs PID...                      # user+system CPU seconds of the processes so far
  s3bench.py tree-cpu-secs PID                    # the same for PID, its reaped children and live descendants
  s3bench.py median X...                          # median of the numbers
  s3bench.py table RESULTS_ENV MD_OUT             # prints the table and writes it as markdown
  s3bench.py table-sides RESULTS_ENV MD_OUT KEY=LABEL...  # the same for several servers; ratios vs the first
  s3bench.py link-stat STATS_FILE PID FIELD       # a fresh counter of slowlink PID (SIGUSR1, waits for the rewrite)
  s3bench.py wait-execution API_BASE ID SECONDS   # until the Harbor-API execution ends; prints its status
  s3bench.py wait-new-line SECONDS PATTERN FILE:COUNT...  # until a FILE holds more than COUNT lines
                                                  # containing PATTERN; prints "FILE EPOCH_SECONDS"
"""
import datetime
import hashlib
import hmac
import http.client
import json
import os
import statistics
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import read_results  # noqa: E402  (the KEY=VALUE results file every bench writes)

REGION = "us-east-1"


def die(msg):
    print(f"s3bench: {msg}", file=sys.stderr)
    sys.exit(1)


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def s3_request(endpoint, method, path, body=None, length=0, payload_hash=None, discard=False):
    """One path-style SigV4 request. body: bytes or a file object of `length` bytes."""
    access, secret = os.environ["S3_ACCESS_KEY"], os.environ["S3_SECRET_KEY"]
    url = urllib.parse.urlsplit(endpoint)
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    if payload_hash is None:
        payload_hash = hashlib.sha256(body if isinstance(body, bytes) else b"").hexdigest()
    headers = {"host": url.netloc, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical_path = urllib.parse.quote(path, safe="/-_.~")
    canonical = "\n".join([method, canonical_path, "",
                           "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload_hash])
    scope = f"{date}/{REGION}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), date), REGION), "s3"), "aws4_request")
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {"x-amz-content-sha256": payload_hash, "x-amz-date": amz_date,
           "Authorization": f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={sig}"}
    if body is not None:
        out["Content-Length"] = str(length if not isinstance(body, bytes) else len(body))
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    conn.request(method, canonical_path, body=body, headers=out)
    r = conn.getresponse()
    if discard and r.status == 200:
        n = 0
        buf = bytearray(1 << 20)
        while True:
            k = r.readinto(buf)
            if not k:
                break
            n += k
        data = n
    else:
        data = r.read()
    conn.close()
    return r.status, data


def cmd_make_bucket(endpoint, bucket):
    st, data = s3_request(endpoint, "PUT", "/" + bucket, body=b"")
    if st != 200 and not (st == 409 and b"BucketAlreadyOwnedByYou" in data):
        die(f"PUT bucket {bucket}: {st} {data[:300]!r}")


def cmd_put_object(endpoint, bucket, key, path):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        t0 = time.monotonic()
        st, data = s3_request(endpoint, "PUT", f"/{bucket}/{key}", body=f, length=size,
                              payload_hash="UNSIGNED-PAYLOAD")
        t = time.monotonic() - t0
    if st != 200:
        die(f"PUT {bucket}/{key}: {st} {data[:300]!r}")
    print(f"{t:.6f}")


def cmd_get_object(endpoint, bucket, key, size):
    t0 = time.monotonic()
    st, n = s3_request(endpoint, "GET", f"/{bucket}/{key}", discard=True)
    t = time.monotonic() - t0
    if st != 200 or n != int(size):
        die(f"GET {bucket}/{key}: {st}, {n if st == 200 else n[:300]!r} (want 200, {size} bytes)")
    print(f"{t:.6f}")


def cmd_cpu_secs(*pids):
    tck = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
        total += int(v[11]) + int(v[12])  # utime, stime (all threads)
    print("%.2f" % (total / tck))


def _proc_stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def cmd_tree_cpu_secs(pid):
    """CPU of PID with its reaped children (cutime, cstime) and every live
    descendant: a PostgreSQL postmaster and its per-connection backends."""
    tck = os.sysconf("SC_CLK_TCK")
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                kids.setdefault(int(_proc_stat(d)[1]), []).append(int(d))
            except (OSError, IndexError):
                pass
    total, todo = 0, [int(pid)]
    while todo:
        p = todo.pop()
        try:
            v = _proc_stat(p)
        except OSError:
            continue
        total += int(v[11]) + int(v[12]) + int(v[13]) + int(v[14])
        todo.extend(kids.get(p, []))
    print("%.2f" % (total / tck))


def cmd_link_stat(stats_file, pid, field):
    """slowlink rewrites its stats file on SIGUSR1: ask, wait for the rewrite."""
    import signal

    def stamp():
        st = os.stat(stats_file)
        return (st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    before = stamp()
    os.kill(int(pid), signal.SIGUSR1)
    end = time.monotonic() + 5
    while stamp() == before and time.monotonic() < end:
        time.sleep(0.02)
    print(json.load(open(stats_file))[field])


def cmd_wait_execution(api_base, exec_id, seconds):
    url = urllib.parse.urlsplit(api_base)
    end = time.monotonic() + float(seconds)
    last = ""
    while time.monotonic() < end:
        try:
            c = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
            c.request("GET", f"/api/v2.0/replication/executions/{exec_id}")
            r = c.getresponse()
            body = r.read()
            c.close()
            if r.status == 200:
                st = json.loads(body)["status"]
                if st != "InProgress":
                    print(st)
                    return
                last = st
            else:
                last = f"HTTP {r.status}"
        except (OSError, ValueError, KeyError) as e:
            last = str(e)
        time.sleep(0.2)
    die(f"execution {exec_id} not ended after {seconds}s (last: {last})")


def cmd_wait_new_line(seconds, pattern, *file_counts):
    end = time.monotonic() + float(seconds)
    want = [(fc.rsplit(":", 1)[0], int(fc.rsplit(":", 1)[1])) for fc in file_counts]
    while time.monotonic() < end:
        for path, count in want:
            try:
                n = sum(1 for line in open(path, errors="replace") if pattern in line)
            except OSError:
                n = 0
            if n > count:
                print(path, "%.3f" % time.time())
                return
        time.sleep(0.05)
    die(f"no new line with {pattern!r} within {seconds}s in {', '.join(p for p, _ in want)}")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cmd_wait_v2(base, pid, seconds):
    url = urllib.parse.urlsplit(base)
    end = time.monotonic() + float(seconds)
    last = ""
    while time.monotonic() < end:
        if not alive(pid):
            die(f"server pid {pid} exited before answering {base}/v2/")
        try:
            c = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
            c.request("GET", "/v2/")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status in (200, 401):
                return
            last = f"status {r.status}"
        except OSError as e:
            last = str(e)
        time.sleep(0.05)
    die(f"{base}/v2/ did not answer within {seconds}s ({last})")


def cmd_manifest_digest(base, repo, tag, accept):
    url = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    c.request("GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": accept})
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        die(f"GET manifest {repo}:{tag}: {r.status} {body[:200]!r}")
    ct = r.getheader("Content-Type", "")
    if not ct.startswith(accept):
        die(f"GET manifest {repo}:{tag}: Content-Type {ct}, want {accept}")
    print("sha256:" + hashlib.sha256(body).hexdigest())


def layout_blobs(d, tag):
    idx = json.load(open(os.path.join(d, "index.json")))
    for m in idx["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            break
    else:
        die(f"no tag {tag} in {d}")
    def path(desc):
        algo, h = desc["digest"].split(":")
        return os.path.join(d, "blobs", algo, h)
    man = json.load(open(path(m)))
    return m, [m, man["config"]] + man["layers"], path


def cmd_layout_bytes(d, tag):
    _, descs, _ = layout_blobs(d, tag)
    print(sum(x["size"] for x in descs))


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def cmd_verify_layout(src, dst, tag):
    _, descs, _ = layout_blobs(src, tag)
    m2, descs2, path2 = layout_blobs(dst, tag)
    if [x["digest"] for x in descs] != [x["digest"] for x in descs2]:
        die(f"{dst}:{tag} holds other blobs than {src}:{tag}")
    for x in descs2:
        p = path2(x)
        if os.path.getsize(p) != x["size"] or "sha256:" + sha256_file(p) != x["digest"]:
            die(f"blob {x['digest']} in {dst} does not match")


def cmd_median(*xs):
    print(statistics.median(float(x) for x in xs))


def cmd_table(results, md_out):
    cmd_table_sides(results, md_out, "reg=registry:2", "pier=pier")


def cmd_table_sides(results, md_out, *sides):
    """One column per server (KEY=LABEL; results hold KEY_push_mbps, ...),
    then one ratio column per server against the first one."""
    r = read_results(results)
    sides = [s.split("=", 1) for s in sides]
    (ref, ref_label), others = sides[0], sides[1:]
    def num(k):
        v = r.get(k)
        return float(v) if v not in (None, "") else None
    rows = [
        (f"(1) push: 1 image, {r['layers']} layers x {r['layer_mib']} MiB random, skopeo oci: -> docker://", "push_mbps", "MB/s", "%.0f"),
        ("(2) pull: the same image, skopeo docker:// -> fresh oci: folder", "pull_mbps", "MB/s", "%.0f"),
        (f"(3) {r['conc_n']} concurrent skopeo pushes, distinct {r['conc_mib']} MiB 1-layer images, aggregate", "conc_mbps", "MB/s", "%.0f"),
        (f"(4) manifest GET by tag, wrk -t2 -c{r['wrk_conns']} -d{r['wrk_seconds']}s: requests/s", "rps", "req/s", "%.0f"),
        ("(4) manifest GET p99 latency", "p99_ms", "ms", "%.2f"),
    ]
    head = ["metric"] + [label for _, label in sides] + [f"ratio {label}/{ref_label}" for _, label in others]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, key, unit, f in rows:
        vals = [num(k + "_" + key) for k, _ in sides]
        cells = [(f % v + " " + unit) if v is not None else "-" for v in vals]
        for v in vals[1:]:
            ratio = "-"
            if vals[0] and v is not None:
                ratio = "%.2fx" % (v / vals[0])
                if unit == "ms":
                    ratio += " (lower is better)"
            cells.append(ratio)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"What bounds them (same runs, medians, no registry in the path):")
    lines.append("")
    lines.append(f"- raw S3 PUT of one {r['size_mib']} MiB object straight to the RGW, one stream: {num('raw_put_mbps'):.0f} MB/s")
    lines.append(f"- raw S3 GET of that object, one stream: {num('raw_get_mbps'):.0f} MB/s")
    lines.append(f"- skopeo alone, oci: -> oci: copy of the push image on this machine: {num('local_copy_mbps'):.0f} MB/s")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(md_out, "w") as f:
        f.write(text)


def main():
    if len(sys.argv) < 2:
        die("usage: see the docstring")
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = globals().get("cmd_" + cmd.replace("-", "_"))
    if fn is None:
        die(f"unknown command {cmd}")
    fn(*args)


if __name__ == "__main__":
    main()
