#include "policy/message_compliance.h"

#include "gtest/gtest.h"

namespace wapolicy {
namespace {

const MessageLimits kL;

void ExpectInvalid(const absl::Status& s, const std::string& field) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find(field), std::string::npos) << s.message();
}

TEST(MessageComplianceTest, TextBodyUpTo4096Characters) {
  EXPECT_TRUE(ValidateText(std::string(4096, 'a'), kL).ok());
  ExpectInvalid(ValidateText(std::string(4097, 'a'), kL), "text.body");
  ExpectInvalid(ValidateText("", kL), "text.body");
  std::string euros;
  for (int i = 0; i < 4096; ++i) euros += "\xE2\x82\xAC";  // 3 bytes, 1 character each.
  EXPECT_TRUE(ValidateText(euros, kL).ok());
}

TEST(MessageComplianceTest, MediaMimeTypesAndSizeLimits) {
  struct Case {
    SessionType type;
    const char* mime;
    int64_t max;
  } ok[] = {{SessionType::kImage, "image/jpeg", 5 << 20},
            {SessionType::kImage, "image/png", 5 << 20},
            {SessionType::kVideo, "video/mp4", 16 << 20},
            {SessionType::kVideo, "video/3gpp", 16 << 20},
            {SessionType::kAudio, "audio/aac", 16 << 20},
            {SessionType::kAudio, "audio/mp4", 16 << 20},
            {SessionType::kAudio, "audio/mpeg", 16 << 20},
            {SessionType::kAudio, "audio/amr", 16 << 20},
            {SessionType::kAudio, "audio/ogg; codecs=opus", 16 << 20},
            {SessionType::kDocument, "application/pdf", 100 << 20},
            {SessionType::kSticker, "image/webp", 100 << 10}};
  for (const Case& c : ok) {
    EXPECT_TRUE(ValidateMedia({c.type, c.mime, c.max}, kL).ok()) << c.mime;
    ExpectInvalid(ValidateMedia({c.type, c.mime, c.max + 1}, kL), "media.bytes");
  }
  MediaContent animated{SessionType::kSticker, "image/webp", 500 << 10, /*animated=*/true};
  EXPECT_TRUE(ValidateMedia(animated, kL).ok());
  animated.bytes += 1;
  ExpectInvalid(ValidateMedia(animated, kL), "media.bytes");
  ExpectInvalid(ValidateMedia({SessionType::kAudio, "audio/ogg", 1000}, kL),
                "media.mime_type");  // Opus only.
  ExpectInvalid(ValidateMedia({SessionType::kImage, "image/gif", 1000}, kL), "media.mime_type");
  ExpectInvalid(ValidateMedia({SessionType::kDocument, "application/msword", 1000}, kL),
                "media.mime_type");
  ExpectInvalid(ValidateMedia({SessionType::kText, "text/plain", 10}, kL), "media.type");
  ExpectInvalid(ValidateMedia({SessionType::kImage, "image/png", 0}, kL), "media.bytes");
  MediaContent captioned{SessionType::kImage, "image/png", 10, false, std::string(1025, 'c')};
  ExpectInvalid(ValidateMedia(captioned, kL), "media.caption");
  captioned.caption.resize(1024);
  EXPECT_TRUE(ValidateMedia(captioned, kL).ok());
}

ListMessage GoodList(int sections, int rows_each) {
  ListMessage m{"Menu", "Pick one", "", "Options", {}};
  int id = 0;
  for (int s = 0; s < sections; ++s) {
    ListSection sec{"Section " + std::to_string(s), {}};
    for (int r = 0; r < rows_each; ++r)
      sec.rows.push_back({"id" + std::to_string(id++), "Row", ""});
    m.sections.push_back(sec);
  }
  return m;
}

TEST(MessageComplianceTest, ListUpToTenOptionsAndFieldLimits) {
  EXPECT_TRUE(ValidateList(GoodList(1, 10), kL).ok());
  EXPECT_TRUE(ValidateList(GoodList(10, 1), kL).ok());
  ExpectInvalid(ValidateList(GoodList(1, 11), kL), "rows");
  ExpectInvalid(ValidateList(GoodList(11, 1), kL), "list.sections");
  ExpectInvalid(ValidateList(GoodList(0, 0), kL), "list.sections");
  ListMessage m = GoodList(2, 2);
  m.button = std::string(21, 'b');
  ExpectInvalid(ValidateList(m, kL), "list.button");
  m = GoodList(2, 2);
  m.header = std::string(61, 'h');
  ExpectInvalid(ValidateList(m, kL), "list.header");
  m = GoodList(2, 2);
  m.sections[1].rows[0].title = std::string(25, 't');
  ExpectInvalid(ValidateList(m, kL), "list.sections[1].rows[0].title");
  m = GoodList(2, 2);
  m.sections[0].rows[1].description = std::string(73, 'd');
  ExpectInvalid(ValidateList(m, kL), "description");
  m = GoodList(2, 2);
  m.sections[0].rows[0].id = std::string(201, 'i');
  ExpectInvalid(ValidateList(m, kL), "rows[0].id");
  m = GoodList(2, 2);
  m.sections[1].rows[1].id = m.sections[0].rows[0].id;
  ExpectInvalid(ValidateList(m, kL), "unique");
  m = GoodList(2, 2);
  m.sections[1].title = "";
  ExpectInvalid(ValidateList(m, kL), "list.sections[1].title");
}

TEST(MessageComplianceTest, ReplyButtonsAtMostThreeUniqueWithAllowedHeaders) {
  ReplyButtonsMessage m{
      ButtonsHeader::kImage, "Choose", "", {{"a", "Yes"}, {"b", "No"}, {"c", "Later"}}};
  EXPECT_TRUE(ValidateReplyButtons(m, kL).ok());
  m.buttons.push_back({"d", "Never"});
  ExpectInvalid(ValidateReplyButtons(m, kL), "buttons.buttons");
  m.buttons.pop_back();
  m.buttons[2].label = "Yes";
  ExpectInvalid(ValidateReplyButtons(m, kL), "unique");
  m.buttons[2].label = std::string(21, 'x');
  ExpectInvalid(ValidateReplyButtons(m, kL), "buttons.buttons[2].label");
  m.buttons[2] = {std::string(257, 'i'), "Later"};
  ExpectInvalid(ValidateReplyButtons(m, kL), "buttons.buttons[2].id");
  m.buttons[2] = {"c", "Later"};
  m.header = ButtonsHeader::kOther;  // e.g. a location header.
  ExpectInvalid(ValidateReplyButtons(m, kL), "buttons.header");
  for (ButtonsHeader h : {ButtonsHeader::kNone, ButtonsHeader::kText, ButtonsHeader::kVideo,
                          ButtonsHeader::kDocument}) {
    m.header = h;
    EXPECT_TRUE(ValidateReplyButtons(m, kL).ok());
  }
  m.body = std::string(1025, 'b');
  ExpectInvalid(ValidateReplyButtons(m, kL), "buttons.body");
}

TEST(MessageComplianceTest, MultiProductAtMostThirtyItemsInTenSections) {
  MultiProductMessage m{"Our picks", "Have a look", {}};
  for (int s = 0; s < 3; ++s) m.sections.push_back({"S", std::vector<std::string>(10, "sku")});
  EXPECT_TRUE(ValidateMultiProduct(m, kL).ok());
  m.sections[0].product_ids.push_back("one-too-many");
  ExpectInvalid(ValidateMultiProduct(m, kL), "items");
  m.sections[0].product_ids.clear();
  ExpectInvalid(ValidateMultiProduct(m, kL), "products.sections[0]");
  m.sections.assign(11, {"S", {"sku"}});
  ExpectInvalid(ValidateMultiProduct(m, kL), "products.sections");
}

MessageTemplate GoodTemplate() {
  MessageTemplate t{"t", "en", TemplateCategory::kUtility, TemplateStatus::kApproved};
  t.header_format = HeaderFormat::kText;
  t.header_text = "Order {{1}}";
  t.body = "Hi {{1}}, order {{2}} ships today.";
  t.footer = "Acme";
  return t;
}

TEST(TemplateComplianceTest, ComponentLimits) {
  const std::vector<std::string> phrases = {"stop"};
  EXPECT_TRUE(ValidateTemplate(GoodTemplate(), kL, phrases).ok());
  MessageTemplate t = GoodTemplate();
  t.header_text = "{{1}} and {{2}}";
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "header_text");
  t = GoodTemplate();
  t.header_text = std::string(61, 'h');
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "header_text");
  t = GoodTemplate();
  t.body = std::string(1025, 'b');
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "body");
  t = GoodTemplate();
  t.footer = std::string(61, 'f');
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "footer");
  t = GoodTemplate();
  t.buttons.assign(11, {TemplateButton::Kind::kQuickReply, "ok"});
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "buttons");
  t.buttons.assign(10, {TemplateButton::Kind::kQuickReply, "ok"});
  EXPECT_TRUE(ValidateTemplate(t, kL, phrases).ok());
  t.buttons[0].text = std::string(26, 'x');
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "buttons[0].text");
}

TEST(TemplateComplianceTest, CallToActionButtons) {
  const std::vector<std::string> phrases;
  using K = TemplateButton::Kind;
  MessageTemplate t = GoodTemplate();
  t.buttons = {{K::kUrl, "Track", "https://acme.example/track/{{1}}"},
               {K::kUrl, "Shop", "https://acme.example/shop"},
               {K::kPhoneNumber, "Call us", "", "+14155550100"}};
  EXPECT_TRUE(ValidateTemplate(t, kL, phrases).ok());
  t.buttons.push_back({K::kUrl, "More", "https://acme.example/more"});
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "URL buttons");
  t.buttons.pop_back();
  t.buttons.push_back({K::kPhoneNumber, "Call", "", "+14155550101"});
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "phone-number buttons");
  t.buttons.pop_back();
  t.buttons[0].url = "https://acme.example/{{1}}/track";  // Variable not at the end.
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "buttons[0].url");
  t.buttons[0].url = "https://acme.example/{{1}}/{{2}}";
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "buttons[0].url");
  t.buttons[0].url = "https://acme.example/" + std::string(2000, 'a');
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "buttons[0].url");
  t.buttons[0].url = "https://acme.example/}}";  // Ends like a variable but has none (fuzzer find).
  EXPECT_TRUE(ValidateTemplate(t, kL, phrases).ok());
  t.buttons[0].url = "https://acme.example/{{1}}}}";
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "buttons[0].url");
  t.buttons[0].url = "ftp://acme.example";
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "buttons[0].url");
  t.buttons[0].url = "https://acme.example/t";
  t.buttons[2].phone_number = "0800 123";
  ExpectInvalid(ValidateTemplate(t, kL, phrases), "buttons[2].phone_number");
}

TEST(TemplateComplianceTest, CountsVariables) {
  EXPECT_EQ(CountVariables("Hi {{1}}, {{2}} and {{10}}"), 3);
  EXPECT_EQ(CountVariables("{{}} {1} {{a}} {{1}"), 0);
}

}  // namespace
}  // namespace wapolicy
