#include "server/http/http_server.h"

#include <httplib.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace wapolicy {

absl::string_view HttpRequest::Header(absl::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (absl::EqualsIgnoreCase(k, name)) return v;
  }
  return {};
}

absl::string_view HttpRequest::QueryParam(absl::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

HttpServer::HttpServer(std::vector<HttpRoute> routes) : routes_(std::move(routes)) {}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const Options& options,
                                                              std::vector<HttpRoute> routes) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("tls: set both the certificate and the key file, or neither");
  }
  const size_t colon = options.listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(options.listen).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "http_listen: want host:port (e.g. 127.0.0.1:8080), got '", options.listen, "'"));
  }
  const std::string host = options.listen.substr(0, colon);
  if (options.threads < 1) return absl::InvalidArgumentError("http_threads: at least 1");

  std::unique_ptr<HttpServer> self(new HttpServer(std::move(routes)));
  if (!options.tls_cert_file.empty()) {
    self->tls_ = true;
    self->server_ = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(),
                                                         options.tls_key_file.c_str());
    if (!self->server_->is_valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls_cert_file / tls_key_file: cannot load a certificate and key from ",
                       options.tls_cert_file, " and ", options.tls_key_file));
    }
  } else {
    self->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *self->server_;
  const size_t threads = static_cast<size_t>(options.threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_payload_max_length(options.max_body_bytes);  // Larger: 413, unread.
  s.set_keep_alive_max_count(1 << 20);
  s.set_keep_alive_timeout(60);
  s.set_read_timeout(30);
  s.set_write_timeout(30);
  // Errors the library answers itself (413, 404, 400) get a JSON body too.
  s.set_error_handler([max = options.max_body_bytes](const httplib::Request&,
                                                     httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = "request: not understood";
    if (res.status == 413) message = absl::StrCat("body: larger than ", max, " bytes");
    if (res.status == 404) message = "path: no such call";
    res.set_content(
        absl::StrCat(R"({"code":)", res.status == 404 ? 5 : 3, R"(,"message":")", message, R"("})"),
        "application/json");
  });
  for (const HttpRoute& route : self->routes_) {
    const HttpRoute* r = &route;
    auto handle = [r](const httplib::Request& in, httplib::Response& out) {
      HttpRequest req;
      req.method = in.method;
      req.path = in.path;
      req.params.assign(in.params.begin(), in.params.end());
      req.headers.assign(in.headers.begin(), in.headers.end());
      req.body = in.body;
      HttpResponse res = r->handler(req);
      out.status = res.status;
      for (const auto& [k, v] : res.headers) out.set_header(k.c_str(), v);
      out.set_content(std::move(res.body), res.content_type.c_str());
    };
    // "/v1" serves "/v1" and "/v1/..." (regex_match: the whole path).
    const std::string pattern = absl::StrCat(route.prefix, "(/.*)?");
    s.Get(pattern, handle);
    s.Post(pattern, handle);
    s.Put(pattern, handle);
    s.Delete(pattern, handle);
    s.Patch(pattern, handle);
  }
  int bound = 0;
  if (port == 0) {
    bound = s.bind_to_any_port(host);
  } else if (s.bind_to_port(host, port)) {
    bound = port;
  }
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("http_listen: cannot listen on ", options.listen));
  }
  self->port_ = bound;
  self->thread_ = std::thread([server = self->server_.get()] { server->listen_after_bind(); });
  return self;
}

HttpServer::~HttpServer() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace wapolicy
