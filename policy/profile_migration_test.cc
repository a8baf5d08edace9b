#include "policy/profile_migration.h"

#include "gtest/gtest.h"

namespace wapolicy {
namespace {

const std::vector<int64_t> kBrief = {250, 1000, 10000, 100000, kUnlimited};
const std::vector<int64_t> kPlatform = {250, 2000, 10000, 100000, kUnlimited};

TEST(ProfileMigrationTest, SameLadderKeepsEveryLevel) {
  for (int l = 0; l < 5; ++l) EXPECT_EQ(MapLevel(kBrief, l, kBrief), l);
}

TEST(ProfileMigrationTest, NearestByValue) {
  // 1,000 is 750 from 250 and 1,000 from 2,000.
  EXPECT_EQ(MapLevel(kBrief, 1, kPlatform), 0);
  // 2,000 is 1,000 from 1,000 and 8,000 from 10,000.
  EXPECT_EQ(MapLevel(kPlatform, 1, kBrief), 1);
  EXPECT_EQ(MapLevel(kBrief, 2, kPlatform), 2);
  EXPECT_EQ(MapLevel(kBrief, 3, kPlatform), 3);
  EXPECT_EQ(MapLevel({5000}, 0, {1000, 8000, 20000}), 1);
  EXPECT_EQ(MapLevel({100}, 0, {1000, 8000}), 0);    // Below the whole ladder.
  EXPECT_EQ(MapLevel({90000}, 0, {1000, 8000}), 1);  // Above every finite level.
}

TEST(ProfileMigrationTest, TieGoesToTheLowerLevel) {
  // 1,500 is 500 from both 1,000 and 2,000.
  EXPECT_EQ(MapLevel({1500}, 0, {1000, 2000, kUnlimited}), 0);
  EXPECT_EQ(MapLevel({10}, 0, {5, 15}), 0);
}

TEST(ProfileMigrationTest, UnlimitedMapsToTheTopAndFiniteNeverToUnlimited) {
  EXPECT_EQ(MapLevel(kBrief, 4, kPlatform), 4);
  EXPECT_EQ(MapLevel({kUnlimited}, 0, {100, 200}), 1);  // Top even if finite.
  EXPECT_EQ(MapLevel({1000000000}, 0, kPlatform), 3);   // Not unlimited.
  EXPECT_EQ(MapLevel({1000}, 0, {kUnlimited}), 0);      // Nothing else to pick.
}

TEST(ProfileMigrationTest, LevelsPastTheTopCountAsTheTop) {
  EXPECT_EQ(MapLevel(kBrief, 9, kPlatform), 4);
  EXPECT_EQ(MapLevel(kBrief, -1, kPlatform), 0);
}

TEST(ProfileMigrationTest, PendingUpgradesAreMappedOrDropped) {
  // 1,000 -> 10,000 pending: 250, with 10,000 pending.
  MappedPoolLevels m = MapPoolLevels(kBrief, kPlatform, 1, 2);
  EXPECT_EQ(m.level, 0);
  EXPECT_EQ(m.pending_level, 2);
  // 250 -> 1,000 pending: 1,000 maps to 250, not above the new level: dropped.
  m = MapPoolLevels(kBrief, kPlatform, 0, 1);
  EXPECT_EQ(m.level, 0);
  EXPECT_EQ(m.pending_level, -1);
  // No pending upgrade stays none.
  m = MapPoolLevels(kBrief, kPlatform, 3, -1);
  EXPECT_EQ(m.level, 3);
  EXPECT_EQ(m.pending_level, -1);
  // Same ladder: unchanged.
  m = MapPoolLevels(kBrief, kBrief, 1, 2);
  EXPECT_EQ(m.level, 1);
  EXPECT_EQ(m.pending_level, 2);
}

TEST(ProfileMigrationTest, DifferencesAndMessage) {
  const ProfileIdentity brief = IdentityOf(DefaultProfile());
  const ProfileIdentity platform = IdentityOf(Portfolio2025Profile());
  EXPECT_EQ(ProfileDifferences(brief, brief), std::vector<std::string>{});
  EXPECT_EQ(ProfileDifferences(brief, platform),
            (std::vector<std::string>{"name", "ladder", "limit scope"}));
  ProfileIdentity rev2 = brief;
  rev2.revision = 2;
  EXPECT_EQ(ProfileDifferences(brief, rev2), std::vector<std::string>{"revision"});
  EXPECT_EQ(DescribeProfile(brief),
            "brief-2023 rev 1 ladder [250,1000,10000,100000,unlimited] per number");
  EXPECT_EQ(
      ProfileMismatchMessage(brief, platform),
      "data directory was written under profile brief-2023 rev 1 ladder "
      "[250,1000,10000,100000,unlimited] per number; this server runs platform-2025-10 rev 1 "
      "ladder [250,2000,10000,100000,unlimited] per portfolio: differs in name, ladder, limit "
      "scope; restart with --migrate_profile to move numbers onto the new ladder");
}

}  // namespace
}  // namespace wapolicy
