#include "cluster/assignment.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace wapolicy::cluster {
namespace {

std::string Member(const std::string& id, const std::string& grpc) {
  v1::ClusterMember m;
  m.set_node_id(id);
  m.set_grpc_address(grpc);
  m.set_http_address(grpc + "0");
  return EncodeValue(m);
}

std::string Ring(const std::string& address) {
  v1::RingNode n;
  n.set_address(address);
  return EncodeValue(n);
}

std::string Pin(const std::string& owner, const std::string& moving_to = "") {
  v1::PortfolioPin p;
  p.set_owner(owner);
  p.set_state(moving_to.empty() ? v1::PortfolioPin::SERVING : v1::PortfolioPin::MOVING);
  p.set_target(moving_to);
  return EncodeValue(p);
}

class AssignmentTest : public ::testing::Test {
 protected:
  Assignment Three() {
    return Assignment::Build(
        layout_,
        {{layout_.RingNodeKey("n1"), Ring("127.0.0.1:7001")},
         {layout_.RingNodeKey("n2"), Ring("127.0.0.1:7002")},
         {layout_.RingNodeKey("n3"), Ring("127.0.0.1:7003")},
         {layout_.MemberKey("n1"), Member("n1", "127.0.0.1:7001")},
         {layout_.MemberKey("n2"), Member("n2", "127.0.0.1:7002")},
         {"/unrelated", "x"}},
        42);
  }
  ClusterLayout layout_;
};

TEST_F(AssignmentTest, RingDecidesUnpinnedPortfolios) {
  const Assignment a = Three();
  EXPECT_EQ(a.revision(), 42);
  EXPECT_EQ(a.members().size(), 2u);
  // Answers of nginx 1.22 over these three servers (portfolio_ring_test).
  absl::StatusOr<Ownership> acme = a.Owner("acme");
  ASSERT_TRUE(acme.ok()) << acme.status();
  EXPECT_EQ(acme->node_id, "n1");
  EXPECT_FALSE(acme->pinned);
  EXPECT_TRUE(acme->live);
  EXPECT_EQ(acme->http_address, "127.0.0.1:70010");
  // n3 has no member key: still the owner, not live, ring address.
  absl::StatusOr<Ownership> globex = a.Owner("globex");
  ASSERT_TRUE(globex.ok());
  EXPECT_EQ(globex->node_id, "n3");
  EXPECT_FALSE(globex->live);
  EXPECT_EQ(globex->grpc_address, "127.0.0.1:7003");
  EXPECT_EQ(globex->state, PortfolioState::kServing);
}

TEST_F(AssignmentTest, PinsOverrideAndMovingIsReported) {
  Assignment a = Three();
  ASSERT_TRUE(a.Put(layout_.PortfolioKey("acme"), Pin("n2")).ok());
  ASSERT_TRUE(a.Put(layout_.PortfolioKey("globex"), Pin("n3", "n1")).ok());
  EXPECT_EQ(a.Owner("acme")->node_id, "n2");
  EXPECT_TRUE(a.Owner("acme")->pinned);
  const Ownership globex = *a.Owner("globex");
  EXPECT_EQ(globex.node_id, "n3");
  EXPECT_EQ(globex.state, PortfolioState::kMoving);
  EXPECT_EQ(globex.target, "n1");
  a.Delete(layout_.PortfolioKey("acme"));
  EXPECT_EQ(a.Owner("acme")->node_id, "n1");
}

TEST_F(AssignmentTest, UnreadableEntriesAnswerErrorsNotGuesses) {
  Assignment a = Three();
  EXPECT_FALSE(a.Put(layout_.PortfolioKey("acme"), "garbage").ok());
  EXPECT_EQ(a.Owner("acme").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(a.Owner("globex").ok());
  EXPECT_FALSE(a.Put(layout_.PortfolioKey("hooli"), "{\"owner\":\"n1\"}").ok());  // No state.
  EXPECT_FALSE(a.Owner("hooli").ok());
  EXPECT_FALSE(a.Put(layout_.RingNodeKey("n4"), "{").ok());
  EXPECT_EQ(a.Owner("globex").status().code(), absl::StatusCode::kDataLoss);
  a.Delete(layout_.RingNodeKey("n4"));
  EXPECT_TRUE(a.Owner("globex").ok());
  EXPECT_EQ(Assignment().Owner("acme").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(AssignmentTest, MembersComeAndGoWithoutMovingPortfolios) {
  Assignment a = Three();
  std::vector<std::string> before;
  for (int i = 0; i < 100; ++i) before.push_back(a.Owner(absl::StrCat("b", i))->node_id);
  a.Delete(layout_.MemberKey("n1"));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.Owner(absl::StrCat("b", i))->node_id, before[i]);
  EXPECT_FALSE(a.Owner("acme")->live);
}

}  // namespace
}  // namespace wapolicy::cluster
