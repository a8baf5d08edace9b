#!/usr/bin/env bash
# Sets up and runs every test: the suite, the suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer, the concurrency tests under
# ThreadSanitizer, and short fuzzing runs. Ends with "N passed, N failed",
# counting test targets over all runs.
set -uo pipefail
cd "$(dirname "$0")/.."
./tools/setup.sh --with-tests
log=$(mktemp)
rc=0
run() {
  echo "== $*" >&2
  bazel test --test_output=errors "$@" 2>&1 | tee -a "$log"
  local r=${PIPESTATUS[0]}
  [ "$r" -ne 0 ] && rc=$r
  return 0
}
run //...
run --config=asan //...
run --config=tsan //policy:policy_engine_test //policy:business_freeze_test //policy:policy_engine_rates_test //policy:campaign_plan_test //policy:number_directory_test //storage:state_store_test //server:decision_log_test
if [ -x fuzz/run.sh ]; then
  if FUZZ_SECONDS=${FUZZ_SECONDS:-20} ./fuzz/run.sh 2>&1 | tee -a "$log"; then :; else rc=1; fi
fi
passed=$(grep -cE '^(//[^ ]+ +(\(cached\) )?PASSED|fuzz: [^ ]+ PASSED)' "$log")
failed=$(grep -cE '^(//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)|fuzz: [^ ]+ FAILED)' "$log")
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # A build failure.
rm -f "$log"
echo "${passed} passed, ${failed} failed"
exit "$rc"
