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
// Every wait polls with a deadline.

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cluster/cluster_layout.h"
#include "cluster/etcd_client.h"
#include "cluster/testing/child_process.h"
#include "cluster/testing/etcd_process.h"
#include "cluster/testing/loopback.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/wapolicy/v1/cluster.pb.h"
#include "proto/wapolicy/v1/policy.grpc.pb.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

using cluster::testing::ChildProcess;
using cluster::testing::EtcdProcess;
using cluster::testing::FreePort;
using cluster::testing::WaitForPort;

constexpr int kNodes = 3;
constexpr int kLimit = 3;  // The config's first rung: each portfolio's limit.
constexpr int kCustomers = 6;

bool Eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

std::string Business(int i) { return absl::StrCat("b", 1000 + i); }
std::string Number(int i) { return absl::StrCat("+1415555", 1000 + i); }
std::string Customer(int j) { return absl::StrCat("+4477009", 10000 + j); }

// One gRPC endpoint (the router, or a node straight).
struct Endpoint {
  explicit Endpoint(const std::string& address) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // A fresh connection.
    channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    service = v1::PolicyService::NewStub(channel);
    admin = v1::PolicyAdmin::NewStub(channel);
  }
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::PolicyService::Stub> service;
  std::unique_ptr<v1::PolicyAdmin::Stub> admin;
};

void Name(grpc::ClientContext* c, const std::string& business) {
  c->AddMetadata("x-wapolicy-business", business);
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("cluster");
    ASSERT_TRUE(etcd_.Start().ok());
    config_ = dir_ + "/profile.textproto";
    std::ofstream(config_) << "ladder: [" << kLimit << ", 6, -1] verified_start_level: 0";
    for (int n = 0; n < kNodes; ++n) {
      grpc_ports_.push_back(FreePort());
      http_ports_.push_back(FreePort());
      nodes_.push_back(std::make_unique<ServerProcess>(
          absl::StrCat(dir_, "/n", n + 1),
          std::vector<std::string>{
              "--etcd=" + etcd_.endpoint(), absl::StrCat("--node_id=n", n + 1),
              absl::StrCat("--listen=127.0.0.1:", grpc_ports_[n]),
              absl::StrCat("--http_listen=127.0.0.1:", http_ports_[n]),
              "--cluster_lease_ttl=2s", "--config=" + config_, "--state_events_interval=0"}));
    }
    // Started together: each waits for its join.
    std::vector<std::thread> starts;
    std::atomic<int> started{0};
    for (auto& node : nodes_) {
      starts.emplace_back([&node, &started] { started += node->Start() ? 1 : 0; });
    }
    for (auto& t : starts) t.join();
    ASSERT_EQ(started.load(), kNodes);
    // The router.
    router_grpc_ = FreePort();
    router_http_ = FreePort();
    const std::string rdir = dir_ + "/router";
    std::filesystem::create_directories(rdir);
    const std::vector<std::string> router_flags = {
        "tools/cluster/router_config", "--etcd=" + etcd_.endpoint(), "--out=" + rdir + "/nginx.conf",
        absl::StrCat("--grpc_listen=127.0.0.1:", router_grpc_),
        absl::StrCat("--http_listen=127.0.0.1:", router_http_), "--applied_file=" + applied_file(),
        "--settle=20ms"};
    std::vector<std::string> once = router_flags;
    once.push_back("--once");
    ChildProcess render(once, rdir + "/once.log");
    ASSERT_TRUE(render.Start().ok());
    ASSERT_TRUE(Eventually([&] { return !render.running(); }));
    nginx_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/sbin/nginx", "-p", rdir, "-c", rdir + "/nginx.conf", "-g",
                                 "daemon off;", "-e", rdir + "/error.log"},
        rdir + "/nginx.out");
    ASSERT_TRUE(nginx_->Start().ok());
    ASSERT_TRUE(WaitForPort(router_grpc_, absl::Seconds(10))) << nginx_->ReadLog();
    router_config_ = std::make_unique<ChildProcess>(router_flags, rdir + "/router_config.log");
    ASSERT_TRUE(router_config_->Start().ok());
    router_ = std::make_unique<Endpoint>(absl::StrCat("127.0.0.1:", router_grpc_));
  }

  void TearDown() override {
    router_config_.reset();
    nginx_.reset();
    nodes_.clear();
  }

  std::string applied_file() const { return dir_ + "/router/applied"; }

  // Waits until the router runs a configuration from etcd's revision now.
  void AwaitRouter() {
    cluster::EtcdClient etcd(etcd_.endpoint());
    absl::StatusOr<cluster::EtcdRange> now = etcd.Get("/");
    ASSERT_TRUE(now.ok());
    ASSERT_TRUE(Eventually([&] {
      std::ifstream in(applied_file());
      int64_t r = 0;
      return (in >> r) && r >= now->revision;
    })) << router_config_->ReadLog();
  }

  // Who owns each business (its pin) as etcd says: node index.
  std::map<std::string, int> Owners() {
    cluster::EtcdClient etcd(etcd_.endpoint());
    cluster::ClusterLayout layout;
    absl::StatusOr<cluster::EtcdRange> pins = etcd.GetPrefix(layout.PortfoliosPrefix());
    EXPECT_TRUE(pins.ok());
    std::map<std::string, int> out;
    for (const auto& kv : pins->kvs) {
      auto pin = cluster::DecodeValue<v1::PortfolioPin>(kv.value);
      EXPECT_TRUE(pin.ok());
      out[layout.Parse(kv.key).id] = pin->owner()[1] - '1';
    }
    return out;
  }

  // A business with one number, a template and opted-in customers, made
  // through the router.
  grpc::Status CreatePortfolio(int i) {
    const std::string b = Business(i);
    grpc::Status s;
    {
      grpc::ClientContext c;
      Name(&c, b);
      v1::UpsertBusinessRequest r;
      r.set_business_id(b);
      r.set_verified(true);
      v1::UpsertBusinessResponse out;
      if (s = router_->admin->UpsertBusiness(&c, r, &out); !s.ok()) return s;
    }
    {
      grpc::ClientContext c;
      Name(&c, b);
      v1::RegisterNumberRequest r;
      r.set_business_id(b);
      r.set_business_number(Number(i));
      v1::RegisterNumberResponse out;
      if (s = router_->admin->RegisterNumber(&c, r, &out); !s.ok()) return s;
    }
    {
      grpc::ClientContext c;
      Name(&c, b);
      v1::Template t;
      t.set_business_id(b);
      t.set_name("t");
      t.set_language("en");
      t.set_category(v1::UTILITY);
      t.set_status(v1::APPROVED);
      v1::PutTemplateResponse out;
      if (s = router_->admin->PutTemplate(&c, t, &out); !s.ok()) return s;
    }
    grpc::ClientContext c;
    Name(&c, b);
    v1::EventBatchRequest batch;
    for (int j = 0; j < kCustomers; ++j) {
      v1::EventRequest* e = batch.add_events();
      e->set_business_number(Number(i));
      e->set_customer(Customer(j));
      e->mutable_opt_in()->set_source(v1::WEBSITE);
    }
    v1::EventBatchResponse out;
    return router_->service->ReportEvents(&c, batch, &out);
  }

  void CreatePortfolios(int n) {
    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < n; i += 4) {
          grpc::Status s = CreatePortfolio(i);
          if (!s.ok()) {
            ADD_FAILURE() << Business(i) << ": " << s.error_code() << " " << s.error_message();
            ++failed;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(failed.load(), 0);
  }

  static v1::CheckRequest TemplateCheck(int i, int customer) {
    v1::CheckRequest r;
    r.set_business_number(Number(i));
    r.set_customer(Customer(customer));
    r.mutable_template_message()->set_name("t");
    r.mutable_template_message()->set_language("en");
    return r;
  }

  static grpc::Status Check(Endpoint& e, int i, int customer, v1::Decision* d,
                            std::string* owner_trailer = nullptr) {
    grpc::ClientContext c;
    Name(&c, Business(i));
    grpc::Status s = e.service->Check(&c, TemplateCheck(i, customer), d);
    if (owner_trailer != nullptr) {
      auto it = c.GetServerTrailingMetadata().find("x-wapolicy-owner");
      if (it != c.GetServerTrailingMetadata().end()) {
        *owner_trailer = std::string(it->second.data(), it->second.size());
      }
    }
    return s;
  }

  static grpc::Status State(Endpoint& e, int i, v1::NumberState* out) {
    grpc::ClientContext c;
    Name(&c, Business(i));
    v1::GetNumberStateRequest r;
    r.set_business_number(Number(i));
    return e.service->GetNumberState(&c, r, out);
  }

  std::string dir_;
  std::string config_;
  EtcdProcess etcd_{MakeTempDir("etcd")};
  std::vector<int> grpc_ports_, http_ports_;
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
  int router_grpc_ = 0, router_http_ = 0;
  std::unique_ptr<ChildProcess> nginx_, router_config_;
  std::unique_ptr<Endpoint> router_;
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
