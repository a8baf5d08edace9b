// A business portfolio moving between running engines (issue 17, point 4):
// PolicyEngine::RestoreBusiness and DropBusiness, over an in-memory journal
// standing for storage. storage/portfolio_transfer_test.cc does the same
// through RocksDB and SST files.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "policy/policy_engine.h"
#include "policy/record_codec.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00Z
const PhoneNumber kA1 = Num("+14155550100"), kA2 = Num("+14155550101");
const PhoneNumber kBob = Num("+14155550200"), kCarol = Num("+14155550300");

PhoneNumber Customer(int i) { return PhoneNumber::FromDigitsValue(447700000000ULL + i); }

OutgoingMessage Template(PhoneNumber from, PhoneNumber c) {
  OutgoingMessage m;
  m.business_number = from;
  m.customer = c;
  m.kind = MessageKind::kTemplate;
  m.template_name = "order_update";
  m.template_language = "en_US";
  return m;
}

OutgoingMessage Session(PhoneNumber from, PhoneNumber c) {
  OutgoingMessage m;
  m.business_number = from;
  m.customer = c;
  m.kind = MessageKind::kSession;
  m.session_type = SessionType::kText;
  return m;
}

EventMeta Id(std::string id) {
  EventMeta m;
  m.event_id = std::move(id);
  return m;
}

// The records of `business` in `journal`, as storage would export them.
std::vector<StoredRecord> RecordsOf(const MemoryJournal& journal, absl::string_view business) {
  std::set<uint64_t> numbers;
  for (const auto& [key, value] : journal.records()) {
    if (static_cast<StateFamily>(key.first) != StateFamily::kNumber) continue;
    absl::StatusOr<NumberRecord> n = DecodeNumber(key.second, value);
    if (n.ok() && n->business_id == business) numbers.insert(n->number);
  }
  std::vector<StoredRecord> out;
  for (StateFamily f : kRestoreOrder) {
    for (const auto& [key, value] : journal.records()) {
      if (static_cast<StateFamily>(key.first) != f) continue;
      absl::StatusOr<RecordOwner> o = OwnerOfRecord(f, key.second, value);
      if (!o.ok()) continue;
      if (o->number != 0 ? numbers.count(o->number) > 0 : o->business_id == business) {
        out.push_back({f, key.second, value});
      }
    }
  }
  return out;
}

// What a number's state shows, in one line to compare engines by.
std::string Summary(PolicyEngine& e, PhoneNumber n) {
  absl::StatusOr<NumberSnapshot> s = e.GetNumberState(n);
  if (!s.ok()) return s.status().ToString();
  int64_t signals = 0;
  for (int64_t c : s->signals_7d) signals += c;
  return absl::StrCat(
      s->business_id, " used=", s->used, " pending=", s->pending, " limit=", s->limit,
      " level=", s->level, " quality=", static_cast<int>(s->estimated_quality),
      " score=", s->quality_score, " signals=", signals,
      " next_slot=", absl::FormatTime(s->next_slot_free), " unique=", s->recent_unique);
}

std::string Summary(const Decision& d) {
  return absl::StrCat(d.allowed, " ", static_cast<int>(d.reason), " ", static_cast<int>(d.effect),
                      " used=", d.used, " limit=", d.limit);
}

class PortfolioMoveTest : public ::testing::TestWithParam<bool> {
 protected:
  PolicyProfile Profile() const {
    return NoRates(GetParam() ? Portfolio2025Profile() : DefaultProfile());
  }
  void SetUp() override {
    one_ = std::make_unique<PolicyEngine>(Profile(), &clock_, &journal1_);
    two_ = std::make_unique<PolicyEngine>(Profile(), &clock_, &journal2_);
    Populate(*one_, "acme", {kA1, kA2});
    Populate(*one_, "bob", {kBob});
    Populate(*two_, "carol", {kCarol});
  }

  // A business with numbers, a template, opted-in customers with open
  // conversations, a service window, quality signals and event ids.
  void Populate(PolicyEngine& e, absl::string_view business, std::vector<PhoneNumber> numbers) {
    ASSERT_TRUE(e.UpsertBusiness(business, true, false).ok());
    for (PhoneNumber n : numbers) ASSERT_TRUE(e.RegisterNumber(n, business).ok());
    ASSERT_TRUE(e.PutTemplate(business, {"order_update", "en_US", TemplateCategory::kUtility,
                                         TemplateStatus::kApproved})
                    .ok());
    for (int i = 1; i <= 4; ++i) {
      const PhoneNumber from = numbers[i % numbers.size()];
      ASSERT_TRUE(
          e.RecordOptIn(from, Customer(i), OptInSource::kWebsite, {}, Id(absl::StrCat("in", i)))
              .ok());
      ASSERT_TRUE(e.Check(Template(from, Customer(i)))->allowed);
      if (i != 4) {
        ASSERT_TRUE(e.RecordDelivered(from, Customer(i), Id(absl::StrCat("d", i))).ok());
      }
    }
    ASSERT_TRUE(e.RecordInbound(numbers.back(), Customer(7), "hi", Id("inbound-7")).ok());
    ASSERT_TRUE(e.RecordSignal(numbers[0], Customer(2), SignalKind::kBlockSpam, Id("sig-1")).ok());
    clock_.Advance(absl::Minutes(5));
  }

  ManualClock clock_{kT0};
  MemoryJournal journal1_, journal2_;
  std::unique_ptr<PolicyEngine> one_, two_;
};

TEST_P(PortfolioMoveTest, RestoredBusinessAnswersAsOnTheEngineItCameFrom) {
  const std::string carol_before = Summary(*two_, kCarol);
  const int commits = journal2_.commits();
  const std::vector<StoredRecord> records = RecordsOf(journal1_, "acme");
  ASSERT_TRUE(two_->RestoreBusiness("acme", records).ok());
  EXPECT_EQ(journal2_.commits(), commits);  // The records are storage's already.
  EXPECT_TRUE(two_->HasBusiness("acme"));
  EXPECT_EQ(*two_->BusinessNumbers("acme"), (std::vector<PhoneNumber>{kA1, kA2}));
  EXPECT_EQ(*two_->BusinessOf(kA2), "acme");
  for (PhoneNumber n : {kA1, kA2}) EXPECT_EQ(Summary(*two_, n), Summary(*one_, n));
  EXPECT_EQ(two_->GetTemplate("acme", "order_update", "en_US")->name, "order_update");
  // The same decisions: an open conversation, the service window, a new
  // admission against the same limit use, a customer never opted in.
  for (PolicyEngine* e : {one_.get(), two_.get()}) {
    SCOPED_TRACE(e == one_.get() ? "one" : "two");
    EXPECT_TRUE(e->Check(Template(kA1, Customer(2)))->allowed);
    EXPECT_TRUE(e->Check(Session(kA2, Customer(7)))->allowed);
    EXPECT_FALSE(e->Check(Session(kA1, Customer(7)))->allowed);
  }
  EXPECT_EQ(Summary(*two_->Check(Template(kA1, Customer(2)))),
            Summary(*one_->Check(Template(kA1, Customer(2)))));
  ASSERT_TRUE(one_->RecordOptIn(kA1, Customer(5), OptInSource::kSms).ok());
  ASSERT_TRUE(two_->RecordOptIn(kA1, Customer(5), OptInSource::kSms).ok());
  EXPECT_EQ(Summary(*two_->Check(Template(kA1, Customer(5)))),
            Summary(*one_->Check(Template(kA1, Customer(5)))));
  EXPECT_EQ(Summary(*two_->Check(Template(kA2, Customer(6)))),
            Summary(*one_->Check(Template(kA2, Customer(6)))));
  // A repeated event id is answered as the first time and changes nothing.
  ASSERT_TRUE(two_->RecordSignal(kA1, Customer(2), SignalKind::kBlockSpam, Id("sig-1")).ok());
  ASSERT_TRUE(two_->RecordDelivered(kA1, Customer(4), Id("d4")).ok());
  ASSERT_TRUE(one_->RecordDelivered(kA1, Customer(4), Id("d4")).ok());
  for (PhoneNumber n : {kA1, kA2}) EXPECT_EQ(Summary(*two_, n), Summary(*one_, n));
  EXPECT_EQ(Summary(*two_, kCarol), carol_before);
}

TEST_P(PortfolioMoveTest, RestoreRefusesABusinessOrNumberAlreadyHereAndChangesNothing) {
  const std::vector<StoredRecord> records = RecordsOf(journal1_, "acme");
  absl::Status s = one_->RestoreBusiness("acme", records);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("acme"), std::string::npos) << s;
  // Carol's engine takes one of acme's numbers under another business.
  ASSERT_TRUE(two_->UpsertBusiness("zed", false, false).ok());
  ASSERT_TRUE(two_->RegisterNumber(kA2, "zed").ok());
  const EngineStats before = two_->stats();
  s = two_->RestoreBusiness("acme", records);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find(kA2.E164()), std::string::npos) << s;
  EXPECT_FALSE(two_->HasBusiness("acme"));
  EXPECT_EQ(two_->Check(Template(kA1, Customer(1))).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(two_->stats().numbers, before.numbers);
  EXPECT_EQ(two_->stats().event_ids, before.event_ids);
}

TEST_P(PortfolioMoveTest, RestoreRefusesBadRecordsAndChangesNothing) {
  const std::vector<StoredRecord> records = RecordsOf(journal1_, "acme");
  const EngineStats before = two_->stats();
  auto expect_unchanged = [&] {
    EXPECT_FALSE(two_->HasBusiness("acme"));
    EXPECT_EQ(two_->GetNumberState(kA1).status().code(), absl::StatusCode::kNotFound);
    const EngineStats now = two_->stats();
    EXPECT_EQ(now.businesses, before.businesses);
    EXPECT_EQ(now.numbers, before.numbers);
    EXPECT_EQ(now.consents, before.consents);
    EXPECT_EQ(now.threads, before.threads);
    EXPECT_EQ(now.event_ids, before.event_ids);
  };
  // A consent that does not decode (after the business, pools and numbers
  // decoded fine).
  std::vector<StoredRecord> bad = records;
  size_t consent = 0;
  for (size_t i = 0; i < bad.size(); ++i) {
    if (bad[i].family == StateFamily::kConsent) consent = i;
  }
  bad[consent].value = "\xff\xff garbage";
  absl::Status s = two_->RestoreBusiness("acme", bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find(absl::StrCat("records[", consent, "]")), std::string::npos) << s;
  expect_unchanged();
  // Another business's record among them.
  bad = records;
  bad.push_back(RecordsOf(journal1_, "bob").back());
  s = two_->RestoreBusiness("acme", bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  expect_unchanged();
  // No business record.
  bad.assign(records.begin() + 1, records.end());
  s = two_->RestoreBusiness("acme", bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  expect_unchanged();
  // Then the good ones go in.
  EXPECT_TRUE(two_->RestoreBusiness("acme", records).ok());
}

TEST_P(PortfolioMoveTest, DropForgetsEverythingOfTheBusinessAndItMayComeBack) {
  const std::vector<StoredRecord> records = RecordsOf(journal1_, "acme");
  const std::string bob_before = Summary(*one_, kBob);
  const std::string a1_before = Summary(*one_, kA1);
  const EngineStats before = one_->stats();
  absl::StatusOr<DroppedBusiness> dropped = one_->DropBusiness("acme");
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(dropped->numbers, (std::vector<PhoneNumber>{kA1, kA2}));
  EXPECT_EQ(dropped->dropped.businesses, 1u);
  EXPECT_EQ(dropped->dropped.numbers, 2u);
  EXPECT_EQ(dropped->dropped.consents, 4u);  // The four opted in.
  EXPECT_EQ(dropped->dropped.templates, 1u);
  EXPECT_GT(dropped->dropped.ledger_entries, 0u);
  EXPECT_EQ(dropped->dropped.threads, before.threads - one_->stats().threads);
  EXPECT_EQ(dropped->dropped.event_ids, 9u);  // in1-4, d1-3, inbound-7, sig-1.
  const EngineStats after = one_->stats();
  EXPECT_EQ(after.businesses, before.businesses - 1);
  EXPECT_EQ(after.numbers, before.numbers - 2);
  EXPECT_EQ(after.pools, before.pools - dropped->dropped.pools);
  EXPECT_EQ(after.event_ids, before.event_ids - 9);
  EXPECT_EQ(after.consents, before.consents - 4);
  // Its numbers are unknown now, everywhere.
  for (PhoneNumber n : {kA1, kA2}) {
    EXPECT_EQ(one_->Check(Template(n, Customer(1))).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(one_->RecordInbound(n, Customer(1)).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(one_->GetNumberState(n).status().code(), absl::StatusCode::kNotFound);
  }
  EXPECT_FALSE(one_->HasBusiness("acme"));
  EXPECT_EQ(one_->BusinessNumbers("acme").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(one_->GetTemplate("acme", "order_update", "en_US").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(one_->DropBusiness("acme").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Summary(*one_, kBob), bob_before);
  // A number it had may go to another business, and back.
  ASSERT_TRUE(one_->UpsertBusiness("zed", false, false).ok());
  ASSERT_TRUE(one_->RegisterNumber(kA1, "zed").ok());
  EXPECT_EQ(one_->RestoreBusiness("acme", records).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(one_->DropBusiness("zed").ok());
  // The business comes back as it was.
  ASSERT_TRUE(one_->RestoreBusiness("acme", records).ok());
  EXPECT_EQ(Summary(*one_, kA1), a1_before);
  EXPECT_EQ(one_->stats().event_ids, before.event_ids);
  EXPECT_TRUE(one_->Check(Session(kA2, Customer(7)))->allowed);
}

INSTANTIATE_TEST_SUITE_P(Scopes, PortfolioMoveTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "PerPortfolio" : "PerNumber";
                         });

}  // namespace
}  // namespace wapolicy
