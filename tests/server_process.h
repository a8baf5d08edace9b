// Test helpers around the real policy_server binary. ServerProcess starts it
// on a free loopback port with its own data directory and extra flags, hands
// out stubs for both services, and kills it when the test is done;
// SetUpBusiness registers a business, its numbers and a template through the
// admin API. The test needs "//server:policy_server" in its data and runs
// from the runfiles root (bazel test does both).
//
//   ServerProcess server(MakeTempDir("mytest"), {"--fake_clock=2026-01-01T00:00:00Z"});
//   ASSERT_TRUE(server.Start());
//   ASSERT_TRUE(SetUpBusiness(server, "acme", {"+14155550100"}).ok());
//   grpc::ClientContext c;
//   grpc::Status s = server.service().GetNumberState(&c, request, &state);
#ifndef WAPOLICY_TESTS_SERVER_PROCESS_H_
#define WAPOLICY_TESTS_SERVER_PROCESS_H_

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "proto/wapolicy/v1/policy.grpc.pb.h"

namespace wapolicy {

// A fresh temporary directory under the test's TEST_TMPDIR.
inline std::string MakeTempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/" + name + "_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  return mkdtemp(buf.data());
}

// A self-signed certificate for localhost and 127.0.0.1 (openssl's CLI),
// written to `dir`.crt and `dir`.key; false if openssl failed.
inline bool MakeTestCertificate(const std::string& dir, std::string* cert, std::string* key) {
  *cert = dir + ".crt";
  *key = dir + ".key";
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
      *key + " -out " + *cert + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// The real policy_server binary, started on a free loopback port with its own
// data directory, and killed when the test is done.
class ServerProcess {
 public:
  ServerProcess(std::string data_dir, std::vector<std::string> flags)
      : data_dir_(std::move(data_dir)), flags_(std::move(flags)) {}
  ~ServerProcess() { Kill(SIGKILL); }

  bool Start() {
    const std::string port_file = data_dir_ + ".port";
    const std::string http_port_file = data_dir_ + ".http_port";
    std::remove(port_file.c_str());
    std::remove(http_port_file.c_str());
    std::vector<std::string> argv = {
        "server/policy_server",      "--listen=127.0.0.1:0",
        "--http_listen=127.0.0.1:0", "--http_port_file=" + http_port_file,
        "--data_dir=" + data_dir_,   "--port_file=" + port_file};
    argv.insert(argv.end(), flags_.begin(), flags_.end());
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    for (int i = 0; i < 300; ++i) {  // Up to 30 s.
      std::ifstream in(port_file);
      int port = 0;
      if (in >> port && port > 0) {
        // The HTTP port is written before the gRPC one.
        std::ifstream http_in(http_port_file);
        http_in >> http_port_;
        address_ = "127.0.0.1:" + std::to_string(port);
        channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
        service_ = v1::PolicyService::NewStub(channel_);
        admin_ = v1::PolicyAdmin::NewStub(channel_);
        return true;
      }
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  void Kill(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  v1::PolicyService::Stub& service() { return *service_; }
  v1::PolicyAdmin::Stub& admin() { return *admin_; }
  const std::string& address() const { return address_; }
  // The HTTP listener's port (0 if the flags turned it off).
  int http_port() const { return http_port_; }
  pid_t pid() const { return pid_; }
  // Resident memory of the server process, in KiB (0 if unknown).
  int64_t RssKb() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
    }
    return 0;
  }

 private:
  std::string data_dir_;
  std::vector<std::string> flags_;
  pid_t pid_ = -1;
  std::string address_;
  int http_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PolicyService::Stub> service_;
  std::unique_ptr<v1::PolicyAdmin::Stub> admin_;
};

// The number's state, as GetNumberState answers it.
inline grpc::Status NumberStateOf(ServerProcess& server, const std::string& number,
                                  v1::NumberState* out) {
  grpc::ClientContext c;
  v1::GetNumberStateRequest r;
  r.set_business_number(number);
  return server.service().GetNumberState(&c, r, out);
}

// Registers a verified business, its numbers and one APPROVED utility template
// (name, "en"; none for an empty name) through the admin API, presenting
// `admin_token` if the server has tokens. Each call names the business
// (x-wapolicy-business), so it works with --require_business_header too.
inline grpc::Status SetUpBusiness(ServerProcess& server, const std::string& business,
                                  const std::vector<std::string>& numbers,
                                  const std::string& template_name = "t",
                                  const std::string& admin_token = "") {
  auto as_admin = [&admin_token, &business](grpc::ClientContext* c) {
    if (!admin_token.empty()) c->AddMetadata("authorization", "Bearer " + admin_token);
    c->AddMetadata("x-wapolicy-business", business);
  };
  grpc::ClientContext c;
  as_admin(&c);
  v1::UpsertBusinessRequest b;
  b.set_business_id(business);
  b.set_verified(true);
  v1::UpsertBusinessResponse br;
  grpc::Status s = server.admin().UpsertBusiness(&c, b, &br);
  for (const std::string& number : numbers) {
    if (!s.ok()) return s;
    grpc::ClientContext rc;
    as_admin(&rc);
    v1::RegisterNumberRequest r;
    r.set_business_number(number);
    r.set_business_id(business);
    v1::RegisterNumberResponse rr;
    s = server.admin().RegisterNumber(&rc, r, &rr);
  }
  if (!s.ok() || template_name.empty()) return s;
  grpc::ClientContext tc;
  as_admin(&tc);
  v1::Template t;
  t.set_business_id(business);
  t.set_name(template_name);
  t.set_language("en");
  t.set_category(v1::UTILITY);
  t.set_status(v1::APPROVED);
  v1::PutTemplateResponse tr;
  return server.admin().PutTemplate(&tc, t, &tr);
}

}  // namespace wapolicy

#endif  // WAPOLICY_TESTS_SERVER_PROCESS_H_
