// Cost of encoding the per-admission state records (ledger, thread, consent)
// with the record codec (protobuf values, hand-written into RecordBytes)
// against the old byte layouts of policy/byte_codec.h, and of decoding them.
// Run: bazel run -c opt //bench:record_codec_bench

#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "policy/byte_codec.h"
#include "policy/record_codec.h"

namespace wapolicy {
namespace {

constexpr int64_t kT = 1767225600000000;
constexpr uint64_t kNumber = 14155550100, kCustomer = 447700900001;

// --- The old layouts (as EngineShard::Emit* wrote them) ----------------------

StateChange OldLedger(const std::string& pool_id, uint64_t customer, const ConversationWindow& w) {
  StateChange c{StateFamily::kLedger, false, {}, {}};
  PutString(&c.key, pool_id);
  PutFixed64(&c.key, customer);
  PutFixed64(&c.value, static_cast<uint64_t>(w.slot_start_us));
  PutFixed64(&c.value, static_cast<uint64_t>(w.slot_end_us));
  PutFixed64(&c.value, static_cast<uint64_t>(w.last_start_us));
  PutFixed8(&c.value, w.pending ? 1 : 0);
  return c;
}

StateChange OldThread(uint64_t number, uint64_t customer, const ServiceWindow& w) {
  StateChange c{StateFamily::kThread, false, {}, {}};
  PutFixed64(&c.key, number);
  PutFixed64(&c.key, customer);
  PutFixed64(&c.value, static_cast<uint64_t>(w.last_inbound_us));
  PutFixed64(&c.value, static_cast<uint64_t>(w.user_conversation_end_us));
  return c;
}

StateChange OldConsent(const ConsentRecord& r) {
  StateChange c{StateFamily::kConsent, false, {}, {}};
  PutString(&c.key, r.business_id);
  PutFixed64(&c.key, r.customer);
  PutFixed8(&c.value, static_cast<uint8_t>(r.state));
  PutFixed8(&c.value, static_cast<uint8_t>(r.source));
  PutFixed64(&c.value, static_cast<uint64_t>(r.changed_at_us));
  if (r.all_topics) {
    PutFixed8(&c.value, 0xff);
  } else {
    PutFixed8(&c.value, static_cast<uint8_t>(r.topics.size()));
    for (const std::string& n : r.topics) PutString(&c.value, n);
  }
  for (const std::vector<int64_t>* times : {&r.sends, &r.marketing}) {
    PutFixed8(&c.value, static_cast<uint8_t>(std::min<size_t>(times->size(), 255)));
    for (size_t i = times->size() > 255 ? times->size() - 255 : 0; i < times->size(); ++i) {
      PutFixed64(&c.value, static_cast<uint64_t>((*times)[i]));
    }
  }
  return c;
}

// --- Inputs ------------------------------------------------------------------

LedgerRecord Ledger() {
  return {PoolIdForNumber(kNumber), kCustomer, {kT, kT + 86400000000, kT, true}};
}
ThreadRecord Thread() { return {kNumber, kCustomer, {kT, kT + 86400000000}}; }
// A consent as the default profile's caps keep it: 10 sends, 2 of them marketing.
ConsentRecord Consent(int sends) {
  ConsentRecord r;
  r.business_id = "acme";
  r.customer = kCustomer;
  r.state = Consent::State::kOptedIn;
  r.source = OptInSource::kWebsite;
  r.changed_at_us = kT;
  for (int i = 0; i < sends; ++i) r.sends.push_back(kT + i * 1000000);
  for (int i = 0; i < sends / 5; ++i) r.marketing.push_back(kT + i * 5000000);
  return r;
}

// --- Encoding ----------------------------------------------------------------

void BM_EncodeLedger_Codec(benchmark::State& state) {
  const LedgerRecord r = Ledger();
  for (auto _ : state) {
    StateChange c = EncodeLedger(r);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_EncodeLedger_Codec);

void BM_EncodeLedger_OldLayout(benchmark::State& state) {
  const LedgerRecord r = Ledger();
  for (auto _ : state) {
    StateChange c = OldLedger(r.pool_id, r.customer, r.window);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_EncodeLedger_OldLayout);

void BM_EncodeThread_Codec(benchmark::State& state) {
  const ThreadRecord r = Thread();
  for (auto _ : state) {
    StateChange c = EncodeThread(r);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_EncodeThread_Codec);

void BM_EncodeThread_OldLayout(benchmark::State& state) {
  const ThreadRecord r = Thread();
  for (auto _ : state) {
    StateChange c = OldThread(r.number, r.customer, r.window);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_EncodeThread_OldLayout);

// Arg: sends in the history (10: the default caps; 255: the old layout's most).
void BM_EncodeConsent_Codec(benchmark::State& state) {
  const ConsentRecord r = Consent(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    StateChange c = EncodeConsent(r);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_EncodeConsent_Codec)->Arg(0)->Arg(10)->Arg(255);

void BM_EncodeConsent_OldLayout(benchmark::State& state) {
  const ConsentRecord r = Consent(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    StateChange c = OldConsent(r);
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_EncodeConsent_OldLayout)->Arg(0)->Arg(10)->Arg(255);

// --- Decoding (restart; not on the decision path) ------------------------------

void BM_DecodeLedger_Codec(benchmark::State& state) {
  const StateChange c = EncodeLedger(Ledger());
  for (auto _ : state) {
    auto r = DecodeLedger(View(c.key), View(c.value));
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_DecodeLedger_Codec);

void BM_DecodeConsent_Codec(benchmark::State& state) {
  const StateChange c = EncodeConsent(Consent(10));
  for (auto _ : state) {
    auto r = DecodeConsent(View(c.key), View(c.value));
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_DecodeConsent_Codec);

}  // namespace
}  // namespace wapolicy
