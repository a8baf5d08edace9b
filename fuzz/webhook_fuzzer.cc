// Fuzzes the webhook endpoint's parser: arbitrary bytes as a POST body to
// /webhooks/whatsapp, through ParseWhatsAppWebhook (simdjson, then the
// translation). Must never crash, leak or trip UBSan, and checks:
// - what simdjson's reader and protobuf's JsonStringToMessage both accept,
//   they read into the same message (they may refuse differently: simdjson
//   refuses invalid UTF-8 and lone surrogates anywhere, for one);
// - every update is well formed: a WABA id; an event's customer "+" and
//   digits, its id set, its time in 1970..9999 or 0, its business number
//   left empty; a sync says something; a template has a name and a
//   language without '-'.
// Seeds: tests/webhooks (the fixtures) and fuzz/corpus/webhook_fuzzer.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "google/protobuf/util/message_differencer.h"
#include "server/http/webhook_payload.h"

namespace {

using namespace wapolicy;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "webhook_fuzzer: %s\n", what);
    std::abort();
  }
}

bool IsCustomer(const std::string& c) {
  if (c.size() < 2 || c[0] != '+') return false;
  for (size_t i = 1; i < c.size(); ++i) {
    if (c[i] < '0' || c[i] > '9') return false;
  }
  return true;
}

void CheckUpdate(const WebhookUpdate& u) {
  constexpr int64_t kMaxMs = int64_t{253402300799} * 1000;
  Check(!u.waba_id.empty(), "update without a WABA id");
  if (const auto* e = std::get_if<v1::EventRequest>(&u.request)) {
    Check(e->business_number().empty(), "event with a business number");
    Check(IsCustomer(e->customer()), "event customer not + and digits");
    Check(!e->event_id().empty(), "event without an id");
    Check(e->occurred_at_unix_ms() >= 0 && e->occurred_at_unix_ms() <= kMaxMs,
          "event time out of range");
    Check(e->event_case() != v1::EventRequest::EVENT_NOT_SET, "event without a kind");
    Check(u.scope == WebhookScope::kNumber, "event not number-scoped");
  } else if (const auto* r = std::get_if<v1::SyncNumberRequest>(&u.request)) {
    Check(r->business_number().empty(), "sync with a business number");
    Check(r->has_messaging_limit() || r->has_throughput_mps() || r->has_flagged() ||
              r->has_restricted_until_unix_ms() || r->has_disabled(),
          "sync that says nothing");
    Check(!r->has_messaging_limit() || r->messaging_limit() == -1 || r->messaging_limit() > 0,
          "sync limit neither positive nor -1");
    Check(!r->has_restricted_until_unix_ms() ||
              (r->restricted_until_unix_ms() > 0 && r->restricted_until_unix_ms() <= kMaxMs),
          "restriction end out of range");
    Check(r->occurred_at_unix_ms() >= 0 && r->occurred_at_unix_ms() <= kMaxMs,
          "sync time out of range");
    Check(u.scope == WebhookScope::kBusiness || !u.display_phone_number.empty(),
          "number sync without a number");
  } else if (const auto* t = std::get_if<v1::UpdateTemplateQualityRequest>(&u.request)) {
    Check(t->business_id().empty(), "template update with a business id");
    Check(!t->name().empty() && !t->language().empty(), "template without name or language");
    Check(t->language().find('-') == std::string::npos, "language not normalized");
    Check(u.scope == WebhookScope::kBusiness, "template update not business-scoped");
  } else {
    const auto& p = std::get<MarketingPreference>(u.request);
    Check(IsCustomer(p.customer), "preference customer not + and digits");
    Check(!p.event_id.empty(), "preference without an id");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<v1::WebhookEnvelope> fast = ParseWebhookJson(body);
  absl::StatusOr<v1::WebhookEnvelope> reference = ParseWebhookJsonWithProtobuf(body);
  if (fast.ok() && reference.ok()) {
    Check(google::protobuf::util::MessageDifferencer::Equals(*fast, *reference),
          "simdjson and protobuf read different messages");
  }
  absl::StatusOr<ParsedWebhook> parsed = ParseWhatsAppWebhook(body);
  Check(parsed.ok() || parsed.status().code() == absl::StatusCode::kInvalidArgument,
        "an error other than INVALID_ARGUMENT");
  Check(parsed.ok() == (fast.ok() && fast->object() == "whatsapp_business_account"),
        "ParseWhatsAppWebhook disagrees with its halves");
  if (!parsed.ok()) return 0;
  for (const WebhookUpdate& u : parsed->updates) CheckUpdate(u);
  // Translating the reference's message gives the same updates.
  if (reference.ok()) {
    const ParsedWebhook again = TranslateWebhook(*reference);
    Check(again.updates.size() == parsed->updates.size() && again.ignored == parsed->ignored,
          "translation differs between the readers");
  }
  return 0;
}
