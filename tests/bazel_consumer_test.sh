#!/usr/bin/env bash
# Builds examples/bazel_consumer -- a workspace of its own that depends on
# this repository through local_repository -- with a nested, offline Bazel,
# then runs its check_messages against a real policy_server (throughput 2/s,
# paced checks) and checks what it prints: every decision, the paced ones
# sent no earlier than their send_at, all five checks in one CheckBatch call.
#
# The nested Bazel gets its own output root under TEST_TMPDIR and a clean
# environment; its disk cache is the one the user's ~/.bazelrc names, else
# ~/.cache/wapolicy/bazel_consumer_disk_cache, so a second run (tools/test.sh
# runs the suite twice) takes seconds. It reads the real source tree (the
# example's runfiles resolved), which is why the test runs unsandboxed.
set -euo pipefail

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

runfiles=$(pwd)
example=$(dirname "$(readlink -f examples/bazel_consumer/WORKSPACE)")
[ -f "$example/BUILD.bazel" ] || fail "no example workspace at $example"
home=$(getent passwd "$(id -u)" | cut -d: -f6)
home=${home:-${HOME:-/tmp}}

disk_cache=()
if ! grep -qsE -- '--disk_cache=' "$home/.bazelrc"; then
  disk_cache=("--disk_cache=$home/.cache/wapolicy/bazel_consumer_disk_cache")
fi
out_root="$TEST_TMPDIR/bazel_root"
echo "== nested bazel build in $example" >&2
start=$(date +%s)
if ! (cd "$example" && env -i PATH=/usr/bin:/bin HOME="$home" USER="$(id -un)" \
        bazel --batch --output_user_root="$out_root" \
        build --symlink_prefix=/ --jobs=2 "${disk_cache[@]}" //:check_messages) \
        >"$TEST_TMPDIR/build.log" 2>&1; then
  tail -n 60 "$TEST_TMPDIR/build.log" >&2
  fail "the example workspace did not build"
fi
echo "   built in $(($(date +%s) - start)) s" >&2
binary=$(find "$out_root" -path '*/execroot/bazel_consumer/bazel-out/*/bin/check_messages' -type f | head -n 1)
[ -x "$binary" ] || fail "check_messages not found under $out_root"

# A real server: no fake clock (the client sleeps on the wall clock).
data="$TEST_TMPDIR/server"
mkdir -p "$data"
"$runfiles/server/policy_server" --listen=127.0.0.1:0 --port_file="$data/port" --http_listen= \
  --data_dir="$data/db" >"$data/log" 2>&1 &
server_pid=$!
trap 'kill -9 "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  [ -s "$data/port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$data/log" >&2; fail "policy_server exited"; }
  sleep 0.1
done
[ -s "$data/port" ] || fail "policy_server did not start"
server="127.0.0.1:$(cat "$data/port")"

ctl() { "$runfiles/cli/policyctl" --server="$server" "$@" >/dev/null || fail "policyctl $*"; }
N=+14155550100
ctl business --business=acme --verified
ctl register --number=$N --business=acme
ctl template --business=acme --name=order_update --language=en_US --category=utility --status=approved
ctl sync --number=$N --throughput=2  # 2 messages a second: the 3rd waits 0.5 s, the 4th 1 s.
for c in +447700900001 +447700900002 +447700900003 +447700900004; do
  ctl event --number=$N --customer=$c --type=opt_in --source=sms
done

start_ms=$(date +%s%3N)
out=$("$binary" --server="$server" --number=$N --template_name=order_update --language=en_US \
        --customers=+447700900001,+447700900002,+447700900003,+447700900004,+447700900005 \
        --pace --max_wait=200ms --deadline=20s) || fail "check_messages failed: $out"
elapsed_ms=$(($(date +%s%3N) - start_ms))
echo "$out"
echo "   ran in ${elapsed_ms} ms" >&2

for c in 1 2 3 4; do
  grep -qE "^\+44770090000$c ALLOW ALLOWED decision=([0-9a-f]+-)?[0-9]+( |$)" <<<"$out" ||
    fail "+44770090000$c was not allowed"
done
grep -qE '^\+447700900005 HOLD NOT_OPTED_IN' <<<"$out" || fail "+447700900005 was not held"
[ "$(grep -c ' send_at=.* waited$' <<<"$out")" -eq 2 ] || fail "expected two paced sends, waited for"
! grep -q EARLY <<<"$out" || fail "a paced message returned before its send_at"
grep -qx 'stats: checks=5 batches=1 retries=0 fail_closed=0 fail_open=0 paced_waits=2 rechecks=0' \
  <<<"$out" || fail "unexpected stats"
# The fourth message's slot is 1 s after the first two.
[ "$elapsed_ms" -ge 900 ] || fail "paced sends took ${elapsed_ms} ms, under the 1 s the slots need"

# Fail-closed and fail-open once the server is gone.
kill -9 "$server_pid"
wait "$server_pid" 2>/dev/null || true
out=$("$binary" --server="$server" --number=$N --customers=+447700900001 --deadline=300ms)
echo "$out"
grep -qE '^\+447700900001 ERROR UNAVAILABLE: fail-closed' <<<"$out" || fail "did not fail closed"
grep -qE 'fail_closed=1 fail_open=0' <<<"$out" || fail "fail-closed not counted"
out=$("$binary" --server="$server" --number=$N --customers=+447700900001 --deadline=300ms --fail_open)
echo "$out"
grep -qE '^\+447700900001 ALLOW ALLOWED \(fail-open\)$' <<<"$out" || fail "did not fail open"
grep -qE 'fail_closed=0 fail_open=1' <<<"$out" || fail "fail-open not counted"
echo "PASS"
