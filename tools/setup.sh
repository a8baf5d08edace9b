#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs (only those missing).
# golang-etcd-server-dev: etcd's v3 protos (//third_party/etcd generates the
# C++ client from them); etcd-server and nginx: started by //cluster's tests;
# zlib1g-dev: CRC-32 for //cluster:portfolio_ring.
# --with-tests: also what only the test suite needs (chromium, in which
# tests/dashboard_test loads the dashboard); tools/test.sh passes it.
set -euo pipefail
PKGS=(bazel-bootstrap g++ pkg-config libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev
      protobuf-compiler librocksdb-dev libabsl-dev libbenchmark-dev libgtest-dev libgmock-dev
      libjemalloc-dev libssl-dev openssl libphonenumber-dev libcpp-httplib-dev
      libcurl4-openssl-dev libsimdjson-dev
      python3
      golang-etcd-server-dev etcd-server nginx zlib1g-dev)
if [ "${1:-}" = "--with-tests" ]; then
  PKGS+=(chromium)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}" >&2
fi
