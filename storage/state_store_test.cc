#include "storage/state_store.h"

#include <cstdlib>
#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "policy/test_util.h"

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
    ASSERT_TRUE(engine.PutTemplate("acme", {"t", "en", TemplateCategory::kUtility, TemplateStatus::kApproved}).ok());
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
  std::filesystem::remove_all(dir);
}

// Checks, deliveries, inbound messages, signals, state reads and sweeps from
// several threads at once on an engine writing to the real store; then the
// store alone rebuilds the same counts. (Run under --config=tsan too.)
TEST(RocksStateStoreTest, EngineUnderConcurrentMixedLoadStaysConsistent) {
  const std::string dir = TempDir();
  ManualClock clock(absl::FromUnixSeconds(1767225600));
  PolicyProfile profile = DefaultProfile();
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
    ASSERT_TRUE(engine.PutTemplate("acme", {"t", "en", TemplateCategory::kUtility, TemplateStatus::kApproved}).ok());
    for (int i = 0; i < 2000; ++i) ASSERT_TRUE(engine.RecordOptIn(biz, customer(i), OptInSource::kSms).ok());
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

TEST(RocksStateStoreTest, OpenFailsCleanlyOnABadDirectory) {
  auto store = RocksStateStore::Open("/proc/definitely/not/here", Durability::kProcess);
  EXPECT_FALSE(store.ok());
}

}  // namespace
}  // namespace wapolicy
