#include "policy/platform_word.h"

#include "gtest/gtest.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

constexpr int64_t kNow = 1'767'225'600 * kSecond;

struct Fixture {
  PolicyProfile profile = DefaultProfile();
  LimitPool pool;
  BusinessNumber number;
  Fixture() { number.pool = &pool; }
  PlatformChanges Apply(const PlatformReport& r, int64_t at = kNow, int64_t now = kNow) {
    return ApplyPlatformReport(profile, /*verified=*/true, r, at, now, number, pool);
  }
};

TEST(PlatformWordTest, AReportedLimitIsEnforcedAndTheEstimateRestartsFromIt) {
  Fixture f;
  f.pool.tier.level = 0;
  f.pool.tier.pending_level = 1;
  f.pool.tier.pending_at_us = kNow + kHour;
  PlatformReport r;
  r.messaging_limit = 100000;
  const PlatformChanges c = f.Apply(r);
  EXPECT_TRUE(c.pool);
  EXPECT_EQ(EffectiveLimit(f.profile, f.pool), 100000);
  EXPECT_EQ(f.profile.LimitAt(f.pool.tier.level), 100000);
  EXPECT_FALSE(f.pool.tier.has_pending_upgrade());
  // A limit off the ladder is still the limit; the estimate takes the nearest level.
  r.messaging_limit = 2000;
  f.Apply(r, kNow + 1, kNow + 1);
  EXPECT_EQ(EffectiveLimit(f.profile, f.pool), 2000);
  EXPECT_EQ(f.profile.LimitAt(f.pool.tier.level), 1000);
}

TEST(PlatformWordTest, NearestLevelTiesGoLowerAndUnlimitedIsTheTop) {
  PolicyProfile p = DefaultProfile();  // 1K, 10K, 100K, unlimited.
  EXPECT_EQ(p.LimitAt(NearestLevel(p, true, 5501)), 10000);
  EXPECT_EQ(p.LimitAt(NearestLevel(p, true, 5500)), 1000);  // Halfway: the lower.
  EXPECT_EQ(NearestLevel(p, true, kUnlimited), p.top_level());
}

TEST(PlatformWordTest, ARedRatingOverAnEstimatedHighIsTheRatingTheRulesUse) {
  Fixture f;
  f.pool.tier.pending_level = 1;
  f.pool.tier.pending_at_us = kNow + kHour;
  ASSERT_EQ(EffectiveRating(f.number, f.profile.quality, kNow), QualityRating::kHigh);
  PlatformReport r;
  r.quality = QualityRating::kLow;
  const PlatformChanges c = f.Apply(r);
  EXPECT_TRUE(c.number);
  EXPECT_EQ(EffectiveRating(f.number, f.profile.quality, kNow), QualityRating::kLow);
  EXPECT_EQ(f.number.history.RatingAt(f.profile.quality, kNow), QualityRating::kHigh)
      << "the estimate is kept beside it";
  // The rules followed: Flagged (the brief's profile), the upgrade cancelled.
  EXPECT_TRUE(f.number.standing.flagged());
  EXPECT_FALSE(f.pool.tier.has_pending_upgrade());
  // Before the platform spoke, the estimate was the rating.
  EXPECT_EQ(EffectiveRating(f.number, f.profile.quality, kNow - 1), QualityRating::kHigh);
}

TEST(PlatformWordTest, AnOlderReportThanTheOneOnRecordChangesNothing) {
  Fixture f;
  PlatformReport r;
  r.quality = QualityRating::kMedium;
  r.messaging_limit = 10000;
  f.Apply(r, kNow);
  PlatformReport older;
  older.quality = QualityRating::kLow;
  older.messaging_limit = 1000;
  const PlatformChanges c = f.Apply(older, kNow - kMinute, kNow + kMinute);
  EXPECT_FALSE(c.number);
  EXPECT_FALSE(c.pool);
  EXPECT_EQ(EffectiveRating(f.number, f.profile.quality, kNow + kMinute), QualityRating::kMedium);
  EXPECT_EQ(EffectiveLimit(f.profile, f.pool), 10000);
}

TEST(PlatformWordTest, FlaggedSaidOutrightReplacesTheEnginesAndRestrictionsAreKept) {
  Fixture f;
  PlatformReport r;
  r.flagged = true;
  r.restricted_until_us = kNow + kDay;
  r.disabled = true;
  r.throughput_mps = 1000;
  f.Apply(r);
  EXPECT_EQ(f.number.standing.flagged_since_us, kNow);
  EXPECT_EQ(f.number.platform.restricted_until_us, kNow + kDay);
  EXPECT_TRUE(f.number.platform.disabled);
  EXPECT_EQ(f.number.platform.throughput_mps, 1000);
  PlatformReport lift;
  lift.flagged = false;
  lift.disabled = false;
  lift.restricted_until_us = 0;
  f.Apply(lift, kNow + 1, kNow + 1);
  EXPECT_FALSE(f.number.standing.flagged());
  EXPECT_FALSE(f.number.platform.disabled);
  EXPECT_EQ(f.number.platform.restricted_until_us, 0);
}

TEST(PlatformWordTest, BadReportsAreRefusedNamingTheField) {
  PlatformReport r;
  r.messaging_limit = 0;
  EXPECT_NE(ValidatePlatformReport(r).message().find("messaging_limit"), absl::string_view::npos);
  r = {};
  r.throughput_mps = -5;
  EXPECT_NE(ValidatePlatformReport(r).message().find("throughput_mps"), absl::string_view::npos);
  r = {};
  r.messaging_limit = kUnlimited;
  EXPECT_TRUE(ValidatePlatformReport(r).ok());
}

}  // namespace
}  // namespace wapolicy
