// Events as the platform reports them: at their own time (late, out of
// order), at least once (repeated ids), through the PolicyEngine facade.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "policy/policy_engine.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00Z
const PhoneNumber kBiz = Num("+14155550100");
const PhoneNumber kCustomer = Num("+447700900001");

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
EventMeta At(absl::Time t, std::string id = "") { return {Micros(t), std::move(id)}; }
EventMeta Id(std::string id) { return {0, std::move(id)}; }

class EngineEventsTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }
  void Start() {
    engine_ = std::make_unique<PolicyEngine>(DefaultProfile(), &clock_, &journal_, 4);
    ASSERT_TRUE(engine_->UpsertBusiness("acme", true, false).ok());
    ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme").ok());
    MessageTemplate t{"order_update", "en_US", TemplateCategory::kUtility,
                      TemplateStatus::kApproved};
    ASSERT_TRUE(engine_->PutTemplate("acme", t).ok());
    ASSERT_TRUE(engine_->RecordOptIn(kBiz, kCustomer, OptInSource::kWebsite).ok());
  }
  OutgoingMessage Template() {
    OutgoingMessage m;
    m.business_number = kBiz;
    m.customer = kCustomer;
    m.template_name = "order_update";
    m.template_language = "en_US";
    return m;
  }
  OutgoingMessage Session() {
    OutgoingMessage m;
    m.business_number = kBiz;
    m.customer = kCustomer;
    m.kind = MessageKind::kSession;
    return m;
  }
  NumberSnapshot State() { return engine_->GetNumberState(kBiz).value(); }

  ManualClock clock_{kT0};
  MemoryJournal journal_;
  std::unique_ptr<PolicyEngine> engine_;
};

TEST_F(EngineEventsTest, ALateDeliveryStartsTheConversationAtItsOwnTime) {
  ASSERT_TRUE(engine_->Check(Template())->allowed);
  const absl::Time delivered_at = kT0 + absl::Minutes(1);
  // The report arrives 9 minutes late (inside the 15-minute reservation).
  clock_.Advance(absl::Minutes(10));
  EXPECT_EQ(engine_->RecordDelivered(kBiz, kCustomer, At(delivered_at)).value(),
            DeliveryOutcome::kStartedConversation);
  // The platform's conversation ends 24 h after the delivery, not after the report.
  clock_.Set(delivered_at + absl::Hours(24) + absl::Minutes(1));
  Decision d = engine_->Check(Template()).value();
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.effect, ConversationEffect::kOpensBusinessInitiated)
      << "the conversation that began at the delivery has ended; a new one is counted";
}

TEST_F(EngineEventsTest, ALateCustomerMessageOpensTheWindowFromItsOwnTime) {
  EXPECT_TRUE(
      engine_->RecordInbound(kBiz, kCustomer, "hi", At(kT0 - absl::Hours(23) - absl::Minutes(50)))
          .ok());
  EXPECT_TRUE(engine_->Check(Session())->allowed);  // 10 minutes of window left.
  clock_.Advance(absl::Minutes(11));
  Decision d = engine_->Check(Session()).value();
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kOutsideServiceWindow);
}

TEST_F(EngineEventsTest, ACustomerMessageOlderThanTheWindowOpensNone) {
  ASSERT_TRUE(engine_->RecordInbound(kBiz, kCustomer, "hi", At(kT0 - absl::Hours(30))).ok());
  EXPECT_EQ(engine_->Check(Session())->reason, ReasonCode::kOutsideServiceWindow);
}

TEST_F(EngineEventsTest, AnEarlierCustomerMessageArrivingLateDoesNotShortenTheWindow) {
  ASSERT_TRUE(engine_->RecordInbound(kBiz, kCustomer, "later").ok());  // At kT0.
  ASSERT_TRUE(engine_->RecordInbound(kBiz, kCustomer, "earlier", At(kT0 - absl::Hours(20))).ok());
  clock_.Advance(absl::Hours(23));  // Inside the window of the later message only.
  EXPECT_TRUE(engine_->Check(Session())->allowed);
}

TEST_F(EngineEventsTest, ReadBeforeDeliveredConfirmsTheAdmissionOnceFromTheEarlierTime) {
  ASSERT_TRUE(engine_->Check(Template())->allowed);
  clock_.Advance(absl::Minutes(5));
  // The `read` (2 minutes in) arrives before the `delivered` (1 minute in).
  EXPECT_EQ(
      engine_->RecordDelivered(kBiz, kCustomer, At(kT0 + absl::Minutes(2), "w1:read")).value(),
      DeliveryOutcome::kStartedConversation);
  EXPECT_EQ(
      engine_->RecordDelivered(kBiz, kCustomer, At(kT0 + absl::Minutes(1), "w1:delivered")).value(),
      DeliveryOutcome::kInOpenConversation);
  NumberSnapshot s = State();
  EXPECT_EQ(s.used, 1);
  EXPECT_EQ(s.recent_unique, 1);
  EXPECT_EQ(s.pending, 0);
  // The conversation runs from the earlier time: 24 h after minute 1 it has ended.
  clock_.Set(kT0 + absl::Hours(24) + absl::Minutes(1) + absl::Seconds(30));
  EXPECT_EQ(engine_->Check(Template())->effect, ConversationEffect::kOpensBusinessInitiated);
}

TEST_F(EngineEventsTest, FailedAfterDeliveredChangesNothing) {
  ASSERT_TRUE(engine_->Check(Template())->allowed);
  ASSERT_TRUE(engine_->RecordDelivered(kBiz, kCustomer, Id("w1:delivered")).ok());
  EXPECT_EQ(engine_->RecordDeliveryFailed(kBiz, kCustomer, Id("w1:failed")).code(),
            absl::StatusCode::kFailedPrecondition);
  NumberSnapshot s = State();
  EXPECT_EQ(s.used, 1);
  EXPECT_EQ(Template().customer, kCustomer);
  EXPECT_EQ(engine_->Check(Template())->effect, ConversationEffect::kReusesBusinessInitiated);
}

TEST_F(EngineEventsTest, ADeliveryReportedAfterItsConversationEndedHoldsNoSlotButCountsTheWeek) {
  clock_.Advance(absl::Hours(30));
  EXPECT_EQ(engine_->RecordDelivered(kBiz, kCustomer, At(kT0)).value(),
            DeliveryOutcome::kAlreadyEnded);
  NumberSnapshot s = State();
  EXPECT_EQ(s.used, 0);
  EXPECT_EQ(s.recent_unique, 1);
}

TEST_F(EngineEventsTest, ARepeatedEventIdIsAnsweredAsTheFirstTimeAndChangesNothing) {
  ASSERT_TRUE(engine_->Check(Template())->allowed);
  EXPECT_EQ(engine_->RecordDelivered(kBiz, kCustomer, Id("wamid.1:delivered")).value(),
            DeliveryOutcome::kStartedConversation);
  EXPECT_EQ(engine_->RecordDelivered(kBiz, kCustomer, Id("wamid.1:delivered")).value(),
            DeliveryOutcome::kStartedConversation)
      << "a repeat gets the first answer, not IN_OPEN_CONVERSATION";
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(engine_->RecordSignal(kBiz, kCustomer, SignalKind::kBlockSpam, Id("block-1")).ok());
  }
  EXPECT_EQ(State().signals_7d[static_cast<int>(SignalKind::kBlockSpam)], 1);
  // An opt-out keyword repeated: answered "opted out" again.
  EXPECT_TRUE(engine_->RecordInbound(kBiz, kCustomer, "STOP", Id("in-1")).value());
  ASSERT_TRUE(engine_->RecordOptIn(kBiz, kCustomer, OptInSource::kWebsite).ok());
  EXPECT_TRUE(engine_->RecordInbound(kBiz, kCustomer, "STOP", Id("in-1")).value());
  EXPECT_TRUE(engine_->GetConsent(kBiz, kCustomer)->opted_in()) << "the repeat opted out again";
}

TEST_F(EngineEventsTest, RememberedIdsSurviveARestartFromTheJournal) {
  ASSERT_TRUE(engine_->RecordSignal(kBiz, kCustomer, SignalKind::kBlockSpam, Id("b-1")).ok());
  PolicyEngine restored(DefaultProfile(), &clock_, nullptr, 4);
  ASSERT_TRUE(journal_.RestoreInto(restored).ok());
  ASSERT_TRUE(restored.RecordSignal(kBiz, kCustomer, SignalKind::kBlockSpam, Id("b-1")).ok());
  EXPECT_EQ(restored.GetNumberState(kBiz)->signals_7d[static_cast<int>(SignalKind::kBlockSpam)], 1);
  EXPECT_EQ(restored.stats().event_ids, 1u);
}

TEST_F(EngineEventsTest, IdsAreForgottenAfterTheRetention) {
  ASSERT_TRUE(engine_->RecordSignal(kBiz, kCustomer, SignalKind::kBlockSpam, Id("b-1")).ok());
  clock_.Advance(absl::Hours(24 * 7) + absl::Seconds(1));
  ASSERT_TRUE(engine_->Sweep().ok());
  EXPECT_EQ(engine_->stats().event_ids, 0u);
  // Its record is erased too.
  for (const auto& [key, value] : journal_.records()) {
    EXPECT_NE(key.first, static_cast<int>(StateFamily::kEventId));
  }
}

TEST_F(EngineEventsTest, OneBusinessMayRememberTheWholeIdBudgetNotOnlyItsShardsShare) {
  // 16 ids over 4 shards: a shard's even share is 4, but "acme" (on one
  // shard) may use all 16 while the other shards hold none.
  PolicyProfile profile = DefaultProfile();
  profile.max_event_ids = 16;
  MemoryJournal journal;
  PolicyEngine engine(profile, &clock_, &journal, 4);
  ASSERT_TRUE(engine.UpsertBusiness("acme", true, false).ok());
  ASSERT_TRUE(engine.RegisterNumber(kBiz, "acme").ok());
  for (int i = 0; i < 16; ++i) {
    clock_.Advance(absl::Milliseconds(1));
    ASSERT_TRUE(engine.RecordInbound(kBiz, kCustomer, "", Id(absl::StrCat("in-", i))).ok());
  }
  EXPECT_EQ(engine.stats().event_ids, 16u);
  // The 17th goes over the total: acme's oldest is forgotten, no more.
  ASSERT_TRUE(engine.RecordInbound(kBiz, kCustomer, "", Id("in-16")).ok());
  EXPECT_EQ(engine.stats().event_ids, 16u);
}

TEST_F(EngineEventsTest, AnEventTooFarInTheFutureIsRefusedNamingTheFieldAndChangesNothing) {
  absl::Status s = engine_->RecordSignal(kBiz, kCustomer, SignalKind::kBlockSpam,
                                         At(kT0 + absl::Minutes(6), "b-future"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("occurred_at"), absl::string_view::npos) << s.message();
  EXPECT_EQ(State().signals_7d[static_cast<int>(SignalKind::kBlockSpam)], 0);
  // Within the skew it counts as now.
  EXPECT_TRUE(
      engine_->RecordSignal(kBiz, kCustomer, SignalKind::kBlockSpam, At(kT0 + absl::Minutes(4)))
          .ok());
  EXPECT_EQ(State().signals_7d[static_cast<int>(SignalKind::kBlockSpam)], 1);
}

TEST_F(EngineEventsTest, AnOldBlockCountsUntilItLeavesTheSevenDaysAndAnOlderOneNotAtAll) {
  ASSERT_TRUE(
      engine_->RecordSignal(kBiz, kCustomer, SignalKind::kBlockSpam, At(kT0 - absl::Hours(24 * 6)))
          .ok());
  ASSERT_TRUE(
      engine_->RecordSignal(kBiz, kCustomer, SignalKind::kBlockSpam, At(kT0 - absl::Hours(24 * 8)))
          .ok());
  EXPECT_EQ(State().signals_7d[static_cast<int>(SignalKind::kBlockSpam)], 1);
  EXPECT_GT(State().quality_score, 0);
  clock_.Advance(absl::Hours(24) + absl::Seconds(1));
  EXPECT_EQ(State().signals_7d[static_cast<int>(SignalKind::kBlockSpam)], 0);
}

TEST_F(EngineEventsTest, AFailureTiedToAnotherMessageLeavesTheSlotToTheAdmissionThatTookIt) {
  OutgoingMessage a = Template();
  a.message_id = "order-1";
  OutgoingMessage b = Template();
  b.message_id = "order-2";
  ASSERT_EQ(engine_->Check(a)->effect, ConversationEffect::kOpensBusinessInitiated);
  ASSERT_EQ(engine_->Check(b)->effect, ConversationEffect::kReusesBusinessInitiated);
  EventMeta failed_b;
  failed_b.message_id = "order-2";
  ASSERT_TRUE(engine_->RecordDeliveryFailed(kBiz, kCustomer, failed_b).ok());
  EXPECT_EQ(State().pending, 1) << "order-1 is still in flight and keeps its slot";
  // After a restart too (the slot keeps its message's key).
  PolicyEngine restored(DefaultProfile(), &clock_, nullptr, 4);
  ASSERT_TRUE(journal_.RestoreInto(restored).ok());
  ASSERT_TRUE(restored.RecordDeliveryFailed(kBiz, kCustomer, failed_b).ok());
  EXPECT_EQ(restored.GetNumberState(kBiz)->pending, 1);
  EventMeta failed_a;
  failed_a.message_id = "order-1";
  ASSERT_TRUE(restored.RecordDeliveryFailed(kBiz, kCustomer, failed_a).ok());
  EXPECT_EQ(restored.GetNumberState(kBiz)->used, 0) << "order-1's failure gives its slot back";
  // Without ids a failure gives the pending slot back, as before.
  ASSERT_TRUE(engine_->RecordDeliveryFailed(kBiz, kCustomer).ok());
  EXPECT_EQ(State().used, 0);
}

TEST_F(EngineEventsTest, ASweepKeepsAClosedWindowLongEnoughToClassifyALateDelivery) {
  ASSERT_TRUE(engine_->RecordInbound(kBiz, kCustomer, "hi").ok());  // Window [T0, T0+24h).
  clock_.Advance(absl::Hours(24) + absl::Seconds(1));
  ASSERT_TRUE(engine_->Sweep().ok());
  EXPECT_EQ(engine_->RecordDelivered(kBiz, kCustomer, At(kT0 + absl::Hours(20))).value(),
            DeliveryOutcome::kInUserConversation);
  EXPECT_EQ(State().used, 0);
}

TEST_F(EngineEventsTest, ADeliveryBeforeTheCustomersLatestMessageIsNotTakenForAReply) {
  ASSERT_TRUE(engine_->RecordInbound(kBiz, kCustomer, "hi").ok());  // At T0.
  EXPECT_EQ(engine_->RecordDelivered(kBiz, kCustomer, At(kT0 - absl::Hours(5))).value(),
            DeliveryOutcome::kStartedUnadmitted);
  EXPECT_EQ(State().recent_unique, 1);
}

TEST_F(EngineEventsTest, AStartMovedBackPastItsEndCountsTheWeekFromTheEarlierStart) {
  ASSERT_TRUE(engine_->Check(Template())->allowed);
  ASSERT_TRUE(engine_->RecordDelivered(kBiz, kCustomer).ok());  // Conversation from T0.
  clock_.Advance(absl::Hours(23));
  // Its first message, delivered 26 h ago, is reported now: it started then, and
  // that conversation has ended.
  ASSERT_TRUE(engine_->RecordDelivered(kBiz, kCustomer, At(kT0 - absl::Hours(3))).ok());
  EXPECT_EQ(State().used, 0);
  clock_.Set(kT0 - absl::Hours(3) + absl::Hours(24 * 7) + absl::Minutes(1));
  EXPECT_EQ(State().recent_unique, 0) << "counted from the earlier start, so it has left the week";
}

TEST_F(EngineEventsTest, ADeliveryOlderThanTheWeekConfirmsTheAdmissionAndLeavesTheWeekEmpty) {
  ASSERT_TRUE(engine_->Check(Template())->allowed);
  EXPECT_EQ(engine_->RecordDelivered(kBiz, kCustomer, At(kT0 - absl::Hours(24 * 8))).value(),
            DeliveryOutcome::kStartedConversation);
  NumberSnapshot s = State();
  EXPECT_EQ(s.pending, 0);
  EXPECT_EQ(s.recent_unique, 0);
}

TEST_F(EngineEventsTest, AnOptOutOlderThanTheOptInOnRecordDoesNotOverrideIt) {
  // The opt-in of SetUp is at kT0; an opt-out from an hour before arrives now.
  ASSERT_TRUE(engine_->RecordOptOut(kBiz, kCustomer, At(kT0 - absl::Hours(1))).ok());
  EXPECT_TRUE(engine_->GetConsent(kBiz, kCustomer)->opted_in());
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(engine_->RecordOptOut(kBiz, kCustomer).ok());
  EXPECT_TRUE(engine_->GetConsent(kBiz, kCustomer)->opted_out());
}

}  // namespace
}  // namespace wapolicy
