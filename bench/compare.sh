#!/usr/bin/env bash
# Side-by-side benchmark in one run: the gRPC floor, the Redis+Lua peer, a
# batched floor, and policy_server's Check, CheckBatch and Decide, all under
# the same closed-loop load shape on this machine; then the server's RSS with
# 10M tracked customer conversations. Prints one table (markdown).
#
#   bench/compare.sh [SECONDS=10] [THREADS=2] [INFLIGHT=8] [ROUNDS=3]
#   MEMORY=0 bench/compare.sh 5 2 8 1    # rates only, one short round
#   B_FLAGS=--decision_log=false bench/compare.sh   # plus a second server, in the same rounds
#   B_BIN=/tmp/policy_server_before bench/compare.sh
#
# B_FLAGS starts a second policy_server with those extra flags beside the
# first and runs Check, CheckBatch and Decide (and their new-admission shapes)
# on it too (rows "Check (B)", ...), each beside the first server's in every
# round, first and second in turn: what a flag costs, measured in one run
# against one floor.
# B_BIN runs that second server from another binary (e.g. built at an earlier
# commit: is every shape at or above its figure before?).
#
# The event shapes (events, events_ids, webhooks) run on a third
# policy_server of their own, so the decision shapes of the first and of B
# look up tables of the same size (events leave millions of service windows
# and event ids behind; on the first server they made its checks look slower
# than B's by 10%).
#
# The shapes run in ROUNDS interleaved rounds (floor, Redis, ..., Decide, then
# again), and each shape reports its median round: on a shared, noisy machine
# a slow spell then hits every shape alike instead of one of them.
#
# Everything talks to 127.0.0.1 only; every process it starts is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
THREADS=${2:-2}
INFLIGHT=${3:-8}
ROUNDS=${4:-3}
SHARED=${SHARED:-$(cd .. && pwd)/shared}
PEERS=/tmp/peers
WORK=$(mktemp -d /tmp/wapolicy_compare_XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

./tools/setup.sh
missing=()
for p in libhiredis-dev redis-server; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
fi
bash "$SHARED/bench-peers/build.sh" >&2
bazel build -c opt //server:policy_server //bench:make_requests //bench:stream_load \
  //bench:http_load //bench:http_floor //bench:event_load >&2
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

REDIS_PORT=$(free_port); FLOOR_PORT=$(free_port); POLICY_PORT=$(free_port)
HTTP_PORT=$(free_port); HTTP_FLOOR_PORT=$(free_port)
# The webhook app the load signs with (make_requests seeds business "bench").
printf 'app { name: "bench" app_secret: "bench-app-secret" verify_token: "bench-verify"\n  business { business_id: "bench" waba_id: "300000000000777" } }\n' >"$WORK/apps"
chmod 600 "$WORK/apps"
# Redis with the same durability as policy_server's default: append-only file,
# no fsync per write (survives a killed process, not a lost machine).
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --appendonly yes --appendfsync no --save "" \
  --dir "$WORK" --daemonize no >"$WORK/redis.log" 2>&1 & PIDS+=($!)
REDIS_PID=$!
"$PEERS/echo_server" "127.0.0.1:$FLOOR_PORT" 2>"$WORK/floor.log" & PIDS+=($!)
FLOOR_PID=$!
mkdir -p "$WORK/data"
"$BIN/bench/http_floor" "127.0.0.1:$HTTP_FLOOR_PORT" 2>"$WORK/http_floor.log" & PIDS+=($!)
HTTP_FLOOR_PID=$!
"$BIN/server/policy_server" --listen="127.0.0.1:$POLICY_PORT" --http_listen="127.0.0.1:$HTTP_PORT" \
  --data_dir="$WORK/data" --config=bench/bench_profile.textproto 2>"$WORK/policy.log" & PIDS+=($!)
POLICY_PID=$!
# The event shapes (ReportEvents, webhooks) on a server of their own: they
# leave millions of service windows and event ids behind, which would make
# the decision shapes' look-ups slower on this server than on B's.
EVENTS_PORT=$(free_port); EVENTS_HTTP_PORT=$(free_port)
mkdir -p "$WORK/data_events"
"$BIN/server/policy_server" --listen="127.0.0.1:$EVENTS_PORT" --http_listen="127.0.0.1:$EVENTS_HTTP_PORT" \
  --webhook_apps="$WORK/apps" --data_dir="$WORK/data_events" \
  --config=bench/bench_profile.textproto 2>"$WORK/policy_events.log" & PIDS+=($!)
EVENTS_PID=$!
if [ -n "${B_FLAGS:-}${B_BIN:-}" ]; then
  B_PORT=$(free_port)
  mkdir -p "$WORK/data_b"
  # shellcheck disable=SC2086  # B_FLAGS is a list of flags.
  "${B_BIN:-$BIN/server/policy_server}" --listen="127.0.0.1:$B_PORT" --http_listen= --data_dir="$WORK/data_b" \
    --config=bench/bench_profile.textproto ${B_FLAGS:-} 2>"$WORK/policy_b.log" & PIDS+=($!)
  B_PID=$!
  wait_port "$B_PORT"
  "$BIN/bench/make_requests" --server="127.0.0.1:$B_PORT" --seed --fresh_numbers=100 >&2
fi
wait_port "$REDIS_PORT"; wait_port "$FLOOR_PORT"; wait_port "$POLICY_PORT"; wait_port "$HTTP_PORT"
wait_port "$HTTP_FLOOR_PORT"; wait_port "$EVENTS_PORT"; wait_port "$EVENTS_HTTP_PORT"
"$BIN/bench/make_requests" --server="127.0.0.1:$EVENTS_PORT" --seed --fresh_numbers=100 >&2

"$BIN/bench/make_requests" --server="127.0.0.1:$POLICY_PORT" --seed --fresh_numbers=100 --out="$WORK" >&2

field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" <<<"$1"; }
CLK=$(getconf CLK_TCK)
# A process's CPU time so far (user + system), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
declare -A OUT PER
run() {  # name, records per call, server pid, command...
  local name=$1 per=$2 spid=$3; shift 3
  echo "running $name: $*" >&2
  local s0 s1 cu cs out
  s0=$(cpu_ticks "$spid")
  out=$( { TIMEFORMAT='%3U %3S'; time "$@" 2>>"$WORK/load.log"; } 2>"$WORK/time.out" | tail -1)
  s1=$(cpu_ticks "$spid")
  read -r cu cs <"$WORK/time.out"
  # CPU per call, server and load client, from the round's own call count.
  out="$out $(awk -v s="$((s1 - s0))" -v clk="$CLK" -v cu="$cu" -v cs="$cs" -v secs="$SECS" \
    -v rps="$(field "$out" rps)" 'BEGIN { n = rps * secs; if (n < 1) n = 1;
      printf "srv_us=%.3f cli_us=%.3f", s / clk * 1e6 / n, (cu + cs) * 1e6 / n }')"
  echo "  $out" >&2
  OUT[$name]+="$out"$'\n'
  PER[$name]=$per
}
# One decision shape on one server: shape, row name, server pid, port, round.
decision_shape() {
  local shape=$1 name=$2 pid=$3 port=$4 round=$5
  case $shape in
    Check) run "$name" 1 "$pid" "$PEERS/load" "127.0.0.1:$port" /wapolicy.v1.PolicyService/Check "@$WORK/check.reqs" "$THREADS" "$SECS" "$INFLIGHT" ;;
    CheckBatch) run "$name" 100 "$pid" "$PEERS/load" "127.0.0.1:$port" /wapolicy.v1.PolicyService/CheckBatch "@$WORK/batch.reqs" "$THREADS" "$SECS" "$INFLIGHT" ;;
    Decide) run "$name" 100 "$pid" "$BIN/bench/stream_load" "127.0.0.1:$port" "@$WORK/decide.reqs" "$THREADS" "$SECS" "$INFLIGHT" ;;
    # New admissions only (issue 18 reports them apart): every check opens a
    # conversation on numbers the request files never use; each round starts
    # its own 3,000,000 pairs (decide_new after checks_new's).
    CheckBatch_new) run "$name" 100 "$pid" "$BIN/bench/event_load" "127.0.0.1:$port" "$THREADS" "$SECS" "$INFLIGHT" checks_new 100 $(((round - 1) * 3000000)) ;;
    Decide_new) run "$name" 100 "$pid" "$BIN/bench/event_load" "127.0.0.1:$port" "$THREADS" "$SECS" "$INFLIGHT" decide_new 100 $(((round - 1) * 3000000 + 1500000)) ;;
  esac
}
for round in $(seq "$ROUNDS"); do
  echo "round $round of $ROUNDS" >&2
  run floor 1 "$FLOOR_PID" "$PEERS/load" "127.0.0.1:$FLOOR_PORT" /floorbench.Echo/Call "$WORK/floor_single.req" "$THREADS" "$SECS" "$INFLIGHT"
  run redis 1 "$REDIS_PID" "$PEERS/redis_limiter" "$REDIS_PORT" "$THREADS" "$SECS" "$INFLIGHT"
  run floor_batched 100 "$FLOOR_PID" "$PEERS/load" "127.0.0.1:$FLOOR_PORT" /floorbench.Echo/Call "$WORK/floor_batch.req" "$THREADS" "$SECS" "$INFLIGHT"
  # The decision shapes, each on the first server and (with B_FLAGS / B_BIN)
  # on B right beside it, which of the two goes first alternating by round:
  # the second of a pair runs while the first one's RocksDB still flushes
  # what its admissions wrote, so always going second would count against B.
  for shape in Check CheckBatch Decide CheckBatch_new Decide_new; do
    if [ -z "${B_FLAGS:-}${B_BIN:-}" ]; then
      decision_shape "$shape" "$shape" "$POLICY_PID" "$POLICY_PORT" "$round"
    elif ((round % 2)); then
      decision_shape "$shape" "$shape" "$POLICY_PID" "$POLICY_PORT" "$round"
      decision_shape "$shape" "$shape (B)" "$B_PID" "$B_PORT" "$round"
    else
      decision_shape "$shape" "$shape (B)" "$B_PID" "$B_PORT" "$round"
      decision_shape "$shape" "$shape" "$POLICY_PID" "$POLICY_PORT" "$round"
    fi
  done
  # The same with brief answers (CheckBatchRequest.brief: what a pipeline acts on).
  run CheckBatch_brief 100 "$POLICY_PID" "$PEERS/load" "127.0.0.1:$POLICY_PORT" /wapolicy.v1.PolicyService/CheckBatch "@$WORK/batch_brief.reqs" "$THREADS" "$SECS" "$INFLIGHT"
  run Decide_brief 100 "$POLICY_PID" "$BIN/bench/stream_load" "127.0.0.1:$POLICY_PORT" "@$WORK/decide_brief.reqs" "$THREADS" "$SECS" "$INFLIGHT"
  # Events: ReportEvents batches of 100 customer messages, plain and with a
  # webhook's id and time on each (issue 12's "within 20%").
  run events 100 "$EVENTS_PID" "$BIN/bench/event_load" "127.0.0.1:$EVENTS_PORT" "$THREADS" "$SECS" "$INFLIGHT" plain
  run events_ids 100 "$EVENTS_PID" "$BIN/bench/event_load" "127.0.0.1:$EVENTS_PORT" "$THREADS" "$SECS" "$INFLIGHT" ids
  # JSON over HTTP: the same checks as Check; signed 1,000-status webhook POSTs
  # (4 connections, as the platform keeps few), and the HTTP floor on the same bodies.
  run json_check 1 "$POLICY_PID" "$BIN/bench/http_load" --mode=check --url="http://127.0.0.1:$HTTP_PORT/v1/check" \
    --threads="$THREADS" --inflight="$INFLIGHT" --seconds="$SECS"
  run http_floor 1000 "$HTTP_FLOOR_PID" "$BIN/bench/http_load" --mode=webhook --url="http://127.0.0.1:$HTTP_FLOOR_PORT/webhooks/whatsapp" \
    --threads=1 --inflight=4 --seconds="$SECS"
  run webhooks 1000 "$EVENTS_PID" "$BIN/bench/http_load" --mode=webhook --url="http://127.0.0.1:$EVENTS_HTTP_PORT/webhooks/whatsapp" \
    --threads=1 --inflight=4 --seconds="$SECS"
done
# Each shape's median round by rps (its latencies come from that same round).
declare -A RPS P50 P99 SRV CLI
for n in "${!OUT[@]}"; do
  med=$(grep -v '^$' <<<"${OUT[$n]}" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^rps=/) { split($i, kv, "="); print kv[2], $0 } }' \
        | sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }')
  RPS[$n]=$(field "$med" rps); P50[$n]=$(field "$med" p50_us); P99[$n]=$(field "$med" p99_us)
  SRV[$n]=$(field "$med" srv_us); CLI[$n]=$(field "$med" cli_us)
done

# Memory: 100 numbers x 100,000 customers = 10M tracked conversations
# (MEMORY=0 skips it: a quick look at the rates only).
CONV=10000000
# On a server of its own: the shapes above leave other state behind (new
# admissions on more numbers, up to --max_event_ids event ids).
if [ "${MEMORY:-1}" != 0 ]; then
  MEM_PORT=$(free_port)
  mkdir -p "$WORK/data_mem"
  "$BIN/server/policy_server" --listen="127.0.0.1:$MEM_PORT" --http_listen= --data_dir="$WORK/data_mem" \
    --config=bench/bench_profile.textproto 2>"$WORK/policy_mem.log" & PIDS+=($!)
  MEM_PID=$!
  wait_port "$MEM_PORT"
  "$BIN/bench/make_requests" --server="127.0.0.1:$MEM_PORT" --seed >&2
  "$BIN/bench/make_requests" --server="127.0.0.1:$MEM_PORT" --admit >&2
  RSS_KB=$(awk '/VmRSS/ {print $2}' /proc/$MEM_PID/status)
fi

dec() { awk -v r="$1" -v p="$2" 'BEGIN { printf "%.0f", r * p }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); load: $THREADS threads x $INFLIGHT in flight, ${SECS}s per shape and round, median of $ROUNDS rounds."
echo
echo "(events, events_ids: decisions/s are events/s, 100 customer messages a ReportEvents call; events_ids: each with an id and the platform's time.)"
echo
echo "(webhooks and http_floor: decisions/s are statuses/s, 1,000 a POST; the same bodies, so the calls/s ratio is the bytes/s ratio.)"
echo
echo "Server CPU: the server process's user + system time over the round (/proc/PID/stat) per call and per"
echo "decision (record); client CPU: the load client's, per call. CPU vs floor: server CPU per decision over the"
echo "floor server's per record (Check: per call vs the floor's; CheckBatch, Decide: vs the batched floor's)."
echo
if [ -n "${B_FLAGS:-}${B_BIN:-}" ]; then echo "(B): a second policy_server (${B_BIN:-the same binary}) started with ${B_FLAGS:-the same flags}, run in the same rounds."; echo; fi
echo "| shape | calls/s | decisions/s | p50 µs | p99 µs | vs floor | vs Redis peer | server CPU µs/call | server CPU ns/decision | client CPU µs/call | CPU vs floor |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
SHAPES=(floor redis floor_batched Check CheckBatch Decide CheckBatch_brief Decide_brief CheckBatch_new Decide_new)
[ -n "${B_FLAGS:-}${B_BIN:-}" ] && SHAPES+=("Check (B)" "CheckBatch (B)" "Decide (B)" "CheckBatch_new (B)" "Decide_new (B)")
SHAPES+=(events events_ids json_check http_floor webhooks)
for n in "${SHAPES[@]}"; do
  d=$(dec "${RPS[$n]}" "${PER[$n]}")
  vs_floor=-; vs_peer=-
  case $n in
    CheckBatch*|Decide*) vs_floor=$(ratio "$d" "$(dec "${RPS[floor_batched]}" 100)");;
    Check*) vs_floor=$(ratio "${RPS[$n]}" "${RPS[floor]}");;
    json_check) vs_floor="$(ratio "${RPS[$n]}" "${RPS[Check]}") of Check";;
    events_ids) vs_floor="$(ratio "${RPS[$n]}" "${RPS[events]}") of events";;
    webhooks) vs_floor="$(ratio "${RPS[$n]}" "${RPS[http_floor]}") of HTTP floor";;
  esac
  case $n in Check*|Decide*) vs_peer=$(ratio "$d" "${RPS[redis]}");; esac
  ns_dec=$(awk -v u="${SRV[$n]}" -v p="${PER[$n]}" 'BEGIN { printf "%.0f", u * 1000 / p }')
  cpu_vs=-
  case $n in
    CheckBatch*|Decide*) cpu_vs=$(ratio "${SRV[$n]}" "${SRV[floor_batched]}");;
    Check*) cpu_vs=$(ratio "${SRV[$n]}" "${SRV[floor]}");;
    webhooks) cpu_vs=$(ratio "${SRV[$n]}" "${SRV[http_floor]}");;
    events_ids) cpu_vs="$(ratio "${SRV[$n]}" "${SRV[events]}") of events";;
  esac
  echo "| $n | ${RPS[$n]} | $d | ${P50[$n]} | ${P99[$n]} | $vs_floor | $vs_peer | ${SRV[$n]} | $ns_dec | ${CLI[$n]} | $cpu_vs |"
done
echo
if [ "${MEMORY:-1}" != 0 ]; then
  echo "policy_server RSS with $CONV tracked conversations: $((RSS_KB / 1024)) MiB ($(awk -v k="$RSS_KB" -v c="$CONV" 'BEGIN { printf "%.0f", k * 1024 / c }') bytes per conversation)."
fi
