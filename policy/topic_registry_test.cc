#include "policy/topic_registry.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "policy/consent.h"

namespace wapolicy {
namespace {

std::string Topic(int i) { return absl::StrCat("topic_", i); }

// Registers `n` distinct topics, one request each.
void Fill(TopicRegistry& r, int n, absl::string_view prefix = "topic_") {
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<TopicSet> set = r.Intern({absl::StrCat(prefix, i)});
    ASSERT_TRUE(set.ok()) << i << ": " << set.status();
  }
}

TEST(TopicRegistry, NoNamesMeansAllTopicsAndRegistersNothing) {
  TopicRegistry r;
  absl::StatusOr<TopicSet> set = r.Intern({});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(*set, kAllTopics);
  EXPECT_EQ(r.size(), 0u);
}

TEST(TopicRegistry, EachDistinctNameGetsItsOwnBitInRegistrationOrder) {
  TopicRegistry r;
  absl::StatusOr<TopicSet> ab = r.Intern({"a", "b"});
  ASSERT_TRUE(ab.ok());
  EXPECT_EQ(r.Bit("a"), TopicSet{1});
  EXPECT_EQ(r.Bit("b"), TopicSet{2});
  EXPECT_EQ(*ab, TopicSet{3});
  absl::StatusOr<TopicSet> c = r.Intern({"c"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, TopicSet{4});
  EXPECT_EQ(r.size(), 3u);
}

TEST(TopicRegistry, KnownNameKeepsItsBit) {
  TopicRegistry r;
  ASSERT_TRUE(r.Intern({"a", "b"}).ok());
  absl::StatusOr<TopicSet> again = r.Intern({"b"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, TopicSet{2});
  absl::StatusOr<TopicSet> mixed = r.Intern({"b", "new", "a"});
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(*mixed, TopicSet{1 | 2 | 4});
  EXPECT_EQ(r.size(), 3u);
}

TEST(TopicRegistry, RepeatedNameInOneRequestIsOneTopic) {
  TopicRegistry r;
  absl::StatusOr<TopicSet> set = r.Intern({"a", "a", "a"});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(*set, TopicSet{1});
  EXPECT_EQ(r.size(), 1u);
}

TEST(TopicRegistry, NameMustBeOneToSixtyFourCharacters) {
  TopicRegistry r;
  EXPECT_EQ(r.Intern({""}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Intern({std::string(65, 'x')}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.size(), 0u);
  EXPECT_TRUE(r.Intern({std::string(64, 'x')}).ok());
  EXPECT_TRUE(r.Intern({"x"}).ok());
  EXPECT_EQ(r.size(), 2u);
}

TEST(TopicRegistry, InvalidNameInARequestRegistersNoneOfItsNames) {
  TopicRegistry r;
  EXPECT_EQ(r.Intern({"good", "", "also_good"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.size(), 0u);
  EXPECT_EQ(r.Bit("good"), 0u);
  EXPECT_EQ(r.Bit("also_good"), 0u);
}

TEST(TopicRegistry, SixtyThreeTopicsThenResourceExhausted) {
  TopicRegistry r;
  TopicSet seen = 0;
  for (int i = 0; i < kMaxTopics; ++i) {
    absl::StatusOr<TopicSet> set = r.Intern({Topic(i)});
    ASSERT_TRUE(set.ok()) << i << ": " << set.status();
    EXPECT_EQ(*set, TopicSet{1} << i);
    EXPECT_EQ(seen & *set, 0u) << "bit reused at " << i;
    seen |= *set;
  }
  EXPECT_EQ(r.size(), 63u);
  EXPECT_NE(seen, kAllTopics);  // 63 topics never look like "every topic".
  absl::StatusOr<TopicSet> over = r.Intern({Topic(63)});
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(r.size(), 63u);
  EXPECT_EQ(r.Bit(Topic(63)), 0u);
  // Known names are still served once the registry is full.
  absl::StatusOr<TopicSet> known = r.Intern({Topic(0), Topic(62)});
  ASSERT_TRUE(known.ok());
  EXPECT_EQ(*known, TopicSet{1} | (TopicSet{1} << 62));
}

TEST(TopicRegistry, RefusedInternRegistersNothing) {
  TopicRegistry r;
  Fill(r, 62);
  // Two new names would make 64: refused, and neither is registered.
  absl::StatusOr<TopicSet> refused = r.Intern({"new_a", Topic(5), "new_b"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(r.size(), 62u);
  EXPECT_EQ(r.Bit("new_a"), 0u);
  EXPECT_EQ(r.Bit("new_b"), 0u);
  // The 63rd slot is still free for one of them.
  absl::StatusOr<TopicSet> one = r.Intern({"new_b"});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, TopicSet{1} << 62);
}

TEST(TopicRegistry, RepeatedNewNameCountsOnceTowardTheTopicLimit) {
  // The header limits *distinct* names: a request naming one new topic twice
  // adds one topic, which fits in the last free slot.
  TopicRegistry r;
  Fill(r, 62);
  absl::StatusOr<TopicSet> set = r.Intern({"last", "last"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(*set, TopicSet{1} << 62);
  EXPECT_EQ(r.size(), 63u);
}

TEST(TopicRegistry, TwoBusinessesRegistriesAreIndependent) {
  TopicRegistry first, second;
  Fill(first, kMaxTopics, "first_");
  EXPECT_EQ(first.Intern({"one_more"}).status().code(), absl::StatusCode::kResourceExhausted);
  // The other business still has all 63 topics to itself, from bit 0.
  absl::StatusOr<TopicSet> s = second.Intern({"one_more"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, TopicSet{1});
  Fill(second, kMaxTopics - 1, "second_");
  EXPECT_EQ(second.size(), 63u);
  // Names are per registry.
  EXPECT_EQ(first.Bit("one_more"), 0u);
  EXPECT_EQ(second.Bit("first_0"), 0u);
  EXPECT_EQ(first.Bit("first_0"), TopicSet{1});
}

TEST(TopicRegistry, NamesRoundTripInRegistrationOrder) {
  TopicRegistry r;
  ASSERT_TRUE(r.Intern({"alpha", "beta"}).ok());
  absl::StatusOr<TopicSet> set = r.Intern({"delta", "alpha", "gamma"});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(r.Names(*set), (std::vector<std::string>{"alpha", "delta", "gamma"}));
  EXPECT_EQ(r.Names(r.Bit("beta")), (std::vector<std::string>{"beta"}));
  EXPECT_TRUE(r.Names(0).empty());
  // Re-interning the names gives back the same set.
  absl::StatusOr<TopicSet> again = r.Intern(r.Names(*set));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *set);
}

TEST(TopicRegistry, NamesRoundTripForAllSixtyThreeTopics) {
  TopicRegistry r;
  std::vector<std::string> all;
  for (int i = 0; i < kMaxTopics; ++i) all.push_back(Topic(i));
  absl::StatusOr<TopicSet> set = r.Intern(all);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(r.Names(*set), all);
}

TEST(TopicRegistry, NamesOfAllTopicsIsEmpty) {
  TopicRegistry r;
  ASSERT_TRUE(r.Intern({"a", "b"}).ok());
  EXPECT_TRUE(r.Names(kAllTopics).empty());
}

TEST(TopicRegistry, AllTopicsCoversEveryNameKnownOrNot) {
  TopicRegistry r;
  ASSERT_TRUE(r.Intern({"a"}).ok());
  EXPECT_TRUE(r.Covers(kAllTopics, "a"));
  EXPECT_TRUE(r.Covers(kAllTopics, "never_registered"));
  EXPECT_TRUE(TopicRegistry().Covers(kAllTopics, "anything"));
}

TEST(TopicRegistry, SetCoversExactlyItsOwnTopics) {
  TopicRegistry r;
  absl::StatusOr<TopicSet> ab = r.Intern({"a", "b"});
  ASSERT_TRUE(ab.ok());
  ASSERT_TRUE(r.Intern({"c"}).ok());
  EXPECT_TRUE(r.Covers(*ab, "a"));
  EXPECT_TRUE(r.Covers(*ab, "b"));
  EXPECT_FALSE(r.Covers(*ab, "c"));
  EXPECT_FALSE(r.Covers(0, "a"));
}

TEST(TopicRegistry, UnknownTopicHasBitZeroAndIsNotCovered) {
  TopicRegistry r;
  Fill(r, kMaxTopics);
  EXPECT_EQ(r.Bit("unknown"), 0u);
  // Not even by a set holding every registered topic (only kAllTopics covers it).
  const TopicSet every_registered = (TopicSet{1} << 63) - 1;
  EXPECT_FALSE(r.Covers(every_registered, "unknown"));
  EXPECT_FALSE(r.Covers(every_registered, ""));
  EXPECT_TRUE(r.Covers(every_registered, Topic(62)));
}

}  // namespace
}  // namespace wapolicy
