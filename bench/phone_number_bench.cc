// Cost of reading a phone number (Google Benchmark).
// Run: bazel run -c opt //bench:phone_number_bench
//
// Canonical E.164 (what pipelines normally send) takes PhoneNumber::Parse's
// fast path; formatted or non-canonical strings take libphonenumber's full
// parse. The digits-only parser the engine had before libphonenumber is the
// baseline.

#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "policy/phone_number.h"

namespace wapolicy {
namespace {

// Numbers of several plans: US, UK, India, Italy (leading zero), Germany,
// Brazil, Niue, a non-geographic +882.
const std::vector<std::string>& Canonical() {
  static const auto* v = new std::vector<std::string>{
      "+14155550100", "+447700900001",  "+917834811114", "+390612345678",
      "+4930123456",  "+5511912345678", "+6837012",      "+882123456789012"};
  return *v;
}

const std::vector<std::string>& Formatted() {
  static const auto* v = new std::vector<std::string>{
      "+1 415-555-0100",  "+44 07700 900001",  "+91 78348 11114", "+39 06 1234 5678",
      "+49 (0)30 123456", "+55 11 91234-5678", "+683 7012",       "+882 1234 5678 9012"};
  return *v;
}

// Digits only, but not canonical: the trunk zero after the country code.
const std::vector<std::string>& TrunkZero() {
  static const auto* v = new std::vector<std::string>{"+4407700900001", "+49030123456",
                                                      "+33612345678", "+330612345678"};
  return *v;
}

// The parser before libphonenumber: digits only, 8 to 15 of them.
bool OldParse(const std::string& s, uint64_t* out) {
  size_t i = !s.empty() && s[0] == '+' ? 1 : 0;
  if (s.size() - i < 8 || s.size() - i > 15 || s[i] == '0') return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  *out = v;
  return true;
}

void BM_OldDigitsOnlyParse(benchmark::State& state) {
  const auto& in = Canonical();
  size_t i = 0;
  for (auto _ : state) {
    uint64_t v = 0;
    benchmark::DoNotOptimize(OldParse(in[i++ % in.size()], &v));
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_OldDigitsOnlyParse);

void Run(benchmark::State& state, const std::vector<std::string>& in,
         absl::StatusOr<PhoneNumber> (*parse)(absl::string_view)) {
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<PhoneNumber> p = parse(in[i++ % in.size()]);
    if (!p.ok()) state.SkipWithError(std::string(p.status().message()).c_str());
    benchmark::DoNotOptimize(p);
  }
}

void BM_ParseCanonical(benchmark::State& state) { Run(state, Canonical(), &PhoneNumber::Parse); }
BENCHMARK(BM_ParseCanonical);

// The same strings without the fast path: what it saves.
void BM_FullParseCanonical(benchmark::State& state) {
  Run(state, Canonical(), &phone_number_internal::ParseWithLibphonenumber);
}
BENCHMARK(BM_FullParseCanonical);

void BM_ParseFormatted(benchmark::State& state) { Run(state, Formatted(), &PhoneNumber::Parse); }
BENCHMARK(BM_ParseFormatted);

void BM_ParseTrunkZero(benchmark::State& state) { Run(state, TrunkZero(), &PhoneNumber::Parse); }
BENCHMARK(BM_ParseTrunkZero);

void BM_ParseRefused(benchmark::State& state) {
  const std::vector<std::string> in = {"+999999999999999", "+1 555 0123", "+44 77", "+91-78x"};
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(PhoneNumber::Parse(in[i++ % in.size()]));
}
BENCHMARK(BM_ParseRefused);

void BM_DescribePhoneNumber(benchmark::State& state) {
  std::vector<PhoneNumber> in;
  for (const std::string& s : Canonical()) in.push_back(*PhoneNumber::Parse(s));
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(DescribePhoneNumber(in[i++ % in.size()]));
}
BENCHMARK(BM_DescribePhoneNumber);

}  // namespace
}  // namespace wapolicy
