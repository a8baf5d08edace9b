#include "server/metrics_registry.h"

#include <cmath>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"

namespace wapolicy {
namespace metrics_internal {

size_t ThreadCell() {
  static std::atomic<size_t> next{0};
  thread_local const size_t cell = next.fetch_add(1, std::memory_order_relaxed) % kCells;
  return cell;
}

}  // namespace metrics_internal

using metrics_internal::kCells;

int64_t Counter::Value() const {
  int64_t total = 0;
  for (const auto& c : cells_) total += c.v.load(std::memory_order_relaxed);
  return total;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<int64_t>[kCells * (bounds_.size() + 1)]) {
  for (size_t i = 0; i < kCells * (bounds_.size() + 1); ++i) counts_[i] = 0;
  for (auto& s : sums_) s = 0;
}

void Histogram::Observe(double v) {
  size_t b = 0;
  while (b < bounds_.size() && v > bounds_[b]) ++b;
  const size_t cell = metrics_internal::ThreadCell();
  counts_[cell * (bounds_.size() + 1) + b].fetch_add(1, std::memory_order_relaxed);
  std::atomic<double>& sum = sums_[cell];
  double seen = sum.load(std::memory_order_relaxed);
  while (!sum.compare_exchange_weak(seen, seen + v, std::memory_order_relaxed)) {
  }
}

std::vector<int64_t> Histogram::Counts() const {
  std::vector<int64_t> out(bounds_.size() + 1, 0);
  for (size_t c = 0; c < kCells; ++c) {
    for (size_t b = 0; b <= bounds_.size(); ++b) {
      out[b] += counts_[c * (bounds_.size() + 1) + b].load(std::memory_order_relaxed);
    }
  }
  return out;
}

double Histogram::Sum() const {
  double total = 0;
  for (const auto& s : sums_) total += s.load(std::memory_order_relaxed);
  return total;
}

namespace {

// Backslash and newline escaped, and (in label values) double quotes.
std::string Escape(const std::string& v, bool quotes) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(const std::string& v) { return Escape(v, /*quotes=*/true); }

namespace {

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string LabelText(const MetricLabels& labels, const std::string& extra_name = "",
                      const std::string& extra_value = "") {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    absl::StrAppend(&out, first ? "" : ",", k, "=\"", EscapeLabelValue(v), "\"");
    first = false;
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, first ? "" : ",", extra_name, "=\"", extra_value, "\"");
  }
  return out + "}";
}

}  // namespace

MetricsRegistry::Family& MetricsRegistry::FamilyOf(const std::string& name, const std::string& help,
                                                   const std::string& type) {
  for (auto& f : families_) {
    if (f->name == name) return *f;
  }
  families_.push_back(std::make_unique<Family>(Family{name, help, type, {}, nullptr}));
  return *families_.back();
}

Counter* MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                     MetricLabels labels) {
  absl::MutexLock lock(&mu_);
  Series s;
  s.labels = std::move(labels);
  s.counter = std::make_unique<Counter>();
  Counter* out = s.counter.get();
  FamilyOf(name, help, "counter").series.push_back(std::move(s));
  return out;
}

Histogram* MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                         std::vector<double> bounds, MetricLabels labels) {
  absl::MutexLock lock(&mu_);
  Series s;
  s.labels = std::move(labels);
  s.histogram = std::make_unique<Histogram>(std::move(bounds));
  Histogram* out = s.histogram.get();
  FamilyOf(name, help, "histogram").series.push_back(std::move(s));
  return out;
}

void MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                               MetricLabels labels, std::function<double()> read) {
  absl::MutexLock lock(&mu_);
  FamilyOf(name, help, "gauge")
      .series.push_back(Series{std::move(labels), nullptr, nullptr, std::move(read)});
}

void MetricsRegistry::AddCounterFunc(const std::string& name, const std::string& help,
                                     MetricLabels labels, std::function<double()> read) {
  absl::MutexLock lock(&mu_);
  FamilyOf(name, help, "counter")
      .series.push_back(Series{std::move(labels), nullptr, nullptr, std::move(read)});
}

void MetricsRegistry::AddGaugeFamily(const std::string& name, const std::string& help,
                                     Collect collect) {
  absl::MutexLock lock(&mu_);
  FamilyOf(name, help, "gauge").collect = std::move(collect);
}

std::string MetricsRegistry::Render() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& f : families_) {
    absl::StrAppend(&out, "# HELP ", f->name, " ", Escape(f->help, /*quotes=*/false), "\n# TYPE ",
                    f->name, " ", f->type, "\n");
    for (const Series& s : f->series) {
      if (s.histogram != nullptr) {
        const std::vector<int64_t> counts = s.histogram->Counts();
        int64_t cumulative = 0;
        for (size_t b = 0; b < counts.size(); ++b) {
          cumulative += counts[b];
          const std::string le = b < s.histogram->bounds().size() ? Number(s.histogram->bounds()[b])
                                                                  : std::string("+Inf");
          absl::StrAppend(&out, f->name, "_bucket", LabelText(s.labels, "le", le), " ", cumulative,
                          "\n");
        }
        absl::StrAppend(&out, f->name, "_sum", LabelText(s.labels), " ", Number(s.histogram->Sum()),
                        "\n", f->name, "_count", LabelText(s.labels), " ", cumulative, "\n");
        continue;
      }
      const double v = s.counter != nullptr ? static_cast<double>(s.counter->Value()) : s.read();
      absl::StrAppend(&out, f->name, LabelText(s.labels), " ", Number(v), "\n");
    }
    if (f->collect) {
      for (const auto& [labels, v] : f->collect()) {
        absl::StrAppend(&out, f->name, LabelText(labels), " ", Number(v), "\n");
      }
    }
  }
  return out;
}

}  // namespace wapolicy
