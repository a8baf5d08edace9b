// The per-second limits through the PolicyEngine facade (rate_limits.h):
// throughput per number, pair rate per customer, pacing, and exactness
// under concurrency.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "policy/policy_engine.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00Z
const PhoneNumber kBiz = Num("+14155550100");
PhoneNumber Customer(int i) { return PhoneNumber::FromDigitsValue(447700000000ULL + i); }

class EngineRatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PolicyProfile p = DefaultProfile();
    p.frequency_cap_per_day = 0;  // Caps are tested elsewhere.
    p.marketing_cap_per_day = 0;
    engine_ = std::make_unique<PolicyEngine>(p, &clock_, nullptr, 4, 1 << 16);
    ASSERT_TRUE(engine_->UpsertBusiness("acme", true, false).ok());
    ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme", 100000).ok());
    MessageTemplate t{"order_update", "en_US", TemplateCategory::kUtility,
                      TemplateStatus::kApproved};
    ASSERT_TRUE(engine_->PutTemplate("acme", t).ok());
  }
  OutgoingMessage Template(int i) {
    EXPECT_TRUE(engine_->RecordOptIn(kBiz, Customer(i), OptInSource::kSms).ok());
    OutgoingMessage m;
    m.business_number = kBiz;
    m.customer = Customer(i);
    m.template_name = "order_update";
    m.template_language = "en_US";
    return m;
  }
  OutgoingMessage Reply(int i) {
    OutgoingMessage m;
    m.business_number = kBiz;
    m.customer = Customer(i);
    m.kind = MessageKind::kSession;
    return m;
  }

  ManualClock clock_{kT0};
  std::unique_ptr<PolicyEngine> engine_;
};

TEST_F(EngineRatesTest, The80thMessageInASecondGoesAndThe81stWaitsTwelveAndAHalfMilliseconds) {
  for (int i = 0; i < 80; ++i) ASSERT_TRUE(engine_->Check(Template(i))->allowed) << i;
  Decision d = engine_->Check(Template(80)).value();
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kThroughputLimited);
  EXPECT_EQ(PlatformErrorCode(d.reason), 130429);
  EXPECT_EQ(d.retry_after, kT0 + absl::Microseconds(12500));
  EXPECT_EQ(engine_->GetNumberState(kBiz)->used, 80) << "a held message takes no slot";
  clock_.Advance(absl::Microseconds(12500));
  EXPECT_TRUE(engine_->Check(Template(80))->allowed);
}

TEST_F(EngineRatesTest, InboundMessagesCountTowardTheThroughput) {
  for (int i = 0; i < 80; ++i) ASSERT_TRUE(engine_->RecordInbound(kBiz, Customer(i), "hi").ok());
  EXPECT_EQ(engine_->Check(Reply(0))->reason, ReasonCode::kThroughputLimited);
}

TEST_F(EngineRatesTest, ThePlatformsThroughputUpgradeLetsAThousandGoInASecond) {
  PlatformReport r;
  r.throughput_mps = 1000;
  ASSERT_TRUE(engine_->SyncNumber(kBiz, r).ok());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(engine_->Check(Template(i))->allowed) << i;
  EXPECT_EQ(engine_->Check(Template(1000))->reason, ReasonCode::kThroughputLimited);
}

TEST_F(EngineRatesTest, APacedBatchOfTenThousandIsAnsweredInOneCallWithSendTimesAtTheRate) {
  std::vector<OutgoingMessage> batch;
  for (int i = 0; i < 10000; ++i) {
    batch.push_back(Template(i));
    batch.back().pace = true;
  }
  std::vector<absl::StatusOr<Decision>> out = engine_->CheckBatch(batch);
  ASSERT_EQ(out.size(), 10000u);
  for (int i = 0; i < 80; ++i) EXPECT_EQ(out[i]->send_at, absl::InfinitePast()) << "now";
  for (int i = 80; i < 10000; ++i) {
    ASSERT_TRUE(out[i]->allowed) << i;
    ASSERT_EQ(out[i]->send_at, kT0 + (i - 79) * absl::Microseconds(12500)) << i;
  }
  // The slots are kept: an unpaced check now waits behind them all.
  Decision d = engine_->Check(Template(10000)).value();
  EXPECT_EQ(d.reason, ReasonCode::kThroughputLimited);
  EXPECT_EQ(d.retry_after, kT0 + 9921 * absl::Microseconds(12500));
}

TEST_F(EngineRatesTest, FortyFiveToOneCustomerInABurstThenTheyWaitForTheBorrowedTime) {
  ASSERT_TRUE(engine_->RecordInbound(kBiz, Customer(1), "hi").ok());
  for (int i = 0; i < 45; ++i) {
    ASSERT_TRUE(engine_->Check(Reply(1))->allowed) << i;
    clock_.Advance(absl::Milliseconds(100));  // Stay under the throughput.
  }
  Decision d = engine_->Check(Reply(1)).value();
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, ReasonCode::kPairRateLimited);
  EXPECT_EQ(PlatformErrorCode(d.reason), 131056);
  EXPECT_EQ(d.retry_after, kT0 + absl::Seconds(45 * 6));
  EXPECT_TRUE(engine_->Check(Template(2))->allowed) << "another customer is not held";
  clock_.Set(kT0 + absl::Seconds(45 * 6));
  EXPECT_TRUE(engine_->Check(Reply(1))->allowed);
  clock_.Advance(absl::Seconds(6));
  EXPECT_TRUE(engine_->Check(Reply(1))->allowed) << "then one per 6 s";
}

TEST_F(EngineRatesTest, ADryRunTakesNoSlot) {
  for (int i = 0; i < 200; ++i) {
    OutgoingMessage m = Template(i);
    m.dry_run = true;
    ASSERT_TRUE(engine_->Check(m)->allowed) << i;
  }
  EXPECT_TRUE(engine_->Check(Template(0))->allowed);
}

TEST_F(EngineRatesTest, EightThreadsTogetherNeverPassTheRate) {
  std::atomic<int> allowed{0}, limited{0};
  std::vector<OutgoingMessage> messages;
  for (int i = 0; i < 8 * 50; ++i) messages.push_back(Template(i));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        Decision d = engine_->Check(messages[t * 50 + i]).value();
        if (d.allowed) ++allowed;
        if (d.reason == ReasonCode::kThroughputLimited) ++limited;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 80);
  EXPECT_EQ(limited.load(), 8 * 50 - 80);
}

TEST_F(EngineRatesTest, StateShowsThroughputUseAndCustomersInABurst) {
  NumberSnapshot s = engine_->GetNumberState(kBiz).value();
  EXPECT_EQ(s.throughput_limit_mps, 80);
  EXPECT_EQ(s.throughput_used, 0);
  EXPECT_EQ(s.throughput_free_at, absl::InfinitePast());
  EXPECT_EQ(s.pairs_in_burst, 0);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(engine_->Check(Template(i))->allowed) << i;
  // Customer 0 gets a burst of 45 in all: held after that.
  for (int k = 0; k < 44; ++k) {
    clock_.Advance(absl::Milliseconds(13));
    ASSERT_TRUE(engine_->Check(Template(0))->allowed) << k;
  }
  ASSERT_EQ(engine_->Check(Template(0))->reason, ReasonCode::kPairRateLimited);
  s = engine_->GetNumberState(kBiz).value();
  EXPECT_EQ(s.pairs_in_burst, 30);
  EXPECT_EQ(s.pairs_held, 1);
  // 74 messages in 572 ms: the GCRA has paid off 45 of them.
  EXPECT_GT(s.throughput_used, 20);
  EXPECT_LT(s.throughput_used, 80);
  EXPECT_EQ(s.throughput_free_at, absl::InfinitePast()) << "room left in this second";
  for (int i = 30; i < 200 && engine_->Check(Template(i))->allowed; ++i) {
  }
  s = engine_->GetNumberState(kBiz).value();
  EXPECT_EQ(s.throughput_used, 80);
  EXPECT_GT(s.throughput_free_at, kT0);
  clock_.Advance(absl::Minutes(10));  // Every pair is idle, the second long past.
  s = engine_->GetNumberState(kBiz).value();
  EXPECT_EQ(s.pairs_in_burst, 0);
  EXPECT_EQ(s.pairs_held, 0);
  EXPECT_EQ(s.throughput_used, 0);
  // The platform's word sets the enforced throughput.
  PlatformReport r;
  r.throughput_mps = 20;
  ASSERT_TRUE(engine_->SyncNumber(kBiz, r).ok());
  EXPECT_EQ(engine_->GetNumberState(kBiz)->throughput_limit_mps, 20);
}

TEST_F(EngineRatesTest, StateShowsMarketingHoldsAndPausedTemplates) {
  MessageTemplate promo{"promo", "en_US", TemplateCategory::kMarketing, TemplateStatus::kApproved};
  promo.footer = "Reply STOP to opt out";
  ASSERT_TRUE(engine_->PutTemplate("acme", promo).ok());
  MessageTemplate old{"old", "de", TemplateCategory::kUtility, TemplateStatus::kDisabled};
  ASSERT_TRUE(engine_->PutTemplate("acme", old).ok());
  // Customers +1 416 555 01xx (Canada: the hold applies), one an hour.
  for (int i = 0; i < 12; ++i) {
    const PhoneNumber c = PhoneNumber::FromDigitsValue(14165550100ULL + i);
    ASSERT_TRUE(engine_->RecordDeliveryFailed(kBiz, c, {}, 131049).ok());
    clock_.Advance(absl::Hours(1));
  }
  // Exempt (UK): no hold.
  ASSERT_TRUE(engine_->RecordDeliveryFailed(kBiz, Customer(1), {}, 131049).ok());
  ASSERT_TRUE(engine_->UpdateTemplateQuality("acme", "promo", "en_US", TemplateQuality::kRed).ok());
  NumberSnapshot s = engine_->GetNumberState(kBiz).value();
  EXPECT_EQ(s.marketing_holds, 12);
  ASSERT_EQ(s.first_marketing_holds.size(), 10u);
  EXPECT_EQ(s.first_marketing_holds[0].customer, Num("+14165550100"));
  EXPECT_EQ(s.first_marketing_holds[0].until, kT0 + absl::Hours(24));
  EXPECT_EQ(s.first_marketing_holds[9].until, kT0 + absl::Hours(33));
  ASSERT_EQ(s.paused_templates.size(), 2u);
  EXPECT_EQ(s.paused_templates[0].name, "old");
  EXPECT_TRUE(s.paused_templates[0].disabled);
  EXPECT_EQ(s.paused_templates[0].until, absl::InfinitePast());
  EXPECT_EQ(s.paused_templates[1].name, "promo");
  EXPECT_EQ(s.paused_templates[1].until, kT0 + absl::Hours(12 + 3));
  // 24 h after the first failure its hold lapses; the pause has ended too.
  clock_.Advance(absl::Hours(12));
  s = engine_->GetNumberState(kBiz).value();
  EXPECT_EQ(s.marketing_holds, 11);
  EXPECT_EQ(s.first_marketing_holds[0].customer, Num("+14165550101"));
  ASSERT_EQ(s.paused_templates.size(), 1u);
  clock_.Advance(absl::Hours(12));
  EXPECT_EQ(engine_->GetNumberState(kBiz)->marketing_holds, 0);
}

// A customer's pair rate rides in their consent for one number of the
// business; another number's is kept apart, and takes the consent's place
// once the first is idle.
TEST_F(EngineRatesTest, EachNumberOfABusinessHasItsOwnPairRateWithACustomer) {
  const PhoneNumber other = Num("+14155550199");
  ASSERT_TRUE(engine_->RegisterNumber(other, "acme").ok());
  OutgoingMessage from_first = Template(7);
  ASSERT_TRUE(engine_->RecordInbound(other, Customer(7), "hi").ok());
  OutgoingMessage from_other = Reply(7);
  from_other.business_number = other;
  for (int round = 0; round < 2; ++round) {
    for (const OutgoingMessage& m : {from_first, from_other}) {
      for (int k = 0; k < 45; ++k) {
        clock_.Advance(absl::Milliseconds(13));
        ASSERT_TRUE(engine_->Check(m)->allowed) << round << " " << k;
      }
      EXPECT_EQ(engine_->Check(m)->reason, ReasonCode::kPairRateLimited);
    }
    EXPECT_EQ(engine_->GetNumberState(kBiz)->pairs_held, 1);
    EXPECT_EQ(engine_->GetNumberState(other)->pairs_held, 1);
    clock_.Advance(absl::Minutes(5));  // Both repaid (45 * 6 s): idle again.
    EXPECT_EQ(engine_->GetNumberState(kBiz)->pairs_in_burst, 0);
    EXPECT_EQ(engine_->GetNumberState(other)->pairs_in_burst, 0);
    std::swap(from_first, from_other);  // The other number first this time.
    ASSERT_TRUE(engine_->RecordInbound(other, Customer(7), "hi").ok());
  }
}

}  // namespace
}  // namespace wapolicy
