#!/usr/bin/env bash
# Sets up, builds and runs policy_server (RocksDB in ./data). Extra flags pass through,
# e.g. ./tools/run.sh --fake_clock=2026-01-01T00:00:00Z
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/setup.sh
bazel build //server:policy_server //cli:policyctl >&2
exec bazel-bin/server/policy_server --data_dir=./data "$@"
