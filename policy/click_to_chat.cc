#include "policy/click_to_chat.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "policy/phone_number.h"

namespace wapolicy {

std::string PercentEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

namespace {

// The link's number is "full international number, digits only": the
// number must already be written so (E.164, '+' optional). PhoneNumber::Parse
// would also read "+91 78348 11114" or a trunk zero; a link builder is
// stricter, so that a caller's formatting mistake shows instead of being
// silently rewritten.
absl::StatusOr<PhoneNumber> ParseLinkNumber(absl::string_view number) {
  absl::StatusOr<PhoneNumber> n = PhoneNumber::Parse(number);
  if (!n.ok()) return n.status();
  absl::string_view digits = number;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (digits != n->Digits()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not an E.164 number: a click-to-chat number is written as digits only (", n->E164(), ")"));
  }
  return n;
}

}  // namespace

absl::StatusOr<std::string> WaMeLink(absl::string_view number, absl::string_view text) {
  absl::StatusOr<PhoneNumber> n = ParseLinkNumber(number);
  if (!n.ok()) return n.status();
  std::string link = absl::StrCat("https://wa.me/", n->Digits());
  if (!text.empty()) absl::StrAppend(&link, "?text=", PercentEncode(text));
  return link;
}

absl::StatusOr<std::string> WhatsAppDeepLink(absl::string_view number, absl::string_view text) {
  absl::StatusOr<PhoneNumber> n = ParseLinkNumber(number);
  if (!n.ok()) return n.status();
  return absl::StrCat("whatsapp://send?phone=", n->Digits(), "&text=", PercentEncode(text));
}

}  // namespace wapolicy
