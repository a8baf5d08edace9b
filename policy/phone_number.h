// Phone numbers as the engine holds them: canonical E.164 digits in a
// uint64, parsed with libphonenumber (possible numbers accepted, validity and
// region kept as information).
//
//   absl::StatusOr<PhoneNumber> n = PhoneNumber::Parse("+44 07700 900001");
//   n->E164();  // "+447700900001"
//   PhoneNumberInfo info = DescribePhoneNumber(*n);  // Region "GB", valid or not.
#ifndef WAPOLICY_POLICY_PHONE_NUMBER_H_
#define WAPOLICY_POLICY_PHONE_NUMBER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wapolicy {

// An E.164 phone number (business or customer), held as its digits in a
// uint64: at most 15 digits, so it always fits, and it keys hash maps and
// storage compactly.
class PhoneNumber {
 public:
  PhoneNumber() = default;

  // Reads a number written in international form and canonicalises it to
  // E.164, using libphonenumber's metadata:
  //  - "+<country code><number>", with spaces, dashes, dots, slashes and
  //    parentheses as libphonenumber reads them (and writes them: "+421 2/212
  //    345 67"); a national trunk prefix after the country code is dropped
  //    ("+44 07700 900001" and "+44 (0)7700 900001" are +447700900001);
  //  - bare digits are read as if they had a leading '+' ("14155550123" is
  //    +14155550123): there is no default country;
  //  - the number must be *possible* (its length fits its country's plan),
  //    not necessarily *valid* (assigned in the metadata): test ranges such
  //    as UK 07700 900xxx are accepted. A length that is possible only for
  //    local dialling (no area code, e.g. 7 digits under +1) is refused;
  //  - no letters, extensions or other characters; at most 15 digits.
  // Otherwise INVALID_ARGUMENT ("not an E.164 number: ...").
  // Canonical E.164 (what pipelines normally send) takes a fast path that
  // gives exactly what the full parse gives.
  static absl::StatusOr<PhoneNumber> Parse(absl::string_view text);
  // Parse's fast path alone: the number if `text` is canonical E.164, else
  // nullopt (which means "needs the full parse", not "invalid").
  static std::optional<PhoneNumber> ParseCanonical(absl::string_view text);
  static PhoneNumber FromDigitsValue(uint64_t v) { return PhoneNumber(v); }

  uint64_t value() const { return value_; }
  bool valid() const { return value_ != 0; }
  std::string Digits() const;  // "14155550123"
  std::string E164() const;    // "+14155550123"

  friend bool operator==(PhoneNumber a, PhoneNumber b) { return a.value_ == b.value_; }
  friend bool operator!=(PhoneNumber a, PhoneNumber b) { return a.value_ != b.value_; }
  friend bool operator<(PhoneNumber a, PhoneNumber b) { return a.value_ < b.value_; }
  template <typename H>
  friend H AbslHashValue(H h, PhoneNumber p) {
    return H::combine(std::move(h), p.value_);
  }

 private:
  explicit PhoneNumber(uint64_t v) : value_(v) {}
  uint64_t value_ = 0;
};

// What libphonenumber's metadata says about a number: information only, the
// parser does not refuse a number for it. Costs ~8 us (the metadata's
// patterns): cache it if a hot path needs it.
struct PhoneNumberInfo {
  // ISO 3166-1 alpha-2 region ("US", "CA", "GB"); "001" for non-geographic
  // entities (+800, +882...); "ZZ" when the metadata assigns the number to no
  // region (an unassigned range, e.g. an unassigned area code under +1).
  std::string region;
  bool valid = false;  // libphonenumber's IsValidNumber: an assigned range.
  // The main region of the number's country code ("GB" for +44, "US" for +1),
  // known also for numbers in unassigned or test ranges.
  std::string country_region;
};
PhoneNumberInfo DescribePhoneNumber(PhoneNumber number);

// Whether the number is a US number for the rule "no marketing templates to
// US numbers" (+1 with a US area code; Canada and the Caribbean share +1 and
// are not US; nor are US territories with their own region codes: PR, GU,
// VI, AS, MP).
// Choice: a +1 number whose region is unknown ("ZZ": an area code the
// metadata does not assign) counts as US. The platform's rule goes by US
// area code; the unassigned codes are mostly US (new US overlays outnumber
// new Canadian/Caribbean codes, and the 555 and other test ranges are US
// conventions), and refusing a marketing template is the cautious side of a
// rule whose violation is a platform error.
// Costs what DescribePhoneNumber costs; the decision path uses
// us_marketing.h's table by area code instead (built from the same regions).
bool IsUsNumber(PhoneNumber number);

namespace phone_number_internal {

// The two halves of PhoneNumber::Parse, exposed for tests and benchmarks.
// The full parse, with libphonenumber.
absl::StatusOr<PhoneNumber> ParseWithLibphonenumber(absl::string_view text);
// The fast path: "+<digits>" or "<digits>" that are already canonical E.164
// and possible. nullopt means "ask the full parse", never "invalid"; when it
// answers, it answers what the full parse answers.
std::optional<PhoneNumber> ParseCanonicalE164(absl::string_view text);

}  // namespace phone_number_internal

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_PHONE_NUMBER_H_
