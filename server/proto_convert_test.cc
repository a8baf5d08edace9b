#include "server/proto_convert.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace wapolicy {
namespace {

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
