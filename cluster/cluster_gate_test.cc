#include "cluster/cluster_gate.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cluster/membership.h"
#include "cluster/testing/etcd_process.h"
#include "cluster/testing/loopback.h"
#include "gtest/gtest.h"
#include "server/portfolio_gate.h"

namespace wapolicy::cluster {
namespace {

using testing::EtcdProcess;
using testing::MakeTempDir;

bool Eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

class ClusterGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status s = etcd_.Start();
    ASSERT_TRUE(s.ok()) << s;
    for (int n = 1; n <= 3; ++n) {
      Membership::Options o;
      o.etcd_endpoint = etcd_.endpoint();
      o.self.set_node_id(absl::StrCat("n", n));
      o.self.set_grpc_address(absl::StrCat("127.0.0.1:", 7000 + n));
      o.self.set_http_address(absl::StrCat("127.0.0.1:", 8000 + n));
      o.lease_ttl = absl::Seconds(2);
      o.call_timeout = absl::Milliseconds(500);
      o.add_to_ring = true;
      absl::StatusOr<std::unique_ptr<Membership>> m = Membership::Join(o);
      ASSERT_TRUE(m.ok()) << m.status();
      nodes_.push_back(*std::move(m));
      gates_.push_back(std::make_unique<ClusterGate>(nodes_.back().get()));
    }
    ASSERT_TRUE(Eventually([&] {
      for (const auto& m : nodes_) {
        if (m->current()->ring_nodes().size() != 3 || m->current()->members().size() != 3) {
          return false;
        }
      }
      return true;
    }));
  }

  // The index of the node the ring gives `business`.
  int RingOwner(const std::string& business) {
    const std::string id = *nodes_[0]->current()->ring().RingOwner(business);
    return id[1] - '1';
  }

  EtcdProcess etcd_{MakeTempDir("etcd")};
  std::vector<std::unique_ptr<Membership>> nodes_;
  std::vector<std::unique_ptr<ClusterGate>> gates_;
};

TEST_F(ClusterGateTest, TheRingOwnerServesAndOthersNameIt) {
  const int owner = RingOwner("acme");
  EXPECT_TRUE(gates_[owner]->MayServe("acme").ok());
  const int other = (owner + 1) % 3;
  const absl::Status s = gates_[other]->MayServe("acme");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(OwnerAddressOf(s).value_or(""), absl::StrCat("127.0.0.1:", 7001 + owner));
  EXPECT_EQ(OwnerHttpAddressOf(s).value_or(""), absl::StrCat("127.0.0.1:", 8001 + owner));
}

TEST_F(ClusterGateTest, OnlyTheRingOwnerClaimsAndThePinHolds) {
  const int owner = RingOwner("globex");
  const int other = (owner + 1) % 3;
  EXPECT_EQ(gates_[other]->Claim("globex").code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(gates_[owner]->Claim("globex").ok());
  EXPECT_EQ(nodes_[owner]->current()->pins().at("globex").owner(), nodes_[owner]->node_id());
  // A second claim by the owner is a no-op.
  EXPECT_TRUE(gates_[owner]->Claim("globex").ok());
}

TEST_F(ClusterGateTest, HeldBusinessesArePinnedOnceAndAStaleCopyIsRefused) {
  // n1 holds "x" and "y"; "y" was already claimed by its ring owner elsewhere.
  std::string y;
  for (int i = 0;; ++i) {
    y = absl::StrCat("y", i);
    if (RingOwner(y) != 0) break;
  }
  ASSERT_TRUE(gates_[RingOwner(y)]->Claim(y).ok());
  absl::StatusOr<ClusterGate::PinReport> r = gates_[0]->PinHeld({"x", y});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->pinned, 1);
  EXPECT_EQ(r->elsewhere, std::vector<std::string>{y});
  EXPECT_TRUE(gates_[0]->MayServe("x").ok());  // Pinned here even if the ring says otherwise.
  EXPECT_EQ(gates_[0]->MayServe(y).code(), absl::StatusCode::kFailedPrecondition);
  // Everyone agrees on "x".
  ASSERT_TRUE(Eventually([&] { return gates_[1]->MayServe("x").code() ==
                                      absl::StatusCode::kFailedPrecondition; }));
  r = gates_[0]->PinHeld({"x"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pinned, 0);
  EXPECT_EQ(r->already_own, 1);
}

TEST_F(ClusterGateTest, AMovingPortfolioIsUnavailableWithARetryTime) {
  v1::PortfolioPin pin;
  pin.set_owner("n1");
  pin.set_state(v1::PortfolioPin::MOVING);
  pin.set_target("n2");
  ASSERT_TRUE(nodes_[0]->etcd().Put(nodes_[0]->layout().PortfolioKey("m"), EncodeValue(pin)).ok());
  ASSERT_TRUE(Eventually([&] { return gates_[0]->MayServe("m").code() ==
                                      absl::StatusCode::kUnavailable; }));
  EXPECT_TRUE(RetryAfterOf(gates_[0]->MayServe("m")).has_value());
}

TEST_F(ClusterGateTest, WithoutEtcdPastTheLeaseNothingIsServedUntilItReturns) {
  const int owner = RingOwner("acme");
  ASSERT_TRUE(gates_[owner]->MayServe("acme").ok());
  etcd_.Stop();
  ASSERT_TRUE(Eventually([&] {
    return gates_[owner]->MayServe("acme").code() == absl::StatusCode::kUnavailable;
  }));
  EXPECT_TRUE(RetryAfterOf(gates_[owner]->MayServe("acme")).has_value());
  ASSERT_TRUE(etcd_.Start().ok());
  EXPECT_TRUE(Eventually([&] { return gates_[owner]->MayServe("acme").ok(); }, absl::Seconds(30)));
}

}  // namespace
}  // namespace wapolicy::cluster
