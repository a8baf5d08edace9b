#include "policy/event_ids.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

constexpr int64_t kNow = 1'700'000'000 * kSecond;

TEST(EventTimeOfTest, UnsetMeansNowAndPastTimesAreKept) {
  EXPECT_EQ(EventTimeOf({}, kNow, 5 * kMinute).value(), kNow);
  EXPECT_EQ(EventTimeOf({kNow - 40 * kMinute, ""}, kNow, 5 * kMinute).value(), kNow - 40 * kMinute);
}

TEST(EventTimeOfTest, AheadWithinTheSkewCountsAsNowBeyondItIsRefusedNamingTheField) {
  EXPECT_EQ(EventTimeOf({kNow + 4 * kMinute, ""}, kNow, 5 * kMinute).value(), kNow);
  absl::StatusOr<int64_t> late = EventTimeOf({kNow + 6 * kMinute, ""}, kNow, 5 * kMinute);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(late.status().message().find("occurred_at"), absl::string_view::npos);
  EXPECT_FALSE(EventTimeOf({-5, ""}, kNow, 5 * kMinute).ok());
}

TEST(EventTimeOfTest, OverlongIdsAreRefusedNamingTheField) {
  absl::StatusOr<int64_t> r = EventTimeOf({0, std::string(kMaxEventIdBytes + 1, 'x')}, kNow, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("event_id"), absl::string_view::npos);
}

TEST(EventIdLogTest, RemembersTheAnswerPerNumber) {
  EventIdLog log;
  EXPECT_EQ(log.Find(1, "wamid.A:delivered"), nullptr);
  log.Remember(1, "wamid.A:delivered", kNow, 3);
  ASSERT_NE(log.Find(1, "wamid.A:delivered"), nullptr);
  EXPECT_EQ(log.Find(1, "wamid.A:delivered")->answer, 3u);
  EXPECT_EQ(log.Find(2, "wamid.A:delivered"), nullptr);  // Another number's.
  EXPECT_EQ(log.Find(1, "wamid.A:read"), nullptr);
  log.Remember(1, "wamid.A:delivered", kNow + 1, 9);  // The first answer stays.
  EXPECT_EQ(log.Find(1, "wamid.A:delivered")->answer, 3u);
  EXPECT_EQ(log.size(), 1u);
}

TEST(EventIdLogTest, ForgetsAfterTheRetentionAndBeyondTheBoundOldestFirst) {
  EventIdLog log;
  std::vector<std::pair<uint64_t, std::string>> dropped;
  auto note = [&](uint64_t n, absl::string_view id) { dropped.emplace_back(n, std::string(id)); };
  log.Remember(1, "a", kNow, 0);
  log.Remember(1, "b", kNow + kDay, 0);
  log.Remember(2, "c", kNow + 2 * kDay, 0);
  log.Expire(kNow + kWeek - 1, kWeek, 100, note);
  EXPECT_TRUE(dropped.empty());
  log.Expire(kNow + kWeek, kWeek, 100, note);  // "a" is 7 days old.
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0], std::make_pair(uint64_t{1}, std::string("a")));
  EXPECT_EQ(log.Find(1, "a"), nullptr);
  log.Expire(kNow + kWeek, kWeek, 1, note);  // Bound of one: "b" goes, "c" stays.
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_EQ(dropped[1].second, "b");
  EXPECT_NE(log.Find(2, "c"), nullptr);
}

TEST(EventIdLogTest, RestoredIdsExpireByAgeNotByKeyOrder) {
  EventIdLog log;
  log.Restore(1, "z-old", {kNow, 1});
  log.Restore(1, "a-new", {kNow + 3 * kDay, 2});
  log.FinishRestore();
  std::vector<std::string> dropped;
  log.Expire(kNow + kWeek, kWeek, 100,
             [&](uint64_t, absl::string_view id) { dropped.emplace_back(id); });
  EXPECT_EQ(dropped, std::vector<std::string>{"z-old"});
  EXPECT_EQ(log.Find(1, "a-new")->answer, 2u);
}

}  // namespace
}  // namespace wapolicy
