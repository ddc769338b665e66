#!/usr/bin/env bash
# zstd vs gzip over a slow link (issue 13): one image of three realistic layers
# built from this machine's files (OS-like: /usr/bin and /usr/lib/x86_64-linux-gnu;
# JRE-like: java-17's lib/*.so, libjvm.so and its jimage `modules` (a jlink'd
# JRE's content, cut to size); a Spring-Boot-shaped fat JAR of
# Debian's jars), gzip -6, replicated to a fresh docker-registry behind
# bench/slowlink at 1 MB/s (40 ms each way) by:
#   pier-gzip            Pier, policy without compression (sent as stored)
#   pier-zstd-adaptive   Pier, "compression": {"format": "zstd"} (no link history yet: level 3)
#   pier-zstd-12         Pier, level 12 (what the adaptive rule picks for 1 MB/s once it knows the link)
#   skopeo-zstd          skopeo copy --dest-compress-format zstd (its default level)
#   skopeo-zstd-12       the same at --dest-compress-level 12
# Each Pier run starts from a fresh Pier (no transcode stored). Figures: bytes
# per layer at the destination, bytes on the wire, wall time against the
# wire bytes ÷ the link (1.00 = the link never waited), CPU spent (Pier's
# process; skopeo's).
#
# usage: bench/transcode_bench.sh PATH_TO_PIER [--scale F] [--write-results FILE] [--keep]
#   --scale F multiplies the layer sizes (40, 40, 20 MB of tar at 1.0).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case "${1:-}" in ""|-h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;; esac
exec python3 "$HERE/lib/transcodebench.py" --command "bench/transcode_bench.sh $*" "$@"
