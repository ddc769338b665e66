#!/usr/bin/env bash
# Pier as a pull-through cache against registry:2 (Debian docker-registry) in
# proxy mode: same upstream (docker-registry behind bench/slowlink at 20 MB/s
# + 20 ms), same hashing client, same run. See bench/lib/proxybench.py for
# the scenarios and bars; the table goes to stdout (and to FILE with
# --write-results FILE).
#
# usage: bench/proxy_bench.sh PATH_TO_PIER [--image-mb N] [--big-mb N] [--clients N]
#                             [--offline-requests N] [--write-results FILE]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PIER=$(readlink -f "${1:?usage: bench/proxy_bench.sh PATH_TO_PIER [options]}")
shift
SLOWLINK=$(dirname "$PIER")/../../bench/slowlink/slowlink
[ -x "$SLOWLINK" ] || { echo "slowlink not found at $SLOWLINK (build the bench folder)" >&2; exit 2; }
for t in docker-registry skopeo; do command -v "$t" >/dev/null || { echo "needs $t (scripts/deps.sh)" >&2; exit 2; }; done
exec python3 "$HERE/lib/proxybench.py" --pier "$PIER" --slowlink "$(readlink -f "$SLOWLINK")" "$@"
