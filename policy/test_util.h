// Helpers for the policy core's tests only: durations in microseconds, a
// phone number parser that expects valid input, and a StateJournal held in
// memory that can be told to fail, and can rebuild an engine from it.
//
//   MemoryJournal journal;
//   PolicyEngine engine(profile, &clock, &journal);
//   journal.set_fail(true);  // The next commit fails.
//   PolicyEngine restored(profile, &clock);
//   ASSERT_TRUE(journal.RestoreInto(restored).ok());
#ifndef WAPOLICY_POLICY_TEST_UTIL_H_
#define WAPOLICY_POLICY_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "policy/phone_number.h"
#include "policy/policy_profile.h"
#include "policy/state_journal.h"

namespace wapolicy {

// Durations in Unix microseconds, for tests of the pure rule functions.
inline constexpr int64_t kSecond = 1000000;
inline constexpr int64_t kMinute = 60 * kSecond;
inline constexpr int64_t kHour = 60 * kMinute;
inline constexpr int64_t kDay = 24 * kHour;
inline constexpr int64_t kWeek = 7 * kDay;

// `p` without the per-second limits (rate_limits.h): for tests of other rules
// that admit thousands of customers in one instant of a fake clock, which the
// throughput rule would rightly spread over seconds.
inline PolicyProfile NoRates(PolicyProfile p) {
  p.throughput_mps = 0;
  p.pair_rate_enabled = false;
  return p;
}

// Parses a number known to be valid (tests only).
inline PhoneNumber Num(absl::string_view s) { return PhoneNumber::Parse(s).value(); }

// A StateJournal held in memory: the latest value of every record, and a
// switch to make commits fail. Thread-safe (shards append concurrently).
class MemoryJournal : public StateJournal {
 public:
  uint64_t Append(StateChanges changes) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_) {
      failed_ = true;
      return ++appended_;
    }
    ++commits_;
    for (const StateChange& c : changes) {
      auto key = std::make_pair(static_cast<int>(c.family), std::string(View(c.key)));
      if (c.erase) {
        records_.erase(key);
      } else {
        records_[key] = std::string(View(c.value));
      }
    }
    return ++appended_;
  }
  absl::Status Await(uint64_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_ ? absl::InternalError("disk full (simulated)") : absl::OkStatus();
  }
  // Every record, in StateFamily order (the order Restore needs). Read it
  // only when no operation is running.
  const std::map<std::pair<int, std::string>, std::string>& records() const { return records_; }
  // Feeds every record to `engine` (a PolicyEngine made without a journal), as
  // the store does at start, and finishes the restore: "after a restart".
  // The first record the engine refuses, if any.
  template <typename Engine>
  absl::Status RestoreInto(Engine& engine) const {
    for (const auto& [key, value] : records_) {
      absl::Status s = engine.Restore(static_cast<StateFamily>(key.first), key.second, value);
      if (!s.ok()) return s;
    }
    engine.FinishRestore();
    return absl::OkStatus();
  }
  void set_fail(bool f) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = f;
  }
  int commits() const {
    std::lock_guard<std::mutex> lock(mu_);
    return commits_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<int, std::string>, std::string> records_;
  bool fail_ = false;
  bool failed_ = false;  // Sticky, like a real journal.
  uint64_t appended_ = 0;
  int commits_ = 0;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_TEST_UTIL_H_
