// The platform's word through the real server: a number onboarded at its
// real limit, SyncNumber's rating over the engine's estimate and the rules
// that follow it, both sides shown in GetNumberState, and policyctl sync.

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kBiz[] = "+14155550100";
std::string Customer(int i) { return absl::StrCat("+4477009", 10000 + i); }

class PlatformWordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Thousands are admitted in one instant of the fake clock: the
    // per-second limits are off here (tests/rates_test.cc has them).
    const std::string dir = MakeTempDir("platform");
    std::ofstream(dir + ".config") << "throughput_mps: 0 pair_rate_enabled: false";
    server_ = std::make_unique<ServerProcess>(
        dir, std::vector<std::string>{"--fake_clock=2026-01-01T00:00:00Z",
                                      "--config=" + dir + ".config"});
    ASSERT_TRUE(server_->Start());
    ASSERT_TRUE(SetUpBusiness(*server_, "acme", {}).ok());
  }
  grpc::Status Register(std::optional<int64_t> current_limit) {
    grpc::ClientContext c;
    v1::RegisterNumberRequest r;
    r.set_business_number(kBiz);
    r.set_business_id("acme");
    if (current_limit) r.set_current_limit(*current_limit);
    v1::RegisterNumberResponse out;
    return server_->admin().RegisterNumber(&c, r, &out);
  }
  grpc::Status Sync(const v1::SyncNumberRequest& r) {
    grpc::ClientContext c;
    v1::SyncNumberResponse out;
    return server_->admin().SyncNumber(&c, r, &out);
  }
  grpc::Status Event(const std::string& customer, bool opt_in) {
    grpc::ClientContext c;
    v1::EventRequest e;
    e.set_business_number(kBiz);
    e.set_customer(customer);
    if (opt_in) {
      e.mutable_opt_in()->set_source(v1::WEBSITE);
    } else {
      e.mutable_delivered();
    }
    v1::EventResponse out;
    return server_->service().ReportEvent(&c, e, &out);
  }
  void PutPromo() {
    grpc::ClientContext pc;
    v1::Template promo;
    promo.set_business_id("acme");
    promo.set_name("promo");
    promo.set_language("en");
    promo.set_category(v1::MARKETING);
    promo.set_status(v1::APPROVED);
    promo.set_body("Sale!");
    promo.set_footer("Reply STOP to opt out");
    v1::PutTemplateResponse pr;
    ASSERT_TRUE(server_->admin().PutTemplate(&pc, promo, &pr).ok());
  }
  v1::Decision CheckPromo(const std::string& customer) {
    grpc::ClientContext cc;
    v1::CheckRequest r;
    r.set_business_number(kBiz);
    r.set_customer(customer);
    r.mutable_template_message()->set_name("promo");
    r.mutable_template_message()->set_language("en");
    v1::Decision d;
    EXPECT_TRUE(server_->service().Check(&cc, r, &d).ok());
    return d;
  }
  // Opts in, admits and delivers customers [from, from + n); returns admissions.
  int Send(int from, int n) {
    v1::CheckBatchRequest batch;
    for (int i = from; i < from + n; ++i) {
      EXPECT_TRUE(Event(Customer(i), /*opt_in=*/true).ok());
      v1::CheckRequest* r = batch.add_checks();
      r->set_business_number(kBiz);
      r->set_customer(Customer(i));
      r->mutable_template_message()->set_name("t");
      r->mutable_template_message()->set_language("en");
    }
    grpc::ClientContext c;
    v1::CheckBatchResponse out;
    EXPECT_TRUE(server_->service().CheckBatch(&c, batch, &out).ok());
    int allowed = 0;
    for (int i = 0; i < out.results_size(); ++i) {
      if (out.results(i).decision().allowed()) {
        ++allowed;
        EXPECT_TRUE(Event(Customer(from + i), /*opt_in=*/false).ok());
      }
    }
    return allowed;
  }
  v1::NumberState State() {
    v1::NumberState st;
    EXPECT_TRUE(NumberStateOf(*server_, kBiz, &st).ok());
    return st;
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(PlatformWordTest, ANumberOnboardsAt100000AndKeepsItAcrossARestart) {
  ASSERT_TRUE(Register(100000).ok());
  EXPECT_EQ(Send(0, 1200), 1200) << "a new number would stop at 1,000";
  v1::NumberState st = State();
  EXPECT_EQ(st.limit(), 100000);
  ASSERT_TRUE(st.has_platform_limit());
  EXPECT_EQ(st.platform_limit(), 100000);
  server_->Kill(SIGKILL);
  ASSERT_TRUE(server_->Start());
  EXPECT_EQ(State().limit(), 100000);
  EXPECT_EQ(Register(0).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PlatformWordTest, APlatformRedOverAnEstimatedHighIsTheRatingTheRulesUse) {
  ASSERT_TRUE(Register(std::nullopt).ok());
  ASSERT_EQ(Send(0, 500), 500);  // Half the limit: an upgrade is scheduled.
  ASSERT_TRUE(State().upgrade_pending());
  v1::SyncNumberRequest red;
  red.set_business_number(kBiz);
  red.set_quality(v1::LOW);
  ASSERT_TRUE(Sync(red).ok());
  v1::NumberState st = State();
  EXPECT_EQ(st.quality(), v1::LOW);
  EXPECT_EQ(st.platform_quality(), v1::LOW);
  EXPECT_EQ(st.estimated_quality(), v1::HIGH);
  EXPECT_GT(st.platform_quality_at_unix_ms(), 0);
  EXPECT_TRUE(st.flagged()) << "the brief's profile flags a number that turns Low";
  EXPECT_FALSE(st.upgrade_pending()) << "no upgrade while the platform rates it Low";
  // An empty report and a bad value are refused, naming what to set.
  v1::SyncNumberRequest empty;
  empty.set_business_number(kBiz);
  grpc::Status s = Sync(empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::SyncNumberRequest bad = red;
  bad.set_throughput_mps(-1);
  s = Sync(bad);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("throughput_mps"), std::string::npos) << s.error_message();
}

TEST_F(PlatformWordTest, ARestrictionHoldsNewConversationsWithTheCode368) {
  ASSERT_TRUE(Register(std::nullopt).ok());
  v1::SyncNumberRequest r;
  r.set_business_number(kBiz);
  r.set_restricted_until_unix_ms(1767225600000LL + 3600 * 1000);
  ASSERT_TRUE(Sync(r).ok());
  EXPECT_EQ(Send(0, 3), 0);
  v1::NumberState st = State();
  EXPECT_EQ(st.restricted_until_unix_ms(), 1767225600000LL + 3600 * 1000);
}

TEST_F(PlatformWordTest, ARedTemplateIsPausedWith132015UntilItsUnpauseTime) {
  ASSERT_TRUE(Register(std::nullopt).ok());
  ASSERT_TRUE(Event(Customer(1), /*opt_in=*/true).ok());
  grpc::ClientContext c;
  v1::UpdateTemplateQualityRequest q;
  q.set_business_id("acme");
  q.set_name("t");
  q.set_language("en");
  q.set_quality(v1::RED);
  v1::UpdateTemplateQualityResponse qr;
  ASSERT_TRUE(server_->admin().UpdateTemplateQuality(&c, q, &qr).ok());
  grpc::ClientContext cc;
  v1::CheckRequest r;
  r.set_business_number(kBiz);
  r.set_customer(Customer(1));
  r.mutable_template_message()->set_name("t");
  r.mutable_template_message()->set_language("en");
  v1::Decision d;
  ASSERT_TRUE(server_->service().Check(&cc, r, &d).ok());
  EXPECT_EQ(d.reason(), v1::TEMPLATE_PAUSED);
  EXPECT_EQ(d.platform_error_code(), 132015);
  EXPECT_EQ(d.retry_after_unix_ms(), 1767225600000LL + 3 * 3600 * 1000);
  grpc::ClientContext gc;
  v1::GetTemplateRequest g;
  g.set_business_id("acme");
  g.set_name("t");
  g.set_language("en");
  v1::Template t;
  ASSERT_TRUE(server_->admin().GetTemplate(&gc, g, &t).ok());
  EXPECT_EQ(t.quality(), v1::RED);
  EXPECT_EQ(t.red_pauses(), 1);
  EXPECT_EQ(t.paused_until_unix_ms(), 1767225600000LL + 3 * 3600 * 1000);
}

TEST_F(PlatformWordTest, AFailureWith131049HoldsMarketingToTheCustomerFor24Hours) {
  ASSERT_TRUE(Register(std::nullopt).ok());
  PutPromo();
  const std::string ca = "+14165550123";  // Canadian: held (a US number gets no marketing at all).
  ASSERT_TRUE(Event(ca, /*opt_in=*/true).ok());
  grpc::ClientContext fc;
  v1::EventRequest failed;
  failed.set_business_number(kBiz);
  failed.set_customer(ca);
  failed.mutable_delivery_failed()->set_error_code(131049);
  v1::EventResponse fr;
  ASSERT_TRUE(server_->service().ReportEvent(&fc, failed, &fr).ok());
  const v1::Decision d = CheckPromo(ca);
  EXPECT_EQ(d.reason(), v1::MARKETING_HELD);
  EXPECT_EQ(d.platform_error_code(), 131049);
  EXPECT_EQ(d.retry_after_unix_ms(), 1767225600000LL + 24 * 3600 * 1000);
}

TEST_F(PlatformWordTest, NoMarketingTemplatesToUsNumbersButToCanadaAndTheCaribbean) {
  ASSERT_TRUE(Register(std::nullopt).ok());
  PutPromo();
  const std::string us = "+12125550100", ca = "+14165550123", jamaica = "+18765551234";
  for (const std::string& c : {us, ca, jamaica}) ASSERT_TRUE(Event(c, /*opt_in=*/true).ok());
  v1::Decision d = CheckPromo(us);
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason(), v1::MARKETING_BLOCKED_REGION);
  EXPECT_EQ(d.platform_error_code(), 131049);
  EXPECT_EQ(d.retry_after_unix_ms(), 0);
  EXPECT_NE(d.detail().find("US numbers"), std::string::npos) << d.detail();
  EXPECT_TRUE(CheckPromo(ca).allowed());
  EXPECT_TRUE(CheckPromo(jamaica).allowed());
  // Inside a service window the US customer started, marketing may go.
  grpc::ClientContext ic;
  v1::EventRequest inbound;
  inbound.set_business_number(kBiz);
  inbound.set_customer(us);
  inbound.mutable_inbound()->set_text("any offers?");
  v1::EventResponse ir;
  ASSERT_TRUE(server_->service().ReportEvent(&ic, inbound, &ir).ok());
  d = CheckPromo(us);
  EXPECT_TRUE(d.allowed()) << d.detail();
  EXPECT_EQ(d.effect(), v1::OPENS_USER_INITIATED);
}

// policyctl sync and state: the platform's word and the estimate side by side.
std::string Policyctl(const std::string& args) {
  FILE* p = popen(("cli/policyctl " + args + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST_F(PlatformWordTest, PolicyctlSyncsANumberAndShowsPlatformAndEstimate) {
  ASSERT_TRUE(Register(std::nullopt).ok());
  const std::string s = "--server=" + server_->address() + " ";
  std::string out = Policyctl(s + "sync --number=" + kBiz + " --quality=yellow --limit=10000");
  EXPECT_NE(out.find("ok"), std::string::npos) << out;
  out = Policyctl(s + "state --number=" + kBiz);
  EXPECT_NE(out.find("MEDIUM (platform's"), std::string::npos) << out;
  EXPECT_NE(out.find("estimate HIGH"), std::string::npos) << out;
  EXPECT_NE(out.find("limit:      10000"), std::string::npos) << out;
  EXPECT_NE(out.find("limit from: platform's"), std::string::npos) << out;
  out = Policyctl(s + "sync --number=" + kBiz + " --quality=purple");
  EXPECT_NE(out.find("--quality"), std::string::npos) << out;
  out = Policyctl(s +
                  "template-quality --business=acme --name=t --language=en --template_quality=red");
  EXPECT_NE(out.find("ok"), std::string::npos) << out;
  out =
      Policyctl(s + "check --name=t --language=en --number=" + kBiz + " --customer=+447700900001");
  EXPECT_NE(out.find("TEMPLATE_PAUSED"), std::string::npos) << out;
}

}  // namespace
}  // namespace wapolicy
