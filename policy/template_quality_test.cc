#include "policy/template_quality.h"

#include "gtest/gtest.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

constexpr int64_t kNow = 1'767'225'600 * kSecond;

MessageTemplate Approved() {
  return {"order_update", "en_US", TemplateCategory::kUtility, TemplateStatus::kApproved};
}

TEST(TemplateQualityTest, RedPausesThreeHoursThenSixThenTheThirdDisables) {
  MessageTemplate t = Approved();
  EXPECT_TRUE(OnTemplateQuality(t, TemplateQuality::kRed, kNow));
  EXPECT_EQ(t.paused_until_us, kNow + 3 * kHour);
  EXPECT_TRUE(PausedAt(t, kNow + 3 * kHour - 1));
  EXPECT_FALSE(PausedAt(t, kNow + 3 * kHour));
  EXPECT_FALSE(OnTemplateQuality(t, TemplateQuality::kRed, kNow + kHour)) << "still RED";
  EXPECT_TRUE(OnTemplateQuality(t, TemplateQuality::kYellow, kNow + 4 * kHour));
  EXPECT_TRUE(OnTemplateQuality(t, TemplateQuality::kRed, kNow + 5 * kHour));
  EXPECT_EQ(t.paused_until_us, kNow + 11 * kHour);
  EXPECT_TRUE(OnTemplateQuality(t, TemplateQuality::kGreen, kNow + 12 * kHour));
  EXPECT_TRUE(OnTemplateQuality(t, TemplateQuality::kRed, kNow + 13 * kHour));
  EXPECT_EQ(t.status, TemplateStatus::kDisabled);
  EXPECT_EQ(t.red_pauses, 3);
}

TEST(TemplateQualityTest, UnpauseLiftsAPauseAndReinstatedADisable) {
  MessageTemplate t = Approved();
  OnTemplateQuality(t, TemplateQuality::kRed, kNow);
  EXPECT_TRUE(LiftPause(t, /*reinstate=*/false));
  EXPECT_FALSE(PausedAt(t, kNow));
  t.status = TemplateStatus::kDisabled;
  EXPECT_TRUE(LiftPause(t, /*reinstate=*/true));
  EXPECT_EQ(t.status, TemplateStatus::kApproved);
  EXPECT_EQ(t.red_pauses, 0);
}

TEST(TemplateQualityTest, ThePlatformsStatusIsTakenAsSaidAndEndsAPause) {
  MessageTemplate t = Approved();
  OnTemplateQuality(t, TemplateQuality::kRed, kNow);
  TemplateWord rejected;
  rejected.status = TemplateStatus::kRejected;
  EXPECT_TRUE(ApplyTemplateWord(t, rejected, kNow + kHour));
  EXPECT_EQ(t.status, TemplateStatus::kRejected);
  EXPECT_FALSE(PausedAt(t, kNow + kHour));
  EXPECT_EQ(t.red_pauses, 1) << "the RED count is kept";
  EXPECT_FALSE(ApplyTemplateWord(t, rejected, kNow + kHour)) << "said twice, changed once";
  TemplateWord approved;
  approved.status = TemplateStatus::kApproved;
  EXPECT_TRUE(ApplyTemplateWord(t, approved, kNow + 2 * kHour));
  EXPECT_EQ(t.status, TemplateStatus::kApproved);
  EXPECT_TRUE(TemplateWord{}.empty());
  EXPECT_FALSE(approved.empty());
}

}  // namespace
}  // namespace wapolicy
