#include "policy/click_to_chat.h"

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

absl::StatusOr<std::string> WaMeLink(absl::string_view number, absl::string_view text) {
  absl::StatusOr<PhoneNumber> n = PhoneNumber::Parse(number);
  if (!n.ok()) return n.status();
  std::string link = absl::StrCat("https://wa.me/", n->Digits());
  if (!text.empty()) absl::StrAppend(&link, "?text=", PercentEncode(text));
  return link;
}

absl::StatusOr<std::string> WhatsAppDeepLink(absl::string_view number, absl::string_view text) {
  absl::StatusOr<PhoneNumber> n = PhoneNumber::Parse(number);
  if (!n.ok()) return n.status();
  return absl::StrCat("whatsapp://send?phone=", n->Digits(), "&text=", PercentEncode(text));
}

}  // namespace wapolicy
