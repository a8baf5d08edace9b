// Click-to-chat links (wa.me and whatsapp://) that open a chat with a
// business number and a pre-filled text, as the brief describes them.
//
//   absl::StatusOr<std::string> link = WaMeLink("+14155550100", "Hi there");
//   // "https://wa.me/14155550100?text=Hi%20there"
#ifndef WAPOLICY_POLICY_CLICK_TO_CHAT_H_
#define WAPOLICY_POLICY_CLICK_TO_CHAT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wapolicy {

// Click-to-chat links that open a chat with a business number, with a
// pre-filled text. `number` is canonical E.164 ("+917834811114" or digits;
// no spaces, dashes or trunk zeros, though PhoneNumber::Parse reads those);
// the link carries digits only. Text is UTF-8, percent-encoded (RFC 3986 unreserved
// characters kept; space as %20).
absl::StatusOr<std::string> WaMeLink(absl::string_view number, absl::string_view text);
// whatsapp://send?phone=<digits>&text=... The brief documents phone=; the
// platform documents only text=, so phone= is best-effort on clients.
absl::StatusOr<std::string> WhatsAppDeepLink(absl::string_view number, absl::string_view text);

std::string PercentEncode(absl::string_view text);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_CLICK_TO_CHAT_H_
