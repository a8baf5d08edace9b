#include "storage/state_store.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "policy/record_codec.h"
#include "policy/test_util.h"
#include "rocksdb/db.h"

namespace wapolicy {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/wapolicy_store_XXXXXX";
  return mkdtemp(tmpl);
}

TEST(RocksStateStoreTest, CommitsSurviveReopenAndRebuildTheEngine) {
  const std::string dir = TempDir();
  ManualClock clock(absl::FromUnixSeconds(1767225600));
  const PhoneNumber biz = Num("+14155550100"), c = Num("+447700900001");
  {
    auto store = RocksStateStore::Open(dir, Durability::kProcess);
    ASSERT_TRUE(store.ok()) << store.status();
    PolicyEngine engine(DefaultProfile(), &clock, store->get());
    ASSERT_TRUE(engine.UpsertBusiness("acme", true, false).ok());
    ASSERT_TRUE(engine.RegisterNumber(biz, "acme").ok());
    ASSERT_TRUE(
        engine
            .PutTemplate("acme", {"t", "en", TemplateCategory::kUtility, TemplateStatus::kApproved})
            .ok());
    ASSERT_TRUE(engine.RecordOptIn(biz, c, OptInSource::kSms).ok());
    OutgoingMessage m{biz, c, MessageKind::kTemplate, "t", "en"};
    ASSERT_TRUE(engine.Check(m)->allowed);
  }
  auto store = RocksStateStore::Open(dir, Durability::kMachine);
  ASSERT_TRUE(store.ok());
  PolicyEngine engine(DefaultProfile(), &clock, store->get());
  auto loaded = (*store)->LoadInto(engine);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_GE(*loaded, 6);
  auto s = engine.GetNumberState(biz);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->used, 1);
  EXPECT_EQ(s->pending, 1);
  EXPECT_EQ(*(*store)->Count(StateFamily::kLedger), 1);
  std::filesystem::remove_all(dir);
}

TEST(RocksStateStoreTest, ConcurrentCommitsAreGroupedAndAllDurable) {
  const std::string dir = TempDir();
  auto store = RocksStateStore::Open(dir, Durability::kMachine);
  ASSERT_TRUE(store.ok());
  constexpr int kThreads = 8, kEach = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        StateChanges ch{{StateFamily::kBusiness, false,
                         ToRecordBytes("b" + std::to_string(t * kEach + i)), ToRecordBytes("\1")}};
        ASSERT_TRUE((*store)->Commit(std::move(ch)).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(*(*store)->Count(StateFamily::kBusiness), kThreads * kEach);
  // fsyncs are shared: fewer writes than commits.
  EXPECT_LT((*store)->writes(), static_cast<uint64_t>(kThreads * kEach));
  // The totals for metrics: every change set and record counted once.
  const RocksStateStore::WriteStats stats = (*store)->write_stats();
  EXPECT_EQ(stats.writes, (*store)->writes());
  EXPECT_EQ(stats.change_sets, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_EQ(stats.records, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_GT(stats.write_seconds, 0);
  EXPECT_GT((*store)->EstimatedBytes(), 0u);
  std::filesystem::remove_all(dir);
}

// Checks, deliveries, inbound messages, signals, state reads and sweeps from
// several threads at once on an engine writing to the real store; then the
// store alone rebuilds the same counts. (Run under --config=tsan too.)
TEST(RocksStateStoreTest, EngineUnderConcurrentMixedLoadStaysConsistent) {
  const std::string dir = TempDir();
  ManualClock clock(absl::FromUnixSeconds(1767225600));
  PolicyProfile profile = NoRates(DefaultProfile());  // Thousands in one instant.
  profile.frequency_cap_per_day = 0;
  const PhoneNumber biz = Num("+14155550100");
  auto customer = [](int i) { return PhoneNumber::FromDigitsValue(447700000000ULL + i); };
  int64_t used = 0;
  {
    auto store = RocksStateStore::Open(dir, Durability::kProcess);
    ASSERT_TRUE(store.ok());
    PolicyEngine engine(profile, &clock, store->get());
    ASSERT_TRUE(engine.UpsertBusiness("acme", true, false).ok());
    ASSERT_TRUE(engine.RegisterNumber(biz, "acme").ok());
    ASSERT_TRUE(
        engine
            .PutTemplate("acme", {"t", "en", TemplateCategory::kUtility, TemplateStatus::kApproved})
            .ok());
    for (int i = 0; i < 2000; ++i)
      ASSERT_TRUE(engine.RecordOptIn(biz, customer(i), OptInSource::kSms).ok());
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < 2000; i += 4) {
          OutgoingMessage m{biz, customer(i), MessageKind::kTemplate, "t", "en"};
          auto d = engine.Check(m);
          const bool allowed = d.ok() && d->allowed;
          if (allowed) admitted++;
          // Deliver only what was admitted: an unadmitted delivery counts too.
          if (allowed && i % 3 == 0) (void)engine.RecordDelivered(biz, customer(i));
          if (i % 7 == 0) (void)engine.RecordInbound(biz, customer(i), "hi");
          if (i % 11 == 0) (void)engine.RecordSignal(biz, customer(i), SignalKind::kBlockNoReason);
          if (i % 50 == 0) (void)engine.GetNumberState(biz);
          if (i % 500 == 0) (void)engine.Sweep();
        }
      });
    }
    for (auto& th : threads) th.join();
    auto s = engine.GetNumberState(biz);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->used, 1000);  // Limit 1,000: exactly that many admitted.
    EXPECT_EQ(admitted.load(), 1000);
    used = s->used;
  }
  auto store = RocksStateStore::Open(dir, Durability::kProcess);
  ASSERT_TRUE(store.ok());
  PolicyEngine engine(profile, &clock, nullptr);
  ASSERT_TRUE((*store)->LoadInto(engine).ok());
  EXPECT_EQ(engine.GetNumberState(biz)->used, used);
  std::filesystem::remove_all(dir);
}

// --- The profile stored with the data ----------------------------------------

// Every column family the store keeps, for opening its directory directly.
std::vector<rocksdb::ColumnFamilyDescriptor> AllFamilies() {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (int f = 0; f < kStateFamilyCount; ++f) {
    cfs.emplace_back(std::string(StateFamilyName(static_cast<StateFamily>(f))),
                     rocksdb::ColumnFamilyOptions());
  }
  cfs.emplace_back(std::string(kMetaFamilyName), rocksdb::ColumnFamilyOptions());
  cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  return cfs;
}

// The records of one column family (`index` into AllFamilies()), read
// directly from a closed store's directory.
std::map<std::string, std::string> ReadFamily(const std::string& dir, int index) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  EXPECT_TRUE(
      rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir, AllFamilies(), &handles, &db).ok());
  std::map<std::string, std::string> out;
  if (db == nullptr) return out;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[index]));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    out[it->key().ToString()] = it->value().ToString();
  it.reset();
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  return out;
}
std::map<std::string, std::string> ReadFamily(const std::string& dir, StateFamily f) {
  return ReadFamily(dir, static_cast<int>(f));
}

std::map<std::string, PoolRecord> ReadPools(const std::string& dir) {
  std::map<std::string, PoolRecord> out;
  for (const auto& [k, v] : ReadFamily(dir, StateFamily::kPool)) {
    absl::StatusOr<PoolRecord> p = DecodePool(k, v);
    EXPECT_TRUE(p.ok()) << p.status();
    if (p.ok()) out[k] = *p;
  }
  return out;
}

std::map<std::pair<std::string, uint64_t>, ConversationWindow> ReadLedger(const std::string& dir) {
  std::map<std::pair<std::string, uint64_t>, ConversationWindow> out;
  for (const auto& [k, v] : ReadFamily(dir, StateFamily::kLedger)) {
    absl::StatusOr<LedgerRecord> l = DecodeLedger(k, v);
    EXPECT_TRUE(l.ok()) << l.status();
    if (l.ok()) out[{l->pool_id, l->customer}] = l->window;
  }
  return out;
}

constexpr uint64_t kN1 = 14155550101, kN2 = 14155550102, kN3 = 14155550103;
constexpr int64_t kT = 1767225600000000;

// Profile A: the brief's (per number, 250/1K/10K/100K/unlimited).
PolicyProfile ProfileA() { return DefaultProfile(); }
// Profile B: same scope, the platform's ladder (250/2K/10K/100K/unlimited).
PolicyProfile ProfileB() {
  PolicyProfile p = DefaultProfile();
  p.name = "brief-2023-ladder-2025";
  p.ladder = {250, 2000, 10000, 100000, kUnlimited};
  return p;
}

// A directory written under `profile` with the codec's layouts: businesses
// acme (numbers kN1, kN2) and beta (kN3), per-number pools at the given
// levels, and conversations.
std::string WriteCodecState(const PolicyProfile& profile) {
  const std::string dir = TempDir();
  auto store = RocksStateStore::Open(dir, Durability::kProcess);
  EXPECT_TRUE(store.ok());
  auto check = (*store)->CheckProfile(profile, false);
  EXPECT_TRUE(check.ok()) << check.status();
  StateChanges ch = {
      EncodeBusiness({"acme", true, false}),
      EncodeBusiness({"beta", false, false}),
      EncodeNumber({kN1, "acme"}),
      EncodeNumber({kN2, "acme"}),
      EncodeNumber({kN3, "beta"}),
      // 10K with an upgrade to 100K pending; 1K with one to 10K; 100K.
      EncodePool({PoolIdForNumber(kN1), "acme", 2, 3, kT + 1}),
      EncodePool({PoolIdForNumber(kN2), "acme", 1, 2, kT + 2}),
      EncodePool({PoolIdForNumber(kN3), "beta", 3, -1, 0}),
      // Customer 7 talks to both of acme's numbers.
      EncodeLedger({PoolIdForNumber(kN1), 7, {kT, kT + 100, kT, false}}),
      EncodeLedger({PoolIdForNumber(kN2), 7, {kT + 50, kT + 150, kT + 50, true}}),
      EncodeLedger({PoolIdForNumber(kN2), 8, {kT, kT + 100, kT - 9, false}}),
      EncodeLedger({PoolIdForNumber(kN3), 9, {kT, kT + 100, kT, false}}),
  };
  EXPECT_TRUE((*store)->Commit(std::move(ch)).ok());
  return dir;
}

TEST(RocksStateStoreProfileTest, AnEmptyDirectoryRecordsTheProfile) {
  const std::string dir = TempDir();
  {
    auto store = RocksStateStore::Open(dir, Durability::kProcess);
    ASSERT_TRUE(store.ok());
    auto check = (*store)->CheckProfile(ProfileA(), false);
    ASSERT_TRUE(check.ok()) << check.status();
    EXPECT_EQ(check->outcome, ProfileCheck::Outcome::kRecorded);
  }
  auto meta = ReadFamily(dir, kStateFamilyCount);
  ASSERT_EQ(meta.count(std::string(kProfileKey)), 1u);
  auto record = DecodeProfile(meta[std::string(kProfileKey)]);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->profile, IdentityOf(ProfileA()));
  EXPECT_EQ(record->records_format_version, kRecordFormatVersion);
  auto store = RocksStateStore::Open(dir, Durability::kProcess);
  ASSERT_TRUE(store.ok());
  auto check = (*store)->CheckProfile(ProfileA(), false);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->outcome, ProfileCheck::Outcome::kSame);
  EXPECT_EQ(check->stored, DescribeProfile(IdentityOf(ProfileA())));
  std::filesystem::remove_all(dir);
}

TEST(RocksStateStoreProfileTest, AnotherProfileIsRefusedNamingWhatDiffers) {
  const std::string dir = WriteCodecState(ProfileA());
  const auto pools_before = ReadPools(dir);
  {
    auto store = RocksStateStore::Open(dir, Durability::kProcess);
    ASSERT_TRUE(store.ok());
    auto check = (*store)->CheckProfile(Portfolio2025Profile(), false);
    ASSERT_EQ(check.status().code(), absl::StatusCode::kFailedPrecondition) << check.status();
    const std::string msg(check.status().message());
    EXPECT_NE(msg.find("data directory was written under profile brief-2023 rev 1 ladder "
                       "[250,1000,10000,100000,unlimited] per number"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("this server runs platform-2025-10 rev 1 ladder "
                       "[250,2000,10000,100000,unlimited] per portfolio"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("differs in name, ladder, limit scope"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--migrate_profile"), std::string::npos) << msg;

    PolicyProfile rev2 = ProfileA();
    rev2.revision = 2;
    check = (*store)->CheckProfile(rev2, false);
    ASSERT_EQ(check.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(check.status().message().find("differs in revision;"), absl::string_view::npos)
        << check.status();
    check = (*store)->CheckProfile(ProfileB(), false);
    ASSERT_EQ(check.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(check.status().message().find("differs in name, ladder;"), absl::string_view::npos)
        << check.status();
  }
  // Nothing was changed by the refusals.
  const auto pools_after = ReadPools(dir);
  ASSERT_EQ(pools_after.size(), pools_before.size());
  for (const auto& [id, p] : pools_before) EXPECT_EQ(pools_after.at(id).level, p.level);
  auto record = DecodeProfile(ReadFamily(dir, kStateFamilyCount)[std::string(kProfileKey)]);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->profile, IdentityOf(ProfileA()));
  std::filesystem::remove_all(dir);
}

TEST(RocksStateStoreProfileTest, MigrateMovesPoolsOntoTheNewLadder) {
  const std::string dir = WriteCodecState(ProfileA());
  const auto ledger_before = ReadLedger(dir);
  {
    auto store = RocksStateStore::Open(dir, Durability::kProcess);
    ASSERT_TRUE(store.ok());
    auto check = (*store)->CheckProfile(ProfileB(), true);
    ASSERT_TRUE(check.ok()) << check.status();
    EXPECT_EQ(check->outcome, ProfileCheck::Outcome::kMigrated);
    EXPECT_EQ(check->pools_migrated, 3);
    EXPECT_EQ(check->stored, DescribeProfile(IdentityOf(ProfileA())));
  }
  auto pools = ReadPools(dir);
  ASSERT_EQ(pools.size(), 3u);
  // 10K stays 10K; its pending 100K stays pending.
  const PoolRecord& p1 = pools.at(PoolIdForNumber(kN1));
  EXPECT_EQ(p1.level, 2);
  EXPECT_EQ(p1.pending_level, 3);
  EXPECT_EQ(p1.pending_at_us, kT + 1);
  // 1K is nearer 250 than 2K: 250 (level 0); the pending 10K stays above it.
  const PoolRecord& p2 = pools.at(PoolIdForNumber(kN2));
  EXPECT_EQ(p2.level, 0);
  EXPECT_EQ(p2.pending_level, 2);
  EXPECT_EQ(pools.at(PoolIdForNumber(kN3)).level, 3);
  EXPECT_EQ(pools.at(PoolIdForNumber(kN3)).pending_level, -1);
  // Same scope: conversations untouched.
  EXPECT_EQ(ReadLedger(dir).size(), ledger_before.size());
  // The new profile is recorded with the data: a restart needs no flag.
  auto store = RocksStateStore::Open(dir, Durability::kProcess);
  ASSERT_TRUE(store.ok());
  auto check = (*store)->CheckProfile(ProfileB(), false);
  ASSERT_TRUE(check.ok()) << check.status();
  EXPECT_EQ(check->outcome, ProfileCheck::Outcome::kSame);
  EXPECT_EQ((*store)->CheckProfile(ProfileA(), false).status().code(),
            absl::StatusCode::kFailedPrecondition);
  std::filesystem::remove_all(dir);
}

TEST(RocksStateStoreProfileTest, MigrateToPortfolioScopeMergesANumbersPools) {
  const std::string dir = WriteCodecState(ProfileA());
  {
    auto store = RocksStateStore::Open(dir, Durability::kProcess);
    ASSERT_TRUE(store.ok());
    auto check = (*store)->CheckProfile(Portfolio2025Profile(), true);
    ASSERT_TRUE(check.ok()) << check.status();
    EXPECT_EQ(check->outcome, ProfileCheck::Outcome::kMigrated);
    EXPECT_EQ(check->pools_migrated, 2);
  }
  auto pools = ReadPools(dir);
  ASSERT_EQ(pools.size(), 2u);
  // acme: 10K and 1K (-> 250) numbers: the portfolio keeps the higher, 10K,
  // with the higher pending upgrade (100K).
  const PoolRecord& acme = pools.at(PoolIdForBusiness("acme"));
  EXPECT_EQ(acme.business_id, "acme");
  EXPECT_EQ(acme.level, 2);
  EXPECT_EQ(acme.pending_level, 3);
  EXPECT_EQ(acme.pending_at_us, kT + 1);
  EXPECT_EQ(pools.at(PoolIdForBusiness("beta")).level, 3);
  auto ledger = ReadLedger(dir);
  ASSERT_EQ(ledger.size(), 3u);
  // Customer 7's two slots become one: the later-ending one, the latest start.
  const ConversationWindow& w7 = ledger.at({PoolIdForBusiness("acme"), 7});
  EXPECT_EQ(w7.slot_end_us, kT + 150);
  EXPECT_TRUE(w7.pending);
  EXPECT_EQ(w7.last_start_us, kT + 50);
  EXPECT_EQ(ledger.at({PoolIdForBusiness("acme"), 8}).last_start_us, kT - 9);
  EXPECT_EQ(ledger.count({PoolIdForBusiness("beta"), 9}), 1u);

  // And back to per-number limits: every number gets its portfolio's limit
  // and counts all its conversations.
  {
    auto store = RocksStateStore::Open(dir, Durability::kProcess);
    ASSERT_TRUE(store.ok());
    auto check = (*store)->CheckProfile(ProfileA(), true);
    ASSERT_TRUE(check.ok()) << check.status();
  }
  pools = ReadPools(dir);
  ASSERT_EQ(pools.size(), 3u);
  EXPECT_EQ(pools.at(PoolIdForNumber(kN1)).level, 2);
  EXPECT_EQ(pools.at(PoolIdForNumber(kN2)).level, 2);
  EXPECT_EQ(pools.at(PoolIdForNumber(kN3)).level, 3);
  ledger = ReadLedger(dir);
  EXPECT_EQ(ledger.size(), 5u);  // acme's 2 customers on each of 2 numbers, beta's 1.
  EXPECT_EQ(ledger.count({PoolIdForNumber(kN1), 8}), 1u);
  EXPECT_EQ(ledger.count({PoolIdForNumber(kN2), 7}), 1u);
  std::filesystem::remove_all(dir);
}

TEST(RocksStateStoreProfileTest, DataWithoutAProfileRecordIsRefused) {
  const std::string dir = TempDir();
  {
    auto store = RocksStateStore::Open(dir, Durability::kProcess);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(
        (*store)
            ->Commit({{StateFamily::kBusiness, false, ToRecordBytes("acme"), ToRecordBytes("\1")}})
            .ok());
  }
  auto store = RocksStateStore::Open(dir, Durability::kProcess);
  ASSERT_TRUE(store.ok());
  for (bool migrate : {false, true}) {
    auto check = (*store)->CheckProfile(ProfileA(), migrate);
    EXPECT_EQ(check.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(check.status().message().find("written before records had format versions"),
              absl::string_view::npos)
        << check.status();
  }
  std::filesystem::remove_all(dir);
}

TEST(RocksStateStoreProfileTest, RecordsOfANewerFormatAreRefused) {
  const std::string dir = TempDir();
  {
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir, AllFamilies(), &handles, &db).ok());
    ProfileRecord r{IdentityOf(ProfileA()), kRecordFormatVersion + 1};
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[kStateFamilyCount],
                        std::string(kProfileKey), EncodeProfile(r))
                    .ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  auto store = RocksStateStore::Open(dir, Durability::kProcess);
  ASSERT_TRUE(store.ok());
  auto check = (*store)->CheckProfile(ProfileA(), true);
  EXPECT_EQ(check.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(check.status().message().find("written by a newer server"), absl::string_view::npos)
      << check.status();
  std::filesystem::remove_all(dir);
}

TEST(RocksStateStoreTest, OpenFailsCleanlyOnABadDirectory) {
  auto store = RocksStateStore::Open("/proc/definitely/not/here", Durability::kProcess);
  EXPECT_FALSE(store.ok());
}

}  // namespace
}  // namespace wapolicy
