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

TEST(EventIdBudgetTest, OneBusyLogUsesWhatTheOthersLeaveAndRecyclesItsOwnOldestAtTheTotal) {
  EventIdBudget budget(/*total=*/8, /*floor=*/2);
  EventIdLog busy, quiet;
  busy.set_budget(&budget);
  quiet.set_budget(&budget);
  std::vector<std::string> dropped;
  auto note = [&](int64_t, const EventKey&) { dropped.push_back("x"); };
  quiet.Remember(7, "q", kNow, 0);
  for (int i = 0; i < 7; ++i) {  // Far beyond its even share of 2: the total is not reached.
    busy.Remember(1, std::to_string(i), kNow + i, 0);
    busy.Expire(kNow + i, kWeek, 0, note);
  }
  EXPECT_TRUE(dropped.empty());
  EXPECT_EQ(budget.used(), 8u);
  busy.Remember(1, "7", kNow + 7, 0);  // Nine in all: the busy log's oldest goes.
  busy.Expire(kNow + 7, kWeek, 0, note);
  EXPECT_EQ(dropped.size(), 1u);
  EXPECT_EQ(busy.Find(1, "0"), nullptr);
  EXPECT_NE(busy.Find(1, "1"), nullptr);
  EXPECT_NE(quiet.Find(7, "q"), nullptr);  // Never another log's.
  EXPECT_EQ(budget.used(), 8u);
}

TEST(EventIdBudgetTest, ALogKeepsItsFloorWhenOthersHoldTheRest) {
  EventIdBudget budget(/*total=*/4, /*floor=*/2);
  EventIdLog hog, other;
  hog.set_budget(&budget);
  other.set_budget(&budget);
  auto ignore = [](int64_t, const EventKey&) {};
  for (int i = 0; i < 4; ++i) hog.Remember(1, std::to_string(i), kNow + i, 0);
  other.Remember(2, "a", kNow + 10, 0);
  other.Remember(2, "b", kNow + 11, 0);
  other.Expire(kNow + 11, kWeek, 0, ignore);  // Over the total, but within its floor.
  EXPECT_EQ(other.size(), 2u);
  other.Remember(2, "c", kNow + 12, 0);
  other.Expire(kNow + 12, kWeek, 0, ignore);  // Beyond its floor: its own oldest goes.
  EXPECT_EQ(other.size(), 2u);
  EXPECT_EQ(other.Find(2, "a"), nullptr);
  hog.Expire(kNow + 12, kWeek, 0, ignore);  // The hog, beyond its floor, gives back to the total.
  EXPECT_EQ(hog.size(), 2u);
  EXPECT_EQ(budget.used(), 4u);
}

TEST(EventIdBudgetTest, ALogGivesItsIdsBackWhenDestroyed) {
  EventIdBudget budget(10, 1);
  {
    EventIdLog log;
    log.set_budget(&budget);
    log.Remember(1, "a", kNow, 0);
    log.Restore(EventKey::Of(1, "b"), {kNow, 0});
    EXPECT_EQ(budget.used(), 2u);
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(EventIdLogTest, EraseIfForgetsOneNumbersIdsKeepingTheRestInAgeOrder) {
  EventIdBudget budget(10, 1);
  EventIdLog log;
  log.set_budget(&budget);
  log.Remember(1, "a", kNow, 1);
  log.Remember(2, "b", kNow + 1, 2);
  log.Remember(1, "c", kNow + 2, 3);
  log.Remember(2, "d", kNow + 3, 4);
  EXPECT_EQ(log.EraseIf([](const EventKey& k) { return k.number == 1; }), 2u);
  EXPECT_EQ(log.size(), 2u);
  EXPECT_EQ(budget.used(), 2u);
  EXPECT_EQ(log.Find(1, "a"), nullptr);
  std::vector<uint32_t> answers;
  log.ForEach([&](const EventKey&, const EventIdLog::Entry& e) { answers.push_back(e.answer); });
  EXPECT_EQ(answers, (std::vector<uint32_t>{2, 4}));
  std::vector<EventKey> dropped;
  log.Expire(kNow + 1 + kWeek, kWeek, 100, [&](int64_t, const EventKey& k) { dropped.push_back(k); });
  EXPECT_EQ(dropped, std::vector<EventKey>{EventKey::Of(2, "b")});
}

}  // namespace
}  // namespace wapolicy
