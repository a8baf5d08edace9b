#include "server/proto_convert.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace wapolicy {
namespace {

Decision HeldForTheCap() {
  Decision d;
  d.allowed = false;
  d.reason = ReasonCode::kFrequencyCapped;
  d.detail = "the customer had 2 messages in the last 24 hours";
  d.effect = ConversationEffect::kNone;
  d.limit = 1000;
  d.used = 17;
  d.next_slot_free = absl::FromUnixMillis(1796000100000);
  d.service_window_ends = absl::FromUnixMillis(1796000200000);
  d.conversation_ends = absl::FromUnixMillis(1796000300000);
  d.retry_after = absl::FromUnixMillis(1796000400000);
  d.shadow_reason = ReasonCode::kLimitReached;
  d.shadow_detail = "would have been held";
  return d;
}

TEST(DecisionToProtoTest, BriefKeepsWhatAPipelineActsOnAndLeavesTheRestUnset) {
  const PolicyProfile profile;
  v1::Decision full, brief;
  ToProto(HeldForTheCap(), profile, &full);
  ToProto(HeldForTheCap(), profile, &brief, /*brief=*/true);
  EXPECT_EQ(full.limit(), 1000);
  EXPECT_EQ(full.profile_name(), profile.name);
  EXPECT_EQ(full.next_slot_free_unix_ms(), 1796000100000);
  // Brief: the full answer with effect, limit, used, the window times and the profile cleared.
  v1::Decision expected = full;
  expected.clear_effect();
  expected.clear_limit();
  expected.clear_used();
  expected.clear_next_slot_free_unix_ms();
  expected.clear_service_window_ends_unix_ms();
  expected.clear_conversation_ends_unix_ms();
  expected.clear_profile_name();
  expected.clear_profile_revision();
  EXPECT_EQ(brief.SerializeAsString(), expected.SerializeAsString()) << brief.DebugString();
  EXPECT_EQ(brief.retry_after_unix_ms(), 1796000400000);
  EXPECT_EQ(brief.detail(), "the customer had 2 messages in the last 24 hours");
  EXPECT_EQ(brief.shadow_reason(), v1::LIMIT_REACHED);
  EXPECT_LT(brief.ByteSizeLong(), full.ByteSizeLong());
}

TEST(DecisionToProtoTest, AnAllowedAnswerOverwritesAnEarlierDetail) {
  v1::Decision out;
  out.set_detail("left from before");
  Decision allowed;
  allowed.allowed = true;
  ToProto(allowed, PolicyProfile(), &out);
  EXPECT_TRUE(out.detail().empty());
}

TEST(PhoneNumberCacheTest, AnswersWhatParseAnswers) {
  PhoneNumberCache cache;
  // The strings a batch names, each several times: canonical, formatted,
  // and refused.
  const std::vector<std::string> texts = {"+447700900001",
                                          "+44 07700 900001",
                                          "+4407700900001",
                                          "14155550123",
                                          "+999999999999999",
                                          "+1 555 0123",
                                          "",
                                          "+447700900001"};
  for (int round = 0; round < 3; ++round) {
    for (const std::string& text : texts) {
      const absl::StatusOr<PhoneNumber> want = PhoneNumber::Parse(text);
      const absl::StatusOr<PhoneNumber> got = cache.Parse(text);
      ASSERT_EQ(got.status(), want.status()) << text;
      if (want.ok()) EXPECT_EQ(*got, *want) << text;
    }
  }
}

TEST(PhoneNumberCacheTest, BatchEntriesNameTheirField) {
  PhoneNumberCache cache;
  v1::CheckRequest req;
  req.set_business_number("+44 7700 900001");
  req.set_customer("+1 415");
  req.mutable_session()->set_type(v1::TEXT);
  absl::StatusOr<OutgoingMessage> m = FromProto(req, "checks[3].", &cache);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(m.status().message()).rfind("checks[3].customer: not an E.164 number", 0),
            0u)
      << m.status();
  req.set_customer("+1 212 555 0100");
  m = FromProto(req, "checks[4].", &cache);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->business_number.E164(), "+447700900001");
  EXPECT_EQ(m->customer.E164(), "+12125550100");
}

}  // namespace
}  // namespace wapolicy
