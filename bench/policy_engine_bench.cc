// In-process cost of the policy core's hot paths, by number of tracked
// customers (Google Benchmark). Run: bazel run -c opt //bench:policy_engine_bench
//
// Admissions that write go through the real RocksDB store (process
// durability: WAL write, no fsync), as in the server.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "policy/internal/huge_page_table.h"
#include "policy/policy_engine.h"
#include "storage/state_store.h"

namespace wapolicy {
namespace {

const PhoneNumber kBiz = PhoneNumber::FromDigitsValue(14155550100ULL);
PhoneNumber Customer(int64_t i) { return PhoneNumber::FromDigitsValue(447000000000ULL + i); }

// Forwards to the store once switched on: the fixture's set-up (up to 10M
// customers) is not written, the measured operations are.
class GatedJournal final : public StateJournal {
 public:
  explicit GatedJournal(StateJournal* target) : target_(target) {}
  uint64_t Append(StateChanges changes) override {
    return on_ ? target_->Append(std::move(changes)) : 0;
  }
  absl::Status Await(uint64_t ticket) override {
    return ticket == 0 ? absl::OkStatus() : target_->Await(ticket);
  }
  void set_on(bool on) { on_ = on; }

 private:
  StateJournal* target_;
  bool on_ = false;
};

// An engine with `tracked` customers opted in and in open conversations,
// plus `fresh` opted-in customers with none. The rules are the benchmark
// profile's: unlimited tier, no frequency caps and no per-second limits (as
// the Redis peer; the fake clock stands still, so at 80/s nearly every check
// would be held). With `rates`, the number's throughput is 1,000/s and the
// pair rate is on; the set-up is paced and the clock then moves past it.
struct Fixture {
  Fixture(int64_t tracked, int64_t fresh, bool durable, bool rates = false)
      : clock(absl::FromUnixSeconds(1767225600)) {
    PolicyProfile p = DefaultProfile();
    p.ladder = {kUnlimited};
    p.verified_start_level = p.unverified_start_level = p.unverified_max_level = 0;
    p.frequency_cap_per_day = p.marketing_cap_per_day = 0;
    p.throughput_mps = rates ? 1000 : 0;
    p.pair_rate_enabled = rates;
    // With rates the clock moves (1 ms a check: hours over a run), so the
    // set-up's reservations must outlive the run, or they time out after 15
    // minutes and most checks become new admissions (a reservation each),
    // which is not what the comparison with BM_CheckInOpenConversation is
    // about.
    if (rates) p.reservation_timeout = absl::Hours(24 * 365);
    if (durable) {
      char tmpl[] = "/tmp/wapolicy_bench_XXXXXX";
      dir = mkdtemp(tmpl);
      store = std::move(RocksStateStore::Open(dir, Durability::kProcess)).value();
      gate = std::make_unique<GatedJournal>(store.get());
    }
    engine = std::make_unique<PolicyEngine>(p, &clock, gate.get());
    (void)engine->UpsertBusiness("acme", true, false);
    (void)engine->RegisterNumber(kBiz, "acme");
    (void)engine->PutTemplate("acme",
                              {"t", "en", TemplateCategory::kUtility, TemplateStatus::kApproved});
    std::vector<OutgoingMessage> batch;
    for (int64_t i = 0; i < tracked + fresh; ++i) {
      (void)engine->RecordOptIn(kBiz, Customer(i), OptInSource::kWebsite);
      if (i < tracked) {
        batch.push_back(Message(i));
        batch.back().pace = rates;
      }
      if (batch.size() == 10000 || (i + 1 == tracked && !batch.empty())) {
        (void)engine->CheckBatch(
            batch);  // Admit; a reservation holds the slot as a conversation would.
        batch.clear();
      }
    }
    next_fresh = tracked;
    if (rates) clock.Advance(absl::Seconds(tracked / 1000 + 10));  // Past the paced set-up.
    if (gate != nullptr) gate->set_on(true);
  }
  ~Fixture() {
    engine.reset();
    store.reset();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
  static OutgoingMessage Message(int64_t customer) {
    return OutgoingMessage{kBiz, Customer(customer), MessageKind::kTemplate, "t", "en"};
  }
  ManualClock clock;
  std::string dir;
  std::unique_ptr<RocksStateStore> store;
  std::unique_ptr<GatedJournal> gate;
  std::unique_ptr<PolicyEngine> engine;
  int64_t next_fresh;
};

// As BM_CheckInOpenConversation, with the throughput (1,000/s) and pair rate
// on: the clock moves 64 ms every 64 checks, so none is held, and the
// difference is the rules' cost on an allowed check.
void BM_CheckInOpenConversationWithRates(benchmark::State& state) {
  const int64_t tracked = state.range(0);
  Fixture f(tracked, 0, /*durable=*/false, /*rates=*/true);
  std::mt19937_64 rng(1);
  int64_t n = 0;
  for (auto _ : state) {
    if ((++n & 63) == 0) f.clock.Advance(absl::Milliseconds(64));
    auto d = f.engine->Check(Fixture::Message(static_cast<int64_t>(rng() % tracked)));
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_CheckInOpenConversationWithRates)->Arg(100000);

void BM_CheckInOpenConversation(benchmark::State& state) {
  const int64_t tracked = state.range(0);
  Fixture f(tracked, 0, /*durable=*/false);
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto d = f.engine->Check(Fixture::Message(static_cast<int64_t>(rng() % tracked)));
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_CheckInOpenConversation)->Arg(1000)->Arg(100000)->Arg(10000000);

// What bounds BM_CheckInOpenConversation at 10M: one dependent load from
// memory on this machine. A random cycle through a table of 8-byte slots
// (on huge pages, as the engine's tables), each load's address from the last:
// Arg(1024) fits in cache, Arg(1 << 27) (1 GiB) goes to DRAM every hop.
void BM_DependentMemoryLoad(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint64_t, internal::HugePageAllocator<uint64_t>> next(n);
  std::vector<uint64_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(1));
  for (size_t i = 0; i < n; ++i) next[order[i]] = order[(i + 1) % n];
  uint64_t at = order[0];
  for (auto _ : state) {
    at = next[at];
    benchmark::DoNotOptimize(at);
  }
}
BENCHMARK(BM_DependentMemoryLoad)->Arg(1024)->Arg(1 << 27);

void BM_NewAdmissionDurable(benchmark::State& state) {
  const int64_t tracked = state.range(0);
  Fixture f(tracked, 200000, /*durable=*/true);
  for (auto _ : state) {
    if (f.next_fresh >= tracked + 200000) {
      state.SkipWithError("ran out of fresh customers");
      break;
    }
    auto d = f.engine->Check(Fixture::Message(f.next_fresh++));
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_NewAdmissionDurable)->Arg(1000)->Arg(100000)->Arg(10000000)->Iterations(100000);

void BM_InboundMessageDurable(benchmark::State& state) {
  const int64_t tracked = state.range(0);
  Fixture f(tracked, 0, /*durable=*/true);
  std::mt19937_64 rng(2);
  for (auto _ : state) {
    auto s = f.engine->RecordInbound(kBiz, Customer(static_cast<int64_t>(rng() % tracked)));
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_InboundMessageDurable)->Arg(1000)->Arg(100000)->Arg(10000000);

// The same customer messages as a webhook reports them: each with its own id
// (unique per iteration, as "wamid.<n>:read") and the platform's time, a few
// seconds before the server's. Every message is applied, its id remembered
// and journaled in the same write as its effect. The id is built in the loop,
// as a server would decode it from the request.
void BM_InboundMessageWithIdAndTimeDurable(benchmark::State& state) {
  const int64_t tracked = state.range(0);
  Fixture f(tracked, 0, /*durable=*/true);
  std::mt19937_64 rng(2);  // The customers of BM_InboundMessageDurable.
  EventMeta meta;
  meta.occurred_at_us = absl::ToUnixMicros(f.clock.Now() - absl::Seconds(3));
  int64_t next_id = 0;
  for (auto _ : state) {
    meta.event_id = absl::StrCat("wamid.", next_id++, ":read");
    auto s =
        f.engine->RecordInbound(kBiz, Customer(static_cast<int64_t>(rng() % tracked)), "", meta);
    if (!s.ok()) {
      state.SkipWithError(s.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_InboundMessageWithIdAndTimeDurable)->Arg(1000)->Arg(100000)->Arg(10000000);

// The clock above stands still, so a plain message writes only when it is its
// customer's first (after that the window does not move), while one with an id
// always writes (its id). Here the clock moves 1 us per message, as a live
// server's does, so every message moves its customer's window and is written:
// the pair measures what an id and a time add to an event that is written.
void InboundOnAMovingClock(benchmark::State& state, bool with_id_and_time) {
  const int64_t tracked = state.range(0);
  Fixture f(tracked, 0, /*durable=*/true);
  std::mt19937_64 rng(2);
  EventMeta meta;
  int64_t next_id = 0;
  for (auto _ : state) {
    f.clock.Advance(absl::Microseconds(1));
    if (with_id_and_time) {
      meta.occurred_at_us = absl::ToUnixMicros(f.clock.Now() - absl::Seconds(3));
      meta.event_id = absl::StrCat("wamid.", next_id++, ":read");
    }
    auto s =
        f.engine->RecordInbound(kBiz, Customer(static_cast<int64_t>(rng() % tracked)), "", meta);
    if (!s.ok()) {
      state.SkipWithError(s.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(s);
  }
}
void BM_InboundMessageMovingClockDurable(benchmark::State& state) {
  InboundOnAMovingClock(state, false);
}
void BM_InboundMessageWithIdAndTimeMovingClockDurable(benchmark::State& state) {
  InboundOnAMovingClock(state, true);
}
BENCHMARK(BM_InboundMessageMovingClockDurable)->Arg(1000)->Arg(100000)->Arg(10000000);
BENCHMARK(BM_InboundMessageWithIdAndTimeMovingClockDurable)->Arg(1000)->Arg(100000)->Arg(10000000);

void BM_CheckBatch(benchmark::State& state) {
  const int64_t tracked = state.range(0), batch = state.range(1);
  Fixture f(tracked, 0, /*durable=*/true);
  std::mt19937_64 rng(3);
  std::vector<OutgoingMessage> messages(batch);
  for (auto _ : state) {
    for (auto& m : messages) m = Fixture::Message(static_cast<int64_t>(rng() % tracked));
    auto out = f.engine->CheckBatch(messages);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_CheckBatch)
    ->Args({1000, 100})
    ->Args({1000, 1000})
    ->Args({100000, 100})
    ->Args({100000, 1000})
    ->Args({10000000, 100})
    ->Args({10000000, 1000});

// Batches of new admissions: every check opens a conversation and is written.
void BM_CheckBatchNewAdmissions(benchmark::State& state) {
  const int64_t tracked = state.range(0), batch = 100, fresh = 2000000;
  Fixture f(tracked, fresh, /*durable=*/true);
  std::vector<OutgoingMessage> messages(batch);
  for (auto _ : state) {
    if (f.next_fresh + batch > tracked + fresh) {
      state.SkipWithError("ran out of fresh customers");
      break;
    }
    for (auto& m : messages) m = Fixture::Message(f.next_fresh++);
    auto out = f.engine->CheckBatch(messages);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_CheckBatchNewAdmissions)->Arg(1000)->Arg(100000)->Arg(10000000)->Iterations(15000);

}  // namespace
}  // namespace wapolicy
