#!/usr/bin/env python3
"""Helpers for bench/pull_bench.sh (python3 stdlib only).

Subcommands (stdout; errors to stderr with exit 1):
  curl-pull URL SIZE [OUT]      -> "<seconds>" (curl's own time_total; body copied
                                   into curl's buffer, written to OUT or /dev/null)
  cpu-tree PID                  -> user+system CPU seconds of PID and all its
                                   descendants (nginx: master + workers)
  pids-tree PID                 -> PID and its descendants, one per line
  table RESULTS_FILE MD_OUT     -> prints the text table, writes markdown to MD_OUT
"""
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (shared KEY=VALUE results reader)

CURL = ["curl", "-sS", "--noproxy", "*", "-H", "Expect:"]


def die(msg):
    print("pullbench: " + msg, file=sys.stderr)
    sys.exit(1)


def children():
    """pid -> [child pids] for every process now."""
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        kids.setdefault(ppid, []).append(int(p))
    return kids


def tree(pid):
    kids = children()
    out, stack = [], [int(pid)]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(kids.get(p, []))
    return out


def cpu_secs(pid):
    # utime + stime include the process's threads, also those that exited.
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cmd_curl_pull(url, size, out="/dev/null"):
    p = subprocess.run(CURL + ["-o", out, "-w", "%{http_code} %{size_download} %{time_total}", url],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        die("GET %s: curl exit %d: %s" % (url, p.returncode, p.stderr.decode(errors="replace")))
    code, got, secs = p.stdout.decode().split()
    if code != "200" or int(got) != int(size):
        die("GET %s: status %s, %s bytes (want 200, %s)" % (url, code, got, size))
    print("%.6f" % float(secs))


def cmd_table(results_file, md_out):
    r = benchlib.read_results(results_file)

    def med(key):
        xs = [float(x) for x in r.get(key, "").split()]
        return statistics.median(xs) if xs else None

    rows = []  # (scenario, metric, pier, registry:2, nginx, ratio text, bar, ok)

    def ratio_row(scen, metric, unit, key, other, need, higher_better):
        p, o = med("pier_" + key), med(other + "_" + key)
        if p is None or o is None or o == 0:
            q, ok = None, False
        else:
            q = p / o
            ok = q >= need if higher_better else q <= need
        name = {"reg": "registry:2", "nginx": "nginx"}[other]
        rows.append((scen, metric, fmt(p, unit), fmt(med("reg_" + key), unit), fmt(med("nginx_" + key), unit),
                     "n/a" if q is None else "pier/%s %.2fx" % (name, q),
                     "%s %.2fx" % (">=" if higher_better else "<=", need), ok))

    for net, label in (("lo", "loopback"), ("veth", "veth pair")):
        if med("pier_%s_mbps" % net) is None:
            continue
        ratio_row(label, "pull MB/s", "MB/s", net + "_mbps", "nginx", 0.95, True)
        ratio_row(label, "pull MB/s", "MB/s", net + "_mbps", "reg", 1.0, True)
        ratio_row(label, "server CPU ms per GiB", "ms", net + "_cpu", "reg", 0.7, False)
    if med("pier_first_mbps") is not None:
        ratio_row("first pull after push", "pull MB/s", "MB/s", "first_mbps", "reg", 0.9, True)
        ratio_row("first pull after push", "server CPU ms per GiB", "ms", "first_cpu", "reg", 10.0, False)
        ratio_row("first pull after push", "push MB/s (same run)", "MB/s", "push_mbps", "reg", 1.0, True)

    # A second Pier with the read-back off (--compare-no-warm): its figures in
    # the pier column, the ratio pier/pier-nowarm; information, no bar.
    for key, metric in (("push_mbps", "push MB/s"), ("first_mbps", "first pull MB/s"),
                        ("first_cpu", "first pull CPU ms per GiB")):
        p0, p = med("pier0_" + key), med("pier_" + key)
        if p0 is None:
            continue
        unit = "ms" if "cpu" in key else "MB/s"
        rows.append(("pier-nowarm (warm_bytes 0)", metric, fmt(p0, unit), fmt(med("reg_" + key), unit), "-",
                     "pier/pier-nowarm %.2fx" % (p / p0) if p and p0 else "n/a", "(info)", None))

    head = ("scenario", "metric", "pier", "registry:2", "nginx", "ratio", "bar", "result")
    body = [row[:7] + ("-" if row[7] is None else "PASS" if row[7] else "MISS",) for row in rows]
    # The first-pull CPU row has no bar of its own: shown for information.
    body = [b[:6] + ("(info)", "-") if b[0].startswith("first") and "CPU" in b[1] else b for b in body]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    line = lambda cols: "  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()
    print(line(head))
    print(line(["-" * w for w in widths]))
    for b in body:
        print(line(b))
    with open(md_out, "w") as o:
        o.write("| " + " | ".join(head) + " |\n")
        o.write("|" + "|".join(["---"] * len(head)) + "|\n")
        for b in body:
            o.write("| " + " | ".join(b) + " |\n")


def fmt(v, unit):
    if v is None:
        return "-"
    return "%.0f %s" % (v, unit)


def main():
    if len(sys.argv) < 2:
        die(__doc__)
    c, a = sys.argv[1], sys.argv[2:]
    if c == "curl-pull":
        cmd_curl_pull(*a)
    elif c == "cpu-tree":
        total = 0.0
        for p in tree(a[0]):
            try:
                total += cpu_secs(p)
            except OSError:
                pass
        print("%.3f" % total)
    elif c == "pids-tree":
        print("\n".join(str(p) for p in tree(a[0])))
    elif c == "table":
        cmd_table(*a)
    else:
        die("unknown subcommand " + c)


if __name__ == "__main__":
    main()
