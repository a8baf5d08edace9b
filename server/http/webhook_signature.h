// The platform's signature on each webhook POST: the header
// `X-Hub-Signature-256: sha256=<64 hex>` is the HMAC-SHA256 of the raw body
// bytes keyed with the app's secret. Checked with OpenSSL's HMAC and compared
// in constant time (CRYPTO_memcmp), so a forger learns nothing from timing.
//
//   absl::Status s = VerifyWebhookSignature(app_secret, body, header_value);
//   if (!s.ok()) return Reply(401, s.message());  // Malformed or not this app's.
//   // Tests and benchmarks sign their own bodies:
//   std::string header_value = SignWebhookBody("secret", body);  // "sha256=..."
#ifndef WAPOLICY_SERVER_HTTP_WEBHOOK_SIGNATURE_H_
#define WAPOLICY_SERVER_HTTP_WEBHOOK_SIGNATURE_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wapolicy {

inline constexpr absl::string_view kWebhookSignatureHeader = "X-Hub-Signature-256";

using WebhookDigest = std::array<uint8_t, 32>;  // An HMAC-SHA256.

// The header's value for `body` signed with `secret`: "sha256=" and 64
// lower-case hex digits ("" for an empty secret, which signs nothing).
std::string SignWebhookBody(absl::string_view secret, absl::string_view body);

// The digest a header carries. INVALID_ARGUMENT naming the header when it is
// not "sha256=" and 64 hex digits (either case; surrounding blanks allowed).
absl::StatusOr<WebhookDigest> ParseWebhookSignature(absl::string_view header_value);

// Whether `digest` is `body`'s HMAC-SHA256 under `secret`, compared in
// constant time (false for an empty secret). For trying several apps'
// secrets against one parsed header.
bool WebhookDigestMatches(absl::string_view secret, absl::string_view body,
                          const WebhookDigest& digest);

// OK if `header_value` is `body`'s signature under `secret`; INVALID_ARGUMENT
// for a malformed header, UNAUTHENTICATED for a well-formed one that does not
// match (another secret, or a body changed on the way).
absl::Status VerifyWebhookSignature(absl::string_view secret, absl::string_view body,
                                    absl::string_view header_value);

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_HTTP_WEBHOOK_SIGNATURE_H_
