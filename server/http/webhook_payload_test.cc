#include "server/http/webhook_payload.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace wapolicy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kFixtures[] = "tests/webhooks";

std::string ReadFixture(const std::string& name) {
  std::ifstream in(absl::StrCat(kFixtures, "/", name, ".json"), std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// One update on one line: scope, where, and the request in text format.
std::string Describe(const WebhookUpdate& u) {
  std::string s = u.scope == WebhookScope::kNumber ? "number" : "business";
  absl::StrAppend(&s, " waba=", u.waba_id);
  if (!u.phone_number_id.empty()) absl::StrAppend(&s, " id=", u.phone_number_id);
  if (!u.display_phone_number.empty()) absl::StrAppend(&s, " display=", u.display_phone_number);
  if (const auto* e = std::get_if<v1::EventRequest>(&u.request)) {
    absl::StrAppend(&s, " event {", e->ShortDebugString(), "}");
  } else if (const auto* r = std::get_if<v1::SyncNumberRequest>(&u.request)) {
    absl::StrAppend(&s, " sync {", r->ShortDebugString(), "}");
  } else if (const auto* t = std::get_if<v1::UpdateTemplateQualityRequest>(&u.request)) {
    absl::StrAppend(&s, " template {", t->ShortDebugString(), "}");
  } else {
    const auto& p = std::get<MarketingPreference>(u.request);
    absl::StrAppend(&s, " marketing ", p.stop ? "stop" : "resume", " ", p.customer, " at ",
                    p.occurred_at_unix_ms, " id ", p.event_id);
  }
  return s;
}

std::vector<std::string> Describe(const ParsedWebhook& p) {
  std::vector<std::string> out;
  for (const WebhookUpdate& u : p.updates) out.push_back(Describe(u));
  return out;
}

// The ignored counters that are not zero, as "name=count".
std::vector<std::string> Ignored(const ParsedWebhook& p) {
  std::vector<std::string> out;
  for (int k = 0; k < kWebhookIgnoredKinds; ++k) {
    if (p.ignored[k] != 0) {
      out.push_back(
          absl::StrCat(WebhookIgnoredName(static_cast<WebhookIgnored>(k)), "=", p.ignored[k]));
    }
  }
  return out;
}

// The simdjson reader and protobuf's own read `body` into the same message.
void ExpectParsersAgree(absl::string_view body) {
  absl::StatusOr<v1::WebhookEnvelope> fast = ParseWebhookJson(body);
  absl::StatusOr<v1::WebhookEnvelope> reference = ParseWebhookJsonWithProtobuf(body);
  ASSERT_EQ(fast.ok(), reference.ok())
      << body << "\nsimdjson: " << fast.status() << "\nprotobuf: " << reference.status();
  if (fast.ok()) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*fast, *reference))
        << body << "\nsimdjson: " << fast->ShortDebugString()
        << "\nprotobuf: " << reference->ShortDebugString();
  }
}

ParsedWebhook ParseOk(absl::string_view body) {
  ExpectParsersAgree(body);
  absl::StatusOr<ParsedWebhook> p = ParseWhatsAppWebhook(body);
  EXPECT_TRUE(p.ok()) << p.status() << "\n" << body;
  return p.ok() ? *std::move(p) : ParsedWebhook{};
}

// A body of one entry (WABA 300000000000001) holding `changes`.
std::string Envelope(absl::string_view changes, absl::string_view entry_fields = "") {
  return absl::StrCat(R"({"object":"whatsapp_business_account","entry":[{"id":"300000000000001",)",
                      entry_fields, R"("changes":[)", changes, "]}]}");
}
std::string Change(absl::string_view field, absl::string_view value) {
  return absl::StrCat(R"({"field":")", field, R"(","value":)", value, "}");
}
constexpr char kMetadata[] =
    R"("messaging_product":"whatsapp",)"
    R"("metadata":{"display_phone_number":"14155550100","phone_number_id":"200000000000001"})";
std::string Statuses(absl::string_view statuses) {
  return Envelope(
      Change("messages", absl::StrCat("{", kMetadata, R"(,"statuses":[)", statuses, "]}")));
}
std::string Messages(absl::string_view messages) {
  return Envelope(
      Change("messages", absl::StrCat("{", kMetadata, R"(,"messages":[)", messages, "]}")));
}

constexpr char kNumber[] = "number waba=300000000000001 id=200000000000001 display=14155550100";
constexpr char kBusiness[] = "business waba=300000000000001";
constexpr char kByDisplay[] = "number waba=300000000000001 display=14155550100";

// Each fixture and the exact updates it gives; none is ignored.
const std::map<std::string, std::vector<std::string>>& FixtureExpectations() {
  static const auto* const kExpected = new std::map<std::string, std::vector<std::string>>{
      {"status_sent",
       {absl::StrCat(kNumber, R"( event {customer: "+447700900001" delivered { })",
                     R"( occurred_at_unix_ms: 1767225600000 event_id: "wamid.AAA1:sent")",
                     R"( message_id: "wamid.AAA1"})")}},
      {"status_delivered",
       // The pipeline's id echoed in biz_opaque_callback_data is the message id.
       {absl::StrCat(kNumber, R"( event {customer: "+447700900001" delivered { })",
                     R"( occurred_at_unix_ms: 1767225603000 event_id: "wamid.AAA1:delivered")",
                     R"( message_id: "order-42-msg-1"})")}},
      {"status_read",
       {absl::StrCat(kNumber, R"( event {customer: "+447700900003" delivered { })",
                     R"( occurred_at_unix_ms: 1767225700000 event_id: "wamid.AAA3:read")",
                     R"( message_id: "wamid.AAA3"})")}},
      {"status_failed_131049",
       {absl::StrCat(kNumber,
                     R"( event {customer: "+447700900002" delivery_failed { error_code: 131049 })",
                     R"( occurred_at_unix_ms: 1767225610000 event_id: "wamid.AAA2:failed")",
                     R"( message_id: "wamid.AAA2"})")}},
      {"inbound_text",
       {absl::StrCat(
           kNumber,
           R"( event {customer: "+447700900001" inbound { text: "Does it come in blue?" })",
           R"( occurred_at_unix_ms: 1767229200000 event_id: "wamid.BBB1"})")}},
      {"inbound_button",
       // A quick reply's label: "STOP" opts out as if typed.
       {absl::StrCat(kNumber, R"( event {customer: "+447700900001" inbound { text: "STOP" })",
                     R"( occurred_at_unix_ms: 1767229260000 event_id: "wamid.BBB2"})")}},
      {"inbound_interactive",
       {absl::StrCat(kNumber,
                     R"( event {customer: "+447700900001" inbound { text: "Track my order" })",
                     R"( occurred_at_unix_ms: 1767229320000 event_id: "wamid.BBB3"})"),
        absl::StrCat(kNumber,
                     R"( event {customer: "+447700900001" inbound { text: "Unsubscribe" })",
                     R"( occurred_at_unix_ms: 1767229380000 event_id: "wamid.BBB4"})")}},
      {"inbound_image",
       // Media: no text (a caption is not an opt-out).
       {absl::StrCat(kNumber, R"( event {customer: "+447700900001" inbound { })",
                     R"( occurred_at_unix_ms: 1767229440000 event_id: "wamid.BBB5"})")}},
      {"user_preferences_stop",
       {absl::StrCat(kNumber, " marketing stop +447700900001 at 1767232800000",
                     " id pref:447700900001:stop:1767232800")}},
      {"user_preferences_resume",
       {absl::StrCat(kNumber, " marketing resume +447700900001 at 1767319200000",
                     " id pref:447700900001:resume:1767319200")}},
      {"quality_throughput_upgrade",
       {absl::StrCat(kByDisplay, " sync {messaging_limit: -1 throughput_mps: 1000",
                     " occurred_at_unix_ms: 1767240000000}")}},
      {"quality_flagged",
       {absl::StrCat(kByDisplay, " sync {messaging_limit: 10000 flagged: true",
                     " occurred_at_unix_ms: 1767243600000}")}},
      {"quality_upgrade",
       {absl::StrCat(kByDisplay,
                     " sync {messaging_limit: 100000 occurred_at_unix_ms: 1767247200000}")}},
      {"capability_integer",
       {absl::StrCat(kBusiness,
                     " sync {messaging_limit: 2000 occurred_at_unix_ms: 1767250800000}")}},
      {"capability_string",
       {absl::StrCat(kBusiness, " sync {messaging_limit: -1 occurred_at_unix_ms: 1767254400000}")}},
      {"account_restriction",
       {absl::StrCat(kBusiness, " sync {restricted_until_unix_ms: 1767862800000",
                     " occurred_at_unix_ms: 1767258000000}")}},
      {"account_disabled",
       {absl::StrCat(kBusiness, " sync {disabled: true occurred_at_unix_ms: 1767261600000}")}},
      {"template_paused",
       {absl::StrCat(kBusiness, R"( template {name: "order_update" language: "en_US")",
                     " quality: RED}")}},
      {"template_unpause",
       {absl::StrCat(kBusiness, R"( template {name: "order_update" language: "en_US")",
                     " unpause: true status: APPROVED}")}},
      {"template_reinstated",
       {absl::StrCat(kBusiness, R"( template {name: "card_offer" language: "en_US")",
                     " reinstate: true}")}},
      {"template_rejected",
       {absl::StrCat(kBusiness, R"( template {name: "spring_sale" language: "pt_BR")",
                     " status: REJECTED}")}},
      {"template_quality_red",
       {absl::StrCat(kBusiness, R"( template {name: "order_update" language: "en_US")",
                     " quality: RED}")}},
  };
  return *kExpected;
}

TEST(WebhookPayloadTest, EachFixtureGivesItsUpdates) {
  for (const auto& [name, expected] : FixtureExpectations()) {
    SCOPED_TRACE(name);
    const ParsedWebhook p = ParseOk(ReadFixture(name));
    EXPECT_EQ(Describe(p), expected);
    EXPECT_THAT(Ignored(p), IsEmpty());
  }
}

TEST(WebhookPayloadTest, EveryFixtureHasItsExpectation) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kFixtures)) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    EXPECT_EQ(FixtureExpectations().count(entry.path().stem().string()), 1u)
        << entry.path() << " has no expected updates here";
  }
  EXPECT_EQ(files, static_cast<int>(FixtureExpectations().size()));
}

TEST(WebhookPayloadTest, MalformedBodiesAreInvalidArgument) {
  for (absl::string_view body :
       {"", "{", "not json", "[]", "null", R"({"object":"whatsapp_business_account",)",
        R"({"object":"whatsapp_business_account","entry":[]} trailing)",
        R"({"object":"whatsapp_business_account","entry":"all of them"})",
        R"({"object":"whatsapp_business_account","entry":[{"id":300000000000001}]})"}) {
    ExpectParsersAgree(body);
    absl::StatusOr<ParsedWebhook> p = ParseWhatsAppWebhook(body);
    ASSERT_FALSE(p.ok()) << body;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_THAT(std::string(p.status().message()), HasSubstr("body: not a webhook payload"));
  }
  // The field is named where protobuf names it.
  absl::StatusOr<ParsedWebhook> p = ParseWhatsAppWebhook(
      R"({"object":"whatsapp_business_account","entry":[{"id":300000000000001}]})");
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("entry[0].id"));
}

TEST(WebhookPayloadTest, WrongObjectIsInvalidArgument) {
  for (absl::string_view body : {R"({"object":"page","entry":[]})", R"({"entry":[]})", "{}"}) {
    absl::StatusOr<ParsedWebhook> p = ParseWhatsAppWebhook(body);
    ASSERT_FALSE(p.ok()) << body;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(p.status().message()), HasSubstr("object: "));
  }
  absl::StatusOr<ParsedWebhook> p = ParseWhatsAppWebhook(R"({"object":"page","entry":[]})");
  EXPECT_EQ(p.status().message(), R"(object: "page", not "whatsapp_business_account")");
  // What is echoed is cut short.
  p = ParseWhatsAppWebhook(absl::StrCat(R"({"object":")", std::string(10000, 'x'), R"("})"));
  EXPECT_LT(p.status().message().size(), 200u);
}

TEST(WebhookPayloadTest, EmptyBatchIsFine) {
  const ParsedWebhook p = ParseOk(R"({"object":"whatsapp_business_account","entry":[]})");
  EXPECT_THAT(p.updates, IsEmpty());
  EXPECT_EQ(p.ignored_total(), 0);
  EXPECT_THAT(ParseOk(R"({"object":"whatsapp_business_account"})").updates, IsEmpty());
}

TEST(WebhookPayloadTest, UnknownFieldsAreIgnoredEverywhere) {
  const std::string body = R"({"object":"whatsapp_business_account","new_top":{"a":[1,{"b":null}]},
    "entry":[{"id":"300000000000001","new_entry":7,"changes":[{"field":"messages","new_change":"x",
      "value":{"messaging_product":"whatsapp","new_value":[true],
        "metadata":{"display_phone_number":"14155550100","phone_number_id":"200000000000001",
                    "new_metadata":1.5},
        "statuses":[{"id":"wamid.AAA1","status":"delivered","timestamp":"1767225603",
                     "recipient_id":"447700900001","new_status":{"deep":{"deeper":[[]]}},
                     "pricing":{"pricing_model":"PMP","new_pricing":"x"}}]}}]}]})";
  const ParsedWebhook p = ParseOk(body);
  EXPECT_THAT(Describe(p),
              ElementsAre(absl::StrCat(
                  kNumber, R"( event {customer: "+447700900001" delivered { })",
                  R"( occurred_at_unix_ms: 1767225603000 event_id: "wamid.AAA1:delivered")",
                  R"( message_id: "wamid.AAA1"})")));
  EXPECT_THAT(Ignored(p), IsEmpty());
}

TEST(WebhookPayloadTest, UnknownFieldValuesAreCountedNotRejected) {
  const std::string changes = absl::StrJoin(
      {
          Change("account_alerts", R"({"entity_type":"WABA","entity_id":300000000000001,
              "alert_info":{"alert_severity":"WARNING","alert_status":"NONE",
              "alert_type":"INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED",
              "alert_description":"..."}})"),
          Change("template_category_update", R"({"message_template_id":1,"new_category":"X"})"),
          Change("messages", absl::StrCat("{", kMetadata, R"(,
              "statuses":[{"id":"wamid.X","status":"deleted","timestamp":"1","recipient_id":"1"},
                          {"id":"wamid.Y","status":"warning","timestamp":"1","recipient_id":"1"}],
              "messages":[{"from":"447700900001","id":"wamid.S","timestamp":"1767229200",
                           "type":"system","system":{"body":"changed number",
                           "new_wa_id":"447700900009","type":"user_changed_number"}}],
              "errors":[{"code":131000,"title":"Something went wrong"}]})")),
          Change("user_preferences", absl::StrCat("{", kMetadata, R"(,
              "user_preferences":[{"wa_id":"447700900001","category":"service_messages",
                                   "value":"stop","timestamp":1767232800},
                                  {"wa_id":"447700900001","category":"marketing_messages",
                                   "value":"pause","timestamp":1767232800}]})")),
          Change("phone_number_quality_update",
                 R"({"display_phone_number":"14155550100","event":"ONBOARDING",
                     "current_limit":"TIER_NOT_SET"})"),
          Change("phone_number_quality_update",
                 R"({"display_phone_number":"14155550100","event":"UPGRADE",
                     "current_limit":"TIER_5K"})"),
          Change("business_capability_update", R"({"max_phone_numbers_per_waba":25})"),
          Change("business_capability_update", R"({"max_daily_conversations_per_business":2.5})"),
          Change("account_update", R"({"event":"ACCOUNT_VIOLATION",
              "violation_info":{"violation_type":"SCAM"}})"),
          Change("account_update", R"({"event":"PARTNER_ADDED"})"),
          Change("account_update", R"({"event":"ACCOUNT_RESTRICTION","restriction_info":[
              {"restriction_type":"RESTRICTED_ADD_PHONE_NUMBER_ACTION","expiration":1767862800},
              {"restriction_type":"RESTRICTED_CUSTOMER_INITIATED_MESSAGING",
               "expiration":1767862800}]})"),
          Change("account_update", R"({"event":"DISABLED_UPDATE",
              "ban_info":{"waba_ban_state":"SCHEDULE_FOR_DISABLE","waba_ban_date":"2026-02-01"}})"),
          Change("message_template_status_update",
                 R"({"event":"FLAGGED","message_template_name":"t",
                     "message_template_language":"en_US"})"),
          Change("message_template_status_update",
                 R"({"event":"PAUSED","message_template_name":"t",
                     "message_template_language":"en_US",
                     "other_info":{"title":"RATE_LIMITING_PAUSE"}})"),
          Change("message_template_quality_update",
                 R"({"new_quality_score":"PURPLE","message_template_name":"t",
                     "message_template_language":"en_US"})"),
          Change("something_new", R"({"anything":[1,2,3]})"),
      },
      ",");
  const ParsedWebhook p = ParseOk(Envelope(changes));
  EXPECT_THAT(p.updates, IsEmpty()) << absl::StrJoin(Describe(p), "\n");
  EXPECT_THAT(
      Ignored(p),
      ElementsAre("unknown_field=3", "unknown_status=2", "system_message=1", "unknown_preference=2",
                  "ignored_account_event=2", "ignored_restriction=2", "ignored_ban_state=1",
                  "ignored_template_event=2", "unknown_quality_score=1", "ignored_number_event=4",
                  "unknown_limit=2", "change_errors=1"));
  EXPECT_EQ(p.ignored_count(WebhookIgnored::kUnknownField), 3);
  EXPECT_EQ(p.ignored_total(), 23);
}

TEST(WebhookPayloadTest, NumbersOrStrings) {
  // Timestamps and ids as numbers or strings; a limit as a number or a word.
  const ParsedWebhook p = ParseOk(Envelope(
      absl::StrJoin(
          {Change("messages", absl::StrCat("{", kMetadata, R"(,
              "statuses":[{"id":"wamid.N","status":"delivered","timestamp":1767225603,
                           "recipient_id":"447700900001",
                           "conversation":{"id":"c","expiration_timestamp":1767312000}}],
              "messages":[{"from":"447700900001","id":"wamid.M","timestamp":1767229200,
                           "type":"text","text":{"body":"hi"}}]})")),
           Change("user_preferences", absl::StrCat("{", kMetadata, R"(,
              "user_preferences":[{"wa_id":"447700900001","category":"marketing_messages",
                                   "value":"stop","timestamp":"1767232800"}]})")),
           Change("business_capability_update",
                  R"({"max_daily_conversations_per_business":"TIER_2K"})"),
           Change("business_capability_update",
                  R"({"max_daily_conversations_per_business":"10000"})"),
           Change("business_capability_update", R"({"max_daily_conversations_per_business":-1})"),
           Change("business_capability_update", R"({"max_daily_conversation_per_phone":-1})"),
           Change("account_update", R"({"event":"ACCOUNT_RESTRICTION","restriction_info":[
              {"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING","expiration":"1767862800"}]})"),
           Change("message_template_quality_update",
                  R"({"new_quality_score":"GREEN","message_template_id":"900000001",
                      "message_template_name":"t","message_template_language":"en_US"})")},
          ","),
      R"("time":"1767250800",)"));
  EXPECT_THAT(
      Describe(p),
      ElementsAre(
          absl::StrCat(kNumber, R"( event {customer: "+447700900001" delivered { })",
                       R"( occurred_at_unix_ms: 1767225603000 event_id: "wamid.N:delivered")",
                       R"( message_id: "wamid.N"})"),
          absl::StrCat(kNumber, R"( event {customer: "+447700900001" inbound { text: "hi" })",
                       R"( occurred_at_unix_ms: 1767229200000 event_id: "wamid.M"})"),
          absl::StrCat(kNumber, " marketing stop +447700900001 at 1767232800000",
                       " id pref:447700900001:stop:1767232800"),
          absl::StrCat(kBusiness,
                       " sync {messaging_limit: 2000 occurred_at_unix_ms: 1767250800000}"),
          absl::StrCat(kBusiness,
                       " sync {messaging_limit: 10000 occurred_at_unix_ms: 1767250800000}"),
          absl::StrCat(kBusiness, " sync {messaging_limit: -1 occurred_at_unix_ms: 1767250800000}"),
          absl::StrCat(kBusiness, " sync {messaging_limit: -1 occurred_at_unix_ms: 1767250800000}"),
          absl::StrCat(kBusiness, " sync {restricted_until_unix_ms: 1767862800000",
                       " occurred_at_unix_ms: 1767250800000}"),
          absl::StrCat(kBusiness, R"( template {name: "t" language: "en_US" quality: GREEN})")));
  EXPECT_THAT(Ignored(p), IsEmpty());
}

TEST(WebhookPayloadTest, NullsParse) {
  const ParsedWebhook p = ParseOk(Envelope(absl::StrJoin(
      {Change("message_template_status_update",
              R"({"event":"REJECTED","message_template_id":900000001,"reason":null,
                  "message_template_name":"order_update","message_template_language":"en_US",
                  "message_template_category":null,"other_info":null,"disable_info":null})"),
       Change("messages", absl::StrCat("{", kMetadata, R"(,"contacts":null,"errors":null,
              "statuses":[{"id":"wamid.Z","status":"sent","timestamp":"1767225600",
                           "recipient_id":"447700900001","conversation":null,"pricing":null,
                           "biz_opaque_callback_data":null,"errors":null}]})")),
       Change("business_capability_update", R"({"max_daily_conversations_per_business":null,
              "max_daily_conversation_per_phone":1000})")},
      ",")));
  EXPECT_THAT(
      Describe(p),
      ElementsAre(
          absl::StrCat(kBusiness,
                       R"( template {name: "order_update" language: "en_US" status: REJECTED})"),
          absl::StrCat(kNumber, R"( event {customer: "+447700900001" delivered { })",
                       R"( occurred_at_unix_ms: 1767225600000 event_id: "wamid.Z:sent")",
                       R"( message_id: "wamid.Z"})"),
          absl::StrCat(kBusiness, " sync {messaging_limit: 1000}")));
  EXPECT_THAT(Ignored(p), IsEmpty());
}

TEST(WebhookPayloadTest, LanguagesAreNormalized) {
  EXPECT_EQ(NormalizeTemplateLanguage("en-US"), "en_US");
  EXPECT_EQ(NormalizeTemplateLanguage("en_US"), "en_US");
  EXPECT_EQ(NormalizeTemplateLanguage("pt-BR"), "pt_BR");
  EXPECT_EQ(NormalizeTemplateLanguage("en"), "en");
  for (absl::string_view lang : {"en_US", "en-US"}) {
    const ParsedWebhook p = ParseOk(Envelope(
        Change("message_template_quality_update",
               absl::StrCat(R"({"new_quality_score":"YELLOW","message_template_name":"t",)",
                            R"("message_template_language":")", lang, R"("})"))));
    EXPECT_THAT(Describe(p),
                ElementsAre(absl::StrCat(kBusiness, R"( template {name: "t" language: "en_US")",
                                         " quality: YELLOW}")));
  }
}

TEST(WebhookPayloadTest, MarketingStoppedFailureAlsoGivesThePreference) {
  const ParsedWebhook p = ParseOk(Statuses(
      R"({"id":"wamid.AAA7","status":"failed","timestamp":"1767225610",
          "recipient_id":"447700900007","biz_opaque_callback_data":"msg-7",
          "errors":[{"code":131050,"title":"Unable to deliver the message."}]})"));
  EXPECT_THAT(
      Describe(p),
      ElementsAre(absl::StrCat(
                      kNumber,
                      R"( event {customer: "+447700900007" delivery_failed { error_code: 131050 })",
                      R"( occurred_at_unix_ms: 1767225610000 event_id: "wamid.AAA7:failed")",
                      R"( message_id: "msg-7"})"),
                  absl::StrCat(kNumber, " marketing stop +447700900007 at 1767225610000",
                               " id wamid.AAA7:failed:131050")));
}

TEST(WebhookPayloadTest, FailureWithoutErrorsHasCodeZero) {
  const ParsedWebhook p = ParseOk(Statuses(
      R"({"id":"wamid.F","status":"failed","timestamp":"1767225610","recipient_id":"1415555"})"));
  EXPECT_THAT(Describe(p), ElementsAre(absl::StrCat(
                               kNumber, R"( event {customer: "+1415555" delivery_failed { })",
                               R"( occurred_at_unix_ms: 1767225610000 event_id: "wamid.F:failed")",
                               R"( message_id: "wamid.F"})")));
}

TEST(WebhookPayloadTest, CallbackDataTooLongForACheckFallsBackToTheWamid) {
  const std::string opaque(257, 'o');
  const ParsedWebhook p = ParseOk(Statuses(absl::StrCat(
      R"({"id":"wamid.L","status":"delivered","timestamp":"1767225603",)",
      R"("recipient_id":"447700900001","biz_opaque_callback_data":")", opaque, R"("})")));
  ASSERT_EQ(p.updates.size(), 1u);
  EXPECT_EQ(std::get<v1::EventRequest>(p.updates[0].request).message_id(), "wamid.L");
}

TEST(WebhookPayloadTest, StatusWordsAreMatchedWithoutCase) {
  const ParsedWebhook p = ParseOk(Statuses(
      R"({"id":"wamid.C","status":"DELIVERED","timestamp":"1767225603","recipient_id":"1"})"));
  ASSERT_EQ(p.updates.size(), 1u);
  EXPECT_EQ(std::get<v1::EventRequest>(p.updates[0].request).event_id(), "wamid.C:delivered");
}

TEST(WebhookPayloadTest, CustomersAreDigitsAfterAPlus) {
  const ParsedWebhook p = ParseOk(Messages(
      R"({"from":"+44 7700-900001","id":"wamid.D","timestamp":"1767229200","type":"reaction",
          "reaction":{"message_id":"wamid.AAA1","emoji":"\ud83d\udc4d"}})"));
  ASSERT_EQ(p.updates.size(), 1u);
  const auto& e = std::get<v1::EventRequest>(p.updates[0].request);
  EXPECT_EQ(e.customer(), "+447700900001");
  EXPECT_TRUE(e.has_inbound());
  EXPECT_EQ(e.inbound().text(), "");
}

TEST(WebhookPayloadTest, ItemsMissingWhatTheyNeedAreCounted) {
  const ParsedWebhook p = ParseOk(absl::StrCat(
      R"({"object":"whatsapp_business_account","entry":[)",
      R"({"changes":[{"field":"messages","value":{}},{"field":"account_update","value":{}}]},)",
      R"({"id":"300000000000001","changes":[{"field":"messages","value":{)", kMetadata,
      R"(,"statuses":[{"status":"sent","recipient_id":"1"},)",
      R"({"id":"wamid.U","status":"sent","recipient_user_id":"GB.1"}],)",
      R"("messages":[{"id":"wamid.V","type":"text","text":{"body":"x"}},)",
      R"({"from":"447700900001","type":"text"}]}},)",
      R"({"field":"user_preferences","value":{"user_preferences":[)",
      R"({"category":"marketing_messages","value":"stop"}]}},)",
      R"({"field":"phone_number_quality_update","value":{"event":"UPGRADE",)",
      R"("current_limit":"TIER_1K"}},)",
      R"({"field":"account_update","value":{"event":"ACCOUNT_RESTRICTION","restriction_info":[)",
      R"({"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING"}]}},)",
      R"({"field":"message_template_status_update","value":{"event":"APPROVED",)",
      R"("message_template_language":"en_US"}},)",
      R"({"field":"message_template_quality_update","value":{"new_quality_score":"RED",)",
      R"("message_template_name":"t"}}]}]})"));
  EXPECT_THAT(p.updates, IsEmpty()) << absl::StrJoin(Describe(p), "\n");
  EXPECT_THAT(Ignored(p), ElementsAre("incomplete=11"));
}

TEST(WebhookPayloadTest, TimesOutsideTheCalendarBecomeNow) {
  const ParsedWebhook p =
      ParseOk(Envelope(Change("messages", absl::StrCat("{", kMetadata, R"(,"statuses":[
                 {"id":"wamid.T1","status":"sent","timestamp":"-5","recipient_id":"1"},
                 {"id":"wamid.T2","status":"sent","timestamp":"9223372036854775807",
                  "recipient_id":"1"}]})")),
                       R"("time":253402300800,)"));
  ASSERT_EQ(p.updates.size(), 2u);
  for (const WebhookUpdate& u : p.updates) {
    EXPECT_EQ(std::get<v1::EventRequest>(u.request).occurred_at_unix_ms(), 0);
  }
  EXPECT_THAT(Ignored(p), ElementsAre("bad_timestamp=3"));
}

TEST(WebhookPayloadTest, SeveralEntriesAndChangesKeepTheirOrder) {
  const std::string body =
      absl::StrCat(R"({"object":"whatsapp_business_account","entry":[)",
                   R"({"id":"300000000000001","changes":[)",
                   Change("message_template_quality_update",
                          R"({"new_quality_score":"RED","message_template_name":"a",
                 "message_template_language":"en"})"),
                   ",", Change("messages", absl::StrCat("{", kMetadata, R"(,"statuses":[
          {"id":"wamid.1","status":"sent","timestamp":"1767225600","recipient_id":"1"},
          {"id":"wamid.1","status":"delivered","timestamp":"1767225601","recipient_id":"1"}]})")),
                   "]},", R"({"id":"300000000000002","time":1767225700,"changes":[)",
                   Change("account_update", R"({"event":"DISABLED_UPDATE",
          "ban_info":{"waba_ban_state":["SCHEDULE_FOR_DISABLE","REINSTATE"]}})"),
                   "]}]}");
  const ParsedWebhook p = ParseOk(body);
  EXPECT_THAT(
      Describe(p),
      ElementsAre(
          absl::StrCat(kBusiness, R"( template {name: "a" language: "en" quality: RED})"),
          absl::StrCat(kNumber, R"( event {customer: "+1" delivered { })",
                       R"( occurred_at_unix_ms: 1767225600000 event_id: "wamid.1:sent")",
                       R"( message_id: "wamid.1"})"),
          absl::StrCat(kNumber, R"( event {customer: "+1" delivered { })",
                       R"( occurred_at_unix_ms: 1767225601000 event_id: "wamid.1:delivered")",
                       R"( message_id: "wamid.1"})"),
          "business waba=300000000000002 sync {disabled: false "
          "occurred_at_unix_ms: 1767225700000}"));
  EXPECT_THAT(Ignored(p), ElementsAre("ignored_ban_state=1"));
}

TEST(WebhookPayloadTest, SeveralRestrictionsHoldUntilTheLatest) {
  const ParsedWebhook p = ParseOk(Envelope(Change("account_update", R"({
      "event":"ACCOUNT_RESTRICTION","restriction_info":[
        {"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING","expiration":1767862800},
        {"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING","expiration":1767949200},
        {"restriction_type":"RESTRICTED_ADD_PHONE_NUMBER_ACTION","expiration":1768035600}]})")));
  EXPECT_THAT(Describe(p), ElementsAre(absl::StrCat(
                               kBusiness, " sync {restricted_until_unix_ms: 1767949200000}")));
  EXPECT_THAT(Ignored(p), ElementsAre("ignored_restriction=1"));
}

// Every form /work/shared/domain/webhooks.md lists, change by change: it
// parses, and it gives an update or is counted as the kind expected.
struct Form {
  const char* name;
  std::string change;
  int updates;                    // Updates expected.
  const char* ignored = nullptr;  // The one kind counted, if any ("name=1").
};

std::vector<Form> DocumentedForms() {
  std::vector<Form> forms;
  auto status = [](absl::string_view fields) {
    return Change(
        "messages",
        absl::StrCat("{", kMetadata, R"(,"statuses":[{"id":"wamid.AAA1",)",
                     R"("timestamp":"1767225600","recipient_id":"447700900001",)", fields, "}]}"));
  };
  auto message = [](absl::string_view type, absl::string_view body) {
    return Change("messages",
                  absl::StrCat("{", kMetadata, R"(,"contacts":[{"profile":{"name":"A"},)",
                               R"("wa_id":"447700900001"}],"messages":[{"from":"447700900001",)",
                               R"("id":"wamid.BBB1","timestamp":"1767229200","type":")", type,
                               R"(")", body.empty() ? "" : ",", body, "}]}"));
  };
  // The statuses example, verbatim.
  forms.push_back({"statuses example", Change("messages", R"({
  "messaging_product":"whatsapp",
  "metadata":{"display_phone_number":"14155550100","phone_number_id":"200000000000001"},
  "statuses":[
    {"id":"wamid.AAA1","status":"sent","timestamp":"1767225600","recipient_id":"447700900001",
     "conversation":{"id":"c0ffee01","expiration_timestamp":"1767312000","origin":{"type":"marketing"}},
     "pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"marketing"}},
    {"id":"wamid.AAA1","status":"delivered","timestamp":"1767225603","recipient_id":"447700900001"},
    {"id":"wamid.AAA2","status":"failed","timestamp":"1767225610","recipient_id":"447700900002",
     "errors":[{"code":131049,"title":"This message was not delivered to maintain healthy ecosystem engagement."}]}
  ]})"),
                   3});
  for (const char* s : {"sent", "delivered", "read", "played"}) {
    forms.push_back({s, status(absl::StrCat(R"("status":")", s, R"(")")), 1});
  }
  for (int code : {131049, 131047, 131056, 130429, 131026}) {
    forms.push_back(
        {"failed",
         status(absl::StrCat(R"("status":"failed","errors":[{"code":)", code, R"(,"title":"t"}])")),
         1});
  }
  forms.push_back(
      {"failed 131050", status(R"("status":"failed","errors":[{"code":131050,"title":"t"}])"), 2});
  for (const char* model : {"CBP", "PMP"}) {
    for (const char* type : {"regular", "free_customer_service", "free_entry_point"}) {
      for (const char* category :
           {"marketing", "utility", "authentication", "authentication_international",
            "marketing_lite", "service", "referral_conversion"}) {
        forms.push_back({"pricing",
                         status(absl::StrCat(R"("status":"sent","pricing":{"billable":false,)",
                                             R"("pricing_model":")", model, R"(","type":")", type,
                                             R"(","category":")", category, R"("})")),
                         1});
      }
    }
  }
  forms.push_back({"no conversation (v24)", status(R"("status":"sent")"), 1});
  forms.push_back(
      {"user ids",
       status(R"("status":"delivered","recipient_user_id":"GB.1","parent_recipient_user_id":"GB.0",
                 "biz_opaque_callback_data":"pipeline-1")"),
       1});
  // The inbound example, verbatim.
  forms.push_back({"inbound example",
                   R"({"field":"messages","value":{"messaging_product":"whatsapp",
  "metadata":{"display_phone_number":"14155550100","phone_number_id":"200000000000001"},
  "contacts":[{"profile":{"name":"A Customer"},"wa_id":"447700900001"}],
  "messages":[{"from":"447700900001","id":"wamid.BBB1","timestamp":"1767229200","type":"text",
               "text":{"body":"Does it come in blue?"}}]}})",
                   1});
  forms.push_back({"text", message("text", R"("text":{"body":"hi"})"), 1});
  for (const char* media : {"image", "audio", "video", "document", "sticker"}) {
    forms.push_back(
        {media,
         message(media, absl::StrCat(R"(")", media, R"(":{"id":"1","mime_type":"x/y",)",
                                     R"("sha256":"ab","caption":"c","filename":"f.pdf",)",
                                     R"("animated":false,"voice":true})")),
         1});
  }
  forms.push_back({"location", message("location", R"("location":{"latitude":51.5,"longitude":-0.12,
                       "name":"Office","address":"1 Road","url":"https://example.com"})"),
                   1});
  forms.push_back({"contacts", message("contacts", R"("contacts":[{"name":{"formatted_name":"B",
                       "first_name":"B"},"phones":[{"phone":"+1 415 555 0100","wa_id":"14155550100",
                       "type":"WORK"}]}])"),
                   1});
  forms.push_back({"button_reply", message("interactive", R"("interactive":{"type":"button_reply",
                       "button_reply":{"id":"b1","title":"Yes"}})"),
                   1});
  forms.push_back({"list_reply", message("interactive", R"("interactive":{"type":"list_reply",
                       "list_reply":{"id":"r1","title":"Row","description":"d"}})"),
                   1});
  forms.push_back({"nfm_reply", message("interactive", R"("interactive":{"type":"nfm_reply",
                       "nfm_reply":{"name":"flow","body":"Sent","response_json":"{\"a\":1}"}})"),
                   1});
  forms.push_back({"button (quick reply)",
                   message("button", R"("button":{"payload":"p","text":"STOP"},
                       "context":{"from":"14155550100","id":"wamid.AAA1"})"),
                   1});
  forms.push_back({"reaction",
                   message("reaction", R"("reaction":{"message_id":"wamid.AAA1","emoji":"x"})"),
                   1});
  forms.push_back({"order", message("order", R"("order":{"catalog_id":"c","text":"t",
                       "product_items":[{"product_retailer_id":"p","quantity":"2",
                       "item_price":9.99,"currency":"EUR"},{"product_retailer_id":"q",
                       "quantity":1,"item_price":"5","currency":"EUR"}]})"),
                   1});
  forms.push_back({"system", message("system", R"("system":{"body":"changed",
                       "wa_id":"447700900001","new_wa_id":"447700900009",
                       "type":"user_changed_number"})"),
                   0, "system_message=1"});
  forms.push_back({"unsupported", message("unsupported", R"("errors":[{"code":131051,
                       "title":"Message type unknown","error_data":{"details":"x"}}])"),
                   1});
  forms.push_back({"referral", message("text", R"("text":{"body":"hi"},"referral":{
                       "source_url":"u","source_id":"1","source_type":"ad","headline":"h",
                       "body":"b","media_type":"image","image_url":"i","ctwa_clid":"c"})"),
                   1});
  forms.push_back({"forwarded", message("text", R"("text":{"body":"hi"},"context":{"forwarded":true,
                       "frequently_forwarded":false})"),
                   1});
  forms.push_back({"value.errors",
                   Change("messages", absl::StrCat("{", kMetadata, R"(,"errors":[{"code":131000,
                       "title":"Something went wrong","message":"m","error_data":{"details":"d"}}]})")),
                   0, "change_errors=1"});
  // user_preferences, verbatim.
  forms.push_back({"user_preferences example",
                   R"({"field":"user_preferences","value":{"messaging_product":"whatsapp",
  "metadata":{"display_phone_number":"14155550100","phone_number_id":"200000000000001"},
  "contacts":[{"wa_id":"447700900001"}],
  "user_preferences":[{"wa_id":"447700900001","detail":"User requested to stop marketing messages",
                       "category":"marketing_messages","value":"stop","timestamp":1767232800}]}})",
                   1});
  forms.push_back({"resume", R"({"field":"user_preferences","value":{"user_preferences":[
      {"wa_id":"447700900001","category":"marketing_messages","value":"resume",
       "timestamp":1767232800}]}})",
                   1});
  // phone_number_quality_update, the example verbatim, then every event and limit.
  forms.push_back(
      {"quality example",
       R"({"field":"phone_number_quality_update","value":{"display_phone_number":"14155550100",
  "event":"THROUGHPUT_UPGRADE","current_limit":"TIER_UNLIMITED","max_daily_conversations_per_business":"TIER_UNLIMITED"}})",
       1});
  for (const char* event :
       {"ONBOARDING", "THROUGHPUT_UPGRADE", "FLAGGED", "UNFLAGGED", "UPGRADE", "DOWNGRADE"}) {
    for (const char* limit :
         {"TIER_50", "TIER_250", "TIER_1K", "TIER_2K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED"}) {
      forms.push_back(
          {event,
           Change("phone_number_quality_update",
                  absl::StrCat(R"({"display_phone_number":"14155550100","event":")", event,
                               R"(","current_limit":")", limit, R"(","old_limit":"TIER_50",)",
                               R"("max_daily_conversations_per_business":")", limit, R"("})")),
           1});
    }
  }
  forms.push_back({"TIER_NOT_SET",
                   Change("phone_number_quality_update",
                          R"({"display_phone_number":"14155550100",
                       "event":"ONBOARDING","current_limit":"TIER_NOT_SET"})"),
                   0, "ignored_number_event=1"});
  forms.push_back({"FLAGGED with TIER_NOT_SET",
                   Change("phone_number_quality_update",
                          R"({"display_phone_number":"14155550100",
                       "event":"FLAGGED","current_limit":"TIER_NOT_SET"})"),
                   1});
  // business_capability_update: every form.
  for (const char* v :
       {"2000", "10000", "100000", "-1", R"("UNLIMITED")", R"("TIER_UNLIMITED")", R"("TIER_250")",
        R"("TIER_2K")", R"("TIER_10K")", R"("TIER_100K")", R"("2000")"}) {
    forms.push_back({"capability",
                     Change("business_capability_update",
                            absl::StrCat(R"({"max_daily_conversations_per_business":)", v,
                                         R"(,"max_phone_numbers_per_waba":25})")),
                     1});
  }
  forms.push_back(
      {"capability per phone",
       Change("business_capability_update",
              R"({"max_daily_conversation_per_phone":-1,"max_phone_numbers_per_waba":"25"})"),
       1});
  forms.push_back(
      {"capability doc example",
       Change("business_capability_update",
              R"({"max_daily_conversations_per_business":2000,"max_phone_numbers_per_waba":25})"),
       1});
  // account_update.
  forms.push_back({"violation", Change("account_update", R"({"event":"ACCOUNT_VIOLATION",
                       "violation_info":{"violation_type":"ADULT"}})"),
                   0, "ignored_account_event=1"});
  forms.push_back({"DISABLE", Change("account_update", R"({"event":"DISABLED_UPDATE",
                       "ban_info":{"waba_ban_state":"DISABLE","waba_ban_date":"2026-01-01"}})"),
                   1});
  forms.push_back({"REINSTATE", Change("account_update", R"({"event":"DISABLED_UPDATE",
                       "ban_info":{"waba_ban_state":"REINSTATE"}})"),
                   1});
  forms.push_back({"SCHEDULE_FOR_DISABLE", Change("account_update", R"({"event":"DISABLED_UPDATE",
                       "ban_info":{"waba_ban_state":"SCHEDULE_FOR_DISABLE","waba_ban_date":"2026-02-01"}})"),
                   0, "ignored_ban_state=1"});
  forms.push_back({"restriction", Change("account_update", R"({"event":"ACCOUNT_RESTRICTION",
                       "restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING",
                       "expiration":1767862800}]})"),
                   1});
  forms.push_back({"partner", Change("account_update", R"({"event":"PARTNER_APP_INSTALLED"})"), 0,
                   "ignored_account_event=1"});
  forms.push_back({"pricing",
                   Change("account_update", R"({"event":"VOLUME_BASED_PRICING_TIER_UPDATE"})"), 0,
                   "ignored_account_event=1"});
  // account_alerts: counted.
  for (const char* alert :
       {"INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED", "INCREASED_CAPABILITIES_ELIGIBILITY_FAILED",
        "INCREASED_CAPABILITIES_ELIGIBILITY_NEED_MORE_INFO", "OBA_APPROVED", "OBA_REJECTED"}) {
    forms.push_back({alert,
                     Change("account_alerts",
                            absl::StrCat(R"({"entity_type":"WABA","entity_id":"300000000000001",)",
                                         R"("alert_info":{"alert_severity":"CRITICAL",)",
                                         R"("alert_status":"ACTIVE","alert_type":")", alert,
                                         R"(","alert_description":"d"}})")),
                     0, "unknown_field=1"});
  }
  // message_template_status_update: the example verbatim, then every event.
  forms.push_back(
      {"template status example",
       R"({"field":"message_template_status_update","value":{"event":"PAUSED","message_template_id":900000001,
  "message_template_name":"order_update","message_template_language":"en_US","reason":"NONE",
  "message_template_category":"UTILITY","other_info":{"title":"FIRST_PAUSE","description":"..."}}})",
       1});
  auto template_status = [](absl::string_view event, absl::string_view extra) {
    return Change("message_template_status_update",
                  absl::StrCat(R"({"event":")", event, R"(","message_template_id":900000001,)",
                               R"("message_template_name":"order_update",)",
                               R"("message_template_language":"en-US","reason":null)", extra, "}"));
  };
  for (const char* event : {"APPROVED", "PENDING", "REJECTED", "PAUSED", "REINSTATED"}) {
    forms.push_back({event, template_status(event, ""), 1});
  }
  forms.push_back({"DISABLED",
                   template_status("DISABLED", R"(,"disable_info":{"disable_date":"2026-01-05"},
                       "other_info":{"title":"DISABLED","description":"d"})"),
                   1});
  forms.push_back({"DISABLED (date as a number)",
                   template_status("DISABLED", R"(,"disable_info":{"disable_date":1767571200})"),
                   1});
  for (const char* title : {"FIRST_PAUSE", "SECOND_PAUSE"}) {
    forms.push_back({title,
                     template_status("PAUSED", absl::StrCat(R"(,"other_info":{"title":")", title,
                                                            R"(","description":"d"})")),
                     1});
  }
  forms.push_back({"RATE_LIMITING_PAUSE",
                   template_status("PAUSED", R"(,"other_info":{"title":"RATE_LIMITING_PAUSE"})"), 0,
                   "ignored_template_event=1"});
  forms.push_back(
      {"UNPAUSE", template_status("APPROVED", R"(,"other_info":{"title":"UNPAUSE"})"), 1});
  forms.push_back(
      {"reason word", template_status("REJECTED", R"(,"reason":"ABUSIVE_CONTENT")"), 1});
  for (const char* event : {"FLAGGED", "IN_APPEAL", "LIMIT_EXCEEDED", "LOCKED", "ARCHIVED",
                            "DELETED", "PENDING_DELETION"}) {
    forms.push_back({event, template_status(event, ""), 0, "ignored_template_event=1"});
  }
  // message_template_quality_update: the example verbatim, then every score.
  forms.push_back(
      {"template quality example",
       R"({"field":"message_template_quality_update","value":{"previous_quality_score":"GREEN","new_quality_score":"RED","message_template_id":900000001,
  "message_template_name":"order_update","message_template_language":"en_US"}})",
       1});
  for (const char* score : {"GREEN", "YELLOW", "RED", "UNKNOWN"}) {
    forms.push_back(
        {score,
         Change("message_template_quality_update",
                absl::StrCat(R"({"previous_quality_score":"UNKNOWN",)", R"("new_quality_score":")",
                             score, R"(","message_template_id":"900000001",)",
                             R"("message_template_name":"t",)",
                             R"("message_template_language":"en-US"})")),
         1});
  }
  return forms;
}

TEST(WebhookPayloadTest, EveryDocumentedFormParses) {
  const std::vector<Form> forms = DocumentedForms();
  EXPECT_GT(forms.size(), 150u);
  for (const Form& f : forms) {
    SCOPED_TRACE(absl::StrCat(f.name, ": ", f.change));
    // With and without entry.time, which is optional.
    for (absl::string_view time : {"", R"("time":1767225600,)"}) {
      ExpectParsersAgree(Envelope(f.change, time));
      absl::StatusOr<ParsedWebhook> p = ParseWhatsAppWebhook(Envelope(f.change, time));
      ASSERT_TRUE(p.ok()) << p.status();
      EXPECT_EQ(static_cast<int>(p->updates.size()), f.updates)
          << absl::StrJoin(Describe(*p), "\n");
      if (f.ignored == nullptr) {
        EXPECT_THAT(Ignored(*p), IsEmpty());
      } else {
        EXPECT_THAT(Ignored(*p), ElementsAre(f.ignored));
      }
    }
  }
}

TEST(WebhookPayloadTest, IgnoredKindsHaveDistinctNames) {
  std::set<std::string> names;
  for (int k = 0; k < kWebhookIgnoredKinds; ++k) {
    names.insert(std::string(WebhookIgnoredName(static_cast<WebhookIgnored>(k))));
  }
  EXPECT_EQ(static_cast<int>(names.size()), kWebhookIgnoredKinds);
  EXPECT_EQ(names.count("unknown"), 0u);
}

}  // namespace
}  // namespace wapolicy
