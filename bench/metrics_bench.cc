// What /metrics costs a decision: ServerMetrics::Decided (a sharded counter
// by reason, and the shadow counter's test) plus a latency histogram's
// Observe, as PolicyServiceImpl does per Check (a batch does Decided per
// decision and one Observe per call). Run alone and from several threads at
// once (the counters are sharded so threads do not share a cache line).
//
//   bazel run -c opt //bench:metrics_bench
#include <chrono>

#include "benchmark/benchmark.h"
#include "proto/wapolicy/v1/policy.pb.h"
#include "server/metrics_registry.h"
#include "server/server_metrics.h"

namespace wapolicy {
namespace {

MetricsRegistry* Registry() {
  static MetricsRegistry* r = new MetricsRegistry();
  return r;
}
ServerMetrics* Metrics() {
  static ServerMetrics* m = new ServerMetrics(Registry(), "bench");
  return m;
}

// Per Check: Decided, the clock read and one Observe.
void BM_CountACheck(benchmark::State& state) {
  ServerMetrics* metrics = Metrics();
  v1::Decision d;
  d.set_reason(v1::ALLOWED);
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    metrics->Decided(d);
    metrics->check_seconds()->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}
BENCHMARK(BM_CountACheck)->Threads(1)->Threads(2)->Threads(4);

// Per decision in a batch: Decided only.
void BM_CountABatchedDecision(benchmark::State& state) {
  ServerMetrics* metrics = Metrics();
  v1::Decision d;
  d.set_reason(v1::LIMIT_REACHED);
  for (auto _ : state) metrics->Decided(d);
}
BENCHMARK(BM_CountABatchedDecision)->Threads(1)->Threads(2)->Threads(4);

}  // namespace
}  // namespace wapolicy
