// The decision log through the real server: a decision's id explains it
// (gRPC GetDecision, GET /v1/decisions/{id}, policyctl explain) with the
// answer as it was given; it survives a restart and a SIGKILL once written;
// another business gets NOT_FOUND; allows are sampled, holds always logged;
// the retention drops it.

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/token_authority.h"
#include "tests/http_client.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kAcme[] = "+14155550100";
constexpr char kGlobex[] = "+14155550200";
constexpr char kStart[] = "2026-01-01T00:00:00Z";
constexpr int64_t kStartMs = 1767225600000;

using google::protobuf::util::MessageDifferencer;

class DecisionLogTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> flags = {}) {
    dir_ = MakeTempDir("dlog");
    const std::string tokens = dir_ + ".tokens";
    std::ofstream(tokens) << TokenAuthority::HashToken("root-token") << " admin\n"
                          << TokenAuthority::HashToken("acme-token") << " business acme\n"
                          << TokenAuthority::HashToken("globex-token") << " business globex\n";
    flags.push_back("--tokens_file=" + tokens);
    flags.push_back(std::string("--fake_clock=") + kStart);
    server_ = std::make_unique<ServerProcess>(dir_, flags);
    ASSERT_TRUE(server_->Start());
    for (auto [business, number] : {std::pair{"acme", kAcme}, std::pair{"globex", kGlobex}}) {
      ASSERT_TRUE(SetUpBusiness(*server_, business, {number}, "t", "root-token").ok());
    }
  }
  static void As(grpc::ClientContext* c, const std::string& token) {
    c->AddMetadata("authorization", "Bearer " + token);
  }
  static v1::CheckRequest TemplateCheck(const std::string& number, const std::string& customer) {
    v1::CheckRequest r;
    r.set_business_number(number);
    r.set_customer(customer);
    r.mutable_template_message()->set_name("t");
    r.mutable_template_message()->set_language("en");
    return r;
  }
  v1::Decision MustCheck(const v1::CheckRequest& req, const std::string& token = "acme-token") {
    grpc::ClientContext c;
    As(&c, token);
    v1::Decision d;
    grpc::Status s = server_->service().Check(&c, req, &d);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return d;
  }
  void OptIn(const std::string& number, const std::string& customer) {
    grpc::ClientContext c;
    As(&c, "root-token");
    v1::EventRequest e;
    e.set_business_number(number);
    e.set_customer(customer);
    e.mutable_opt_in()->set_source(v1::WEBSITE);
    v1::EventResponse r;
    ASSERT_TRUE(server_->service().ReportEvent(&c, e, &r).ok());
  }
  grpc::Status Get(const std::string& id, v1::LoggedDecision* out,
                   const std::string& token = "root-token") {
    grpc::ClientContext c;
    As(&c, token);
    v1::GetDecisionRequest r;
    r.set_decision_id(id);
    return server_->service().GetDecision(&c, r, out);
  }
  // Polls until the decision is in the log's RocksDB (the writer's second at most).
  bool WaitWritten(const std::string& id) {
    for (int i = 0; i < 300; ++i) {
      v1::LoggedDecision d;
      if (Get(id, &d).ok() && d.written()) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }
  double Metric(const std::string& series) {
    HttpClient http("http://127.0.0.1:" + std::to_string(server_->http_port()));
    HttpClient::Response r = http.Get("/metrics", {"Authorization: Bearer root-token"});
    EXPECT_EQ(r.status, 200) << r.body;
    const size_t at = r.body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    double v = -1;
    const size_t from = at + series.size() + 2;
    EXPECT_TRUE(absl::SimpleAtod(r.body.substr(from, r.body.find('\n', from) - from), &v));
    return v;
  }
  // The held check the tests explain: acme's template to a customer who never opted in.
  v1::Decision Hold(const std::string& customer = "+447700900001") {
    v1::CheckRequest req = TemplateCheck(kAcme, customer);
    req.set_message_id("pipeline-msg-7");
    v1::Decision d = MustCheck(req);
    EXPECT_FALSE(d.allowed());
    EXPECT_EQ(d.reason(), v1::NOT_OPTED_IN);
    return d;
  }
  void ExpectExplains(const v1::Decision& answered, const std::string& customer) {
    v1::LoggedDecision got;
    grpc::Status s = Get(answered.decision_id(), &got);
    ASSERT_TRUE(s.ok()) << s.error_message();
    // The answer exactly as it was given: reason, error code, detail, limit, used, times, profile.
    EXPECT_TRUE(MessageDifferencer::Equals(got.decision(), answered))
        << got.decision().DebugString() << "vs answered\n"
        << answered.DebugString();
    EXPECT_EQ(got.business_number(), kAcme);
    EXPECT_EQ(got.customer(), customer);
    EXPECT_EQ(got.template_name(), "t");
    EXPECT_EQ(got.template_language(), "en");
    EXPECT_EQ(got.template_category(), v1::UTILITY);
    EXPECT_EQ(got.message_id(), "pipeline-msg-7");
    EXPECT_EQ(got.decided_at_unix_ms(), kStartMs);
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(DecisionLogTest, AHoldExplainsAsAnsweredAndSurvivesRestartAndKill) {
  Start();
  const v1::Decision held = Hold();
  ASSERT_FALSE(held.detail().empty());
  uint64_t id;
  ASSERT_TRUE(absl::SimpleAtoi(held.decision_id(), &id)) << held.decision_id();
  ExpectExplains(held, "+447700900001");  // At once, from the writer's queue.
  ASSERT_TRUE(WaitWritten(held.decision_id()));

  server_->Kill(SIGTERM);
  ASSERT_TRUE(server_->Start());
  ExpectExplains(held, "+447700900001");

  // A second hold, written, then SIGKILL: both still there, and no id given twice.
  const v1::Decision held2 = Hold("+447700900002");
  ASSERT_TRUE(WaitWritten(held2.decision_id()));
  server_->Kill(SIGKILL);
  ASSERT_TRUE(server_->Start());
  ExpectExplains(held, "+447700900001");
  ExpectExplains(held2, "+447700900002");
  uint64_t id2, id3;
  ASSERT_TRUE(absl::SimpleAtoi(held2.decision_id(), &id2));
  ASSERT_TRUE(absl::SimpleAtoi(Hold("+447700900003").decision_id(), &id3));
  EXPECT_GT(id2, id);
  EXPECT_GT(id3, id2);

  // A hold answered just before a SIGKILL, not yet written: its id is never
  // given again, whether or not it was lost.
  const v1::Decision unwritten = Hold("+447700900004");
  server_->Kill(SIGKILL);
  ASSERT_TRUE(server_->Start());
  uint64_t lost, after;
  ASSERT_TRUE(absl::SimpleAtoi(unwritten.decision_id(), &lost));
  ASSERT_TRUE(absl::SimpleAtoi(Hold("+447700900005").decision_id(), &after));
  EXPECT_GT(after, lost);
}

TEST_F(DecisionLogTest, ABusinessSeesOnlyItsOwnNumbersDecisions) {
  Start();
  const v1::Decision held = Hold();
  v1::LoggedDecision got;
  grpc::Status s = Get(held.decision_id(), &got, "acme-token");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.decision().reason(), v1::NOT_OPTED_IN);
  // Another business: NOT_FOUND, worded exactly as for an id never given.
  s = Get(held.decision_id(), &got, "globex-token");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  const std::string never = "999999999999";
  grpc::Status missing = Get(never, &got, "globex-token");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(),
            absl::StrReplaceAll(missing.error_message(), {{never, held.decision_id()}}));
  EXPECT_FALSE(absl::StrContains(s.error_message(), "acme")) << s.error_message();
  // Garbage ids: INVALID_ARGUMENT naming the field.
  for (const std::string bad : {"", "abc", "12-3", "99999999999999999999999", "-1"}) {
    s = Get(bad, &got);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_TRUE(absl::StartsWith(s.error_message(), "decision_id")) << s.error_message();
  }
  // No token at all: UNAUTHENTICATED, as every call.
  grpc::ClientContext c;
  v1::GetDecisionRequest r;
  r.set_decision_id(held.decision_id());
  EXPECT_EQ(server_->service().GetDecision(&c, r, &got).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(DecisionLogTest, WithSampleZeroAllowsAreNotLoggedHoldsAre) {
  Start({"--decision_log_allow_sample=0"});
  OptIn(kAcme, "+447700900009");
  const v1::Decision allowed = MustCheck(TemplateCheck(kAcme, "+447700900009"));
  ASSERT_TRUE(allowed.allowed());
  const v1::Decision held = Hold();
  v1::LoggedDecision got;
  grpc::Status s = Get(allowed.decision_id(), &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "sample rate")) << s.error_message();
  ASSERT_TRUE(Get(held.decision_id(), &got).ok());
  ASSERT_TRUE(WaitWritten(held.decision_id()));
  s = Get(allowed.decision_id(), &got);  // From the log now, the same answer.
  EXPECT_TRUE(absl::StrContains(s.error_message(), "sample rate")) << s.error_message();
  EXPECT_EQ(Metric("wapolicy_decision_log_decisions_total{outcome=\"not_sampled\"}"), 1);
  EXPECT_EQ(Metric("wapolicy_decision_log_decisions_total{outcome=\"logged\"}"), 1);
}

TEST_F(DecisionLogTest, BatchDecisionsGetDistinctIdsAndEachExplainsItself) {
  Start();
  OptIn(kAcme, "+447700900001");
  grpc::ClientContext c;
  As(&c, "acme-token");
  v1::CheckBatchRequest req;
  for (int i = 0; i < 50; ++i) {
    *req.add_checks() = TemplateCheck(kAcme, "+4477009000" + std::to_string(10 + i));
  }
  *req.add_checks() = TemplateCheck(kAcme, "+447700900001");  // Allowed.
  *req.add_checks() = TemplateCheck(kGlobex, "+447700900001");  // Not acme's: an error.
  v1::CheckBatchResponse resp;
  ASSERT_TRUE(server_->service().CheckBatch(&c, req, &resp).ok());
  ASSERT_EQ(resp.results_size(), 52);
  EXPECT_TRUE(resp.results(51).has_error());
  std::set<uint64_t> ids;
  uint64_t last = 0;
  for (int i = 0; i < 51; ++i) {
    const v1::Decision& d = resp.results(i).decision();
    uint64_t id;
    ASSERT_TRUE(absl::SimpleAtoi(d.decision_id(), &id)) << d.decision_id();
    EXPECT_GT(id, last);
    last = id;
    ids.insert(id);
    v1::LoggedDecision got;
    grpc::Status s = Get(d.decision_id(), &got, "acme-token");
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_message();
    EXPECT_TRUE(MessageDifferencer::Equals(got.decision(), d)) << i;
    EXPECT_EQ(got.customer(), req.checks(i).customer());
  }
  EXPECT_EQ(ids.size(), 51u);
  EXPECT_TRUE(resp.results(50).decision().allowed());
}

TEST_F(DecisionLogTest, TheRetentionDropsDecisions) {
  Start({"--sweep_interval=200ms"});
  const v1::Decision held = Hold();
  ASSERT_TRUE(WaitWritten(held.decision_id()));
  EXPECT_GE(Metric("wapolicy_decision_log_blocks"), 1);
  grpc::ClientContext c;
  As(&c, "root-token");
  v1::AdvanceClockRequest adv;
  adv.set_seconds(8 * 24 * 3600);
  v1::AdvanceClockResponse ar;
  ASSERT_TRUE(server_->admin().AdvanceClock(&c, adv, &ar).ok());
  // The writer's next trim (every --sweep_interval) drops the block.
  double kept = -1;
  for (int i = 0; i < 100 && (kept = Metric("wapolicy_decision_log_blocks")) != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(kept, 0);
  EXPECT_GE(Metric("wapolicy_decision_log_blocks_trimmed_total"), 1);
  v1::LoggedDecision got;
  grpc::Status s = Get(held.decision_id(), &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "retention")) << s.error_message();
}

TEST_F(DecisionLogTest, JsonAndPolicyctlExplainIt) {
  Start();
  const v1::Decision held = Hold();
  HttpClient http("http://127.0.0.1:" + std::to_string(server_->http_port()));
  HttpClient::Response r =
      http.Get("/v1/decisions/" + held.decision_id(), {"Authorization: Bearer acme-token"});
  ASSERT_EQ(r.status, 200) << r.body;
  v1::LoggedDecision got;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.body, &got).ok()) << r.body;
  EXPECT_TRUE(MessageDifferencer::Equals(got.decision(), held)) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "\"decisionId\":\"" + held.decision_id() + "\""))
      << r.body;
  r = http.Get("/v1/decisions/" + held.decision_id(), {"Authorization: Bearer globex-token"});
  EXPECT_EQ(r.status, 404) << r.body;
  r = http.Get("/v1/decisions/x1", {"Authorization: Bearer acme-token"});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, "decision_id")) << r.body;

  auto policyctl = [&](const std::string& args) {
    const std::string cmd = "cli/policyctl --server=" + server_->address() + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
  };
  auto [code, out] = policyctl("--token=acme-token explain " + held.decision_id());
  EXPECT_EQ(code, 0) << out;
  for (const std::string& want :
       {"decision " + held.decision_id() + " at 2026-01-01 00:00:00.000 UTC",
        std::string("+14155550100 to +447700900001"), std::string("template t (en), UTILITY"),
        std::string("message id pipeline-msg-7"), std::string("HOLD  NOT_OPTED_IN"),
        "why:        " + held.detail(), std::string("brief-2023")}) {
    EXPECT_TRUE(absl::StrContains(out, want)) << want << " in\n" << out;
  }
  std::tie(code, out) = policyctl("--token=globex-token explain " + held.decision_id());
  EXPECT_EQ(code, 1) << out;
  EXPECT_TRUE(absl::StrContains(out, "NOT_FOUND")) << out;
  std::tie(code, out) = policyctl("--token=acme-token explain");
  EXPECT_EQ(code, 2) << out;
  EXPECT_TRUE(absl::StrContains(out, "explain takes one decision id")) << out;
}

TEST_F(DecisionLogTest, OffMeansBootIdsAndGetDecisionRefused) {
  Start({"--decision_log=false"});
  const v1::Decision held = MustCheck(TemplateCheck(kAcme, "+447700900001"));
  EXPECT_TRUE(absl::StrContains(held.decision_id(), "-")) << held.decision_id();
  v1::LoggedDecision got;
  EXPECT_EQ(Get("1024", &got).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace wapolicy
