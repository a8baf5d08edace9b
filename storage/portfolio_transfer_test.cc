#include "storage/portfolio_transfer.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "policy/record_codec.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

namespace fs = std::filesystem;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00Z
const PhoneNumber kA1 = Num("+14155550100"), kA2 = Num("+14155550101");
const PhoneNumber kBob = Num("+14155550200"), kCarol = Num("+14155550300");

PhoneNumber Customer(int i) { return PhoneNumber::FromDigitsValue(447700000000ULL + i); }

std::string TempDir() {
  char tmpl[] = "/tmp/wapolicy_transfer_XXXXXX";
  return mkdtemp(tmpl);
}

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

std::string Summary(const absl::StatusOr<Decision>& d) {
  if (!d.ok()) return d.status().ToString();
  return absl::StrCat(d->allowed, " ", static_cast<int>(d->reason), " ",
                      static_cast<int>(d->effect), " used=", d->used, " limit=", d->limit);
}

// One node: a store in a temporary directory and an engine over it.
struct Node {
  std::string dir;
  std::unique_ptr<RocksStateStore> store;
  std::unique_ptr<PolicyEngine> engine;

  // Opens (or reopens: "a restart") the store and loads the engine from it.
  void Start(const PolicyProfile& profile, const Clock* clock) {
    engine.reset();
    store.reset();
    auto opened = RocksStateStore::Open(dir, Durability::kProcess);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store = *std::move(opened);
    ASSERT_TRUE(store->CheckProfile(profile, /*migrate=*/false).ok());
    engine = std::make_unique<PolicyEngine>(profile, clock, store.get());
    ASSERT_TRUE(store->LoadInto(*engine).ok());
  }
  std::vector<int64_t> Counts() {
    std::vector<int64_t> out;
    for (StateFamily f : kRestoreOrder) out.push_back(*store->Count(f));
    return out;
  }
};

// Keeps a business's traffic going on a node while a portfolio moves:
// opt-ins, checks and deliveries for new customers (up to kMax, well within
// the limit), each with an event id.
class Traffic {
 public:
  static constexpr int kMax = 300;
  Traffic(PolicyEngine& e, PhoneNumber number, int first) {
    thread_ = std::thread([this, &e, number, first] {
      for (int i = first; !stop_.load() && i < first + kMax; ++i) {
        const PhoneNumber c = Customer(i);
        bool ok = e.RecordOptIn(number, c, OptInSource::kSms, {}, Id(absl::StrCat("t-in", i))).ok();
        absl::StatusOr<Decision> d = e.Check(Template(number, c));
        ok = ok && d.ok() && d->allowed;
        ok = ok && e.RecordDelivered(number, c, Id(absl::StrCat("t-d", i))).ok();
        if (!ok) failures_++;
        calls_++;
      }
    });
  }
  ~Traffic() { Stop(); }
  // Stops it once it has made at least `calls` calls.
  void Stop(int calls = 0) {
    while (calls_.load() < std::min(calls, kMax) && failures_.load() == 0) {
      std::this_thread::yield();
    }
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int failures() const { return failures_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> calls_{0}, failures_{0};
  std::thread thread_;
};

class PortfolioTransferTest : public ::testing::TestWithParam<bool> {
 protected:
  PolicyProfile Profile() const {
    return NoRates(GetParam() ? Portfolio2025Profile() : DefaultProfile());
  }
  void SetUp() override {
    one_.dir = TempDir();
    two_.dir = TempDir();
    move_dir_ = TempDir();
    one_.Start(Profile(), &clock_);
    two_.Start(Profile(), &clock_);
    Populate(*one_.engine, "acme", {kA1, kA2});
    Populate(*one_.engine, "bob", {kBob});
    Populate(*two_.engine, "carol", {kCarol});
    // A campaign reservation on acme's first number.
    for (int i = 10; i < 13; ++i) {
      ASSERT_TRUE(one_.engine->RecordOptIn(kA1, Customer(i), OptInSource::kSms).ok());
    }
    CampaignRequest req;
    req.business_number = kA1;
    req.template_name = "order_update";
    req.template_language = "en_US";
    const std::vector<PhoneNumber> customers = {Customer(10), Customer(11), Customer(12)};
    absl::StatusOr<CampaignReservation> r = one_.engine->ReserveCampaign(req, customers);
    ASSERT_TRUE(r.ok()) << r.status();
    clock_.Advance(absl::Minutes(5));
  }
  void TearDown() override {
    one_ = Node();
    two_ = Node();
    for (const std::string& d : {one_.dir, two_.dir, move_dir_}) fs::remove_all(d);
  }

  // A business with numbers, a template, opted-in customers with open
  // conversations (one pending), a service window, a quality signal and
  // event ids.
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
  }

  // acme's records in a node's store, by family (kRestoreOrder).
  std::vector<int64_t> AcmeCounts(Node& n) {
    std::vector<int64_t> out(kRestoreOrder.size(), 0);
    std::unique_ptr<RocksStateStore::SnapshotReader> r = n.store->NewSnapshotReader();
    const std::vector<KeyRange> ranges = BusinessKeyRanges("acme", {kA1.value(), kA2.value()});
    for (size_t i = 0; i < kRestoreOrder.size(); ++i) {
      const StateFamily f = kRestoreOrder[i];
      EXPECT_TRUE(r->ScanAll(f, [&](absl::string_view k, absl::string_view v) {
                     absl::StatusOr<RecordOwner> o = OwnerOfRecord(f, k, v);
                     EXPECT_TRUE(o.ok());
                     const bool mine = o->number != 0
                                           ? (o->number == kA1.value() || o->number == kA2.value())
                                           : o->business_id == "acme";
                     out[i] += mine;
                     // The ranges hold exactly acme's records (event ids aside).
                     bool in_range = false;
                     for (const KeyRange& kr : ranges) in_range |= kr.family == f && kr.Contains(k);
                     if (f != StateFamily::kEventId) {
                       EXPECT_EQ(in_range, mine) << StateFamilyName(f);
                     }
                     return absl::OkStatus();
                   }).ok());
    }
    return out;
  }

  absl::StatusOr<PortfolioExport> Export(const std::string& dir) {
    absl::StatusOr<std::vector<PhoneNumber>> numbers = one_.engine->BusinessNumbers("acme");
    if (!numbers.ok()) return numbers.status();
    return ExportPortfolio(*one_.store, "acme", *numbers, dir);
  }

  ManualClock clock_{kT0};
  Node one_, two_;
  std::string move_dir_;
};

TEST_P(PortfolioTransferTest, MovesABusinessWithEverythingItHadAndNothingElse) {
  const std::vector<int64_t> acme = AcmeCounts(one_);
  const std::string carol = Summary(*two_.engine, kCarol);

  absl::StatusOr<PortfolioExport> out = Export(move_dir_);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->numbers, (std::vector<PhoneNumber>{kA1, kA2}));
  int64_t total = 0;
  for (int64_t c : acme) total += c;
  EXPECT_EQ(out->records, total);
  for (const ExportedFile& f : out->files) {
    const size_t i = static_cast<size_t>(
        std::find(kRestoreOrder.begin(), kRestoreOrder.end(), f.family) - kRestoreOrder.begin());
    EXPECT_EQ(f.records, acme[i]) << StateFamilyName(f.family);
    EXPECT_TRUE(fs::exists(f.path));
  }
  EXPECT_EQ(out->files.size(), 9u);  // Every family has some of acme's records.

  {  // Carol keeps sending on the second node meanwhile.
    Traffic traffic(*two_.engine, kCarol, 100);
    ASSERT_TRUE(IngestPortfolio(*two_.store, *two_.engine, *out).ok());
    traffic.Stop(/*calls=*/20);
    EXPECT_EQ(traffic.failures(), 0);
  }
  EXPECT_EQ(AcmeCounts(two_), acme);
  // The same answers on both engines.
  for (PhoneNumber n : {kA1, kA2}) EXPECT_EQ(Summary(*two_.engine, n), Summary(*one_.engine, n));
  for (PolicyEngine* e : {one_.engine.get(), two_.engine.get()}) {
    SCOPED_TRACE(e == one_.engine.get() ? "one" : "two");
    EXPECT_TRUE(e->Check(Session(kA2, Customer(7)))->allowed);  // The open service window.
    EXPECT_FALSE(e->Check(Session(kA1, Customer(7)))->allowed);
    EXPECT_EQ(e->GetConsent(kA1, Customer(3))->state, Consent::State::kOptedIn);
  }
  EXPECT_EQ(Summary(two_.engine->Check(Template(kA1, Customer(2)))),
            Summary(one_.engine->Check(Template(kA1, Customer(2)))));  // In its conversation.
  EXPECT_EQ(Summary(two_.engine->Check(Template(kA1, Customer(11)))),
            Summary(one_.engine->Check(Template(kA1, Customer(11)))));  // Reserved.
  for (PolicyEngine* e : {one_.engine.get(), two_.engine.get()}) {
    ASSERT_TRUE(e->RecordOptIn(kA2, Customer(5), OptInSource::kSms).ok());
  }
  EXPECT_EQ(Summary(two_.engine->Check(Template(kA2, Customer(5)))),
            Summary(one_.engine->Check(Template(kA2, Customer(5)))));  // A new admission.
  // A repeated event id is answered as the first time and changes nothing.
  const std::string a1 = Summary(*two_.engine, kA1);
  ASSERT_TRUE(
      two_.engine->RecordSignal(kA1, Customer(2), SignalKind::kBlockSpam, Id("sig-1")).ok());
  ASSERT_TRUE(two_.engine->RecordDelivered(kA1, Customer(2), Id("d2")).ok());
  EXPECT_EQ(Summary(*two_.engine, kA1), a1);
  EXPECT_NE(Summary(*two_.engine, kCarol), carol);  // Carol's traffic went on.

  // A restart of the second node finds acme (and carol's traffic) as it was.
  const std::string a2 = Summary(*two_.engine, kA2);
  const std::string carol_now = Summary(*two_.engine, kCarol);
  two_.Start(Profile(), &clock_);
  EXPECT_EQ(Summary(*two_.engine, kA1), a1);
  EXPECT_EQ(Summary(*two_.engine, kA2), a2);
  EXPECT_EQ(Summary(*two_.engine, kCarol), carol_now);
  EXPECT_TRUE(two_.engine->Check(Session(kA2, Customer(7)))->allowed);
  EXPECT_EQ(two_.engine->GetTemplate("acme", "order_update", "en_US")->name, "order_update");
}

TEST_P(PortfolioTransferTest, IngestingTwiceDoesNotDoubleAnything) {
  absl::StatusOr<PortfolioExport> out = Export(move_dir_);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_TRUE(IngestPortfolio(*two_.store, *two_.engine, *out).ok());
  const std::vector<int64_t> counts = two_.Counts();
  const EngineStats stats = two_.engine->stats();
  const std::string a1 = Summary(*two_.engine, kA1);
  absl::Status again = IngestPortfolio(*two_.store, *two_.engine, *out);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition) << again;
  EXPECT_EQ(two_.Counts(), counts);
  EXPECT_EQ(two_.engine->stats().ledger_entries, stats.ledger_entries);
  EXPECT_EQ(two_.engine->stats().event_ids, stats.event_ids);
  EXPECT_EQ(Summary(*two_.engine, kA1), a1);
  // Also after a restart (the engine loads acme from the store).
  two_.Start(Profile(), &clock_);
  again = IngestPortfolio(*two_.store, *two_.engine, *out);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition) << again;
  EXPECT_EQ(two_.Counts(), counts);
  EXPECT_EQ(Summary(*two_.engine, kA1), a1);
}

TEST_P(PortfolioTransferTest, ACorruptOrMissingFileIsRefusedWithNothingChanged) {
  absl::StatusOr<PortfolioExport> out = Export(move_dir_);
  ASSERT_TRUE(out.ok()) << out.status();
  const std::vector<int64_t> counts = two_.Counts();
  const EngineStats stats = two_.engine->stats();
  auto expect_unchanged = [&] {
    EXPECT_EQ(two_.Counts(), counts);
    EXPECT_FALSE(two_.engine->HasBusiness("acme"));
    EXPECT_EQ(two_.engine->GetNumberState(kA1).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(two_.engine->stats().numbers, stats.numbers);
  };
  // A copy of the export to spoil.
  const std::string spoilt = TempDir();
  auto copy = [&] {
    PortfolioExport c = *out;
    for (ExportedFile& f : c.files) {
      const std::string to = spoilt + "/" + fs::path(f.path).filename().string();
      fs::copy_file(f.path, to, fs::copy_options::overwrite_existing);
      f.path = to;
    }
    return c;
  };
  // A byte changed in the middle of the consents' file.
  PortfolioExport bad = copy();
  for (ExportedFile& f : bad.files) {
    if (f.family != StateFamily::kConsent) continue;
    std::fstream file(f.path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(f.bytes / 3));
    char c = 0;
    file.read(&c, 1);
    file.seekp(static_cast<std::streamoff>(f.bytes / 3));
    c = static_cast<char>(c ^ 0x5a);
    file.write(&c, 1);
  }
  absl::Status s = IngestPortfolio(*two_.store, *two_.engine, bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("consent"), std::string::npos) << s;
  expect_unchanged();
  // A file missing.
  bad = copy();
  fs::remove(bad.files[3].path);
  s = IngestPortfolio(*two_.store, *two_.engine, bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_NE(s.message().find(bad.files[3].path), std::string::npos) << s;
  expect_unchanged();
  // A file left out of the manifest, or a record count that does not match.
  bad = copy();
  bad.files.erase(bad.files.begin() + 4);
  s = IngestPortfolio(*two_.store, *two_.engine, bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  expect_unchanged();
  bad = copy();
  bad.files[2].records++;
  bad.records++;
  s = IngestPortfolio(*two_.store, *two_.engine, bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  expect_unchanged();
  // Another profile.
  bad = copy();
  bad.profile.name = "other";
  s = IngestPortfolio(*two_.store, *two_.engine, bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  expect_unchanged();
  // Still nothing after a restart; then the good export goes in.
  two_.Start(Profile(), &clock_);
  expect_unchanged();
  EXPECT_TRUE(IngestPortfolio(*two_.store, *two_.engine, *out).ok());
  fs::remove_all(spoilt);
}

TEST_P(PortfolioTransferTest, DropForgetsTheBusinessInMemoryAndOnDiskAndLeavesOthers) {
  const std::vector<int64_t> acme = AcmeCounts(one_);
  const std::string bob = Summary(*one_.engine, kBob);
  absl::StatusOr<PortfolioExport> out = Export(move_dir_);
  ASSERT_TRUE(out.ok()) << out.status();
  absl::StatusOr<DroppedBusiness> dropped;
  std::string bob_after;
  {  // Bob keeps sending on the first node meanwhile.
    Traffic traffic(*one_.engine, kBob, 100);
    dropped = DropPortfolio(*one_.store, *one_.engine, "acme");
    traffic.Stop(/*calls=*/20);
    EXPECT_EQ(traffic.failures(), 0);
    bob_after = Summary(*one_.engine, kBob);
  }
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(dropped->numbers, (std::vector<PhoneNumber>{kA1, kA2}));
  EXPECT_EQ(dropped->dropped.numbers, 2u);
  EXPECT_EQ(AcmeCounts(one_), std::vector<int64_t>(kRestoreOrder.size(), 0));
  for (PhoneNumber n : {kA1, kA2}) {
    EXPECT_EQ(one_.engine->Check(Template(n, Customer(1))).status().code(),
              absl::StatusCode::kNotFound);
    EXPECT_EQ(one_.engine->RecordInbound(n, Customer(1)).status().code(),
              absl::StatusCode::kNotFound);
  }
  EXPECT_NE(bob_after, bob);  // Its traffic went on...
  // ...and a restart finds it, and not acme.
  one_.Start(Profile(), &clock_);
  EXPECT_FALSE(one_.engine->HasBusiness("acme"));
  EXPECT_EQ(one_.engine->GetNumberState(kA1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Summary(*one_.engine, kBob), bob_after);
  // A retry finds nothing left; the business may come back.
  EXPECT_EQ(DropPortfolio(*one_.store, *one_.engine, "acme").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(IngestPortfolio(*one_.store, *one_.engine, *out).ok());
  EXPECT_EQ(AcmeCounts(one_), acme);
}

TEST_P(PortfolioTransferTest, DropAfterARestartErasesWhatTheStoreStillHeld) {
  // The engine forgot acme but the store's write never happened (a crash
  // between the two): the retry after the restart erases it.
  ASSERT_TRUE(one_.engine->DropBusiness("acme").ok());
  one_.Start(Profile(), &clock_);
  ASSERT_TRUE(one_.engine->HasBusiness("acme"));
  ASSERT_TRUE(DropPortfolio(*one_.store, *one_.engine, "acme").ok());
  one_.Start(Profile(), &clock_);
  EXPECT_FALSE(one_.engine->HasBusiness("acme"));
  EXPECT_EQ(AcmeCounts(one_), std::vector<int64_t>(kRestoreOrder.size(), 0));
}

INSTANTIATE_TEST_SUITE_P(Scopes, PortfolioTransferTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "PerPortfolio" : "PerNumber";
                         });

}  // namespace
}  // namespace wapolicy
