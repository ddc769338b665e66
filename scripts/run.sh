#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Pier and starts it on its
# embedded defaults: port 5000, data in ./pier-data, no auth. Extra
# arguments go to `pier serve` (see `pier serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
exec build/cmd/pier/pier serve "$@"
