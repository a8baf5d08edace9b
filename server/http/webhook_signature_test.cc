#include "server/http/webhook_signature.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wapolicy {
namespace {

using ::testing::HasSubstr;

constexpr char kBody[] = R"({"object":"whatsapp_business_account","entry":[]})";
// `printf '%s' "$BODY" | openssl dgst -sha256 -hmac app-secret-1`
constexpr char kSigned[] =
    "sha256=0ca28c0f1996234eb6829e59ad3c11a18161f6eb043943d601e420c312432cdf";

TEST(WebhookSignatureTest, SignsAsOpensslDoes) {
  EXPECT_EQ(SignWebhookBody("app-secret-1", kBody), kSigned);
  // RFC 4231, test case 2.
  EXPECT_EQ(SignWebhookBody("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookSignatureTest, VerifiesTheRightSecretAndBody) {
  EXPECT_TRUE(VerifyWebhookSignature("app-secret-1", kBody, kSigned).ok());
  // Either case, blanks around it.
  EXPECT_TRUE(VerifyWebhookSignature("app-secret-1", kBody,
                                     absl::StrCat(" ", absl::AsciiStrToUpper(kSigned), "\t"))
                  .ok());
  // An empty body is a body.
  EXPECT_TRUE(VerifyWebhookSignature("s", "", SignWebhookBody("s", "")).ok());
}

TEST(WebhookSignatureTest, RefusesAnotherSecretOrAChangedBody) {
  absl::Status s = VerifyWebhookSignature("app-secret-2", kBody, kSigned);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(s.message(), "X-Hub-Signature-256: does not match the body");
  std::string changed = kBody;
  changed[2] = 'O';
  EXPECT_EQ(VerifyWebhookSignature("app-secret-1", changed, kSigned).code(),
            absl::StatusCode::kUnauthenticated);
  // One bit off in the digest.
  std::string flipped = kSigned;
  flipped.back() = 'e';
  EXPECT_EQ(VerifyWebhookSignature("app-secret-1", kBody, flipped).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(WebhookSignatureTest, MalformedHeadersAreInvalidArgument) {
  const std::string hex(kSigned + 7);
  for (const std::string& header :
       {std::string(""), std::string("   "), hex, absl::StrCat("sha1=", hex),
        absl::StrCat("sha256=", hex.substr(1)), absl::StrCat("sha256=", hex, "0"),
        absl::StrCat("sha256=", hex.substr(1), "g"), absl::StrCat("sha256 =", hex),
        std::string("sha256=")}) {
    absl::Status s = VerifyWebhookSignature("app-secret-1", kBody, header);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << header;
    EXPECT_THAT(std::string(s.message()), HasSubstr("X-Hub-Signature-256: ")) << header;
  }
  EXPECT_EQ(VerifyWebhookSignature("app-secret-1", kBody, "").message(),
            "X-Hub-Signature-256: missing");
}

TEST(WebhookSignatureTest, AnEmptySecretMatchesNothing) {
  EXPECT_EQ(SignWebhookBody("", kBody), "");
  // Not even the digest of zeros a failed HMAC would leave behind.
  const std::string zeros = absl::StrCat("sha256=", std::string(64, '0'));
  EXPECT_EQ(VerifyWebhookSignature("", kBody, zeros).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyWebhookSignature("", kBody, kSigned).code(), absl::StatusCode::kUnauthenticated);
}

TEST(WebhookSignatureTest, OneParsedHeaderAgainstSeveralSecrets) {
  absl::StatusOr<WebhookDigest> d = ParseWebhookSignature(kSigned);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(WebhookDigestMatches("app-secret-0", kBody, *d));
  EXPECT_TRUE(WebhookDigestMatches("app-secret-1", kBody, *d));
  EXPECT_FALSE(WebhookDigestMatches("app-secret-1", "", *d));
}

}  // namespace
}  // namespace wapolicy
