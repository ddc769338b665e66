#!/usr/bin/env bash
# Replication benchmark: Pier's engine vs skopeo, over bench/slowlink (issue #3).
#
# usage: bench/replication_bench.sh PATH_TO_PIER [--scale F] [--write-results]
#                                   [--per-conn-scale F] [--skopeo-sync] [--only seed,cuts,cut1,conn] [--keep]
#
# Scenarios (the link is 1 MB/s with 40 ms one-way latency unless said):
#   seed  ten builds of one repository: a 5-layer 200 MB "JRE" base shared by
#         all plus a 50..100 MB app layer per build. Pier: one execution of a
#         manual policy; skopeo: `skopeo copy` of each build in turn
#         (--skopeo-sync: also one `skopeo sync` of the repository).
#         Figures: wall time, bytes on the wire, time until the first image is
#         complete at the destination, against missing bytes / bandwidth.
#   cuts  the same with every connection cut after 4 MB: what each tool does,
#         Pier's bytes resent per cut.
#   cut1  one 12 MB layer (any scale), every connection cut after 4 MB: once
#         the first cut taught Pier the limit no request crosses it (1 cut,
#         bytes on the wire <= 1.4 x the layer; Pier only).
#   conn  a link capped at 1 MB/s per connection (not in total) and one image
#         of four new 3 MB layers: parallel uploads vs one at a time.
# Each tool gets a fresh docker-registry and slowlink per scenario; the source
# is one Pier holding the images (pushed over loopback, untimed).
# --scale F multiplies every image size (link rates and latency stay, so the
# times shrink by F); --per-conn-scale overrides it for `conn`. Default 1.0 is
# the issue's numbers (about an hour). --write-results puts a section in
# bench/RESULTS.md (the other sections are kept).
# Needs skopeo, docker-registry and the slowlink built next to Pier
# (BUILD/bench/slowlink/slowlink for BUILD/cmd/pier/pier).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
case "${1:-}" in ""|-h|--help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;; esac
exec python3 "$HERE/lib/replbench.py" --command "bench/replication_bench.sh $*" "$@"
