// Debian's /usr/bin/etcd for tests: a one-member cluster on loopback with
// free client and peer ports and its own data directory. Stop() kills it
// (SIGKILL, data kept) to simulate losing etcd; Start() again brings it back
// on the same ports and data. The destructor kills it and removes the
// directory.
//
//   EtcdProcess etcd(MakeTempDir("etcd"));
//   ASSERT_TRUE(etcd.Start().ok());
//   EtcdClient client(etcd.endpoint());   // "127.0.0.1:<port>"
//   etcd.Stop();  ...  ASSERT_TRUE(etcd.Start().ok());
#ifndef WAPOLICY_CLUSTER_TESTING_ETCD_PROCESS_H_
#define WAPOLICY_CLUSTER_TESTING_ETCD_PROCESS_H_

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cluster/testing/child_process.h"
#include "cluster/testing/loopback.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace wapolicy::cluster::testing {

inline constexpr char kEtcdBinary[] = "/usr/bin/etcd";

class EtcdProcess {
 public:
  explicit EtcdProcess(std::string dir) : dir_(std::move(dir)) {}
  ~EtcdProcess() {
    Stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // Starts etcd and waits (up to 20 s) until it serves reads. The first start
  // picks the ports, retrying with others if one was taken meanwhile.
  absl::Status Start() {
    const bool first = client_port_ == 0;
    absl::Status s;
    for (int attempt = 0; attempt < (first ? 3 : 1); ++attempt) {
      if (first) {
        client_port_ = FreePort();
        do peer_port_ = FreePort();
        while (peer_port_ == client_port_);
      }
      s = StartOnce();
      if (s.ok()) return s;
      Stop();
    }
    return s;
  }

  // SIGKILL; the data directory stays for the next Start().
  void Stop() {
    if (process_) process_->Kill();
    process_.reset();
  }

  bool running() { return process_ && process_->running(); }

  std::string endpoint() const { return absl::StrCat("127.0.0.1:", client_port_); }
  std::string Log() const { return process_ ? process_->ReadLog() : ""; }

 private:
  absl::Status StartOnce() {
    const std::string client = absl::StrCat("http://127.0.0.1:", client_port_);
    const std::string peer = absl::StrCat("http://127.0.0.1:", peer_port_);
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            kEtcdBinary, "--name=test", "--data-dir=" + dir_ + "/data",
            "--listen-client-urls=" + client, "--advertise-client-urls=" + client,
            "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
            "--initial-cluster=test=" + peer, "--initial-cluster-state=new",
            // A one-member cluster elects itself after one election timeout;
            // keep that short so a restart is quick.
            "--heartbeat-interval=50", "--election-timeout=250", "--logger=zap",
            "--log-level=warn"},
        dir_ + "/etcd.log");
    if (absl::Status s = process_->Start(); !s.ok()) return s;
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    // Connect only once etcd listens.
    while (!WaitForPort(client_port_, absl::Milliseconds(50))) {
      if (!process_->running() || absl::Now() > deadline) {
        return absl::UnavailableError("etcd did not listen: " + process_->ReadLog());
      }
    }
    std::string last_error;
    while (absl::Now() < deadline) {
      if (!process_->running()) {
        return absl::UnavailableError("etcd exited: " + process_->ReadLog());
      }
      // A new connection each attempt: one made while etcd was still
      // starting can hang until gRPC's 20 s connect timeout.
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto kv = etcdserverpb::KV::NewStub(
          grpc::CreateCustomChannel(endpoint(), grpc::InsecureChannelCredentials(), args));
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
      etcdserverpb::RangeRequest request;
      request.set_key("ready");
      etcdserverpb::RangeResponse response;
      const grpc::Status status = kv->Range(&context, request, &response);
      if (status.ok()) return absl::OkStatus();
      last_error = status.error_message();
      absl::SleepFor(absl::Milliseconds(50));
    }
    return absl::DeadlineExceededError(
        absl::StrCat("etcd not ready within 20 s (", last_error, "): ", process_->ReadLog()));
  }

  const std::string dir_;
  int client_port_ = 0;
  int peer_port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace wapolicy::cluster::testing

#endif  // WAPOLICY_CLUSTER_TESTING_ETCD_PROCESS_H_
