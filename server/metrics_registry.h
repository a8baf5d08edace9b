// Metrics in the Prometheus text exposition format (0.0.4), for /metrics.
// Debian packages no Prometheus C++ client, so this is the small part of one
// the server needs: counters and histograms that the decision path can bump
// without contention (each increment touches one of 16 cache lines, picked by
// thread), values read through callbacks (gauges, and counters kept
// elsewhere), and Render() exact to the format: HELP and TYPE once per family,
// escaped label values, cumulative `_bucket{le=...}` with `+Inf`, `_sum`,
// `_count`.
//
//   MetricsRegistry registry;
//   Counter* held = registry.AddCounter("wapolicy_decisions_total", "Decisions.",
//                                       {{"reason", "LIMIT_REACHED"}});
//   held->Add();
//   registry.AddGauge("wapolicy_numbers", "Registered numbers.", {}, [&] { return 3.0; });
//   std::string text = registry.Render();
#ifndef WAPOLICY_SERVER_METRICS_REGISTRY_H_
#define WAPOLICY_SERVER_METRICS_REGISTRY_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace wapolicy {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

namespace metrics_internal {
inline constexpr int kCells = 16;
// This thread's cell: threads spread over the cells, each keeps its own.
size_t ThreadCell();
struct alignas(64) Cell {
  std::atomic<int64_t> v{0};
};
}  // namespace metrics_internal

// A monotonically increasing count.
class Counter {
 public:
  void Add(int64_t n = 1) {
    cells_[metrics_internal::ThreadCell()].v.fetch_add(n, std::memory_order_relaxed);
  }
  int64_t Value() const;

 private:
  std::array<metrics_internal::Cell, metrics_internal::kCells> cells_;
};

// Observations in fixed buckets (upper bounds, ascending), with their sum.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  // Counts per bucket (not cumulative; the last is above every bound), sum.
  std::vector<int64_t> Counts() const;
  double Sum() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  // Per cell: one count per bucket + the overflow bucket.
  std::unique_ptr<std::atomic<int64_t>[]> counts_;
  std::array<std::atomic<double>, metrics_internal::kCells> sums_{};
};

class MetricsRegistry {
 public:
  // Each returns a metric owned by the registry, alive as long as it is.
  // Metrics of one name form a family and must share its type and help.
  Counter* AddCounter(const std::string& name, const std::string& help, MetricLabels labels);
  Histogram* AddHistogram(const std::string& name, const std::string& help,
                          std::vector<double> bounds, MetricLabels labels);
  // Read when rendered.
  void AddGauge(const std::string& name, const std::string& help, MetricLabels labels,
                std::function<double()> read);
  void AddCounterFunc(const std::string& name, const std::string& help, MetricLabels labels,
                      std::function<double()> read);
  // A gauge family whose series are found when rendered (e.g. numbers by
  // status): `collect` returns each series' labels and value.
  using Collect = std::function<std::vector<std::pair<MetricLabels, double>>()>;
  void AddGaugeFamily(const std::string& name, const std::string& help, Collect collect);

  std::string Render() const;

 private:
  struct Series {
    MetricLabels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> read;
  };
  struct Family {
    std::string name, help, type;  // type: counter, gauge, histogram.
    std::vector<Series> series;
    Collect collect;  // Series found at render time, besides `series`.
  };
  Family& FamilyOf(const std::string& name, const std::string& help, const std::string& type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mu_);
};

// `v` escaped for a label value: backslash, double quote and newline.
std::string EscapeLabelValue(const std::string& v);

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_METRICS_REGISTRY_H_
