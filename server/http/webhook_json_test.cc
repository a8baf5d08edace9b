#include "server/http/webhook_json.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "proto/wapolicy/v1/policy.pb.h"
#include "proto/wapolicy/v1/webhook.pb.h"

namespace wapolicy {
namespace {

using ::testing::HasSubstr;

// Parses `json` both ways: this parser and protobuf's JsonStringToMessage
// (ignoring unknown fields). Both must accept it (or, with `both_refuse`,
// both refuse it) and, accepted, give the same message.
template <typename M>
void ExpectSameAsProtobuf(absl::string_view json, bool both_refuse = false) {
  M mine, theirs;
  const absl::Status a = JsonToProto(json, &mine);
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto b = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &theirs, options);
  EXPECT_EQ(a.ok(), !both_refuse) << json << "\nmine: " << a;
  EXPECT_EQ(b.ok(), !both_refuse) << json << "\nprotobuf: " << b.ToString();
  // Only known fields are compared: protobuf's reader can keep a stray
  // unknown field although told to ignore them (see AnEmptyKey... below).
  theirs.DiscardUnknownFields();
  if (a.ok() && b.ok()) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(mine, theirs))
        << json << "\nmine: " << mine.ShortDebugString()
        << "\nprotobuf: " << theirs.ShortDebugString();
  }
}

TEST(WebhookJsonTest, AcceptsWhatProtobufAcceptsAlike) {
  for (
      absl::string_view json : {
          R"({})",
          R"(  {"object":"x"}  )",
          R"({"object":"x","object":"y"})",
          R"({"object":"x","entry":null})",
          R"({"object":"x","entry":[]})",
          R"({"entry":[{"id":"1","time":5}]})",
          R"({"entry":[{"id":"1","time":"5"}]})",
          R"({"entry":[{"id":"1","time":-5}]})",
          R"({"entry":[{"id":"1","time":1.5e9}]})",
          R"({"entry":[{"id":"1","time":1767225600.0}]})",
          R"({"entry":[{"id":"1","time":"9223372036854775807"}]})",
          R"({"entry":[{"id":"1","time":-9223372036854775808}]})",
          R"({"entry":[{"id":"1","time":null}]})",
          R"({"entry":{"id":"1"}})",
          R"({"entry":[{"id":"1"},{"id":"2"}],"entry":[{"id":"3"}]})",
          R"({"unknown":{"a":[1,2,{"b":null}]},"x":"\u00e9\ud83d\ude00"})",
          R"({"entry":[{"id":"1","changes":[{"field":"f","value":{"reason":null,
               "message_template_id":"12","event":"E","contacts":null}}]}]})",
          R"({"entry":[{"changes":[{"value":{"statuses":[{"timestamp":"1767225600",
               "errors":[{"code":"131049"},{"code":131050.0}],"pricing":{"billable":true}}]}}]}]})",
          R"({"entry":[{"changes":[{"value":{"max_daily_conversations_per_business":"TIER_2K",
               "max_daily_conversation_per_phone":-1,"max_phone_numbers_per_waba":null}}]}]})",
          R"({"entry":[{"changes":[{"value":{"messages":[{"contacts":[{"name":{"a":1}},null,
               [true,false,null,1e300,"s"]],"location":{"latitude":51.5,"longitude":"-0.12"}}]}}]}]})",
          R"({"entry":[{"changes":[{"value":{"restriction_info":{"expiration":1767232800}}}]}]})",
          R"({"entry":[{"changes":[{"value":{"ban_info":{"waba_ban_state":["DISABLE",{"x":[]}]}}}]}]})",
          R"({"entry":[{"changes":[{"value":{"userPreferences":[{"waId":"1","timestamp":2}]}}]}]})",
          R"({"entry":[{"changes":[{"value":{"metadata":{"phoneNumberId":"1",
               "phone_number_id":"2"}}}]}]})",
      }) {
    ExpectSameAsProtobuf<v1::WebhookEnvelope>(json);
  }
}

// Found by webhook_fuzzer: protobuf 3.21's reader, told to ignore unknown
// fields, still keeps one (an empty field 3) for an object under an empty key.
// This reader keeps none; the two agree on every known field.
TEST(WebhookJsonTest, AnEmptyKeyIsSkippedLikeAnyUnknownField) {
  constexpr absl::string_view kJson = R"({"entry":[{"changes":[{"field":"f","":{"a":1}}]}]})";
  v1::WebhookEnvelope mine;
  ASSERT_TRUE(JsonToProto(kJson, &mine).ok());
  EXPECT_EQ(mine.entry(0)
                .changes(0)
                .GetReflection()
                ->GetUnknownFields(mine.entry(0).changes(0))
                .field_count(),
            0);
  ExpectSameAsProtobuf<v1::WebhookEnvelope>(kJson);
}

TEST(WebhookJsonTest, EnumsBoolsDoublesAndOneofsAsProtobuf) {
  for (absl::string_view json : {
           R"({"business_number":"+1","dry_run":true,"pace":false})",
           R"({"dry_run":"true","pace":"false"})",
           R"({"dry_run":"yes","pace":"0"})",
           R"({"session":{"type":"IMAGE","marketing":true,"media":{"bytes":"6000000",
               "mime_type":"image/png","animated":false}}})",
           R"({"session":{"type":2,"location":{"latitude":"51.5","longitude":-0.1}}})",
           R"({"session":{"type":"NO_SUCH_TYPE"}})",
           R"({"session":{"text":{"body":"a"},"location":null}})",
           R"({"templateMessage":{"name":"t","parameters":["a","b"]}})",
           R"({"template_message":{"parameters":"one"}})",
       }) {
    ExpectSameAsProtobuf<v1::CheckRequest>(json);
  }
}

TEST(WebhookJsonTest, RefusesWhatProtobufRefuses) {
  for (absl::string_view json : {
           "",
           "{",
           "not json",
           "[]",
           R"({"object":"x"} trailing)",
           R"({"object":1})",
           R"({"object":true})",
           R"({"object":["x"]})",
           R"({"entry":"all"})",
           R"({"entry":[{"id":1}]})",
           R"({"entry":[{"id":"1","time":"soon"}]})",
           R"({"entry":[{"id":"1","time":1.5}]})",
           R"({"entry":[{"id":"1","time":9223372036854775808}]})",
           R"({"entry":[{"id":"1","time":1e300}]})",
           R"({"entry":[{"id":"1","time":true}]})",
           R"({"entry":[{"id":"1","time":{}}]})",
           R"({"entry":[{"changes":[{"value":{"statuses":[{"errors":[{"code":2147483648}]}]}}]}]})",
           R"({"entry":[{"changes":[{"value":{"metadata":"x"}}]}]})",
           "{\"object\":\"\xff\"}",
       }) {
    ExpectSameAsProtobuf<v1::WebhookEnvelope>(json, /*both_refuse=*/true);
  }
  for (absl::string_view json : {
           R"({"session":{"text":{"body":"a"},"location":{"latitude":1}}})",
           R"({"session":{"text":{"body":"a"},"text":{"body":"b"}}})",
           R"({"dry_run":""})",
           R"({"dry_run":1})",
           R"({"session":{"type":1.5}})",
       }) {
    ExpectSameAsProtobuf<v1::CheckRequest>(json, /*both_refuse=*/true);
  }
}

TEST(WebhookJsonTest, ErrorsNameTheField) {
  v1::WebhookEnvelope e;
  absl::Status s = JsonToProto(
      R"({"entry":[{"id":"1"},{"id":"2","changes":[{"value":{"statuses":[{},{"id":7}]}}]}]})", &e);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "entry[1].changes[0].value.statuses[1].id: expected a string");
  s = JsonToProto(R"({"entry":[{"time":"soon"}]})", &e);
  EXPECT_EQ(s.message(), "entry[0].time: expected an integer");
  s = JsonToProto(
      R"({"entry":[{"changes":[{"value":{"statuses":[{"errors":[{"code":1e10}]}]}}]}]})", &e);
  EXPECT_EQ(s.message(),
            "entry[0].changes[0].value.statuses[0].errors[0].code: integer out of range");
  s = JsonToProto(R"({"entry":[null]})", &e);
  EXPECT_EQ(s.message(), "entry[0]: null in a list");
  s = JsonToProto("[]", &e);
  EXPECT_EQ(s.message(), "expected an object");
  s = JsonToProto("{", &e);
  EXPECT_THAT(std::string(s.message()), HasSubstr("not JSON: "));
}

TEST(WebhookJsonTest, NestingIsBounded) {
  // Inside a Value (any JSON): 100 levels pass, deeper does not.
  auto nested = [](int levels) {
    return absl::StrCat(R"({"entry":[{"changes":[{"value":{"max_phone_numbers_per_waba":)",
                        std::string(levels, '['), std::string(levels, ']'), "}}]}]}");
  };
  v1::WebhookEnvelope e;
  EXPECT_TRUE(JsonToProto(nested(90), &e).ok());
  absl::Status s = JsonToProto(nested(200), &e);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("nested too deeply"));
  // Unknown fields are skipped, however deep (simdjson's own bound: 1024).
  EXPECT_TRUE(
      JsonToProto(absl::StrCat(R"({"x":)", std::string(1000, '['), std::string(1000, ']'), "}"), &e)
          .ok());
}

TEST(WebhookJsonTest, RepeatedKeysMergeAsProtobufDoes) {
  v1::WebhookEnvelope e;
  ASSERT_TRUE(
      JsonToProto(R"({"entry":[{"id":"1"}],"entry":[{"id":"2"}],"object":"a","object":"b"})", &e)
          .ok());
  EXPECT_EQ(e.entry_size(), 2);
  EXPECT_EQ(e.object(), "b");
}

}  // namespace
}  // namespace wapolicy
