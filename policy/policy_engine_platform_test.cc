// The platform's word through the PolicyEngine facade: SyncNumber and
// RegisterNumber's current limit, and the rules that follow them.
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "policy/policy_engine.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00Z
const PhoneNumber kBiz = Num("+14155550100");
PhoneNumber Customer(int i) { return PhoneNumber::FromDigitsValue(447700000000ULL + i); }

class EnginePlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = std::make_unique<PolicyEngine>(NoRates(DefaultProfile()), &clock_, &journal_, 4);
    ASSERT_TRUE(engine_->UpsertBusiness("acme", true, false).ok());
    MessageTemplate t{"order_update", "en_US", TemplateCategory::kUtility,
                      TemplateStatus::kApproved};
    ASSERT_TRUE(engine_->PutTemplate("acme", t).ok());
  }
  OutgoingMessage Template(PhoneNumber c) {
    OutgoingMessage m;
    m.business_number = kBiz;
    m.customer = c;
    m.template_name = "order_update";
    m.template_language = "en_US";
    return m;
  }
  // Opts `n` customers in and admits each.
  int Admit(int from, int n) {
    int allowed = 0;
    for (int i = from; i < from + n; ++i) {
      EXPECT_TRUE(engine_->RecordOptIn(kBiz, Customer(i), OptInSource::kSms).ok());
      allowed += engine_->Check(Template(Customer(i)))->allowed;
    }
    return allowed;
  }

  ManualClock clock_{kT0};
  MemoryJournal journal_;
  std::unique_ptr<PolicyEngine> engine_;
};

TEST_F(EnginePlatformTest, ANumberOnboardsAtTheLimitThePlatformReported) {
  ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme", 100000).ok());
  NumberSnapshot s = engine_->GetNumberState(kBiz).value();
  EXPECT_EQ(s.limit, 100000);
  EXPECT_TRUE(s.platform_limit.set);
  EXPECT_EQ(Admit(0, 1500), 1500) << "past the 1,000 a new number would start at";
  // It survives a restart.
  PolicyEngine restored(NoRates(DefaultProfile()), &clock_, nullptr, 4);
  ASSERT_TRUE(journal_.RestoreInto(restored).ok());
  EXPECT_EQ(restored.GetNumberState(kBiz)->limit, 100000);
}

TEST_F(EnginePlatformTest, ARefusedCurrentLimitLeavesNoNumberBehind) {
  EXPECT_EQ(engine_->RegisterNumber(kBiz, "acme", 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(engine_->BusinessOf(kBiz).ok());
  EXPECT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());
}

TEST_F(EnginePlatformTest, APlatformLimitBelowTheEstimateHoldsAdmissions) {
  ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());
  PlatformReport r;
  r.messaging_limit = 250;
  ASSERT_TRUE(engine_->SyncNumber(kBiz, r).ok());
  EXPECT_EQ(Admit(0, 300), 250);
  NumberSnapshot s = engine_->GetNumberState(kBiz).value();
  EXPECT_EQ(s.limit, 250);
  EXPECT_EQ(s.estimated_limit, 1000);  // The nearest ladder level, as a forecast.
}

TEST_F(EnginePlatformTest, APlatformRedOverAnEstimatedHighFlagsAndStopsTheUpgrade) {
  ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());
  // Earn an upgrade: half the limit in unique customers, delivered.
  ASSERT_EQ(Admit(0, 500), 500);
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(engine_->RecordDelivered(kBiz, Customer(i)).ok());
  ASSERT_GE(engine_->GetNumberState(kBiz)->pending_level, 0);
  PlatformReport red;
  red.quality = QualityRating::kLow;
  ASSERT_TRUE(engine_->SyncNumber(kBiz, red).ok());
  NumberSnapshot s = engine_->GetNumberState(kBiz).value();
  EXPECT_EQ(s.quality, QualityRating::kLow);
  EXPECT_EQ(s.estimated_quality, QualityRating::kHigh);
  EXPECT_TRUE(s.flagged);
  EXPECT_LT(s.pending_level, 0) << "no upgrade while the platform rates the number Low";
  clock_.Advance(absl::Hours(25));
  EXPECT_EQ(engine_->GetNumberState(kBiz)->limit, 1000);
  // Blocks no longer move the rating the rules use: the platform's stands.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(engine_->RecordSignal(kBiz, Customer(i), SignalKind::kBlockSpam).ok());
  }
  EXPECT_EQ(engine_->GetNumberState(kBiz)->quality, QualityRating::kLow);
}

TEST_F(EnginePlatformTest, ARestrictionHoldsNewConversationsUntilItEndsAndDisabledHoldsAll) {
  ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());
  ASSERT_EQ(Admit(0, 1), 1);
  PlatformReport r;
  r.restricted_until_us = absl::ToUnixMicros(kT0 + absl::Hours(2));
  ASSERT_TRUE(engine_->SyncNumber(kBiz, r).ok());
  ASSERT_TRUE(engine_->RecordOptIn(kBiz, Customer(1), OptInSource::kSms).ok());
  Decision d = engine_->Check(Template(Customer(1))).value();
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kAccountRestricted);
  EXPECT_EQ(PlatformErrorCode(d.reason), 368);
  EXPECT_EQ(d.retry_after, kT0 + absl::Hours(2));
  EXPECT_TRUE(engine_->Check(Template(Customer(0)))->allowed) << "inside an open conversation";
  clock_.Advance(absl::Hours(2));
  EXPECT_TRUE(engine_->Check(Template(Customer(1)))->allowed);
  PlatformReport off;
  off.disabled = true;
  ASSERT_TRUE(engine_->SyncNumber(kBiz, off).ok());
  d = engine_->Check(Template(Customer(0))).value();
  EXPECT_EQ(d.reason, ReasonCode::kAccountDisabled);
}

TEST_F(EnginePlatformTest, ARedTemplateIsPausedThreeHoursThenSixAndTheThirdRedDisablesIt) {
  ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());
  ASSERT_TRUE(
      engine_->UpdateTemplateQuality("acme", "order_update", "en_US", TemplateQuality::kRed).ok());
  ASSERT_TRUE(engine_->RecordOptIn(kBiz, Customer(1), OptInSource::kSms).ok());
  Decision d = engine_->Check(Template(Customer(1))).value();
  EXPECT_EQ(d.reason, ReasonCode::kTemplatePaused);
  EXPECT_EQ(PlatformErrorCode(d.reason), 132015);
  EXPECT_EQ(d.retry_after, kT0 + absl::Hours(3));
  EXPECT_EQ(engine_->GetNumberState(kBiz)->used, 0) << "a paused send takes no slot";
  // The pause survives a restart.
  PolicyEngine restored(NoRates(DefaultProfile()), &clock_, nullptr, 4);
  ASSERT_TRUE(journal_.RestoreInto(restored).ok());
  EXPECT_EQ(restored.Check(Template(Customer(1)))->reason, ReasonCode::kTemplatePaused);
  clock_.Advance(absl::Hours(3));
  EXPECT_TRUE(engine_->Check(Template(Customer(1)))->allowed);
  ASSERT_TRUE(
      engine_->UpdateTemplateQuality("acme", "order_update", "en_US", TemplateQuality::kGreen)
          .ok());
  ASSERT_TRUE(
      engine_->UpdateTemplateQuality("acme", "order_update", "en_US", TemplateQuality::kRed).ok());
  EXPECT_EQ(engine_->Check(Template(Customer(1)))->retry_after, clock_.Now() + absl::Hours(6));
  ASSERT_TRUE(engine_
                  ->UpdateTemplateQuality("acme", "order_update", "en_US", std::nullopt,
                                          /*lift_pause=*/true)
                  .ok());
  EXPECT_TRUE(engine_->Check(Template(Customer(1)))->allowed) << "UNPAUSE lifted it";
  ASSERT_TRUE(
      engine_->UpdateTemplateQuality("acme", "order_update", "en_US", TemplateQuality::kYellow)
          .ok());
  ASSERT_TRUE(
      engine_->UpdateTemplateQuality("acme", "order_update", "en_US", TemplateQuality::kRed).ok());
  EXPECT_EQ(engine_->Check(Template(Customer(1)))->reason, ReasonCode::kTemplateDisabled);
  EXPECT_EQ(engine_->UpdateTemplateQuality("acme", "nope", "en_US", TemplateQuality::kRed).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(EnginePlatformTest, ARejectedTemplateIsRefusedUntilApprovedAgainAndSurvivesARestart) {
  ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());
  ASSERT_TRUE(engine_->RecordOptIn(kBiz, Customer(1), OptInSource::kSms).ok());
  TemplateWord rejected;
  rejected.status = TemplateStatus::kRejected;
  ASSERT_TRUE(engine_->UpdateTemplate("acme", "order_update", "en_US", rejected).ok());
  EXPECT_FALSE(engine_->Check(Template(Customer(1)))->allowed);
  EXPECT_EQ(engine_->GetTemplate("acme", "order_update", "en_US")->status,
            TemplateStatus::kRejected);
  PolicyEngine restored(NoRates(DefaultProfile()), &clock_, nullptr, 4);
  ASSERT_TRUE(journal_.RestoreInto(restored).ok());
  EXPECT_FALSE(restored.Check(Template(Customer(1)))->allowed) << "the status was journaled";
  TemplateWord approved;
  approved.status = TemplateStatus::kApproved;
  ASSERT_TRUE(engine_->UpdateTemplate("acme", "order_update", "en_US", approved).ok());
  EXPECT_TRUE(engine_->Check(Template(Customer(1)))->allowed);
}

TEST_F(EnginePlatformTest, AMarketingStopRefusesMarketingOnlyUntilResumedAndSurvivesARestart) {
  ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());
  MessageTemplate promo{"promo", "en_US", TemplateCategory::kMarketing, TemplateStatus::kApproved};
  promo.footer = "Reply STOP to opt out";
  ASSERT_TRUE(engine_->PutTemplate("acme", promo).ok());
  const PhoneNumber c = Customer(1);
  ASSERT_TRUE(engine_->RecordOptIn(kBiz, c, OptInSource::kSms).ok());
  OutgoingMessage m = Template(c);
  m.template_name = "promo";
  m.dry_run = true;
  ASSERT_TRUE(engine_->Check(m)->allowed);
  ASSERT_TRUE(engine_->RecordMarketingPreference(kBiz, c, /*stopped=*/true).ok());
  Decision d = engine_->Check(m).value();
  EXPECT_EQ(d.reason, ReasonCode::kOptedOut);
  EXPECT_EQ(PlatformErrorCode(d.reason), 131050);
  EXPECT_TRUE(engine_->Check(Template(c))->allowed) << "utility is not marketing";
  // Inside the customer's service window too (the platform refuses it there).
  ASSERT_TRUE(engine_->RecordInbound(kBiz, c, "hi").ok());
  EXPECT_EQ(engine_->Check(m)->reason, ReasonCode::kOptedOut);
  PolicyEngine restored(NoRates(DefaultProfile()), &clock_, nullptr, 4);
  ASSERT_TRUE(journal_.RestoreInto(restored).ok());
  EXPECT_EQ(restored.Check(m)->reason, ReasonCode::kOptedOut) << "journaled";
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(engine_->RecordMarketingPreference(kBiz, c, /*stopped=*/false).ok());
  EXPECT_TRUE(engine_->Check(m)->allowed);
  // A delivery failure with 131050 is the platform saying "stopped".
  clock_.Advance(absl::Minutes(1));
  OutgoingMessage send = m;
  send.dry_run = false;
  send.customer = Customer(2);
  ASSERT_TRUE(engine_->RecordOptIn(kBiz, Customer(2), OptInSource::kSms).ok());
  ASSERT_TRUE(engine_->Check(send)->allowed);
  ASSERT_TRUE(engine_->RecordDeliveryFailed(kBiz, Customer(2), {}, 131050).ok());
  EXPECT_EQ(engine_->Check(send)->reason, ReasonCode::kOptedOut);
}

TEST_F(EnginePlatformTest, A131049FailureHoldsMarketingToTheCustomerFor24Hours) {
  ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());
  MessageTemplate promo{"promo", "en_US", TemplateCategory::kMarketing, TemplateStatus::kApproved};
  promo.footer = "Reply STOP to opt out";
  ASSERT_TRUE(engine_->PutTemplate("acme", promo).ok());
  auto promo_to = [&](PhoneNumber c) {
    OutgoingMessage m = Template(c);
    m.template_name = "promo";
    return engine_->Check(m).value();
  };
  // A Canadian customer: the hold applies (a US one gets no marketing at all).
  const PhoneNumber ca = Num("+14165550123"), uk = Num("+447700900123");
  for (PhoneNumber c : {ca, uk}) {
    ASSERT_TRUE(engine_->RecordOptIn(kBiz, c, OptInSource::kSms).ok());
    ASSERT_TRUE(engine_->RecordDeliveryFailed(kBiz, c, {}, 131049).ok());
  }
  Decision d = promo_to(ca);
  EXPECT_EQ(d.reason, ReasonCode::kMarketingHeld);
  EXPECT_EQ(PlatformErrorCode(d.reason), 131049);
  EXPECT_EQ(d.retry_after, kT0 + absl::Hours(24));
  EXPECT_TRUE(engine_->Check(Template(ca))->allowed) << "utility templates are not held";
  EXPECT_TRUE(promo_to(uk).allowed) << "the platform does not apply the limit in the UK";
  // Inside a service window the customer started, marketing is not held.
  ASSERT_TRUE(engine_->RecordInbound(kBiz, ca, "hi").ok());
  EXPECT_TRUE(promo_to(ca).allowed);
  clock_.Advance(absl::Hours(25));  // The window has closed and the hold lapsed.
  EXPECT_TRUE(promo_to(ca).allowed);
}

TEST_F(EnginePlatformTest, NoMarketingTemplatesToUsNumbersOutsideTheirServiceWindow) {
  ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());
  MessageTemplate promo{"promo", "en_US", TemplateCategory::kMarketing, TemplateStatus::kApproved};
  promo.footer = "Reply STOP to opt out";
  ASSERT_TRUE(engine_->PutTemplate("acme", promo).ok());
  auto promo_to = [&](PhoneNumber c) {
    OutgoingMessage m = Template(c);
    m.template_name = "promo";
    return engine_->Check(m).value();
  };
  const PhoneNumber us = Num("+12125550100"), ca = Num("+14165550123"),
                    bahamas = Num("+12423571234");
  for (PhoneNumber c : {us, ca, bahamas}) {
    ASSERT_TRUE(engine_->RecordOptIn(kBiz, c, OptInSource::kSms).ok());
  }
  const Decision d = promo_to(us);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kMarketingBlockedRegion);
  EXPECT_EQ(PlatformErrorCode(d.reason), 131049);
  EXPECT_EQ(d.used, 0) << "a refused template takes no slot";
  EXPECT_TRUE(promo_to(ca).allowed);
  EXPECT_TRUE(promo_to(bahamas).allowed);
  EXPECT_TRUE(engine_->Check(Template(us))->allowed) << "utility templates go to the US";
  // The customer wrote: marketing inside the window they started is exempt.
  ASSERT_TRUE(engine_->RecordInbound(kBiz, us, "any offers?").ok());
  EXPECT_TRUE(promo_to(us).allowed);
  clock_.Advance(absl::Hours(24));  // The window closed.
  EXPECT_EQ(promo_to(us).reason, ReasonCode::kMarketingBlockedRegion);

  // The profile's switch off: allowed.
  PolicyProfile off = NoRates(DefaultProfile());
  off.us_marketing_blocked = false;
  MemoryJournal journal;
  PolicyEngine engine(off, &clock_, &journal, 1);
  ASSERT_TRUE(engine.UpsertBusiness("acme", true, false).ok());
  ASSERT_TRUE(engine.RegisterNumber(kBiz, "acme").ok());
  ASSERT_TRUE(engine.PutTemplate("acme", promo).ok());
  ASSERT_TRUE(engine.RecordOptIn(kBiz, us, OptInSource::kSms).ok());
  OutgoingMessage m = Template(us);
  m.template_name = "promo";
  EXPECT_TRUE(engine.Check(m)->allowed);
}

TEST_F(EnginePlatformTest, ALateReportOlderThanTheOneOnRecordChangesNothing) {
  ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());
  PlatformReport r;
  r.messaging_limit = 10000;
  ASSERT_TRUE(engine_->SyncNumber(kBiz, r).ok());
  r.messaging_limit = 1000;
  ASSERT_TRUE(engine_->SyncNumber(kBiz, r, {absl::ToUnixMicros(kT0 - absl::Hours(1)), ""}).ok());
  EXPECT_EQ(engine_->GetNumberState(kBiz)->limit, 10000);
}

}  // namespace
}  // namespace wapolicy
