#include "policy/state_watch.h"

#include "gtest/gtest.h"

namespace wapolicy {
namespace {

constexpr int64_t kNow = 1'800'000'000'000'000;

NumberSnapshot Healthy() {
  NumberSnapshot s;
  s.level = 1;
  s.limit = 1000;
  s.estimated_limit = 1000;
  s.used = 10;
  return s;
}

std::vector<StateEventKind> Kinds(const std::vector<StateEvent>& events) {
  std::vector<StateEventKind> k;
  for (const StateEvent& e : events) k.push_back(e.kind);
  return k;
}

TEST(StateWatchTest, NoChangeMakesNoEvent) {
  const NumberSnapshot s = Healthy();
  EXPECT_TRUE(DiffWatched(WatchOf(s, kNow), WatchOf(s, kNow), s).empty());
}

TEST(StateWatchTest, QualityDropToLowThatFlagsMakesQualityAndFlaggedEvents) {
  const NumberSnapshot before = Healthy();
  NumberSnapshot s = Healthy();
  s.quality = QualityRating::kLow;
  s.flagged = true;
  s.status = NumberStatus::kFlagged;
  s.signals_7d[static_cast<int>(SignalKind::kBlockSpam)] = 4;
  s.flag_settles_at = absl::FromUnixMicros(kNow) + absl::Hours(24 * 7);
  const std::vector<StateEvent> e = DiffWatched(WatchOf(before, kNow), WatchOf(s, kNow), s);
  ASSERT_EQ(Kinds(e), (std::vector<StateEventKind>{StateEventKind::kQualityChanged,
                                                   StateEventKind::kFlagged}));
  EXPECT_EQ(e[0].old_value, "HIGH");
  EXPECT_EQ(e[0].new_value, "LOW");
  EXPECT_NE(e[0].reason.find("4 "), std::string::npos) << e[0].reason;
  EXPECT_NE(e[1].reason.find("settles by"), std::string::npos) << e[1].reason;
  // And back: settled, quality up.
  const std::vector<StateEvent> back = DiffWatched(WatchOf(s, kNow), WatchOf(before, kNow), before);
  EXPECT_EQ(Kinds(back), (std::vector<StateEventKind>{StateEventKind::kQualityChanged,
                                                      StateEventKind::kFlagSettled}));
}

TEST(StateWatchTest, UsageCrossingEightyThenAllOfTheLimitMakesOneEventEach) {
  NumberSnapshot s = Healthy();
  WatchedNumber w = WatchOf(s, kNow);
  s.used = 799;
  EXPECT_TRUE(DiffWatched(w, WatchOf(s, kNow), s).empty());
  s.used = 800;
  std::vector<StateEvent> e = DiffWatched(w, WatchOf(s, kNow), s);
  ASSERT_EQ(Kinds(e), std::vector<StateEventKind>{StateEventKind::kLimitNearlyUsed});
  EXPECT_EQ(e[0].new_value, "800/1000");
  w = WatchOf(s, kNow);
  s.used = 1000;
  s.restricted = true;
  s.status = NumberStatus::kRestricted;
  e = DiffWatched(w, WatchOf(s, kNow), s);
  ASSERT_EQ(Kinds(e), std::vector<StateEventKind>{StateEventKind::kRestricted});
  w = WatchOf(s, kNow);
  s.used = 999;
  s.restricted = false;
  e = DiffWatched(w, WatchOf(s, kNow), s);
  EXPECT_EQ(Kinds(e), std::vector<StateEventKind>{StateEventKind::kRestrictionLifted});
}

TEST(StateWatchTest, UpgradeScheduledThenTierChanged) {
  NumberSnapshot s = Healthy();
  const WatchedNumber w0 = WatchOf(s, kNow);
  s.pending_level = 2;
  s.pending_limit = 10000;
  s.pending_at = absl::FromUnixMicros(kNow) + absl::Hours(24);
  s.recent_unique = 500;
  const WatchedNumber w1 = WatchOf(s, kNow);
  std::vector<StateEvent> e = DiffWatched(w0, w1, s);
  ASSERT_EQ(Kinds(e), std::vector<StateEventKind>{StateEventKind::kUpgradeScheduled});
  EXPECT_EQ(e[0].new_value, "10000");
  EXPECT_TRUE(DiffWatched(w1, WatchOf(s, kNow), s).empty());  // Told once.
  s.pending_level = -1;
  s.level = 2;
  s.limit = 10000;
  e = DiffWatched(w1, WatchOf(s, kNow), s);
  ASSERT_EQ(Kinds(e), std::vector<StateEventKind>{StateEventKind::kTierChanged});
  EXPECT_EQ(e[0].old_value, "1000");
  EXPECT_EQ(e[0].new_value, "10000");
  EXPECT_EQ(e[0].reason, "upgrade");
}

TEST(StateWatchTest, TemplatesPausedDisabledAndResumed) {
  NumberSnapshot s = Healthy();
  const WatchedNumber w0 = WatchOf(s, kNow);
  s.paused_templates.push_back({"promo", "en_US", absl::FromUnixMicros(kNow) + absl::Hours(3), false});
  const WatchedNumber w1 = WatchOf(s, kNow);
  std::vector<StateEvent> e = DiffWatched(w0, w1, s);
  ASSERT_EQ(Kinds(e), std::vector<StateEventKind>{StateEventKind::kTemplatePaused});
  EXPECT_EQ(e[0].old_value, "promo/en_US");
  EXPECT_NE(e[0].reason.find("paused until"), std::string::npos);
  s.paused_templates[0].disabled = true;
  s.paused_templates[0].until = absl::InfinitePast();
  const WatchedNumber w2 = WatchOf(s, kNow);
  EXPECT_EQ(Kinds(DiffWatched(w1, w2, s)),
            std::vector<StateEventKind>{StateEventKind::kTemplateDisabled});
  s.paused_templates.clear();
  EXPECT_EQ(Kinds(DiffWatched(w2, WatchOf(s, kNow), s)),
            std::vector<StateEventKind>{StateEventKind::kTemplateResumed});
}

TEST(StateWatchTest, MarketingHoldAndAccountRestrictionStartAndEnd) {
  NumberSnapshot s = Healthy();
  const WatchedNumber w0 = WatchOf(s, kNow);
  s.marketing_holds = 2;
  s.platform.restricted_until_us = kNow + 3'600'000'000;
  const WatchedNumber w1 = WatchOf(s, kNow);
  EXPECT_EQ(Kinds(DiffWatched(w0, w1, s)),
            (std::vector<StateEventKind>{StateEventKind::kMarketingHoldStarted,
                                         StateEventKind::kAccountRestricted}));
  // The restriction's time passes: lifted, by the clock alone.
  s.marketing_holds = 0;
  const WatchedNumber w2 = WatchOf(s, kNow + 3'600'000'001);
  EXPECT_EQ(Kinds(DiffWatched(w1, w2, s)),
            (std::vector<StateEventKind>{StateEventKind::kMarketingHoldEnded,
                                         StateEventKind::kAccountRestrictionLifted}));
}

TEST(StateWatchTest, AFreshBaselineReportsWhatAlreadyHappenedButNotTheStartingTier) {
  NumberSnapshot s = Healthy();
  s.level = 3;
  s.limit = s.estimated_limit = 100000;
  EXPECT_TRUE(DiffWatched(FreshWatch(s), WatchOf(s, kNow), s).empty());
  s.flagged = true;
  s.quality = QualityRating::kLow;
  EXPECT_EQ(Kinds(DiffWatched(FreshWatch(s), WatchOf(s, kNow), s)),
            (std::vector<StateEventKind>{StateEventKind::kQualityChanged,
                                         StateEventKind::kFlagged}));
  // The platform's limit, set before the first sight, differs from the estimate.
  s.flagged = false;
  s.quality = QualityRating::kHigh;
  s.limit = 250;
  s.platform_limit = {true, 250, kNow};
  const std::vector<StateEvent> e = DiffWatched(FreshWatch(s), WatchOf(s, kNow), s);
  ASSERT_EQ(Kinds(e), std::vector<StateEventKind>{StateEventKind::kTierChanged});
  EXPECT_EQ(e[0].reason, "the platform's limit");
}

TEST(StateWatchTest, BaselineRoundTripsAndGarbageIsDataLoss) {
  NumberSnapshot s = Healthy();
  s.flagged = true;
  s.paused_templates.push_back({"a", "en", absl::InfinitePast(), true});
  const WatchedNumber w = WatchOf(s, kNow);
  absl::StatusOr<WatchedNumber> back = DecodeWatched(EncodeWatched(w));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, w);
  EXPECT_EQ(DecodeWatched("\xff\xff\xff").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace wapolicy
