#include "server/http/webhook_payload.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "policy/event_ids.h"
#include "server/http/webhook_json.h"

namespace wapolicy {
namespace {

constexpr int64_t kMaxUnixSeconds = 253402300799;  // 9999-12-31T23:59:59Z.
constexpr absl::string_view kObject = "whatsapp_business_account";

// The platform's error for "the user stopped marketing messages".
constexpr int32_t kMarketingStoppedCode = 131050;
// THROUGHPUT_UPGRADE: the number now sends 1,000 messages a second.
constexpr int32_t kUpgradedThroughputMps = 1000;

// One change being translated: where its updates go and what they carry.
struct Change {
  ParsedWebhook& out;
  const std::string& waba_id;
  const v1::WebhookValue& value;
  int64_t entry_ms;  // entry.time in ms, or 0.

  void Count(WebhookIgnored kind) const { ++out.ignored[static_cast<int>(kind)]; }

  // An update for the number in the change's metadata.
  WebhookUpdate& AddForNumber() const {
    WebhookUpdate& u = out.updates.emplace_back();
    u.waba_id = waba_id;
    u.phone_number_id = value.metadata().phone_number_id();
    u.display_phone_number = value.metadata().display_phone_number();
    u.scope = WebhookScope::kNumber;
    return u;
  }
  // An update for the whole business behind the WABA.
  WebhookUpdate& AddForBusiness() const {
    WebhookUpdate& u = out.updates.emplace_back();
    u.waba_id = waba_id;
    u.scope = WebhookScope::kBusiness;
    return u;
  }

  int64_t Millis(int64_t unix_seconds) const;
};

// Unix seconds as the engine's milliseconds. 0 (absent) stays 0, which the
// engine reads as "when it arrives"; a time no platform sends (before 1970,
// after 9999, where milliseconds could overflow) is counted and also becomes
// 0, so the update itself is not lost.
int64_t MillisOf(ParsedWebhook& out, int64_t unix_seconds) {
  if (unix_seconds == 0) return 0;
  if (unix_seconds < 0 || unix_seconds > kMaxUnixSeconds) {
    ++out.ignored[static_cast<int>(WebhookIgnored::kBadTimestamp)];
    return 0;
  }
  return unix_seconds * 1000;
}

int64_t Change::Millis(int64_t unix_seconds) const { return MillisOf(out, unix_seconds); }

// "+" and the digits of the platform's wa_id / recipient_id (digits only on
// the wire, the country code first); empty if it has none.
std::string CustomerOf(absl::string_view wa_id) {
  std::string out;
  out.reserve(wa_id.size() + 1);
  out.push_back('+');
  for (char c : wa_id) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) out.push_back(c);
  }
  if (out.size() == 1) out.clear();
  return out;
}

// --- Limits ------------------------------------------------------------------

enum class Limit { kAbsent, kKnown, kUnknown };

// A limit as the platform words it: TIER_50 ... TIER_100K, TIER_UNLIMITED or
// UNLIMITED (-1), or digits ("2000", "-1"). TIER_NOT_SET and "" say nothing.
Limit LimitOfWord(absl::string_view word, int64_t* limit) {
  static constexpr std::pair<absl::string_view, int64_t> kTiers[] = {
      {"TIER_50", 50},     {"TIER_250", 250},     {"TIER_1K", 1000},      {"TIER_2K", 2000},
      {"TIER_10K", 10000}, {"TIER_100K", 100000}, {"TIER_UNLIMITED", -1}, {"UNLIMITED", -1},
  };
  if (word.empty() || word == "TIER_NOT_SET") return Limit::kAbsent;
  for (const auto& [name, value] : kTiers) {
    if (word == name) {
      *limit = value;
      return Limit::kKnown;
    }
  }
  int64_t n = 0;
  if (absl::SimpleAtoi(word, &n) && (n == -1 || n > 0)) {
    *limit = n;
    return Limit::kKnown;
  }
  return Limit::kUnknown;
}

// A limit sent as a JSON number (2000, -1 = unlimited) or a word.
Limit LimitOfValue(const google::protobuf::Value& v, int64_t* limit) {
  switch (v.kind_case()) {
    case google::protobuf::Value::KIND_NOT_SET:
    case google::protobuf::Value::kNullValue:
      return Limit::kAbsent;
    case google::protobuf::Value::kStringValue:
      return LimitOfWord(v.string_value(), limit);
    case google::protobuf::Value::kNumberValue: {
      const double d = v.number_value();
      if (d == -1 || (d >= 1 && d <= 1e15 && std::floor(d) == d)) {
        *limit = static_cast<int64_t>(d);
        return Limit::kKnown;
      }
      return Limit::kUnknown;
    }
    default:
      return Limit::kUnknown;
  }
}

// --- field: messages ----------------------------------------------------------

// A status of a message the business sent.
void TranslateStatus(const Change& c, const v1::WebhookStatus& s) {
  // sent, delivered, read and played are all a delivery for the engine.
  // `read` and `played` imply delivered (the platform may skip the
  // `delivered` webhook, and statuses arrive out of order); the engine
  // answers repeat deliveries of one message idempotently, so each is
  // reported and the first to arrive counts. `sent` too (the issue's
  // choice): the conversation is counted from the platform's acceptance, on
  // the safe side (the count never lags the platform's). Its cost: a
  // `failed` after a `sent` finds the slot confirmed and gives nothing back
  // (the engine answers FAILED_PRECONDITION; the 131049 hold still applies).
  // Matched without case; the event id uses the lower-case word.
  static constexpr absl::string_view kDelivered[] = {"sent", "delivered", "read", "played"};
  absl::string_view status;
  for (absl::string_view w : kDelivered) {
    if (absl::EqualsIgnoreCase(s.status(), w)) status = w;
  }
  const bool failed = absl::EqualsIgnoreCase(s.status(), "failed");
  if (failed) status = "failed";
  if (status.empty()) {
    c.Count(WebhookIgnored::kUnknownStatus);  // e.g. "deleted", "warning".
    return;
  }
  std::string customer = CustomerOf(s.recipient_id());
  if (s.id().empty() || customer.empty()) {
    // No wamid, or only a business-scoped user id (recipient_user_id): the
    // engine keys customers by phone number.
    c.Count(WebhookIgnored::kIncomplete);
    return;
  }
  v1::EventRequest e;
  e.set_customer(customer);
  e.set_occurred_at_unix_ms(c.Millis(s.timestamp()));
  // One id per (message, status): a retried webhook repeats it, a later
  // status of the same message does not.
  e.set_event_id(absl::StrCat(s.id(), ":", status));
  // The pipeline's own id, echoed back, is what its Check carried
  // (CheckRequest.message_id, at most 256 bytes); without it (or with more
  // than a Check may carry, so it cannot be one) the wamid.
  const std::string& opaque = s.biz_opaque_callback_data();
  e.set_message_id(!opaque.empty() && opaque.size() <= kMaxEventIdBytes ? opaque : s.id());
  int32_t code = 0;
  if (failed) {
    // The first error is the platform's reason (131049 holds marketing 24 h
    // in the engine; 131050 see below); no error: code 0.
    if (s.errors_size() > 0) code = s.errors(0).code();
    e.mutable_delivery_failed()->set_error_code(code);
  } else {
    e.mutable_delivered();
  }
  const int64_t at = e.occurred_at_unix_ms();
  c.AddForNumber().request = std::move(e);
  if (failed && code == kMarketingStoppedCode) {
    // 131050: the customer stopped marketing messages from this business.
    // The engine takes the failure itself as that word too, but it refuses a
    // failure with no admission awaiting delivery (a `failed` after a
    // `sent`, or a retry after the slot's timeout): the preference, on its
    // own, stands either way. Twice at one time changes nothing.
    c.AddForNumber().request =
        MarketingPreference{std::move(customer), /*stop=*/true, at,
                            absl::StrCat(s.id(), ":failed:", kMarketingStoppedCode)};
  }
}

// The text the engine reads for opt-out keywords: what the customer typed or
// the label of what they tapped (a template's quick reply, a reply button, a
// list row), so "STOP" as a quick reply opts out like "STOP" typed. Empty for
// media, locations, reactions and the rest (captions are not read).
absl::string_view InboundText(const v1::WebhookMessage& m) {
  const std::string& type = m.type();
  if (type == "text") return m.text().body();
  if (type == "button") return m.button().text();
  if (type == "interactive") {
    if (m.interactive().has_button_reply()) return m.interactive().button_reply().title();
    if (m.interactive().has_list_reply()) return m.interactive().list_reply().title();
  }
  return "";
}

// A message the customer sent: every type opens or refreshes the service
// window (unsupported types too: the customer did write), except `system`
// messages (the customer changed number or identity), which the platform
// writes, not the customer; they are counted instead.
void TranslateInbound(const Change& c, const v1::WebhookMessage& m) {
  if (m.type() == "system") {
    c.Count(WebhookIgnored::kSystemMessage);
    return;
  }
  std::string customer = CustomerOf(m.from());
  if (m.id().empty() || customer.empty()) {
    c.Count(WebhookIgnored::kIncomplete);
    return;
  }
  v1::EventRequest e;
  e.set_customer(std::move(customer));
  e.set_occurred_at_unix_ms(c.Millis(m.timestamp()));
  e.set_event_id(m.id());  // A wamid is unique per message.
  e.mutable_inbound()->set_text(std::string(InboundText(m)));
  c.AddForNumber().request = std::move(e);
}

void TranslateMessages(const Change& c) {
  for (const v1::WebhookStatus& s : c.value.statuses()) TranslateStatus(c, s);
  for (const v1::WebhookMessage& m : c.value.messages()) TranslateInbound(c, m);
  for (int i = 0; i < c.value.errors_size(); ++i) c.Count(WebhookIgnored::kChangeErrors);
}

// --- field: user_preferences ----------------------------------------------------

void TranslatePreferences(const Change& c) {
  for (const v1::WebhookUserPreference& p : c.value.user_preferences()) {
    // Only marketing_messages exists today; later categories are counted.
    const bool stop = p.value() == "stop";
    if (p.category() != "marketing_messages" || (!stop && p.value() != "resume")) {
      c.Count(WebhookIgnored::kUnknownPreference);
      continue;
    }
    std::string customer = CustomerOf(p.wa_id());
    if (customer.empty()) {
      c.Count(WebhookIgnored::kIncomplete);
      continue;
    }
    // The platform gives a preference no id: its customer, word and time
    // make one that a retried webhook repeats.
    std::string id = absl::StrCat("pref:", absl::string_view(customer).substr(1), ":", p.value(),
                                  ":", p.timestamp());
    const int64_t at = c.Millis(p.timestamp());
    c.AddForNumber().request = MarketingPreference{std::move(customer), stop, at, std::move(id)};
  }
}

// --- field: phone_number_quality_update -------------------------------------------

// The number's limit and, before October 2025, its Flagged state; its
// throughput after THROUGHPUT_UPGRADE. Only the display number is sent.
void TranslateNumberQuality(const Change& c) {
  const v1::WebhookValue& v = c.value;
  if (v.display_phone_number().empty()) {
    c.Count(WebhookIgnored::kIncomplete);
    return;
  }
  v1::SyncNumberRequest r;
  r.set_occurred_at_unix_ms(c.entry_ms);
  // current_limit is the number's limit whatever the event (ONBOARDING,
  // UPGRADE, DOWNGRADE, THROUGHPUT_UPGRADE, FLAGGED carry it); without it,
  // max_daily_conversations_per_business (the portfolio's, which is the
  // number's under per-portfolio limits). old_limit is history: not read.
  int64_t limit = 0;
  Limit l = LimitOfWord(v.current_limit(), &limit);
  if (l == Limit::kAbsent) l = LimitOfValue(v.max_daily_conversations_per_business(), &limit);
  if (l == Limit::kKnown) r.set_messaging_limit(limit);
  if (l == Limit::kUnknown) c.Count(WebhookIgnored::kUnknownLimit);
  const std::string& event = v.event();
  if (event == "THROUGHPUT_UPGRADE") r.set_throughput_mps(kUpgradedThroughputMps);
  // Legacy Flagged (the platform dropped it in October 2025): its word
  // replaces the engine's.
  if (event == "FLAGGED") r.set_flagged(true);
  if (event == "UNFLAGGED") r.set_flagged(false);
  if (!r.has_messaging_limit() && !r.has_throughput_mps() && !r.has_flagged()) {
    c.Count(WebhookIgnored::kIgnoredNumberEvent);  // e.g. ONBOARDING with TIER_NOT_SET.
    return;
  }
  WebhookUpdate& u = c.out.updates.emplace_back();
  u.waba_id = c.waba_id;
  u.display_phone_number = v.display_phone_number();
  u.scope = WebhookScope::kNumber;
  u.request = std::move(r);
}

// --- field: business_capability_update ----------------------------------------------

// The business's daily limit: max_daily_conversations_per_business (the
// portfolio's, since October 2025: a number, -1, or a word), else the older
// per-number max_daily_conversation_per_phone (which then applies to each
// number alike). max_phone_numbers_per_waba is not a sending rule.
void TranslateCapability(const Change& c) {
  const v1::WebhookValue& v = c.value;
  int64_t limit = 0;
  Limit l = LimitOfValue(v.max_daily_conversations_per_business(), &limit);
  if (l == Limit::kUnknown) c.Count(WebhookIgnored::kUnknownLimit);
  if (l != Limit::kKnown) {
    l = LimitOfValue(v.max_daily_conversation_per_phone(), &limit);
    if (l == Limit::kUnknown) c.Count(WebhookIgnored::kUnknownLimit);
  }
  if (l != Limit::kKnown) {
    c.Count(WebhookIgnored::kIgnoredNumberEvent);
    return;
  }
  v1::SyncNumberRequest r;
  r.set_messaging_limit(limit);
  r.set_occurred_at_unix_ms(c.entry_ms);
  c.AddForBusiness().request = std::move(r);
}

// --- field: account_update -------------------------------------------------------------

// The ban state: a word (documented) or a list of words; the last DISABLE or
// REINSTATE wins. 1: disabled, 0: reinstated, -1: neither.
int BanStateOf(const Change& c, const google::protobuf::Value& state) {
  int result = -1;
  auto word = [&](const google::protobuf::Value& w) {
    if (w.kind_case() == google::protobuf::Value::kStringValue && w.string_value() == "DISABLE") {
      result = 1;
    } else if (w.kind_case() == google::protobuf::Value::kStringValue &&
               w.string_value() == "REINSTATE") {
      result = 0;
    } else {
      c.Count(WebhookIgnored::kIgnoredBanState);  // SCHEDULE_FOR_DISABLE: not yet.
    }
  };
  if (state.kind_case() == google::protobuf::Value::kListValue) {
    for (const google::protobuf::Value& w : state.list_value().values()) word(w);
  } else {
    word(state);
  }
  return result;
}

void TranslateAccount(const Change& c) {
  const v1::WebhookValue& v = c.value;
  v1::SyncNumberRequest r;
  r.set_occurred_at_unix_ms(c.entry_ms);
  if (v.event() == "ACCOUNT_RESTRICTION") {
    // Business-initiated messaging restricted until `expiration`: no new
    // business-initiated conversations on any of the business's numbers
    // (replies go on). Several such entries: the latest end. Other
    // restrictions (adding numbers, customer-initiated messaging) have no
    // counterpart in the engine.
    int64_t until = 0;
    for (const v1::WebhookRestriction& x : v.restriction_info()) {
      if (x.restriction_type() != "RESTRICTED_BIZ_INITIATED_MESSAGING") {
        c.Count(WebhookIgnored::kIgnoredRestriction);
        continue;
      }
      if (x.expiration() <= 0 || x.expiration() > kMaxUnixSeconds) {
        c.Count(WebhookIgnored::kIncomplete);  // No end we could hold it to.
        continue;
      }
      until = std::max(until, x.expiration() * 1000);
    }
    if (until == 0) return;
    r.set_restricted_until_unix_ms(until);
  } else if (v.event() == "DISABLED_UPDATE") {
    // DISABLE: the account sends nothing; REINSTATE lifts it.
    // SCHEDULE_FOR_DISABLE announces a future DISABLE: counted, not acted on.
    const int disabled = BanStateOf(c, v.ban_info().waba_ban_state());
    if (disabled < 0) return;
    r.set_disabled(disabled == 1);
  } else {
    // ACCOUNT_VIOLATION (the quality signals come from blocks and the
    // limits from their own webhooks), partner and pricing events.
    c.Count(WebhookIgnored::kIgnoredAccountEvent);
    return;
  }
  c.AddForBusiness().request = std::move(r);
}

// --- fields: message_template_status_update, message_template_quality_update -------------

// Names the change's template in `r`; false (counted) without a name or a language.
bool TemplateOf(const Change& c, v1::UpdateTemplateQualityRequest* r) {
  if (c.value.message_template_name().empty() || c.value.message_template_language().empty()) {
    c.Count(WebhookIgnored::kIncomplete);
    return false;
  }
  r->set_name(c.value.message_template_name());
  r->set_language(NormalizeTemplateLanguage(c.value.message_template_language()));
  return true;
}

void TranslateTemplateStatus(const Change& c) {
  v1::UpdateTemplateQualityRequest r;
  if (!TemplateOf(c, &r)) return;
  const std::string& event = c.value.event();
  const std::string& title = c.value.other_info().title();
  if (event == "APPROVED" || event == "PENDING" || event == "REJECTED" || event == "DISABLED") {
    // The review status, as the platform says it. An UNPAUSE arrives as
    // APPROVED with other_info.title UNPAUSE: it also lifts the pause.
    r.set_status(event == "APPROVED"   ? v1::APPROVED
                 : event == "PENDING"  ? v1::PENDING
                 : event == "REJECTED" ? v1::REJECTED
                                       : v1::DISABLED);
    if (title == "UNPAUSE") r.set_unpause(true);
  } else if (event == "PAUSED" && title != "RATE_LIMITING_PAUSE") {
    // A quality pause (FIRST_PAUSE, SECOND_PAUSE, or no title) is the
    // platform acting on a RED rating: reported as RED, which pauses it in
    // the engine (3 h, then 6 h). The engine acts only on a transition to
    // RED, so the quality update's own RED and this one count once.
    r.set_quality(v1::RED);
  } else if (event == "REINSTATED") {
    r.set_reinstate(true);  // A disabled template is APPROVED again.
  } else if (title == "UNPAUSE") {
    r.set_unpause(true);  // An UNPAUSE under another event word.
  } else {
    // Not acted on, counted:
    // - PAUSED with RATE_LIMITING_PAUSE: not a quality pause, and reporting
    //   it as RED would move the template towards its third RED (disabled);
    //   the engine has no pause without a rating, so sends go on until the
    //   platform refuses them (132015).
    // - FLAGGED (a warning before a pause or disable), IN_APPEAL (a
    //   rejection appealed: still not sendable, status unchanged), LOCKED
    //   (no more edits; still sendable), LIMIT_EXCEEDED (the WABA's template
    //   count; this template was not created).
    // - DELETED, PENDING_DELETION, ARCHIVED: the template cannot be sent any
    //   more; the engine has no such status (DISABLED would answer 132016,
    //   the wrong reason). The operator removes it (RemoveTemplate).
    c.Count(WebhookIgnored::kIgnoredTemplateEvent);
    return;
  }
  c.AddForBusiness().request = std::move(r);
}

void TranslateTemplateQuality(const Change& c) {
  v1::UpdateTemplateQualityRequest r;
  if (!TemplateOf(c, &r)) return;
  const std::string& score = c.value.new_quality_score();
  if (score == "GREEN") {
    r.set_quality(v1::GREEN);
  } else if (score == "YELLOW") {
    r.set_quality(v1::YELLOW);
  } else if (score == "RED") {
    r.set_quality(v1::RED);  // Pauses it (3 h, 6 h) or disables it the third time.
  } else if (score == "UNKNOWN") {
    r.set_quality(v1::TEMPLATE_QUALITY_UNKNOWN);  // Not rated yet.
  } else {
    c.Count(WebhookIgnored::kUnknownQualityScore);
    return;
  }
  c.AddForBusiness().request = std::move(r);
}

void TranslateChange(const Change& c, const std::string& field) {
  if (field == "messages") {
    TranslateMessages(c);
  } else if (field == "user_preferences") {
    TranslatePreferences(c);
  } else if (field == "phone_number_quality_update") {
    TranslateNumberQuality(c);
  } else if (field == "business_capability_update") {
    TranslateCapability(c);
  } else if (field == "account_update") {
    TranslateAccount(c);
  } else if (field == "message_template_status_update") {
    TranslateTemplateStatus(c);
  } else if (field == "message_template_quality_update") {
    TranslateTemplateQuality(c);
  } else {
    // account_alerts (a limit increase refused, OBA decisions: nothing the
    // engine keeps), template_category_update, security, ...
    c.Count(WebhookIgnored::kUnknownField);
  }
}

}  // namespace

absl::string_view WebhookIgnoredName(WebhookIgnored kind) {
  switch (kind) {
    case WebhookIgnored::kUnknownField:
      return "unknown_field";
    case WebhookIgnored::kUnknownStatus:
      return "unknown_status";
    case WebhookIgnored::kSystemMessage:
      return "system_message";
    case WebhookIgnored::kUnknownPreference:
      return "unknown_preference";
    case WebhookIgnored::kIgnoredAccountEvent:
      return "ignored_account_event";
    case WebhookIgnored::kIgnoredRestriction:
      return "ignored_restriction";
    case WebhookIgnored::kIgnoredBanState:
      return "ignored_ban_state";
    case WebhookIgnored::kIgnoredTemplateEvent:
      return "ignored_template_event";
    case WebhookIgnored::kUnknownQualityScore:
      return "unknown_quality_score";
    case WebhookIgnored::kIgnoredNumberEvent:
      return "ignored_number_event";
    case WebhookIgnored::kUnknownLimit:
      return "unknown_limit";
    case WebhookIgnored::kBadTimestamp:
      return "bad_timestamp";
    case WebhookIgnored::kChangeErrors:
      return "change_errors";
    case WebhookIgnored::kIncomplete:
      return "incomplete";
  }
  return "unknown";
}

int64_t ParsedWebhook::ignored_total() const {
  int64_t n = 0;
  for (int64_t k : ignored) n += k;
  return n;
}

std::string NormalizeTemplateLanguage(absl::string_view language) {
  std::string out(language);
  for (char& ch : out) {
    if (ch == '-') ch = '_';
  }
  return out;
}

absl::StatusOr<v1::WebhookEnvelope> ParseWebhookJson(absl::string_view body) {
  v1::WebhookEnvelope envelope;
  if (absl::Status s = JsonToProto(body, &envelope); !s.ok()) {
    // The reason names the field ("entry[0].id: expected a string") or says
    // how the JSON broke; at most 256 bytes of it, for logs.
    return absl::InvalidArgumentError(
        absl::StrCat("body: not a webhook payload: ", s.message().substr(0, 256)));
  }
  return envelope;
}

absl::StatusOr<v1::WebhookEnvelope> ParseWebhookJsonWithProtobuf(absl::string_view body) {
  v1::WebhookEnvelope envelope;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // The platform adds fields over time.
  const auto s = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), &envelope, options);
  if (!s.ok()) {
    // protobuf's reason names the field ("(entry[0].id): invalid value 1 for
    // type TYPE_STRING") or quotes the input where JSON broke.
    const std::string reason(s.message());
    return absl::InvalidArgumentError(
        absl::StrCat("body: not a webhook payload: ", absl::string_view(reason).substr(0, 256)));
  }
  // Told to ignore unknown fields, protobuf 3.21 still keeps one for an object
  // under an empty key (""): drop it, so the reference holds known fields only,
  // as ParseWebhookJson's message does.
  envelope.DiscardUnknownFields();
  return envelope;
}

ParsedWebhook TranslateWebhook(const v1::WebhookEnvelope& envelope) {
  ParsedWebhook out;
  for (const v1::WebhookEntry& entry : envelope.entry()) {
    if (entry.id().empty()) {
      // No WABA: no business to find. Each change counts as one.
      out.ignored[static_cast<int>(WebhookIgnored::kIncomplete)] += entry.changes_size();
      continue;
    }
    // entry.time (optional) dates the changes that carry no time of their
    // own: number, capability and account updates.
    const int64_t entry_ms = MillisOf(out, entry.time());
    for (const v1::WebhookChange& change : entry.changes()) {
      TranslateChange(Change{out, entry.id(), change.value(), entry_ms}, change.field());
    }
  }
  return out;
}

absl::StatusOr<ParsedWebhook> ParseWhatsAppWebhook(absl::string_view body) {
  absl::StatusOr<v1::WebhookEnvelope> envelope = ParseWebhookJson(body);
  if (!envelope.ok()) return envelope.status();
  if (envelope->object() != kObject) {
    // At most 64 bytes of what was sent: the reason goes into logs.
    return absl::InvalidArgumentError(
        absl::StrCat("object: \"", absl::string_view(envelope->object()).substr(0, 64),
                     "\", not \"", kObject, "\""));
  }
  return TranslateWebhook(*envelope);
}

}  // namespace wapolicy
