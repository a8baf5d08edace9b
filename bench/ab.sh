#!/usr/bin/env bash
# Two policy_server binaries side by side under compare.sh's CheckBatch (or
# Decide) load, in alternating rounds (A B, B A, A B, ...), each server's CPU
# per decision from /proc/PID/stat: on a shared machine a slow spell then hits
# both alike, which single compare.sh runs cannot promise. Prints every round,
# then the means and the mean of the per-pair ratios with a 95% interval.
#
#   bench/ab.sh BEFORE_BIN AFTER_BIN [ROUNDS=20] [SECONDS=5] [CheckBatch|Decide|events|events_ids]
#
# with each binary a copy of `bazel build -c opt //server:policy_server`'s
# output made at the commit to compare (A "before", B "after"). `events` and
# `events_ids` are bench/event_load's ReportEvents batches of 100 customer
# messages, plain or each with a webhook's id and time; "decision" is then an
# event. A_SHAPE / B_SHAPE give one server another shape than SHAPE (e.g.
# A_SHAPE=events B_SHAPE=events_ids). A_ARGS / B_ARGS replace a server's
# flags after --listen and --data_dir (default: no HTTP listener, the bench
# profile), for a binary from before a flag existed.
#
# Needs compare.sh's peers (/tmp/peers/load) and bazel build -c opt //bench:make_requests
# //bench:stream_load //bench:event_load. 127.0.0.1 only; both servers are stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1
B=$2
ROUNDS=${3:-20}
SECS=${4:-5}
SHAPE=${5:-CheckBatch}
A_SHAPE=${A_SHAPE:-$SHAPE}
B_SHAPE=${B_SHAPE:-$SHAPE}
A_ARGS=${A_ARGS:---http_listen= --config=bench/bench_profile.textproto}
B_ARGS=${B_ARGS:---http_listen= --config=bench/bench_profile.textproto}
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)
WORK=$(mktemp -d /tmp/wapolicy_ab_XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
PA=$(free_port)
PB=$(free_port)
mkdir -p "$WORK/a" "$WORK/b"
# shellcheck disable=SC2086  # A_ARGS and B_ARGS are lists of flags.
"$A" --listen="127.0.0.1:$PA" --data_dir="$WORK/a" $A_ARGS 2>"$WORK/a.log" & PIDS+=($!)
APID=$!
# shellcheck disable=SC2086
"$B" --listen="127.0.0.1:$PB" --data_dir="$WORK/b" $B_ARGS 2>"$WORK/b.log" & PIDS+=($!)
BPID=$!
wait_port "$PA"
wait_port "$PB"
"$BIN/bench/make_requests" --server="127.0.0.1:$PA" --seed >&2
"$BIN/bench/make_requests" --server="127.0.0.1:$PB" --seed >&2
"$BIN/bench/make_requests" --out="$WORK" >&2
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
CLK=$(getconf CLK_TCK)
round() {  # label pid port shape
  local s0 s1 out rps
  s0=$(cpu_ticks "$2")
  if [ "$4" = events ] || [ "$4" = events_ids ]; then
    local mode=plain
    [ "$4" = events_ids ] && mode=ids
    out=$("$BIN/bench/event_load" "127.0.0.1:$3" 2 "$SECS" 8 "$mode" 2>/dev/null | tail -1)
  elif [ "$4" = Decide ]; then
    out=$("$BIN/bench/stream_load" "127.0.0.1:$3" "@$WORK/decide.reqs" 2 "$SECS" 8 2>/dev/null | tail -1)
  else
    out=$(/tmp/peers/load "127.0.0.1:$3" /wapolicy.v1.PolicyService/CheckBatch "@$WORK/batch.reqs" 2 "$SECS" 8 2>/dev/null | tail -1)
  fi
  s1=$(cpu_ticks "$2")
  rps=$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$out")
  awk -v l="$1" -v s=$((s1 - s0)) -v clk="$CLK" -v rps="$rps" -v secs="$SECS" \
    'BEGIN { printf "%s calls/s=%d ns/decision=%.0f\n", l, rps, s / clk * 1e9 / (rps * secs * 100) }'
}
{
  for r in $(seq "$ROUNDS"); do
    if ((r % 2)); then
      round A "$APID" "$PA" "$A_SHAPE"; round B "$BPID" "$PB" "$B_SHAPE"
    else
      round B "$BPID" "$PB" "$B_SHAPE"; round A "$APID" "$PA" "$A_SHAPE"
    fi
  done
} | tee "$WORK/rounds"
python3 - "$WORK/rounds" <<'EOF'
import math, re, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
a = [float(re.search(r"=([0-9.]+)$", r[2]).group(1)) for r in rows if r[0] == "A"]
b = [float(re.search(r"=([0-9.]+)$", r[2]).group(1)) for r in rows if r[0] == "B"]
ratios = [y / x for x, y in zip(a, b)]
half = 1.96 * statistics.stdev(ratios) / math.sqrt(len(ratios)) if len(ratios) > 1 else float("nan")
print(f"A mean {statistics.mean(a):.0f} ns/decision, B mean {statistics.mean(b):.0f}: "
      f"B/A per pair {statistics.mean(ratios):.3f} +- {half:.3f} (95%), median {statistics.median(ratios):.3f}")
EOF
