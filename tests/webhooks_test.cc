// /webhooks/whatsapp through the real server: the handshake; signatures (good,
// bad, missing); one app's secret kept to its own businesses; each payload
// kind's effect on decisions and GetNumberState (fixtures in tests/webhooks/);
// duplicates within and across POSTs; statuses out of order; unregistered
// numbers skipped; a SIGKILL while a POST is applied, then the platform's
// retry: applied exactly once.

#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "server/http/webhook_signature.h"
#include "tests/http_client.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kAcme[] = "+14155550100";    // Display number 14155550100, WABA ...001.
constexpr char kGlobex[] = "+14155550200";  // WABA ...002, another app.
constexpr char kSecret[] = "acme-app-secret";
constexpr char kOtherSecret[] = "globex-app-secret";
// After every fixture's time (the latest, 2026-01-01T17:00Z), before the
// restriction's expiry (2026-01-08).
constexpr char kClock[] = "--fake_clock=2026-01-01T18:00:00Z";

std::string Fixture(const std::string& name) {
  std::ifstream in("tests/webhooks/" + name + ".json");
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << name;
  return s.str();
}

std::string WriteApps(const std::string& dir) {
  const std::string path = dir + ".apps";
  std::ofstream(path) << "app { name: \"acme-app\" app_secret: \"" << kSecret
                      << "\" verify_token: \"acme-verify\"\n"
                      << "  business { business_id: \"acme\" waba_id: \"300000000000001\" } }\n"
                      << "app { name: \"globex-app\" app_secret: \"" << kOtherSecret
                      << "\" verify_token: \"globex-verify\"\n"
                      << "  business { business_id: \"globex\" waba_id: \"300000000000002\" } }\n";
  chmod(path.c_str(), 0600);
  return path;
}

// One status of wamid `id` for `customer` (digits), at unix seconds `ts`.
std::string Status(const std::string& id, const std::string& status, const std::string& customer,
                   int64_t ts) {
  return absl::StrCat(R"({"id":")", id, R"(","status":")", status, R"(","timestamp":")", ts,
                      R"(","recipient_id":")", customer, R"("})");
}
std::string StatusesBody(const std::string& statuses, const std::string& waba = "300000000000001",
                         const std::string& display = "14155550100") {
  return absl::StrCat(
      R"({"object":"whatsapp_business_account","entry":[{"id":")", waba,
      R"(","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",)",
      R"("metadata":{"display_phone_number":")", display,
      R"(","phone_number_id":"200000000000001"},"statuses":[)", statuses, "]}}]}]}");
}

class WebhooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("webhooks");
    apps_ = WriteApps(dir_);
    StartServer();
    ASSERT_TRUE(SetUpBusiness(*server_, "acme", {kAcme}).ok());
    ASSERT_TRUE(SetUpBusiness(*server_, "globex", {kGlobex}).ok());
    for (auto [name, category, language] : {std::tuple{"order_update", v1::UTILITY, "en_US"},
                                            std::tuple{"promo", v1::MARKETING, "en_US"},
                                            std::tuple{"spring_sale", v1::MARKETING, "pt_BR"}}) {
      grpc::ClientContext c;
      v1::Template t;
      t.set_business_id("acme");
      t.set_name(name);
      t.set_language(language);
      t.set_category(category);
      t.set_status(v1::APPROVED);
      t.set_body("Hello {{1}}");
      t.set_footer("Reply STOP to opt out");
      v1::PutTemplateResponse r;
      ASSERT_TRUE(server_->admin().PutTemplate(&c, t, &r).ok());
    }
  }
  void StartServer() {
    server_ = std::make_unique<ServerProcess>(
        dir_, std::vector<std::string>{kClock, "--webhook_apps=" + apps_});
    ASSERT_TRUE(server_->Start());
    http_ = std::make_unique<HttpClient>(absl::StrCat("http://127.0.0.1:", server_->http_port()));
  }
  HttpClient::Response Post(const std::string& body, const std::string& secret = kSecret) {
    return http_->Post("/webhooks/whatsapp", body,
                       {"X-Hub-Signature-256: " + SignWebhookBody(secret, body)});
  }
  v1::NumberState State(const std::string& number = kAcme) {
    v1::NumberState s;
    EXPECT_TRUE(NumberStateOf(*server_, number, &s).ok());
    return s;
  }
  grpc::Status Event(const std::string& customer, void (*fill)(v1::EventRequest*)) {
    v1::EventRequest e;
    e.set_business_number(kAcme);
    e.set_customer(customer);
    fill(&e);
    grpc::ClientContext c;
    v1::EventResponse r;
    return server_->service().ReportEvent(&c, e, &r);
  }
  // At midnight, before every fixture's time (the latest word stands).
  void OptIn(const std::string& customer) {
    ASSERT_TRUE(Event(customer, [](v1::EventRequest* e) {
                  e->mutable_opt_in()->set_source(v1::WEBSITE);
                  e->set_occurred_at_unix_ms(int64_t{1767225600} * 1000);
                }).ok());
  }
  v1::Decision Check(const std::string& customer, const std::string& tpl = "order_update",
                     bool session = false, const std::string& language = "en_US") {
    v1::CheckRequest r;
    r.set_business_number(kAcme);
    r.set_customer(customer);
    r.set_dry_run(true);
    if (session) {
      r.mutable_session()->mutable_text()->set_body("hello");
    } else {
      r.mutable_template_message()->set_name(tpl);
      r.mutable_template_message()->set_language(language);
    }
    grpc::ClientContext c;
    v1::Decision d;
    EXPECT_TRUE(server_->service().Check(&c, r, &d).ok());
    return d;
  }

  std::string dir_, apps_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> http_;
};

TEST_F(WebhooksTest, HandshakeAnswersTheChallengeOnlyToAConfiguredVerifyToken) {
  HttpClient::Response r = http_->Get(
      "/webhooks/"
      "whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=acme-verify");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "1158201444");
  EXPECT_EQ(
      http_->Get("/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1&hub.verify_token=x").status,
      403);
  EXPECT_EQ(http_->Get("/webhooks/whatsapp?hub.challenge=1&hub.verify_token=acme-verify").status,
            400);
}

TEST_F(WebhooksTest, BadOrMissingSignaturesAre401AndApplyNothing) {
  const std::string body = Fixture("status_delivered");
  EXPECT_EQ(http_->Post("/webhooks/whatsapp", body).status, 401) << "no signature";
  EXPECT_EQ(http_->Post("/webhooks/whatsapp", body, {"X-Hub-Signature-256: sha256=00"}).status, 401)
      << "malformed";
  EXPECT_EQ(Post(body, "not-the-secret").status, 401) << "another secret";
  const std::string tampered = absl::StrReplaceAll(body, {{"447700900001", "447700900009"}});
  EXPECT_EQ(http_
                ->Post("/webhooks/whatsapp", tampered,
                       {"X-Hub-Signature-256: " + SignWebhookBody(kSecret, body)})
                .status,
            401)
      << "a body changed on the way";
  EXPECT_EQ(State().used(), 0);
  HttpClient::Response r = Post(body);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(State().used(), 1);
}

TEST_F(WebhooksTest, MalformedBodiesAre400AndOversizedOnes413WithNothingApplied) {
  HttpClient::Response r = Post("{\"object\":\"whatsapp_business_account\",\"entry\":[");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, "INVALID_ARGUMENT")) << r.body;
  EXPECT_EQ(Post(R"({"object":"page","entry":[]})").status, 400);
  std::string statuses;
  for (int i = 0; statuses.size() < (3u << 20); ++i) {
    absl::StrAppend(&statuses, i ? "," : "",
                    Status(absl::StrCat("wamid.BIG", i), "delivered", "447700900001", 1767225600));
  }
  EXPECT_EQ(Post(StatusesBody(statuses)).status, 413);
  EXPECT_EQ(State().used(), 0);
}

TEST_F(WebhooksTest, StatusesCountTheConversationOnceWhateverTheOrderAndRepeats) {
  // read before delivered, sent last; the same POST twice.
  const std::string body =
      StatusesBody(Status("wamid.X1", "read", "447700900001", 1767225700) + "," +
                   Status("wamid.X1", "delivered", "447700900001", 1767225650) + "," +
                   Status("wamid.X1", "sent", "447700900001", 1767225600));
  HttpClient::Response r = Post(body);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(Post(body).status, 200);
  for (const char* fixture : {"status_sent", "status_delivered", "status_read"}) {
    ASSERT_EQ(Post(Fixture(fixture)).status, 200) << fixture;  // The same customer again.
  }
  // Customer 1 (wamid.X1 and the fixtures' wamid.AAA1) and customer 3
  // (status_read: read implies delivered).
  v1::NumberState s = State();
  EXPECT_EQ(s.used(), 2);
  // The conversation the platform opened is the engine's: a further
  // template to that customer reuses it.
  OptIn("+447700900001");
  EXPECT_EQ(Check("+447700900001").effect(), v1::REUSES_BUSINESS_INITIATED);
}

TEST_F(WebhooksTest, AFailedStatusWith131049HoldsMarketingToTheCustomer) {
  // A Brazilian customer: the platform applies its per-user limit there.
  const std::string body =
      absl::StrReplaceAll(Fixture("status_failed_131049"), {{"447700900002", "5511988887777"}});
  OptIn("+5511988887777");
  ASSERT_EQ(Check("+5511988887777", "promo").reason(), v1::ALLOWED);
  ASSERT_EQ(Post(body).status, 200);
  v1::Decision d = Check("+5511988887777", "promo");
  EXPECT_EQ(d.reason(), v1::MARKETING_HELD);
  EXPECT_GT(d.retry_after_unix_ms(), 0);
  EXPECT_EQ(Check("+5511988887777", "order_update").reason(), v1::ALLOWED) << "utility is not held";
}

TEST_F(WebhooksTest, UserPreferencesStopAndResumeMarketingOnly) {
  OptIn("+447700900001");
  ASSERT_TRUE(Check("+447700900001", "promo").allowed());
  HttpClient::Response r = Post(Fixture("user_preferences_stop"));
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(absl::StrContains(r.body, "\"applied\":1")) << r.body;
  v1::Decision d = Check("+447700900001", "promo");
  EXPECT_EQ(d.reason(), v1::OPTED_OUT);
  EXPECT_EQ(d.platform_error_code(), 131050);
  EXPECT_TRUE(Check("+447700900001").allowed()) << "utility still goes";
  {  // The resume is said the next day, 02:00.
    grpc::ClientContext c;
    v1::AdvanceClockRequest a;
    a.set_seconds(9 * 3600);
    v1::AdvanceClockResponse out;
    ASSERT_TRUE(server_->admin().AdvanceClock(&c, a, &out).ok());
  }
  r = Post(Fixture("user_preferences_resume"));
  EXPECT_TRUE(absl::StrContains(r.body, "\"applied\":1")) << r.body;
  EXPECT_TRUE(Check("+447700900001", "promo").allowed());
}

TEST_F(WebhooksTest, InboundMessagesOpenTheWindowAndOptOutRepliesOptOut) {
  ASSERT_EQ(Check("+447700900001", "", /*session=*/true).reason(), v1::OUTSIDE_SERVICE_WINDOW);
  ASSERT_EQ(Post(Fixture("inbound_text")).status, 200);
  EXPECT_TRUE(Check("+447700900001", "", /*session=*/true).allowed());
  HttpClient::Response r = Post(Fixture("inbound_image"));
  EXPECT_TRUE(absl::StrContains(r.body, "\"applied\":1")) << r.body;
  OptIn("+447700900001");
  OptIn("+447700900005");
  ASSERT_TRUE(Check("+447700900001").allowed());
  ASSERT_TRUE(Check("+447700900005").allowed());
  // A list reply titled "Unsubscribe" (another customer here) and a
  // template's "STOP" quick reply are opt-out keywords.
  r = Post(absl::StrReplaceAll(Fixture("inbound_interactive"), {{"447700900001", "447700900005"}}));
  EXPECT_TRUE(absl::StrContains(r.body, "\"applied\":2")) << r.body;
  EXPECT_EQ(Check("+447700900005").reason(), v1::OPTED_OUT);
  ASSERT_TRUE(Check("+447700900001").allowed());
  ASSERT_EQ(Post(Fixture("inbound_button")).status, 200);
  EXPECT_EQ(Check("+447700900001").reason(), v1::OPTED_OUT);
}

TEST_F(WebhooksTest, QualityAndCapabilityUpdatesAreThePlatformsWordOnLimitAndThroughput) {
  // business_capability_update: the WABA's business, all its numbers.
  {
    grpc::ClientContext c;
    v1::SyncNumberRequest r;
    r.set_business_number(kAcme);
    r.set_messaging_limit(250);
    r.set_occurred_at_unix_ms(int64_t{1767225600} * 1000);  // Before the webhook's time.
    v1::SyncNumberResponse out;
    ASSERT_TRUE(server_->admin().SyncNumber(&c, r, &out).ok());
  }
  ASSERT_EQ(State().limit(), 250);
  ASSERT_EQ(Post(Fixture("capability_integer")).status, 200);
  EXPECT_EQ(State().limit(), 2000);
  EXPECT_EQ(State(kGlobex).limit(), 1000) << "another business is untouched";
  // phone_number_quality_update: throughput and limit, then FLAGGED.
  ASSERT_EQ(Post(Fixture("quality_throughput_upgrade")).status, 200);
  v1::NumberState s = State();
  EXPECT_EQ(s.throughput_mps(), 1000);
  EXPECT_TRUE(s.has_platform_limit());
  // Its TIER_UNLIMITED was said at 05:00, before the capability update's
  // 2,000 (07:00): the latest word stands.
  EXPECT_EQ(s.platform_limit(), 2000);
  ASSERT_EQ(Post(Fixture("quality_flagged")).status, 200);  // Legacy FLAGGED.
  EXPECT_TRUE(State().flagged());
}

TEST_F(WebhooksTest, AccountRestrictionHoldsBusinessInitiatedUntilItsExpiryAndDisableStopsAll) {
  OptIn("+447700900001");
  ASSERT_EQ(Post(Fixture("account_restriction")).status, 200);
  v1::Decision d = Check("+447700900001");
  EXPECT_EQ(d.reason(), v1::ACCOUNT_RESTRICTED);
  EXPECT_EQ(d.retry_after_unix_ms(), int64_t{1767862800} * 1000);
  ASSERT_EQ(Post(Fixture("account_disabled")).status, 200);
  EXPECT_EQ(Check("+447700900001").reason(), v1::ACCOUNT_DISABLED);
}

TEST_F(WebhooksTest, TemplateQualityAndStatusUpdatesPauseUnpauseRejectAndReinstate) {
  OptIn("+447700900001");
  ASSERT_EQ(Post(Fixture("template_quality_red")).status, 200);
  v1::Decision d = Check("+447700900001");
  EXPECT_EQ(d.reason(), v1::TEMPLATE_PAUSED);
  EXPECT_GT(d.retry_after_unix_ms(), 0);
  ASSERT_EQ(Post(Fixture("template_paused")).status, 200);  // Said twice: still the first pause.
  ASSERT_EQ(Post(Fixture("template_unpause")).status, 200);
  EXPECT_TRUE(Check("+447700900001").allowed());
  // spring_sale (pt-BR on the wire, pt_BR here) is rejected.
  ASSERT_TRUE(Check("+447700900001", "spring_sale", false, "pt_BR").allowed());
  ASSERT_EQ(Post(Fixture("template_rejected")).status, 200);
  EXPECT_EQ(Check("+447700900001", "spring_sale", false, "pt_BR").reason(),
            v1::TEMPLATE_NOT_APPROVED);
}

TEST_F(WebhooksTest, OneAppsSecretReachesOnlyItsOwnBusinessesNumbers) {
  // Globex's app signs a body for acme's WABA: skipped, nothing applied.
  HttpClient::Response r = Post(Fixture("status_delivered"), kOtherSecret);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "\"foreign_waba\":1")) << r.body;
  // Its own WABA but acme's display number: skipped too.
  r = Post(StatusesBody(Status("wamid.F1", "delivered", "447700900001", 1767225600),
                        "300000000000002", "14155550100"),
           kOtherSecret);
  EXPECT_TRUE(absl::StrContains(r.body, "\"foreign_number\":1")) << r.body;
  EXPECT_EQ(State().used(), 0);
  // Its own number: applied.
  r = Post(StatusesBody(Status("wamid.F2", "delivered", "447700900001", 1767225600),
                        "300000000000002", "14155550200"),
           kOtherSecret);
  EXPECT_TRUE(absl::StrContains(r.body, "\"applied\":1")) << r.body;
  EXPECT_EQ(State(kGlobex).used(), 1);
}

TEST_F(WebhooksTest, EveryFixtureIsTakenWithNothingRejected) {
  // Each documented payload kind parses, is signed, and none of its updates
  // is refused by the engine (the later-dated ones after the clock moves).
  for (const char* name : {"status_sent",           "status_delivered",
                           "status_read",           "status_failed_131049",
                           "inbound_text",          "inbound_button",
                           "inbound_interactive",   "inbound_image",
                           "user_preferences_stop", "quality_throughput_upgrade",
                           "quality_flagged",       "quality_upgrade",
                           "capability_integer",    "capability_string",
                           "account_restriction",   "account_disabled",
                           "template_quality_red",  "template_paused",
                           "template_unpause",      "template_rejected",
                           "template_reinstated"}) {
    HttpClient::Response r = Post(Fixture(name));
    EXPECT_EQ(r.status, 200) << name << " " << r.body;
    EXPECT_TRUE(absl::StrContains(r.body, "\"rejected\":0")) << name << " " << r.body;
    EXPECT_TRUE(absl::StrContains(r.body, "\"unknown_number\":0")) << name << " " << r.body;
  }
}

TEST_F(WebhooksTest, UpdatesForUnregisteredNumbersAreCountedAndSkipped) {
  HttpClient::Response r =
      Post(StatusesBody(Status("wamid.U1", "delivered", "447700900001", 1767225600),
                        "300000000000001", "14155559999"));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(absl::StrContains(r.body, "\"unknown_number\":1")) << r.body;
}

TEST_F(WebhooksTest, ASigkillWhileAPostIsAppliedThenThePlatformsRetryAppliesItExactlyOnce) {
  std::string statuses;
  constexpr int kCustomers = 600;
  for (int i = 0; i < kCustomers; ++i) {
    absl::StrAppend(&statuses, i ? "," : "",
                    Status(absl::StrCat("wamid.K", i), "delivered", absl::StrCat(447700910000 + i),
                           1767225600 + i));
  }
  const std::string body = StatusesBody(statuses);
  std::atomic<long> first_status{-1};
  std::thread poster([&] {
    HttpClient own(absl::StrCat("http://127.0.0.1:", server_->http_port()));
    first_status = own.Post("/webhooks/whatsapp", body,
                            {"X-Hub-Signature-256: " + SignWebhookBody(kSecret, body)})
                       .status;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(15));
  server_->Kill(SIGKILL);
  poster.join();
  StartServer();  // Same data directory.
  const int64_t before_retry = State().used();
  EXPECT_LE(before_retry, kCustomers);
  HttpClient::Response r = Post(body);  // The platform's retry.
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(State().used(), kCustomers) << "killed with " << before_retry << " applied";
  ASSERT_EQ(Post(body).status, 200);  // And once more: still once.
  EXPECT_EQ(State().used(), kCustomers);
}

}  // namespace
}  // namespace wapolicy
