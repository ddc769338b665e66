#!/usr/bin/env bash
# Garbage collection: Pier's online GC vs registry:2's offline
# `garbage-collect`, on the same generated content (bench/gcgen).
#
# usage: bench/gc_bench.sh PATH_TO_PIER [--repos N] [--load-seconds N] [--write-results FILE]
#
# Content (default 1,000 repositories): 20,000 manifests (4,000 untagged),
# 100,000 blobs of 1 KiB (19,000 referenced by nothing), dated a day ago.
# Measured, in this order, with the same push client (bench/lib/gcbench.py
# push-load: 4 clients, each pushing images as docker does):
#   (a) push throughput without GC, images/s (twice: before and after (b),
#       the mean is the baseline)
#   (b) push throughput while GC runs back to back for the whole window
#   (c) one online GC with delete_untagged over the generated store: its
#       duration, what it freed, Pier's peak RSS (VmHWM) before and after
#   (d) registry:2 `garbage-collect --delete-untagged` on the same content:
#       duration and peak RSS. It needs the registry stopped or read-only
#       (distribution docs): pushes during it are refused or lose blobs.
#   (e) `pier gc --data --delete-untagged` offline on a fresh copy, for the
#       like-for-like duration.
# Bars (issue 12): push throughput during GC >= 0.9 x without it.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PIER=$(readlink -f "${1:?usage: bench/gc_bench.sh PATH_TO_PIER [--repos N] [--load-seconds N] [--write-results FILE]}")
shift
GCGEN=$(dirname "$PIER")/../../bench/gcgen/gcgen
[ -x "$GCGEN" ] || { echo "gcgen not found at $GCGEN (build the bench folder)" >&2; exit 2; }
command -v docker-registry >/dev/null || { echo "needs docker-registry (scripts/deps.sh)" >&2; exit 2; }
REPOS=1000
LOAD=20
RESULTS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --repos) REPOS=$2; shift 2 ;;
    --load-seconds) LOAD=$2; shift 2 ;;
    --write-results) RESULTS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
LIB="python3 $HERE/lib/gcbench.py"
FREE_PORT="python3 $HERE/lib/benchlib.py free-port"
T=$(mktemp -d /tmp/pier-gcbench.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

echo "== generating $REPOS repositories"
"$GCGEN" --pier "$T/pier" --registry "$T/reg" --repos "$REPOS"
cp -a "$T/pier" "$T/pier-offline"

PORT=$($FREE_PORT)
BASE=http://127.0.0.1:$PORT
# Grace 10 s: past it once the first 20 s load window ends (a restart counts
# every link as read at startup), far above the milliseconds between a
# load client's blob upload and its manifest.
echo '{"gc": {"grace_seconds": 10, "schedule": ""}, "log": {"access": false}}' > "$T/pier.json"
"$PIER" serve --listen 127.0.0.1:$PORT --data "$T/pier" --config "$T/pier.json" 2> "$T/pier.log" &
PID=$!
python3 "$HERE/lib/benchlib.py" wait-ready "$BASE" "$PID" 60 >/dev/null

echo "== (a) push throughput without GC, ${LOAD}s"
read -r A1_N A1_S A1_E < <($LIB push-load "$BASE" "$LOAD" 4 a1)
echo "== (c) one GC with delete_untagged"
HWM_BEFORE=$(python3 "$HERE/lib/benchlib.py" vmhwm $PID)
read -r GC_S GC_STATUS GC_PIER < <($LIB gc "$BASE" true 1)
HWM_AFTER=$(python3 "$HERE/lib/benchlib.py" vmhwm $PID)
[ "$GC_STATUS" = Success ] || { echo "GC ended $GC_STATUS" >&2; exit 1; }
echo "== (b) push throughput while GC runs back to back, ${LOAD}s"
rm -f "$T/stop"
$LIB gc-loop "$BASE" "$T/stop" > "$T/gc-runs" &
LOOP=$!
read -r B_N B_S B_E < <($LIB push-load "$BASE" "$LOAD" 4 b)
touch "$T/stop"
wait $LOOP
GC_RUNS=$(cat "$T/gc-runs")
echo "== (a) again"
read -r A2_N A2_S A2_E < <($LIB push-load "$BASE" "$LOAD" 4 a2)
kill $PID; wait $PID 2>/dev/null || true; PID=""

echo "== (d) registry:2 garbage-collect --delete-untagged"
cat > "$T/reg.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $T/reg
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
YML
read -r R_S R_RSS R_RC < <($LIB maxrss -- docker-registry garbage-collect --delete-untagged "$T/reg.yml")
[ "$R_RC" = 0 ] || { echo "registry:2 garbage-collect failed" >&2; exit 1; }
R_LEFT=$(find "$T/reg/docker/registry/v2/blobs" -name data | wc -l)
echo "== (e) pier gc offline"
read -r P_S P_RSS P_RC < <($LIB maxrss -- "$PIER" gc --data "$T/pier-offline" --delete-untagged)
[ "$P_RC" = 0 ] || { echo "pier gc failed" >&2; exit 1; }

python3 - "$A1_N" "$A1_S" "$A2_N" "$A2_S" "$B_N" "$B_S" "$((A1_E + A2_E + B_E))" "$GC_S" "$GC_PIER" \
  "$HWM_BEFORE" "$HWM_AFTER" "$GC_RUNS" "$R_S" "$R_RSS" "$R_LEFT" "$P_S" "$P_RSS" "$REPOS" "$LOAD" "${RESULTS:-}" <<'PY'
import json, sys
(a1n, a1s, a2n, a2s, bn, bs, errs, gcs, gcp, hb, ha, runs, rs, rrss, rleft, ps, prss, repos, load, out) = sys.argv[1:]
base = (int(a1n) / float(a1s) + int(a2n) / float(a2s)) / 2
during = int(bn) / float(bs)
ratio = during / base if base else 0
p = json.loads(gcp) if gcp else {}
mib = lambda kib: "%.0f MiB" % (int(kib) / 1024)
rows = [
    ("push throughput without GC (mean of 2 runs)", "%.1f images/s" % base, ""),
    ("push throughput, GC back to back (%s runs)" % runs, "%.1f images/s" % during,
     "%.2f x  (bar >= 0.9) %s" % (ratio, "PASS" if ratio >= 0.9 else "FAIL")),
    ("push errors during all runs", errs, "must be 0"),
    ("online GC, delete_untagged: duration", "%.2f s" % float(gcs), ""),
    ("  freed", "%s blobs, %s manifests, %.1f MiB" % (p.get("blobs_deleted", "?"), p.get("manifests_deleted", "?"),
                                                    p.get("blob_bytes_deleted", 0) / 1048576), ""),
    ("  Pier peak RSS before / after the GC", "%s / %s" % (mib(hb), mib(ha)), ""),
    ("offline: pier gc --delete-untagged", "%.2f s, peak RSS %s" % (float(ps), mib(prss)), ""),
    ("offline: registry:2 garbage-collect --delete-untagged", "%.2f s, peak RSS %s" % (float(rs), mib(rrss)),
     "pier/registry:2 = %.2f x time; registry:2 must be stopped or read-only" % (float(ps) / float(rs))),
    ("  registry:2 blob files left", rleft, ""),
]
w = max(len(r[0]) for r in rows)
for r in rows:
    print("%-*s  %-28s %s" % (w, r[0], r[1], r[2]))
if out:
    with open(out, "w") as f:
        f.write("| GC bench (%s repositories, %s s load windows) | figure | vs |\n|---|---|---|\n" % (repos, load))
        for r in rows:
            f.write("| %s | %s | %s |\n" % r)
sys.exit(0 if ratio >= 0.9 and errs == "0" else 1)
PY
