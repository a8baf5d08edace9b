#include "cluster/nginx_config.h"

#include <map>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace wapolicy::cluster {
namespace {

constexpr char kRingUpstream[] = "wapolicy_grpc_ring";
constexpr char kAnyHttpUpstream[] = "wapolicy_http_any";
// No live server: nginx answers 502 at once, made UNAVAILABLE below.
constexpr char kDownUpstream[] = "wapolicy_down";

std::string Escaped(absl::string_view id) {
  std::string out;
  for (char c : id) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      out += c;
    } else {
      absl::StrAppendFormat(&out, "_%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
}

// A map's key for business id `b`. nginx matches string keys ignoring
// case, and business ids are case sensitive: ids that differ only in case
// get case-sensitive regexes instead.
std::string MapKey(const std::string& b, bool collides) {
  if (!collides) return absl::StrCat("\"", b, "\"");
  std::string re = "\"~^";
  for (char c : b) {
    if (c == '.') re += '\\';
    re += c;
  }
  return re + "$\"";
}

// business -> upstream, written as map entries (ids are [A-Za-z0-9_.-]).
void AppendMapEntries(const absl::btree_map<std::string, std::string>& to, absl::string_view in,
                      std::string* out) {
  std::map<std::string, int> lower_count;
  for (const auto& [b, u] : to) ++lower_count[absl::AsciiStrToLower(b)];
  for (const auto& [b, u] : to) {
    absl::StrAppend(out, in, "    ", MapKey(b, lower_count[absl::AsciiStrToLower(b)] > 1), " ", u,
                    ";\n");
  }
}

}  // namespace

std::string GrpcUpstreamName(absl::string_view node_id) {
  return absl::StrCat("wapolicy_grpc_", Escaped(node_id));
}
std::string HttpUpstreamName(absl::string_view node_id) {
  return absl::StrCat("wapolicy_http_", Escaped(node_id));
}

std::string RenderNginxConfig(const Assignment& a, const NginxConfigOptions& o) {
  const std::string in = o.complete ? "  " : "";  // Indent inside http { }.
  std::string c = absl::StrCat(
      "# Rendered by router_config (tools/cluster) from etcd ", a.layout().Root(),
      ": do not edit.\n# ", a.members().size(), " live nodes, ", a.ring_nodes().size(),
      " ring nodes, ", a.pins().size(), " pinned portfolios.\n");
  if (o.complete) {
    absl::StrAppend(&c, o.run_as_root ? "user root;\n" : "", "worker_processes ",
                    o.worker_processes, ";\npid ", o.runtime_dir, "/nginx.pid;\nerror_log ",
                    o.runtime_dir, "/error.log warn;\nevents { worker_connections ",
                    o.worker_connections, "; }\nhttp {\n  access_log off;\n");
    for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
      absl::StrAppend(&c, "  ", temp, "_temp_path ", o.runtime_dir, "/", temp, ";\n");
    }
  }
  // Room for tens of thousands of portfolios in the maps.
  absl::StrAppend(&c, in, "map_hash_max_size 1048576;\n", in, "map_hash_bucket_size 128;\n\n");

  // Upstreams: one per live node and listener.
  for (const auto& [id, m] : a.members()) {
    if (!m.grpc_address().empty()) {
      absl::StrAppend(&c, in, "upstream ", GrpcUpstreamName(id), " { server ", m.grpc_address(),
                      " max_fails=0; keepalive 32; }\n");
    }
    if (!o.http_listen.empty() && !m.http_address().empty()) {
      absl::StrAppend(&c, in, "upstream ", HttpUpstreamName(id), " { server ", m.http_address(),
                      " max_fails=0; keepalive 32; }\n");
    }
  }
  absl::StrAppend(&c, in, "upstream ", kDownUpstream, " { server 127.0.0.1:9 down; }\n");
  // The ring, as PortfolioRing builds it: node-id order, the ring's address
  // text. A ring node that is down stays in (its portfolios wait for it).
  if (!a.ring_nodes().empty()) {
    absl::StrAppend(&c, in, "upstream ", kRingUpstream, " {\n", in,
                    "  hash $http_x_wapolicy_business consistent;\n");
    for (const auto& [id, node] : a.ring_nodes()) {
      absl::StrAppend(&c, in, "  server ", node.address(), " max_fails=0;  # ", id, "\n");
    }
    absl::StrAppend(&c, in, "}\n");
  }
  bool any_http = false;
  if (!o.http_listen.empty()) {
    std::string servers;
    for (const auto& [id, m] : a.members()) {
      if (!m.http_address().empty()) absl::StrAppend(&servers, in, "  server ", m.http_address(), " max_fails=0;\n");
    }
    if (!servers.empty()) {
      any_http = true;
      absl::StrAppend(&c, in, "upstream ", kAnyHttpUpstream, " {\n", servers, in,
                      "  keepalive 32;\n", in, "}\n");
    }
  }

  // Where each pinned portfolio goes.
  absl::btree_map<std::string, std::string> grpc_to, http_to;
  for (const auto& [b, pin] : a.pins()) {
    auto m = a.members().find(pin.owner());
    const bool live = m != a.members().end();
    grpc_to[b] = live && !m->second.grpc_address().empty() ? GrpcUpstreamName(pin.owner())
                                                           : kDownUpstream;
    http_to[b] = live && !m->second.http_address().empty() ? HttpUpstreamName(pin.owner())
                                                           : kDownUpstream;
  }
  absl::StrAppend(&c, "\n", in, "map $http_x_wapolicy_business $wapolicy_grpc_upstream {\n", in,
                  "    default ", a.ring_nodes().empty() ? kDownUpstream : kRingUpstream, ";\n");
  AppendMapEntries(grpc_to, in, &c);
  absl::StrAppend(&c, in, "}\n");

  const std::string retry = absl::StrCat(o.retry_after_ms);
  absl::StrAppend(
      &c, "\n", in, "server {\n", in, "  listen ", o.grpc_listen, " http2;\n", in,
      "  http2_max_concurrent_streams 1024;\n", in, "  client_max_body_size 0;\n", in,
      "  location / {\n", in, "    grpc_pass grpc://$wapolicy_grpc_upstream;\n", in,
      "    grpc_next_upstream off;\n", in, "    grpc_read_timeout 1h;\n", in,
      "    grpc_send_timeout 1h;\n", in, "    error_page 502 504 = @unavailable;\n", in,
      "  }\n", in, "  # The owner is down or unreachable: gRPC status 14 UNAVAILABLE.\n", in,
      "  location @unavailable {\n", in, "    default_type application/grpc;\n", in,
      "    add_header grpc-status 14 always;\n", in,
      "    add_header grpc-message \"wapolicy router: the node owning this business is "
      "unreachable\" always;\n",
      in, "    add_header x-wapolicy-retry-after-ms ", retry, " always;\n", in,
      "    return 204;\n", in, "  }\n", in, "}\n");

  if (!o.http_listen.empty()) {
    absl::StrAppend(
        &c, "\n", in, "map $uri $wapolicy_path_business {\n", in, "    default \"\";\n", in,
        "    \"~^/webhooks/whatsapp/(?<b>[A-Za-z0-9_.-]{1,64})$\" $b;\n", in, "}\n", in,
        "map $wapolicy_path_business $wapolicy_business {\n", in,
        "    \"\" $http_x_wapolicy_business;\n", in, "    default $wapolicy_path_business;\n", in,
        "}\n", in, "map $wapolicy_business $wapolicy_http_upstream {\n", in, "    default ",
        any_http ? kAnyHttpUpstream : kDownUpstream, ";\n");
    AppendMapEntries(http_to, in, &c);
    absl::StrAppend(
        &c, in, "}\n", in, "server {\n", in, "  listen ", o.http_listen, ";\n", in,
        "  client_max_body_size 16m;\n", in, "  location / {\n", in,
        "    proxy_pass http://$wapolicy_http_upstream;\n", in, "    proxy_http_version 1.1;\n",
        in, "    proxy_set_header Connection \"\";\n", in, "    proxy_set_header Host $host;\n", in,
        "    proxy_next_upstream off;\n", in, "    error_page 502 504 = @unavailable;\n", in,
        "  }\n", in, "  location @unavailable {\n", in, "    default_type application/json;\n",
        in, "    add_header Retry-After ", (o.retry_after_ms + 999) / 1000, " always;\n", in,
        "    add_header X-Wapolicy-Retry-After-Ms ", retry, " always;\n", in,
        "    return 503 '{\"code\":14,\"status\":\"UNAVAILABLE\",\"message\":\"wapolicy router: "
        "the node owning this business is unreachable\"}';\n",
        in, "  }\n", in, "}\n");
  }
  if (o.complete) c += "}\n";
  return c;
}

}  // namespace wapolicy::cluster
