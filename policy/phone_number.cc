#include "policy/phone_number.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace wapolicy {

absl::StatusOr<PhoneNumber> PhoneNumber::Parse(absl::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.size() < 8 || text.size() > 15) {
    return absl::InvalidArgumentError(
        "not an E.164 number: expected 8 to 15 digits with an optional leading '+'");
  }
  if (text.front() == '0') {
    return absl::InvalidArgumentError("not an E.164 number: country code cannot start with 0");
  }
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(
          "not an E.164 number: only digits are allowed (no spaces, dashes or brackets)");
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return PhoneNumber(v);
}

std::string PhoneNumber::Digits() const { return absl::StrCat(value_); }
std::string PhoneNumber::E164() const { return absl::StrCat("+", value_); }

}  // namespace wapolicy
