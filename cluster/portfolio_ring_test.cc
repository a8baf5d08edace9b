#include "cluster/portfolio_ring.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cluster/testing/loopback.h"
#include "cluster/testing/nginx_process.h"
#include "gtest/gtest.h"

namespace wapolicy::cluster {
namespace {

using testing::FreePort;
using testing::HttpGet;
using testing::MakeTempDir;
using testing::NginxProcess;

PortfolioRing MustCreate(std::vector<RingMember> members) {
  absl::StatusOr<PortfolioRing> ring = PortfolioRing::Create(std::move(members));
  EXPECT_TRUE(ring.ok()) << ring.status();
  return ring.ok() ? *std::move(ring) : PortfolioRing();
}

// Answers recorded from Debian's nginx 1.22.1 with
//   upstream nodes { hash $http_x_wapolicy_business consistent;
//                    server 127.0.0.1:7001; server 127.0.0.1:7002;
//                    server 127.0.0.1:7003; [server localhost:7004;] }
// each server answering its node name, queried with curl.
TEST(PortfolioRingTest, KnownAnswersFromNginx) {
  const PortfolioRing three = MustCreate(
      {{"n1", "127.0.0.1:7001"}, {"n2", "127.0.0.1:7002"}, {"n3", "127.0.0.1:7003"}});
  const PortfolioRing four =
      MustCreate({{"n1", "127.0.0.1:7001"}, {"n2", "127.0.0.1:7002"},
                  {"n3", "127.0.0.1:7003"}, {"n4", "localhost:7004"}});
  struct Case {
    const char* business;
    const char* with_three;
    const char* with_four;
  };
  const Case cases[] = {
      {"acme", "n1", "n1"},       {"globex", "n3", "n3"},     {"initech", "n3", "n4"},
      {"umbrella", "n2", "n4"},   {"hooli", "n3", "n3"},      {"1000000001", "n3", "n4"},
      {"biz-0", "n1", "n1"},      {"biz-1", "n3", "n3"},      {"biz-2", "n2", "n4"},
      {"biz-3", "n3", "n4"},      {"biz-4", "n2", "n2"},      {"biz-5", "n3", "n3"},
      {"biz-6", "n1", "n1"},      {"biz-7", "n1", "n1"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(three.Owner(c.business).value_or("?"), c.with_three) << c.business;
    EXPECT_EQ(four.Owner(c.business).value_or("?"), c.with_four) << c.business;
  }
}

TEST(PortfolioRingTest, OrderOfMembersDoesNotMatter) {
  const PortfolioRing a = MustCreate({{"n1", "10.0.0.1:1"}, {"n2", "10.0.0.2:1"}, {"n3", "h:2"}});
  const PortfolioRing b = MustCreate({{"n3", "h:2"}, {"n1", "10.0.0.1:1"}, {"n2", "10.0.0.2:1"}});
  for (int i = 0; i < 500; ++i) {
    const std::string business = absl::StrCat("b", i);
    EXPECT_EQ(*a.Owner(business), *b.Owner(business));
  }
}

TEST(PortfolioRingTest, PinsOverrideTheRing) {
  PortfolioRing ring = MustCreate({{"n1", "127.0.0.1:7001"}, {"n2", "127.0.0.1:7002"}});
  const std::string by_ring = *ring.RingOwner("acme");
  const std::string other = by_ring == "n1" ? "n2" : "n1";
  ring.Pin("acme", other);
  EXPECT_EQ(*ring.Owner("acme"), other);
  EXPECT_EQ(*ring.RingOwner("acme"), by_ring);
  ring.Pin("globex", "n9");  // Not a member: the pin still names the owner.
  EXPECT_EQ(*ring.Owner("globex"), "n9");
  ring.Unpin("acme");
  EXPECT_EQ(*ring.Owner("acme"), by_ring);
}

TEST(PortfolioRingTest, Errors) {
  EXPECT_EQ(PortfolioRing().Owner("acme").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(PortfolioRing::Create({{"n1", "a:1"}, {"n1", "b:1"}}).ok());
  EXPECT_FALSE(PortfolioRing::Create({{"n1", "a:1"}, {"n2", "a:1"}}).ok());
  EXPECT_FALSE(PortfolioRing::Create({{"", "a:1"}}).ok());
  const PortfolioRing ring = MustCreate({{"n1", "a:1"}, {"n2", "b:1"}});
  EXPECT_EQ(ring.Owner("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*MustCreate({{"solo", "a:1"}}).Owner("anything"), "solo");
}

TEST(PortfolioRingTest, PointsFollowNginxFormula) {
  // "host:port" splits at the last ':' before digits; a trailing non-digit
  // part means no port, as in ngx_http_upstream_init_chash.
  EXPECT_EQ(PortfolioRing::PointsOf("127.0.0.1:80").size(), 160u);
  EXPECT_NE(PortfolioRing::PointsOf("a:1"), PortfolioRing::PointsOf("a:2"));
  EXPECT_EQ(PortfolioRing::PointsOf("unix:/x"), PortfolioRing::PointsOf("UNIX:/x"));
}

// The ring against a real nginx: 4 tiny upstreams served by nginx itself and
// a front server hashing by the business header over 3, then 4 of them.
class NginxRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    front_ = FreePort();
    for (int i = 0; i < 4; ++i) {
      int port = FreePort();
      while (port == front_ || std::find(ports_.begin(), ports_.end(), port) != ports_.end()) {
        port = FreePort();
      }
      ports_.push_back(port);
      members_.push_back({absl::StrCat("node", i + 1), absl::StrCat("127.0.0.1:", port)});
    }
  }

  // nginx's http{} contents with the first `n` members in the upstream.
  std::string Config(int n) const {
    std::string conf = "  upstream nodes {\n    hash $http_x_wapolicy_business consistent;\n";
    for (int i = 0; i < n; ++i) absl::StrAppend(&conf, "    server ", members_[i].address, ";\n");
    absl::StrAppend(&conf, "  }\n  server {\n    listen 127.0.0.1:", front_,
                    ";\n    location / { proxy_pass http://nodes; }\n  }\n");
    for (size_t i = 0; i < members_.size(); ++i) {
      absl::StrAppend(&conf, "  server { listen 127.0.0.1:", ports_[i], "; return 200 \"",
                      members_[i].node_id, "\"; }\n");
    }
    return conf;
  }

  std::vector<int> AllPorts() const {
    std::vector<int> all = ports_;
    all.push_back(front_);
    return all;
  }

  int front_ = 0;
  std::vector<int> ports_;
  std::vector<RingMember> members_;
};

TEST_F(NginxRingTest, RingPicksWhatNginxPicks) {
  constexpr int kBusinesses = 200;
  NginxProcess nginx(MakeTempDir("nginx"));
  std::vector<std::string> owners3, owners4;
  for (int n : {3, 4}) {
    ASSERT_TRUE(nginx.Start(Config(n), AllPorts()).ok()) << nginx.ErrorLog();
    const PortfolioRing ring =
        MustCreate(std::vector<RingMember>(members_.begin(), members_.begin() + n));
    std::vector<std::string>& owners = n == 3 ? owners3 : owners4;
    for (int i = 0; i < kBusinesses; ++i) {
      const std::string business = absl::StrCat("business-", i * 7919);
      absl::StatusOr<std::string> nginx_choice =
          HttpGet(front_, "/", {{"X-Wapolicy-Business", business}});
      ASSERT_TRUE(nginx_choice.ok()) << nginx_choice.status() << "\n" << nginx.ErrorLog();
      EXPECT_EQ(*nginx_choice, ring.Owner(business).value_or("?")) << business << " over " << n;
      owners.push_back(*nginx_choice);
    }
    nginx.Stop();
  }
  // Adding a 4th server moves about a quarter, and only to the new node.
  int moved = 0;
  for (int i = 0; i < kBusinesses; ++i) {
    if (owners3[i] != owners4[i]) {
      ++moved;
      EXPECT_EQ(owners4[i], "node4");
    }
  }
  EXPECT_GT(moved, kBusinesses / 4 - 25);
  EXPECT_LT(moved, kBusinesses / 4 + 25);
}

}  // namespace
}  // namespace wapolicy::cluster
