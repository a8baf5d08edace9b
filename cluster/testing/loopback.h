// Loopback helpers for the cluster tests: a free TCP port, a wait until
// something listens on one, a temporary directory, and one raw HTTP/1.0 GET.
//
//   int port = FreePort();
//   ... start a server on 127.0.0.1:port ...
//   ASSERT_TRUE(WaitForPort(port, absl::Seconds(10)));
//   absl::StatusOr<std::string> body = HttpGet(port, "/", {{"X-Wapolicy-Business", "acme"}});
#ifndef WAPOLICY_CLUSTER_TESTING_LOOPBACK_H_
#define WAPOLICY_CLUSTER_TESTING_LOOPBACK_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace wapolicy::cluster::testing {

// A fresh directory under TEST_TMPDIR.
inline std::string MakeTempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/" + name + "_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  return mkdtemp(buf.data());
}

namespace internal {
inline int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}
}  // namespace internal

// A port nothing listens on right now. The kernel picks it, so two calls in a
// row do not collide; another process could still take it before the server
// binds (the tests' servers cannot report a port they chose themselves).
inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// True once 127.0.0.1:port accepts a connection, false at the timeout.
inline bool WaitForPort(int port, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    const int fd = internal::ConnectLoopback(port);
    if (fd >= 0) {
      close(fd);
      return true;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

// GET http://127.0.0.1:port/path over HTTP/1.0 (the server closes after the
// answer); the body of a 200, an error otherwise.
inline absl::StatusOr<std::string> HttpGet(
    int port, const std::string& path,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  const int fd = internal::ConnectLoopback(port);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("connect to port ", port));
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n");
  for (const auto& [name, value] : headers) absl::StrAppend(&request, name, ": ", value, "\r\n");
  request += "\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("send");
  }
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return absl::UnavailableError("no complete HTTP answer");
  if (response.compare(0, 12, "HTTP/1.1 200") != 0 && response.compare(0, 12, "HTTP/1.0 200") != 0) {
    return absl::UnavailableError(response.substr(0, response.find("\r\n")));
  }
  return response.substr(body + 4);
}

}  // namespace wapolicy::cluster::testing

#endif  // WAPOLICY_CLUSTER_TESTING_LOOPBACK_H_
