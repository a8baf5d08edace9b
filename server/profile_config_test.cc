#include "server/profile_config.h"

#include "gtest/gtest.h"

namespace wapolicy {
namespace {

TEST(ProfileConfigTest, OverridesOnlyWhatIsSet) {
  auto p =
      ApplyProfileConfig(DefaultProfile(),
                         "name: 'acme' revision: 7 ladder: [10, 20, -1] verified_start_level: 0 "
                         "quality { weight_spam: 5 low_threshold: 50 }");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "acme");
  EXPECT_EQ(p->revision, 7);
  EXPECT_EQ(p->ladder, (std::vector<int64_t>{10, 20, -1}));
  EXPECT_EQ(p->quality.weights[2], 5);
  EXPECT_EQ(p->quality.low_threshold, 50);
  EXPECT_EQ(p->quality.medium_threshold, DefaultProfile().quality.medium_threshold);
  EXPECT_EQ(p->service_window, absl::Hours(24));
  auto q = ApplyProfileConfig(
      DefaultProfile(),
      "frequency_cap_per_day: 0 scoped_opt_in: false opt_out_keywords: ['BASTA']");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->frequency_cap_per_day, 0);
  EXPECT_FALSE(q->scoped_opt_in);
  EXPECT_EQ(q->opt_out_keywords, std::vector<std::string>{"BASTA"});
  EXPECT_FALSE(ApplyProfileConfig(DefaultProfile(), "frequency_cap_per_day: -1").ok());
}

TEST(ProfileConfigTest, RejectsBadTextAndInconsistentProfiles) {
  EXPECT_FALSE(ApplyProfileConfig(DefaultProfile(), "ladder: 'x'").ok());
  EXPECT_FALSE(ApplyProfileConfig(DefaultProfile(), "ladder: [10, 5]").ok());
  EXPECT_FALSE(ApplyProfileConfig(DefaultProfile(), "ladder: [-1, 5]").ok());
  EXPECT_FALSE(ApplyProfileConfig(DefaultProfile(), "verified_start_level: 9").ok());
  EXPECT_FALSE(BaseProfile("nope").ok());
  EXPECT_EQ(BaseProfile("platform-2025-10")->limit_scope, LimitScope::kPerPortfolio);
}

}  // namespace
}  // namespace wapolicy
