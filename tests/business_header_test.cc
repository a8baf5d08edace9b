// x-wapolicy-business through the real server (server/business_route.h):
// a header that matches passes; one that does not is INVALID_ARGUMENT naming
// the field and changes nothing (a follow-up read shows it); a batch or a
// stream spanning two businesses under a header is refused whole; admin
// calls are held to the header's business too; --require_business_header
// refuses calls without it and policyctl and the client library send it;
// the JSON API the same; webhooks by path, with a foreign number or WABA in
// the POST skipped.

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/policy_client.h"
#include "gtest/gtest.h"
#include "server/http/webhook_signature.h"
#include "tests/http_client.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kAcme[] = "+14155550100";
constexpr char kGlobex[] = "+14155550200";
constexpr char kCustomer[] = "+447700900001";
constexpr char kClock[] = "--fake_clock=2026-01-01T18:00:00Z";

std::unique_ptr<grpc::ClientContext> As(const std::string& business) {
  auto c = std::make_unique<grpc::ClientContext>();
  if (!business.empty()) c->AddMetadata("x-wapolicy-business", business);
  return c;
}

v1::CheckRequest CheckOf(const std::string& number) {
  v1::CheckRequest c;
  c.set_business_number(number);
  c.set_customer(kCustomer);
  c.mutable_template_message()->set_name("t");
  c.mutable_template_message()->set_language("en");
  return c;
}

grpc::Status OptIn(ServerProcess& server, const std::string& header, const std::string& number) {
  v1::EventRequest e;
  e.set_business_number(number);
  e.set_customer(kCustomer);
  e.mutable_opt_in()->set_source(v1::WEBSITE);
  v1::EventResponse r;
  return server.service().ReportEvent(As(header).get(), e, &r);
}

// The number's `used`, read naming its business (so under --require_business_header too).
int64_t Used(ServerProcess& server, const std::string& number) {
  v1::GetNumberStateRequest r;
  r.set_business_number(number);
  v1::NumberState s;
  grpc::Status st =
      server.service().GetNumberState(As(number == kAcme ? "acme" : "globex").get(), r, &s);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return s.used();
}

struct CliRun {
  int exit_code;
  std::string out;
};
CliRun Policyctl(const std::string& args) {
  FILE* p = popen(("cli/policyctl " + args + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class BusinessHeaderTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> flags) {
    dir_ = MakeTempDir("business_header");
    const std::string apps = dir_ + ".apps";  // One app, both businesses' WABAs.
    std::ofstream(apps)
        << "app { name: \"bsp\" app_secret: \"s3cret\" verify_token: \"vt\"\n"
        << "  business { business_id: \"acme\" waba_id: \"300000000000001\" }\n"
        << "  business { business_id: \"globex\" waba_id: \"300000000000002\" } }\n";
    chmod(apps.c_str(), 0600);
    flags.push_back(kClock);
    flags.push_back("--webhook_apps=" + apps);
    server_ = std::make_unique<ServerProcess>(dir_, flags);
    ASSERT_TRUE(server_->Start());
    ASSERT_TRUE(SetUpBusiness(*server_, "acme", {kAcme}).ok());
    ASSERT_TRUE(SetUpBusiness(*server_, "globex", {kGlobex}).ok());
    http_ = std::make_unique<HttpClient>(absl::StrCat("http://127.0.0.1:", server_->http_port()));
  }
  HttpClient::Response Hook(const std::string& path, const std::string& entries) {
    const std::string body =
        absl::StrCat(R"({"object":"whatsapp_business_account","entry":[)", entries, "]}");
    return http_->Post(path, body, {"X-Hub-Signature-256: " + SignWebhookBody("s3cret", body)});
  }
  // One entry: a delivered status of `wamid` for the number `display` under `waba`.
  static std::string Delivered(const std::string& waba, const std::string& display,
                               const std::string& wamid) {
    return absl::StrCat(
        R"({"id":")", waba, R"(","changes":[{"field":"messages","value":{"metadata":{)",
        R"("display_phone_number":")", display, R"("},"statuses":[{"id":")", wamid,
        R"(","status":"delivered","timestamp":"1767225600","recipient_id":"447700900001"}]}}]})");
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> http_;
};

TEST_F(BusinessHeaderTest, GrpcHeaderMatchesOrIsRefusedNamingTheFieldWithNothingChanged) {
  Start({});
  ASSERT_TRUE(OptIn(*server_, "acme", kAcme).ok());
  v1::Decision d;
  ASSERT_TRUE(server_->service().Check(As("acme").get(), CheckOf(kAcme), &d).ok());
  EXPECT_TRUE(d.allowed()) << d.ShortDebugString();
  EXPECT_EQ(Used(*server_, kAcme), 1);

  // A mismatch names the header and the field; the opt-in was not recorded.
  grpc::Status s = OptIn(*server_, "acme", kGlobex);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "x-wapolicy-business: 'acme' but business_number +14155550200 belongs to 'globex'");
  ASSERT_TRUE(server_->service().Check(As("globex").get(), CheckOf(kGlobex), &d).ok());
  EXPECT_EQ(d.reason(), v1::NOT_OPTED_IN) << "the refused opt-in changed nothing";
  ASSERT_TRUE(OptIn(*server_, "globex", kGlobex).ok());
  s = server_->service().Check(As("acme").get(), CheckOf(kGlobex), &d);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Used(*server_, kGlobex), 0);

  // A batch spanning two businesses under a header: refused whole, naming the entry.
  v1::CheckBatchRequest batch;
  *batch.add_checks() = CheckOf(kAcme);
  *batch.add_checks() = CheckOf(kGlobex);
  v1::CheckBatchResponse br;
  s = server_->service().CheckBatch(As("acme").get(), batch, &br);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(
      s.error_message(), "x-wapolicy-business: 'acme' but checks[1].business_number +14155550200"))
      << s.error_message();
  EXPECT_EQ(Used(*server_, kAcme), 1);
  EXPECT_EQ(Used(*server_, kGlobex), 0);

  // A stream: one business; a message naming another ends it.
  auto c = As("acme");
  auto stream = server_->service().Decide(c.get());
  v1::DecideRequest req;
  *req.add_checks() = CheckOf(kGlobex);
  ASSERT_TRUE(stream->Write(req));
  v1::DecideResponse resp;
  EXPECT_FALSE(stream->Read(&resp));
  s = stream->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "checks[0].business_number"))
      << s.error_message();
  EXPECT_EQ(Used(*server_, kGlobex), 0);

  // Admin calls name their business too.
  v1::Template t;
  t.set_business_id("globex");
  t.set_name("t2");
  t.set_language("en");
  t.set_category(v1::UTILITY);
  t.set_status(v1::APPROVED);
  v1::PutTemplateResponse tr;
  s = server_->admin().PutTemplate(As("acme").get(), t, &tr);
  EXPECT_EQ(s.error_message(), "x-wapolicy-business: 'acme' but business_id is 'globex'");
  v1::GetTemplateRequest gt;
  gt.set_business_id("globex");
  gt.set_name("t2");
  gt.set_language("en");
  v1::Template got;
  EXPECT_EQ(server_->admin().GetTemplate(As("globex").get(), gt, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // A header that is not a business id.
  s = server_->service().Check(As("acme corp").get(), CheckOf(kAcme), &d);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "x-wapolicy-business: 'acme corp'"));

  // Without the header, as before: a batch may span businesses.
  s = server_->service().CheckBatch(As("").get(), batch, &br);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(br.results(1).decision().allowed()) << br.ShortDebugString();
  EXPECT_EQ(Used(*server_, kGlobex), 1);
}

TEST_F(BusinessHeaderTest, JsonApiChecksTheHeaderTheSameWay) {
  Start({});
  const std::string check =
      absl::StrCat(R"({"businessNumber":")", kGlobex, R"(","customer":"+447700900001",)",
                   R"("templateMessage":{"name":"t","language":"en"}})");
  HttpClient::Response r = http_->Post("/v1/check", check, {"X-Wapolicy-Business: acme"});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(absl::StrContains(
      r.body, "x-wapolicy-business: 'acme' but business_number +14155550200 belongs to 'globex'"))
      << r.body;
  r = http_->Get("/v1/numbers/+14155550200", {"x-wapolicy-business: acme"});
  EXPECT_EQ(r.status, 400) << r.body;
  r = http_->Post("/v1/check", check, {"X-Wapolicy-Business: globex"});
  EXPECT_EQ(r.status, 200) << r.body;
  r = http_->Post("/v1/check", check);
  EXPECT_EQ(r.status, 200) << r.body;
  // The list narrowed to the header's business.
  r = http_->Get("/v1/numbers", {"X-Wapolicy-Business: acme"});
  EXPECT_TRUE(absl::StrContains(r.body, kAcme)) << r.body;
  EXPECT_FALSE(absl::StrContains(r.body, kGlobex)) << r.body;
  EXPECT_EQ(Used(*server_, kGlobex), 0) << "NOT_OPTED_IN holds; the refused call did nothing";
}

TEST_F(BusinessHeaderTest, WebhooksByPathApplyOnlyThatBusinesssUpdates) {
  Start({});
  for (const std::string path : {"/webhooks/whatsapp", "/webhooks/whatsapp/acme"}) {
    HttpClient::Response g =
        http_->Get(path + "?hub.mode=subscribe&hub.challenge=42&hub.verify_token=vt");
    EXPECT_EQ(g.status, 200) << path;
    EXPECT_EQ(g.body, "42") << path;
  }
  HttpClient::Response r = Hook(
      "/webhooks/whatsapp/acme",
      absl::StrCat(Delivered("300000000000001", "14155550100", "wamid.A"), ",",
                   Delivered("300000000000002", "14155550200", "wamid.B"), ",",  // globex's WABA
                   Delivered("300000000000001", "14155550200", "wamid.C")));     // globex's number
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, R"("applied":1,)")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, R"("foreign_number":1,)")) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, R"("foreign_waba":1,)")) << r.body;
  EXPECT_EQ(Used(*server_, kAcme), 1);
  EXPECT_EQ(Used(*server_, kGlobex), 0);
  // Without the path, as before: the app's WABAs reach their businesses.
  r = Hook("/webhooks/whatsapp", Delivered("300000000000002", "14155550200", "wamid.B"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Used(*server_, kGlobex), 1);
  r = Hook("/webhooks/whatsapp/not%20a%20business", Delivered("300000000000001", "1", "w"));
  EXPECT_EQ(r.status, 404) << r.body;
}

TEST_F(BusinessHeaderTest, RequireBusinessHeaderRefusesCallsWithoutItAndTheToolsSendIt) {
  Start({"--require_business_header"});  // SetUpBusiness names the business: accepted.
  v1::Decision d;
  grpc::Status s = server_->service().Check(As("").get(), CheckOf(kAcme), &d);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(s.error_message(), "x-wapolicy-business: required"))
      << s.error_message();
  EXPECT_TRUE(server_->service().Check(As("acme").get(), CheckOf(kAcme), &d).ok());
  v1::UpsertBusinessRequest ub;
  ub.set_business_id("initech");
  v1::UpsertBusinessResponse ubr;
  EXPECT_EQ(server_->admin().UpsertBusiness(As("").get(), ub, &ubr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::GetServerInfoResponse info;  // Node-wide: no business to name.
  EXPECT_TRUE(server_->admin().GetServerInfo(As("").get(), {}, &info).ok());

  // HTTP.
  const std::string check =
      absl::StrCat(R"({"businessNumber":")", kAcme, R"(","customer":"+447700900001",)",
                   R"("templateMessage":{"name":"t","language":"en"}})");
  HttpClient::Response r = http_->Post("/v1/check", check);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "x-wapolicy-business: required")) << r.body;
  EXPECT_EQ(http_->Post("/v1/check", check, {"X-Wapolicy-Business: acme"}).status, 200);

  // Webhooks: by path only.
  r = Hook("/webhooks/whatsapp", Delivered("300000000000001", "14155550100", "wamid.A"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "/webhooks/whatsapp/{business}")) << r.body;
  EXPECT_EQ(Used(*server_, kAcme), 0) << "nothing applied";
  r = Hook("/webhooks/whatsapp/acme", Delivered("300000000000001", "14155550100", "wamid.A"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Used(*server_, kAcme), 1);

  // policyctl sends --business with every command.
  const std::string ctl = "--server=" + server_->address() + " ";
  const std::string n = " --number=+14155550300 --customer=+447700900001";
  EXPECT_EQ(Policyctl(ctl + "business --business=initech").exit_code, 0);
  EXPECT_EQ(Policyctl(ctl + "register --number=+14155550300 --business=initech").exit_code, 0);
  EXPECT_EQ(Policyctl(ctl + "template --business=initech --name=t --language=en").exit_code, 0);
  EXPECT_EQ(Policyctl(ctl + "event --type=opt_in --business=initech" + n).exit_code, 0);
  CliRun run = Policyctl(ctl + "check --business=initech --name=t --language=en" + n);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "ALLOW")) << run.out;
  run = Policyctl(ctl + "check --name=t --language=en" + n);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_TRUE(absl::StrContains(run.out, "INVALID_ARGUMENT: x-wapolicy-business: required"))
      << run.out;
  run = Policyctl(ctl + "check --business=acme --name=t --language=en" + n);
  EXPECT_TRUE(absl::StrContains(run.out, "belongs to 'initech'")) << run.out;
  EXPECT_EQ(Policyctl(ctl + "info").exit_code, 0);
  EXPECT_TRUE(absl::StrContains(Policyctl(ctl + "--help").out, "x-wapolicy-business"));

  // The client library sends PolicyClientOptions.business.
  ASSERT_TRUE(OptIn(*server_, "acme", kAcme).ok());
  PolicyClientOptions options;
  options.business = "acme";
  std::unique_ptr<PolicyClient> client = PolicyClient::Connect(server_->address(), options);
  absl::StatusOr<v1::Decision> decided =
      client->Check(CheckOf(kAcme), absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(decided.ok()) << decided.status();
  EXPECT_TRUE(decided->allowed()) << decided->ShortDebugString();
  std::unique_ptr<PolicyClient> anonymous = PolicyClient::Connect(server_->address(), {});
  decided = anonymous->Check(CheckOf(kAcme), absl::Now() + absl::Seconds(10));
  EXPECT_EQ(decided.status().code(), absl::StatusCode::kInvalidArgument) << decided.status();
  EXPECT_TRUE(absl::StrContains(decided.status().message(), "x-wapolicy-business"));
}

}  // namespace
}  // namespace wapolicy
