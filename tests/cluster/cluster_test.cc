// A cluster on loopback: etcd, the router (nginx kept in step by
// router_config) and three policy_server nodes, each with its own data
// directory and ports, all started here and killed at the end.
//  - 200 portfolios created and loaded through the router: no portfolio
//    admits past its limit, no call is answered by a non-owner;
//  - a stale router (a call sent straight to a non-owner) gets
//    FAILED_PRECONDITION with the owner's address, never an admission;
//  - a node SIGKILLed: only its portfolios answer UNAVAILABLE; restarted on
//    its data they answer again with their state;
//  - etcd gone past the lease: nodes stop deciding, and resume after.
// The cluster is tests/cluster/cluster_harness.h's. Every wait polls with a
// deadline.

#include <signal.h>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/wapolicy/v1/policy.grpc.pb.h"
#include "tests/cluster/cluster_harness.h"

namespace wapolicy {
namespace {

using cluster_harness::Business;
using cluster_harness::ClusterHarness;
using cluster_harness::Endpoint;
using cluster_harness::Eventually;
using cluster_harness::kLimit;

constexpr int kNodes = 3;
constexpr int kCustomers = 6;

class ClusterTest : public ClusterHarness {
 protected:
  void SetUp() override { StartCluster("cluster", kNodes, kCustomers); }
};

TEST_F(ClusterTest, ACampaignThroughTheRouterKeepsEveryLimitAndAStaleRouterIsRefused) {
  constexpr int kPortfolios = 200;
  CreatePortfolios(kPortfolios);
  const std::map<std::string, int> owners = Owners();
  ASSERT_EQ(owners.size(), static_cast<size_t>(kPortfolios));
  std::set<int> used_nodes;
  for (const auto& [b, n] : owners) used_nodes.insert(n);
  EXPECT_EQ(used_nodes.size(), static_cast<size_t>(kNodes)) << "the ring spreads portfolios";
  AwaitRouter();

  // A stale router: a check sent straight to a node that does not own it.
  for (int i = 0; i < 10; ++i) {
    const int owner = owners.at(Business(i));
    const int other = (owner + 1) % kNodes;
    Endpoint straight(nodes_[other]->address());
    v1::Decision d;
    std::string owner_address;
    grpc::Status s = Check(straight, i, 0, &d, &owner_address);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
    EXPECT_EQ(owner_address, absl::StrCat("127.0.0.1:", grpc_ports_[owner]));
    v1::NumberState st;
    ASSERT_TRUE(State(*router_, i, &st).ok());
    EXPECT_EQ(st.used(), 0) << "a non-owner admitted for " << Business(i);
  }

  // The campaign: every customer of every portfolio, twice over, from 4 threads.
  absl::Mutex mu;
  std::map<int, std::set<int>> admitted;  // Portfolio -> customers allowed.
  std::map<int, int> codes;               // gRPC code -> calls.
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&, t] {
      Endpoint e(absl::StrCat("127.0.0.1:", router_grpc_));
      for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < kPortfolios; ++i) {
          for (int j = 0; j < kCustomers; ++j) {
            v1::Decision d;
            const int customer = (j + t) % kCustomers;
            grpc::Status s = Check(e, i, customer, &d);
            absl::MutexLock lock(&mu);
            ++codes[s.error_code()];
            if (s.ok() && d.allowed()) admitted[i].insert(customer);
          }
        }
      }
    });
  }
  for (auto& t : load) t.join();
  EXPECT_EQ(codes.count(grpc::StatusCode::FAILED_PRECONDITION), 0u) << "a non-owner answered";
  for (const auto& [code, calls] : codes) {
    EXPECT_EQ(code, grpc::StatusCode::OK) << calls << " calls answered " << code;
  }
  for (int i = 0; i < kPortfolios; ++i) {
    EXPECT_EQ(admitted[i].size(), static_cast<size_t>(kLimit)) << Business(i);
    v1::NumberState st;
    ASSERT_TRUE(State(*router_, i, &st).ok());
    EXPECT_EQ(st.used(), kLimit) << Business(i);
  }
}

TEST_F(ClusterTest, ALostNodeFailsOnlyItsPortfoliosAndComesBackWithItsState) {
  constexpr int kPortfolios = 30;
  CreatePortfolios(kPortfolios);
  const std::map<std::string, int> owners = Owners();
  AwaitRouter();
  // Each portfolio admits customer 0: one conversation open, one slot used.
  for (int i = 0; i < kPortfolios; ++i) {
    v1::Decision d;
    ASSERT_TRUE(Check(*router_, i, 0, &d).ok());
    ASSERT_TRUE(d.allowed()) << Business(i);
  }
  const int lost = owners.at(Business(0));
  nodes_[lost]->Kill(SIGKILL);
  // Right after the kill (nginx fails to reach it) and after the router has
  // noticed (its portfolios routed to no live server): UNAVAILABLE for its
  // portfolios only.
  auto only_lost_fail = [&] {
    for (int i = 0; i < kPortfolios; ++i) {
      v1::NumberState st;
      grpc::Status s = State(*router_, i, &st);
      const bool is_lost = owners.at(Business(i)) == lost;
      if (is_lost) {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Business(i) << " "
                                                                 << s.error_message();
      } else {
        EXPECT_TRUE(s.ok()) << Business(i) << " " << s.error_message();
        EXPECT_EQ(st.used(), 1);
      }
    }
  };
  only_lost_fail();
  AwaitRouter();
  ASSERT_TRUE(Eventually([&] {
    std::ifstream in(dir_ + "/router/nginx.conf");
    std::string conf((std::istreambuf_iterator<char>(in)), {});
    return conf.find(absl::StrCat("\"", Business(0), "\" wapolicy_down;")) != std::string::npos;
  }));
  only_lost_fail();

  // Back on its own data directory: its portfolios answer with their state.
  ASSERT_TRUE(nodes_[lost]->Start());
  ASSERT_TRUE(Eventually([&] {
    v1::NumberState st;
    return State(*router_, 0, &st).ok();
  }));
  for (int i = 0; i < kPortfolios; ++i) {
    v1::NumberState st;
    ASSERT_TRUE(State(*router_, i, &st).ok()) << Business(i);
    EXPECT_EQ(st.used(), 1) << Business(i);
    v1::Decision d;
    ASSERT_TRUE(Check(*router_, i, 0, &d).ok());
    EXPECT_TRUE(d.allowed()) << "the open conversation of " << Business(i);
  }
}

TEST_F(ClusterTest, WithoutEtcdPastTheLeaseNodesStopDecidingAndResumeAfter) {
  constexpr int kPortfolios = 12;
  CreatePortfolios(kPortfolios);
  AwaitRouter();
  etcd_.Stop();
  // The router keeps its configuration; the nodes refuse once the lease is out.
  EXPECT_TRUE(Eventually([&] {
    for (int i = 0; i < kPortfolios; ++i) {
      v1::NumberState st;
      if (State(*router_, i, &st).error_code() != grpc::StatusCode::UNAVAILABLE) return false;
    }
    return true;
  }, absl::Seconds(20)));
  // A campaign meanwhile is refused and admits nothing.
  for (int i = 0; i < kPortfolios; ++i) {
    v1::Decision d;
    EXPECT_EQ(Check(*router_, i, 0, &d).error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  ASSERT_TRUE(etcd_.Start().ok());
  EXPECT_TRUE(Eventually([&] {
    for (int i = 0; i < kPortfolios; ++i) {
      v1::NumberState st;
      if (!State(*router_, i, &st).ok()) return false;
    }
    return true;
  }, absl::Seconds(40)));
  for (int i = 0; i < kPortfolios; ++i) {
    v1::NumberState st;
    ASSERT_TRUE(State(*router_, i, &st).ok());
    EXPECT_EQ(st.used(), 0) << "an admission while the node had no lease: " << Business(i);
  }
}

}  // namespace
}  // namespace wapolicy
