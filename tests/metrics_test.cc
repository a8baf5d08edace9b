// /metrics through the real server: the Prometheus text format, decisions by
// reason, events by kind and webhook outcomes counted as they happen, and the
// admin token required when the server has tokens.

#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/token_authority.h"
#include "tests/http_client.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kNumber[] = "+14155550100";

// The value of the sample whose series (name and labels) is `series`, or -1.
double Sample(const std::string& text, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const size_t at = text.find(key);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + key.size()));
}

TEST(MetricsTest, DecisionsAndEventsAreCountedInPrometheusTextFormat) {
  ServerProcess server(MakeTempDir("metrics"), {});
  ASSERT_TRUE(server.Start());
  ASSERT_TRUE(SetUpBusiness(server, "acme", {kNumber}).ok());
  HttpClient http(absl::StrCat("http://127.0.0.1:", server.http_port()));
  auto check = [&](const std::string& customer) {
    grpc::ClientContext c;
    v1::CheckRequest r;
    r.set_business_number(kNumber);
    r.set_customer(customer);
    r.mutable_template_message()->set_name("t");
    r.mutable_template_message()->set_language("en");
    v1::Decision d;
    ASSERT_TRUE(server.service().Check(&c, r, &d).ok());
  };
  check("+447700900001");  // NOT_OPTED_IN.
  check("+447700900002");  // NOT_OPTED_IN.
  ASSERT_EQ(http.Post("/v1/events", absl::StrCat(R"({"businessNumber":")", kNumber,
                                                 R"(","customer":"+447700900001","optIn":{}})"))
                .status,
            200);
  check("+447700900001");  // ALLOWED.

  HttpClient::Response r = http.Get("/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.headers, "text/plain; version=0.0.4")) << r.headers;
  const std::string text = "\n" + r.body;
  EXPECT_EQ(Sample(text, R"(wapolicy_decisions_total{reason="NOT_OPTED_IN",profile="brief-2023"})"),
            2);
  EXPECT_EQ(Sample(text, R"(wapolicy_decisions_total{reason="ALLOWED",profile="brief-2023"})"), 1);
  EXPECT_EQ(Sample(text, R"(wapolicy_events_total{kind="opt_in"})"), 1);
  EXPECT_EQ(Sample(text, R"(wapolicy_decision_seconds_count{call="Check"})"), 3);
  EXPECT_EQ(Sample(text, R"(wapolicy_numbers)"), 1);
  EXPECT_EQ(
      Sample(text,
             R"(wapolicy_numbers_by_state{status="CONNECTED",quality="HIGH",tier="TIER_1K"})"),
      1)
      << r.body;
  EXPECT_EQ(Sample(text, R"(wapolicy_webhook_updates_total{outcome="applied"})"), 0);
  EXPECT_TRUE(absl::StrContains(r.body, "# TYPE wapolicy_decision_seconds histogram\n"));
  EXPECT_GT(Sample(text, "wapolicy_journal_writes_total"), 0);
  EXPECT_GE(Sample(text, "wapolicy_journal_change_sets_total"),
            Sample(text, "wapolicy_journal_writes_total"));
  EXPECT_GT(Sample(text, "wapolicy_rocksdb_estimated_bytes"), 0);
  // No customer or number appears in any label.
  EXPECT_FALSE(absl::StrContains(r.body, "447700900001"));
  EXPECT_FALSE(absl::StrContains(r.body, "4155550100"));
}

TEST(MetricsTest, WithTokensOnlyAnAdminMayScrape) {
  const std::string dir = MakeTempDir("metrics_auth");
  std::ofstream(dir + ".tokens") << TokenAuthority::HashToken("root") << " admin\n"
                                 << TokenAuthority::HashToken("acme") << " business acme\n";
  ServerProcess server(dir, {"--tokens_file=" + dir + ".tokens"});
  ASSERT_TRUE(server.Start());
  HttpClient http(absl::StrCat("http://127.0.0.1:", server.http_port()));
  EXPECT_EQ(http.Get("/metrics").status, 401);
  EXPECT_EQ(http.Get("/metrics", {"Authorization: Bearer acme"}).status, 403);
  EXPECT_EQ(http.Get("/metrics", {"Authorization: Bearer root"}).status, 200);
}

}  // namespace
}  // namespace wapolicy
