// The state-change events operators watch (policy/state_watch.h), observed,
// stored and read back: every interval the observer takes each registered
// number's state, diffs it against the baseline it recorded last, and
// appends the events with the new baselines in one write to a RecordLog
// (storage/record_log.h), so a restart neither repeats an event nor misses
// one. Readers (WatchEvents, the JSON door, the dashboard, outgoing alerts)
// page through by position; a business sees only its own numbers' events.
//
// Events are as fine as the observation: a change that starts and ends
// between two observations (default every second) is not seen; an event's
// time is when it was observed, by the engine's clock. A number's first
// sight is taken when it is registered (ObserveNumber), so its starting
// state is no event and every later change is.
//
//   StateEventLog events(&engine, log.get());
//   events.Load();
//   events.Observe();                          // From a thread, every second.
//   auto page = events.Read(/*from=*/1, /*max=*/100, caller);
#ifndef WAPOLICY_SERVER_STATE_EVENTS_H_
#define WAPOLICY_SERVER_STATE_EVENTS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "policy/policy_engine.h"
#include "policy/state_watch.h"
#include "proto/wapolicy/v1/policy.pb.h"
#include "server/token_authority.h"
#include "storage/record_log.h"

namespace wapolicy {

class StateEventLog {
 public:
  // Both must outlive it.
  StateEventLog(PolicyEngine* engine, RecordLog* log) : engine_(engine), log_(log) {}

  // Reads the baselines recorded last; before the first Observe.
  absl::Status Load();
  // Observes every registered number once: appends the events found and the
  // changed baselines in one write. Returns how many events it appended.
  // One caller at a time (the observer thread).
  absl::StatusOr<int> Observe();
  // Observes one number (its first sight, when it is registered).
  absl::StatusOr<int> ObserveNumber(PhoneNumber number);

  struct Page {
    std::vector<v1::StateEvent> events;  // Those the caller may see.
    uint64_t next = 1;                   // One past the last position read.
  };
  // Up to `max` positions from `from` on (only the caller's events kept).
  absl::StatusOr<Page> Read(uint64_t from, size_t max, const Caller& caller) const;
  // The caller's latest `n` events (looking back at most `scan` positions).
  absl::StatusOr<Page> Latest(size_t n, const Caller& caller, size_t scan = 20000) const;
  // Waits until an event at `position` or later exists, or `deadline`.
  bool WaitFor(uint64_t position, absl::Time deadline) const {
    return log_->WaitFor(position, deadline);
  }
  uint64_t next_position() const { return log_->next_position(); }
  // Drops events past the log's retention at the engine's now.
  absl::StatusOr<int64_t> Trim() { return log_->Trim(engine_->Now()); }

  // Events appended since start, by kind (for metrics).
  int64_t appended(StateEventKind k) const {
    return appended_[static_cast<int>(k)].load(std::memory_order_relaxed);
  }

 private:
  absl::StatusOr<int> ObserveNumbers(const std::vector<PhoneNumber>& numbers);

  PolicyEngine* const engine_;
  RecordLog* const log_;
  absl::Mutex mu_;  // Held through Observe.
  absl::flat_hash_map<uint64_t, WatchedNumber> baselines_ ABSL_GUARDED_BY(mu_);
  std::array<std::atomic<int64_t>, kStateEventKindMax + 1> appended_{};
};

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_STATE_EVENTS_H_
