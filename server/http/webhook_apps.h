// The webhook endpoint's apps (--webhook_apps): for each of the platform's
// apps subscribed to our callback, its app secret (which signs each POST),
// its verify token (the GET handshake), and the businesses whose WhatsApp
// Business Accounts (WABAs) it delivers. A WebhookAppsConfig in protobuf text
// format (proto/wapolicy/v1/webhook.proto). The file holds secrets: it is
// refused unless only its owner, the server's user, may read it (mode 0600
// or 0400).
//
//   absl::StatusOr<std::unique_ptr<WebhookApps>> apps = WebhookApps::LoadFile(path);
//   if (!apps.ok()) return Fail(std::string(apps.status().message()));
//   // GET ?hub.verify_token=T: answer the challenge if some app has T.
//   if ((*apps)->FindByVerifyToken(token) == nullptr) return Reply(403);
//   // POST: the app whose secret signed the body, then each entry's business.
//   absl::StatusOr<const WebhookAppEntry*> app = (*apps)->FindBySignature(body, header);
//   if (!app.ok()) return Reply(401);
//   absl::StatusOr<std::string> business = (*apps)->BusinessOfWaba(**app, update.waba_id);
#ifndef WAPOLICY_SERVER_HTTP_WEBHOOK_APPS_H_
#define WAPOLICY_SERVER_HTTP_WEBHOOK_APPS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/wapolicy/v1/webhook.pb.h"

namespace wapolicy {

// One app, validated.
struct WebhookAppEntry {
  std::string name;
  std::string app_secret;
  std::string verify_token;
  absl::flat_hash_map<std::string, std::string> business_of_waba;  // WABA id -> business id.
};

class WebhookApps {
 public:
  // Reads and validates the file. FAILED_PRECONDITION naming the path and
  // its mode if group or others have any permission on it (mode & 077), or
  // naming the owner if it is not the current user's; NOT_FOUND if it does
  // not exist; INVALID_ARGUMENT naming the line (a syntax error) or the
  // field (a bad value). No error repeats a secret or a token.
  static absl::StatusOr<std::unique_ptr<WebhookApps>> LoadFile(const std::string& path);
  // The same from text, without the file's checks.
  static absl::StatusOr<std::unique_ptr<WebhookApps>> Parse(absl::string_view text);
  // Validates: at least one app; each with a unique non-empty name, a
  // non-empty app_secret, a non-empty verify_token (secrets and tokens
  // unique across apps), at least one business; each business a valid
  // business_id and a WABA id of digits, listed once per app, and the same
  // business wherever a WABA is listed (several apps may deliver one WABA).
  static absl::StatusOr<std::unique_ptr<WebhookApps>> FromConfig(
      const v1::WebhookAppsConfig& config);

  // The app whose verify token is `token` (compared in constant time), or null.
  const WebhookAppEntry* FindByVerifyToken(absl::string_view token) const;
  // The app whose secret signed `body` (the X-Hub-Signature-256 header's
  // value): INVALID_ARGUMENT for a malformed header, UNAUTHENTICATED when no
  // app's secret matches.
  absl::StatusOr<const WebhookAppEntry*> FindBySignature(absl::string_view body,
                                                         absl::string_view signature_header) const;
  // The business of `waba_id` for `app`; NOT_FOUND naming the WABA and the
  // app when the app does not deliver it.
  absl::StatusOr<std::string> BusinessOfWaba(const WebhookAppEntry& app,
                                             absl::string_view waba_id) const;
  // Whether `app` delivers some WABA of `business_id`.
  bool AppHasBusiness(const WebhookAppEntry& app, absl::string_view business_id) const;

  const std::vector<WebhookAppEntry>& apps() const { return apps_; }

 private:
  std::vector<WebhookAppEntry> apps_;
};

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_HTTP_WEBHOOK_APPS_H_
