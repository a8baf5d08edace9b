// Campaign plans and reservations through the PolicyEngine facade
// (campaign_plan.h). The exactness tests plan a campaign, then run it
// through Check on the fake clock the way the plan assumes (each admitted
// message delivered at its send time) and compare: outcome and reason per
// customer, who goes at the start, exactly how many more are admitted at
// each schedule time, send times under throughput, and the upgrade.
#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "policy/campaign_plan.h"
#include "policy/policy_engine.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00Z
const PhoneNumber kBiz = Num("+14155550100");
// Indian mobiles: not exempt from the per-user marketing hold, not US.
PhoneNumber Cust(int i) { return PhoneNumber::FromDigitsValue(919800000000ULL + i); }
// US numbers (+1 415): no marketing templates.
PhoneNumber UsCust(int i) { return PhoneNumber::FromDigitsValue(14155551000ULL + i); }
int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }

class CampaignTest : public ::testing::Test {
 protected:
  // `platform_limit`: the platform's reported limit (upgrades then do not
  // raise the enforced one).
  void Make(PolicyProfile p, std::optional<int64_t> platform_limit = std::nullopt) {
    profile_ = p;
    engine_ = std::make_unique<PolicyEngine>(p, &clock_, &journal_, 4, 1 << 16);
    ASSERT_TRUE(engine_->UpsertBusiness("acme", true, false).ok());
    ASSERT_TRUE(engine_->RegisterNumber(kBiz, "acme", platform_limit).ok());
    MessageTemplate t{"promo", "en_US", TemplateCategory::kMarketing, TemplateStatus::kApproved};
    t.body = "Spring sale";
    t.footer = "Reply STOP to opt out";
    ASSERT_TRUE(engine_->PutTemplate("acme", t).ok());
  }
  void OptIn(PhoneNumber c, std::vector<std::string> topics = {}) {
    ASSERT_TRUE(engine_->RecordOptIn(kBiz, c, OptInSource::kWebsite, topics).ok());
  }
  OutgoingMessage Msg(PhoneNumber c, bool pace = true) {
    OutgoingMessage m;
    m.business_number = kBiz;
    m.customer = c;
    m.template_name = "promo";
    m.template_language = "en_US";
    m.pace = pace;
    return m;
  }
  // Someone else's conversation: admitted and delivered now.
  void Converse(PhoneNumber c) {
    OptIn(c);
    absl::StatusOr<Decision> d = engine_->Check(Msg(c));
    ASSERT_TRUE(d.ok() && d->allowed) << c.E164();
    ASSERT_TRUE(engine_->RecordDelivered(kBiz, c).ok());
  }
  CampaignRequest Req(int64_t start_us = 0) {
    CampaignRequest r;
    r.business_number = kBiz;
    r.template_name = "promo";
    r.template_language = "en_US";
    r.start_us = start_us;
    r.per_customer = true;
    return r;
  }
  CampaignPlan Plan(const std::vector<PhoneNumber>& customers, int64_t start_us = 0) {
    absl::StatusOr<CampaignPlan> plan = engine_->PlanCampaign(Req(start_us), customers);
    EXPECT_TRUE(plan.ok()) << plan.status();
    return plan.ok() ? *plan : CampaignPlan{};
  }
  NumberSnapshot State() { return engine_->GetNumberState(kBiz).value(); }

  // Runs the campaign through Check as the plan assumes and compares.
  void RunAsPlanned(const CampaignPlan& plan, const std::vector<PhoneNumber>& customers);

  ManualClock clock_{kT0};
  MemoryJournal journal_;
  PolicyProfile profile_;
  std::unique_ptr<PolicyEngine> engine_;
};

void CampaignTest::RunAsPlanned(const CampaignPlan& plan,
                                const std::vector<PhoneNumber>& customers) {
  ASSERT_EQ(plan.customer_plans.size(), customers.size());
  ASSERT_EQ(Us(clock_.Now()), plan.start_us);
  std::map<int64_t, std::vector<size_t>> admit_at;    // Waiters by the time they get a slot.
  std::map<int64_t, std::vector<size_t>> deliver_at;  // New conversations by send time.
  std::vector<size_t> waiters;
  // At the start: each customer's decision is the plan's.
  for (size_t i = 0; i < customers.size(); ++i) {
    const CampaignCustomer& c = plan.customer_plans[i];
    ASSERT_EQ(c.customer, customers[i].value());
    if (c.outcome == CampaignOutcome::kDuplicate) continue;
    absl::StatusOr<Decision> d = engine_->Check(Msg(customers[i]));
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(CampaignOutcomeOf(*d), c.outcome)
        << "customers[" << i << "]: " << ReasonCodeName(d->reason) << " " << d->detail;
    EXPECT_EQ(d->reason, c.reason) << "customers[" << i << "]";
    if (d->allowed) {
      const int64_t send_at = d->send_at == absl::InfinitePast() ? plan.start_us : Us(d->send_at);
      EXPECT_EQ(send_at, c.send_at_us) << "customers[" << i << "]";
      if (c.outcome == CampaignOutcome::kSendNow) deliver_at[c.send_at_us].push_back(i);
    } else if (c.outcome == CampaignOutcome::kWait) {
      ASSERT_NE(c.admit_at_us, 0) << "customers[" << i << "] unscheduled";
      admit_at[c.admit_at_us].push_back(i);
      waiters.push_back(i);
    } else if (d->retry_after != absl::InfinitePast()) {
      EXPECT_EQ(Us(d->retry_after), c.send_at_us) << "customers[" << i << "]";
    }
  }
  // The schedule's steps after the start's are the admission times, those
  // less than a step (1 s) after a step's first joining it.
  std::vector<std::pair<int64_t, int64_t>> steps, want;
  for (const auto& [t, who] : admit_at) {
    if (steps.empty() || t >= steps.back().first + kSecond) steps.push_back({t, 0});
    steps.back().second += static_cast<int64_t>(who.size());
  }
  const bool start_step = plan.count(CampaignOutcome::kSendNow) +
                              plan.count(CampaignOutcome::kInConversation) >
                          0;
  for (size_t s = start_step ? 1 : 0; s < plan.schedule.size(); ++s) {
    want.push_back({plan.schedule[s].at_us, plan.schedule[s].count});
  }
  EXPECT_EQ(steps, want);
  // Then time: at each instant, the waiters the plan admits then are
  // admitted (the next one is not), and the messages going then are delivered.
  std::set<int64_t> times;
  for (const auto& [t, who] : deliver_at) times.insert(t);
  for (const auto& [t, who] : admit_at) times.insert(t);
  for (const CampaignUpgrade& u : plan.upgrades) times.insert(u.applies_at_us);
  size_t next_waiter = 0;
  int64_t last = plan.start_us;
  while (!times.empty()) {
    const int64_t t = *times.begin();
    times.erase(times.begin());
    auto it = admit_at.find(t);
    if (it != admit_at.end() && t - 1 > last) {  // Not a moment earlier.
      clock_.Set(absl::FromUnixMicros(t - 1));
      absl::StatusOr<Decision> d = engine_->Check(Msg(customers[it->second.front()]));
      ASSERT_TRUE(d.ok());
      EXPECT_FALSE(d->allowed) << "customers[" << it->second.front() << "] admitted 1 us before +"
                               << (t - plan.start_us) / kSecond << " s";
    }
    clock_.Set(absl::FromUnixMicros(t));
    last = t;
    if (it != admit_at.end()) {
      for (size_t i : it->second) {
        ASSERT_EQ(i, waiters[next_waiter]) << "waiters are admitted in order";
        ++next_waiter;
        absl::StatusOr<Decision> d = engine_->Check(Msg(customers[i]));
        ASSERT_TRUE(d.ok() && d->allowed)
            << "customers[" << i << "] at +" << (t - plan.start_us) / kSecond << " s: "
            << (d.ok() ? d->detail : d.status().ToString());
        EXPECT_EQ(d->effect, ConversationEffect::kOpensBusinessInitiated);
        const int64_t send_at = d->send_at == absl::InfinitePast() ? t : Us(d->send_at);
        EXPECT_EQ(send_at, plan.customer_plans[i].send_at_us) << "customers[" << i << "]";
        deliver_at[send_at].push_back(i);
        if (send_at > t) times.insert(send_at);  // At t: delivered below.
      }
      if (next_waiter < waiters.size()) {  // Exactly that many: the next one waits.
        absl::StatusOr<Decision> d = engine_->Check(Msg(customers[waiters[next_waiter]]));
        ASSERT_TRUE(d.ok());
        EXPECT_FALSE(d->allowed) << "customers[" << waiters[next_waiter] << "] admitted at +"
                                 << (t - plan.start_us) / kSecond << " s, planned for +"
                                 << (plan.customer_plans[waiters[next_waiter]].admit_at_us -
                                     plan.start_us) /
                                        kSecond
                                 << " s";
        EXPECT_EQ(d->reason, ReasonCode::kLimitReached);
      }
    }
    if (auto it = deliver_at.find(t); it != deliver_at.end()) {
      for (size_t i : it->second) {
        absl::StatusOr<DeliveryOutcome> o = engine_->RecordDelivered(kBiz, customers[i]);
        ASSERT_TRUE(o.ok()) << o.status();
        EXPECT_EQ(*o, DeliveryOutcome::kStartedConversation);
      }
      deliver_at.erase(it);
    }
    // An upgrade the plan says was earned by now is scheduled as it says.
    for (const CampaignUpgrade& u : plan.upgrades) {
      if (u.earned_at_us != t) continue;
      const NumberSnapshot s = State();
      EXPECT_EQ(Us(s.pending_at), u.applies_at_us);
      EXPECT_EQ(s.pending_limit, u.limit_after);
    }
  }
  EXPECT_EQ(next_waiter, waiters.size());
}

// The brief's rules, rates off: a limit of 1,000 with earlier traffic, every
// kind of exclusion, duplicates, and the upgrade the campaign earns.
TEST_F(CampaignTest, APlanIsWhatCheckThenAnswersCustomerByCustomerAndStepByStep) {
  clock_.Set(kT0 - absl::Hours(12));
  Make(NoRates(DefaultProfile()));
  std::vector<PhoneNumber> customers;
  int next = 100000;
  // Earlier traffic: 100 conversations ending at +14 h, 50 at +22 h.
  clock_.Set(kT0 - absl::Hours(10));
  for (int i = 0; i < 100; ++i) Converse(Cust(next++));
  clock_.Set(kT0 - absl::Hours(2));
  for (int i = 0; i < 50; ++i) Converse(Cust(next++));
  // An hour before: five open conversations (in the campaign: free), and
  // five customers at the marketing cap (2 a day).
  clock_.Set(kT0 - absl::Hours(1));
  std::vector<PhoneNumber> open, capped;
  for (int i = 0; i < 5; ++i) {
    open.push_back(Cust(next++));
    Converse(open.back());
    capped.push_back(Cust(next++));
    Converse(capped.back());
    ASSERT_TRUE(engine_->Check(Msg(capped.back()))->allowed);  // The second marketing message.
  }
  clock_.Set(kT0);
  // Five who wrote: inside their service window (free, marketing consent).
  std::vector<PhoneNumber> wrote;
  for (int i = 0; i < 5; ++i) {
    wrote.push_back(Cust(next++));
    OptIn(wrote.back());
    ASSERT_TRUE(engine_->RecordInbound(kBiz, wrote.back(), "hi").ok());
  }
  std::vector<PhoneNumber> not_opted, opted_out, wrong_topic, held, stopped;
  for (int i = 0; i < 4; ++i) {
    not_opted.push_back(Cust(next++));
    opted_out.push_back(Cust(next++));
    OptIn(opted_out.back());
    ASSERT_TRUE(engine_->RecordOptOut(kBiz, opted_out.back()).ok());
    wrong_topic.push_back(Cust(next++));
    OptIn(wrong_topic.back(), {"orders"});
    held.push_back(Cust(next++));
    OptIn(held.back());
    ASSERT_TRUE(engine_->RecordDeliveryFailed(kBiz, held.back(), {}, 131049).ok());
    stopped.push_back(Cust(next++));
    OptIn(stopped.back());
    ASSERT_TRUE(engine_->RecordMarketingPreference(kBiz, stopped.back(), true).ok());
  }
  // 1,700 opted in, with the others mixed in and a few listed twice.
  for (int i = 0; i < 1700; ++i) {
    customers.push_back(Cust(i));
    OptIn(Cust(i));
    if (i % 100 == 7) {
      const std::vector<PhoneNumber>* groups[] = {&open, &capped, &wrote, &not_opted,
                                                   &opted_out, &wrong_topic, &held, &stopped};
      for (const auto* g : groups) {
        if (static_cast<size_t>(i / 100) < g->size()) customers.push_back((*g)[i / 100]);
      }
      customers.push_back(UsCust(i / 100));
      OptIn(UsCust(i / 100));
    }
    if (i % 250 == 3) customers.push_back(Cust(i - 2));  // Listed twice.
  }
  const NumberSnapshot before = State();
  ASSERT_EQ(before.used, 160);  // 100 + 50 + 5 + 5.
  ASSERT_EQ(before.limit, 1000);
  const int journal_commits = journal_.commits();
  const auto records = journal_.records();

  const CampaignPlan plan = Plan(customers);
  // A plan changes nothing.
  EXPECT_EQ(journal_.commits(), journal_commits);
  EXPECT_EQ(journal_.records(), records);
  EXPECT_EQ(State().used, 160);

  EXPECT_EQ(plan.customers, static_cast<int64_t>(customers.size()));
  EXPECT_EQ(plan.limit, 1000);
  EXPECT_EQ(plan.used, 160);
  EXPECT_EQ(plan.count(CampaignOutcome::kDuplicate), 7);
  EXPECT_EQ(plan.count(CampaignOutcome::kSendNow), 840);
  EXPECT_EQ(plan.count(CampaignOutcome::kInConversation), 10);  // Open + wrote.
  EXPECT_EQ(plan.count(CampaignOutcome::kWait), 1700 - 840);
  EXPECT_EQ(plan.count(CampaignOutcome::kFrequencyCapped), 5);
  EXPECT_EQ(plan.count(CampaignOutcome::kNotOptedIn), 4);
  EXPECT_EQ(plan.count(CampaignOutcome::kOptedOut), 8);  // Opted out, stopped marketing.
  EXPECT_EQ(plan.count(CampaignOutcome::kTopic), 4);
  EXPECT_EQ(plan.count(CampaignOutcome::kMarketingHeld), 4);
  EXPECT_EQ(plan.count(CampaignOutcome::kUsMarketing), 17);
  // The schedule: the start, then the earlier traffic's slots as they end
  // (+14 h: 100, +22 h: 50, +23 h: 10), then the upgrade to 10,000 the
  // campaign earns at the start applies at +24 h: everyone left.
  ASSERT_EQ(plan.schedule.size(), 5u);
  EXPECT_EQ(plan.schedule[0].at_us, Us(kT0));
  EXPECT_EQ(plan.schedule[0].count, 850);
  const std::vector<std::pair<absl::Duration, int64_t>> want = {{absl::Hours(14), 100},
                                                                {absl::Hours(22), 50},
                                                                {absl::Hours(23), 10},
                                                                {absl::Hours(24), 700}};
  for (size_t s = 0; s < want.size(); ++s) {
    EXPECT_EQ(plan.schedule[s + 1].at_us, Us(kT0 + want[s].first)) << s;
    EXPECT_EQ(plan.schedule[s + 1].count, want[s].second) << s;
  }
  EXPECT_EQ(plan.schedule[4].limit, 10000);
  EXPECT_EQ(plan.last_send_at_us, Us(kT0 + absl::Hours(24)));
  EXPECT_EQ(plan.unscheduled, 0);
  ASSERT_TRUE(plan.reaches_upgrade_threshold());
  ASSERT_EQ(plan.upgrades.size(), 1u);
  EXPECT_EQ(plan.upgrades[0].earned_at_us, Us(kT0));
  EXPECT_EQ(plan.upgrades[0].applies_at_us, Us(kT0 + absl::Hours(24)));
  EXPECT_EQ(plan.upgrades[0].limit_before, 1000);
  EXPECT_EQ(plan.upgrades[0].limit_after, 10000);

  RunAsPlanned(plan, customers);
}

// A platform-reported limit of 20: upgrades do not raise it, so the
// campaign's own slots come back day after day.
TEST_F(CampaignTest, WithTheLimitFixedTheCampaignsOwnSlotsComeBackEachDay) {
  clock_.Set(kT0 - absl::Hours(6));
  Make(NoRates(DefaultProfile()), 20);
  for (int i = 0; i < 5; ++i) Converse(Cust(1000 + i));  // End at +18 h.
  clock_.Set(kT0);
  std::vector<PhoneNumber> customers;
  for (int i = 0; i < 50; ++i) {
    customers.push_back(Cust(i));
    OptIn(Cust(i));
  }
  const CampaignPlan plan = Plan(customers);
  EXPECT_EQ(plan.count(CampaignOutcome::kSendNow), 15);
  EXPECT_EQ(plan.count(CampaignOutcome::kWait), 35);
  const std::vector<std::pair<absl::Duration, int64_t>> want = {{absl::ZeroDuration(), 15},
                                                                {absl::Hours(18), 5},
                                                                {absl::Hours(24), 15},
                                                                {absl::Hours(42), 5},
                                                                {absl::Hours(48), 10}};
  ASSERT_EQ(plan.schedule.size(), want.size());
  for (size_t s = 0; s < want.size(); ++s) {
    EXPECT_EQ(plan.schedule[s].at_us, Us(kT0 + want[s].first)) << s;
    EXPECT_EQ(plan.schedule[s].count, want[s].second) << s;
    EXPECT_EQ(plan.schedule[s].limit, 20);
  }
  EXPECT_EQ(plan.last_send_at_us, Us(kT0 + absl::Hours(48)));
  EXPECT_FALSE(plan.reaches_upgrade_threshold());
  RunAsPlanned(plan, customers);
}

// Throughput and pair rate on (80 messages a second): the plan's send times
// are the paced checks' send times, at the start and as slots free.
TEST_F(CampaignTest, UnderThroughputSendTimesAreThePacedChecksSendTimes) {
  PolicyProfile p = DefaultProfile();
  p.frequency_cap_per_day = p.marketing_cap_per_day = 0;
  clock_.Set(kT0 - absl::Seconds(10));
  Make(p, 100);
  // A customer who had a burst of 20 messages ten seconds ago: the pair
  // rate holds the next until the borrowed time is repaid (+110 s).
  ASSERT_TRUE(engine_->RecordOptIn(kBiz, Cust(99), OptInSource::kWebsite).ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(engine_->Check(Msg(Cust(99)))->allowed) << i;
  ASSERT_TRUE(engine_->RecordDeliveryFailed(kBiz, Cust(99)).ok());  // Its slot back.
  clock_.Set(kT0);
  std::vector<PhoneNumber> customers;
  for (int i = 0; i < 230; ++i) {
    customers.push_back(Cust(i));
    OptIn(Cust(i));
  }
  const CampaignPlan plan = Plan(customers);
  EXPECT_EQ(plan.throughput_mps, 80);
  EXPECT_EQ(plan.count(CampaignOutcome::kSendNow), 100);
  EXPECT_EQ(plan.count(CampaignOutcome::kWait), 130);
  // The first 80 go at once, then one every 12.5 ms (the throughput's
  // carry-over from the burst above has been repaid by the start).
  EXPECT_EQ(plan.customer_plans[79].send_at_us, Us(kT0));
  EXPECT_EQ(plan.customer_plans[98].send_at_us, Us(kT0) + 19 * 12500);
  EXPECT_EQ(plan.customer_plans[99].send_at_us, Us(kT0 + absl::Seconds(110)));
  EXPECT_EQ(plan.last_send_at_us, plan.customer_plans.back().send_at_us);
  RunAsPlanned(plan, customers);
}

// The platform's 2025 rules: the limit is the portfolio's, so another
// number's conversations take its slots, and the upgrade applies 6 h later.
TEST_F(CampaignTest, UnderPortfolioLimitsThePlanCountsEveryNumbersSlots) {
  Make(NoRates(Portfolio2025Profile()));
  const PhoneNumber other = Num("+14155550101");
  ASSERT_TRUE(engine_->RegisterNumber(other, "acme").ok());
  for (int i = 0; i < 100; ++i) {  // On the other number: the same pool.
    OptIn(Cust(5000 + i));
    OutgoingMessage m = Msg(Cust(5000 + i));
    m.business_number = other;
    ASSERT_TRUE(engine_->Check(m)->allowed);
    ASSERT_TRUE(engine_->RecordDelivered(other, Cust(5000 + i)).ok());
  }
  std::vector<PhoneNumber> customers;
  for (int i = 0; i < 2500; ++i) {
    customers.push_back(Cust(i));
    OptIn(Cust(i));
  }
  const CampaignPlan plan = Plan(customers);
  EXPECT_EQ(plan.limit, 2000);
  EXPECT_EQ(plan.used, 100);
  EXPECT_EQ(plan.count(CampaignOutcome::kSendNow), 1900);
  EXPECT_EQ(plan.count(CampaignOutcome::kWait), 600);
  ASSERT_EQ(plan.upgrades.size(), 1u);
  EXPECT_EQ(plan.upgrades[0].applies_at_us, Us(kT0 + absl::Hours(6)));
  EXPECT_EQ(plan.upgrades[0].limit_after, 10000);
  ASSERT_EQ(plan.schedule.size(), 2u);
  EXPECT_EQ(plan.schedule[1].at_us, Us(kT0 + absl::Hours(6)));
  EXPECT_EQ(plan.schedule[1].count, 600);
  RunAsPlanned(plan, customers);
}

TEST_F(CampaignTest, APlanForALaterStartIsThePlanMadeThen) {
  clock_.Set(kT0 - absl::Hours(6));
  Make(NoRates(DefaultProfile()), 20);
  for (int i = 0; i < 5; ++i) Converse(Cust(1000 + i));  // End at +18 h.
  clock_.Set(kT0 - absl::Minutes(5));
  for (int i = 0; i < 3; ++i) {  // Admitted, not yet delivered: assumed delivered now.
    OptIn(Cust(2000 + i));
    ASSERT_TRUE(engine_->Check(Msg(Cust(2000 + i)))->allowed);
  }
  clock_.Set(kT0);
  std::vector<PhoneNumber> customers;
  for (int i = 0; i < 40; ++i) {
    customers.push_back(Cust(i));
    OptIn(Cust(i));
  }
  customers.push_back(Cust(2001));  // Its pending slot, assumed delivered: open at +20 h.
  const int64_t start = Us(kT0 + absl::Hours(20));
  const CampaignPlan ahead = Plan(customers, start);
  EXPECT_EQ(ahead.start_us, start);
  EXPECT_EQ(ahead.used, 3);  // The five ended at +18 h; the three pending ones hold.
  EXPECT_EQ(ahead.count(CampaignOutcome::kSendNow), 17);
  EXPECT_EQ(ahead.count(CampaignOutcome::kInConversation), 1);
  // Deliver the pending ones as assumed, then plan again at the start.
  for (int i = 0; i < 3; ++i) {
    EventMeta at;
    at.occurred_at_us = Us(kT0 - absl::Minutes(5));
    ASSERT_TRUE(engine_->RecordDelivered(kBiz, Cust(2000 + i), at).ok());
  }
  clock_.Set(absl::FromUnixMicros(start));
  const CampaignPlan then = Plan(customers);
  EXPECT_EQ(then.used, ahead.used);
  EXPECT_EQ(then.counts, ahead.counts);
  ASSERT_EQ(then.schedule.size(), ahead.schedule.size());
  for (size_t s = 0; s < then.schedule.size(); ++s) {
    EXPECT_EQ(then.schedule[s].at_us, ahead.schedule[s].at_us) << s;
    EXPECT_EQ(then.schedule[s].count, ahead.schedule[s].count) << s;
  }
  RunAsPlanned(then, customers);
}

// The platform restricted business-initiated messaging for two hours: new
// conversations wait for the restriction's end (and then for slots), open
// ones go now.
TEST_F(CampaignTest, UnderThePlatformsRestrictionNewConversationsWaitForItsEnd) {
  Make(NoRates(DefaultProfile()), 10);
  Converse(Cust(500));  // Open: free now.
  PlatformReport r;
  r.restricted_until_us = Us(kT0 + absl::Hours(2));
  ASSERT_TRUE(engine_->SyncNumber(kBiz, r).ok());
  std::vector<PhoneNumber> customers = {Cust(500)};
  for (int i = 0; i < 12; ++i) {
    customers.push_back(Cust(i));
    OptIn(Cust(i));
  }
  const CampaignPlan plan = Plan(customers);
  EXPECT_EQ(plan.count(CampaignOutcome::kInConversation), 1);
  EXPECT_EQ(plan.count(CampaignOutcome::kWait), 12);
  EXPECT_EQ(plan.customer_plans[1].reason, ReasonCode::kAccountRestricted);
  ASSERT_EQ(plan.schedule.size(), 4u);
  EXPECT_EQ(plan.schedule[1].at_us, Us(kT0 + absl::Hours(2)));
  EXPECT_EQ(plan.schedule[1].count, 9);  // The limit of 10, one held by Cust(500).
  EXPECT_EQ(plan.schedule[2].at_us, Us(kT0 + absl::Hours(24)));
  EXPECT_EQ(plan.schedule[2].count, 1);  // Cust(500)'s slot.
  EXPECT_EQ(plan.schedule[3].at_us, Us(kT0 + absl::Hours(26)));
  EXPECT_EQ(plan.schedule[3].count, 2);  // The first nine's.
  RunAsPlanned(plan, customers);
}

TEST_F(CampaignTest, BadInputIsRefusedNamingTheField) {
  Make(NoRates(DefaultProfile()));
  CampaignRequest r = Req();
  std::vector<PhoneNumber> customers = {Cust(1), PhoneNumber(), Cust(2)};
  absl::StatusOr<CampaignPlan> plan = engine_->PlanCampaign(r, customers);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("customers[1]"), std::string::npos) << plan.status();
  r.template_name.clear();
  EXPECT_EQ(engine_->PlanCampaign(r, {Cust(1)}).status().code(),
            absl::StatusCode::kInvalidArgument);
  r = Req(Us(kT0 + absl::Hours(24 * 400)));
  plan = engine_->PlanCampaign(r, {Cust(1)});
  EXPECT_NE(plan.status().message().find("start"), std::string::npos) << plan.status();
  r = Req();
  r.business_number = Num("+14155550199");
  EXPECT_EQ(engine_->PlanCampaign(r, {Cust(1)}).status().code(), absl::StatusCode::kNotFound);
  // An unknown template: every customer excluded, nothing crashes.
  r = Req();
  r.template_name = "nope";
  plan = engine_->PlanCampaign(r, {Cust(1), Cust(2)});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->count(CampaignOutcome::kTemplate), 2);
  EXPECT_TRUE(plan->schedule.empty());
}

// --- Reservations -------------------------------------------------------------

TEST_F(CampaignTest, AReservationAdmitsAllInOneWriteOrNone) {
  Make(NoRates(DefaultProfile()), 20);
  std::vector<PhoneNumber> customers;
  for (int i = 0; i < 25; ++i) {
    customers.push_back(Cust(i));
    OptIn(Cust(i));
  }
  const CampaignPlan plan = Plan(customers);
  ASSERT_EQ(plan.count(CampaignOutcome::kSendNow), 20);

  // More than the free slots: none is taken.
  absl::StatusOr<CampaignReservation> r = engine_->ReserveCampaign(Req(), customers);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("5 of 25"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("customers[20] +919800000020: LIMIT_REACHED"),
            std::string::npos)
      << r.status();
  EXPECT_EQ(State().used, 0);
  // One not opted in: none is taken either.
  std::vector<PhoneNumber> with_stranger(customers.begin(), customers.begin() + 10);
  with_stranger.push_back(Cust(999));
  r = engine_->ReserveCampaign(Req(), with_stranger);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("customers[10] +919800000999: NOT_OPTED_IN"),
            std::string::npos)
      << r.status();
  EXPECT_EQ(State().used, 0);
  // Listed twice: bad input.
  r = engine_->ReserveCampaign(Req(), {Cust(1), Cust(2), Cust(1)});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("customers[2]"), std::string::npos) << r.status();

  // The first 20 of the plan: all taken, in one journal write.
  const int commits = journal_.commits();
  std::vector<PhoneNumber> first(customers.begin(), customers.begin() + 20);
  r = engine_->ReserveCampaign(Req(), first);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->reserved, 20);
  EXPECT_EQ(r->used, 20);
  EXPECT_EQ(r->send_at_us.size(), 20u);
  EXPECT_EQ(r->slots_held_until_us, Us(kT0 + absl::Minutes(15)));
  EXPECT_EQ(journal_.commits(), commits + 1);
  EXPECT_EQ(State().used, 20);
  EXPECT_EQ(State().pending, 20);
  // The rest now waits, as a new plan says.
  EXPECT_EQ(Plan(customers).count(CampaignOutcome::kWait), 5);
  // Again for the same customers: inside their (pending) conversations, free.
  r = engine_->ReserveCampaign(Req(), first);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->reserved, 0);
  EXPECT_EQ(r->in_conversation, 20);

  // Reservations expire like single admissions: the delivered keep their
  // slot, the others return after the reservation timeout.
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(engine_->RecordDelivered(kBiz, Cust(i)).ok());
  clock_.Advance(absl::Minutes(15));
  EXPECT_EQ(State().used, 8);
  EXPECT_EQ(State().pending, 0);
  // And it is all in the journal: an engine rebuilt from it agrees.
  PolicyEngine restored(profile_, &clock_, nullptr, 4, 1 << 16);
  ASSERT_TRUE(journal_.RestoreInto(restored).ok());
  EXPECT_EQ(restored.GetNumberState(kBiz)->used, 8);
}

TEST_F(CampaignTest, ReservationsAreAtomicUnderConcurrency) {
  // Two campaigns on one number of limit 1,000 wanting 700 each, 100
  // customers in both; 8 threads reserve them in chunks of 50, racing.
  PolicyProfile p = NoRates(DefaultProfile());
  p.frequency_cap_per_day = p.marketing_cap_per_day = 0;  // Shared customers get two.
  Make(p);
  constexpr int kChunk = 50;
  std::vector<std::vector<PhoneNumber>> chunks;  // 0-13: campaign A, 14-27: B.
  for (int campaign = 0; campaign < 2; ++campaign) {
    for (int k = 0; k < 14; ++k) {
      std::vector<PhoneNumber> chunk;
      for (int j = 0; j < kChunk; ++j) {
        // B's first two chunks are A's last two: the shared customers.
        const int i = campaign == 0 ? k * kChunk + j : 600 + k * kChunk + j;
        chunk.push_back(Cust(i));
      }
      chunks.push_back(chunk);
    }
  }
  for (int i = 0; i < 1300; ++i) OptIn(Cust(i));
  std::vector<int> result(chunks.size(), -1);  // 1 reserved, 0 refused.
  std::atomic<int> next_a{0}, next_b{14};
  std::atomic<int> other_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::atomic<int>& next = t % 2 == 0 ? next_a : next_b;
      const int end = t % 2 == 0 ? 14 : 28;
      for (int k = next++; k < end; k = next++) {
        absl::StatusOr<CampaignReservation> r = engine_->ReserveCampaign(Req(), chunks[k]);
        if (r.ok()) {
          result[k] = 1;
          if (r->reserved + r->in_conversation != kChunk) other_errors++;
          if (r->used > 1000) other_errors++;
        } else if (r.status().code() == absl::StatusCode::kFailedPrecondition) {
          result[k] = 0;
        } else {
          other_errors++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other_errors.load(), 0);
  std::set<uint64_t> holding;
  int refused = 0;
  for (size_t k = 0; k < chunks.size(); ++k) {
    ASSERT_NE(result[k], -1) << k;
    if (result[k] == 0) ++refused;
    if (result[k] == 1) {
      for (PhoneNumber c : chunks[k]) holding.insert(c.value());
    }
  }
  EXPECT_GT(refused, 0) << "the campaigns together want more than the limit";
  const NumberSnapshot s = State();
  EXPECT_LE(s.used, 1000);
  EXPECT_EQ(s.used, static_cast<int64_t>(holding.size())) << "a refused reservation took slots";
  // Each customer holds a slot exactly when a reservation of theirs succeeded.
  for (int i = 0; i < 1300; ++i) {
    OutgoingMessage m = Msg(Cust(i));
    m.dry_run = true;
    const Decision d = engine_->Check(m).value();
    const bool holds = d.allowed && d.effect == ConversationEffect::kReusesBusinessInitiated;
    EXPECT_EQ(holds, holding.count(Cust(i).value()) == 1) << i;
  }
}

}  // namespace
}  // namespace wapolicy
