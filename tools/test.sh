#!/usr/bin/env bash
# Sets up and runs every test; ends with "N passed, N failed" (test targets).
set -uo pipefail
cd "$(dirname "$0")/.."
./tools/setup.sh
log=$(mktemp)
bazel test //... --test_output=errors "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' "$log")
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # Build failure.
rm -f "$log"
echo "${passed} passed, ${failed} failed"
exit "$rc"
