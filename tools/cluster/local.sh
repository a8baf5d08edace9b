#!/usr/bin/env bash
# Starts a cluster on loopback for trying it: etcd, N policy_server nodes and
# the router (nginx kept in step by router_config), each with its data and
# logs under DIR. Ctrl-C (or `kill` of this script) stops them all; the data
# stays, so running it again with the same DIR restarts the nodes in place.
#
#   tools/cluster/local.sh [N=3] [DIR=/tmp/wapolicy-cluster]
#   policyctl --server=127.0.0.1:9090 --business=acme business --verified   # through the router
#   curl -H 'X-Wapolicy-Business: acme' 127.0.0.1:9080/v1/...               # HTTP through it
#   etcdctl --endpoints=127.0.0.1:2379 get --prefix /wapolicy/              # members, ring, pins
#   cat DIR/router/nginx.conf                                               # the rendered router
#
# Ports: etcd 2379/2380 (ETCD_PORT), router gRPC 9090 (ROUTER_GRPC) and
# HTTP 9080 (ROUTER_HTTP), node i gRPC 50050+i and HTTP 8080+i.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-3}
DIR=${2:-/tmp/wapolicy-cluster}
ETCD_PORT=${ETCD_PORT:-2379}
ROUTER_GRPC=${ROUTER_GRPC:-9090}
ROUTER_HTTP=${ROUTER_HTTP:-9080}
NODE_FLAGS=${NODE_FLAGS:-}
if [[ -z "${SKIP_BUILD:-}" ]]; then
  bazel build //server:policy_server //tools/cluster:router_config //cli:policyctl >&2
fi
BIN=$(bazel info bazel-bin 2>/dev/null || echo bazel-bin)
mkdir -p "$DIR/router"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$DIR"/n*.pid; do [[ -e "$f" ]] && kill "$(cat "$f")" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

/usr/bin/etcd --name=local --data-dir="$DIR/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-advertise-peer-urls="http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-cluster="local=http://127.0.0.1:$((ETCD_PORT + 1))" \
  --log-level=warn >"$DIR/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$ETCD_PORT) 2>/dev/null && break; sleep 0.1; done

for i in $(seq 1 "$N"); do
  rm -f "$DIR/n$i.port"
  # DIR/n<i>.sh restarts the node in place (after kill -9 of DIR/n<i>.pid, say).
  cat >"$DIR/n$i.sh" <<NODE
#!/usr/bin/env bash
echo \$\$ >"$DIR/n$i.pid"
exec "$BIN/server/policy_server" --etcd=127.0.0.1:$ETCD_PORT --node_id=n$i \\
  --listen=127.0.0.1:$((50050 + i)) --http_listen=127.0.0.1:$((8080 + i)) \\
  --data_dir="$DIR/n$i" --port_file="$DIR/n$i.port" $NODE_FLAGS >>"$DIR/n$i.log" 2>&1
NODE
  chmod +x "$DIR/n$i.sh"
  "$DIR/n$i.sh" &
  pids+=($!)
done
for i in $(seq 1 "$N"); do
  for _ in $(seq 300); do [[ -s "$DIR/n$i.port" ]] && break; sleep 0.1; done
  [[ -s "$DIR/n$i.port" ]] || { echo "node n$i did not start: $(tail -3 "$DIR/n$i.log")" >&2; exit 1; }
done

ROUTER=("$BIN/tools/cluster/router_config" --etcd=127.0.0.1:$ETCD_PORT
  --out="$DIR/router/nginx.conf" --grpc_listen=127.0.0.1:$ROUTER_GRPC
  --http_listen=127.0.0.1:$ROUTER_HTTP --applied_file="$DIR/router/applied")
"${ROUTER[@]}" --once
/usr/sbin/nginx -p "$DIR/router" -c "$DIR/router/nginx.conf" -g 'daemon off;' \
  -e "$DIR/router/error.log" >"$DIR/router/nginx.out" 2>&1 &
pids+=($!)
"${ROUTER[@]}" >"$DIR/router/router_config.log" 2>&1 &
pids+=($!)
echo "cluster of $N nodes up: router gRPC 127.0.0.1:$ROUTER_GRPC, HTTP 127.0.0.1:$ROUTER_HTTP;" \
  "etcd 127.0.0.1:$ETCD_PORT; logs in $DIR. Ctrl-C stops it." >&2
echo "lose a node: kill -9 \$(cat $DIR/n1.pid); bring it back in place: $DIR/n1.sh &" >&2
wait
