#include "cluster/membership.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cluster/testing/etcd_process.h"
#include "cluster/testing/loopback.h"
#include "gtest/gtest.h"

namespace wapolicy::cluster {
namespace {

using testing::EtcdProcess;
using testing::MakeTempDir;

constexpr absl::Duration kTtl = absl::Seconds(2);

bool Eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(15)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

std::string PinValue(const std::string& owner) {
  v1::PortfolioPin pin;
  pin.set_owner(owner);
  pin.set_state(v1::PortfolioPin::SERVING);
  return EncodeValue(pin);
}

class MembershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status s = etcd_.Start();
    ASSERT_TRUE(s.ok()) << s;
  }

  std::unique_ptr<Membership> JoinNode(int n) {
    Membership::Options o;
    o.etcd_endpoint = etcd_.endpoint();
    o.self.set_node_id(absl::StrCat("n", n));
    o.self.set_grpc_address(absl::StrCat("127.0.0.1:", 7000 + n));
    o.self.set_http_address(absl::StrCat("127.0.0.1:", 8000 + n));
    o.lease_ttl = kTtl;
    o.call_timeout = absl::Milliseconds(500);
    o.add_to_ring = true;
    o.on_change = [this](const Membership&) { ++changes_; };
    absl::StatusOr<std::unique_ptr<Membership>> m = Membership::Join(o);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *std::move(m) : nullptr;
  }

  void JoinThree() {
    for (int n = 1; n <= 3; ++n) {
      nodes_.push_back(JoinNode(n));
      ASSERT_NE(nodes_.back(), nullptr);
    }
  }

  bool AllSeeMembers(size_t n) {
    for (const auto& m : nodes_) {
      if (m && m->current()->members().size() != n) return false;
    }
    return true;
  }

  EtcdProcess etcd_{MakeTempDir("etcd")};
  std::atomic<int> changes_{0};
  std::vector<std::unique_ptr<Membership>> nodes_;
};

TEST_F(MembershipTest, ThreeJoinsAreSeenByAll) {
  JoinThree();
  ASSERT_TRUE(Eventually([&] { return AllSeeMembers(3); }));
  for (const auto& m : nodes_) {
    EXPECT_TRUE(Eventually([&] { return m->Serving(); })) << m->node_id();
    const auto a = m->current();
    EXPECT_EQ(a->ring_nodes().size(), 3u);
    EXPECT_EQ(a->members().at("n2").http_address(), "127.0.0.1:8002");
  }
  // Everyone agrees on every owner (the ring is the nginx ring over the
  // members' gRPC addresses).
  for (int i = 0; i < 50; ++i) {
    const std::string business = absl::StrCat("business-", i);
    const std::string owner = nodes_[0]->current()->Owner(business)->node_id;
    for (const auto& m : nodes_) EXPECT_EQ(m->current()->Owner(business)->node_id, owner);
  }
  EXPECT_GT(changes_.load(), 0);
}

TEST_F(MembershipTest, AMemberThatStopsKeepingAliveDisappearsAfterItsTtl) {
  JoinThree();
  ASSERT_TRUE(Eventually([&] { return AllSeeMembers(3); }));
  const std::string owner_before = nodes_[0]->current()->Owner("acme")->node_id;
  // As if n3's process died: no Leave(), its lease just stops being kept.
  nodes_[2].reset();
  ASSERT_TRUE(Eventually([&] { return AllSeeMembers(2); }));
  const auto a = nodes_[0]->current();
  EXPECT_FALSE(a->members().contains("n3"));
  // It keeps its share of the ring: its portfolios wait for it.
  EXPECT_TRUE(a->ring_nodes().contains("n3"));
  EXPECT_EQ(a->Owner("acme")->node_id, owner_before);
  EXPECT_TRUE(nodes_[0]->Serving());
}

TEST_F(MembershipTest, LeaveRemovesTheMemberAtOnce) {
  JoinThree();
  ASSERT_TRUE(Eventually([&] { return AllSeeMembers(3); }));
  ASSERT_TRUE(nodes_[1]->Leave().ok());
  EXPECT_FALSE(nodes_[1]->Serving());
  // Well before the ttl would have removed it (a lease keeps a key at least
  // its ttl), but only polled: the assertion is that it goes.
  EXPECT_TRUE(Eventually([&] { return !nodes_[0]->current()->members().contains("n2"); }));
}

TEST_F(MembershipTest, LosingEtcdStopsServingWithinTheTtlAndRejoinsAfter) {
  JoinThree();
  ASSERT_TRUE(Eventually([&] {
    return nodes_[0]->Serving() && nodes_[1]->Serving() && nodes_[2]->Serving();
  }));
  etcd_.Stop();
  const absl::Time stopped = absl::Now();
  ASSERT_TRUE(Eventually(
      [&] { return !nodes_[0]->Serving() && !nodes_[1]->Serving() && !nodes_[2]->Serving(); },
      kTtl + absl::Seconds(3)));
  // The requirement itself: no node believes in its lease past the ttl.
  EXPECT_LE(absl::Now() - stopped, kTtl + absl::Milliseconds(300));

  absl::Status s = etcd_.Start();
  ASSERT_TRUE(s.ok()) << s;
  // How soon is not the requirement (a restarted etcd extends the old leases,
  // whose keys a rejoin waits out, and CI runs this beside other tests on two
  // cores): that every node comes back is.
  ASSERT_TRUE(Eventually(
      [&] { return nodes_[0]->Serving() && nodes_[1]->Serving() && nodes_[2]->Serving(); },
      absl::Seconds(60)));
  ASSERT_TRUE(Eventually([&] { return AllSeeMembers(3); }));
  // Each member key is under its new lease now.
  EtcdClient client(etcd_.endpoint());
  absl::StatusOr<EtcdRange> members = client.GetPrefix(nodes_[0]->layout().MembersPrefix());
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->kvs.size(), 3u);
  for (const EtcdKeyValue& kv : members->kvs) EXPECT_NE(kv.lease, 0);
}

TEST_F(MembershipTest, GuardedPinIsSeenByAllAndStaleGuardsFail) {
  JoinThree();
  ASSERT_TRUE(Eventually([&] { return AllSeeMembers(3); }));
  const ClusterLayout& layout = nodes_[0]->layout();
  const std::string key = layout.PortfolioKey("acme");
  const std::string by_ring = nodes_[0]->current()->Owner("acme")->node_id;
  const std::string other = by_ring == "n1" ? "n2" : "n1";

  // Pin acme to `other` only if nobody pinned it yet.
  EtcdClient& etcd = nodes_[0]->etcd();
  absl::StatusOr<EtcdTxnResult> pinned = etcd.PutIf(key, PinValue(other), 0);
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  ASSERT_TRUE(pinned->succeeded);
  for (const auto& m : nodes_) {
    ASSERT_TRUE(m->AwaitRevision(pinned->revision, absl::Seconds(10))) << m->node_id();
    const absl::StatusOr<Ownership> o = m->current()->Owner("acme");
    ASSERT_TRUE(o.ok());
    EXPECT_EQ(o->node_id, other);
    EXPECT_TRUE(o->pinned);
  }

  // A writer that read before the pin (guard: absent) loses.
  absl::StatusOr<EtcdTxnResult> stale = etcd.PutIf(key, PinValue(by_ring), 0);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(stale->succeeded);
  // So does one guarding with the pin's revision after it changed again.
  ASSERT_TRUE(etcd.PutIf(key, PinValue(by_ring), pinned->revision)->succeeded);
  EXPECT_FALSE(etcd.PutIf(key, PinValue(other), pinned->revision)->succeeded);
  EXPECT_FALSE(etcd.DeleteIf(key, pinned->revision)->succeeded);
  const int64_t now = etcd.Get(key)->kvs.at(0).mod_revision;
  for (const auto& m : nodes_) {
    ASSERT_TRUE(m->AwaitRevision(now, absl::Seconds(10)));
    EXPECT_EQ(m->current()->Owner("acme")->node_id, by_ring);
  }
}

TEST_F(MembershipTest, ANodeIdIsHeldByOneLiveProcess) {
  JoinThree();
  // A second process claiming n1 while n1's lease lives waits a ttl, then
  // is refused: two processes with one id would both decide for its
  // portfolios.
  Membership::Options o;
  o.etcd_endpoint = etcd_.endpoint();
  o.self.set_node_id("n1");
  o.lease_ttl = kTtl;
  o.call_timeout = absl::Milliseconds(500);
  absl::StatusOr<std::unique_ptr<Membership>> twin = Membership::Join(o);
  EXPECT_EQ(twin.status().code(), absl::StatusCode::kFailedPrecondition) << twin.status();
  EXPECT_TRUE(nodes_[0]->Serving());

  // n1 dies without leaving and restarts in place: it gets in once the old
  // lease lapses.
  nodes_[0].reset();
  absl::StatusOr<std::unique_ptr<Membership>> restarted = Membership::Join(o);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_TRUE(Eventually([&] { return (*restarted)->Serving(); }));
}

}  // namespace
}  // namespace wapolicy::cluster
