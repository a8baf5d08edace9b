#include "policy/quality.h"

#include "gtest/gtest.h"

namespace wapolicy {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01

std::deque<QualitySignal> Signals(std::initializer_list<std::pair<absl::Duration, SignalKind>> s) {
  std::deque<QualitySignal> out;
  for (auto& [offset, kind] : s) out.push_back({absl::ToUnixMicros(kT0 + offset), kind});
  return out;
}

TEST(QualityModelTest, WeightsBlocksByReasonAndDecaysByHalfLife) {
  QualityModel m;
  auto one_spam = Signals({{absl::ZeroDuration(), SignalKind::kBlockSpam}});
  EXPECT_DOUBLE_EQ(m.Score(one_spam, kT0), 3.0);
  EXPECT_DOUBLE_EQ(m.Score(one_spam, kT0 + absl::Hours(48)), 1.5);  // One half-life.
  EXPECT_DOUBLE_EQ(m.Score(one_spam, kT0 + absl::Hours(96)), 0.75);
  auto mild = Signals({{absl::ZeroDuration(), SignalKind::kBlockNoLongerNeeded}});
  EXPECT_LT(m.Score(mild, kT0), m.Score(one_spam, kT0));
  auto report = Signals({{absl::ZeroDuration(), SignalKind::kReport}});
  EXPECT_DOUBLE_EQ(m.Score(report, kT0), 3.0);
}

TEST(QualityModelTest, OnlyTheLastSevenDaysCount) {
  QualityModel m;
  auto s = Signals({{absl::ZeroDuration(), SignalKind::kReport}});
  EXPECT_GT(m.Score(s, kT0 + absl::Hours(24 * 7) - absl::Seconds(1)), 0);
  EXPECT_EQ(m.Score(s, kT0 + absl::Hours(24 * 7)), 0);
  EXPECT_EQ(m.Score(s, kT0 - absl::Seconds(1)), 0);  // Future signals do not count.
}

TEST(QualityModelTest, ThresholdsMapScoreToRating) {
  QualityModel m;
  EXPECT_EQ(m.RatingFor(0), QualityRating::kHigh);
  EXPECT_EQ(m.RatingFor(9.99), QualityRating::kHigh);
  EXPECT_EQ(m.RatingFor(10), QualityRating::kMedium);
  EXPECT_EQ(m.RatingFor(29.9), QualityRating::kMedium);
  EXPECT_EQ(m.RatingFor(30), QualityRating::kLow);
  std::deque<QualitySignal> s;
  for (int i = 0; i < 10; ++i) s.push_back({absl::ToUnixMicros(kT0), SignalKind::kBlockSpam});
  EXPECT_EQ(m.Rate(s, kT0), QualityRating::kLow);
  EXPECT_EQ(m.Rate(s, kT0 + absl::Hours(48)), QualityRating::kMedium);  // 15
  EXPECT_EQ(m.Rate(s, kT0 + absl::Hours(96)), QualityRating::kHigh);    // 7.5
}

TEST(QualityModelTest, ValidateRejectsNonsense) {
  QualityModel m;
  EXPECT_TRUE(m.Validate().ok());
  m.low_threshold = 5;
  EXPECT_FALSE(m.Validate().ok());
  m = QualityModel();
  m.weights[0] = -1;
  EXPECT_FALSE(m.Validate().ok());
}

}  // namespace
}  // namespace wapolicy
