// Moving portfolios in a cluster on loopback (issue 17, point 4): etcd, the
// router (nginx kept in step by router_config) and three policy_server
// nodes, as in cluster_test.cc (both from cluster_harness.h), plus the mover
// (cluster/portfolio_mover.h, and policyctl cluster for the crash test):
//  - one portfolio moved under a load of checks through the router: every
//    admission acknowledged is on the new owner, the limit is never passed,
//    calls meanwhile get UNAVAILABLE with a retry time, and a refusal by a
//    non-owner only ever names the new owner;
//  - the mover stopped after each step (1..4) with the node that matters
//    SIGKILLed and restarted there, then run again: one owner holds every
//    acknowledged change and the old node's copy is gone;
//  - a 4th node added while a load runs: about a quarter of 200 portfolios
//    move, no admission lost, no portfolio over its limit;
//  - a node drained: its portfolios move to the others with their state.
// Every wait polls with a deadline.

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cluster/assignment.h"
#include "cluster/etcd_client.h"
#include "cluster/portfolio_mover.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/wapolicy/v1/cluster.grpc.pb.h"
#include "proto/wapolicy/v1/policy.grpc.pb.h"
#include "tests/cluster/cluster_harness.h"

namespace wapolicy {
namespace {

using cluster_harness::Business;
using cluster_harness::ClusterHarness;
using cluster_harness::Endpoint;
using cluster_harness::Eventually;
using cluster_harness::kLimit;
using cluster_harness::Name;
using cluster_harness::NodeId;
using cluster_harness::TemplateCheck;

// What a load saw.
struct LoadLog {
  absl::Mutex mu;
  std::map<int, std::set<int>> admitted;  // Portfolio -> customers allowed.
  std::map<int, int> codes;               // gRPC code -> calls.
  int unavailable_without_retry = 0;
  std::vector<std::string> refusals;      // FAILED_PRECONDITION owner trailers.
};

class MoverTest : public ClusterHarness {
 protected:
  // The cluster (cluster_harness.h), then the mover on its etcd.
  void StartCluster(int nodes, int customers) {
    ClusterHarness::StartCluster("mover", nodes, customers);
    if (HasFatalFailure()) return;
    cluster::PortfolioMover::Options o;
    o.etcd_endpoint = etcd_.endpoint();
    o.log = [](const std::string& line) { std::fprintf(stderr, "mover: %s\n", line.c_str()); };
    absl::StatusOr<std::unique_ptr<cluster::PortfolioMover>> m = cluster::PortfolioMover::Create(o);
    ASSERT_TRUE(m.ok());
    mover_ = *std::move(m);
  }

  // The businesses node `n` holds.
  std::set<std::string> Held(int n) {
    Endpoint e(Address(n));
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ListPortfoliosResponse out;
    grpc::Status s = e.moves->ListPortfolios(&c, {}, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::set<std::string> held;
    for (const auto& h : out.portfolios()) held.insert(h.business_id());
    return held;
  }

  // Checks through the router: each thread asks every customer of every
  // portfolio in `portfolios` in turn until `stop`, retrying refusals.
  std::vector<std::thread> StartLoad(std::vector<int> portfolios, int threads,
                                     std::atomic<bool>* stop, LoadLog* log) {
    std::vector<std::thread> out;
    for (int t = 0; t < threads; ++t) {
      out.emplace_back([this, portfolios, t, stop, log] {
        Endpoint e(absl::StrCat("127.0.0.1:", router_grpc_));
        int k = t;
        while (!stop->load()) {
          const int i = portfolios[k % portfolios.size()];
          const int customer = (k / portfolios.size()) % customers_;
          ++k;
          v1::Decision d;
          std::string owner, retry;
          grpc::Status s = Check(e, i, customer, &d, &owner, &retry);
          {
            absl::MutexLock lock(&log->mu);
            ++log->codes[s.error_code()];
            if (s.ok() && d.allowed()) log->admitted[i].insert(customer);
            if (s.error_code() == grpc::StatusCode::UNAVAILABLE && retry.empty() &&
                !absl::StrContains(s.error_message(), "retry after")) {
              ++log->unavailable_without_retry;
            }
            if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
              log->refusals.push_back(absl::StrCat(Business(i), " ", owner));
            }
          }
          if (!s.ok()) absl::SleepFor(absl::Milliseconds(20));
        }
      });
    }
    return out;
  }

  // Each portfolio's state on its final owner (read straight from the node
  // the pin names) against what the load saw admitted.
  void ExpectNothingLost(const std::vector<int>& portfolios, LoadLog& log) {
    absl::MutexLock lock(&log.mu);
    const std::map<std::string, v1::PortfolioPin> pins = Pins();
    for (int i : portfolios) {
      const v1::PortfolioPin& pin = pins.at(Business(i));
      EXPECT_EQ(pin.state(), v1::PortfolioPin::SERVING) << Business(i);
      Endpoint owner(Address(pin.owner()[1] - '1'));
      v1::NumberState st;
      grpc::Status s = State(owner, i, &st);
      ASSERT_TRUE(s.ok()) << Business(i) << " on " << pin.owner() << ": " << s.error_message();
      EXPECT_LE(st.used(), kLimit) << Business(i) << " over its limit";
      EXPECT_EQ(st.used(), static_cast<int>(log.admitted[i].size()))
          << Business(i) << ": admissions acknowledged and not on its owner " << pin.owner();
      // Every admitted customer's conversation is open there: a check for it
      // is never refused for the limit (repeats may meet the per-customer
      // frequency cap, which is not the question).
      for (int customer : log.admitted[i]) {
        grpc::ClientContext c;
        Name(&c, Business(i));
        v1::CheckRequest r = TemplateCheck(i, customer);
        r.set_dry_run(true);
        v1::Decision d;
        ASSERT_TRUE(owner.service->Check(&c, r, &d).ok());
        EXPECT_NE(d.reason(), v1::LIMIT_REACHED) << Business(i) << " lost customer " << customer;
      }
    }
  }

  std::unique_ptr<cluster::PortfolioMover> mover_;
};

TEST_F(MoverTest, OnePortfolioMovesUnderLoadWithEveryAdmissionKept) {
  StartCluster(3, /*customers=*/12);
  constexpr int kPortfolios = 6;
  CreatePortfolios(kPortfolios);
  AwaitRouter();
  const int from = OwnerOf(0);
  const int to = (from + 1) % 3;
  LoadLog log;
  std::atomic<bool> stop{false};
  std::vector<int> all;
  for (int i = 0; i < kPortfolios; ++i) all.push_back(i);
  // Mostly the moving portfolio, one at a time per customer.
  std::vector<std::thread> load = StartLoad({0}, 3, &stop, &log);
  std::vector<std::thread> others = StartLoad(all, 1, &stop, &log);
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&log.mu);
    return !log.admitted[0].empty();
  }));
  absl::StatusOr<cluster::MoveReport> r = mover_->Move(Business(0), NodeId(to));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->from, NodeId(from));
  EXPECT_GT(r->records, 0);
  EXPECT_EQ(r->dropped_from, std::vector<std::string>{NodeId(from)});
  std::fprintf(stderr, "moved %s under load: %lld records, unavailable for %s\n",
               Business(0).c_str(), static_cast<long long>(r->records),
               absl::FormatDuration(r->unavailable).c_str());
  AwaitRouter();
  absl::SleepFor(absl::Seconds(1));  // The load runs on the new owner too.
  stop = true;
  for (auto& t : load) t.join();
  for (auto& t : others) t.join();

  EXPECT_EQ(OwnerOf(0), to);
  ExpectNothingLost(all, log);
  absl::MutexLock lock(&log.mu);
  for (const auto& [code, calls] : log.codes) {
    EXPECT_TRUE(code == grpc::StatusCode::OK || code == grpc::StatusCode::UNAVAILABLE ||
                code == grpc::StatusCode::FAILED_PRECONDITION)
        << calls << " calls answered " << code;
  }
  // Whether a call lands in the move's window (tens of milliseconds) is
  // timing; what every one that did got is the assertion.
  if (log.codes[grpc::StatusCode::UNAVAILABLE] == 0) {
    std::fprintf(stderr, "note: no call met the move's window this run\n");
  }
  EXPECT_EQ(log.unavailable_without_retry, 0) << "UNAVAILABLE without a retry time";
  // A refusal by a non-owner (the router not yet reloaded, or the new owner's
  // watch a moment behind the router's) names one of the two owners, never a
  // third node, and is never an admission (ExpectNothingLost above).
  for (const std::string& refusal : log.refusals) {
    EXPECT_TRUE(refusal == absl::StrCat(Business(0), " ", Address(to)) ||
                refusal == absl::StrCat(Business(0), " ", Address(from)))
        << refusal;
  }
  EXPECT_FALSE(Held(from).count(Business(0))) << "the old owner's copy is still there";
  EXPECT_TRUE(Held(to).count(Business(0)));
}

// Runs `policyctl cluster move`; its exit code.
int PolicyctlMove(const std::string& etcd, const std::string& business, const std::string& to,
                  int stop_after_step, const std::string& log) {
  const std::string cmd = absl::StrCat("cli/policyctl cluster move --etcd=", etcd,
                                       " --business=", business, " --to=", to,
                                       " --stop_after_step=", stop_after_step, " >>", log,
                                       " 2>&1");
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST_F(MoverTest, AMoverStoppedAfterEachStepWithANodeKilledFinishesWhenRunAgain) {
  StartCluster(3, /*customers=*/6);
  constexpr int kPortfolios = 12;
  CreatePortfolios(kPortfolios);
  AwaitRouter();
  // Every portfolio admits customers 0 and 1.
  for (int i = 0; i < kPortfolios; ++i) {
    for (int c = 0; c < 2; ++c) {
      v1::Decision d;
      ASSERT_TRUE(Check(*router_, i, c, &d).ok());
      ASSERT_TRUE(d.allowed()) << Business(i);
    }
  }
  const std::string log = dir_ + "/policyctl.log";
  // For each step: a portfolio, the node killed (and restarted) there.
  struct Case {
    int step;
    bool kill_old;  // Else the new owner.
  };
  const std::vector<Case> cases = {{1, true}, {2, true}, {3, false}, {4, true}};
  std::set<int> used;
  for (const Case& c : cases) {
    // A portfolio not used before whose owner is not the node killed last.
    int i = 0;
    while (used.count(i)) ++i;
    used.insert(i);
    const int from = OwnerOf(i);
    const int to = (from + 1) % 3;
    SCOPED_TRACE(absl::StrCat("step ", c.step, ": ", Business(i), " n", from + 1, " -> n", to + 1,
                              ", killing ", c.kill_old ? "the old" : "the new", " owner"));
    ASSERT_NE(PolicyctlMove(etcd_.endpoint(), Business(i), NodeId(to), c.step, log), 0)
        << ReadFile(log);
    const v1::PortfolioPin pin = Pins().at(Business(i));
    EXPECT_EQ(pin.state(), c.step < 4 ? v1::PortfolioPin::MOVING : v1::PortfolioPin::SERVING);
    const int killed = c.kill_old ? from : to;
    nodes_[killed]->Kill(SIGKILL);
    ASSERT_TRUE(nodes_[killed]->Start()) << "restarting n" << killed + 1;
    // The restarted node never decides for the portfolio before the move ends.
    {
      Endpoint straight(Address(killed));
      v1::Decision d;
      grpc::Status s;
      ASSERT_TRUE(Eventually([&] {
        s = Check(straight, i, 5, &d);
        return s.error_code() != grpc::StatusCode::UNAVAILABLE ||
               absl::StrContains(s.error_message(), "moving");
      }));
      if (c.step < 4) {
        EXPECT_NE(s.error_code(), grpc::StatusCode::OK) << "a decision during the move";
      } else {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
      }
    }
    ASSERT_EQ(PolicyctlMove(etcd_.endpoint(), Business(i), NodeId(to), 0, log), 0)
        << ReadFile(log);
    // Exactly one owner, holding every acknowledged change.
    const v1::PortfolioPin done = Pins().at(Business(i));
    EXPECT_EQ(done.state(), v1::PortfolioPin::SERVING);
    EXPECT_EQ(done.owner(), NodeId(to));
    Endpoint owner(Address(to));
    v1::NumberState st;
    ASSERT_TRUE(Eventually([&] { return State(owner, i, &st).ok(); }));
    EXPECT_EQ(st.used(), 2) << "acknowledged admissions lost";
    EXPECT_FALSE(Held(from).count(Business(i))) << "the old owner's copy is still there";
    Endpoint old_node(Address(from));
    v1::Decision d;
    EXPECT_EQ(Check(old_node, i, 4, &d).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    // It decides on with its state: one more admission, then the limit.
    ASSERT_TRUE(Check(owner, i, 2, &d).ok());
    EXPECT_TRUE(d.allowed());
    ASSERT_TRUE(Check(owner, i, 3, &d).ok());
    EXPECT_FALSE(d.allowed()) << "over the limit after the move";
  }
  // The portfolios not moved kept their state on their nodes, restarts and all.
  for (int i = 0; i < kPortfolios; ++i) {
    if (used.count(i)) continue;
    Endpoint owner(Address(OwnerOf(i)));
    v1::NumberState st;
    ASSERT_TRUE(Eventually([&] { return State(owner, i, &st).ok(); })) << Business(i);
    EXPECT_EQ(st.used(), 2) << Business(i);
  }
}

TEST_F(MoverTest, AFourthNodeTakesAQuarterOfThePortfoliosUnderLoad) {
  StartCluster(3, /*customers=*/6);
  constexpr int kPortfolios = 200;
  CreatePortfolios(kPortfolios);
  AwaitRouter();
  ServerProcess& fourth = AddNodeProcess(/*join_ring=*/false);
  ASSERT_TRUE(fourth.Start());
  LoadLog log;
  std::atomic<bool> stop{false};
  std::vector<int> all;
  for (int i = 0; i < kPortfolios; ++i) all.push_back(i);
  std::vector<std::thread> load = StartLoad(all, 3, &stop, &log);
  absl::SleepFor(absl::Milliseconds(500));
  absl::StatusOr<std::vector<cluster::MoveReport>> moved = mover_->AddNode("n4", "");
  ASSERT_TRUE(moved.ok()) << moved.status();
  AwaitRouter();
  absl::SleepFor(absl::Seconds(1));
  stop = true;
  for (auto& t : load) t.join();
  const int n = static_cast<int>(moved->size());
  std::vector<absl::Duration> unavailable;
  for (const cluster::MoveReport& r : *moved) unavailable.push_back(r.unavailable);
  std::sort(unavailable.begin(), unavailable.end());
  if (!unavailable.empty()) {
    std::fprintf(stderr, "add-node: %d portfolios moved; unavailable median %s, max %s\n", n,
                 absl::FormatDuration(unavailable[unavailable.size() / 2]).c_str(),
                 absl::FormatDuration(unavailable.back()).c_str());
  }
  EXPECT_GE(n, kPortfolios * 15 / 100);
  EXPECT_LE(n, kPortfolios * 40 / 100);
  std::map<std::string, v1::PortfolioPin> pins = Pins();
  int on_fourth = 0;
  for (const auto& [b, pin] : pins) on_fourth += pin.owner() == "n4" ? 1 : 0;
  EXPECT_EQ(on_fourth, n);
  EXPECT_EQ(static_cast<int>(Held(3).size()), n);
  ExpectNothingLost(all, log);
  absl::MutexLock lock(&log.mu);
  EXPECT_EQ(log.unavailable_without_retry, 0);
  for (const std::string& refusal : log.refusals) {
    EXPECT_TRUE(absl::EndsWith(refusal, Address(3))) << "refused naming an old owner: " << refusal;
  }
}

TEST_F(MoverTest, ADrainedNodeHandsItsPortfoliosOnWithTheirState) {
  StartCluster(3, /*customers=*/6);
  constexpr int kPortfolios = 24;
  CreatePortfolios(kPortfolios);
  AwaitRouter();
  for (int i = 0; i < kPortfolios; ++i) {
    v1::Decision d;
    ASSERT_TRUE(Check(*router_, i, 0, &d).ok());
    ASSERT_TRUE(d.allowed());
  }
  std::set<int> on_third;
  for (int i = 0; i < kPortfolios; ++i) {
    if (OwnerOf(i) == 2) on_third.insert(i);
  }
  ASSERT_FALSE(on_third.empty());
  absl::StatusOr<std::vector<cluster::MoveReport>> moved = mover_->Drain("n3");
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->size(), on_third.size());
  absl::StatusOr<cluster::Assignment> a = mover_->Read();
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->ring_nodes().contains("n3"));
  EXPECT_TRUE(Held(2).empty());
  // policyctl cluster status reads it all: n3 live, off the ring, no pin.
  const std::string status = dir_ + "/status.txt";
  ASSERT_EQ(std::system(absl::StrCat("cli/policyctl cluster status --etcd=", etcd_.endpoint(), " >",
                                     status, " 2>&1")
                            .c_str()),
            0)
      << ReadFile(status);
  const std::string text = ReadFile(status);
  EXPECT_TRUE(absl::StrContains(
      text, "no-ring pinned 0 serving, 0 moving out, 0 moving in; holds 0"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, absl::StrCat("pins (", kPortfolios, ")"))) << text;
  EXPECT_FALSE(absl::StrContains(text, "stale copy")) << text;
  AwaitRouter();
  // A new connection: nginx's old workers keep their connections on the
  // configuration before the reload (a stale router, refused by n3).
  Endpoint router(absl::StrCat("127.0.0.1:", router_grpc_));
  for (int i = 0; i < kPortfolios; ++i) {
    EXPECT_NE(OwnerOf(i), 2);
    v1::NumberState st;
    // nginx's reload is not instant after router_config applied it: a
    // call may still meet an old worker, refused by the old owner.
    grpc::Status s;
    ASSERT_TRUE(Eventually([&] {
      s = State(router, i, &st);
      return s.ok() || s.error_code() != grpc::StatusCode::FAILED_PRECONDITION;
    })) << Business(i) << ": " << s.error_message();
    ASSERT_TRUE(s.ok()) << Business(i) << ": " << s.error_message();
    EXPECT_EQ(st.used(), 1) << Business(i);
  }
  // New portfolios no longer land on it.
  router_ = std::make_unique<Endpoint>(absl::StrCat("127.0.0.1:", router_grpc_));
  grpc::Status created;
  ASSERT_TRUE(Eventually([&] { return (created = CreatePortfolio(kPortfolios)).ok(); }))
      << created.error_message();
  EXPECT_NE(OwnerOf(kPortfolios), 2);
}

TEST_F(MoverTest, NodesRefuseEveryStepTheirPinDoesNotAllow) {
  StartCluster(3, /*customers=*/2);
  CreatePortfolios(3);
  AwaitRouter();
  const int owner = OwnerOf(0);
  const int other = (owner + 1) % 3;
  cluster::EtcdClient etcd(etcd_.endpoint());
  absl::StatusOr<cluster::EtcdRange> now = etcd.Get("/");
  ASSERT_TRUE(now.ok());
  const int64_t revision = now->revision;
  auto deadline = [](grpc::ClientContext* c) {
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  };
  // SERVING at its owner: no export or drop there, no ingest elsewhere.
  {
    Endpoint e(Address(owner));
    grpc::ClientContext c;
    deadline(&c);
    v1::ExportPortfolioRequest r;
    r.set_business_id(Business(0));
    r.set_pin_revision(revision);
    auto reader = e.moves->ExportPortfolio(&c, r);
    v1::PortfolioChunk chunk;
    EXPECT_FALSE(reader->Read(&chunk));
    grpc::Status s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  }
  {
    Endpoint e(Address(owner));
    grpc::ClientContext c;
    deadline(&c);
    v1::DropPortfolioRequest r;
    r.set_business_id(Business(0));
    r.set_pin_revision(revision);
    v1::DropPortfolioResponse out;
    grpc::Status s = e.moves->DropPortfolio(&c, r, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  }
  {
    Endpoint e(Address(other));
    grpc::ClientContext c;
    deadline(&c);
    v1::IngestPortfolioResponse out;
    auto writer = e.moves->IngestPortfolio(&c, &out);
    v1::PortfolioChunk chunk;
    chunk.mutable_manifest()->set_business_id(Business(0));
    chunk.mutable_manifest()->set_pin_revision(revision);
    writer->Write(chunk);
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  }
  // A revision the node's assignment never reaches: it waits, then refuses.
  {
    Endpoint e(Address(owner));
    grpc::ClientContext c;
    deadline(&c);
    v1::DropPortfolioRequest r;
    r.set_business_id(Business(0));
    r.set_pin_revision(revision + 1000);
    v1::DropPortfolioResponse out;
    EXPECT_EQ(e.moves->DropPortfolio(&c, r, &out).error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  // Nothing changed: the portfolio is served and decides as before.
  EXPECT_TRUE(Held(owner).count(Business(0)));
  Endpoint straight(Address(owner));
  v1::Decision d;
  ASSERT_TRUE(Check(straight, 0, 0, &d).ok());
  EXPECT_TRUE(d.allowed());
  // A move to a node that is not live is refused before anything changes.
  absl::StatusOr<cluster::MoveReport> r = mover_->Move(Business(0), "n9");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_EQ(Pins().at(Business(0)).state(), v1::PortfolioPin::SERVING);
}

}  // namespace
}  // namespace wapolicy
