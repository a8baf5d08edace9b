#include "server/http/webhook_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace wapolicy {
namespace {

constexpr absl::string_view kPrefix = "sha256=";

// The HMAC-SHA256 of `body` under `secret`; false if it could not be made.
// An empty secret makes none: OpenSSL reads a null key as "keep the previous
// one", and a digest left zero must never match a forged header of zeros.
bool Hmac(absl::string_view secret, absl::string_view body, WebhookDigest* out) {
  if (secret.empty()) return false;
  unsigned int len = 0;
  const unsigned char* data = body.empty() ? reinterpret_cast<const unsigned char*>("")
                                           : reinterpret_cast<const unsigned char*>(body.data());
  // Never a null output buffer: HMAC() would use a static one.
  return HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), data, body.size(),
              out->data(), &len) != nullptr &&
         len == out->size();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string SignWebhookBody(absl::string_view secret, absl::string_view body) {
  WebhookDigest d{};
  if (!Hmac(secret, body, &d)) return "";
  return absl::StrCat(kPrefix, absl::BytesToHexString(absl::string_view(
                                   reinterpret_cast<const char*>(d.data()), d.size())));
}

absl::StatusOr<WebhookDigest> ParseWebhookSignature(absl::string_view header_value) {
  absl::string_view v = absl::StripAsciiWhitespace(header_value);
  if (v.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(kWebhookSignatureHeader, ": missing"));
  }
  if (!absl::StartsWithIgnoreCase(v, kPrefix) || v.size() != kPrefix.size() + 64) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWebhookSignatureHeader, ": not sha256=<64 hex digits>"));
  }
  v.remove_prefix(kPrefix.size());
  WebhookDigest d{};
  for (size_t i = 0; i < d.size(); ++i) {
    const int hi = HexValue(v[2 * i]), lo = HexValue(v[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWebhookSignatureHeader, ": not sha256=<64 hex digits>"));
    }
    d[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return d;
}

bool WebhookDigestMatches(absl::string_view secret, absl::string_view body,
                          const WebhookDigest& digest) {
  WebhookDigest mine{};
  if (!Hmac(secret, body, &mine)) return false;
  return CRYPTO_memcmp(mine.data(), digest.data(), mine.size()) == 0;
}

absl::Status VerifyWebhookSignature(absl::string_view secret, absl::string_view body,
                                    absl::string_view header_value) {
  absl::StatusOr<WebhookDigest> d = ParseWebhookSignature(header_value);
  if (!d.ok()) return d.status();
  if (!WebhookDigestMatches(secret, body, *d)) {
    return absl::UnauthenticatedError(
        absl::StrCat(kWebhookSignatureHeader, ": does not match the body"));
  }
  return absl::OkStatus();
}

}  // namespace wapolicy
