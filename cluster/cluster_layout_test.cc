#include "cluster/cluster_layout.h"

#include "gtest/gtest.h"

namespace wapolicy::cluster {
namespace {

TEST(ClusterLayoutTest, KeysAndParse) {
  const ClusterLayout layout;
  EXPECT_EQ(layout.Root(), "/wapolicy/");
  EXPECT_EQ(layout.MemberKey("n1"), "/wapolicy/members/n1");
  EXPECT_EQ(layout.RingNodeKey("n1"), "/wapolicy/ring/n1");
  EXPECT_EQ(layout.PortfolioKey("acme/eu"), "/wapolicy/portfolios/acme/eu");
  EXPECT_EQ(layout.Parse("/wapolicy/members/n1").kind, ClusterKey::kMember);
  EXPECT_EQ(layout.Parse("/wapolicy/ring/n2").id, "n2");
  const ClusterKey pin = layout.Parse("/wapolicy/portfolios/acme/eu");
  EXPECT_EQ(pin.kind, ClusterKey::kPortfolio);
  EXPECT_EQ(pin.id, "acme/eu");
  EXPECT_EQ(layout.Parse("/wapolicy/members/").kind, ClusterKey::kOther);
  EXPECT_EQ(layout.Parse("/wapolicyx/members/n1").kind, ClusterKey::kOther);
  EXPECT_EQ(layout.Parse("/other").kind, ClusterKey::kOther);
  EXPECT_EQ(ClusterLayout("/x/prod/").MemberKey("a"), "/x/prod/members/a");
}

TEST(ClusterLayoutTest, ValuesRoundTripAsJson) {
  v1::PortfolioPin pin;
  pin.set_owner("n1");
  pin.set_state(v1::PortfolioPin::MOVING);
  pin.set_target("n2");
  const std::string json = EncodeValue(pin);
  EXPECT_NE(json.find("\"MOVING\""), std::string::npos) << json;
  absl::StatusOr<v1::PortfolioPin> back = DecodeValue<v1::PortfolioPin>(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->target(), "n2");
  EXPECT_EQ(DecodeValue<v1::PortfolioPin>("{\"owner\": 3").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_FALSE(DecodeValue<v1::PortfolioPin>("{\"owner\": \"n1\", \"later\": 1}").ok());
}

}  // namespace
}  // namespace wapolicy::cluster
