#include "policy/event_ids.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "policy/stable_hash.h"
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
  std::vector<EventKey> dropped;
  auto note = [&](int64_t, const EventKey& k) { dropped.push_back(k); };
  log.Remember(1, "a", kNow, 0);
  log.Remember(1, "b", kNow + kDay, 0);
  log.Remember(2, "c", kNow + 2 * kDay, 0);
  log.Expire(kNow + kWeek - 1, kWeek, 100, note);
  EXPECT_TRUE(dropped.empty());
  log.Expire(kNow + kWeek, kWeek, 100, note);  // "a" is 7 days old.
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0], EventKey::Of(1, "a"));
  EXPECT_EQ(log.Find(1, "a"), nullptr);
  log.Expire(kNow + kWeek, kWeek, 1, note);  // Bound of one: "b" goes, "c" stays.
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_EQ(dropped[1], EventKey::Of(1, "b"));
  EXPECT_NE(log.Find(2, "c"), nullptr);
}

TEST(EventKeyTest, IsTheSameInEveryProcessAndTellsIdsApart) {
  // Stored keys must be found again after a restart: pinned values.
  const EventKey k = EventKey::Of(14155550100ULL, "wamid.HBgLMTQxNTU1NTAxMDA:delivered");
  EXPECT_EQ(k.h1, 0xa79ddb5a5a40295fULL);
  EXPECT_EQ(k.h2, 0xa0983251c5f1af95ULL);
  EXPECT_EQ(k.h1, StableHash64("wamid.HBgLMTQxNTU1NTAxMDA:delivered"));
  EXPECT_EQ(EventKey::Of(1, "ab"), EventKey::Of(1, "ab"));
  EXPECT_FALSE(EventKey::Of(1, "ab") == EventKey::Of(1, "ba"));
  EXPECT_FALSE(EventKey::Of(1, "ab") == EventKey::Of(2, "ab"));
  EXPECT_NE(EventKey::Of(1, "ab").h2, EventKey::Of(1, "ba").h2);
}

TEST(EventIdLogTest, RestoredIdsExpireByAgeNotByKeyOrder) {
  EventIdLog log;
  log.Restore(EventKey::Of(1, "z-old"), {kNow, 1});
  log.Restore(EventKey::Of(1, "a-new"), {kNow + 3 * kDay, 2});
  log.FinishRestore();
  std::vector<EventKey> dropped;
  log.Expire(kNow + kWeek, kWeek, 100, [&](int64_t, const EventKey& k) { dropped.push_back(k); });
  EXPECT_EQ(dropped, std::vector<EventKey>{EventKey::Of(1, "z-old")});
  EXPECT_EQ(log.Find(1, "a-new")->answer, 2u);
}

}  // namespace
}  // namespace wapolicy
