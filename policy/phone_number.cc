#include "policy/phone_number.h"

#include <array>
#include <bitset>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "phonenumbers/phonemetadata.pb.h"
#include "phonenumbers/phonenumber.pb.h"
#include "phonenumbers/phonenumberutil.h"

// libphonenumber compiles its metadata into the library and reads it with
// these (declared in its source tree's metadata.h, which Debian does not
// install; libphonenumber.so exports them). The fast path reads each
// country's national-prefix pattern from it, which PhoneNumberUtil keeps
// private.
namespace i18n {
namespace phonenumbers {
int metadata_size();
const void* metadata_get();
}  // namespace phonenumbers
}  // namespace i18n

namespace wapolicy {
namespace {

using i18n::phonenumbers::PhoneNumberUtil;
using LibNumber = i18n::phonenumbers::PhoneNumber;

constexpr uint16_t kAnyDigit = 0x3FF;  // Bit d: digit d.
constexpr size_t kMaxE164Digits = 15;
// Generous for a formatted 15-digit number; bounds the work on garbage.
constexpr size_t kMaxInputLength = 64;

// The digits a match of a libphonenumber national-prefix-for-parsing pattern
// can start with (bit d for digit d), read conservatively: the patterns use
// digits, \d, [classes], (groups), (?:groups), |, ?, *, +, {n,m} and $;
// anything else answers "any digit". Examples: "0" -> {0};
// "0|([25-9]\d{5})$" -> {0,2,5,6,7,8,9}; "(?:0|90)(...)?" -> {0,9}.
class FirstDigits {
 public:
  static uint16_t Of(absl::string_view pattern) {
    FirstDigits f(pattern);
    Set s;
    if (!f.Alternation(&s) || f.pos_ != pattern.size()) return kAnyDigit;
    return s.first;
  }

 private:
  struct Set {
    uint16_t first = 0;
    bool nullable = true;  // Can match the empty string.
  };

  explicit FirstDigits(absl::string_view p) : p_(p) {}

  bool More() const { return pos_ < p_.size(); }
  char Peek() const { return p_[pos_]; }
  static uint16_t Bit(char c) { return static_cast<uint16_t>(1u << (c - '0')); }
  static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

  bool Alternation(Set* out) {
    Set acc{0, false};
    while (true) {
      Set s;
      if (!Sequence(&s)) return false;
      acc.first |= s.first;
      acc.nullable = acc.nullable || s.nullable;
      if (!More() || Peek() != '|') break;
      ++pos_;
    }
    *out = acc;
    return true;
  }

  bool Sequence(Set* out) {
    Set acc{0, true};
    while (More() && Peek() != '|' && Peek() != ')') {
      Set a;
      int min = 1;
      if (!Atom(&a) || !Quantifier(&min)) return false;
      if (min == 0) a.nullable = true;
      if (acc.nullable) acc.first |= a.first;
      acc.nullable = acc.nullable && a.nullable;
    }
    *out = acc;
    return true;
  }

  bool Atom(Set* a) {
    const char c = p_[pos_++];
    if (IsDigit(c)) {
      *a = {Bit(c), false};
      return true;
    }
    if (c == '\\') {
      if (!More() || Peek() != 'd') return false;
      ++pos_;
      *a = {kAnyDigit, false};
      return true;
    }
    if (c == '[') {
      uint16_t m = 0;
      while (More() && Peek() != ']') {
        const char x = p_[pos_++];
        if (x == '\\') {
          if (!More() || Peek() != 'd') return false;
          ++pos_;
          m = kAnyDigit;
        } else if (!IsDigit(x)) {
          return false;  // Negation, letters...: not read.
        } else if (pos_ + 1 < p_.size() && Peek() == '-' && IsDigit(p_[pos_ + 1])) {
          const char hi = p_[pos_ + 1];
          pos_ += 2;
          for (char d = x; d <= hi; ++d) m |= Bit(d);
        } else {
          m |= Bit(x);
        }
      }
      if (!More()) return false;
      ++pos_;  // ']'
      *a = {m, false};
      return true;
    }
    if (c == '(') {
      if (More() && Peek() == '?') {
        if (pos_ + 1 >= p_.size() || p_[pos_ + 1] != ':') return false;
        pos_ += 2;
      }
      Set s;
      if (!Alternation(&s) || !More() || Peek() != ')') return false;
      ++pos_;
      *a = s;
      return true;
    }
    if (c == '$') {  // Zero-width: consumes nothing.
      *a = {0, true};
      return true;
    }
    return false;
  }

  bool Quantifier(int* min) {
    *min = 1;
    if (!More()) return true;
    const char c = Peek();
    if (c == '?' || c == '*') {
      ++pos_;
      *min = 0;
    } else if (c == '+') {
      ++pos_;
    } else if (c == '{') {
      ++pos_;
      int n = 0;
      bool digits = false;
      while (More() && IsDigit(Peek())) {
        n = n * 10 + (p_[pos_++] - '0');
        digits = true;
      }
      if (!digits) return false;
      if (More() && Peek() == ',') {
        ++pos_;
        while (More() && IsDigit(Peek())) ++pos_;
      }
      if (!More() || Peek() != '}') return false;
      ++pos_;
      *min = n;
    }
    return true;
  }

  absl::string_view p_;
  size_t pos_ = 0;
};

// What the fast path needs, read once from libphonenumber.
struct Tables {
  const PhoneNumberUtil* util = nullptr;
  std::bitset<1000> known_code;  // Country calling codes with metadata.
  // Per calling code: the first digits of a national number that a national
  // prefix (trunk prefix, carrier code...) could start with, i.e. where the
  // full parse may rewrite the number. The fast path leaves those to it.
  std::array<uint16_t, 1000> prefix_first{};
  // Per calling code: the national number lengths (bit L for length L) that
  // libphonenumber calls possible (IS_POSSIBLE: the general description's
  // possible lengths, which never overlap the local-only ones). Its
  // IsPossibleNumberWithReason compares the length with exactly these.
  std::array<uint32_t, 1000> possible_lengths{};

  Tables() : util(PhoneNumberUtil::GetInstance()) {
    std::set<int> codes;
    util->GetSupportedCallingCodes(&codes);
    for (int c : codes) {
      if (c > 0 && c < 1000) {
        known_code.set(c);
        prefix_first[c] = kAnyDigit;  // Until its metadata says otherwise.
      }
    }
    // Parsing a "+<code>..." number uses the metadata of the code's main
    // region (GetRegionCodeForCountryCode), or the non-geographic entity's.
    i18n::phonenumbers::PhoneMetadataCollection all;
    if (!all.ParseFromArray(i18n::phonenumbers::metadata_get(),
                            i18n::phonenumbers::metadata_size())) {
      return;  // Every number takes the full parse.
    }
    for (const i18n::phonenumbers::PhoneMetadata& m : all.metadata()) {
      const int c = m.country_code();
      if (c <= 0 || c >= 1000 || !known_code.test(c)) continue;
      std::string main_region;
      util->GetRegionCodeForCountryCode(c, &main_region);
      if (m.id() != main_region && m.id() != "001") continue;
      prefix_first[c] = m.national_prefix_for_parsing().empty()
                            ? 0
                            : FirstDigits::Of(m.national_prefix_for_parsing());
      uint32_t lengths = 0;
      for (int len : m.general_desc().possible_length()) {
        if (len <= 0 || len > 31) {  // -1: "no numbers". Leave the code to the full parse.
          lengths = 0;
          break;
        }
        lengths |= 1u << len;
      }
      possible_lengths[c] = lengths;
    }
  }
};

const Tables& GetTables() {
  static const Tables* const tables = new Tables();
  return *tables;
}

// Reads canonical E.164 digits (no '+') as libphonenumber's parse would
// leave them: the country code is the shortest known prefix, and a national
// number's leading zeros are kept (Italy). Returns the national number's
// offset in `digits`, or 0 if there is no known code or fewer than two
// national digits.
size_t ToLibNumber(const Tables& t, absl::string_view digits, LibNumber* out) {
  int code = 0;
  size_t code_len = 0;
  for (size_t i = 0; i < 3 && i < digits.size(); ++i) {
    code = code * 10 + (digits[i] - '0');
    if (code != 0 && t.known_code.test(code)) {
      code_len = i + 1;
      break;
    }
  }
  if (code_len == 0) return 0;
  const absl::string_view national = digits.substr(code_len);
  if (national.size() < 2) return 0;  // libphonenumber's minimum.
  uint64_t n = 0;
  for (char c : national) n = n * 10 + static_cast<uint64_t>(c - '0');
  out->set_country_code(code);
  out->set_national_number(n);
  if (national[0] == '0') {  // As PhoneNumberUtil::SetItalianLeadingZerosForPhoneNumber.
    out->set_italian_leading_zero(true);
    size_t zeros = 1;
    while (zeros < national.size() - 1 && national[zeros] == '0') ++zeros;
    if (zeros != 1) out->set_number_of_leading_zeros(static_cast<int32_t>(zeros));
  }
  return code_len;
}

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("not an E.164 number: ", why));
}

}  // namespace

namespace phone_number_internal {

std::optional<PhoneNumber> ParseCanonicalE164(absl::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.size() < 3 || text.size() > kMaxE164Digits || text.front() == '0') return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  // The calling code, read as libphonenumber reads it: the shortest known
  // prefix.
  const Tables& t = GetTables();
  int code = 0;
  size_t code_len = 0;
  for (size_t i = 0; i < 3; ++i) {
    code = code * 10 + (text[i] - '0');
    if (t.known_code.test(code)) {
      code_len = i + 1;
      break;
    }
  }
  if (code_len == 0) return std::nullopt;
  const size_t national_len = text.size() - code_len;
  if (national_len < 2) return std::nullopt;  // libphonenumber's minimum.
  // A national prefix may be dropped ("+4407700900001"): full parse.
  if (t.prefix_first[code] & (1u << (text[code_len] - '0'))) return std::nullopt;
  if (!(t.possible_lengths[code] & (1u << national_len))) return std::nullopt;
  return PhoneNumber::FromDigitsValue(v);
}

absl::StatusOr<PhoneNumber> ParseWithLibphonenumber(absl::string_view text) {
  if (text.size() > kMaxInputLength) return Invalid("far too long");
  bool plus = false, started = false;
  int digits = 0;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      ++digits;
      started = true;
    } else if (c == '+') {
      if (started) return Invalid("'+' only at the start");
      plus = started = true;
    } else if (c == '-' || c == '.' || c == '(' || c == ')' || c == '/') {
      started = true;
    } else if (c != ' ') {
      return Invalid(
          "only digits, spaces, dashes, dots, slashes, parentheses and a leading '+' are allowed");
    }
  }
  if (digits == 0) return Invalid("no digits");
  // No default region: bare digits are international, as with a '+'.
  const std::string input = plus ? std::string(text) : absl::StrCat("+", text);
  const Tables& t = GetTables();
  LibNumber n;
  switch (t.util->Parse(input, "ZZ", &n)) {
    case PhoneNumberUtil::NO_PARSING_ERROR:
      break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return Invalid("unknown country calling code");
    case PhoneNumberUtil::TOO_LONG_NSN:
      return Invalid("too long");
    default:  // NOT_A_NUMBER (under 3 digits), TOO_SHORT_*.
      return Invalid("too short");
  }
  if (n.has_extension()) return Invalid("extensions are not allowed");
  const std::string code = absl::StrCat("+", n.country_code());
  switch (t.util->IsPossibleNumberWithReason(n)) {
    case PhoneNumberUtil::IS_POSSIBLE:
      break;
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
      return Invalid(
          absl::StrCat("too short for ", code, ": only dialable locally (area code missing?)"));
    case PhoneNumberUtil::INVALID_COUNTRY_CODE:
      return Invalid(absl::StrCat("unknown country calling code ", code));
    case PhoneNumberUtil::TOO_SHORT:
      return Invalid(absl::StrCat("too short for ", code));
    case PhoneNumberUtil::TOO_LONG:
      return Invalid(absl::StrCat("too long for ", code));
    default:  // INVALID_LENGTH
      return Invalid(absl::StrCat("no number under ", code, " has that many digits"));
  }
  std::string e164;
  t.util->Format(n, PhoneNumberUtil::E164, &e164);
  uint64_t v = 0;
  if (e164.size() > kMaxE164Digits + 1) return Invalid("too long: at most 15 digits");
  if (e164.size() < 2 || !absl::SimpleAtoi(absl::string_view(e164).substr(1), &v) || v == 0) {
    return Invalid("unreadable");  // Not expected: libphonenumber wrote it.
  }
  return PhoneNumber::FromDigitsValue(v);
}

}  // namespace phone_number_internal

std::optional<PhoneNumber> PhoneNumber::ParseCanonical(absl::string_view text) {
  return phone_number_internal::ParseCanonicalE164(text);
}

absl::StatusOr<PhoneNumber> PhoneNumber::Parse(absl::string_view text) {
  if (std::optional<PhoneNumber> fast = phone_number_internal::ParseCanonicalE164(text)) {
    return *fast;
  }
  return phone_number_internal::ParseWithLibphonenumber(text);
}

std::string PhoneNumber::Digits() const { return absl::StrCat(value_); }
std::string PhoneNumber::E164() const { return absl::StrCat("+", value_); }

PhoneNumberInfo DescribePhoneNumber(PhoneNumber number) {
  PhoneNumberInfo info;
  info.region = "ZZ";
  const Tables& t = GetTables();
  LibNumber n;
  if (!number.valid() || ToLibNumber(t, number.Digits(), &n) == 0) return info;
  t.util->GetRegionCodeForNumber(n, &info.region);
  if (info.region.empty()) info.region = "ZZ";
  info.valid = t.util->IsValidNumber(n);
  t.util->GetRegionCodeForCountryCode(n.country_code(), &info.country_region);
  if (info.country_region.empty()) info.country_region = "ZZ";
  return info;
}

bool IsUsNumber(PhoneNumber number) {
  if (number.value() / 10'000'000'000ULL != 1) return false;  // Not +1 and 10 digits.
  const std::string region = DescribePhoneNumber(number).region;
  return region == "US" || region == "ZZ";  // Unknown +1 region: US (see the header).
}

}  // namespace wapolicy
