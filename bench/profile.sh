#!/usr/bin/env bash
# A CPU profile of policy_server under one load shape of bench/compare.sh, kept
# as text under bench/profiles/ (issue 18): perf record -g on the server for
# the whole run, then perf report's flat and caller views.
#
#   bench/profile.sh Check 10        # unary checks; the first pass is mostly new admissions
#   bench/profile.sh CheckBatch 10   # 100-decision batches
#
# Run after bench/compare.sh has built the peers (/tmp/peers). 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
SHAPE=${1:-CheckBatch}
SECS=${2:-10}
PEERS=/tmp/peers
WORK=$(mktemp -d /tmp/wapolicy_profile_XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
command -v perf >/dev/null || { apt-get update -q >&2; apt-get install -y -q linux-perf >&2; }
bazel build -c opt //server:policy_server //bench:make_requests >&2
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN/server/policy_server" --listen="127.0.0.1:$PORT" --http_listen= --data_dir="$WORK/data" \
  --config=bench/bench_profile.textproto 2>"$WORK/policy.log" &
PID=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.1; done
"$BIN/bench/make_requests" --server="127.0.0.1:$PORT" --seed --out="$WORK" >&2
case $SHAPE in
  Check) REQS="@$WORK/check.reqs" ;;
  CheckBatch) REQS="@$WORK/batch.reqs" ;;
  *) echo "profile.sh: SHAPE must be Check or CheckBatch" >&2; exit 2 ;;
esac
perf record -g -F 999 -p "$PID" -o "$WORK/perf.data" -- sleep "$SECS" 2>/dev/null &
PERF=$!
LOAD=$("$PEERS/load" "127.0.0.1:$PORT" "/wapolicy.v1.PolicyService/$SHAPE" "$REQS" 2 "$SECS" 8 2>/dev/null | tail -1)
wait "$PERF" || true
# perf's rows without its padding and empty columns.
tidy() { grep -E '^ +[0-9]' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//'; }
mkdir -p bench/profiles
OUT="bench/profiles/$(tr '[:upper:]' '[:lower:]' <<<"$SHAPE").txt"
{
  echo "# policy_server CPU profile under $SHAPE (2 threads x 8 in flight, ${SECS}s), $(date -u +%F)"
  echo "# made by: bench/profile.sh $SHAPE $SECS   (commit $(git rev-parse --short HEAD))"
  echo "# load: $LOAD"
  echo "# machine: $(nproc) cores, $(uname -sr)"
  echo
  echo "## By shared object"
  perf report -i "$WORK/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null | tidy | head -15
  echo
  echo "## Flat: the 40 hottest symbols (self time)"
  perf report -i "$WORK/perf.data" --stdio --no-children --sort symbol -g none 2>/dev/null \
    | tidy | head -40
  echo
  echo "## Inclusive: the 40 largest subtrees (self + callees)"
  perf report -i "$WORK/perf.data" --stdio --children --sort symbol -g none 2>/dev/null \
    | tidy | head -40
} >"$OUT"
echo "profile.sh: wrote $OUT" >&2
