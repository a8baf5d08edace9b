// Shadow mode (shadow_mode.h), family by family: a shadowed rule answers
// allowed with the would-be reason, the rules after it still apply, state
// moves as if the message were sent; an unshadowed family still holds.

#include <memory>

#include "gtest/gtest.h"
#include "policy/policy_engine.h"
#include "policy/shadow_mode.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00Z
const PhoneNumber kBiz = Num("+14155550100");
const PhoneNumber kOther = Num("+14155550200");

PhoneNumber Customer(int i) { return PhoneNumber::FromDigitsValue(447700000000ULL + i); }

TEST(ShadowSetTest, ParsesFamiliesAllAndNoneAndNamesTheUnknownOne) {
  EXPECT_EQ(*ParseShadowSet(""), kShadowNone);
  EXPECT_EQ(*ParseShadowSet("all"), kShadowAll);
  const ShadowSet s = *ParseShadowSet("limit, frequency_cap");
  EXPECT_TRUE(Shadowed(s, ReasonCode::kLimitReached));
  EXPECT_TRUE(Shadowed(s, ReasonCode::kFrequencyCapped));
  EXPECT_FALSE(Shadowed(s, ReasonCode::kNotOptedIn));
  EXPECT_FALSE(Shadowed(kShadowAll, ReasonCode::kAllowed));
  EXPECT_EQ(ShadowSetName(s), "limit,frequency_cap");
  EXPECT_EQ(*ParseShadowSet(ShadowSetName(s)), s);
  absl::StatusOr<ShadowSet> bad = ParseShadowSet("limit,opt_in");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'opt_in'"), std::string::npos);
  for (int r = 1; r < kReasonCodeCount; ++r) {  // Every hold has a family that names it.
    EXPECT_TRUE(Shadowed(kShadowAll, static_cast<ReasonCode>(r))) << r;
  }
}

class ShadowTest : public ::testing::Test {
 protected:
  void Start(PolicyProfile profile, ShadowSet acme_shadow, ShadowSet server_shadow = kShadowNone) {
    profile.shadow = server_shadow;
    engine_ = std::make_unique<PolicyEngine>(profile, &clock_, &journal_);
    ASSERT_TRUE(engine_->UpsertBusiness("acme", true, false, acme_shadow).ok());
    ASSERT_TRUE(engine_->UpsertBusiness("other", true, false).ok());
    ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());
    ASSERT_TRUE(engine_->RegisterNumber(kOther, "other").ok());
    for (const char* b : {"acme", "other"}) {
      ASSERT_TRUE(engine_
                      ->PutTemplate(b, {"order_update", "en_US", TemplateCategory::kUtility,
                                        TemplateStatus::kApproved})
                      .ok());
    }
  }
  OutgoingMessage Template(PhoneNumber c, PhoneNumber from = kBiz,
                           const char* name = "order_update") {
    OutgoingMessage m;
    m.business_number = from;
    m.customer = c;
    m.template_name = name;
    m.template_language = "en_US";
    return m;
  }
  Decision Check(const OutgoingMessage& m) {
    absl::StatusOr<Decision> d = engine_->Check(m);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : Decision();
  }
  void OptIn(PhoneNumber c, PhoneNumber from = kBiz) {
    ASSERT_TRUE(engine_->RecordOptIn(from, c, OptInSource::kWebsite).ok());
  }
  int64_t Used(PhoneNumber n = kBiz) { return engine_->GetNumberState(n)->used; }

  ManualClock clock_{kT0};
  MemoryJournal journal_;
  std::unique_ptr<PolicyEngine> engine_;
};

TEST_F(ShadowTest, ConsentShadowedAdmitsWithoutOptInAndTakesTheSlotOtherBusinessStillHeld) {
  Start(NoRates(DefaultProfile()), *ParseShadowSet("consent"));
  const Decision d = Check(Template(Customer(1)));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kAllowed);
  EXPECT_EQ(d.shadow_reason, ReasonCode::kNotOptedIn);
  EXPECT_FALSE(d.shadow_detail.empty());
  EXPECT_EQ(d.effect, ConversationEffect::kOpensBusinessInitiated);
  EXPECT_EQ(Used(), 1);  // State moved as if sent.
  // Another business, not in shadow mode, is held for the same reason.
  const Decision other = Check(Template(Customer(1), kOther));
  EXPECT_FALSE(other.allowed);
  EXPECT_EQ(other.reason, ReasonCode::kNotOptedIn);
  EXPECT_EQ(Used(kOther), 0);
}

TEST_F(ShadowTest, LimitShadowedGoesOverTheLimitWhileConsentStillHolds) {
  Start(NoRates(DefaultProfile()), *ParseShadowSet("limit"));
  PlatformReport two;
  two.messaging_limit = 2;
  ASSERT_TRUE(engine_->SyncNumber(kBiz, two).ok());
  for (int i = 1; i <= 3; ++i) OptIn(Customer(i));
  EXPECT_TRUE(Check(Template(Customer(1))).allowed);
  EXPECT_TRUE(Check(Template(Customer(2))).allowed);
  const Decision third = Check(Template(Customer(3)));
  EXPECT_TRUE(third.allowed);
  EXPECT_EQ(third.shadow_reason, ReasonCode::kLimitReached);
  EXPECT_EQ(Used(), 3);  // Over the limit of 2: what the platform would count.
  // Consent is not shadowed: a customer without an opt-in is still held.
  const Decision no_opt_in = Check(Template(Customer(4)));
  EXPECT_FALSE(no_opt_in.allowed);
  EXPECT_EQ(no_opt_in.reason, ReasonCode::kNotOptedIn);
}

TEST_F(ShadowTest, TheFirstShadowedReasonIsKeptAndLaterRulesStillHold) {
  // Consent shadowed, limit not: a customer without an opt-in over the limit
  // is held for the limit, the rule after the shadowed one.
  Start(NoRates(DefaultProfile()), *ParseShadowSet("consent"));
  PlatformReport one;
  one.messaging_limit = 1;
  ASSERT_TRUE(engine_->SyncNumber(kBiz, one).ok());
  EXPECT_TRUE(Check(Template(Customer(1))).allowed);
  const Decision d = Check(Template(Customer(2)));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kLimitReached);
}

TEST_F(ShadowTest, FrequencyCapShadowedCountsTheSendAndReportsTheCap) {
  PolicyProfile p = NoRates(DefaultProfile());
  p.frequency_cap_per_day = 1;
  Start(p, *ParseShadowSet("frequency_cap"));
  OptIn(Customer(1));
  EXPECT_TRUE(Check(Template(Customer(1))).allowed);
  const Decision second = Check(Template(Customer(1)));
  EXPECT_TRUE(second.allowed);
  EXPECT_EQ(second.shadow_reason, ReasonCode::kFrequencyCapped);
  EXPECT_EQ(second.retry_after, absl::InfinitePast());  // Allowed: nothing to wait for.
  EXPECT_EQ(second.effect, ConversationEffect::kReusesBusinessInitiated);
}

TEST_F(ShadowTest, OutsideTheServiceWindowShadowedIsAllowedButChangesNothing) {
  Start(NoRates(DefaultProfile()), *ParseShadowSet("service_window"));
  OutgoingMessage m;
  m.business_number = kBiz;
  m.customer = Customer(1);
  m.kind = MessageKind::kSession;
  const Decision d = Check(m);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.shadow_reason, ReasonCode::kOutsideServiceWindow);
  EXPECT_EQ(d.effect, ConversationEffect::kNone);
  EXPECT_EQ(Used(), 0);
}

TEST_F(ShadowTest, TemplateAndAccountFamiliesShadowed) {
  Start(NoRates(DefaultProfile()), *ParseShadowSet("template,account"));
  OptIn(Customer(1));
  OptIn(Customer(2));
  const Decision unknown = Check(Template(Customer(1), kBiz, "no_such_template"));
  EXPECT_TRUE(unknown.allowed);
  EXPECT_EQ(unknown.shadow_reason, ReasonCode::kTemplateUnknown);
  PlatformReport restricted;
  restricted.restricted_until_us = absl::ToUnixMicros(kT0 + absl::Hours(2));
  ASSERT_TRUE(engine_->SyncNumber(kBiz, restricted).ok());
  const Decision r = Check(Template(Customer(2)));
  EXPECT_TRUE(r.allowed);
  EXPECT_EQ(r.shadow_reason, ReasonCode::kAccountRestricted);
  EXPECT_EQ(Used(), 2);
}

TEST_F(ShadowTest, RatesShadowedSendNowAndServerWideShadowCoversEveryBusiness) {
  PolicyProfile p = DefaultProfile();
  p.throughput_mps = 1;
  p.pair_rate_enabled = false;
  Start(p, kShadowNone, /*server_shadow=*/*ParseShadowSet("rates"));
  OptIn(Customer(1), kOther);
  OptIn(Customer(2), kOther);
  EXPECT_TRUE(Check(Template(Customer(1), kOther)).allowed);
  const Decision second = Check(Template(Customer(2), kOther));
  EXPECT_TRUE(second.allowed);
  EXPECT_EQ(second.shadow_reason, ReasonCode::kThroughputLimited);
  EXPECT_EQ(second.send_at, absl::InfinitePast());  // Now, not paced.
}

TEST_F(ShadowTest, ABusinessShadowSetSurvivesARestore) {
  Start(NoRates(DefaultProfile()), *ParseShadowSet("consent"));
  PolicyEngine restored(NoRates(DefaultProfile()), &clock_);
  ASSERT_TRUE(journal_.RestoreInto(restored).ok());
  const absl::StatusOr<Decision> d = restored.Check(Template(Customer(9)));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(d->shadow_reason, ReasonCode::kNotOptedIn);
}

}  // namespace
}  // namespace wapolicy
