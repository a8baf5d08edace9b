// Regression tests for the defects a review of the engine found; each fails
// on the engine before the rule-family split.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "policy/policy_engine.h"
#include "policy/record_codec.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00Z
const PhoneNumber kBiz = Num("+14155550100");
PhoneNumber Customer(int i) { return PhoneNumber::FromDigitsValue(447700000000ULL + i); }

OutgoingMessage Template(PhoneNumber c, absl::string_view name = "order_update") {
  OutgoingMessage m;
  m.business_number = kBiz;
  m.customer = c;
  m.template_name = std::string(name);
  m.template_language = "en_US";
  return m;
}

TEST(EngineDefects, RegisterWithWrongBusinessLeavesNoTraceAndUsesNoCapacity) {
  ManualClock clock(kT0);
  PolicyEngine engine(DefaultProfile(), &clock, nullptr, /*shards=*/4, /*max_numbers=*/1);
  ASSERT_TRUE(engine.UpsertBusiness("acme", true, false).ok());
  EXPECT_EQ(engine.RegisterNumber(kBiz, "acme-typo").code(), absl::StatusCode::kNotFound);
  // The correct registration works at once, within max_numbers = 1.
  EXPECT_TRUE(engine.RegisterNumber(kBiz, "acme").ok());
  EXPECT_EQ(*engine.BusinessOf(kBiz), "acme");
}

TEST(EngineDefects, TopicsArePerBusinessSoOneTenantCannotExhaustAnother) {
  ManualClock clock(kT0);
  PolicyEngine engine(DefaultProfile(), &clock, nullptr, /*shards=*/1);  // One shared shard.
  const PhoneNumber other = Num("+14155550199");
  ASSERT_TRUE(engine.UpsertBusiness("a", true, false).ok());
  ASSERT_TRUE(engine.UpsertBusiness("b", true, false).ok());
  ASSERT_TRUE(engine.RegisterNumber(kBiz, "a").ok());
  ASSERT_TRUE(engine.RegisterNumber(other, "b").ok());
  for (int i = 0; i < kMaxTopics; ++i) {
    std::vector<std::string> t = {absl::StrCat("topic_", i)};
    ASSERT_TRUE(engine.RecordOptIn(kBiz, Customer(i), OptInSource::kWebsite, t).ok()) << i;
  }
  std::vector<std::string> more = {"one_more"};
  EXPECT_EQ(engine.RecordOptIn(kBiz, Customer(99), OptInSource::kWebsite, more).code(),
            absl::StatusCode::kResourceExhausted);
  // Business b has its own table.
  EXPECT_TRUE(engine.RecordOptIn(other, Customer(1), OptInSource::kWebsite, more).ok());
  EXPECT_EQ(*engine.ConsentTopics(other, Customer(1)), std::vector<std::string>{"one_more"});
}

TEST(EngineDefects, RestartLoadsTopicOptInsOfTwoThousandBusinesses) {
  ManualClock clock(kT0);
  MemoryJournal journal;
  {
    PolicyEngine engine(DefaultProfile(), &clock, &journal, 16, 4096);
    for (int b = 0; b < 2000; ++b) {
      const std::string id = absl::StrCat("biz", b);
      const PhoneNumber n = PhoneNumber::FromDigitsValue(14155000000ULL + b);
      ASSERT_TRUE(engine.UpsertBusiness(id, true, false).ok());
      ASSERT_TRUE(engine.RegisterNumber(n, id).ok());
      std::vector<std::string> t = {absl::StrCat("topic_of_", b)};
      ASSERT_TRUE(engine.RecordOptIn(n, Customer(b), OptInSource::kSms, t).ok());
    }
  }
  PolicyEngine restored(DefaultProfile(), &clock, nullptr, 16, 4096);
  ASSERT_TRUE(journal.RestoreInto(restored).ok());
  for (int b : {0, 777, 1999}) {
    const PhoneNumber n = PhoneNumber::FromDigitsValue(14155000000ULL + b);
    EXPECT_EQ(*restored.ConsentTopics(n, Customer(b)),
              std::vector<std::string>{absl::StrCat("topic_of_", b)});
  }
}

// A journal whose writes become durable only when the test says so, and
// which records every ticket a caller waits for.
class HeldJournal : public StateJournal {
 public:
  uint64_t Append(StateChanges) override {
    std::lock_guard<std::mutex> lock(mu_);
    return ++appended_;
  }
  absl::Status Await(uint64_t ticket) override {
    std::unique_lock<std::mutex> lock(mu_);
    awaited_.push_back(ticket);
    changed_.notify_all();
    changed_.wait(lock, [&] { return durable_ >= ticket; });
    return absl::OkStatus();
  }
  void MakeDurable(uint64_t upto) {
    std::lock_guard<std::mutex> lock(mu_);
    durable_ = upto;
    changed_.notify_all();
  }
  uint64_t appended() {
    std::lock_guard<std::mutex> lock(mu_);
    return appended_;
  }
  // Waits (bounded) until `n` Await calls have been made.
  std::vector<uint64_t> WaitForAwaits(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return awaited_.size() >= n; });
    return awaited_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  uint64_t appended_ = 0, durable_ = 0;
  std::vector<uint64_t> awaited_;
};

TEST(EngineDefects, AnswerReadingAnotherCallersChangeWaitsUntilItIsDurable) {
  ManualClock clock(kT0);
  HeldJournal journal;
  journal.MakeDurable(1000);  // Set-up is durable at once.
  PolicyEngine engine(DefaultProfile(), &clock, &journal, 1);
  ASSERT_TRUE(engine.UpsertBusiness("acme", true, false).ok());
  ASSERT_TRUE(engine.RegisterNumber(kBiz, "acme").ok());
  ASSERT_TRUE(engine
                  .PutTemplate("acme", {"order_update", "en_US", TemplateCategory::kUtility,
                                        TemplateStatus::kApproved})
                  .ok());
  const size_t before = journal.WaitForAwaits(0).size();
  const uint64_t opt_in = journal.appended() + 1;
  journal.MakeDurable(opt_in - 1);  // Everything so far, not what comes next.
  std::thread writer(
      [&] { EXPECT_TRUE(engine.RecordOptIn(kBiz, Customer(1), OptInSource::kSms).ok()); });
  ASSERT_EQ(journal.WaitForAwaits(before + 1).back(), opt_in);  // The opt-in waits for its ticket.
  // A dry run changes nothing itself but reads the opt-in: it must wait too.
  OutgoingMessage m = Template(Customer(1));
  m.dry_run = true;
  absl::StatusOr<Decision> d;
  std::thread reader([&] { d = engine.Check(m); });
  const std::vector<uint64_t> awaited = journal.WaitForAwaits(before + 2);
  ASSERT_EQ(awaited.size(), before + 2) << "the dry run answered without waiting";
  EXPECT_EQ(awaited.back(), opt_in);
  journal.MakeDurable(opt_in);
  writer.join();
  reader.join();
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->allowed);
  // Once the shard has seen its changes durable, a read does not wait again.
  const size_t awaits = journal.WaitForAwaits(0).size();
  EXPECT_TRUE(engine.Check(m)->allowed);
  EXPECT_EQ(journal.WaitForAwaits(0).size(), awaits);
}

// Counts records per append.
class CountingJournal : public StateJournal {
 public:
  uint64_t Append(StateChanges changes) override {
    std::lock_guard<std::mutex> lock(mu_);
    sizes_.push_back(changes.size());
    return sizes_.size();
  }
  absl::Status Await(uint64_t) override { return absl::OkStatus(); }
  size_t last() {
    std::lock_guard<std::mutex> lock(mu_);
    return sizes_.back();
  }

 private:
  std::mutex mu_;
  std::vector<size_t> sizes_;
};

TEST(EngineDefects, EachQualitySignalWritesOneRecordNotTheWholeWeek) {
  ManualClock clock(kT0);
  CountingJournal journal;
  PolicyProfile p = DefaultProfile();
  p.quality.low_threshold = 1e9;  // Stay High: no flag or tier records.
  p.quality.medium_threshold = 1e8;
  PolicyEngine engine(p, &clock, &journal, 1);
  ASSERT_TRUE(engine.UpsertBusiness("acme", true, false).ok());
  ASSERT_TRUE(engine.RegisterNumber(kBiz, "acme").ok());
  for (int i = 0; i < 200; ++i) {
    clock.Advance(absl::Minutes(1));
    ASSERT_TRUE(engine.RecordSignal(kBiz, Customer(i), SignalKind::kBlockSpam).ok());
    ASSERT_EQ(journal.last(), 1u) << "signal " << i;
  }
  EXPECT_EQ(engine.GetNumberState(kBiz)->signals_7d[static_cast<int>(SignalKind::kBlockSpam)], 200);
}

TEST(EngineDefects, MarketingSessionToOptedOutCustomerIsHeldWithoutScopedOptIn) {
  ManualClock clock(kT0);
  PolicyProfile p = DefaultProfile();
  p.scoped_opt_in = false;
  PolicyEngine engine(p, &clock);
  ASSERT_TRUE(engine.UpsertBusiness("acme", true, false).ok());
  ASSERT_TRUE(engine.RegisterNumber(kBiz, "acme").ok());
  ASSERT_TRUE(engine.RecordOptOut(kBiz, Customer(1)).ok());
  ASSERT_TRUE(engine.RecordInbound(kBiz, Customer(1), "where is my order?").ok());
  OutgoingMessage m;
  m.business_number = kBiz;
  m.customer = Customer(1);
  m.kind = MessageKind::kSession;
  m.marketing = true;
  absl::StatusOr<Decision> d = engine.Check(m);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->allowed);
  EXPECT_EQ(d->reason, ReasonCode::kOptedOut);
  m.marketing = false;  // A plain reply to the customer's question is still allowed.
  EXPECT_TRUE(engine.Check(m)->allowed);
}

TEST(EngineDefects, WallClockSteppingBackDoesNotShortenTheServiceWindow) {
  ManualClock clock(kT0);
  PolicyEngine engine(DefaultProfile(), &clock);
  ASSERT_TRUE(engine.UpsertBusiness("acme", true, false).ok());
  ASSERT_TRUE(engine.RegisterNumber(kBiz, "acme").ok());
  ASSERT_TRUE(engine.RecordInbound(kBiz, Customer(1), "hi").ok());
  clock.Set(kT0 - absl::Hours(1));  // The wall clock steps back an hour,
  ASSERT_TRUE(
      engine.RecordInbound(kBiz, Customer(1), "hello?").ok());  // and the customer writes again.
  clock.Set(kT0 + absl::Hours(23) + absl::Minutes(30));
  OutgoingMessage m;
  m.business_number = kBiz;
  m.customer = Customer(1);
  m.kind = MessageKind::kSession;
  absl::StatusOr<Decision> d = engine.Check(m);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->allowed) << d->detail;
  EXPECT_EQ(d->service_window_ends, kT0 + absl::Hours(24));
}

TEST(EngineDefects, LowForSevenDaysDowngradesWithoutAnyDelivery) {
  ManualClock clock(kT0);
  PolicyProfile p = DefaultProfile();
  p.name = "test";
  p.ladder = {2, 4, 8, 16, kUnlimited};
  p.flagged_enabled = false;  // Only the downgrade rule acts.
  PolicyEngine engine(p, &clock);
  ASSERT_TRUE(engine.UpsertBusiness("acme", true, false).ok());
  ASSERT_TRUE(engine.RegisterNumber(kBiz, "acme").ok());
  ASSERT_TRUE(engine
                  .PutTemplate("acme", {"order_update", "en_US", TemplateCategory::kUtility,
                                        TemplateStatus::kApproved})
                  .ok());
  // Two unique customers (limit 4 / 2) earn an upgrade to level 2 after 24 h.
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(engine.RecordOptIn(kBiz, Customer(i), OptInSource::kSms).ok());
    ASSERT_TRUE(engine.Check(Template(Customer(i)))->allowed);
    ASSERT_TRUE(engine.RecordDelivered(kBiz, Customer(i)).ok());
  }
  clock.Advance(absl::Hours(25));
  ASSERT_EQ(engine.GetNumberState(kBiz)->level, 2);
  // Low from now on: enough spam blocks at once, topped up every 12 hours.
  const absl::Time low_start = clock.Now();
  for (int h = 0; h <= 8 * 24; h += 12) {
    clock.Set(low_start + absl::Hours(h));
    for (int i = 0; i < (h == 0 ? 11 : 4); ++i) {
      ASSERT_TRUE(
          engine.RecordSignal(kBiz, Customer(1000 + h * 20 + i), SignalKind::kBlockSpam).ok());
    }
    if (h == 6 * 24 + 12) {
      EXPECT_EQ(engine.GetNumberState(kBiz)->level, 2) << "dropped early";
    }
    ASSERT_EQ(engine.GetNumberState(kBiz)->quality, QualityRating::kLow) << h;
  }
  // Nothing was delivered during the Low week, yet the tier dropped at day 7.
  EXPECT_EQ(engine.GetNumberState(kBiz)->level, 1);
}

TEST(EngineDefects, RestoredPoolBelowTheVerifiedFloorStartsAtTheFloor) {
  // A --migrate_profile can place a verified business's pool on a level of
  // the new ladder below the verified start level.
  ManualClock clock(kT0);
  PolicyEngine engine(DefaultProfile(), &clock);
  for (const StateChange& c :
       {EncodeBusiness({"acme", /*verified=*/true, false}),
        EncodePool({PoolIdForNumber(kBiz.value()), "acme", /*level=*/0, -1, 0}),
        EncodeNumber({kBiz.value(), "acme", 0, 0})}) {
    ASSERT_TRUE(engine.Restore(c.family, View(c.key), View(c.value)).ok());
  }
  engine.FinishRestore();
  EXPECT_EQ(engine.GetNumberState(kBiz)->level, DefaultProfile().verified_start_level);
}

}  // namespace
}  // namespace wapolicy
