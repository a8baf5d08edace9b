// Debian's /usr/sbin/nginx for tests: one process (no master, no daemon) in
// its own prefix directory, with the test's `http { ... }` contents, killed
// when the object goes away. The router tests use it as the real router.
//
//   NginxProcess nginx(MakeTempDir("nginx"));
//   ASSERT_TRUE(nginx.Start("server { listen 127.0.0.1:" + port + "; return 200 \"hi\"; }",
//                           {port}).ok());
//   nginx.Stop();   // or let the destructor do it
#ifndef WAPOLICY_CLUSTER_TESTING_NGINX_PROCESS_H_
#define WAPOLICY_CLUSTER_TESTING_NGINX_PROCESS_H_

#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cluster/testing/child_process.h"
#include "cluster/testing/loopback.h"

namespace wapolicy::cluster::testing {

inline constexpr char kNginxBinary[] = "/usr/sbin/nginx";

class NginxProcess {
 public:
  explicit NginxProcess(std::string dir) : dir_(std::move(dir)) {}

  // Writes nginx.conf with `http_body` inside `http { }` and starts nginx;
  // OK once every port in `ports` accepts connections.
  absl::Status Start(const std::string& http_body, const std::vector<int>& ports) {
    Stop();
    // Debian's nginx is built with its temp paths under /var/lib/nginx and
    // checks them at start: point every one into the test's directory.
    std::string conf = absl::StrCat(
        "daemon off;\nmaster_process off;\nworker_processes 1;\n",
        // As root, nginx chowns its temp directories to the worker user
        // (nobody), which a sandbox's user namespace may not map.
        geteuid() == 0 ? "user root;\n" : "",
        "pid ", dir_, "/nginx.pid;\nerror_log ", dir_, "/error.log warn;\n",
        "events { worker_connections 256; }\n", "http {\n  access_log off;\n");
    for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
      absl::StrAppend(&conf, "  ", temp, "_temp_path ", dir_, "/", temp, ";\n");
    }
    absl::StrAppend(&conf, http_body, "\n}\n");
    const std::string path = dir_ + "/nginx.conf";
    {
      std::ofstream out(path, std::ios::trunc);
      out << conf;
      if (!out) return absl::InternalError("cannot write " + path);
    }
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kNginxBinary, "-p", dir_, "-c", path, "-e", dir_ + "/error.log"},
        dir_ + "/stdout.log");
    if (absl::Status s = process_->Start(); !s.ok()) return s;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    for (int port : ports) {
      while (!WaitForPort(port, absl::Milliseconds(50))) {
        if (!process_->running() || absl::Now() > deadline) {
          return absl::UnavailableError(
              absl::StrCat("nginx did not start listening on ", port, ": ", ErrorLog()));
        }
      }
    }
    return absl::OkStatus();
  }

  void Stop() {
    if (process_) process_->Kill();
    process_.reset();
  }

  std::string ErrorLog() const {
    std::ifstream in(dir_ + "/error.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::string dir_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace wapolicy::cluster::testing

#endif  // WAPOLICY_CLUSTER_TESTING_NGINX_PROCESS_H_
