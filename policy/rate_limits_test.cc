#include "policy/rate_limits.h"

#include "gtest/gtest.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

constexpr int64_t kNow = 1'767'225'600 * kSecond;

TEST(ThroughputTest, EightyGoInOneInstantAndThe81stWaitsOneInterval) {
  ThroughputState s;
  for (int i = 0; i < 80; ++i) {
    ASSERT_EQ(ThroughputEarliest(s, 80, kNow), kNow) << i;
    TakeThroughput(s, 80, kNow);
  }
  EXPECT_EQ(ThroughputEarliest(s, 80, kNow), kNow + 12500);  // 12.5 ms.
  // A second later the whole allowance is back.
  const int64_t later = kNow + kSecond;
  for (int i = 0; i < 80; ++i) {
    ASSERT_EQ(ThroughputEarliest(s, 80, later), later) << i;
    TakeThroughput(s, 80, later);
  }
  EXPECT_GT(ThroughputEarliest(s, 80, later), later);
}

TEST(ThroughputTest, SteadyAtTheRateNeverWaits) {
  ThroughputState s;
  for (int i = 0; i < 10000; ++i) {
    const int64_t t = kNow + i * 1000;  // 1,000 a second at 1,000/s.
    ASSERT_EQ(ThroughputEarliest(s, 1000, t), t) << i;
    TakeThroughput(s, 1000, t);
  }
}

TEST(ThroughputTest, PacedMessagesAreSpreadAtTheRate) {
  ThroughputState s;
  int64_t last = 0;
  for (int i = 0; i < 100; ++i) {
    const int64_t at = ThroughputEarliest(s, 20, kNow);
    TakeThroughput(s, 20, at);
    last = at;
  }
  // 20 at once, then one every 50 ms: the 100th goes 80 intervals later.
  EXPECT_EQ(last, kNow + 80 * 50000);
}

TEST(PairRateTest, FortyFiveInABurstThenOneEverySixSeconds) {
  PairRateState s;
  PairRateParams p;
  for (int i = 0; i < 45; ++i) {
    ASSERT_EQ(PairEarliest(s, p, kNow), kNow) << i;
    TakePair(s, p, kNow);
  }
  // The 46th waits until the 45 borrowed intervals are repaid.
  EXPECT_EQ(PairEarliest(s, p, kNow), kNow + 45 * 6 * kSecond);
  int64_t t = kNow + 45 * 6 * kSecond;
  TakePair(s, p, t);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(PairEarliest(s, p, t + 6 * kSecond), t + 6 * kSecond) << "one per 6 s";
    t += 6 * kSecond;
    TakePair(s, p, t);
  }
}

TEST(PairRateTest, InsideAWindowTheBurstBorrowsAndAfterItTheDebtIsPaidFirst) {
  PairRateState s;
  PairRateParams p;
  TakePair(s, p, kNow);
  EXPECT_EQ(PairEarliest(s, p, kNow + 3 * kSecond), kNow + 3 * kSecond);  // Burst: borrows.
  TakePair(s, p, kNow + 3 * kSecond);
  // The window (6 s from its first message) has closed; two intervals are owed.
  EXPECT_EQ(PairEarliest(s, p, kNow + 7 * kSecond), kNow + 12 * kSecond);
}

TEST(PairRateTest, AfterABurstOfTwentyTheNextWaitsAboutTwoMinutes) {
  PairRateState s;
  PairRateParams p;
  for (int i = 0; i < 20; ++i) TakePair(s, p, kNow + i * 100000);  // 20 within 2 s.
  const int64_t after_window = kNow + 7 * kSecond;
  EXPECT_EQ(PairEarliest(s, p, after_window), kNow + 20 * 6 * kSecond);
  EXPECT_FALSE(PairIdle(s, p, after_window));
  EXPECT_TRUE(PairIdle(s, p, kNow + 20 * 6 * kSecond));
}

}  // namespace
}  // namespace wapolicy
