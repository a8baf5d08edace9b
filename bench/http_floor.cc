// The HTTP floor for bench/compare.sh: the same HTTP library and settings as
// policy_server's listener (server/http/http_server.h) answering 200 "{}" to
// every request, reading the body but not parsing it: what HTTP alone costs.
//
//   http_floor 127.0.0.1:PORT
#include <cstdio>
#include <thread>

#include "server/http/http_server.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: http_floor HOST:PORT\n");
    return 2;
  }
  wapolicy::HttpServer::Options options;
  options.listen = argv[1];
  auto ok = [](const wapolicy::HttpRequest&) { return wapolicy::HttpResponse::Json(200, "{}"); };
  auto server = wapolicy::HttpServer::Start(options, {{"/webhooks/whatsapp", ok}, {"/v1", ok}});
  if (!server.ok()) {
    std::fprintf(stderr, "http_floor: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  while (true) std::this_thread::sleep_for(std::chrono::hours(1));
}
