#!/usr/bin/env bash
# The layer advisor's predicted replication time against the replication it
# predicts (issue 13: within 10 %). Two builds of a Java service made from
# this machine's files (tests/integration/lib/make_app_image.py), a fresh Pier
# and docker-registry behind bench/slowlink at 1 MB/s (40 ms each way) per
# policy: build 1 is replicated (the destination's rate comes from that run),
# build 2 is pushed, `pier report --json` predicts its time, the policy's
# next run is timed. Policies: plain (layers as stored) and zstd (adaptive).
# Peer: `skopeo copy` of build 2 to a registry holding build 1, same link.
#
# usage: bench/advisor_bench.sh PATH_TO_PIER [--scale F] [--write-results FILE] [--keep]
#   --scale F multiplies the layer sizes (20 MB docs, 8 MB apt lists, 10 MB of jars at 1.0).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case "${1:-}" in ""|-h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;; esac
exec python3 "$HERE/lib/advisorbench.py" --command "bench/advisor_bench.sh $*" "$@"
