// Shadow mode through the real server: --shadow for every business and
// UpsertBusinessRequest.shadow for one, per reason family; holds answered
// allowed with the would-be reason (gRPC, JSON, policyctl), counted in
// /metrics, and state moving as if the messages were sent.

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/http_client.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kAcme[] = "+14155550100";    // Shadows consent (its own setting).
constexpr char kGlobex[] = "+14155550200";  // No setting of its own.

class ShadowServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(
        MakeTempDir("shadow"),
        std::vector<std::string>{"--shadow=limit", "--fake_clock=2026-11-30T10:00:00Z",
                                 "--config=" + Config()});
    ASSERT_TRUE(server_->Start());
    ASSERT_TRUE(SetUpBusiness(*server_, "acme", {kAcme}).ok());
    ASSERT_TRUE(SetUpBusiness(*server_, "globex", {kGlobex}).ok());
    grpc::ClientContext c;
    v1::UpsertBusinessRequest b;
    b.set_business_id("acme");
    b.set_verified(true);
    b.set_shadow("consent");
    v1::UpsertBusinessResponse out;
    ASSERT_TRUE(server_->admin().UpsertBusiness(&c, b, &out).ok());
    v1::SyncNumberRequest one;
    one.set_business_number(kGlobex);
    one.set_messaging_limit(1);
    grpc::ClientContext sc;
    v1::SyncNumberResponse so;
    ASSERT_TRUE(server_->admin().SyncNumber(&sc, one, &so).ok());
  }
  // Rates off: several checks land in one instant of the fake clock.
  static std::string Config() {
    const std::string path = MakeTempDir("shadow_config") + "/profile.textproto";
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs("throughput_mps: 0\npair_rate_enabled: false\n", f);
    std::fclose(f);
    return path;
  }
  v1::Decision Check(const std::string& number, const std::string& customer) {
    grpc::ClientContext c;
    v1::CheckRequest r;
    r.set_business_number(number);
    r.set_customer(customer);
    r.mutable_template_message()->set_name("t");
    r.mutable_template_message()->set_language("en");
    v1::Decision d;
    EXPECT_TRUE(server_->service().Check(&c, r, &d).ok());
    return d;
  }
  void OptIn(const std::string& number, const std::string& customer) {
    grpc::ClientContext c;
    v1::EventRequest e;
    e.set_business_number(number);
    e.set_customer(customer);
    e.mutable_opt_in()->set_source(v1::WEBSITE);
    v1::EventResponse out;
    ASSERT_TRUE(server_->service().ReportEvent(&c, e, &out).ok());
  }
  int64_t Used(const std::string& number) {
    v1::NumberState s;
    EXPECT_TRUE(NumberStateOf(*server_, number, &s).ok());
    return s.used();
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ShadowServerTest, ABusinessShadowingConsentIsAnsweredAllowedWithTheWouldBeReason) {
  const v1::Decision acme = Check(kAcme, "+447700900001");  // No opt-in.
  EXPECT_TRUE(acme.allowed());
  EXPECT_EQ(acme.reason(), v1::ALLOWED);
  EXPECT_EQ(acme.shadow_reason(), v1::NOT_OPTED_IN);
  EXPECT_FALSE(acme.shadow_detail().empty());
  EXPECT_EQ(Used(kAcme), 1);  // As if sent: the conversation counts.
  // Logged like a hold, with the would-be reason: policyctl explain shows it.
  grpc::ClientContext c;
  v1::GetDecisionRequest g;
  g.set_decision_id(acme.decision_id());
  v1::LoggedDecision logged;
  ASSERT_TRUE(server_->service().GetDecision(&c, g, &logged).ok());
  EXPECT_EQ(logged.decision().shadow_reason(), v1::NOT_OPTED_IN);
  // Globex does not shadow consent: held.
  const v1::Decision globex = Check(kGlobex, "+447700900001");
  EXPECT_FALSE(globex.allowed());
  EXPECT_EQ(globex.reason(), v1::NOT_OPTED_IN);
  EXPECT_EQ(globex.shadow_reason(), v1::REASON_CODE_UNSPECIFIED);
}

TEST_F(ShadowServerTest, TheServersLimitShadowCoversEveryBusinessAndIsCounted) {
  OptIn(kGlobex, "+447700900001");
  OptIn(kGlobex, "+447700900002");
  EXPECT_TRUE(Check(kGlobex, "+447700900001").allowed());
  const v1::Decision over = Check(kGlobex, "+447700900002");  // Limit 1, used 1.
  EXPECT_TRUE(over.allowed());
  EXPECT_EQ(over.shadow_reason(), v1::LIMIT_REACHED);
  EXPECT_EQ(Used(kGlobex), 2);
  HttpClient http(absl::StrCat("http://127.0.0.1:", server_->http_port()));
  const std::string metrics = http.Get("/metrics").body;
  EXPECT_NE(metrics.find(
                "wapolicy_shadow_held_total{reason=\"LIMIT_REACHED\",profile=\"brief-2023\"} 1"),
            std::string::npos)
      << metrics;
  // The shadowed admission took its slot: the customer's next message goes in
  // that conversation, no hold to shadow.
  EXPECT_EQ(Check(kGlobex, "+447700900002").shadow_reason(), v1::REASON_CODE_UNSPECIFIED);
  // The JSON door shows it too.
  OptIn(kGlobex, "+447700900003");
  const HttpClient::Response json = http.Post(
      "/v1/check", absl::StrCat(R"({"businessNumber":")", kGlobex,
                                R"(","customer":"+447700900003",)",
                                R"("templateMessage":{"name":"t","language":"en"}})"));
  ASSERT_EQ(json.status, 200) << json.body;
  EXPECT_NE(json.body.find(R"("shadowReason":"LIMIT_REACHED")"), std::string::npos) << json.body;
}

TEST_F(ShadowServerTest, AnUnknownFamilyIsRefusedNamingTheField) {
  grpc::ClientContext c;
  v1::UpsertBusinessRequest b;
  b.set_business_id("acme");
  b.set_shadow("limits");
  v1::UpsertBusinessResponse out;
  const grpc::Status s = server_->admin().UpsertBusiness(&c, b, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("shadow"), std::string::npos) << s.error_message();
  // Nothing changed: acme still shadows consent.
  EXPECT_EQ(Check(kAcme, "+447700900009").shadow_reason(), v1::NOT_OPTED_IN);
  ServerProcess bad(MakeTempDir("shadow_bad"), {"--shadow=everything"});
  EXPECT_FALSE(bad.Start());
}

}  // namespace
}  // namespace wapolicy
