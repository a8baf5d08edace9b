#include "policy/phone_number.h"

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "phonenumbers/phonenumberutil.h"

namespace wapolicy {
namespace {

using phone_number_internal::ParseCanonicalE164;
using phone_number_internal::ParseWithLibphonenumber;

TEST(PhoneNumberTest, ParsesE164WithOrWithoutPlus) {
  auto a = PhoneNumber::Parse("+917834811114");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->Digits(), "917834811114");
  EXPECT_EQ(a->E164(), "+917834811114");
  EXPECT_EQ(a->value(), 917834811114u);
  auto b = PhoneNumber::Parse("917834811114");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  // 15 digits, the E.164 maximum (a possible +882 number).
  auto c = PhoneNumber::Parse("+882123456789012");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->value(), 882123456789012u);
}

TEST(PhoneNumberTest, BareDigitsAreInternational) {
  // As before libphonenumber: no default country, digits read as after a '+'.
  auto a = PhoneNumber::Parse("14155550123");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->E164(), "+14155550123");
  auto b = PhoneNumber::Parse("44 7700 900001");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->E164(), "+447700900001");
}

TEST(PhoneNumberTest, WrittenFormsOfOneNumberAreOneNumber) {
  // UK 07700 900xxx is a drama (test) range: possible, not valid.
  for (const char* text : {"+44 07700 900001", "+4407700900001", "+447700900001", "+44 7700 900001",
                           "+44 (0)7700 900001", "+44-7700-900-001", "+44.7700.900.001",
                           "+(44) 7700 900001", " +44 7700 900001 ", "+44 7700/900001"}) {
    auto p = PhoneNumber::Parse(text);
    ASSERT_TRUE(p.ok()) << text << ": " << p.status();
    EXPECT_EQ(p->E164(), "+447700900001") << text;
    EXPECT_EQ(p->value(), 447700900001u) << text;
  }
  const PhoneNumberInfo info = DescribePhoneNumber(*PhoneNumber::Parse("+447700900001"));
  EXPECT_FALSE(info.valid);  // Possible, accepted, yet not valid.
}

TEST(PhoneNumberTest, ShortPlansAreAccepted) {
  auto niue = PhoneNumber::Parse("+6837012");  // Niue: 4-digit national numbers.
  ASSERT_TRUE(niue.ok()) << niue.status();
  EXPECT_EQ(niue->E164(), "+6837012");
  EXPECT_EQ(DescribePhoneNumber(*niue).region, "NU");
}

TEST(PhoneNumberTest, ItalianLeadingZeroIsPartOfTheNumber) {
  for (const char* text : {"+39 06 1234 5678", "+390612345678", "390612345678"}) {
    auto p = PhoneNumber::Parse(text);
    ASSERT_TRUE(p.ok()) << text << ": " << p.status();
    EXPECT_EQ(p->E164(), "+390612345678") << text;
  }
  EXPECT_TRUE(ParseCanonicalE164("+390612345678").has_value());  // Canonical: fast path.
  EXPECT_EQ(DescribePhoneNumber(*PhoneNumber::Parse("+390612345678")).region, "IT");
}

TEST(PhoneNumberTest, RejectsWhatIsNotAPossibleNumber) {
  for (const char* bad : {
           "",
           "+",
           "++",
           "abc",
           "+ - ( )",
           "1234567",              // +1 234567: too short.
           "+15550123",            // +1 555 0123: local only (no area code).
           "+44 7700",             // Too short for +44.
           "+1234567890123456",    // 16 digits.
           "+49 30 123456789012",  // Possible for Germany, but 16 digits: over E.164.
           "+999999999999999",     // No country +999 (nor +99, +9).
           "+80 1234 5678",        // No country +80 or +801.
           "0917834811114",        // Country code cannot start with 0.
           "+0917834811114",
           "++917834811114",  // One '+', at the start.
           "91+7834811114",
           "+9178348111x4",  // Letters (and extensions) are not digits.
           "+1-800-FLOWERS",
           "+447700900001 ext 5",
           "+447700900001;ext=5",
           "+447700900001#",
           "+44\t7700900001",  // Only spaces, dashes, dots, slashes, parentheses.
           "+\xEF\xBC\x94\xEF\xBC\x94 7700 900001",  // Full-width digits.
           "+44 7700 900001 1234567890 1234567890 1234567890 1234567890",
       }) {
    auto p = PhoneNumber::Parse(bad);
    EXPECT_FALSE(p.ok()) << bad << " -> " << (p.ok() ? p->E164() : "");
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(absl::StartsWith(p.status().message(), "not an E.164 number: "))
        << bad << ": " << p.status();
  }
}

TEST(PhoneNumberTest, ErrorsSayWhatIsWrong) {
  EXPECT_EQ(std::string(PhoneNumber::Parse("+999999999999999").status().message()),
            "not an E.164 number: unknown country calling code");
  EXPECT_EQ(std::string(PhoneNumber::Parse("+44 770").status().message()),
            "not an E.164 number: too short for +44");
  EXPECT_EQ(std::string(PhoneNumber::Parse("+15550123").status().message()),
            "not an E.164 number: too short for +1: only dialable locally (area code missing?)");
  EXPECT_EQ(std::string(PhoneNumber::Parse("+49 30 123456789012").status().message()),
            "not an E.164 number: too long: at most 15 digits");
  EXPECT_EQ(std::string(PhoneNumber::Parse("+9178348111x4").status().message()),
            "not an E.164 number: only digits, spaces, dashes, dots, slashes, parentheses and a "
            "leading '+' are allowed");
}

TEST(PhoneNumberTest, DescribesRegionAndValidity) {
  const PhoneNumber us = *PhoneNumber::Parse("+1 212 555 0100");  // New York.
  EXPECT_EQ(DescribePhoneNumber(us).region, "US");
  EXPECT_TRUE(DescribePhoneNumber(us).valid);
  EXPECT_TRUE(IsUsNumber(us));

  const PhoneNumber ca = *PhoneNumber::Parse("+1 416 555 0123");  // Toronto.
  EXPECT_EQ(DescribePhoneNumber(ca).region, "CA");
  EXPECT_FALSE(IsUsNumber(ca));

  const PhoneNumber dominican = *PhoneNumber::Parse("+1 809 555 0100");
  EXPECT_EQ(DescribePhoneNumber(dominican).region, "DO");
  EXPECT_FALSE(IsUsNumber(dominican));

  // US territories have their own region codes: not "US" for this rule.
  EXPECT_EQ(DescribePhoneNumber(*PhoneNumber::Parse("+1 787 555 0100")).region, "PR");
  EXPECT_FALSE(IsUsNumber(*PhoneNumber::Parse("+1 787 555 0100")));

  // Area code 555 is assigned to no region: unknown, and (the documented
  // choice) treated as US.
  const PhoneNumber unknown = *PhoneNumber::Parse("+1 555 555 5555");
  EXPECT_EQ(DescribePhoneNumber(unknown).region, "ZZ");
  EXPECT_FALSE(DescribePhoneNumber(unknown).valid);
  EXPECT_TRUE(IsUsNumber(unknown));

  EXPECT_FALSE(IsUsNumber(*PhoneNumber::Parse("+447700900001")));
  EXPECT_FALSE(IsUsNumber(*PhoneNumber::Parse("+6837012")));
  EXPECT_EQ(DescribePhoneNumber(*PhoneNumber::Parse("+80012345678")).region, "001");

  // Not from Parse: no metadata says anything.
  EXPECT_EQ(DescribePhoneNumber(PhoneNumber()).region, "ZZ");
  EXPECT_FALSE(IsUsNumber(PhoneNumber()));
  EXPECT_EQ(DescribePhoneNumber(PhoneNumber::FromDigitsValue(999123456)).region, "ZZ");
}

// The fast path answers only what the full parse answers.
void ExpectFastAgreesWithSlow(const std::string& text, int* fast_hits) {
  const absl::StatusOr<PhoneNumber> slow = ParseWithLibphonenumber(text);
  const std::optional<PhoneNumber> fast = ParseCanonicalE164(text);
  const absl::StatusOr<PhoneNumber> parsed = PhoneNumber::Parse(text);
  if (fast.has_value()) {
    ++*fast_hits;
    ASSERT_TRUE(slow.ok()) << text
                           << ": fast path took what the full parse refuses: " << slow.status();
    ASSERT_EQ(fast->value(), slow->value()) << text;
  }
  ASSERT_EQ(parsed.ok(), slow.ok()) << text;
  if (slow.ok()) {
    ASSERT_EQ(parsed->value(), slow->value()) << text;
  } else {
    ASSERT_EQ(parsed.status(), slow.status()) << text;
  }
}

TEST(PhoneNumberTest, FastPathAgreesWithFullParseOnGeneratedStrings) {
  std::set<int> codes;
  i18n::phonenumbers::PhoneNumberUtil::GetInstance()->GetSupportedCallingCodes(&codes);
  codes.insert({0, 9, 80, 99, 999});  // And a few unknown codes.
  std::mt19937_64 rng(20240611);
  auto digit = [&] { return static_cast<char>('0' + rng() % 10); };
  int fast_hits = 0, total = 0;
  // Every code, every first national digit (where trunk prefixes and
  // carrier codes live), national lengths 1 to 15; random tails.
  for (int code : codes) {
    for (char first = '0'; first <= '9'; ++first) {
      for (int len = 1; len <= 15; ++len) {
        for (int rep = 0; rep < 2; ++rep) {
          std::string text = rng() % 4 == 0 ? "" : "+";
          if (code != 0) absl::StrAppend(&text, code);
          text.push_back(first);
          for (int j = 1; j < len; ++j) text.push_back(digit());
          ExpectFastAgreesWithSlow(text, &fast_hits);
          ++total;
          if (HasFatalFailure()) return;
        }
      }
    }
  }
  // Random digit strings: short, long, leading zeros.
  for (int i = 0; i < 5000; ++i) {
    std::string text = rng() % 2 ? "+" : "";
    const int n = static_cast<int>(rng() % 18);
    for (int j = 0; j < n; ++j) text.push_back(digit());
    ExpectFastAgreesWithSlow(text, &fast_hits);
    ++total;
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(fast_hits, total / 20) << "the generator hardly reaches the fast path";
}

TEST(PhoneNumberTest, FastPathTakesCanonicalExampleNumbersOfEveryRegion) {
  // libphonenumber's example numbers (every region, every type) in E.164,
  // and as formatted internationally and nationally after the code.
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  std::set<std::string> regions;
  util->GetSupportedRegions(&regions);
  int canonical = 0, fast_hits = 0, unused = 0;
  for (const std::string& region : regions) {
    std::set<PhoneNumberUtil::PhoneNumberType> types;
    util->GetSupportedTypesForRegion(region, &types);
    for (PhoneNumberUtil::PhoneNumberType type : types) {
      i18n::phonenumbers::PhoneNumber n;
      if (!util->GetExampleNumberForType(region, type, &n)) continue;
      std::string e164, intl, national;
      util->Format(n, PhoneNumberUtil::E164, &e164);
      util->Format(n, PhoneNumberUtil::INTERNATIONAL, &intl);
      util->Format(n, PhoneNumberUtil::NATIONAL, &national);
      const std::string with_trunk = absl::StrCat("+", n.country_code(), " ", national);
      for (const std::string& text : {e164, intl, with_trunk, e164.substr(1)}) {
        ExpectFastAgreesWithSlow(text, &unused);
        if (HasFatalFailure()) return;
      }
      const absl::StatusOr<PhoneNumber> slow = ParseWithLibphonenumber(e164);
      if (!slow.ok() || slow->E164() != e164) continue;  // Over 15 digits, local only...
      ++canonical;
      const std::optional<PhoneNumber> fast = ParseCanonicalE164(e164);
      if (fast.has_value()) ++fast_hits;
      // The formatted forms are the same number.
      EXPECT_EQ(PhoneNumber::Parse(intl).value_or(PhoneNumber()), *slow) << intl;
    }
  }
  ASSERT_GT(canonical, 1000);
  // Only numbers whose first national digit could be a trunk prefix or
  // carrier code (RU 8-800..., AR, BR...) leave the fast path.
  EXPECT_GT(fast_hits, canonical * 9 / 10) << fast_hits << " of " << canonical;
}

TEST(PhoneNumberTest, FastPathLeavesRewrittenNumbersToTheFullParse) {
  EXPECT_FALSE(ParseCanonicalE164("+4407700900001").has_value());  // Trunk 0 after +44.
  EXPECT_TRUE(ParseCanonicalE164("+447700900001").has_value());
  EXPECT_TRUE(ParseCanonicalE164("447700900001").has_value());
  EXPECT_FALSE(ParseCanonicalE164("+44 7700 900001").has_value());
  EXPECT_FALSE(ParseCanonicalE164("+15550123").has_value());  // Refused: the full parse says why.
  EXPECT_EQ(PhoneNumber::Parse("+4407700900001")->E164(), "+447700900001");
}

}  // namespace
}  // namespace wapolicy
