#include "policy/policy_engine.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00Z
const PhoneNumber kBiz = Num("+14155550100");
const PhoneNumber kBiz2 = Num("+14155550101");

PhoneNumber Customer(int i) { return PhoneNumber::FromDigitsValue(447700000000ULL + i); }

class EngineTest : public ::testing::Test {
 protected:
  void Start(PolicyProfile profile, bool verified = true) {
    // The tier rules admit thousands in one instant: rates are tested apart.
    engine_ = std::make_unique<PolicyEngine>(NoRates(std::move(profile)), &clock_, &journal_);
    ASSERT_TRUE(engine_->UpsertBusiness("acme", verified, false).ok());
    ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());
    MessageTemplate t{"order_update", "en_US", TemplateCategory::kUtility,
                      TemplateStatus::kApproved};
    ASSERT_TRUE(engine_->PutTemplate("acme", t).ok());
  }
  void SetUp() override { Start(DefaultProfile()); }

  OutgoingMessage Template(PhoneNumber c, PhoneNumber from = kBiz) {
    OutgoingMessage m;
    m.business_number = from;
    m.customer = c;
    m.kind = MessageKind::kTemplate;
    m.template_name = "order_update";
    m.template_language = "en_US";
    return m;
  }
  OutgoingMessage Session(PhoneNumber c, SessionType t = SessionType::kText) {
    OutgoingMessage m;
    m.business_number = kBiz;
    m.customer = c;
    m.kind = MessageKind::kSession;
    m.session_type = t;
    return m;
  }
  Decision Check(const OutgoingMessage& m) {
    auto d = engine_->Check(m);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : Decision();
  }
  void OptIn(PhoneNumber c, PhoneNumber from = kBiz) {
    ASSERT_TRUE(engine_->RecordOptIn(from, c, OptInSource::kWebsite).ok());
  }
  // Admits and delivers a new business-initiated conversation.
  void StartConversation(PhoneNumber c, PhoneNumber from = kBiz) {
    OptIn(c, from);
    Decision d = Check(Template(c, from));
    ASSERT_TRUE(d.allowed) << d.detail;
    auto o = engine_->RecordDelivered(from, c);
    ASSERT_TRUE(o.ok());
  }
  NumberSnapshot State(PhoneNumber n = kBiz) { return engine_->GetNumberState(n).value(); }
  void Block(int times, SignalKind kind = SignalKind::kBlockSpam) {
    for (int i = 0; i < times; ++i) {
      ASSERT_TRUE(engine_->RecordSignal(kBiz, Customer(900000 + i), kind).ok());
    }
  }

  ManualClock clock_{kT0};
  MemoryJournal journal_;
  std::unique_ptr<PolicyEngine> engine_;
};

PolicyProfile SmallLadder() {
  PolicyProfile p = DefaultProfile();
  p.name = "test-small";
  p.ladder = {2, 4, 8, 16, kUnlimited};
  p.verified_start_level = 0;
  return p;
}

// --- Opt-in ---------------------------------------------------------------

TEST_F(EngineTest, TemplateNeedsOptInAndOptOutIsImmediate) {
  const PhoneNumber c = Customer(1);
  Decision d = Check(Template(c));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kNotOptedIn);
  EXPECT_FALSE(d.detail.empty());

  ASSERT_TRUE(engine_->RecordOptIn(kBiz, c, OptInSource::kMissedCall).ok());
  EXPECT_EQ(engine_->GetConsent(kBiz, c)->source, OptInSource::kMissedCall);
  d = Check(Template(c));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.effect, ConversationEffect::kOpensBusinessInitiated);

  ASSERT_TRUE(engine_->RecordOptOut(kBiz, c).ok());
  d = Check(Template(c));  // Even inside the conversation just admitted.
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kOptedOut);
  EXPECT_EQ(PlatformErrorCode(d.reason), 131050);
}

TEST_F(EngineTest, OptInIsPerBusinessAcrossItsNumbers) {
  ASSERT_TRUE(engine_->RegisterNumber(kBiz2, "acme").ok());
  OptIn(Customer(1), kBiz);
  EXPECT_TRUE(Check(Template(Customer(1), kBiz2)).allowed);
}

// --- Customer-service window ---------------------------------------------

TEST_F(EngineTest, FreeFormOnlyInsideServiceWindowFromLatestUserMessage) {
  const PhoneNumber c = Customer(1);
  Decision d = Check(Session(c));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kOutsideServiceWindow);
  EXPECT_EQ(PlatformErrorCode(d.reason), 131047);

  ASSERT_TRUE(engine_->RecordInbound(kBiz, c).ok());
  d = Check(Session(c));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.effect, ConversationEffect::kOpensUserInitiated);
  EXPECT_EQ(d.service_window_ends, kT0 + absl::Hours(24));

  clock_.Advance(absl::Hours(20));
  ASSERT_TRUE(engine_->RecordInbound(kBiz, c).ok());  // The latest message restarts it.
  clock_.Advance(absl::Hours(23));
  EXPECT_TRUE(Check(Session(c)).allowed);
  clock_.Advance(absl::Hours(1));  // Exactly 24h after the latest user message.
  d = Check(Session(c));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kOutsideServiceWindow);
  // Templates are still allowed outside the window (with opt-in).
  OptIn(c);
  EXPECT_TRUE(Check(Template(c)).allowed);
}

TEST_F(EngineTest, UserInitiatedNeverCountAndWorkWhileRestricted) {
  Start(SmallLadder());
  StartConversation(Customer(1));
  StartConversation(Customer(2));
  EXPECT_EQ(State().status, NumberStatus::kRestricted);
  // A third customer writes: the reply is allowed and does not count.
  ASSERT_TRUE(engine_->RecordInbound(kBiz, Customer(3)).ok());
  Decision d = Check(Session(Customer(3)));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.effect, ConversationEffect::kOpensUserInitiated);
  EXPECT_EQ(d.used, 2);
  d = Check(Template(Customer(3)));  // A template reply inside the window: also free.
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.effect, ConversationEffect::kReusesUserInitiated);
  EXPECT_EQ(engine_->RecordDelivered(kBiz, Customer(3)).value(),
            DeliveryOutcome::kInUserConversation);
  EXPECT_EQ(State().used, 2);
}

// --- Conversations and limits ---------------------------------------------

TEST_F(EngineTest, ConversationStartsAtDeliveryLastsTwentyFourHoursAndIsFreeInside) {
  const PhoneNumber c = Customer(1);
  OptIn(c);
  ASSERT_TRUE(Check(Template(c)).allowed);
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(engine_->RecordDelivered(kBiz, c).value(), DeliveryOutcome::kStartedConversation);
  const absl::Time delivered = clock_.Now();
  clock_.Advance(absl::Hours(23));
  Decision d = Check(Template(c));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.effect, ConversationEffect::kReusesBusinessInitiated);
  EXPECT_EQ(d.conversation_ends, delivered + absl::Hours(24));
  EXPECT_EQ(d.used, 1);
  EXPECT_EQ(engine_->RecordDelivered(kBiz, c).value(), DeliveryOutcome::kInOpenConversation);
  clock_.Set(delivered + absl::Hours(24));
  d = Check(Template(c));
  EXPECT_EQ(d.effect, ConversationEffect::kOpensBusinessInitiated);  // A new one.
}

TEST_F(EngineTest, DefaultTierOneAllowsExactlyOneThousandUniqueCustomers) {
  for (int i = 0; i < 1000; ++i) {
    OptIn(Customer(i));
    Decision d = Check(Template(Customer(i)));
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 1000);
  }
  // Repeat customers are free; a new one is refused.
  EXPECT_TRUE(Check(Template(Customer(7))).allowed);
  OptIn(Customer(1000));
  Decision d = Check(Template(Customer(1000)));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kLimitReached);
  EXPECT_EQ(d.used, 1000);
  EXPECT_EQ(State().status, NumberStatus::kRestricted);
}

TEST_F(EngineTest, RestrictedLiftsAsConversationsExpireInRollingWindow) {
  Start(SmallLadder());
  StartConversation(Customer(1));
  clock_.Advance(absl::Hours(3));
  StartConversation(Customer(2));
  OptIn(Customer(3));
  Decision d = Check(Template(Customer(3)));
  ASSERT_FALSE(d.allowed);
  EXPECT_EQ(d.next_slot_free, kT0 + absl::Hours(24));
  clock_.Set(kT0 + absl::Hours(24) - absl::Microseconds(1));
  EXPECT_FALSE(Check(Template(Customer(3))).allowed);
  clock_.Set(kT0 + absl::Hours(24));
  d = Check(Template(Customer(3)));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.used, 2);
  // The earliest slot to free is now the new reservation, unless delivered.
  EXPECT_EQ(d.next_slot_free, clock_.Now() + engine_->profile().reservation_timeout);
  ASSERT_TRUE(engine_->RecordDelivered(kBiz, Customer(3)).ok());
  EXPECT_EQ(State().next_slot_free, kT0 + absl::Hours(27));
}

TEST_F(EngineTest, UnverifiedBusinessStartsLowerAndVerificationLiftsIt) {
  Start(DefaultProfile(), /*verified=*/false);
  EXPECT_EQ(State().limit, 250);
  ASSERT_TRUE(engine_->UpsertBusiness("acme", true, true).ok());
  NumberSnapshot s = State();
  EXPECT_EQ(s.limit, 1000);
  EXPECT_TRUE(s.official);
}

TEST_F(EngineTest, DryRunTakesNoSlot) {
  Start(SmallLadder());
  OptIn(Customer(1));
  OutgoingMessage m = Template(Customer(1));
  m.dry_run = true;
  Decision d = Check(m);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.used, 1);
  EXPECT_EQ(State().used, 0);
}

// --- Admission: reservations ----------------------------------------------

TEST_F(EngineTest, AdmissionCountsAtOnceAndFailureOrTimeoutReleases) {
  Start(SmallLadder());
  OptIn(Customer(1));
  OptIn(Customer(2));
  OptIn(Customer(3));
  ASSERT_TRUE(Check(Template(Customer(1))).allowed);
  ASSERT_TRUE(Check(Template(Customer(2))).allowed);
  EXPECT_EQ(State().pending, 2);
  EXPECT_FALSE(Check(Template(Customer(3))).allowed);  // Pending slots count.

  ASSERT_TRUE(engine_->RecordDeliveryFailed(kBiz, Customer(1)).ok());
  EXPECT_TRUE(Check(Template(Customer(3))).allowed);
  // Nothing awaits delivery for customer 1 any more.
  EXPECT_EQ(engine_->RecordDeliveryFailed(kBiz, Customer(1)).code(),
            absl::StatusCode::kFailedPrecondition);

  clock_.Advance(engine_->profile().reservation_timeout);  // Both reservations time out.
  EXPECT_EQ(State().used, 0);
  // A late delivery is still counted: the platform counts it.
  EXPECT_EQ(engine_->RecordDelivered(kBiz, Customer(2)).value(),
            DeliveryOutcome::kStartedUnadmitted);
  EXPECT_EQ(State().used, 1);
}

TEST_F(EngineTest, ConcurrentChecksNeverAdmitMoreThanTheLimit) {
  Start(SmallLadder());  // Limit 2 at level 0.
  for (int i = 0; i < 400; ++i) OptIn(Customer(i));
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 400; i += 8) {
        auto d = engine_->Check(Template(Customer(i)));
        if (d.ok() && d->allowed) allowed++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 2);
  EXPECT_EQ(State().used, 2);
}

// --- Templates --------------------------------------------------------------

TEST_F(EngineTest, OnlyApprovedTemplatesMaySend) {
  OptIn(Customer(1));
  OutgoingMessage m = Template(Customer(1));
  m.template_name = "promo";
  EXPECT_EQ(Check(m).reason, ReasonCode::kTemplateUnknown);
  struct Case {
    TemplateStatus status;
    ReasonCode reason;
  } cases[] = {{TemplateStatus::kPending, ReasonCode::kTemplateNotApproved},
               {TemplateStatus::kRejected, ReasonCode::kTemplateNotApproved},
               {TemplateStatus::kPaused, ReasonCode::kTemplatePaused},
               {TemplateStatus::kDisabled, ReasonCode::kTemplateDisabled},
               {TemplateStatus::kApproved, ReasonCode::kAllowed}};
  for (const Case& c : cases) {
    MessageTemplate promo{"promo", "en_US", TemplateCategory::kMarketing, c.status};
    promo.footer = "Reply STOP to unsubscribe";
    ASSERT_TRUE(engine_->PutTemplate("acme", promo).ok());
    Decision d = Check(m);
    EXPECT_EQ(d.reason, c.reason) << TemplateStatusName(c.status);
    EXPECT_EQ(d.allowed, c.reason == ReasonCode::kAllowed);
  }
  EXPECT_EQ(PlatformErrorCode(ReasonCode::kTemplatePaused), 132015);
  EXPECT_EQ(PlatformErrorCode(ReasonCode::kTemplateDisabled), 132016);
}

// --- Quality, status and tiers -------------------------------------------

TEST_F(EngineTest, UpgradeWorkedExampleOneThousandToTenThousandTwentyFourHoursLater) {
  // 500 unique customers in 7 days at 1,000 with Medium quality.
  Block(4);  // Score 12: Medium.
  for (int i = 0; i < 499; ++i) {
    StartConversation(Customer(i));
    if (i % 100 == 99) clock_.Advance(absl::Hours(1));
  }
  EXPECT_EQ(State().quality, QualityRating::kMedium);
  EXPECT_EQ(State().pending_level, -1);
  StartConversation(Customer(499));  // The 500th unique customer.
  NumberSnapshot s = State();
  const absl::Time upgraded_at = clock_.Now() + absl::Hours(24);
  EXPECT_EQ(s.limit, 1000);
  EXPECT_EQ(s.pending_limit, 10000);
  EXPECT_EQ(s.pending_at, upgraded_at);
  clock_.Set(upgraded_at - absl::Seconds(1));
  EXPECT_EQ(State().limit, 1000);
  clock_.Set(upgraded_at);
  EXPECT_EQ(State().limit, 10000);
}

TEST_F(EngineTest, NoUpgradeWithLowQualityOrTooFewCustomers) {
  // Quality below the minimum, the number not Flagged (a Flagged number is
  // refused for being Flagged): with Flagged off, a Low rating...
  PolicyProfile no_flag = SmallLadder();  // Limit 2: upgrade needs 1 unique customer.
  no_flag.flagged_enabled = false;
  Start(no_flag);
  Block(10);  // Score 30: Low.
  ASSERT_EQ(State().quality, QualityRating::kLow);
  ASSERT_FALSE(State().flagged);
  StartConversation(Customer(1));
  EXPECT_EQ(State().pending_level, -1);
  // ... and, where only High allows an upgrade, a Medium one (never Flagged).
  PolicyProfile high_only = SmallLadder();
  high_only.upgrade_min_quality = QualityRating::kHigh;
  Start(high_only);
  Block(4);  // Score 12: Medium.
  ASSERT_EQ(State().quality, QualityRating::kMedium);
  ASSERT_FALSE(State().flagged);
  StartConversation(Customer(1));
  EXPECT_EQ(State().pending_level, -1);
  Start(high_only);  // The same with High quality does upgrade.
  StartConversation(Customer(1));
  EXPECT_EQ(State().pending_level, 1);

  // Too few customers.
  PolicyProfile p = SmallLadder();
  p.ladder = {10, 20, kUnlimited};
  Start(p);
  for (int i = 0; i < 4; ++i) StartConversation(Customer(i));  // 4 < 10/2.
  EXPECT_EQ(State().pending_level, -1);
  StartConversation(Customer(4));
  EXPECT_EQ(State().pending_level, 1);
}

TEST_F(EngineTest, UpgradeLooksBackSevenDaysOnly) {
  PolicyProfile p = SmallLadder();
  p.ladder = {10, 20, kUnlimited};
  Start(p);
  for (int i = 0; i < 4; ++i) StartConversation(Customer(i));
  clock_.Advance(absl::Hours(24 * 7));  // Those four fall out of the look-back.
  StartConversation(Customer(4));
  EXPECT_EQ(State().recent_unique, 1);
  EXPECT_EQ(State().pending_level, -1);
}

TEST_F(EngineTest, LowQualityFlagsTheNumberAndBlocksUpgrades) {
  Start(SmallLadder());
  Block(10);  // Score 30: Low.
  NumberSnapshot s = State();
  EXPECT_EQ(s.quality, QualityRating::kLow);
  EXPECT_TRUE(s.flagged);
  EXPECT_EQ(s.status, NumberStatus::kFlagged);
  EXPECT_EQ(s.flag_settles_at, kT0 + absl::Hours(24 * 7));
  EXPECT_EQ(s.signals_7d[static_cast<int>(SignalKind::kBlockSpam)], 10);
  clock_.Advance(absl::Hours(48));  // Quality back to Medium, still Flagged.
  StartConversation(Customer(1));   // 1 >= 2/2, Medium, but Flagged: no upgrade.
  EXPECT_EQ(State().quality, QualityRating::kMedium);
  EXPECT_EQ(State().pending_level, -1);
}

TEST_F(EngineTest, FlaggedAndRecoveredByDaySevenKeepsTier) {
  // Climb to 10,000 first: at the verified floor (1,000) a wrong drop would
  // not show.
  for (int i = 0; i < 500; ++i) StartConversation(Customer(i));
  clock_.Advance(absl::Hours(24));
  ASSERT_EQ(State().limit, 10000);
  const absl::Time flagged_at = clock_.Now();
  Block(10);  // Score 30: Low, Flagged; it decays back to Medium within hours.
  ASSERT_TRUE(State().flagged);
  clock_.Set(flagged_at + absl::Hours(24 * 7) - absl::Microseconds(1));
  ASSERT_TRUE(State().flagged);
  ASSERT_NE(State().quality, QualityRating::kLow);
  clock_.Set(flagged_at + absl::Hours(24 * 7));
  NumberSnapshot s = State();
  EXPECT_FALSE(s.flagged);
  EXPECT_EQ(s.status, NumberStatus::kConnected);
  EXPECT_EQ(s.limit, 10000);  // Back to Medium/High by day 7: tier kept.
}

TEST_F(EngineTest, FlaggedWorkedExampleHundredThousandDropsToTenThousand) {
  // Climb 1,000 -> 10,000 -> 100,000 by volume, as the platform would.
  int next = 0;
  for (; next < 500; ++next) StartConversation(Customer(next));
  clock_.Advance(absl::Hours(24));
  ASSERT_EQ(State().limit, 10000);
  for (; next < 5500; ++next) StartConversation(Customer(next));
  clock_.Advance(absl::Hours(24));
  ASSERT_EQ(State().limit, 100000);
  const absl::Time flagged_at = clock_.Now();
  Block(10);
  ASSERT_TRUE(State().flagged);
  // Keep quality Low through day 7: more blocks every day.
  for (int day = 1; day <= 6; ++day) {
    clock_.Advance(absl::Hours(24));
    Block(6);
  }
  clock_.Set(flagged_at + absl::Hours(24 * 7) - absl::Microseconds(1));
  EXPECT_EQ(State().limit, 100000);
  clock_.Set(flagged_at + absl::Hours(24 * 7));
  NumberSnapshot s = State();
  EXPECT_FALSE(s.flagged);
  EXPECT_EQ(s.status, NumberStatus::kConnected);
  EXPECT_EQ(s.limit, 10000);
  EXPECT_EQ(s.quality, QualityRating::kLow);
}

TEST_F(EngineTest, DowngradeNeverGoesBelowTheVerifiedStartingTier) {
  PolicyProfile p = DefaultProfile();
  p.flagged_enabled = false;  // Isolate the downgrade rule.
  Start(p);
  StartConversation(Customer(1));
  Block(10);
  for (int day = 1; day <= 7; ++day) {
    clock_.Advance(absl::Hours(24));
    Block(6);
  }
  ASSERT_EQ(State().quality, QualityRating::kLow);
  StartConversation(Customer(2));
  EXPECT_EQ(State().limit, 1000);  // Already at the floor for a verified business.
}

TEST_F(EngineTest, DowngradeDropsOneLevelAtOnceAfterSevenDaysOfLowQuality) {
  PolicyProfile p = DefaultProfile();
  p.flagged_enabled = false;   // Isolate the downgrade rule from the Flagged one.
  p.unverified_max_level = 4;  // Let an unverified business climb, so its floor (250) is below.
  Start(p, /*verified=*/false);
  for (int i = 0; i < 125; ++i) StartConversation(Customer(i));  // 125 >= 250/2.
  clock_.Advance(absl::Hours(24));
  ASSERT_EQ(State().limit, 1000);
  const absl::Time low_from = clock_.Now();
  Block(20);
  for (int day = 1; day <= 6; ++day) {  // Stay Low without a break.
    clock_.Advance(absl::Hours(24));
    Block(6);
  }
  clock_.Set(low_from + absl::Hours(24 * 7) - absl::Seconds(1));
  StartConversation(Customer(1000));  // Not yet 7 full days.
  EXPECT_EQ(State().limit, 1000);
  clock_.Set(low_from + absl::Hours(24 * 7));
  ASSERT_EQ(State().quality, QualityRating::kLow);
  StartConversation(Customer(1001));
  EXPECT_EQ(State().limit, 250);
  // One Low week costs one level: the next conversation does not drop again.
  StartConversation(Customer(1002));
  EXPECT_EQ(State().limit, 250);
}

// --- Portfolio scope (October 2025 profile) -------------------------------

TEST_F(EngineTest, PortfolioScopeSharesOneLimitAcrossNumbers) {
  PolicyProfile p = Portfolio2025Profile();
  p.ladder = {2, 4, kUnlimited};
  p.verified_start_level = 0;
  Start(p);
  ASSERT_TRUE(engine_->RegisterNumber(kBiz2, "acme").ok());
  StartConversation(Customer(1), kBiz);
  // The same customer from the other number reuses the portfolio's slot.
  OptIn(Customer(1), kBiz2);
  EXPECT_EQ(Check(Template(Customer(1), kBiz2)).effect,
            ConversationEffect::kReusesBusinessInitiated);
  OptIn(Customer(2));
  EXPECT_TRUE(Check(Template(Customer(2), kBiz2)).allowed);
  OptIn(Customer(3));
  Decision d = Check(Template(Customer(3), kBiz));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kLimitReached);
  EXPECT_EQ(State(kBiz2).used, 2);
}

TEST_F(EngineTest, PortfolioProfileHasNoFlagAndUpgradesWithinSixHours) {
  PolicyProfile p = Portfolio2025Profile();
  p.ladder = {2, 4, kUnlimited};
  p.verified_start_level = 0;
  Start(p);
  Block(10);
  EXPECT_FALSE(State().flagged);
  clock_.Advance(absl::Hours(24 * 8));
  StartConversation(Customer(1));  // Quality recovered to High by decay.
  NumberSnapshot s = State();
  ASSERT_EQ(s.quality, QualityRating::kHigh);
  EXPECT_EQ(s.pending_at, clock_.Now() + absl::Hours(6));
}

// --- Errors, journal and restore -------------------------------------------

TEST_F(EngineTest, UnknownNumbersAndBadIdsAreErrors) {
  EXPECT_EQ(engine_->Check(Template(Customer(1), kBiz2)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->RegisterNumber(kBiz2, "nobody").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->UpsertBusiness("bad id!", true, false).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(engine_->UpsertBusiness("other", true, false).ok());
  EXPECT_EQ(engine_->RegisterNumber(kBiz, "other").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());  // Idempotent.
}

TEST_F(EngineTest, JournalFailureStopsTheEngine) {
  OptIn(Customer(1));
  journal_.set_fail(true);
  auto d = engine_->Check(Template(Customer(1)));
  EXPECT_EQ(d.status().code(), absl::StatusCode::kUnavailable);
  journal_.set_fail(false);
  EXPECT_EQ(engine_->Check(Template(Customer(1))).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(EngineTest, RestoreFromJournalRebuildsTheSameState) {
  Start(SmallLadder());
  ASSERT_TRUE(engine_->RegisterNumber(kBiz2, "acme").ok());
  StartConversation(Customer(1));
  OptIn(Customer(2));
  ASSERT_TRUE(Check(Template(Customer(2))).allowed);  // Pending.
  ASSERT_TRUE(engine_->RecordOptOut(kBiz, Customer(3)).ok());
  ASSERT_TRUE(engine_->RecordInbound(kBiz, Customer(4)).ok());
  Block(3, SignalKind::kReport);
  MessageTemplate p{"p", "de", TemplateCategory::kMarketing, TemplateStatus::kPaused};
  p.body = "Hallo {{1}}";
  p.buttons = {{TemplateButton::Kind::kQuickReply, "Abmelden (stop)"}};
  ASSERT_TRUE(engine_->PutTemplate("acme", p).ok());

  PolicyEngine restored(SmallLadder(), &clock_, nullptr);
  for (const auto& [key, value] : journal_.records()) {
    ASSERT_TRUE(restored.Restore(static_cast<StateFamily>(key.first), key.second, value).ok());
  }
  NumberSnapshot a = State(), b = restored.GetNumberState(kBiz).value();
  EXPECT_EQ(a.used, b.used);
  EXPECT_EQ(a.pending, b.pending);
  EXPECT_EQ(a.limit, b.limit);
  EXPECT_EQ(a.quality_score, b.quality_score);
  EXPECT_EQ(a.signals_7d, b.signals_7d);
  EXPECT_EQ(restored.Numbers().size(), 2u);
  EXPECT_EQ(restored.Check(Template(Customer(3)))->reason, ReasonCode::kOptedOut);
  EXPECT_TRUE(restored.Check(Session(Customer(4)))->allowed);
  EXPECT_EQ(restored.GetTemplate("acme", "p", "de")->status, TemplateStatus::kPaused);
  EXPECT_EQ(restored.GetTemplate("acme", "p", "de")->body, "Hallo {{1}}");
  EXPECT_EQ(restored.GetTemplate("acme", "p", "de")->buttons.size(), 1u);
  OptIn(Customer(5));
  ASSERT_TRUE(restored.RecordOptIn(kBiz, Customer(5), OptInSource::kSms).ok());
  EXPECT_EQ(restored.Check(Template(Customer(5)))->reason, ReasonCode::kLimitReached);
  EXPECT_EQ(restored.RecordDelivered(kBiz, Customer(2)).value(),
            DeliveryOutcome::kStartedConversation);
}

TEST_F(EngineTest, RestoreRejectsCorruptRecords) {
  PolicyEngine e(DefaultProfile(), &clock_, nullptr);
  EXPECT_EQ(e.Restore(StateFamily::kNumber, "short", "").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(e.Restore(StateFamily::kBusiness, "acme", "").code(), absl::StatusCode::kDataLoss);
  // A well-formed number record whose business was never restored: every
  // decision for it would need that business, so the rebuild must stop.
  int numbers = 0;
  for (const auto& [key, value] : journal_.records()) {
    if (static_cast<StateFamily>(key.first) != StateFamily::kNumber) continue;
    ++numbers;
    EXPECT_EQ(e.Restore(StateFamily::kNumber, key.second, value).code(),
              absl::StatusCode::kDataLoss);
  }
  EXPECT_GT(numbers, 0);
}

// --- Shards: businesses never share state, numbers find theirs lock-free ---

TEST_F(EngineTest, BusinessesInDifferentShardsStayApartAndBatchesSpanThem) {
  PolicyEngine engine(SmallLadder(), &clock_, &journal_, /*shards=*/4);
  std::vector<PhoneNumber> numbers;
  for (int b = 0; b < 8; ++b) {  // 8 businesses over 4 shards.
    const std::string id = absl::StrCat("biz", b);
    ASSERT_TRUE(engine.UpsertBusiness(id, true, false).ok());
    numbers.push_back(PhoneNumber::FromDigitsValue(14155550200ULL + b));
    ASSERT_TRUE(engine.RegisterNumber(numbers.back(), id).ok());
    ASSERT_TRUE(engine
                    .PutTemplate(id, {"order_update", "en_US", TemplateCategory::kUtility,
                                      TemplateStatus::kApproved})
                    .ok());
    ASSERT_TRUE(engine.RecordOptIn(numbers.back(), Customer(1), OptInSource::kSms).ok());
  }
  // Another business may not take a number, whichever shard it lives in.
  EXPECT_EQ(engine.RegisterNumber(numbers[0], "biz1").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*engine.BusinessOf(numbers[3]), "biz3");
  // Customer 1 opted in with every business; customer 2 with none.
  std::vector<OutgoingMessage> batch;
  for (int b = 0; b < 8; ++b) {
    batch.push_back(Template(Customer(1), numbers[b]));
    batch.push_back(Template(Customer(2), numbers[b]));
  }
  batch.push_back(Template(Customer(1), kBiz2));  // Not registered here.
  std::vector<absl::StatusOr<Decision>> out = engine.CheckBatch(batch);
  ASSERT_EQ(out.size(), batch.size());
  for (int b = 0; b < 8; ++b) {
    EXPECT_TRUE(out[2 * b]->allowed) << b;
    EXPECT_EQ(out[2 * b + 1]->reason, ReasonCode::kNotOptedIn) << b;
  }
  EXPECT_EQ(out.back().status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine.Numbers().size(), 8u);
  EXPECT_EQ(engine.stats().businesses, 8u);
  // A rebuild from the journal routes every record back to its shard.
  PolicyEngine restored(SmallLadder(), &clock_, nullptr, /*shards=*/4);
  for (const auto& [key, value] : journal_.records()) {
    ASSERT_TRUE(restored.Restore(static_cast<StateFamily>(key.first), key.second, value).ok());
  }
  for (int b = 0; b < 8; ++b) {
    EXPECT_EQ(restored.GetNumberState(numbers[b])->used, 1) << b;
    EXPECT_EQ(*restored.BusinessOf(numbers[b]), absl::StrCat("biz", b));
  }
}

TEST_F(EngineTest, RegisteringPastMaxNumbersIsResourceExhausted) {
  PolicyEngine engine(DefaultProfile(), &clock_, nullptr, /*shards=*/2, /*max_numbers=*/8);
  ASSERT_TRUE(engine.UpsertBusiness("acme", true, false).ok());
  int ok = 0;
  absl::Status last;
  for (int i = 0; i < 20; ++i) {
    last = engine.RegisterNumber(PhoneNumber::FromDigitsValue(14155550300ULL + i), "acme");
    ok += last.ok();
  }
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(EngineTest, ConcurrentLoadAcrossBusinessesKeepsEveryLimit) {
  PolicyEngine engine(SmallLadder(), &clock_, &journal_, /*shards=*/4);
  for (int b = 0; b < 4; ++b) {
    const std::string id = absl::StrCat("biz", b);
    ASSERT_TRUE(engine.UpsertBusiness(id, true, false).ok());
    ASSERT_TRUE(engine.RegisterNumber(PhoneNumber::FromDigitsValue(14155550400ULL + b), id).ok());
    ASSERT_TRUE(engine
                    .PutTemplate(id, {"order_update", "en_US", TemplateCategory::kUtility,
                                      TemplateStatus::kApproved})
                    .ok());
    for (int c = 0; c < 50; ++c) {
      ASSERT_TRUE(engine
                      .RecordOptIn(PhoneNumber::FromDigitsValue(14155550400ULL + b), Customer(c),
                                   OptInSource::kSms)
                      .ok());
    }
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const PhoneNumber n = PhoneNumber::FromDigitsValue(14155550400ULL + (t + i) % 4);
        (void)engine.Check(Template(Customer(i % 50), n));
        if (i % 5 == 0) (void)engine.RecordInbound(n, Customer(i % 50), "hi");
        if (i % 9 == 0) (void)engine.GetNumberState(n);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int b = 0; b < 4; ++b) {
    EXPECT_EQ(engine.GetNumberState(PhoneNumber::FromDigitsValue(14155550400ULL + b))->used, 2)
        << b;
  }
}

TEST_F(EngineTest, SweepForgetsExpiredStateSoStorageDoesNotGrow) {
  StartConversation(Customer(1));
  ASSERT_TRUE(engine_->RecordInbound(kBiz, Customer(2)).ok());
  EXPECT_EQ(engine_->stats().ledger_entries, 1u);
  EXPECT_EQ(engine_->stats().threads, 1u);
  clock_.Advance(absl::Hours(24 * 8));
  ASSERT_TRUE(engine_->Sweep().ok());
  EXPECT_EQ(engine_->stats().ledger_entries, 0u);
  EXPECT_EQ(engine_->stats().threads, 0u);
  for (const auto& [key, value] : journal_.records()) {
    EXPECT_NE(key.first, static_cast<int>(StateFamily::kLedger));
    EXPECT_NE(key.first, static_cast<int>(StateFamily::kThread));
  }
}

}  // namespace
}  // namespace wapolicy
