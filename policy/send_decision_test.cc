#include "policy/send_decision.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "policy/consent.h"
#include "policy/conversations.h"
#include "policy/decision.h"
#include "policy/message_content.h"
#include "policy/outgoing_message.h"
#include "policy/policy_profile.h"
#include "policy/service_window.h"
#include "policy/templates.h"
#include "policy/test_util.h"
#include "policy/topic_registry.h"

namespace wapolicy {
namespace {

constexpr int64_t kNow = int64_t{1767225600} * kSecond + 10 * kHour;  // 2026-01-01 10:00 UTC.

absl::Time At(int64_t us) { return absl::FromUnixMicros(us); }

// The state the engine would have looked up, defaulting to the plain
// business-initiated case: an approved utility template with one variable, a
// customer opted in to every topic, no service window, no conversation, 10 of
// 1,000 slots used.
class SendDecision : public ::testing::Test {
 protected:
  SendDecision() {
    tmpl_.name = "order_update";
    tmpl_.language = "en_US";
    tmpl_.category = TemplateCategory::kUtility;
    tmpl_.status = TemplateStatus::kApproved;
    tmpl_.body = "Your order {{1}} has shipped.";
    consent_.state = Consent::State::kOptedIn;
    consent_.topics = kAllTopics;
  }

  SendOutcome Decide(const OutgoingMessage& m) {
    const SendContext ctx{profile_,
                          "biz-1",
                          limit_,
                          used_,
                          earliest_slot_end_,
                          has_window_ ? &window_ : nullptr,
                          has_conversation_ ? &conversation_ : nullptr,
                          has_consent_ ? &consent_ : nullptr,
                          topics_,
                          has_template_ ? &tmpl_ : nullptr};
    return DecideSend(ctx, m, kNow);
  }

  static OutgoingMessage Template() {
    OutgoingMessage m;
    m.kind = MessageKind::kTemplate;
    m.template_name = "order_update";
    m.template_language = "en_US";
    return m;
  }
  static OutgoingMessage Session(bool marketing = false) {
    OutgoingMessage m;
    m.kind = MessageKind::kSession;
    m.session_type = SessionType::kText;
    m.content = std::make_shared<const SessionContent>(TextContent{"Thanks for your message!"});
    m.marketing = marketing;
    return m;
  }

  void OpenServiceWindow(int64_t last_inbound = kNow - kHour) {
    has_window_ = true;
    window_.last_inbound_us = last_inbound;
  }
  void OpenBusinessConversation(int64_t ends, bool pending = false) {
    has_conversation_ = true;
    conversation_.slot_start_us = kNow - kHour;
    conversation_.slot_end_us = ends;
    conversation_.pending = pending;
  }
  void OptOut() { consent_.state = Consent::State::kOptedOut; }
  void MakeMarketingTemplate() { tmpl_.category = TemplateCategory::kMarketing; }
  // Consent to the named topics only.
  void ConsentTo(std::vector<std::string> names) {
    absl::StatusOr<TopicSet> set = topics_.Intern(names);
    ASSERT_TRUE(set.ok()) << set.status();
    consent_.topics = *set;
  }
  // `n` business-initiated sends, one an hour, the newest 30 minutes ago.
  static std::vector<int64_t> HourlySends(int n) {
    std::vector<int64_t> out;
    for (int i = n - 1; i >= 0; --i) out.push_back(kNow - 30 * kMinute - i * kHour);
    return out;
  }

  static void ExpectDenied(const SendOutcome& out, ReasonCode reason) {
    EXPECT_FALSE(out.decision.allowed);
    EXPECT_EQ(out.decision.reason, reason)
        << "got " << ReasonCodeName(out.decision.reason) << ": " << out.decision.detail;
    EXPECT_EQ(out.decision.effect, ConversationEffect::kNone);
    EXPECT_FALSE(out.decision.detail.empty());
    EXPECT_EQ(out.reserve_slot_until, 0);
    EXPECT_EQ(out.open_user_conversation_until, 0);
    EXPECT_FALSE(out.record_send);
    EXPECT_FALSE(out.record_marketing);
  }
  static void ExpectAllowed(const SendOutcome& out, ConversationEffect effect) {
    EXPECT_TRUE(out.decision.allowed)
        << ReasonCodeName(out.decision.reason) << ": " << out.decision.detail;
    EXPECT_EQ(out.decision.reason, ReasonCode::kAllowed);
    EXPECT_EQ(out.decision.effect, effect) << ConversationEffectName(out.decision.effect);
  }

  PolicyProfile profile_ = DefaultProfile();
  TopicRegistry topics_;
  MessageTemplate tmpl_;
  bool has_template_ = true;
  Consent consent_;
  bool has_consent_ = true;
  ServiceWindow window_;
  bool has_window_ = false;
  ConversationWindow conversation_;
  bool has_conversation_ = false;
  int64_t limit_ = 1000;
  int64_t used_ = 10;
  int64_t earliest_slot_end_ = 0;
};

// --- The allowed business-initiated case ------------------------------------------------

TEST_F(SendDecision, AdmissionReservesASlotUntilReservationTimeout) {
  const SendOutcome out = Decide(Template());
  ExpectAllowed(out, ConversationEffect::kOpensBusinessInitiated);
  EXPECT_EQ(out.reserve_slot_until, kNow + 15 * kMinute);
  EXPECT_EQ(out.decision.conversation_ends, At(out.reserve_slot_until));
  EXPECT_EQ(out.decision.limit, 1000);
  EXPECT_EQ(out.decision.used, 11);                                    // After this decision.
  EXPECT_EQ(out.decision.next_slot_free, At(out.reserve_slot_until));  // No other slot held.
  EXPECT_TRUE(out.record_send);
  EXPECT_FALSE(out.record_marketing);
  EXPECT_EQ(out.open_user_conversation_until, 0);
}

TEST_F(SendDecision, AdmissionReservationFollowsTheProfilesTimeout) {
  profile_.reservation_timeout = absl::Minutes(2);
  const SendOutcome out = Decide(Template());
  EXPECT_EQ(out.reserve_slot_until, kNow + 2 * kMinute);
  EXPECT_EQ(out.decision.conversation_ends, At(kNow + 2 * kMinute));
}

TEST_F(SendDecision, AdmissionKeepsAnEarlierSlotEndAsNextSlotFree) {
  earliest_slot_end_ = kNow + kMinute;
  const SendOutcome out = Decide(Template());
  ExpectAllowed(out, ConversationEffect::kOpensBusinessInitiated);
  EXPECT_EQ(out.decision.next_slot_free, At(kNow + kMinute));
}

TEST_F(SendDecision, DryRunAdmissionReportsUsedPlusOneWithoutReserving) {
  OutgoingMessage m = Template();
  m.dry_run = true;
  const SendOutcome out = Decide(m);
  ExpectAllowed(out, ConversationEffect::kOpensBusinessInitiated);
  EXPECT_EQ(out.decision.used, 11);
  EXPECT_EQ(out.reserve_slot_until, 0);
}

// --- Template rule 1: registered -------------------------------------------------------

TEST_F(SendDecision, Rule1UnregisteredTemplateIsTemplateUnknown) {
  has_template_ = false;
  ExpectDenied(Decide(Template()), ReasonCode::kTemplateUnknown);
  // Before the opt-out rule.
  OptOut();
  ExpectDenied(Decide(Template()), ReasonCode::kTemplateUnknown);
}

TEST_F(SendDecision, Rule1UnregisteredTemplateAllowedWhenRegistrationNotRequired) {
  has_template_ = false;
  profile_.require_registered_templates = false;
  ExpectAllowed(Decide(Template()), ConversationEffect::kOpensBusinessInitiated);
}

// --- Template rule 2: approved ---------------------------------------------------------

TEST_F(SendDecision, Rule2OnlyApprovedTemplatesMayBeSent) {
  tmpl_.status = TemplateStatus::kPending;
  ExpectDenied(Decide(Template()), ReasonCode::kTemplateNotApproved);
  tmpl_.status = TemplateStatus::kRejected;
  ExpectDenied(Decide(Template()), ReasonCode::kTemplateNotApproved);
  tmpl_.status = TemplateStatus::kPaused;
  SendOutcome paused = Decide(Template());
  ExpectDenied(paused, ReasonCode::kTemplatePaused);
  EXPECT_EQ(PlatformErrorCode(paused.decision.reason), 132015);
  tmpl_.status = TemplateStatus::kDisabled;
  SendOutcome disabled = Decide(Template());
  ExpectDenied(disabled, ReasonCode::kTemplateDisabled);
  EXPECT_EQ(PlatformErrorCode(disabled.decision.reason), 132016);
}

TEST_F(SendDecision, Rule2StatusIsCheckedBeforeParametersAndOptOut) {
  tmpl_.status = TemplateStatus::kPaused;
  OutgoingMessage m = Template();
  m.template_parameters = {"a", "b", "c"};  // Wrong count too.
  OptOut();
  ExpectDenied(Decide(m), ReasonCode::kTemplatePaused);
}

// --- Template rule 3: parameters match the body's variables -----------------------------

TEST_F(SendDecision, Rule3ParameterCountMustMatchTheBodysVariables) {
  OutgoingMessage m = Template();
  m.template_parameters = {"A-123", "extra"};
  ExpectDenied(Decide(m), ReasonCode::kMessageInvalid);
  m.template_parameters = {"A-123"};
  ExpectAllowed(Decide(m), ConversationEffect::kOpensBusinessInitiated);
  m.template_parameters.clear();  // Not sent along: not checked.
  ExpectAllowed(Decide(m), ConversationEffect::kOpensBusinessInitiated);
}

TEST_F(SendDecision, Rule3ParametersAreCheckedBeforeOptOut) {
  OutgoingMessage m = Template();
  m.template_parameters = {"a", "b"};
  OptOut();
  ExpectDenied(Decide(m), ReasonCode::kMessageInvalid);
}

// --- Template rule 4: not opted out, inside a service window too ----------------------------

TEST_F(SendDecision, Rule4OptedOutCustomerGetsNoTemplate) {
  OptOut();
  SendOutcome out = Decide(Template());
  ExpectDenied(out, ReasonCode::kOptedOut);
  EXPECT_EQ(PlatformErrorCode(out.decision.reason), 131050);
}

TEST_F(SendDecision, Rule4OptedOutCustomerGetsNoTemplateInsideServiceWindow) {
  OptOut();
  OpenServiceWindow();
  ExpectDenied(Decide(Template()), ReasonCode::kOptedOut);  // A utility template, in the window.
}

// --- Session rule 1: content matches its type and the content rules ------------------------

TEST_F(SendDecision, SessionRule1ContentMustMatchTheDeclaredType) {
  OpenServiceWindow();
  OutgoingMessage m = Session();
  m.session_type = SessionType::kImage;  // But the content is text.
  ExpectDenied(Decide(m), ReasonCode::kMessageInvalid);
}

TEST_F(SendDecision, SessionRule1ContentMustFollowTheContentRules) {
  OpenServiceWindow();
  OutgoingMessage m = Session();
  m.content = std::make_shared<const SessionContent>(TextContent{std::string(4097, 'x')});
  ExpectDenied(Decide(m), ReasonCode::kMessageInvalid);
  m.content = std::make_shared<const SessionContent>(TextContent{std::string(4096, 'x')});
  ExpectAllowed(Decide(m), ConversationEffect::kOpensUserInitiated);
  m.content = nullptr;  // Not sent along: not checked.
  ExpectAllowed(Decide(m), ConversationEffect::kOpensUserInitiated);
}

TEST_F(SendDecision, SessionRule1ContentIsCheckedBeforeTheServiceWindow) {
  OutgoingMessage m = Session();
  m.session_type = SessionType::kVideo;
  ExpectDenied(Decide(m), ReasonCode::kMessageInvalid);  // No window either.
}

// --- Session rule 2: inside the 24 h service window -----------------------------------------

TEST_F(SendDecision, SessionRule2SessionOutsideTheServiceWindowIsRefused) {
  SendOutcome none = Decide(Session());  // The customer never wrote.
  ExpectDenied(none, ReasonCode::kOutsideServiceWindow);
  EXPECT_EQ(PlatformErrorCode(none.decision.reason), 131047);
  OpenServiceWindow(kNow - kDay);  // Exactly 24 h ago: closed.
  ExpectDenied(Decide(Session()), ReasonCode::kOutsideServiceWindow);
  OpenServiceWindow(kNow - kDay + 1);
  ExpectAllowed(Decide(Session()), ConversationEffect::kOpensUserInitiated);
}

TEST_F(SendDecision, SessionRule2OpenBusinessConversationDoesNotReplaceTheWindow) {
  OpenBusinessConversation(kNow + 5 * kHour);
  ExpectDenied(Decide(Session()), ReasonCode::kOutsideServiceWindow);
}

// --- Rule 5: marketing to an opted-out customer inside the window ----------------------------

TEST_F(SendDecision, Rule5MarketingSessionToOptedOutCustomerInsideWindowIsOptedOut) {
  OpenServiceWindow();
  OptOut();
  ExpectDenied(Decide(Session(/*marketing=*/true)), ReasonCode::kOptedOut);
}

TEST_F(SendDecision, Rule5MarketingSessionToOptedOutCustomerIsOptedOutWithoutScopedOptIn) {
  profile_.scoped_opt_in = false;
  OpenServiceWindow();
  OptOut();
  ExpectDenied(Decide(Session(/*marketing=*/true)), ReasonCode::kOptedOut);
}

TEST_F(SendDecision, Rule5NonMarketingReplyToOptedOutCustomerInsideWindowIsAllowed) {
  OpenServiceWindow();
  OptOut();
  ExpectAllowed(Decide(Session()), ConversationEffect::kOpensUserInitiated);
}

// --- Rule 6: marketing inside the window needs marketing consent (scoped_opt_in) --------------

TEST_F(SendDecision, Rule6MarketingSessionInsideWindowNeedsMarketingConsent) {
  OpenServiceWindow();
  ConsentTo({"order_updates"});
  ExpectDenied(Decide(Session(/*marketing=*/true)), ReasonCode::kTopicNotConsented);
  ConsentTo({"order_updates", "marketing"});
  ExpectAllowed(Decide(Session(/*marketing=*/true)), ConversationEffect::kOpensUserInitiated);
}

TEST_F(SendDecision, Rule6MarketingSessionInsideWindowWithoutAnyOptInIsNotConsented) {
  OpenServiceWindow();
  has_consent_ = false;
  ExpectDenied(Decide(Session(/*marketing=*/true)), ReasonCode::kTopicNotConsented);
  has_consent_ = true;
  consent_.state = Consent::State::kNone;
  ExpectDenied(Decide(Session(/*marketing=*/true)), ReasonCode::kTopicNotConsented);
}

TEST_F(SendDecision, Rule6OptInToEveryTopicCoversMarketing) {
  OpenServiceWindow();
  consent_.topics = kAllTopics;
  ExpectAllowed(Decide(Session(/*marketing=*/true)), ConversationEffect::kOpensUserInitiated);
}

TEST_F(SendDecision, Rule6MarketingTemplateInsideWindowNeedsMarketingConsent) {
  OpenServiceWindow();
  MakeMarketingTemplate();
  ConsentTo({"order_updates"});
  ExpectDenied(Decide(Template()), ReasonCode::kTopicNotConsented);
}

TEST_F(SendDecision, Rule6WithoutScopedOptInMarketingInsideWindowNeedsNoConsent) {
  profile_.scoped_opt_in = false;
  OpenServiceWindow();
  has_consent_ = false;
  ExpectAllowed(Decide(Session(/*marketing=*/true)), ConversationEffect::kOpensUserInitiated);
}

// --- Inside the window: allowed, never counted ----------------------------------------------

TEST_F(SendDecision, ReplyInsideWindowOpensAUserInitiatedConversation) {
  OpenServiceWindow(kNow - kHour);
  has_consent_ = false;  // No opt-in needed: the customer wrote first.
  used_ = limit_;        // And the limit does not apply.
  const SendOutcome out = Decide(Session());
  ExpectAllowed(out, ConversationEffect::kOpensUserInitiated);
  EXPECT_EQ(out.open_user_conversation_until, kNow + kDay);
  EXPECT_EQ(out.decision.conversation_ends, At(kNow + kDay));
  EXPECT_EQ(out.decision.service_window_ends, At(kNow - kHour + kDay));
  EXPECT_EQ(out.decision.used, limit_);
  EXPECT_EQ(out.reserve_slot_until, 0);
  EXPECT_FALSE(out.record_send);
}

TEST_F(SendDecision, TemplateInsideWindowNeedsNoOptInAndIsNotCounted) {
  OpenServiceWindow();
  has_consent_ = false;
  const SendOutcome out = Decide(Template());
  ExpectAllowed(out, ConversationEffect::kOpensUserInitiated);
  EXPECT_FALSE(out.record_send);
  EXPECT_EQ(out.reserve_slot_until, 0);
}

TEST_F(SendDecision, ReplyInsideWindowReusesAnOpenUserConversation) {
  OpenServiceWindow();
  window_.user_conversation_end_us = kNow + 3 * kHour;
  const SendOutcome out = Decide(Session());
  ExpectAllowed(out, ConversationEffect::kReusesUserInitiated);
  EXPECT_EQ(out.decision.conversation_ends, At(kNow + 3 * kHour));
  EXPECT_EQ(out.open_user_conversation_until, 0);
}

TEST_F(SendDecision, ReplyInsideWindowReusesAnOpenBusinessConversation) {
  OpenServiceWindow();
  window_.user_conversation_end_us = kNow + 3 * kHour;
  OpenBusinessConversation(kNow + 5 * kHour);
  const SendOutcome out = Decide(Session());
  ExpectAllowed(out, ConversationEffect::kReusesBusinessInitiated);
  EXPECT_EQ(out.decision.conversation_ends, At(kNow + 5 * kHour));
  EXPECT_EQ(out.open_user_conversation_until, 0);
  EXPECT_EQ(out.reserve_slot_until, 0);
}

// --- Rule 7: business-initiated needs an opt-in ------------------------------------------------

TEST_F(SendDecision, Rule7TemplateOutsideWindowNeedsOptIn) {
  has_consent_ = false;
  ExpectDenied(Decide(Template()), ReasonCode::kNotOptedIn);
  has_consent_ = true;
  consent_.state = Consent::State::kNone;
  ExpectDenied(Decide(Template()), ReasonCode::kNotOptedIn);
}

// --- Rule 7a: no marketing templates to US numbers --------------------------------------------

TEST_F(SendDecision, Rule7aMarketingTemplateToAUsNumberIsBlocked) {
  MakeMarketingTemplate();
  OutgoingMessage m = Template();
  m.customer = *PhoneNumber::Parse("+1 212 555 0100");  // New York.
  const SendOutcome out = Decide(m);
  ExpectDenied(out, ReasonCode::kMarketingBlockedRegion);
  EXPECT_EQ(PlatformErrorCode(out.decision.reason), 131049);
  EXPECT_EQ(out.decision.retry_after, absl::InfinitePast());  // Waiting does not help.
  // First among the business-initiated rules: an opt-in would not lift it.
  has_consent_ = false;
  ExpectDenied(Decide(m), ReasonCode::kMarketingBlockedRegion);
}

TEST_F(SendDecision, Rule7aCanadianAndCaribbeanNumbersAreNotBlocked) {
  MakeMarketingTemplate();
  for (const char* n : {"+1 416 555 0123", "+1 242 357 1234", "+447700900001"}) {
    OutgoingMessage m = Template();
    m.customer = *PhoneNumber::Parse(n);
    ExpectAllowed(Decide(m), ConversationEffect::kOpensBusinessInitiated);
  }
}

TEST_F(SendDecision, Rule7aUtilityTemplatesAndWindowsAndTheSwitchOff) {
  OutgoingMessage m = Template();
  m.customer = *PhoneNumber::Parse("+1 212 555 0100");
  ExpectAllowed(Decide(m), ConversationEffect::kOpensBusinessInitiated);  // Utility.
  MakeMarketingTemplate();
  OpenServiceWindow();  // The customer wrote: marketing inside their window is exempt.
  ExpectAllowed(Decide(m), ConversationEffect::kOpensUserInitiated);
  has_window_ = false;
  profile_.us_marketing_blocked = false;
  ExpectAllowed(Decide(m), ConversationEffect::kOpensBusinessInitiated);
}

TEST_F(SendDecision, Rule7ExpiredServiceWindowIsBusinessInitiated) {
  OpenServiceWindow(kNow - 2 * kDay);
  has_consent_ = false;
  ExpectDenied(Decide(Template()), ReasonCode::kNotOptedIn);
}

// --- Rule 8: the consent covers the template's topic (scoped_opt_in) ---------------------------

TEST_F(SendDecision, Rule8ConsentMustCoverTheTemplatesTopic) {
  ConsentTo({"order_updates"});
  tmpl_.topic = "promotions";
  ExpectDenied(Decide(Template()), ReasonCode::kTopicNotConsented);
  tmpl_.topic = "order_updates";
  ExpectAllowed(Decide(Template()), ConversationEffect::kOpensBusinessInitiated);
}

TEST_F(SendDecision, Rule8TemplateWithoutTopicNeedsItsCategory) {
  ConsentTo({"order_updates"});
  tmpl_.topic.clear();  // Effective topic "utility".
  ExpectDenied(Decide(Template()), ReasonCode::kTopicNotConsented);
  ConsentTo({"utility"});
  ExpectAllowed(Decide(Template()), ConversationEffect::kOpensBusinessInitiated);
}

TEST_F(SendDecision, Rule8WithoutScopedOptInAnyOptInCoversEveryTopic) {
  profile_.scoped_opt_in = false;
  ConsentTo({"order_updates"});
  tmpl_.topic = "promotions";
  ExpectAllowed(Decide(Template()), ConversationEffect::kOpensBusinessInitiated);
}

// --- Rule 9: frequency caps ----------------------------------------------------------------------

TEST_F(SendDecision, Rule9FrequencyCapHoldsUntilTheCapThNewestSendIsADayOld) {
  ASSERT_EQ(profile_.frequency_cap_per_day, 10);
  consent_.recent.mutable_sends() = HourlySends(12);
  const std::vector<int64_t>& sends = consent_.recent.sends();
  const SendOutcome out = Decide(Template());
  ExpectDenied(out, ReasonCode::kFrequencyCapped);
  EXPECT_EQ(out.decision.retry_after, At(sends[sends.size() - 10] + kDay));
  EXPECT_EQ(PlatformErrorCode(out.decision.reason), 131049);
}

TEST_F(SendDecision, Rule9OneSendUnderTheCapIsAllowedAndRecorded) {
  consent_.recent.mutable_sends() = HourlySends(9);
  const SendOutcome out = Decide(Template());
  ExpectAllowed(out, ConversationEffect::kOpensBusinessInitiated);
  EXPECT_TRUE(out.record_send);
  EXPECT_FALSE(out.record_marketing);
  EXPECT_EQ(out.decision.retry_after, absl::InfinitePast());
}

TEST_F(SendDecision, Rule9MarketingCapHoldsMarketingTemplatesOnly) {
  ASSERT_EQ(profile_.marketing_cap_per_day, 2);
  consent_.recent.mutable_sends() = HourlySends(3);
  consent_.recent.mutable_marketing() = HourlySends(3);
  const std::vector<int64_t>& marketing = consent_.recent.marketing();
  // A utility template is not held by the marketing cap.
  const SendOutcome utility = Decide(Template());
  ExpectAllowed(utility, ConversationEffect::kOpensBusinessInitiated);
  EXPECT_FALSE(utility.record_marketing);
  MakeMarketingTemplate();
  const SendOutcome out = Decide(Template());
  ExpectDenied(out, ReasonCode::kFrequencyCapped);
  EXPECT_EQ(out.decision.retry_after, At(marketing[marketing.size() - 2] + kDay));
}

TEST_F(SendDecision, Rule9MarketingTemplateUnderItsCapIsRecordedAsMarketing) {
  MakeMarketingTemplate();
  consent_.recent.mutable_marketing() = HourlySends(1);
  const SendOutcome out = Decide(Template());
  ExpectAllowed(out, ConversationEffect::kOpensBusinessInitiated);
  EXPECT_TRUE(out.record_send);
  EXPECT_TRUE(out.record_marketing);
}

TEST_F(SendDecision, Rule9CapAppliesInsideAnOpenBusinessConversationAndAtTheLimit) {
  consent_.recent.mutable_sends() = HourlySends(10);
  OpenBusinessConversation(kNow + 5 * kHour);
  ExpectDenied(Decide(Template()), ReasonCode::kFrequencyCapped);
  has_conversation_ = false;
  used_ = limit_;
  ExpectDenied(Decide(Template()), ReasonCode::kFrequencyCapped);  // Not LIMIT_REACHED.
}

TEST_F(SendDecision, Rule9CapsOffRecordNothing) {
  profile_.frequency_cap_per_day = 0;
  profile_.marketing_cap_per_day = 0;
  MakeMarketingTemplate();
  consent_.recent.mutable_sends() = HourlySends(50);
  consent_.recent.mutable_marketing() = HourlySends(50);
  const SendOutcome out = Decide(Template());
  ExpectAllowed(out, ConversationEffect::kOpensBusinessInitiated);
  EXPECT_FALSE(out.record_send);
  EXPECT_FALSE(out.record_marketing);
}

// --- Rule 10: inside an open business-initiated conversation: free -------------------------------

TEST_F(SendDecision, Rule10ReusesOpenBusinessConversationWithoutASlotEvenAtTheLimit) {
  used_ = limit_;
  earliest_slot_end_ = kNow + 2 * kHour;
  OpenBusinessConversation(kNow + 5 * kHour);
  const SendOutcome out = Decide(Template());
  ExpectAllowed(out, ConversationEffect::kReusesBusinessInitiated);
  EXPECT_EQ(out.reserve_slot_until, 0);
  EXPECT_EQ(out.decision.used, limit_);  // No new slot.
  EXPECT_EQ(out.decision.conversation_ends, At(kNow + 5 * kHour));
  EXPECT_TRUE(out.record_send);  // Still a business-initiated send for the caps.
}

TEST_F(SendDecision, Rule10PendingAdmissionIsReusedToo) {
  used_ = limit_;
  OpenBusinessConversation(kNow + 10 * kMinute, /*pending=*/true);
  const SendOutcome out = Decide(Template());
  ExpectAllowed(out, ConversationEffect::kReusesBusinessInitiated);
  EXPECT_EQ(out.reserve_slot_until, 0);
}

TEST_F(SendDecision, Rule10EndedConversationIsNotReused) {
  used_ = limit_;
  OpenBusinessConversation(kNow);  // Ended exactly now.
  ExpectDenied(Decide(Template()), ReasonCode::kLimitReached);
  used_ = 10;
  ExpectAllowed(Decide(Template()), ConversationEffect::kOpensBusinessInitiated);
}

// --- Rule 11: a free slot under the messaging limit ----------------------------------------------

TEST_F(SendDecision, Rule11LimitReachedWhenEverySlotIsHeld) {
  used_ = limit_;
  earliest_slot_end_ = kNow + 3 * kHour;
  const SendOutcome out = Decide(Template());
  ExpectDenied(out, ReasonCode::kLimitReached);
  EXPECT_EQ(out.decision.used, limit_);
  EXPECT_EQ(out.decision.limit, limit_);
  EXPECT_EQ(out.decision.next_slot_free, At(kNow + 3 * kHour));
}

TEST_F(SendDecision, Rule11LastFreeSlotIsAdmitted) {
  used_ = limit_ - 1;
  const SendOutcome out = Decide(Template());
  ExpectAllowed(out, ConversationEffect::kOpensBusinessInitiated);
  EXPECT_EQ(out.decision.used, limit_);
  // And the dry run of the same question does not reserve it.
  OutgoingMessage m = Template();
  m.dry_run = true;
  const SendOutcome dry = Decide(m);
  ExpectAllowed(dry, ConversationEffect::kOpensBusinessInitiated);
  EXPECT_EQ(dry.decision.used, limit_);
  EXPECT_EQ(dry.reserve_slot_until, 0);
}

TEST_F(SendDecision, Rule11DryRunAtTheLimitIsRefusedToo) {
  used_ = limit_;
  OutgoingMessage m = Template();
  m.dry_run = true;
  ExpectDenied(Decide(m), ReasonCode::kLimitReached);
}

TEST_F(SendDecision, Rule11UnlimitedTierNeverReachesALimit) {
  limit_ = kUnlimited;
  used_ = 5000000;
  const SendOutcome out = Decide(Template());
  ExpectAllowed(out, ConversationEffect::kOpensBusinessInitiated);
  EXPECT_EQ(out.decision.limit, kUnlimited);
}

}  // namespace
}  // namespace wapolicy
