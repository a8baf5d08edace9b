// The HTTP listener of policy_server: cpp-httplib (Debian's libcpp-httplib-dev)
// serving a routing table of handlers, each a plain function from a request
// (method, path, headers, the whole body) to a response. Handlers run on
// the library's worker threads; keep-alive is on; bodies over a bound get 413
// before they are read; TLS with the server's certificate and key files.
// (Not civetweb: Debian 12's libcivetweb loads OpenSSL 1.1 symbols by name
// and crashes on the first HTTPS request under OpenSSL 3.)
//
//   HttpServer::Options options;
//   options.listen = "127.0.0.1:0";
//   auto server = HttpServer::Start(options, {{"/v1", [](const HttpRequest& r) {
//     return HttpResponse::Json(200, "{}");
//   }}});
//   int port = (*server)->port();
#ifndef WAPOLICY_SERVER_HTTP_HTTP_SERVER_H_
#define WAPOLICY_SERVER_HTTP_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace httplib {
class Server;
}

namespace wapolicy {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // Decoded, without the query: "/v1/check".
  std::vector<std::pair<std::string, std::string>> params;  // Query, decoded.
  std::vector<std::pair<std::string, std::string>> headers;
  absl::string_view body;  // Valid while the handler runs.

  // The first header of that name (case-insensitive), or empty.
  absl::string_view Header(absl::string_view name) const;
  // The value of query parameter `name` (URL-decoded), or empty.
  absl::string_view QueryParam(absl::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Extra headers.

  static HttpResponse Json(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static HttpResponse Text(int status, std::string body) {
    HttpResponse r = Json(status, std::move(body));
    r.content_type = "text/plain; charset=utf-8";
    return r;
  }
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// A path prefix ("/v1" serves "/v1" and "/v1/...") and its handler.
struct HttpRoute {
  std::string prefix;
  HttpHandler handler;
};

class HttpServer {
 public:
  struct Options {
    std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one.
    std::string tls_cert_file;              // Both set: serve HTTPS.
    std::string tls_key_file;
    int threads = 16;                         // Worker threads (one per connection in use).
    size_t max_body_bytes = size_t{3} << 20;  // The platform's largest webhook: 3 MB.
  };

  // Starts serving on its own thread.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const Options& options,
                                                           std::vector<HttpRoute> routes);
  ~HttpServer();  // Stops: waits for handlers running.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  bool tls() const { return tls_; }

 private:
  explicit HttpServer(std::vector<HttpRoute> routes);

  const std::vector<HttpRoute> routes_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;  // Runs the accept loop.
  int port_ = 0;
  bool tls_ = false;
};

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_HTTP_HTTP_SERVER_H_
