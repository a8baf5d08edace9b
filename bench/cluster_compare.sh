#!/usr/bin/env bash
# The cluster's costs in one run (issue 17): Check decisions/s through the
# router (nginx + router_config) against straight to one node, on the same
# portfolios (that node's), and the nodes' CPU per decision with 1 and with 3
# nodes on this box. Every call names its business (bench/cluster_load).
#
#   bench/cluster_compare.sh [SECONDS=10] [THREADS=16] [BUSINESSES=30]
#
# Prints one markdown table. Everything is on 127.0.0.1; every process it
# starts is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
THREADS=${2:-16}
BUSINESSES=${3:-30}
WORK=$(mktemp -d /tmp/wapolicy_cluster_compare_XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
bazel build -c opt //server:policy_server //bench:cluster_load //tools/cluster:router_config >&2
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo $t; }
TICK=$(getconf CLK_TCK)

# start_cluster N: etcd, N nodes, the router; sets NODE_PIDS, NODE_ADDR, NGINX_PID, ROUTER.
start_cluster() {
  local n=$1 dir=$WORK/c$1
  mkdir -p "$dir/router"
  local ep=$(free_port) pp=$(free_port)
  /usr/bin/etcd --name=b --data-dir="$dir/etcd" --listen-client-urls="http://127.0.0.1:$ep" \
    --advertise-client-urls="http://127.0.0.1:$ep" --listen-peer-urls="http://127.0.0.1:$pp" \
    --initial-advertise-peer-urls="http://127.0.0.1:$pp" --initial-cluster="b=http://127.0.0.1:$pp" \
    --log-level=warn >"$dir/etcd.log" 2>&1 & PIDS+=($!)
  wait_port "$ep"
  NODE_PIDS=(); NODE_ADDR=()
  for i in $(seq 1 "$n"); do
    local gp=$(free_port) hp=$(free_port)
    "$BIN/server/policy_server" --etcd=127.0.0.1:$ep --node_id=n$i --listen=127.0.0.1:$gp \
      --http_listen=127.0.0.1:$hp --data_dir="$dir/n$i" --port_file="$dir/n$i.port" \
      --state_events_interval=0 >"$dir/n$i.log" 2>&1 & PIDS+=($!)
    NODE_PIDS+=($!); NODE_ADDR+=("127.0.0.1:$gp")
  done
  for i in $(seq 1 "$n"); do
    for _ in $(seq 300); do [[ -s "$dir/n$i.port" ]] && break; sleep 0.1; done
  done
  local rg=$(free_port) rh=$(free_port)
  local rc=("$BIN/tools/cluster/router_config" --etcd=127.0.0.1:$ep --out="$dir/router/nginx.conf"
    --grpc_listen=127.0.0.1:$rg --http_listen=127.0.0.1:$rh --applied_file="$dir/router/applied")
  "${rc[@]}" --once 2>/dev/null
  /usr/sbin/nginx -p "$dir/router" -c "$dir/router/nginx.conf" -g 'daemon off;' \
    -e "$dir/router/error.log" >/dev/null 2>&1 & PIDS+=($!)
  NGINX_PID=$!
  "${rc[@]}" >"$dir/router/router_config.log" 2>&1 & PIDS+=($!)
  wait_port "$rg"
  ROUTER=127.0.0.1:$rg
  "$BIN/bench/cluster_load" --server="$ROUTER" --setup --businesses="$BUSINESSES" >&2
  sleep 1  # the router's reload after the last pin (ring fallback meanwhile: same owners)
}
stop_cluster() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}
# measure NAME ADDR PROBE PIDS...: runs the load, records rps and CPU per decision.
declare -A RPS CPU_NODES CPU_NGINX
measure() {
  local name=$1 addr=$2 probe=$3; shift 3
  # nginx: the master and its workers.
  local ng=("$NGINX_PID" $(pgrep -P "$NGINX_PID"))
  local n0=$(cpu_ticks "${NODE_PIDS[@]}") g0=$(cpu_ticks "${ng[@]}")
  local out; out=$("$BIN/bench/cluster_load" --server="$addr" --probe="$probe" \
    --businesses="$BUSINESSES" --threads="$THREADS" --seconds="$SECS")
  local n1=$(cpu_ticks "${NODE_PIDS[@]}") g1=$(cpu_ticks "${ng[@]}")
  read -r calls rps errors nb <<<"$out"
  RPS[$name]=$rps
  CPU_NODES[$name]=$(awk -v t=$((n1 - n0)) -v c="$calls" -v k="$TICK" 'BEGIN { printf "%.1f", t / k * 1e6 / c }')
  CPU_NGINX[$name]=$(awk -v t=$((g1 - g0)) -v c="$calls" -v k="$TICK" 'BEGIN { printf "%.1f", t / k * 1e6 / c }')
  echo "$name: $calls calls, $rps/s, $errors errors, $nb businesses" >&2
}

start_cluster 3
ONE=${NODE_ADDR[0]}
# The same portfolios (n1's) through the router and straight, interleaved.
measure "n1 straight" "$ONE" "$ONE"
measure "n1 via router" "$ROUTER" "$ONE"
measure "3 nodes via router" "$ROUTER" "$ROUTER"
stop_cluster
start_cluster 1
measure "1 node via router" "$ROUTER" "$ROUTER"
measure "1 node straight" "${NODE_ADDR[0]}" "${NODE_ADDR[0]}"
stop_cluster

echo
echo "Check calls, $THREADS client threads (one call in flight each), ${SECS}s each, $BUSINESSES businesses; $(nproc) cores shared by everything."
echo "CPU per decision: the nodes' user + system time (all nodes) and nginx's, over the run, per call."
echo
echo "| run | decisions/s | node CPU µs/decision | nginx CPU µs/decision |"
echo "|---|---|---|---|"
for n in "n1 straight" "n1 via router" "1 node straight" "1 node via router" "3 nodes via router"; do
  echo "| $n | ${RPS[$n]} | ${CPU_NODES[$n]} | ${CPU_NGINX[$n]} |"
done
awk -v a="${RPS[n1 via router]}" -v b="${RPS[n1 straight]}" 'BEGIN { printf "\nrouter / straight (same portfolios): %.2fx decisions/s\n", a / b }'
