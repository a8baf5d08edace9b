// Where the policy core reads "now": the wall clock in the server, a clock
// that moves only when told in tests, so 24-hour and 7-day rules are tested in
// microseconds.
//
//   ManualClock clock(absl::FromUnixSeconds(1700000000));
//   PolicyEngine engine(profile, &clock);
//   clock.Advance(absl::Hours(24));  // The conversation has ended.
#ifndef WAPOLICY_POLICY_CLOCK_H_
#define WAPOLICY_POLICY_CLOCK_H_

#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace wapolicy {

// Where the policy core reads "now". Injected so 24-hour and 7-day rules can be
// tested in microseconds and so the server can run on a fake clock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The wall clock.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_CLOCK_H_
