#ifndef WAPOLICY_POLICY_PHONE_NUMBER_H_
#define WAPOLICY_POLICY_PHONE_NUMBER_H_

#include <cstdint>
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

  // Accepts "+<digits>" or "<digits>": 8 to 15 digits, no leading zero, no
  // spaces or punctuation (the click-to-chat rule: digits only).
  static absl::StatusOr<PhoneNumber> Parse(absl::string_view text);
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

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_PHONE_NUMBER_H_
