// The webhook endpoint and the JSON API in process, for what the server tests
// cannot set up at will: a server at its in-flight bound answers webhooks 503
// and JSON calls 429, both with Retry-After, and applies nothing.
#include "server/http/webhook_endpoint.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "policy/clock.h"
#include "policy/policy_engine.h"
#include "server/http/json_api.h"
#include "server/http/webhook_signature.h"

namespace wapolicy {
namespace {

constexpr char kApps[] = R"(app { name: "main" app_secret: "s3cret" verify_token: "vt"
  business { business_id: "acme" waba_id: "300000000000001" } })";
constexpr char kBody[] =
    R"({"object":"whatsapp_business_account","entry":[{"id":"300000000000001","changes":[)"
    R"({"field":"messages","value":{"metadata":{"display_phone_number":"14155550100"},)"
    R"("statuses":[{"id":"wamid.A","status":"delivered","timestamp":"1767225600",)"
    R"("recipient_id":"447700900001"}]}}]}]})";

class EndpointTest : public ::testing::TestWithParam<int> {
 protected:
  EndpointTest()
      : engine_(DefaultProfile(), &clock_),
        service_(&engine_, 100, nullptr, /*max_inflight=*/GetParam()),
        admin_(&engine_, nullptr),
        apps_(*WebhookApps::Parse(kApps)),
        endpoint_(&service_, &admin_, apps_.get()),
        api_(&service_, &admin_) {
    EXPECT_TRUE(engine_.UpsertBusiness("acme", true, false).ok());
    EXPECT_TRUE(engine_.RegisterNumber(*PhoneNumber::Parse("+14155550100"), "acme").ok());
  }
  HttpResponse Post(absl::string_view body) {
    HttpRequest r;
    r.method = "POST";
    r.path = "/webhooks/whatsapp";
    r.headers.emplace_back("X-Hub-Signature-256", SignWebhookBody("s3cret", body));
    r.body = body;
    return endpoint_.Handle(r);
  }
  int64_t Used() { return engine_.GetNumberState(*PhoneNumber::Parse("+14155550100"))->used; }

  ManualClock clock_{absl::FromUnixSeconds(1767229200)};
  PolicyEngine engine_;
  PolicyServiceImpl service_;
  PolicyAdminImpl admin_;
  std::unique_ptr<WebhookApps> apps_;
  WebhookEndpoint endpoint_;
  JsonApi api_;
};

using BusyTest = EndpointTest;
using FreeTest = EndpointTest;

TEST_P(BusyTest, AtTheInflightBoundWebhooksGet503AndJsonCalls429WithRetryAfter) {
  HttpResponse r = Post(kBody);
  EXPECT_EQ(r.status, 503);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  EXPECT_EQ(Used(), 0) << "nothing applied";
  HttpRequest get;
  get.method = "GET";
  get.path = "/v1/numbers/+14155550100";
  HttpResponse j = api_.Handle(get);
  EXPECT_EQ(j.status, 429);
  EXPECT_TRUE(absl::StrContains(j.body, "RESOURCE_EXHAUSTED")) << j.body;
}

TEST_P(FreeTest, UnderTheBoundTheSamePostApplies) {
  HttpResponse r = Post(kBody);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Used(), 1);
  EXPECT_EQ(endpoint_.outcome_count(WebhookOutcome::kApplied), 1);
}

INSTANTIATE_TEST_SUITE_P(NoSlot, BusyTest, ::testing::Values(0));
INSTANTIATE_TEST_SUITE_P(Slots, FreeTest, ::testing::Values(4));

}  // namespace
}  // namespace wapolicy
