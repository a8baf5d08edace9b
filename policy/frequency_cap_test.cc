#include "policy/frequency_cap.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace wapolicy {
namespace {

constexpr int64_t kSecond = 1000000;
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kT0 = int64_t{1767225600} * kSecond;  // 2026-01-01 00:00 UTC.

TEST(FrequencyCap, WindowIsTwentyFourHours) { EXPECT_EQ(kFrequencyCapWindowUs, kDay); }

TEST(FrequencyCap, CapOfZeroOrLessIsOff) {
  std::vector<int64_t> times;
  for (int i = 0; i < 50; ++i) times.push_back(kT0 + i * kSecond);
  const int64_t now = kT0 + kHour;
  EXPECT_EQ(CapRetryAfter(times, 0, now), std::nullopt);
  EXPECT_EQ(CapRetryAfter(times, -1, now), std::nullopt);
}

TEST(FrequencyCap, AllowsWhileFewerThanCapSendsInsideWindow) {
  const std::vector<int64_t> times = {kT0, kT0 + kHour};
  EXPECT_EQ(CapRetryAfter(times, 3, kT0 + 2 * kHour), std::nullopt);
  EXPECT_EQ(CapRetryAfter({}, 1, kT0), std::nullopt);
}

TEST(FrequencyCap, HoldsAtCapUntilTheCapThNewestSendLeavesTheWindow) {
  const std::vector<int64_t> times = {kT0, kT0 + kHour, kT0 + 2 * kHour, kT0 + 3 * kHour};
  const int64_t now = kT0 + 4 * kHour;
  // Cap 3: the 3rd newest is kT0 + 1h; it leaves the window 24h later.
  EXPECT_EQ(CapRetryAfter(times, 3, now), kT0 + kHour + kDay);
  // Cap 4: the 4th newest is kT0.
  EXPECT_EQ(CapRetryAfter(times, 4, now), kT0 + kDay);
  // Cap 1: the newest.
  EXPECT_EQ(CapRetryAfter(times, 1, now), kT0 + 3 * kHour + kDay);
  EXPECT_EQ(CapRetryAfter(times, 5, now), std::nullopt);
}

TEST(FrequencyCap, SendExactlyTwentyFourHoursOldNoLongerCounts) {
  const std::vector<int64_t> times = {kT0, kT0 + kHour};
  // 1 µs before kT0 leaves the window both sends count: capped until kT0 + 24h.
  EXPECT_EQ(CapRetryAfter(times, 2, kT0 + kDay - 1), kT0 + kDay);
  // At kT0 + 24h the send at kT0 is out of the window.
  EXPECT_EQ(CapRetryAfter(times, 2, kT0 + kDay), std::nullopt);
}

TEST(FrequencyCap, SendAllowedExactlyAtRetryAfter) {
  const std::vector<int64_t> times = {kT0 + 5 * kHour, kT0 + 6 * kHour, kT0 + 7 * kHour};
  const std::optional<int64_t> retry = CapRetryAfter(times, 2, kT0 + 8 * kHour);
  ASSERT_TRUE(retry.has_value());
  EXPECT_EQ(*retry, kT0 + 6 * kHour + kDay);
  EXPECT_TRUE(CapRetryAfter(times, 2, *retry - 1).has_value());
  EXPECT_EQ(CapRetryAfter(times, 2, *retry), std::nullopt);
}

TEST(FrequencyCap, StaleSendsInTheListDoNotCount) {
  // Sends recorded long ago (not trimmed since) are outside the window now.
  const std::vector<int64_t> times = {kT0, kT0 + kHour, kT0 + 2 * kDay};
  EXPECT_EQ(CapRetryAfter(times, 2, kT0 + 2 * kDay + kHour), std::nullopt);
  EXPECT_EQ(CapRetryAfter(times, 1, kT0 + 2 * kDay + kHour), kT0 + 3 * kDay);
}

TEST(FrequencyCap, RecordAppendsNowAndDropsSendsOutsideTheWindow) {
  std::vector<int64_t> times = {kT0, kT0 + kHour, kT0 + 2 * kHour};
  RecordCappedSend(times, 10, kT0 + kDay + kHour);  // kT0 and kT0 + 1h are out (<= now - 24h).
  EXPECT_EQ(times, (std::vector<int64_t>{kT0 + 2 * kHour, kT0 + kDay + kHour}));
}

TEST(FrequencyCap, RecordKeepsOnlyTheNewestCapSends) {
  std::vector<int64_t> times;
  for (int i = 0; i < 5; ++i) RecordCappedSend(times, 3, kT0 + i * kHour);
  EXPECT_EQ(times, (std::vector<int64_t>{kT0 + 2 * kHour, kT0 + 3 * kHour, kT0 + 4 * kHour}));
}

TEST(FrequencyCap, RecordWithCapOffKeepsOneSend) {
  std::vector<int64_t> times;
  RecordCappedSend(times, 0, kT0);
  RecordCappedSend(times, 0, kT0 + kHour);
  EXPECT_EQ(times, (std::vector<int64_t>{kT0 + kHour}));
  RecordCappedSend(times, -3, kT0 + 2 * kHour);
  EXPECT_EQ(times, (std::vector<int64_t>{kT0 + 2 * kHour}));
}

TEST(FrequencyCap, TrimmedListAnswersLikeTheFullSendLog) {
  // A customer sent to whenever the cap allows or at random; the trimmed list
  // must answer exactly as a brute-force count over every send ever made.
  for (int cap : {1, 2, 3, 10}) {
    std::mt19937_64 rng(1234 + cap);
    std::uniform_int_distribution<int64_t> gap(1, 3 * kHour);
    std::vector<int64_t> trimmed, all;
    int64_t now = kT0;
    int held = 0;
    for (int step = 0; step < 3000; ++step) {
      now += gap(rng);
      std::vector<int64_t> inside;
      for (int64_t t : all) {
        if (t > now - kDay) inside.push_back(t);
      }
      std::optional<int64_t> expected;
      if (static_cast<int>(inside.size()) >= cap) expected = inside[inside.size() - cap] + kDay;
      ASSERT_EQ(CapRetryAfter(trimmed, cap, now), expected) << "cap " << cap << " step " << step;
      if (expected.has_value()) {
        ++held;
      } else {
        RecordCappedSend(trimmed, cap, now);
        all.push_back(now);
        ASSERT_LE(trimmed.size(), static_cast<size_t>(cap));
        ASSERT_TRUE(std::is_sorted(trimmed.begin(), trimmed.end()));
        ASSERT_EQ(trimmed.back(), now);
      }
    }
    EXPECT_GT(held, 0) << "cap " << cap << " was never reached";
  }
}

}  // namespace
}  // namespace wapolicy
