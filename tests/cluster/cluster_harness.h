// The loopback cluster the cluster tests share (cluster_test.cc,
// mover_test.cc): etcd (cluster/testing/etcd_process.h), three (or more)
// policy_server nodes, each with its own data directory and free ports, and
// the router (nginx kept in step by tools/cluster router_config), all started
// by the test and killed at its end; plus the helpers those tests call:
// names for portfolio i (Business, Number, Customer, NodeId), a gRPC Endpoint
// for the router or one node, portfolios made through the router
// (CreatePortfolio(s)), Check/State calls, who owns what as etcd says
// (Pins, Owners, OwnerOf), AwaitRouter and Eventually. Every wait polls with
// a deadline. A test using it needs ":cluster_harness" in its deps (which
// brings //server:policy_server and //tools/cluster:router_config into its
// runfiles) and runs from the runfiles root (bazel test does both).
//
//   class MyTest : public cluster_harness::ClusterHarness {
//    protected:
//     void SetUp() override { StartCluster("mytest", /*nodes=*/3, /*customers=*/6); }
//   };
//
//   TEST_F(MyTest, Something) {
//     CreatePortfolios(12);
//     AwaitRouter();
//     v1::Decision d;
//     ASSERT_TRUE(Check(*router_, 0, /*customer=*/0, &d).ok());
//     EXPECT_TRUE(d.allowed());
//     nodes_[OwnerOf(0)]->Kill(SIGKILL);
//   }
#ifndef WAPOLICY_TESTS_CLUSTER_CLUSTER_HARNESS_H_
#define WAPOLICY_TESTS_CLUSTER_CLUSTER_HARNESS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cluster/testing/child_process.h"
#include "cluster/testing/etcd_process.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/wapolicy/v1/cluster.grpc.pb.h"
#include "proto/wapolicy/v1/policy.grpc.pb.h"
#include "tests/server_process.h"

namespace wapolicy::cluster_harness {

inline constexpr int kLimit = 3;  // The config's first rung: each portfolio's limit.

// Polls `done` every 50 ms until it holds or `timeout` passes; its last answer.
bool Eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(30));

// Portfolio i: its business, its one number; customer j.
std::string Business(int i);
std::string Number(int i);
std::string Customer(int j);
// Node index n (0-based): its node id, "n1" for 0.
std::string NodeId(int n);

// One gRPC endpoint (the router, or a node straight).
struct Endpoint {
  explicit Endpoint(const std::string& address);
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::PolicyService::Stub> service;
  std::unique_ptr<v1::PolicyAdmin::Stub> admin;
  std::unique_ptr<v1::PolicyCluster::Stub> moves;
};

// Names the business a call is for (the router routes on it), and a 10 s deadline.
void Name(grpc::ClientContext* c, const std::string& business);

// A trailing metadata value of a finished call; "" if there is none.
std::string Trailer(const grpc::ClientContext& c, const std::string& key);

// A check of customer `customer` for portfolio i, with its approved template "t".
v1::CheckRequest TemplateCheck(int i, int customer);

class ClusterHarness : public ::testing::Test {
 protected:
  // Starts etcd, `nodes` nodes on the ring (together: each waits for its
  // join), then router_config and nginx; `customers` is how many customers
  // CreatePortfolio opts in. Its files go under a temp dir named `name`.
  void StartCluster(const std::string& name, int nodes, int customers);

  // A node process (not started), with fixed ports so it restarts in place.
  ServerProcess& AddNodeProcess(bool join_ring);

  void TearDown() override;

  std::string applied_file() const;
  std::string Address(int n) const;

  // Waits until the router runs a configuration from etcd's revision now.
  void AwaitRouter();

  // Every pin as etcd holds it.
  std::map<std::string, v1::PortfolioPin> Pins();
  // Who owns each business (its pin) as etcd says: node index.
  std::map<std::string, int> Owners();
  int OwnerOf(int i);

  // A business with one number, a template and opted-in customers, made
  // through the router.
  grpc::Status CreatePortfolio(int i);
  // Portfolios 0..n-1, from 4 threads; a failure for any fails the test.
  void CreatePortfolios(int n);

  // A template check of portfolio i for `customer` at `e`; the owner and
  // retry-after trailers if asked for.
  static grpc::Status Check(Endpoint& e, int i, int customer, v1::Decision* d,
                            std::string* owner = nullptr, std::string* retry_after = nullptr);
  static grpc::Status State(Endpoint& e, int i, v1::NumberState* out);

  std::string dir_;
  std::string config_;
  int customers_ = 6;
  cluster::testing::EtcdProcess etcd_{MakeTempDir("etcd")};
  std::vector<int> grpc_ports_, http_ports_;
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
  int router_grpc_ = 0, router_http_ = 0;
  std::unique_ptr<cluster::testing::ChildProcess> nginx_, router_config_;
  std::unique_ptr<Endpoint> router_;
};

}  // namespace wapolicy::cluster_harness

#endif  // WAPOLICY_TESTS_CLUSTER_CLUSTER_HARNESS_H_
