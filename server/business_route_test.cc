// BusinessRoute and the portfolio gate in process: the header's rule on each
// kind of request, and a fake gate's refusals through every door (gRPC with
// its trailing metadata, the JSON API's 421 / 503, the webhooks by path and
// without) with the engine untouched: no journal commit, no state change.
#include "server/business_route.h"

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "policy/clock.h"
#include "policy/policy_engine.h"
#include "policy/test_util.h"
#include "server/campaign_service.h"
#include "server/http/json_api.h"
#include "server/http/webhook_endpoint.h"
#include "server/http/webhook_signature.h"
#include "server/policy_service.h"

namespace wapolicy {
namespace {

constexpr char kAcme[] = "+14155550100";
constexpr char kGlobex[] = "+14155550200";   // Owned by another node (the fake gate).
constexpr char kInitech[] = "+14155550300";  // Moving (the fake gate).
constexpr char kCustomer[] = "+447700900001";

// globex: another node's; initech: moving for 1.5 s; acme: ours, until
// `acme_moving` is set.
class FakeGate : public PortfolioGate {
 public:
  absl::Status MayServe(absl::string_view business) const override {
    ++calls;
    if (business == "globex") return NotOwnerError(business, "10.0.0.2:50051");
    if (business == "initech" || (business == "acme" && acme_moving)) {
      return PortfolioMovingError(business, absl::Milliseconds(1500));
    }
    return absl::OkStatus();
  }
  mutable std::atomic<int> calls{0};
  std::atomic<bool> acme_moving{false};
};

v1::CheckRequest CheckOf(const std::string& number) {
  v1::CheckRequest c;
  c.set_business_number(number);
  c.set_customer(kCustomer);
  c.mutable_template_message()->set_name("t");
  c.mutable_template_message()->set_language("en");
  return c;
}

Caller Admin(const std::string& header = "") {
  Caller c{true, ""};
  c.routed_business = header;
  return c;
}

class RouteTest : public ::testing::Test {
 protected:
  RouteTest() : engine_(DefaultProfile(), &clock_, &journal_) {
    for (auto [business, number] :
         {std::pair{"acme", kAcme}, std::pair{"globex", kGlobex}, std::pair{"initech", kInitech}}) {
      EXPECT_TRUE(engine_.UpsertBusiness(business, true, false).ok());
      EXPECT_TRUE(engine_.RegisterNumber(Num(number), business).ok());
    }
  }
  ManualClock clock_{absl::FromUnixSeconds(1767229200)};
  MemoryJournal journal_;
  PolicyEngine engine_;
};

TEST_F(RouteTest, NameReadsTheHeaderAndHoldsABusinessTokenToItsOwn) {
  BusinessRoute route(&engine_);
  Caller admin = Admin();
  EXPECT_TRUE(route.Name(std::nullopt, &admin).ok());
  EXPECT_EQ(admin.routed_business, "");
  EXPECT_TRUE(route.Name("acme", &admin).ok());
  EXPECT_EQ(admin.routed_business, "acme");
  absl::Status bad = route.Name("acme corp", &admin);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(bad.message(), "x-wapolicy-business: 'acme corp'")) << bad;
  Caller token{false, "acme"};
  EXPECT_TRUE(route.Name("acme", &token).ok());
  absl::Status other = route.Name("globex", &token);
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied) << other;
}

TEST_F(RouteTest, CheckMatchesEveryBusinessFieldAndNamesTheFirstThatDiffers) {
  BusinessRoute route(&engine_);
  EXPECT_TRUE(route.Check(Admin("acme"), CheckOf(kAcme)).ok());
  EXPECT_TRUE(route.Check(Admin(), CheckOf(kGlobex)).ok()) << "no header: as before";
  EXPECT_TRUE(route.Check(Admin("acme"), CheckOf("+14155550999")).ok())
      << "an unknown number is the call's to answer (NOT_FOUND)";
  EXPECT_TRUE(route.Check(Admin("acme"), CheckOf("not a number")).ok())
      << "a bad number is the call's to answer (INVALID_ARGUMENT naming it)";
  absl::Status s = route.Check(Admin("acme"), CheckOf(kGlobex));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "x-wapolicy-business: 'acme' but business_number +14155550200 belongs to 'globex'");

  v1::CheckBatchRequest batch;
  *batch.add_checks() = CheckOf(kAcme);
  *batch.add_checks() = CheckOf("+1 415 555 0100");  // The same number, formatted.
  *batch.add_checks() = CheckOf(kGlobex);
  s = route.Check(Admin("acme"), batch);
  EXPECT_EQ(s.message(),
            "x-wapolicy-business: 'acme' but checks[2].business_number "
            "+14155550200 belongs to 'globex'");
  EXPECT_TRUE(route.Check(Admin(), batch).ok()) << "no header: a batch may span businesses";

  v1::PlanCampaignRequest plan;
  plan.mutable_campaign()->set_business_number(kGlobex);
  s = route.Check(Admin("acme"), plan);
  EXPECT_TRUE(absl::StrContains(s.message(), "campaign.business_number +14155550200")) << s;

  v1::Template t;
  t.set_business_id("globex");
  s = route.Check(Admin("acme"), t);
  EXPECT_EQ(s.message(), "x-wapolicy-business: 'acme' but business_id is 'globex'");
  v1::RegisterNumberRequest reg;  // Both fields: each must be the header's.
  reg.set_business_id("acme");
  reg.set_business_number(kGlobex);
  EXPECT_EQ(route.Check(Admin("acme"), reg).code(), absl::StatusCode::kInvalidArgument);

  // A business token's numbers are its own rule's (PERMISSION_DENIED naming
  // no other business), not this one's.
  Caller token{false, "acme", "acme"};
  EXPECT_TRUE(route.Check(token, CheckOf(kGlobex)).ok());
}

TEST_F(RouteTest, RequireHeaderRefusesACallWithoutOne) {
  BusinessRoute::Options o;
  o.require_header = true;
  BusinessRoute route(&engine_, o);
  absl::Status s = route.Check(Admin(), CheckOf(kAcme));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "x-wapolicy-business: required")) << s;
  EXPECT_TRUE(route.Check(Admin("acme"), CheckOf(kAcme)).ok());
}

TEST_F(RouteTest, TheGateIsConsultedWithTheHeaderOrElseWithEachBusinessNamed) {
  FakeGate gate;
  BusinessRoute::Options o;
  o.gate = &gate;
  BusinessRoute route(&engine_, o);
  absl::Status s = route.Check(Admin("globex"), CheckOf(kGlobex));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(OwnerAddressOf(s), "10.0.0.2:50051");
  // No header: each business the batch names, once.
  v1::CheckBatchRequest batch;
  for (int i = 0; i < 3; ++i) *batch.add_checks() = CheckOf(kAcme);
  *batch.add_checks() = CheckOf(kInitech);
  gate.calls = 0;
  s = route.Check(Admin(), batch);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(RetryAfterOf(s), absl::Milliseconds(1500));
  EXPECT_EQ(gate.calls, 2);
  // The single node's gate: nothing looked up without a header.
  BusinessRoute single(&engine_);
  EXPECT_TRUE(single.gate().ServesAll());
  EXPECT_TRUE(single.Check(Admin(), batch).ok());
}

// The services behind a real (in-process) gRPC server, the JSON API and the
// webhook endpoint, all with the fake gate.
class GateDoorsTest : public RouteTest {
 protected:
  void SetUp() override {
    BusinessRoute::Options o;
    o.gate = &gate_;
    route_ = std::make_unique<BusinessRoute>(&engine_, o);
    service_ = std::make_unique<PolicyServiceImpl>(&engine_, 100);
    service_->set_route(route_.get());
    admin_ = std::make_unique<PolicyAdminImpl>(&engine_, nullptr);
    admin_->set_route(route_.get());
    campaigns_ = std::make_unique<CampaignServiceImpl>(service_.get());
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(service_.get());
    b.RegisterService(admin_.get());
    b.RegisterService(campaigns_.get());
    server_ = b.BuildAndStart();
    ASSERT_NE(port, 0);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                       grpc::InsecureChannelCredentials());
    stub_ = v1::PolicyService::NewStub(channel);
    admin_stub_ = v1::PolicyAdmin::NewStub(channel);
    campaign_stub_ = v1::PolicyCampaigns::NewStub(channel);
    api_ = std::make_unique<JsonApi>(service_.get(), admin_.get());
    api_->set_campaigns(campaigns_.get());
    apps_ = *WebhookApps::Parse(R"(app { name: "main" app_secret: "s3cret" verify_token: "vt"
      business { business_id: "acme" waba_id: "300000000000001" }
      business { business_id: "globex" waba_id: "300000000000002" } })");
    hooks_ = std::make_unique<WebhookEndpoint>(service_.get(), admin_.get(), apps_.get());
    commits_ = journal_.commits();
  }
  void TearDown() override { server_->Shutdown(); }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& business) {
    auto c = std::make_unique<grpc::ClientContext>();
    if (!business.empty()) c->AddMetadata("x-wapolicy-business", business);
    return c;
  }
  static std::string Trailer(const grpc::ClientContext& c, const std::string& key) {
    auto it = c.GetServerTrailingMetadata().find(key);
    if (it == c.GetServerTrailingMetadata().end()) return "";
    return std::string(it->second.data(), it->second.size());
  }
  HttpResponse Json(const std::string& path, const std::string& body, const std::string& business) {
    HttpRequest r;
    r.method = "POST";
    r.path = path;
    if (!business.empty()) r.headers.emplace_back("X-Wapolicy-Business", business);
    r.body = body;
    return api_->Handle(r);
  }
  static std::string HeaderOf(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }
  HttpResponse Hook(const std::string& path, const std::string& waba, const std::string& display) {
    body_ = absl::StrCat(
        R"({"object":"whatsapp_business_account","entry":[{"id":")", waba,
        R"(","changes":[{"field":"messages","value":{"metadata":{"display_phone_number":")",
        display, R"("},"statuses":[{"id":"wamid.A","status":"delivered","timestamp":"1767225600",)",
        R"("recipient_id":"447700900001"}]}}]}]})");
    HttpRequest r;
    r.method = "POST";
    r.path = path;
    r.headers.emplace_back("X-Hub-Signature-256", SignWebhookBody("s3cret", body_));
    r.body = body_;
    return hooks_->Handle(r);
  }
  int64_t Used(const char* number) { return engine_.GetNumberState(Num(number))->used; }
  // Nothing reached the engine's state since SetUp.
  void ExpectUntouched() {
    EXPECT_EQ(journal_.commits(), commits_);
    EXPECT_EQ(Used(kGlobex), 0);
    EXPECT_EQ(Used(kInitech), 0);
  }

  FakeGate gate_;
  std::unique_ptr<BusinessRoute> route_;
  std::unique_ptr<PolicyServiceImpl> service_;
  std::unique_ptr<PolicyAdminImpl> admin_;
  std::unique_ptr<CampaignServiceImpl> campaigns_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::PolicyService::Stub> stub_;
  std::unique_ptr<v1::PolicyAdmin::Stub> admin_stub_;
  std::unique_ptr<v1::PolicyCampaigns::Stub> campaign_stub_;
  std::unique_ptr<JsonApi> api_;
  std::unique_ptr<WebhookApps> apps_;
  std::unique_ptr<WebhookEndpoint> hooks_;
  std::string body_;
  int commits_ = 0;
};

TEST_F(GateDoorsTest, GrpcRefusalsCarryTheOwnerOrTheRetryTimeAndChangeNothing) {
  v1::EventRequest opt_in;
  opt_in.set_business_number(kGlobex);
  opt_in.set_customer(kCustomer);
  opt_in.mutable_opt_in()->set_source(v1::WEBSITE);
  auto c = Context("globex");
  v1::EventResponse er;
  grpc::Status s = stub_->ReportEvent(c.get(), opt_in, &er);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_EQ(Trailer(*c, "x-wapolicy-owner"), "10.0.0.2:50051");
  EXPECT_TRUE(absl::StrContains(s.error_message(), "10.0.0.2:50051")) << s.error_message();

  c = Context("");  // No header: the gate is asked about the number's business.
  v1::Decision d;
  s = stub_->Check(c.get(), CheckOf(kInitech), &d);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(Trailer(*c, "x-wapolicy-retry-after-ms"), "1500");

  c = Context("globex");
  v1::CheckBatchRequest batch;
  *batch.add_checks() = CheckOf(kGlobex);
  v1::CheckBatchResponse br;
  EXPECT_EQ(stub_->CheckBatch(c.get(), batch, &br).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  c = Context("globex");
  v1::Template t;
  t.set_business_id("globex");
  t.set_name("t2");
  t.set_language("en");
  t.set_category(v1::UTILITY);
  t.set_status(v1::APPROVED);
  v1::PutTemplateResponse tr;
  EXPECT_EQ(admin_stub_->PutTemplate(c.get(), t, &tr).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Trailer(*c, "x-wapolicy-owner"), "10.0.0.2:50051");
  EXPECT_FALSE(engine_.GetTemplate("globex", "t2", "en").ok());

  c = Context("initech");
  v1::ReserveCampaignRequest reserve;
  reserve.set_business_number(kInitech);
  reserve.mutable_template_message()->set_name("t");
  reserve.mutable_template_message()->set_language("en");
  reserve.mutable_customers()->add_e164(kCustomer);
  v1::ReserveCampaignResponse rr;
  EXPECT_EQ(campaign_stub_->ReserveCampaign(c.get(), reserve, &rr).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Trailer(*c, "x-wapolicy-retry-after-ms"), "1500");

  // Node-wide calls are not a portfolio's.
  c = Context("globex");
  v1::GetServerInfoResponse info;
  EXPECT_TRUE(admin_stub_->GetServerInfo(c.get(), {}, &info).ok());
  ExpectUntouched();
  absl::StatusOr<Consent> consent = engine_.GetConsent(Num(kGlobex), Num(kCustomer));
  EXPECT_TRUE(!consent.ok() || consent->state != Consent::State::kOptedIn);
}

TEST_F(GateDoorsTest, ADecideStreamStopsWhenItsPortfolioStartsMoving) {
  auto c = Context("acme");
  auto stream = stub_->Decide(c.get());
  v1::DecideRequest req;
  *req.add_checks() = CheckOf(kAcme);
  v1::DecideResponse resp;
  ASSERT_TRUE(stream->Write(req));
  ASSERT_TRUE(stream->Read(&resp));
  EXPECT_EQ(resp.results_size(), 1);
  const int commits = journal_.commits();
  gate_.acme_moving = true;
  ASSERT_TRUE(stream->Write(req));
  EXPECT_FALSE(stream->Read(&resp));
  stream->WritesDone();
  grpc::Status s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(Trailer(*c, "x-wapolicy-retry-after-ms"), "1500");
  EXPECT_EQ(journal_.commits(), commits) << "the second message was not decided";
}

TEST_F(GateDoorsTest, JsonRefusalsAre421WithTheOwnerAnd503WithRetryAfter) {
  const std::string check =
      absl::StrCat(R"({"businessNumber":")", kGlobex, R"(","customer":"+447700900001",)",
                   R"("templateMessage":{"name":"t","language":"en"}})");
  HttpResponse r = Json("/v1/check", check, "globex");
  EXPECT_EQ(r.status, 421) << r.body;
  EXPECT_EQ(HeaderOf(r, "X-Wapolicy-Owner"), "10.0.0.2:50051");
  EXPECT_TRUE(absl::StrContains(r.body, "FAILED_PRECONDITION")) << r.body;
  r = Json("/v1/check", check, "");  // Without the header: the number's business.
  EXPECT_EQ(r.status, 421) << r.body;
  const std::string opt_in =
      absl::StrCat(R"({"businessNumber":")", kInitech, R"(","customer":"+447700900001",)",
                   R"("optIn":{"source":"WEBSITE"}})");
  r = Json("/v1/events", opt_in, "initech");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "2");
  EXPECT_EQ(HeaderOf(r, "X-Wapolicy-Retry-After-Ms"), "1500");
  r = Json("/v1/admin/putTemplate",
           R"({"businessId":"globex","name":"t2","language":"en","category":"UTILITY"})", "globex");
  EXPECT_EQ(r.status, 421) << r.body;
  HttpRequest get;
  get.method = "GET";
  get.path = "/v1/numbers";
  get.headers.emplace_back("x-wapolicy-business", "globex");
  EXPECT_EQ(api_->Handle(get).status, 421);
  ExpectUntouched();
}

TEST_F(GateDoorsTest, WebhooksByPathOrNotAskTheGateBeforeApplyingAnything) {
  HttpResponse r = Hook("/webhooks/whatsapp/globex", "300000000000002", "14155550200");
  EXPECT_EQ(r.status, 421) << r.body;
  EXPECT_EQ(HeaderOf(r, "X-Wapolicy-Owner"), "10.0.0.2:50051");
  r = Hook("/webhooks/whatsapp", "300000000000002", "14155550200");
  EXPECT_EQ(r.status, 421) << r.body;
  ExpectUntouched();
  EXPECT_EQ(hooks_->outcome_count(WebhookOutcome::kApplied), 0);
  r = Hook("/webhooks/whatsapp/acme", "300000000000001", "14155550100");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Used(kAcme), 1);
}

}  // namespace
}  // namespace wapolicy
