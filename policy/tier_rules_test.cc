#include "policy/tier_rules.h"

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "policy/messaging_tier.h"
#include "policy/number_status.h"
#include "policy/policy_profile.h"
#include "policy/quality.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

constexpr int64_t kT0 = int64_t{1767225600} * kSecond;  // 2026-01-01 00:00 UTC.

constexpr bool kVerified = true;
constexpr bool kUnverified = false;

constexpr QualityRating kHigh = QualityRating::kHigh;
constexpr QualityRating kMedium = QualityRating::kMedium;
constexpr QualityRating kLow = QualityRating::kLow;

MessagingTier Tier(int level, int pending_level = -1, int64_t pending_at = 0) {
  MessagingTier t;
  t.level = level;
  t.pending_level = pending_level;
  t.pending_at_us = pending_at;
  return t;
}

// A rating history for AdvanceTier that records every instant it was asked about.
class Ratings {
 public:
  explicit Ratings(std::function<QualityRating(int64_t)> f) : f_(std::move(f)) {}
  static Ratings Always(QualityRating r) {
    return Ratings([r](int64_t) { return r; });
  }
  // `before` until `at` (exclusive), then `after`.
  static Ratings Until(int64_t at, QualityRating before, QualityRating after) {
    return Ratings([=](int64_t t) { return t < at ? before : after; });
  }

  TierChanges Advance(const PolicyProfile& p, bool verified, int64_t now, MessagingTier& tier,
                      QualityStanding& standing) {
    return AdvanceTier(
        p, verified,
        [this](int64_t at) {
          // A rule that never settles would loop here for ever: fail instead.
          if (asked_.size() > 100000) throw std::runtime_error("AdvanceTier does not terminate");
          asked_.push_back(at);
          return f_(at);
        },
        now, tier, standing);
  }
  const std::vector<int64_t>& asked() const { return asked_; }

 private:
  std::function<QualityRating(int64_t)> f_;
  std::vector<int64_t> asked_;
};

PolicyProfile NoFlagProfile() {
  PolicyProfile p = DefaultProfile();
  p.flagged_enabled = false;
  return p;
}

// --- Upgrade scheduling: OnConversationStarted ------------------------------------

TEST(TierRules, SchedulesUpgradeWhenVolumeReachesHalfTheLimit) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(1);  // 1,000.
  const TierChanges ch = OnConversationStarted(p, kVerified, kHigh, 500, kT0, {}, tier);
  EXPECT_TRUE(ch.tier);
  EXPECT_FALSE(ch.standing);
  EXPECT_EQ(tier.level, 1);  // Not yet: after upgrade_delay.
  EXPECT_EQ(tier.pending_level, 2);
  EXPECT_EQ(tier.pending_at_us, kT0 + kDay);
}

TEST(TierRules, SchedulesUpgradeAtMediumQuality) {
  const PolicyProfile p = DefaultProfile();  // upgrade_min_quality = Medium.
  MessagingTier tier = Tier(2);              // 10,000.
  EXPECT_TRUE(OnConversationStarted(p, kVerified, kMedium, 5000, kT0, {}, tier).tier);
  EXPECT_EQ(tier.pending_level, 3);
  EXPECT_EQ(tier.pending_at_us, kT0 + kDay);
}

TEST(TierRules, NoUpgradeOneCustomerShortOfHalfTheLimit) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(1);
  EXPECT_FALSE(OnConversationStarted(p, kVerified, kHigh, 499, kT0, {}, tier).tier);
  EXPECT_FALSE(tier.has_pending_upgrade());
  EXPECT_EQ(tier.level, 1);
}

TEST(TierRules, UpgradeVolumeRoundsHalfOfAnOddLimitUp) {
  PolicyProfile p = DefaultProfile();
  p.ladder = {251, 1000, kUnlimited};
  MessagingTier tier = Tier(0);
  EXPECT_FALSE(OnConversationStarted(p, kVerified, kHigh, 125, kT0, {}, tier).tier);  // 250 < 251.
  EXPECT_TRUE(OnConversationStarted(p, kVerified, kHigh, 126, kT0, {}, tier).tier);
  EXPECT_EQ(tier.pending_level, 1);
}

TEST(TierRules, NoUpgradeWhileFlagged) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(1);
  QualityStanding flagged;
  flagged.flagged_since_us = kT0 - kDay;
  EXPECT_FALSE(OnConversationStarted(p, kVerified, kHigh, 1000, kT0, flagged, tier).tier);
  EXPECT_FALSE(tier.has_pending_upgrade());
}

TEST(TierRules, NoSecondUpgradeWhileOneIsPending) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(1, 2, kT0 + kHour);
  EXPECT_FALSE(OnConversationStarted(p, kVerified, kHigh, 1000, kT0, {}, tier).tier);
  EXPECT_EQ(tier.pending_level, 2);
  EXPECT_EQ(tier.pending_at_us, kT0 + kHour);  // The first schedule stands.
}

TEST(TierRules, NoUpgradeAtTheVerifiedCeiling) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier top = Tier(p.top_level());
  EXPECT_FALSE(OnConversationStarted(p, kVerified, kHigh, 1000000, kT0, {}, top).tier);
  EXPECT_FALSE(top.has_pending_upgrade());
  // Level 3 (100,000) is below the top: it may still climb.
  MessagingTier below = Tier(3);
  EXPECT_TRUE(OnConversationStarted(p, kVerified, kHigh, 50000, kT0, {}, below).tier);
  EXPECT_EQ(below.pending_level, 4);
}

TEST(TierRules, NoUpgradePastUnverifiedMaxLevel) {
  const PolicyProfile p = DefaultProfile();  // unverified_max_level = 0.
  MessagingTier tier = Tier(0);
  EXPECT_FALSE(OnConversationStarted(p, kUnverified, kHigh, 250, kT0, {}, tier).tier);
  EXPECT_FALSE(tier.has_pending_upgrade());
  // The same pool of a verified business would be scheduled.
  EXPECT_TRUE(OnConversationStarted(p, kVerified, kHigh, 250, kT0, {}, tier).tier);
}

TEST(TierRules, NoUpgradeBelowUpgradeMinQuality) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(1);
  EXPECT_FALSE(OnConversationStarted(p, kVerified, kLow, 1000, kT0, {}, tier).tier);
  EXPECT_FALSE(tier.has_pending_upgrade());
  // A profile that wants High refuses Medium.
  PolicyProfile high_only = Portfolio2025Profile();
  ASSERT_EQ(high_only.upgrade_min_quality, kHigh);
  EXPECT_FALSE(OnConversationStarted(high_only, kVerified, kMedium, 1000, kT0, {}, tier).tier);
  EXPECT_FALSE(tier.has_pending_upgrade());
  EXPECT_TRUE(OnConversationStarted(high_only, kVerified, kHigh, 1000, kT0, {}, tier).tier);
  EXPECT_EQ(tier.pending_at_us, kT0 + 6 * kHour);  // That profile's upgrade_delay.
}

TEST(TierRules, ZeroUpgradeDelayUpgradesAtOnce) {
  PolicyProfile p = DefaultProfile();
  p.upgrade_delay = absl::ZeroDuration();
  MessagingTier tier = Tier(1);
  EXPECT_TRUE(OnConversationStarted(p, kVerified, kHigh, 500, kT0, {}, tier).tier);
  EXPECT_EQ(tier.level, 2);
  EXPECT_FALSE(tier.has_pending_upgrade());
}

// --- Upgrade applied: AdvanceTier ---------------------------------------------------

TEST(TierRules, AppliesUpgradeExactlyAtPendingAtNotOneMicrosecondBefore) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(1, 2, kT0 + kDay);
  QualityStanding standing;
  Ratings r = Ratings::Always(kHigh);
  EXPECT_FALSE(r.Advance(p, kVerified, kT0 + kDay - 1, tier, standing).tier);
  EXPECT_EQ(tier.level, 1);
  EXPECT_EQ(tier.pending_level, 2);
  const TierChanges ch = r.Advance(p, kVerified, kT0 + kDay, tier, standing);
  EXPECT_TRUE(ch.tier);
  EXPECT_FALSE(ch.standing);
  EXPECT_EQ(tier.level, 2);
  EXPECT_FALSE(tier.has_pending_upgrade());
  EXPECT_EQ(tier.pending_at_us, 0);
}

TEST(TierRules, AppliesOverdueUpgradeWhenAdvancedLate) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(1, 2, kT0 + kDay);
  QualityStanding standing;
  Ratings r = Ratings::Always(kHigh);
  EXPECT_TRUE(r.Advance(p, kVerified, kT0 + 5 * kDay, tier, standing).tier);
  EXPECT_EQ(tier.level, 2);
}

TEST(TierRules, ScheduledThenAppliedUpgradeEndToEnd) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(1);
  QualityStanding standing;
  ASSERT_TRUE(OnConversationStarted(p, kVerified, kHigh, 500, kT0, standing, tier).tier);
  Ratings r = Ratings::Always(kHigh);
  r.Advance(p, kVerified, kT0 + kDay - 1, tier, standing);
  EXPECT_EQ(tier.level, 1);
  r.Advance(p, kVerified, kT0 + kDay, tier, standing);
  EXPECT_EQ(tier.level, 2);
}

TEST(TierRules, AppliedUpgradeIsClampedToTheCeiling) {
  const PolicyProfile p = DefaultProfile();
  QualityStanding standing;
  Ratings r = Ratings::Always(kHigh);
  // Scheduled while verified, applied after verification was lost.
  MessagingTier unverified = Tier(0, 1, kT0);
  r.Advance(p, kUnverified, kT0, unverified, standing);
  EXPECT_EQ(unverified.level, 0);
  EXPECT_FALSE(unverified.has_pending_upgrade());
  // A pending level past the top of the ladder.
  MessagingTier verified = Tier(3, 7, kT0);
  r.Advance(p, kVerified, kT0, verified, standing);
  EXPECT_EQ(verified.level, p.top_level());
  EXPECT_FALSE(verified.has_pending_upgrade());
}

// --- OnRatingChanged: Flagged -------------------------------------------------------

TEST(TierRules, RatingTurningLowFlagsAndCancelsPendingUpgrade) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(2, 3, kT0 + kHour);
  QualityStanding standing;
  const TierChanges ch = OnRatingChanged(p, kMedium, kLow, kT0, tier, standing);
  EXPECT_TRUE(ch.tier);
  EXPECT_TRUE(ch.standing);
  EXPECT_TRUE(standing.flagged());
  EXPECT_EQ(standing.flagged_since_us, kT0);
  EXPECT_EQ(standing.low_since_us, kT0);
  EXPECT_FALSE(tier.has_pending_upgrade());
  EXPECT_EQ(tier.pending_at_us, 0);
  EXPECT_EQ(tier.level, 2);  // Flagging alone drops nothing.
}

TEST(TierRules, RatingTurningLowFromHighFlagsWithoutPendingUpgrade) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(2);
  QualityStanding standing;
  const TierChanges ch = OnRatingChanged(p, kHigh, kLow, kT0, tier, standing);
  EXPECT_FALSE(ch.tier);  // Nothing to cancel.
  EXPECT_TRUE(ch.standing);
  EXPECT_EQ(standing.flagged_since_us, kT0);
  EXPECT_EQ(standing.low_since_us, kT0);
}

TEST(TierRules, RatingTurningLowDoesNotFlagWhenFlaggedDisabled) {
  const PolicyProfile p = NoFlagProfile();
  MessagingTier tier = Tier(2, 3, kT0 + kHour);
  QualityStanding standing;
  const TierChanges ch = OnRatingChanged(p, kMedium, kLow, kT0, tier, standing);
  EXPECT_FALSE(standing.flagged());
  EXPECT_EQ(standing.low_since_us, kT0);  // The Low run still starts (downgrades).
  EXPECT_TRUE(ch.standing);
  EXPECT_FALSE(ch.tier);
  EXPECT_EQ(tier.pending_level, 3);  // Not Flagged: the upgrade stays scheduled.
}

TEST(TierRules, RatingChangesThatAreNotIntoLowChangeNothing) {
  const PolicyProfile p = DefaultProfile();
  for (auto [before, after] : std::vector<std::pair<QualityRating, QualityRating>>{
           {kHigh, kMedium}, {kMedium, kHigh}, {kLow, kMedium}, {kLow, kHigh}, {kLow, kLow}}) {
    MessagingTier tier = Tier(2, 3, kT0 + kHour);
    QualityStanding standing;
    standing.low_since_us = kT0 - kDay;
    const TierChanges ch = OnRatingChanged(p, before, after, kT0, tier, standing);
    EXPECT_FALSE(ch.tier || ch.standing)
        << static_cast<int>(before) << "->" << static_cast<int>(after);
    EXPECT_EQ(standing.low_since_us, kT0 - kDay);
    EXPECT_FALSE(standing.flagged());
    EXPECT_EQ(tier.pending_level, 3);
  }
}

TEST(TierRules, NewLowRunWhileFlaggedRestartsLowSinceButKeepsTheFlag) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(2);
  QualityStanding standing;
  standing.flagged_since_us = kT0;
  standing.low_since_us = kT0;
  OnRatingChanged(p, kMedium, kLow, kT0 + 3 * kDay, tier, standing);
  EXPECT_EQ(standing.flagged_since_us, kT0);
  EXPECT_EQ(standing.low_since_us, kT0 + 3 * kDay);
}

// --- Flag settlement -----------------------------------------------------------------

TEST(TierRules, FlagSettlesKeepingTheLevelWhenNotLowAtTheSeventhDay) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(3);
  QualityStanding standing;
  OnRatingChanged(p, kMedium, kLow, kT0, tier, standing);
  // Low for six days, Medium from then on.
  Ratings r = Ratings::Until(kT0 + 6 * kDay, kLow, kMedium);
  EXPECT_FALSE(r.Advance(p, kVerified, kT0 + kWeek - 1, tier, standing).standing);
  EXPECT_TRUE(standing.flagged());
  const TierChanges ch = r.Advance(p, kVerified, kT0 + kWeek, tier, standing);
  EXPECT_TRUE(ch.standing);
  EXPECT_FALSE(ch.tier);
  EXPECT_FALSE(standing.flagged());
  EXPECT_EQ(tier.level, 3);
  EXPECT_EQ(standing.low_since_us, 0);  // The Low run is over.
  ASSERT_FALSE(r.asked().empty());
  EXPECT_EQ(r.asked().front(), kT0 + kWeek);  // Judged at exactly flagged_since + 7d.
  // Nothing further happens later.
  r.Advance(p, kVerified, kT0 + 10 * kWeek, tier, standing);
  EXPECT_EQ(tier.level, 3);
}

TEST(TierRules, FlagSettlementJudgesTheRatingAtTheSettlementInstant) {
  // Low again by the time AdvanceTier runs, but Medium at the settlement instant.
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(3);
  QualityStanding standing;
  standing.flagged_since_us = kT0;
  standing.low_since_us = kT0;
  Ratings r([](int64_t at) { return at == kT0 + kWeek ? kMedium : kLow; });
  r.Advance(p, kVerified, kT0 + kWeek + kHour, tier, standing);
  EXPECT_EQ(tier.level, 3);
  EXPECT_FALSE(standing.flagged());
}

TEST(TierRules, FlagSettlesOneLevelLowerWhenStillLowAtTheSeventhDay) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(3);
  QualityStanding standing;
  OnRatingChanged(p, kMedium, kLow, kT0, tier, standing);
  Ratings r = Ratings::Always(kLow);
  r.Advance(p, kVerified, kT0 + kWeek - 1, tier, standing);
  EXPECT_EQ(tier.level, 3);
  EXPECT_TRUE(standing.flagged());
  const TierChanges ch = r.Advance(p, kVerified, kT0 + kWeek, tier, standing);
  EXPECT_TRUE(ch.tier);
  EXPECT_TRUE(ch.standing);
  EXPECT_EQ(tier.level, 2);  // One Low week costs one level, not two.
  EXPECT_FALSE(standing.flagged());
  EXPECT_EQ(standing.low_since_us, kT0 + kWeek);  // The Low count restarts.
}

TEST(TierRules, FlagSettlementNeverDropsBelowTheVerifiedFloor) {
  const PolicyProfile p = DefaultProfile();
  ASSERT_EQ(FloorLevel(p, kVerified), 1);
  MessagingTier tier = Tier(FloorLevel(p, kVerified));
  QualityStanding standing;
  OnRatingChanged(p, kMedium, kLow, kT0, tier, standing);
  Ratings r = Ratings::Always(kLow);
  r.Advance(p, kVerified, kT0 + kWeek, tier, standing);
  EXPECT_EQ(tier.level, 1);
  EXPECT_FALSE(standing.flagged());
}

TEST(TierRules, FlagSettlementNeverDropsBelowTheUnverifiedFloor) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(0);
  QualityStanding standing;
  OnRatingChanged(p, kMedium, kLow, kT0, tier, standing);
  Ratings r = Ratings::Always(kLow);
  r.Advance(p, kUnverified, kT0 + 3 * kWeek, tier, standing);
  EXPECT_EQ(tier.level, 0);
}

// --- Downgrade as time passes ---------------------------------------------------------

TEST(TierRules, DowngradesAtSevenDaysLowWithoutAnyEvent) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(3);
  QualityStanding standing;
  OnRatingChanged(p, kMedium, kLow, kT0, tier, standing);  // Low since kT0.
  Ratings r = Ratings::Always(kLow);
  // No conversation, no signal: only time passes.
  r.Advance(p, kVerified, kT0 + kWeek, tier, standing);
  EXPECT_EQ(tier.level, 2);
}

TEST(TierRules, DowngradesAtSevenDaysLowWithoutAnyEventWhenNotFlagged) {
  const PolicyProfile p = NoFlagProfile();
  MessagingTier tier = Tier(3);
  QualityStanding standing;
  OnRatingChanged(p, kMedium, kLow, kT0, tier, standing);
  ASSERT_FALSE(standing.flagged());
  Ratings r = Ratings::Always(kLow);
  EXPECT_FALSE(r.Advance(p, kVerified, kT0 + kWeek - 1, tier, standing).tier);
  EXPECT_EQ(tier.level, 3);
  const TierChanges ch = r.Advance(p, kVerified, kT0 + kWeek, tier, standing);
  EXPECT_TRUE(ch.tier);
  EXPECT_TRUE(ch.standing);
  EXPECT_EQ(tier.level, 2);
  EXPECT_EQ(standing.low_since_us, kT0 + kWeek);  // The count restarts.
  EXPECT_EQ(r.asked(), std::vector<int64_t>{kT0 + kWeek});
}

TEST(TierRules, TwoLowPeriodsDropTwoLevels) {
  const PolicyProfile p = NoFlagProfile();
  MessagingTier tier = Tier(3);
  QualityStanding standing;
  standing.low_since_us = kT0;
  Ratings r = Ratings::Always(kLow);
  r.Advance(p, kVerified, kT0 + 2 * kWeek - 1, tier, standing);
  EXPECT_EQ(tier.level, 2);
  r.Advance(p, kVerified, kT0 + 2 * kWeek, tier, standing);
  EXPECT_EQ(tier.level, 1);
  EXPECT_EQ(standing.low_since_us, kT0 + 2 * kWeek);
}

TEST(TierRules, TwoLowPeriodsCaughtUpInOneAdvanceDropTwoLevels) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(3);
  QualityStanding standing;
  OnRatingChanged(p, kMedium, kLow, kT0, tier, standing);
  Ratings r = Ratings::Always(kLow);
  r.Advance(p, kVerified, kT0 + 2 * kWeek, tier, standing);
  EXPECT_EQ(tier.level, 1);  // Flag settlement at 7d, downgrade at 14d.
  EXPECT_EQ(r.asked(), (std::vector<int64_t>{kT0 + kWeek, kT0 + 2 * kWeek}));
}

TEST(TierRules, DowngradeNeverDropsBelowTheVerifiedFloor) {
  const PolicyProfile p = NoFlagProfile();
  MessagingTier tier = Tier(2);
  QualityStanding standing;
  standing.low_since_us = kT0;
  Ratings r = Ratings::Always(kLow);
  r.Advance(p, kVerified, kT0 + 10 * kWeek, tier, standing);
  EXPECT_EQ(tier.level, FloorLevel(p, kVerified));
  EXPECT_EQ(tier.level, 1);
}

TEST(TierRules, RatingNotLowAtPeriodEndClearsLowSinceWithoutDrop) {
  const PolicyProfile p = NoFlagProfile();
  MessagingTier tier = Tier(3);
  QualityStanding standing;
  standing.low_since_us = kT0;
  Ratings r = Ratings::Until(kT0 + 3 * kDay, kLow, kMedium);
  const TierChanges ch = r.Advance(p, kVerified, kT0 + kWeek, tier, standing);
  EXPECT_FALSE(ch.tier);
  EXPECT_TRUE(ch.standing);
  EXPECT_EQ(tier.level, 3);
  EXPECT_EQ(standing.low_since_us, 0);
  r.Advance(p, kVerified, kT0 + 10 * kWeek, tier, standing);
  EXPECT_EQ(tier.level, 3);
}

TEST(TierRules, NoDowngradeWhenDowngradeDisabled) {
  PolicyProfile p = NoFlagProfile();
  p.downgrade_enabled = false;
  MessagingTier tier = Tier(3);
  QualityStanding standing;
  standing.low_since_us = kT0;
  Ratings r = Ratings::Always(kLow);
  EXPECT_FALSE(r.Advance(p, kVerified, kT0 + 5 * kWeek, tier, standing).tier);
  EXPECT_EQ(tier.level, 3);
}

TEST(TierRules, DowngradeHonoursTheProfilesLowPeriod) {
  PolicyProfile p = NoFlagProfile();
  p.downgrade_low_period = absl::Hours(72);
  MessagingTier tier = Tier(3);
  QualityStanding standing;
  standing.low_since_us = kT0;
  Ratings r = Ratings::Always(kLow);
  r.Advance(p, kVerified, kT0 + 3 * kDay - 1, tier, standing);
  EXPECT_EQ(tier.level, 3);
  r.Advance(p, kVerified, kT0 + 3 * kDay, tier, standing);
  EXPECT_EQ(tier.level, 2);
}

TEST(TierRules, DowngradeCancelsAScheduledUpgrade) {
  const PolicyProfile p = NoFlagProfile();
  MessagingTier tier = Tier(2, 3, kT0 + kWeek + kDay);
  QualityStanding standing;
  standing.low_since_us = kT0;
  Ratings r = Ratings::Always(kLow);
  r.Advance(p, kVerified, kT0 + kWeek, tier, standing);
  EXPECT_EQ(tier.level, 1);
  EXPECT_FALSE(tier.has_pending_upgrade());
  r.Advance(p, kVerified, kT0 + kWeek + kDay, tier, standing);
  EXPECT_EQ(tier.level, 1);
}

TEST(TierRules, DueTransitionsApplyInTimeOrder) {
  // Upgrade due at +3d, downgrade at +7d, both caught up by one call: the
  // upgrade first (2 -> 3), then the downgrade (3 -> 2). Applying the
  // downgrade first would cancel the upgrade and leave level 1.
  const PolicyProfile p = NoFlagProfile();
  MessagingTier tier = Tier(2, 3, kT0 + 3 * kDay);
  QualityStanding standing;
  standing.low_since_us = kT0;
  Ratings r = Ratings::Always(kLow);
  r.Advance(p, kVerified, kT0 + 10 * kDay, tier, standing);
  EXPECT_EQ(tier.level, 2);
  EXPECT_FALSE(tier.has_pending_upgrade());
}

// --- Ordering at one instant -------------------------------------------------------------

TEST(TierRules, AtOneInstantUpgradeThenFlagSettlementThenDowngrade) {
  // At T: an upgrade is due, the flag settles while Low, and the Low run is
  // a full period old. Upgrade first (2 -> 3), then the settlement drops one
  // (3 -> 2) and restarts the Low count, so the downgrade is no longer due.
  // Settling first would cancel the upgrade (-> 1); downgrading before the
  // settlement would drop twice (-> 1).
  const PolicyProfile p = DefaultProfile();
  const int64_t t = kT0 + kWeek;
  MessagingTier tier = Tier(2, 3, t);
  QualityStanding standing;
  standing.flagged_since_us = kT0;
  standing.low_since_us = kT0;
  Ratings r = Ratings::Always(kLow);
  const TierChanges ch = r.Advance(p, kVerified, t, tier, standing);
  EXPECT_TRUE(ch.tier);
  EXPECT_TRUE(ch.standing);
  EXPECT_EQ(tier.level, 2);
  EXPECT_FALSE(tier.has_pending_upgrade());
  EXPECT_FALSE(standing.flagged());
  EXPECT_EQ(standing.low_since_us, t);
  EXPECT_EQ(r.asked(), std::vector<int64_t>{t});  // Only the settlement asked.
}

TEST(TierRules, AtOneInstantFlagSettlementBeforeDowngradeWhenNoLongerLow) {
  // The flag settles keeping the level, then the downgrade due at the same
  // instant sees a rating that is not Low and ends the Low run.
  const PolicyProfile p = DefaultProfile();
  const int64_t t = kT0 + kWeek;
  MessagingTier tier = Tier(2);
  QualityStanding standing;
  standing.flagged_since_us = kT0;
  standing.low_since_us = kT0;
  Ratings r = Ratings::Always(kMedium);
  r.Advance(p, kVerified, t, tier, standing);
  EXPECT_EQ(tier.level, 2);
  EXPECT_FALSE(standing.flagged());
  EXPECT_EQ(standing.low_since_us, 0);
}

// --- ClampToVerification ---------------------------------------------------------------

TEST(TierRules, VerificationRaisesLevelToTheVerifiedFloor) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(0);
  EXPECT_TRUE(ClampToVerification(p, kVerified, tier));
  EXPECT_EQ(tier.level, 1);
}

TEST(TierRules, LosingVerificationLowersLevelToTheUnverifiedMax) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(3, 4, kT0 + kHour);
  EXPECT_TRUE(ClampToVerification(p, kUnverified, tier));
  EXPECT_EQ(tier.level, 0);
  EXPECT_FALSE(tier.has_pending_upgrade());  // Pending 4 clamps to 0: nothing to upgrade to.
  EXPECT_EQ(tier.pending_at_us, 0);
}

TEST(TierRules, ClampKeepsAPendingUpgradeClampedToTheCeiling) {
  PolicyProfile p = DefaultProfile();
  p.unverified_max_level = 2;
  MessagingTier tier = Tier(1, 3, kT0 + kHour);
  EXPECT_TRUE(ClampToVerification(p, kUnverified, tier));
  EXPECT_EQ(tier.level, 1);
  EXPECT_EQ(tier.pending_level, 2);
  EXPECT_EQ(tier.pending_at_us, kT0 + kHour);
}

TEST(TierRules, ClampCancelsAPendingUpgradeTheFloorAlreadyReached) {
  PolicyProfile p = DefaultProfile();
  p.unverified_max_level = 2;
  MessagingTier tier = Tier(0, 1, kT0 + kHour);
  EXPECT_TRUE(ClampToVerification(p, kVerified, tier));  // Floor 1.
  EXPECT_EQ(tier.level, 1);
  EXPECT_FALSE(tier.has_pending_upgrade());
  EXPECT_EQ(tier.pending_at_us, 0);
}

TEST(TierRules, ClampWithinBoundsChangesNothing) {
  const PolicyProfile p = DefaultProfile();
  MessagingTier tier = Tier(2, 3, kT0 + kHour);
  EXPECT_FALSE(ClampToVerification(p, kVerified, tier));
  EXPECT_EQ(tier.level, 2);
  EXPECT_EQ(tier.pending_level, 3);
  EXPECT_EQ(tier.pending_at_us, kT0 + kHour);
  MessagingTier unverified = Tier(0);
  EXPECT_FALSE(ClampToVerification(p, kUnverified, unverified));
  EXPECT_EQ(unverified.level, 0);
}

}  // namespace
}  // namespace wapolicy
