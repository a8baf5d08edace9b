#include "cluster/nginx_config.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cluster/cluster_layout.h"
#include "cluster/testing/loopback.h"
#include "gtest/gtest.h"

namespace wapolicy::cluster {
namespace {

std::string Member(const std::string& id, int n) {
  v1::ClusterMember m;
  m.set_node_id(id);
  m.set_grpc_address(absl::StrCat("127.0.0.1:", 7000 + n));
  m.set_http_address(absl::StrCat("127.0.0.1:", 8000 + n));
  return EncodeValue(m);
}
std::string Ring(const std::string& id, int n) {
  v1::RingNode r;
  r.set_node_id(id);
  r.set_address(absl::StrCat("127.0.0.1:", 7000 + n));
  return EncodeValue(r);
}
std::string Pin(const std::string& owner) {
  v1::PortfolioPin p;
  p.set_owner(owner);
  p.set_state(v1::PortfolioPin::SERVING);
  return EncodeValue(p);
}

// n1, n2 live; n3 on the ring but down; pins on each.
Assignment ThreeNodes() {
  ClusterLayout l;
  return Assignment::Build(l,
                           {{l.MemberKey("n1"), Member("n1", 1)},
                            {l.MemberKey("n2"), Member("n2", 2)},
                            {l.RingNodeKey("n3"), Ring("n3", 3)},
                            {l.RingNodeKey("n2"), Ring("n2", 2)},
                            {l.RingNodeKey("n1"), Ring("n1", 1)},
                            {l.PortfolioKey("acme"), Pin("n1")},
                            {l.PortfolioKey("globex"), Pin("n2")},
                            {l.PortfolioKey("initech"), Pin("n3")},
                            {l.PortfolioKey("Acme"), Pin("n2")},
                            {l.PortfolioKey("a.b"), Pin("n2")}},
                           7);
}

NginxConfigOptions Options(const std::string& dir) {
  NginxConfigOptions o;
  o.grpc_listen = "127.0.0.1:9090";
  o.http_listen = "127.0.0.1:9080";
  o.runtime_dir = dir;
  o.run_as_root = geteuid() == 0;
  return o;
}

TEST(NginxConfigTest, PinsGoToTheirOwnersAndTheRestToTheRing) {
  const std::string c = RenderNginxConfig(ThreeNodes(), Options("/run/r"));
  EXPECT_TRUE(absl::StrContains(c, "upstream wapolicy_grpc_n1 { server 127.0.0.1:7001 max_fails=0;"));
  EXPECT_TRUE(absl::StrContains(c, "upstream wapolicy_http_n2 { server 127.0.0.1:8002 max_fails=0;"));
  // The ring in node-id order with the ring's addresses, the dead n3 kept.
  EXPECT_TRUE(absl::StrContains(c,
                                "  hash $http_x_wapolicy_business consistent;\n"
                                "    server 127.0.0.1:7001 max_fails=0;  # n1\n"
                                "    server 127.0.0.1:7002 max_fails=0;  # n2\n"
                                "    server 127.0.0.1:7003 max_fails=0;  # n3\n"));
  EXPECT_TRUE(absl::StrContains(c, "      default wapolicy_grpc_ring;\n"));
  EXPECT_TRUE(absl::StrContains(c, "      \"globex\" wapolicy_grpc_n2;\n"));
  EXPECT_TRUE(absl::StrContains(c, "      \"globex\" wapolicy_http_n2;\n"));
  // n3 is down: its portfolio has no live server.
  EXPECT_TRUE(absl::StrContains(c, "      \"initech\" wapolicy_down;\n"));
  // Ids equal but for case are regexes (nginx's strings ignore case).
  EXPECT_TRUE(absl::StrContains(c, "      \"~^acme$\" wapolicy_grpc_n1;\n"));
  EXPECT_TRUE(absl::StrContains(c, "      \"~^Acme$\" wapolicy_grpc_n2;\n"));
  EXPECT_TRUE(absl::StrContains(c, "      \"a.b\" wapolicy_grpc_n2;\n"));
  // Never another node on failure; the router's own failure is gRPC 14.
  EXPECT_TRUE(absl::StrContains(c, "grpc_next_upstream off;"));
  EXPECT_TRUE(absl::StrContains(c, "add_header grpc-status 14 always;"));
  EXPECT_TRUE(absl::StrContains(c, "proxy_next_upstream off;"));
  EXPECT_TRUE(absl::StrContains(c, "\"~^/webhooks/whatsapp/(?<b>[A-Za-z0-9_.-]{1,64})$\" $b;"));
  EXPECT_TRUE(absl::StrContains(c, "pid /run/r/nginx.pid;"));
}

TEST(NginxConfigTest, SameAssignmentSameText) {
  EXPECT_EQ(RenderNginxConfig(ThreeNodes(), Options("/d")),
            RenderNginxConfig(ThreeNodes(), Options("/d")));
}

TEST(NginxConfigTest, NoRingNoMembersStillValid) {
  const std::string c = RenderNginxConfig(Assignment(), Options("/d"));
  EXPECT_TRUE(absl::StrContains(c, "      default wapolicy_down;\n"));
  EXPECT_FALSE(absl::StrContains(c, "wapolicy_grpc_ring"));
}

TEST(NginxConfigTest, HttpContextOnly) {
  NginxConfigOptions o = Options("/d");
  o.complete = false;
  const std::string c = RenderNginxConfig(ThreeNodes(), o);
  EXPECT_FALSE(absl::StrContains(c, "events {"));
  EXPECT_FALSE(absl::StrContains(c, "pid "));
  EXPECT_TRUE(absl::StrContains(c, "\nupstream wapolicy_grpc_n1"));
}

// Debian's nginx accepts what is rendered.
TEST(NginxConfigTest, NginxAcceptsIt) {
  const std::string dir = testing::MakeTempDir("nginx_config");
  for (const Assignment& a : {ThreeNodes(), Assignment()}) {
    const std::string path = dir + "/nginx.conf";
    std::ofstream(path) << RenderNginxConfig(a, Options(dir));
    const std::string cmd =
        absl::StrCat("/usr/sbin/nginx -t -q -p ", dir, " -c ", path, " -e ", dir, "/e.log 2>&1");
    EXPECT_EQ(std::system(cmd.c_str()), 0) << std::ifstream(dir + "/e.log").rdbuf();
  }
}

}  // namespace
}  // namespace wapolicy::cluster
