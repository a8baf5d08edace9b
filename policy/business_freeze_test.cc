// PolicyEngine::FreezeBusiness (policy/internal/business_freeze.h): a frozen
// business answers UNAVAILABLE to every operation and changes nothing;
// others are untouched; the portfolio calls (numbers, drop) keep working;
// and under concurrent checks, everything admitted before the freeze is in
// the journal when it returns.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "policy/policy_engine.h"
#include "policy/record_codec.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00Z
const PhoneNumber kA1 = Num("+14155550100"), kBob = Num("+14155550200");

PhoneNumber Customer(int i) { return PhoneNumber::FromDigitsValue(447700000000ULL + i); }

OutgoingMessage Template(PhoneNumber from, PhoneNumber c) {
  OutgoingMessage m;
  m.business_number = from;
  m.customer = c;
  m.kind = MessageKind::kTemplate;
  m.template_name = "t";
  m.template_language = "en_US";
  return m;
}

class BusinessFreezeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto [b, n] : {std::pair<const char*, PhoneNumber>{"acme", kA1}, {"bob", kBob}}) {
      ASSERT_TRUE(engine_.UpsertBusiness(b, true, false).ok());
      ASSERT_TRUE(engine_.RegisterNumber(n, b).ok());
      ASSERT_TRUE(engine_.PutTemplate(b, {"t", "en_US", TemplateCategory::kUtility,
                                          TemplateStatus::kApproved})
                      .ok());
    }
    for (int c = 1; c <= 4; ++c) OptIn(kA1, c);
  }
  void OptIn(PhoneNumber n, int customer) {
    ASSERT_TRUE(engine_.RecordOptIn(n, Customer(customer), OptInSource::kWebsite).ok());
  }
  // Conversations the journal holds for `number`'s pools.
  int LedgerRecords() const {
    int n = 0;
    for (const auto& [key, value] : journal_.records()) {
      if (static_cast<StateFamily>(key.first) == StateFamily::kLedger) ++n;
    }
    return n;
  }

  ManualClock clock_{kT0};
  MemoryJournal journal_;
  PolicyEngine engine_{NoRates(DefaultProfile()), &clock_, &journal_};
};

TEST_F(BusinessFreezeTest, EveryOperationOnAFrozenBusinessIsUnavailableAndChangesNothing) {
  ASSERT_TRUE(engine_.Check(Template(kA1, Customer(1)))->allowed);
  ASSERT_TRUE(engine_.FreezeBusiness("acme").ok());
  EXPECT_TRUE(engine_.IsFrozen("acme"));
  EXPECT_FALSE(engine_.IsFrozen("bob"));
  const int commits = journal_.commits();
  const auto unavailable = [](const absl::Status& s) {
    return s.code() == absl::StatusCode::kUnavailable &&
           absl::StrContains(s.message(), "'acme' is frozen");
  };
  EXPECT_TRUE(unavailable(engine_.Check(Template(kA1, Customer(2))).status()));
  std::vector<OutgoingMessage> batch = {Template(kA1, Customer(3))};
  EXPECT_TRUE(unavailable(engine_.CheckBatch(batch)[0].status()));
  EXPECT_TRUE(unavailable(engine_.RecordInbound(kA1, Customer(4), "hi").status()));
  EXPECT_TRUE(unavailable(engine_.RecordOptOut(kA1, Customer(4))));
  EXPECT_TRUE(unavailable(engine_.GetNumberState(kA1).status()));
  EXPECT_TRUE(unavailable(engine_.UpsertBusiness("acme", false, false)));
  EXPECT_TRUE(unavailable(engine_.RegisterNumber(Num("+14155550101"), "acme")));
  EXPECT_TRUE(unavailable(engine_.PutTemplate(
      "acme", {"u", "en_US", TemplateCategory::kUtility, TemplateStatus::kApproved})));
  EXPECT_EQ(journal_.commits(), commits) << "a frozen business changed state";
  // Others decide as before.
  OptIn(kBob, 1);
  EXPECT_TRUE(engine_.Check(Template(kBob, Customer(1)))->allowed);
  // The move's own calls work.
  EXPECT_EQ(*engine_.BusinessNumbers("acme"), std::vector<PhoneNumber>{kA1});
  EXPECT_EQ(engine_.BusinessIds(), (std::vector<std::string>{"acme", "bob"}));
  // Thawed (a move given up), it decides again with its state.
  ASSERT_TRUE(engine_.ThawBusiness("acme").ok());
  absl::StatusOr<NumberSnapshot> s = engine_.GetNumberState(kA1);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->used, 1);
  EXPECT_TRUE(engine_.Check(Template(kA1, Customer(2)))->allowed);
}

TEST_F(BusinessFreezeTest, DroppedAndRestoredItIsNotFrozen) {
  ASSERT_TRUE(engine_.FreezeBusiness("acme").ok());
  const PhoneNumber a2 = Num("+14155550101");
  EXPECT_EQ(engine_.RegisterNumber(a2, "acme").code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(engine_.DropBusiness("acme").ok());
  // The refused registration left nothing behind: the number is free.
  EXPECT_TRUE(engine_.RegisterNumber(a2, "bob").ok());
  EXPECT_EQ(engine_.FreezeBusiness("acme").code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(engine_.IsFrozen("acme"));
  ASSERT_TRUE(engine_.UpsertBusiness("acme", true, false).ok());
  EXPECT_FALSE(engine_.IsFrozen("acme"));
  EXPECT_EQ(engine_.FreezeBusiness("no such").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(BusinessFreezeTest, EverythingAdmittedBeforeTheFreezeIsJournaledWhenItReturns) {
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 400; ++i) OptIn(kA1, t * 1000 + i);
  }
  std::atomic<bool> frozen{false};
  std::atomic<int> admitted_before{0}, refused_after{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 400; ++i) {
        const bool was_frozen = frozen.load();
        absl::StatusOr<Decision> d = engine_.Check(Template(kA1, Customer(t * 1000 + i)));
        if (d.ok()) {
          EXPECT_FALSE(was_frozen) << "admitted after the freeze returned";
          if (d->allowed) ++admitted_before;
        } else {
          EXPECT_EQ(d.status().code(), absl::StatusCode::kUnavailable);
          ++refused_after;
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(2));
  ASSERT_TRUE(engine_.FreezeBusiness("acme").ok());
  frozen = true;
  const int journaled = LedgerRecords();
  for (auto& t : threads) t.join();
  // The tier's limit caps admissions; each admitted conversation is a ledger
  // record, journaled before the freeze returned, and none came after.
  EXPECT_EQ(LedgerRecords(), journaled);
  EXPECT_EQ(journaled, admitted_before.load());
}

}  // namespace
}  // namespace wapolicy
