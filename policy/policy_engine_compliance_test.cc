// The brief's quality guidance as enforced policies, and content rules, in the engine.

#include <memory>

#include "gtest/gtest.h"
#include "policy/policy_engine.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);
const PhoneNumber kBiz = Num("+14155550100");
const PhoneNumber kC = Num("+447700900001");

class ComplianceTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(DefaultProfile()); }
  void Start(PolicyProfile p) {
    engine_ = std::make_unique<PolicyEngine>(std::move(p), &clock_, &journal_);
    ASSERT_TRUE(engine_->UpsertBusiness("bank", true, false).ok());
    ASSERT_TRUE(engine_->RegisterNumber(kBiz, "bank").ok());
    MessageTemplate statement{"statement", "en", TemplateCategory::kUtility,
                              TemplateStatus::kApproved};
    statement.topic = "financial_updates";
    statement.body = "Your statement for {{1}} is ready: {{2}}";
    ASSERT_TRUE(engine_->PutTemplate("bank", statement).ok());
    MessageTemplate offer{"offer", "en", TemplateCategory::kMarketing, TemplateStatus::kApproved};
    offer.body = "New card offer!";
    offer.footer = "Reply STOP to unsubscribe";
    ASSERT_TRUE(engine_->PutTemplate("bank", offer).ok());
  }
  OutgoingMessage Template(const std::string& name) {
    OutgoingMessage m{kBiz, kC, MessageKind::kTemplate, name, "en"};
    return m;
  }
  OutgoingMessage Session(std::shared_ptr<const SessionContent> content, SessionType type) {
    OutgoingMessage m{kBiz, kC, MessageKind::kSession};
    m.session_type = type;
    m.content = std::move(content);
    return m;
  }
  Decision Check(const OutgoingMessage& m) { return engine_->Check(m).value(); }

  ManualClock clock_{kT0};
  MemoryJournal journal_;
  std::unique_ptr<PolicyEngine> engine_;
};

TEST_F(ComplianceTest, OptInIsScopedToTopics) {
  ASSERT_TRUE(engine_->RecordOptIn(kBiz, kC, OptInSource::kInApp, {"financial_updates"}).ok());
  EXPECT_TRUE(Check(Template("statement")).allowed);
  Decision d = Check(Template("offer"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kTopicNotConsented);
  EXPECT_NE(d.detail.find("marketing"), std::string::npos);
  ASSERT_TRUE(
      engine_->RecordOptIn(kBiz, kC, OptInSource::kInApp, {"financial_updates", "marketing"}).ok());
  EXPECT_TRUE(Check(Template("offer")).allowed);
  EXPECT_EQ(*engine_->ConsentTopics(kBiz, kC),
            (std::vector<std::string>{"financial_updates", "marketing"}));
}

TEST_F(ComplianceTest, NoUpsellInsideTheServiceWindowWithoutMarketingConsent) {
  // The brief's example: opted in to financial updates, writes with a query.
  ASSERT_TRUE(engine_->RecordOptIn(kBiz, kC, OptInSource::kInApp, {"financial_updates"}).ok());
  ASSERT_TRUE(engine_->RecordInbound(kBiz, kC, "What is my balance?").ok());
  auto text = std::make_shared<const SessionContent>(TextContent{"Your balance is 10"});
  EXPECT_TRUE(Check(Session(text, SessionType::kText)).allowed);
  EXPECT_EQ(Check(Template("offer")).reason, ReasonCode::kTopicNotConsented);
  OutgoingMessage upsell = Session(text, SessionType::kText);
  upsell.marketing = true;
  EXPECT_EQ(Check(upsell).reason, ReasonCode::kTopicNotConsented);
  // A customer with no opt-in at all still gets replies, but no marketing.
  const PhoneNumber other = Num("+447700900002");
  ASSERT_TRUE(engine_->RecordInbound(kBiz, other, "hi").ok());
  OutgoingMessage m = Template("offer");
  m.customer = other;
  EXPECT_EQ(Check(m).reason, ReasonCode::kTopicNotConsented);
}

TEST_F(ComplianceTest, FrequencyCapsPerCustomerWithRetryAfter) {
  PolicyProfile p = DefaultProfile();
  p.frequency_cap_per_day = 3;
  p.marketing_cap_per_day = 1;
  Start(p);
  ASSERT_TRUE(engine_->RecordOptIn(kBiz, kC, OptInSource::kSms).ok());
  ASSERT_TRUE(Check(Template("offer")).allowed);
  clock_.Advance(absl::Hours(1));
  Decision d = Check(Template("offer"));
  EXPECT_EQ(d.reason, ReasonCode::kFrequencyCapped);
  EXPECT_EQ(PlatformErrorCode(d.reason), 131049);
  EXPECT_EQ(d.retry_after, kT0 + absl::Hours(24));
  EXPECT_TRUE(Check(Template("statement")).allowed);  // 2 of 3.
  clock_.Advance(absl::Hours(1));
  EXPECT_TRUE(Check(Template("statement")).allowed);  // 3 of 3.
  d = Check(Template("statement"));
  EXPECT_EQ(d.reason, ReasonCode::kFrequencyCapped);
  EXPECT_EQ(d.retry_after, kT0 + absl::Hours(24));
  OutgoingMessage dry = Template("statement");
  dry.dry_run = true;
  clock_.Set(kT0 + absl::Hours(24));  // The first send leaves the window.
  EXPECT_TRUE(Check(dry).allowed);
  EXPECT_TRUE(Check(Template("offer")).allowed);
  // Caps survive a restart.
  PolicyEngine restored(p, &clock_, nullptr);
  for (const auto& [key, value] : journal_.records()) {
    ASSERT_TRUE(restored.Restore(static_cast<StateFamily>(key.first), key.second, value).ok());
  }
  EXPECT_EQ(restored.Check(Template("statement"))->reason, ReasonCode::kFrequencyCapped);
}

TEST_F(ComplianceTest, InboundOptOutKeywordsOptOut) {
  ASSERT_TRUE(engine_->RecordOptIn(kBiz, kC, OptInSource::kSms).ok());
  EXPECT_FALSE(*engine_->RecordInbound(kBiz, kC, "please stop by the store"));
  EXPECT_TRUE(Check(Template("statement")).allowed);
  EXPECT_TRUE(*engine_->RecordInbound(kBiz, kC, "  Stop! "));
  EXPECT_EQ(Check(Template("statement")).reason, ReasonCode::kOptedOut);
  ASSERT_TRUE(engine_->RecordOptIn(kBiz, kC, OptInSource::kSms).ok());
  EXPECT_TRUE(*engine_->RecordInbound(kBiz, kC, "unsubscribe"));
  EXPECT_TRUE(*engine_->RecordInbound(kBiz, kC, "opt   out"));
  EXPECT_EQ(Check(Template("statement")).reason, ReasonCode::kOptedOut);
}

TEST_F(ComplianceTest, MarketingTemplatesMustOfferAnOptOut) {
  MessageTemplate t{"promo", "en", TemplateCategory::kMarketing, TemplateStatus::kApproved};
  t.body = "Sale!";
  absl::Status s = engine_->PutTemplate("bank", t);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("opt out"), std::string::npos) << s;
  t.buttons = {{TemplateButton::Kind::kQuickReply, "Unsubscribe"}};
  EXPECT_TRUE(engine_->PutTemplate("bank", t).ok());
  t.category = TemplateCategory::kUtility;  // Utility templates need none.
  t.buttons.clear();
  EXPECT_TRUE(engine_->PutTemplate("bank", t).ok());
}

TEST_F(ComplianceTest, TemplateParametersMustMatchVariables) {
  ASSERT_TRUE(engine_->RecordOptIn(kBiz, kC, OptInSource::kSms).ok());
  OutgoingMessage m = Template("statement");
  m.template_parameters = {"May"};
  Decision d = Check(m);
  EXPECT_EQ(d.reason, ReasonCode::kMessageInvalid);
  EXPECT_NE(d.detail.find("template_parameters"), std::string::npos);
  m.template_parameters = {"May", "https://bank.example/s/1"};
  EXPECT_TRUE(Check(m).allowed);
}

TEST_F(ComplianceTest, SessionContentIsCheckedBeforeTheWindow) {
  ASSERT_TRUE(engine_->RecordInbound(kBiz, kC, "hi").ok());
  auto big_image = std::make_shared<const SessionContent>(
      MediaContent{SessionType::kImage, "image/png", (5 << 20) + 1});
  Decision d = Check(Session(big_image, SessionType::kImage));
  EXPECT_EQ(d.reason, ReasonCode::kMessageInvalid);
  EXPECT_NE(d.detail.find("media.bytes"), std::string::npos);
  ReplyButtonsMessage four{
      ButtonsHeader::kText, "Pick", "", {{"a", "A"}, {"b", "B"}, {"c", "C"}, {"d", "D"}}};
  d = Check(Session(std::make_shared<const SessionContent>(four), SessionType::kReplyButtons));
  EXPECT_EQ(d.reason, ReasonCode::kMessageInvalid);
  d = Check(
      Session(std::make_shared<const SessionContent>(TextContent{"hello"}), SessionType::kImage));
  EXPECT_EQ(d.reason, ReasonCode::kMessageInvalid);  // Content and type disagree.
  EXPECT_TRUE(Check(Session(std::make_shared<const SessionContent>(TextContent{"hello"}),
                            SessionType::kText))
                  .allowed);
  ListMessage list{"", "Choose", "", "Menu", {{"", {{"1", "One", ""}}}}};
  EXPECT_TRUE(
      Check(Session(std::make_shared<const SessionContent>(list), SessionType::kInteractiveList))
          .allowed);
  // Lists are two-way only: outside the window they are refused like any session message.
  clock_.Advance(absl::Hours(25));
  EXPECT_EQ(
      Check(Session(std::make_shared<const SessionContent>(list), SessionType::kInteractiveList))
          .reason,
      ReasonCode::kOutsideServiceWindow);
}

}  // namespace
}  // namespace wapolicy
