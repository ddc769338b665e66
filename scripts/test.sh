#!/usr/bin/env bash
# Runs the whole test suite: unit tests (GoogleTest) and integration tests
# against real peers (skopeo, docker-registry), all under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)" --timeout 900
