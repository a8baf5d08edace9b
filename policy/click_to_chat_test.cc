#include "policy/click_to_chat.h"

#include "gtest/gtest.h"

namespace wapolicy {
namespace {

TEST(ClickToChatTest, BuildsTheBriefsExamples) {
  EXPECT_EQ(*WaMeLink("+917834811114", "Hi there"), "https://wa.me/917834811114?text=Hi%20there");
  EXPECT_EQ(*WhatsAppDeepLink("+917834811114", "Hi there"),
            "whatsapp://send?phone=917834811114&text=Hi%20there");
  EXPECT_EQ(*WaMeLink("917834811114", ""), "https://wa.me/917834811114");
}

TEST(ClickToChatTest, PercentEncodesReservedAndUtf8) {
  EXPECT_EQ(PercentEncode("a&b=c?d#e+f/g"), "a%26b%3Dc%3Fd%23e%2Bf%2Fg");
  EXPECT_EQ(PercentEncode("caf\xC3\xA9 \xF0\x9F\x91\x8B"), "caf%C3%A9%20%F0%9F%91%8B");
  EXPECT_EQ(PercentEncode("A-Z_a.z~09"), "A-Z_a.z~09");
}

TEST(ClickToChatTest, RejectsNumbersThatAreNotE164Digits) {
  for (const char* bad : {"+91 7834811114", "07834811114", "+91-78348-11114", "123", "",
                          "+4407700900001", "+999999999999999"}) {
    EXPECT_FALSE(WaMeLink(bad, "x").ok()) << bad;
    EXPECT_FALSE(WhatsAppDeepLink(bad, "x").ok()) << bad;
  }
}

}  // namespace
}  // namespace wapolicy
