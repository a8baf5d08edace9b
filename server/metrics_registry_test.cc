#include "server/metrics_registry.h"

#include <map>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace wapolicy {
namespace {

// Parses exposition text: every line a comment (HELP/TYPE) or
// `name{labels} value`; returns the samples by their full series text.
std::map<std::string, std::string> Samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?) (\S+)$)");
  const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, sample)) {
      out[m[1]] = m[5];
    } else {
      EXPECT_TRUE(std::regex_match(line, comment)) << "not exposition format: " << line;
    }
  }
  return out;
}

TEST(MetricsRegistryTest, CountersSumOverThreadsAndRenderOncePerFamily) {
  MetricsRegistry r;
  Counter* allowed = r.AddCounter("x_decisions_total", "Decisions.", {{"reason", "ALLOWED"}});
  Counter* held = r.AddCounter("x_decisions_total", "Decisions.", {{"reason", "LIMIT_REACHED"}});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) allowed->Add();
    });
  }
  for (auto& t : threads) t.join();
  held->Add(3);
  const std::string text = r.Render();
  auto s = Samples(text);
  EXPECT_EQ(s["x_decisions_total{reason=\"ALLOWED\"}"], "8000");
  EXPECT_EQ(s["x_decisions_total{reason=\"LIMIT_REACHED\"}"], "3");
  // HELP and TYPE once for the family, before its samples.
  EXPECT_EQ(text.find("# HELP x_decisions_total Decisions.\n# TYPE x_decisions_total counter\n"),
            0u)
      << text;
  EXPECT_EQ(text.find("# TYPE", 10), text.rfind("# TYPE")) << text;
}

TEST(MetricsRegistryTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry r;
  Histogram* h = r.AddHistogram("x_seconds", "Latency.", {0.001, 0.01, 0.1}, {{"call", "Check"}});
  for (double v : {0.0005, 0.002, 0.002, 0.05, 3.0}) h->Observe(v);
  auto s = Samples(r.Render());
  EXPECT_EQ(s["x_seconds_bucket{call=\"Check\",le=\"0.001\"}"], "1");
  EXPECT_EQ(s["x_seconds_bucket{call=\"Check\",le=\"0.01\"}"], "3");
  EXPECT_EQ(s["x_seconds_bucket{call=\"Check\",le=\"0.1\"}"], "4");
  EXPECT_EQ(s["x_seconds_bucket{call=\"Check\",le=\"+Inf\"}"], "5");
  EXPECT_EQ(s["x_seconds_count{call=\"Check\"}"], "5");
  EXPECT_NEAR(std::stod(s["x_seconds_sum{call=\"Check\"}"]), 3.0545, 1e-9);
}

TEST(MetricsRegistryTest, LabelValuesAndHelpAreEscaped) {
  MetricsRegistry r;
  r.AddGauge("x_g", "A \\ help\nline.", {{"v", "a\"b\\c\nd"}}, [] { return 2.5; });
  const std::string text = r.Render();
  EXPECT_NE(text.find("# HELP x_g A \\\\ help\\nline.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_g{v=\"a\\\"b\\\\c\\nd\"} 2.5\n"), std::string::npos) << text;
  Samples(text);  // Every line parses.
}

TEST(MetricsRegistryTest, CallbacksAreReadAtRenderTime) {
  MetricsRegistry r;
  double v = 1;
  r.AddCounterFunc("x_total", "Kept elsewhere.", {}, [&] { return v; });
  EXPECT_EQ(Samples(r.Render())["x_total"], "1");
  v = 42;
  EXPECT_EQ(Samples(r.Render())["x_total"], "42");
}

TEST(MetricsRegistryTest, AGaugeFamilyRendersTheSeriesItCollects) {
  MetricsRegistry r;
  int calls = 0;
  r.AddGaugeFamily("x_numbers", "By status.", [&] {
    ++calls;
    return std::vector<std::pair<MetricLabels, double>>{{{{"status", "CONNECTED"}}, 3},
                                                        {{{"status", "FLAGGED"}}, 1}};
  });
  auto s = Samples(r.Render());
  EXPECT_EQ(s["x_numbers{status=\"CONNECTED\"}"], "3");
  EXPECT_EQ(s["x_numbers{status=\"FLAGGED\"}"], "1");
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace wapolicy
