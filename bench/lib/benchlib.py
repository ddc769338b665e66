#!/usr/bin/env python3
"""Helpers for bench/registry_bench.sh (python3 stdlib only).

Every timed transfer is done by curl (the same client for both servers);
this file only starts the curls, reads a monotonic clock around them and
does the untimed bookkeeping (free ports, readiness, manifest setup,
parsing wrk/dd output, the results table).

Subcommands (all print to stdout; errors go to stderr with exit 1):
  free-port
  wait-ready BASE_URL PID DEADLINE_SECONDS
  push BASE_URL REPO FILE DIGEST          -> "<seconds>"  (POST + PUT, timed)
  pull BASE_URL REPO DIGEST SIZE [OUT]    -> "<seconds>"  (GET, timed)
  concurrent-push BASE_URL REPO LIST      -> "<seconds>"  (LIST: lines "DIGEST PATH")
  setup-manifest BASE_URL REPO TAG        -> manifest digest (untimed)
  parse-wrk FILE                          -> "<req/s> <p99 ms> <non2xx> <errors> <requests>"
  parse-dd FILE                           -> "<MB/s>"
  median X...                             -> median
  vmhwm PID                               -> peak RSS in KiB
  cpu-secs PID                            -> user+system CPU seconds the process has used
  wait-idle MAX_BUSY_PCT DEADLINE_SECONDS -> CPU busy % over the last 1 s sample;
                                             samples until below MAX_BUSY_PCT or the deadline
  table RESULTS_FILE MD_OUT               -> prints the text table, writes markdown to MD_OUT
"""
import hashlib
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse


def die(msg):
    print("benchlib: " + msg, file=sys.stderr)
    sys.exit(1)


# Curl options shared by every timed request. "Expect:" turns off curl's
# "Expect: 100-continue" for large uploads so neither server is charged for
# curl's 1 s wait if it does not answer 100 Continue (real registry clients
# such as docker do not send it either).
CURL = ["curl", "-sS", "--noproxy", "*", "-H", "Expect:"]


def curl(args, what):
    """Runs curl with -w giving status and time; returns (status, time_total)."""
    cmd = CURL + args + ["-w", "\n%{http_code} %{time_total}"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        die("%s: curl exit %d: %s" % (what, p.returncode, p.stderr.decode(errors="replace").strip()))
    last = p.stdout.decode(errors="replace").rstrip("\n").rsplit("\n", 1)[-1]
    code, secs = last.split()
    return int(code), float(secs), p.stdout


def start_upload(base, repo):
    """POST /v2/REPO/blobs/uploads/; returns the absolute upload URL."""
    # No body and (as curl -X POST does) no Content-Length header.
    cmd = CURL + ["-X", "POST", "-o", "/dev/null", "-D", "-",
                  "%s/v2/%s/blobs/uploads/" % (base, repo)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        die("POST uploads: curl exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace")))
    head = p.stdout.decode(errors="replace")
    status = head.split("\r\n", 1)[0]
    if " 202" not in status:
        die("POST uploads: expected 202, got %r\n%s" % (status, head))
    m = re.search(r"(?im)^location:\s*(\S+)\s*$", head)
    if not m:
        die("POST uploads: no Location header\n" + head)
    return urllib.parse.urljoin(base + "/", m.group(1))


def with_digest(location, digest):
    sep = "&" if urllib.parse.urlsplit(location).query else "?"
    return location + sep + "digest=" + urllib.parse.quote(digest, safe=":")


def put_blob(location, path, digest):
    code, secs, out = curl(["-X", "PUT", "-T", path, "-o", "/dev/null",
                            "-H", "Content-Type: application/octet-stream",
                            with_digest(location, digest)], "PUT blob")
    if code != 201:
        die("PUT blob %s: expected 201, got %d" % (digest, code))
    return secs


def cmd_push(base, repo, path, digest):
    t0 = time.monotonic()
    loc = start_upload(base, repo)
    put_blob(loc, path, digest)
    print("%.6f" % (time.monotonic() - t0))


def cmd_pull(base, repo, digest, size, out="/dev/null"):
    # Timed by curl itself (time_total, a monotonic clock inside curl) so the
    # fork/exec of curl is not charged to a sub-second transfer.
    url = "%s/v2/%s/blobs/%s" % (base, repo, digest)
    p = subprocess.run(CURL + ["-L", "-o", out, "-w", "%{http_code} %{size_download} %{time_total}", url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        die("GET blob: curl exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace")))
    code, got, secs = p.stdout.decode().split()
    secs = float(secs)
    if code != "200" or int(got) != int(size):
        die("GET blob %s: status %s, %s bytes (want 200, %s)" % (digest, code, got, size))
    print("%.6f" % secs)


def cmd_pull_raw(base, repo, digest, size):
    """Timed GET with a lean client: one socket, body dropped in the kernel.

    curl writes through a 100 KiB buffer and tops out near 1.5 GB/s on these
    machines, below what a sendfile server delivers, so with curl both servers
    measure curl (and on 2 cores the client's CPU is taken from the server).
    This client reads the header, then discards the body with
    recv(MSG_TRUNC) (TCP: bytes are consumed, not copied), counting every
    byte, so the figure is the server's. The same client for both; curl still
    does the verifying pull."""
    u = urllib.parse.urlsplit(base)
    path = "/v2/%s/blobs/%s" % (repo, digest)
    buf = bytearray(4 << 20)
    mv = memoryview(buf)
    t0 = time.monotonic()
    s = socket.create_connection((u.hostname, u.port or 80))
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, u.netloc)).encode())
    got = 0
    head = b""
    while b"\r\n\r\n" not in head:
        n = s.recv_into(mv)
        if n == 0:
            die("GET blob: connection closed in the header")
        head += bytes(mv[:n])
    head, _, rest = head.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split()[1]
    length = None
    for l in lines[1:]:
        k, _, v = l.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    if status != "200" or length != int(size):
        die("GET blob %s: status %s, Content-Length %s (want 200, %s)" % (digest, status, length, size))
    got = len(rest)
    while got < length:
        n = s.recv_into(mv, len(buf), socket.MSG_TRUNC)
        if n == 0:
            break
        got += n
    secs = time.monotonic() - t0
    s.close()
    if got != length:
        die("GET blob %s: %d of %d bytes" % (digest, got, length))
    print("%.6f" % secs)


def cmd_concurrent_push(base, repo, listfile):
    items = [l.split() for l in open(listfile) if l.strip()]
    errors = []
    barrier = threading.Barrier(len(items) + 1)

    def worker(digest, path):
        barrier.wait()
        try:
            loc = start_upload(base, repo)
            put_blob(loc, path, digest)
        except SystemExit:
            errors.append(digest)

    threads = [threading.Thread(target=worker, args=(d, p)) for d, p in items]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    if errors:
        die("%d of %d concurrent pushes failed" % (len(errors), len(items)))
    print("%.6f" % secs)


def http_req(base, method, path, body=b"", headers=None):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    # Content-Length only with a body (http.client.request would add
    # "Content-Length: 0" to an empty POST).
    c.putrequest(method, path, skip_accept_encoding=True)
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    if body:
        c.putheader("Content-Length", str(len(body)))
    c.endheaders(body if body else None)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data


def push_small_blob(base, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    st, h, body = http_req(base, "POST", "/v2/%s/blobs/uploads/" % repo)
    if st != 202:
        die("setup POST: %d %r" % (st, body[:200]))
    loc = urllib.parse.urljoin(base + "/", h["location"])
    u = urllib.parse.urlsplit(with_digest(loc, digest))
    st, h, body = http_req(base, "PUT", u.path + "?" + u.query, data,
                           {"Content-Type": "application/octet-stream"})
    if st != 201:
        die("setup PUT blob: %d %r" % (st, body[:200]))
    return digest


def cmd_setup_manifest(base, repo, tag):
    layer = os.urandom(4096)
    layer_digest = push_small_blob(base, repo, layer)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "config": {},
    }, sort_keys=True).encode()
    config_digest = push_small_blob(base, repo, config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": len(layer)}],
    }, indent=2).encode()
    mt = "application/vnd.oci.image.manifest.v1+json"
    st, h, body = http_req(base, "PUT", "/v2/%s/manifests/%s" % (repo, tag), manifest, {"Content-Type": mt})
    if st != 201:
        die("setup PUT manifest: %d %r" % (st, body[:300]))
    st, h, body = http_req(base, "GET", "/v2/%s/manifests/%s" % (repo, tag), headers={"Accept": mt})
    if st != 200 or body != manifest:
        die("setup GET manifest: %d, %d bytes (want 200, %d bytes identical)" % (st, len(body), len(manifest)))
    print("sha256:" + hashlib.sha256(manifest).hexdigest())


def to_ms(v, unit):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def cmd_parse_wrk(path):
    text = open(path).read()
    m = re.search(r"Requests/sec:\s*([\d.]+)", text)
    if not m:
        die("wrk output has no Requests/sec:\n" + text)
    rps = float(m.group(1))
    m = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    if not m:
        die("wrk output has no 99% latency (was --latency given?):\n" + text)
    p99 = to_ms(m.group(1), m.group(2))
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    non2xx = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errs = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"(\d+) requests in", text)
    reqs = int(m.group(1)) if m else 0
    print("%.2f %.3f %d %d %d" % (rps, p99, non2xx, errs, reqs))


def cmd_parse_dd(path):
    text = open(path).read()
    m = re.search(r"^(\d+) bytes .* copied, ([\d.]+) s", text, re.M)
    if not m:
        die("cannot parse dd output:\n" + text)
    print("%.1f" % (int(m.group(1)) / float(m.group(2)) / 1e6))


def cmd_median(*xs):
    print("%.6f" % statistics.median(float(x) for x in xs))


def cmd_vmhwm(pid):
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmHWM:"):
            print(line.split()[1])
            return
    die("no VmHWM for pid " + pid)


def cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v[:8]) - idle, sum(v[:8])


def cmd_wait_idle(max_pct, deadline):
    end = time.monotonic() + float(deadline)
    while True:
        b0, t0 = cpu_times()
        time.sleep(1.0)
        b1, t1 = cpu_times()
        pct = 100.0 * (b1 - b0) / max(1, t1 - t0)
        if pct <= float(max_pct) or time.monotonic() >= end:
            print("%.0f" % pct)
            return


def fmt(v, unit):
    if v is None:
        return "n/a"
    if unit == "MB/s":
        return "%.0f MB/s" % v
    if unit == "req/s":
        return "%.0f req/s" % v
    if unit == "ms":
        return ("%.2f ms" % v) if v < 10 else ("%.1f ms" % v)
    if unit == "MiB":
        return "%.1f MiB" % v
    return str(v)


def read_results(results_file):
    """The KEY=VALUE lines a bench shell script wrote, as a dict."""
    r = {}
    for line in open(results_file):
        if "=" in line:
            k, v = line.rstrip("\n").split("=", 1)
            r[k] = v
    return r


def cmd_table(results_file, md_out):
    """RESULTS_FILE holds lines KEY=VALUE written by the shell script."""
    r = read_results(results_file)

    def f(k):
        v = r.get(k, "")
        try:
            return float(v)
        except ValueError:
            return None

    dd = f("dd_mbps")
    rows = []  # (metric, reg, pier, unit, ratio_text, bar_text, pass)

    def ratio(a, b):
        return None if (a is None or b is None or b == 0) else a / b

    def throughput(label, key, need, extra=None):
        reg, pier = f("reg_" + key), f("pier_" + key)
        q = ratio(pier, reg)
        ok = q is not None and q >= need
        bar = ">= %.1fx" % need
        if extra:
            bar2, ok2 = extra(pier)
            bar += " and " + bar2
            ok = ok and ok2
        rows.append((label, fmt(reg, "MB/s"), fmt(pier, "MB/s"),
                     "n/a" if q is None else "%.2fx" % q, bar, ok))

    def push_vs_dd(pier):
        if pier is None or not dd:
            return ">= 85% of dd", False
        pct = 100 * pier / dd
        return ">= 85%% of dd (%.0f%%)" % pct, pct >= 85

    throughput("(a) push %s MiB blob, monolithic" % r.get("size_mib", "?"), "push_mbps", 1.5, push_vs_dd)
    throughput("(b) pull it back (kernel discard, MSG_TRUNC: see pull_bench.sh)", "pull_mbps", 1.3)
    throughput("(c) %s concurrent pushes x %s MiB" % (r.get("conc_n", "?"), r.get("conc_mib", "?")), "conc_mbps", 1.5)

    reg, pier = f("reg_rps"), f("pier_rps")
    q = ratio(pier, reg)
    rows.append(("(d) manifest GET by tag, %s conns: requests/s" % r.get("wrk_conns", "?"),
                 fmt(reg, "req/s"), fmt(pier, "req/s"),
                 "n/a" if q is None else "%.2fx" % q, ">= 10x", q is not None and q >= 10))
    reg, pier = f("reg_p99_ms"), f("pier_p99_ms")
    q = ratio(pier, reg)
    rows.append(("(d) manifest GET p99 latency", fmt(reg, "ms"), fmt(pier, "ms"),
                 "n/a" if q is None else "%.3fx (%s)" % (q, "better" if q < 1 else "worse"),
                 "<= 0.1x", q is not None and q <= 0.1))
    reg, pier = f("reg_rss_kib"), f("pier_rss_kib")
    q = ratio(pier, reg)
    rows.append(("(e) peak RSS (VmHWM)", fmt(reg and reg / 1024, "MiB"), fmt(pier and pier / 1024, "MiB"),
                 "n/a" if q is None else "%.2fx (%s)" % (q, "better" if q < 1 else "worse"),
                 "< 1x", q is not None and q < 1))

    head = ("metric", "registry:2", "pier", "ratio pier/registry:2", "bar", "result")
    body = [(m, a, b, c, d, "PASS" if ok else "MISS") for m, a, b, c, d, ok in rows]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    line = lambda cols: "  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()
    print(line(head))
    print(line(["-" * w for w in widths]))
    for b in body:
        print(line(b))
    extra = []
    if dd:
        extra.append("durable write rate (dd bs=1M count=%s conv=fsync, same file system): %.0f MB/s"
                     % (r.get("dd_count", "?"), dd))
        for side, name in (("reg", "registry:2"), ("pier", "pier")):
            v = f(side + "_push_mbps")
            if v is not None:
                extra.append("%s push = %.0f%% of dd" % (name, 100 * v / dd))
    sha = f("sha_mbps")
    if sha:
        extra.append("sha256 one stream on this CPU (openssl speed -evp sha256, 1 MiB blocks): %.0f MB/s: a push "
                     "that verifies its digest while it streams cannot go faster, and on 2 cores the client and the "
                     "socket share them" % sha)
        v = f("pier_push_mbps")
        if v is not None:
            extra.append("pier push = %.0f%% of the sha256 rate" % (100 * v / sha))
    busy = f("max_busy")
    if busy is not None:
        extra.append("busiest 1 s CPU sample just before a timed run: %.0f%%%s" % (
            busy, " (other work was running: figures are skewed)" if busy > 10 else " (machine otherwise idle)"))
    for e in extra:
        print(e)
    with open(md_out, "w") as o:
        o.write("| " + " | ".join(head) + " |\n")
        o.write("|" + "|".join(["---"] * len(head)) + "|\n")
        for b in body:
            o.write("| " + " | ".join(b) + " |\n")
        o.write("\n")
        for e in extra:
            o.write("- " + e + "\n")


def main():
    if len(sys.argv) < 2:
        die(__doc__)
    c, a = sys.argv[1], sys.argv[2:]
    if c == "free-port":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
        s.close()
    elif c == "wait-ready":
        base, pid, deadline = a[0], a[1], time.monotonic() + float(a[2])
        u = urllib.parse.urlsplit(base)
        while time.monotonic() < deadline:
            if not os.path.exists("/proc/" + pid):
                die("server pid %s exited before it was ready" % pid)
            try:
                st, _, _ = http_req(base, "GET", "/v2/")
                if st in (200, 401):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        die("server at %s not ready within %s s" % (base, a[2]))
    elif c == "push":
        cmd_push(*a)
    elif c == "pull":
        cmd_pull(*a)
    elif c == "pull-raw":
        cmd_pull_raw(*a)
    elif c == "concurrent-push":
        cmd_concurrent_push(*a)
    elif c == "setup-manifest":
        cmd_setup_manifest(*a)
    elif c == "parse-wrk":
        cmd_parse_wrk(*a)
    elif c == "parse-dd":
        cmd_parse_dd(*a)
    elif c == "median":
        cmd_median(*a)
    elif c == "vmhwm":
        cmd_vmhwm(*a)
    elif c == "cpu-secs":
        with open("/proc/%s/stat" % a[0]) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        print("%.2f" % ((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")))
    elif c == "wait-idle":
        cmd_wait_idle(*a)
    elif c == "table":
        cmd_table(*a)
    else:
        die("unknown subcommand " + c)


if __name__ == "__main__":
    main()
