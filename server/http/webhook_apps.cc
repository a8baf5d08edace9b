#include "server/http/webhook_apps.h"

#include <openssl/crypto.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "policy/policy_engine.h"
#include "server/http/webhook_signature.h"
#include "server/private_file.h"

namespace wapolicy {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;  // Far more than any apps file.

// Keeps the first syntax error's place. protobuf's message is not kept: it
// may quote the offending token, which could be a secret.
class FirstErrorAt : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& /*message*/) override {
    if (line_ >= 0) return;
    line_ = line;
    column_ = column;
  }
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_ = -1;
  int column_ = 0;
};

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return !s.empty();
}

// Equal in constant time for equal lengths (the length itself may show).
bool SecretEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WebhookApps>> WebhookApps::FromConfig(
    const v1::WebhookAppsConfig& config) {
  if (config.app_size() == 0) return absl::InvalidArgumentError("app: at least one app");
  auto apps = std::make_unique<WebhookApps>();
  absl::flat_hash_map<std::string, int> app_by_name;
  absl::flat_hash_map<std::string, std::string> business_of_waba;  // Across apps.
  for (int i = 0; i < config.app_size(); ++i) {
    const v1::WebhookApp& a = config.app(i);
    const std::string at = absl::StrCat("app[", i, "]");
    auto bad = [&](absl::string_view field, absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(at, ".", field, ": ", why));
    };
    if (a.name().empty()) return bad("name", "empty");
    if (!app_by_name.emplace(a.name(), i).second) {
      return bad("name",
                 absl::StrCat("\"", a.name(), "\" is also app[", app_by_name[a.name()], "]'s"));
    }
    if (a.app_secret().empty()) return bad("app_secret", "empty");
    if (a.verify_token().empty()) return bad("verify_token", "empty");
    for (int j = 0; j < i; ++j) {
      // Named by index only: the values are secrets.
      if (SecretEquals(a.app_secret(), config.app(j).app_secret())) {
        return bad("app_secret", absl::StrCat("the same as app[", j, "]'s"));
      }
      if (SecretEquals(a.verify_token(), config.app(j).verify_token())) {
        return bad("verify_token", absl::StrCat("the same as app[", j, "]'s"));
      }
    }
    if (a.business_size() == 0) return bad("business", "at least one business");
    WebhookAppEntry entry{a.name(), a.app_secret(), a.verify_token(), {}};
    for (int k = 0; k < a.business_size(); ++k) {
      const v1::WebhookBusiness& b = a.business(k);
      const std::string bat = absl::StrCat("business[", k, "].");
      if (absl::Status s = ValidateBusinessId(b.business_id()); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(at, ".", bat, s.message()));
      }
      if (!AllDigits(b.waba_id()) || b.waba_id().size() > 32) {
        return bad(absl::StrCat(bat, "waba_id"), "must be 1 to 32 digits");
      }
      if (!entry.business_of_waba.emplace(b.waba_id(), b.business_id()).second) {
        return bad(absl::StrCat(bat, "waba_id"),
                   absl::StrCat(b.waba_id(), " is listed twice in this app"));
      }
      auto [it, fresh] = business_of_waba.emplace(b.waba_id(), b.business_id());
      if (!fresh && it->second != b.business_id()) {
        return bad(absl::StrCat(bat, "waba_id"),
                   absl::StrCat(b.waba_id(), " is business \"", it->second,
                                "\"'s in another app, not \"", b.business_id(), "\"'s"));
      }
    }
    apps->apps_.push_back(std::move(entry));
  }
  return apps;
}

absl::StatusOr<std::unique_ptr<WebhookApps>> WebhookApps::Parse(absl::string_view text) {
  v1::WebhookAppsConfig config;
  google::protobuf::TextFormat::Parser parser;
  FirstErrorAt error;
  parser.RecordErrorsTo(&error);
  if (!parser.ParseFromString(std::string(text), &config)) {
    // Lines and columns from 1, as editors count them.
    return absl::InvalidArgumentError(
        absl::StrFormat("line %d, column %d: not a WebhookAppsConfig in text format",
                        error.line() + 1, error.column() + 1));
  }
  return FromConfig(config);
}

absl::StatusOr<std::unique_ptr<WebhookApps>> WebhookApps::LoadFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadPrivateFile(path, kMaxFileBytes, "app secrets");
  if (!text.ok()) return text.status();
  absl::StatusOr<std::unique_ptr<WebhookApps>> apps = Parse(*text);
  if (!apps.ok()) {
    return absl::Status(apps.status().code(), absl::StrCat(path, ": ", apps.status().message()));
  }
  return apps;
}

const WebhookAppEntry* WebhookApps::FindByVerifyToken(absl::string_view token) const {
  const WebhookAppEntry* found = nullptr;
  // Every app is compared, so the time does not say which one matched.
  for (const WebhookAppEntry& app : apps_) {
    if (SecretEquals(token, app.verify_token) && found == nullptr) found = &app;
  }
  return token.empty() ? nullptr : found;
}

absl::StatusOr<const WebhookAppEntry*> WebhookApps::FindBySignature(
    absl::string_view body, absl::string_view signature_header) const {
  absl::StatusOr<WebhookDigest> digest = ParseWebhookSignature(signature_header);
  if (!digest.ok()) return digest.status();
  for (const WebhookAppEntry& app : apps_) {
    if (WebhookDigestMatches(app.app_secret, body, *digest)) return &app;
  }
  return absl::UnauthenticatedError(
      absl::StrCat(kWebhookSignatureHeader, ": no app's secret signed this body"));
}

absl::StatusOr<std::string> WebhookApps::BusinessOfWaba(const WebhookAppEntry& app,
                                                        absl::string_view waba_id) const {
  if (auto it = app.business_of_waba.find(waba_id); it != app.business_of_waba.end()) {
    return it->second;
  }
  return absl::NotFoundError(
      absl::StrCat("WABA ", waba_id.substr(0, 64), " is not listed for app \"", app.name, "\""));
}

bool WebhookApps::AppHasBusiness(const WebhookAppEntry& app, absl::string_view business_id) const {
  for (const auto& [waba, business] : app.business_of_waba) {
    if (business == business_id) return true;
  }
  return false;
}

}  // namespace wapolicy
