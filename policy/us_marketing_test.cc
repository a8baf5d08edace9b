#include "policy/us_marketing.h"

#include <chrono>
#include <cstdint>

#include "gtest/gtest.h"
#include "policy/phone_number.h"

namespace wapolicy {
namespace {

PhoneNumber P(const char* text) { return *PhoneNumber::Parse(text); }

TEST(UsAreaCodes, UsCanadianAndCaribbeanNumbers) {
  EXPECT_TRUE(IsUsAreaCode(P("+1 212 555 0100")));   // New York.
  EXPECT_TRUE(IsUsAreaCode(P("+1 415 555 0100")));   // San Francisco.
  EXPECT_TRUE(IsUsAreaCode(P("+1 800 555 0100")));   // Toll-free: libphonenumber says US.
  EXPECT_FALSE(IsUsAreaCode(P("+1 416 555 0123")));  // Toronto.
  EXPECT_FALSE(IsUsAreaCode(P("+1 604 555 0100")));  // Vancouver.
  EXPECT_FALSE(IsUsAreaCode(P("+1 242 357 1234")));  // The Bahamas.
  EXPECT_FALSE(IsUsAreaCode(P("+1 876 555 1234")));  // Jamaica.
  EXPECT_FALSE(IsUsAreaCode(P("+1 809 555 0100")));  // Dominican Republic.
  EXPECT_FALSE(IsUsAreaCode(P("+1 787 555 0100")));  // Puerto Rico: its own region code.
  // No region for the area code: US, the cautious side (as IsUsNumber).
  EXPECT_TRUE(IsUsAreaCode(P("+1 555 555 5555")));
  // Not +1.
  EXPECT_FALSE(IsUsAreaCode(P("+447700900001")));
  EXPECT_FALSE(IsUsAreaCode(P("+7 912 345 6789")));  // 11 digits, but +7.
  EXPECT_FALSE(IsUsAreaCode(PhoneNumber()));
}

// The table agrees with libphonenumber's region of each number, for a
// spread of exchanges in every area code the metadata assigns to a region.
TEST(UsAreaCodes, AgreesWithLibphonenumberWhereItKnowsTheRegion) {
  int us = 0, other = 0;
  for (uint64_t npa = 200; npa < 1000; ++npa) {
    for (uint64_t line : {2000000ULL, 3456789ULL, 5550123ULL, 7771234ULL, 9990000ULL}) {
      const PhoneNumber n =
          PhoneNumber::FromDigitsValue(10'000'000'000ULL + npa * 10'000'000ULL + line);
      const std::string region = DescribePhoneNumber(n).region;
      if (region == "ZZ") continue;  // An exchange the metadata does not assign.
      EXPECT_EQ(IsUsAreaCode(n), region == "US") << n.E164() << " is " << region;
      (region == "US" ? us : other)++;
    }
  }
  EXPECT_GT(us, 1000);    // About 360 US area codes...
  EXPECT_GT(other, 200);  // ...and about 100 Canadian and Caribbean ones.
}

TEST(UsAreaCodes, ALookUpIsFast) {
  WarmUsAreaCodes();
  const PhoneNumber n = P("+1 416 555 0123");
  const auto start = std::chrono::steady_clock::now();
  int found = 0;
  for (int i = 0; i < 1000000; ++i) {
    found += IsUsAreaCode(PhoneNumber::FromDigitsValue(n.value() + i % 9000));  // Other lines.
  }
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_EQ(found, 0);
  EXPECT_LT(ns / 1000000.0, 100.0);  // ~1 ns; libphonenumber takes ~8,000.
}

}  // namespace
}  // namespace wapolicy
