#include "tests/cluster/cluster_harness.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cluster/cluster_layout.h"
#include "cluster/etcd_client.h"
#include "cluster/testing/loopback.h"

namespace wapolicy::cluster_harness {

using cluster::testing::ChildProcess;
using cluster::testing::FreePort;
using cluster::testing::WaitForPort;

bool Eventually(const std::function<bool()>& done, absl::Duration timeout) {
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
std::string NodeId(int n) { return absl::StrCat("n", n + 1); }

Endpoint::Endpoint(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // A fresh connection.
  channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  service = v1::PolicyService::NewStub(channel);
  admin = v1::PolicyAdmin::NewStub(channel);
  moves = v1::PolicyCluster::NewStub(channel);
}

void Name(grpc::ClientContext* c, const std::string& business) {
  c->AddMetadata("x-wapolicy-business", business);
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

std::string Trailer(const grpc::ClientContext& c, const std::string& key) {
  auto it = c.GetServerTrailingMetadata().find(key);
  if (it == c.GetServerTrailingMetadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

v1::CheckRequest TemplateCheck(int i, int customer) {
  v1::CheckRequest r;
  r.set_business_number(Number(i));
  r.set_customer(Customer(customer));
  r.mutable_template_message()->set_name("t");
  r.mutable_template_message()->set_language("en");
  return r;
}

void ClusterHarness::StartCluster(const std::string& name, int nodes, int customers) {
  customers_ = customers;
  dir_ = MakeTempDir(name);
  ASSERT_TRUE(etcd_.Start().ok());
  config_ = dir_ + "/profile.textproto";
  std::ofstream(config_) << "ladder: [" << kLimit << ", 6, -1] verified_start_level: 0";
  for (int n = 0; n < nodes; ++n) AddNodeProcess(/*join_ring=*/true);
  // Started together: each waits for its join.
  std::vector<std::thread> starts;
  std::atomic<int> started{0};
  for (auto& node : nodes_) {
    starts.emplace_back([&node, &started] { started += node->Start() ? 1 : 0; });
  }
  for (auto& t : starts) t.join();
  ASSERT_EQ(started.load(), nodes);
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

ServerProcess& ClusterHarness::AddNodeProcess(bool join_ring) {
  const int n = static_cast<int>(nodes_.size());
  grpc_ports_.push_back(FreePort());
  http_ports_.push_back(FreePort());
  nodes_.push_back(std::make_unique<ServerProcess>(
      absl::StrCat(dir_, "/n", n + 1),
      std::vector<std::string>{
          "--etcd=" + etcd_.endpoint(), "--node_id=" + NodeId(n),
          absl::StrCat("--listen=127.0.0.1:", grpc_ports_[n]),
          absl::StrCat("--http_listen=127.0.0.1:", http_ports_[n]), "--cluster_lease_ttl=2s",
          absl::StrCat("--cluster_join_ring=", join_ring ? "true" : "false"),
          "--config=" + config_, "--state_events_interval=0"}));
  return *nodes_.back();
}

void ClusterHarness::TearDown() {
  router_config_.reset();
  nginx_.reset();
  nodes_.clear();
}

std::string ClusterHarness::applied_file() const { return dir_ + "/router/applied"; }

std::string ClusterHarness::Address(int n) const {
  return absl::StrCat("127.0.0.1:", grpc_ports_[n]);
}

void ClusterHarness::AwaitRouter() {
  cluster::EtcdClient etcd(etcd_.endpoint());
  absl::StatusOr<cluster::EtcdRange> now = etcd.Get("/");
  ASSERT_TRUE(now.ok());
  ASSERT_TRUE(Eventually([&] {
    std::ifstream in(applied_file());
    int64_t r = 0;
    return (in >> r) && r >= now->revision;
  })) << router_config_->ReadLog();
}

std::map<std::string, v1::PortfolioPin> ClusterHarness::Pins() {
  cluster::EtcdClient etcd(etcd_.endpoint());
  cluster::ClusterLayout layout;
  absl::StatusOr<cluster::EtcdRange> pins = etcd.GetPrefix(layout.PortfoliosPrefix());
  EXPECT_TRUE(pins.ok());
  std::map<std::string, v1::PortfolioPin> out;
  for (const auto& kv : pins->kvs) {
    auto pin = cluster::DecodeValue<v1::PortfolioPin>(kv.value);
    EXPECT_TRUE(pin.ok());
    out[layout.Parse(kv.key).id] = *pin;
  }
  return out;
}

std::map<std::string, int> ClusterHarness::Owners() {
  std::map<std::string, int> out;
  for (const auto& [business, pin] : Pins()) out[business] = pin.owner()[1] - '1';
  return out;
}

int ClusterHarness::OwnerOf(int i) {
  const v1::PortfolioPin pin = Pins().at(Business(i));
  return pin.owner()[1] - '1';
}

grpc::Status ClusterHarness::CreatePortfolio(int i) {
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
  for (int j = 0; j < customers_; ++j) {
    v1::EventRequest* e = batch.add_events();
    e->set_business_number(Number(i));
    e->set_customer(Customer(j));
    e->mutable_opt_in()->set_source(v1::WEBSITE);
  }
  v1::EventBatchResponse out;
  return router_->service->ReportEvents(&c, batch, &out);
}

void ClusterHarness::CreatePortfolios(int n) {
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

grpc::Status ClusterHarness::Check(Endpoint& e, int i, int customer, v1::Decision* d,
                                   std::string* owner, std::string* retry_after) {
  grpc::ClientContext c;
  Name(&c, Business(i));
  grpc::Status s = e.service->Check(&c, TemplateCheck(i, customer), d);
  if (owner != nullptr) *owner = Trailer(c, "x-wapolicy-owner");
  if (retry_after != nullptr) *retry_after = Trailer(c, "x-wapolicy-retry-after-ms");
  return s;
}

grpc::Status ClusterHarness::State(Endpoint& e, int i, v1::NumberState* out) {
  grpc::ClientContext c;
  Name(&c, Business(i));
  v1::GetNumberStateRequest r;
  r.set_business_number(Number(i));
  return e.service->GetNumberState(&c, r, out);
}

}  // namespace wapolicy::cluster_harness
