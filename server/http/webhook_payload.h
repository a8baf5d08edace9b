// The /webhooks/whatsapp endpoint's translation layer: one POST body of the
// platform's webhooks (proto/wapolicy/v1/webhook.proto) in, wire-neutral
// updates for the engine out. No I/O and no engine: the endpoint verifies the
// signature (webhook_signature.h), finds the business (webhook_apps.h),
// resolves each update's number, fills `business_number` / `business_id`
// and calls the engine. What the engine has no counterpart for is counted,
// by kind, in `ignored`.
//
//   absl::StatusOr<ParsedWebhook> parsed = ParseWhatsAppWebhook(body);
//   if (!parsed.ok()) return Reply(400, parsed.status().message());
//   for (WebhookUpdate& u : parsed->updates) {
//     if (auto* e = std::get_if<v1::EventRequest>(&u.request)) {
//       e->set_business_number(NumberOf(u.waba_id, u.phone_number_id));
//       ReportEvent(*e);
//     }  // ... SyncNumberRequest, UpdateTemplateQualityRequest, MarketingPreference
//   }
//   for (int k = 0; k < kWebhookIgnoredKinds; ++k) ignored_total[k] += parsed->ignored[k];
#ifndef WAPOLICY_SERVER_HTTP_WEBHOOK_PAYLOAD_H_
#define WAPOLICY_SERVER_HTTP_WEBHOOK_PAYLOAD_H_

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/wapolicy/v1/policy.pb.h"
#include "proto/wapolicy/v1/webhook.pb.h"

namespace wapolicy {

// What the translation left out, by kind (each counted once per item).
enum class WebhookIgnored : int {
  kUnknownField = 0,      // A change whose `field` is not acted on (account_alerts, security...).
  kUnknownStatus,         // A message status other than sent/delivered/read/played/failed.
  kSystemMessage,         // An inbound `system` message: the platform wrote it, not the customer.
  kUnknownPreference,     // user_preferences other than marketing_messages stop / resume.
  kIgnoredAccountEvent,   // account_update other than ACCOUNT_RESTRICTION / DISABLED_UPDATE.
  kIgnoredRestriction,    // A restriction other than RESTRICTED_BIZ_INITIATED_MESSAGING.
  kIgnoredBanState,       // SCHEDULE_FOR_DISABLE or an unknown ban state.
  kIgnoredTemplateEvent,  // A template status event the engine has no counterpart for.
  kUnknownQualityScore,   // A template quality score other than GREEN/YELLOW/RED/UNKNOWN.
  kIgnoredNumberEvent,    // A number or capability update that says nothing the engine keeps.
  kUnknownLimit,  // A limit in an unknown form ("TIER_5K", 2.5, -7): that field is left out.
  kBadTimestamp,  // A time outside 1970..9999: the update is kept with time 0 (now).
  kChangeErrors,  // value.errors: the platform's errors for a whole change.
  kIncomplete,    // An item without what it needs (WABA id, customer, message id, name).
};
inline constexpr int kWebhookIgnoredKinds = static_cast<int>(WebhookIgnored::kIncomplete) + 1;

// "unknown_field", "unknown_status", ...: a stable name for metrics and logs.
absl::string_view WebhookIgnoredName(WebhookIgnored kind);

// Where an update applies.
enum class WebhookScope {
  // The number named by phone_number_id (or, for phone_number_quality_update,
  // display_phone_number only).
  kNumber,
  // The WABA's business: every one of its numbers (account_update,
  // business_capability_update: under per-portfolio limits the portfolio's
  // limit), or its templates.
  kBusiness,
};

// The platform's word that a customer stopped (or resumed) marketing messages
// from this business: user_preferences marketing_messages, or a failed status
// with 131050. Neither v1::OptOut (total) nor v1::OptIn (it replaces the
// customer's topics) says it; the endpoint applies it as
// EventRequest.marketing_preference (stopped = stop), with this time and id.
struct MarketingPreference {
  std::string customer;  // "+" and the digits of wa_id / recipient_id.
  bool stop = true;      // false: resume.
  int64_t occurred_at_unix_ms = 0;
  // "pref:<digits>:<stop|resume>:<unix s>" for user_preferences,
  // "<wamid>:failed:131050" for a failed status.
  std::string event_id;

  bool operator==(const MarketingPreference& o) const {
    return customer == o.customer && stop == o.stop &&
           occurred_at_unix_ms == o.occurred_at_unix_ms && event_id == o.event_id;
  }
};

// One update for the engine, in the order the body gave them.
struct WebhookUpdate {
  std::string waba_id;               // entry.id.
  std::string phone_number_id;       // metadata.phone_number_id, as sent; may be empty.
  std::string display_phone_number;  // metadata's or the value's, as sent; may be empty.
  WebhookScope scope = WebhookScope::kNumber;
  // EventRequest: business_number empty. SyncNumberRequest: business_number
  // empty. UpdateTemplateQualityRequest: business_id empty.
  std::variant<v1::EventRequest, v1::SyncNumberRequest, v1::UpdateTemplateQualityRequest,
               MarketingPreference>
      request;
};

struct ParsedWebhook {
  std::vector<WebhookUpdate> updates;
  std::array<int64_t, kWebhookIgnoredKinds> ignored{};  // By WebhookIgnored.

  int64_t ignored_count(WebhookIgnored kind) const { return ignored[static_cast<int>(kind)]; }
  int64_t ignored_total() const;
};

// Parses a POST body. INVALID_ARGUMENT (with the reason, naming the field
// where there is one) for a body that is not JSON of the webhook's shape, or
// whose `object` is not "whatsapp_business_account". Unknown fields, unknown
// `field` values and unknown event words are not errors: they are counted.
absl::StatusOr<ParsedWebhook> ParseWhatsAppWebhook(absl::string_view body);

// The two halves of ParseWhatsAppWebhook: the JSON into the payload's message
// (protobuf's JSON mapping, unknown fields ignored; `object` is not checked),
// and the message into updates. ParseWebhookJson reads with simdjson
// (webhook_json.h); ParseWebhookJsonWithProtobuf with protobuf's own
// JsonStringToMessage, the reference the tests hold it to (4x slower).
absl::StatusOr<v1::WebhookEnvelope> ParseWebhookJson(absl::string_view body);
absl::StatusOr<v1::WebhookEnvelope> ParseWebhookJsonWithProtobuf(absl::string_view body);
ParsedWebhook TranslateWebhook(const v1::WebhookEnvelope& envelope);

// "en-US" -> "en_US": templates are registered with underscores.
std::string NormalizeTemplateLanguage(absl::string_view language);

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_HTTP_WEBHOOK_PAYLOAD_H_
