// The router's configuration: nginx.conf rendered from an Assignment
// (cluster/assignment.h), a pure function of what etcd holds.
//
// Two listeners:
//  - gRPC (HTTP/2 cleartext): `map $http_x_wapolicy_business` sends each
//    pinned portfolio to its owner's gRPC address; any other business (not
//    pinned yet: only one being created) goes to an upstream
//    `hash $http_x_wapolicy_business consistent` over the ring nodes'
//    addresses in node-id order, which PortfolioRing reproduces, so it lands
//    on the node that claims it.
//  - HTTP: the business is the webhook path's (/webhooks/whatsapp/{b}) or
//    the X-Wapolicy-Business header; pinned portfolios go to their owner's
//    HTTP address, others to any live node (it answers 421 naming the
//    owner: nginx's hash over HTTP addresses would not agree with the ring).
// A portfolio whose owner is down (no member key) goes to an upstream with
// no live server. nginx never retries on another node (next_upstream off,
// max_fails=0: a hash upstream would otherwise fall over to a non-owner),
// and its own 502/504 become gRPC status 14 UNAVAILABLE (HTTP: 503), with
// x-wapolicy-retry-after-ms, as the node's own refusals carry.
//
//   NginxConfigOptions o;
//   o.grpc_listen = "127.0.0.1:9090";
//   o.http_listen = "127.0.0.1:9080";
//   o.runtime_dir = "/var/lib/wapolicy-router";   // pid, logs, temp files
//   std::string conf = RenderNginxConfig(assignment, o);
#ifndef WAPOLICY_CLUSTER_NGINX_CONFIG_H_
#define WAPOLICY_CLUSTER_NGINX_CONFIG_H_

#include <string>

#include "absl/strings/string_view.h"
#include "cluster/assignment.h"

namespace wapolicy::cluster {

struct NginxConfigOptions {
  std::string grpc_listen;  // host:port; required.
  std::string http_listen;  // host:port; empty: no HTTP listener.
  // A complete nginx.conf (main context, with pid, error_log and temp
  // paths under runtime_dir); false: only what goes inside `http { }`
  // (for an include in an existing nginx.conf).
  bool complete = true;
  std::string runtime_dir;  // complete: required.
  int worker_processes = 1;
  int worker_connections = 4096;
  int retry_after_ms = 1000;  // Sent with the router's own UNAVAILABLE.
  bool run_as_root = false;   // complete: `user root;` (tests in a sandbox).
};

std::string RenderNginxConfig(const Assignment& assignment, const NginxConfigOptions& options);

// The upstream name of a node's gRPC / HTTP listener ("wapolicy_grpc_n1");
// characters outside [A-Za-z0-9] are spelled _XX (hex).
std::string GrpcUpstreamName(absl::string_view node_id);
std::string HttpUpstreamName(absl::string_view node_id);

}  // namespace wapolicy::cluster

#endif  // WAPOLICY_CLUSTER_NGINX_CONFIG_H_
