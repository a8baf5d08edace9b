#include "policy/phone_number.h"

#include "gtest/gtest.h"

namespace wapolicy {
namespace {

TEST(PhoneNumberTest, ParsesE164WithOrWithoutPlus) {
  auto a = PhoneNumber::Parse("+917834811114");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->Digits(), "917834811114");
  EXPECT_EQ(a->E164(), "+917834811114");
  auto b = PhoneNumber::Parse("917834811114");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_TRUE(PhoneNumber::Parse("+999999999999999").ok());  // 15 digits: the E.164 maximum.
}

TEST(PhoneNumberTest, RejectsWhatE164Forbids) {
  for (const char* bad : {"", "+", "1234567", "+1234567890123456", "0917834811114",
                          "+91 7834811114", "+91-7834811114", "(91)7834811114", "+9178348111x4",
                          "++917834811114"}) {
    auto p = PhoneNumber::Parse(bad);
    EXPECT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace wapolicy
