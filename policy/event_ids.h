// Events as the platform reports them: at their own time, at least once.
//
// EventMeta is what an event may carry besides its payload: the platform's
// timestamp (`occurred_at`) and an id (for webhooks, the platform's message
// id and status). EventTimeOf checks the time against the server's; the rules
// then use it (a conversation runs from its delivery's time, a service window
// from the customer message's time, a signal is dated by its own).
//
// EventIdLog remembers the ids of applied events with the answer each got, so
// a repeated event is answered as the first time and changes nothing. Ids are
// kept at least `retention` (the platform retries for up to 7 days) from
// when the event was first applied, at most `max_ids` per log (the oldest go
// first), and are journaled in the same write as the event's effect.
//
//   absl::StatusOr<int64_t> at = EventTimeOf(meta, now, skew_us);
//   const EventKey key = EventKey::Of(number, meta.event_id);
//   if (const EventIdLog::Entry* seen = log.Find(key)) return seen->answer;
//   ... apply the event at *at ...
//   log.Remember(key, now, answer);
#ifndef WAPOLICY_POLICY_EVENT_IDS_H_
#define WAPOLICY_POLICY_EVENT_IDS_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wapolicy {

// What an event carries besides its payload. Zero / empty: not given.
struct EventMeta {
  int64_t occurred_at_us = 0;  // The platform's time of the event (Unix µs).
  std::string event_id;        // Unique per event; a repeat is answered, not applied.
  // The pipeline's id of the message a delivery or failure is about (as given
  // to Check; webhooks echo it as biz_opaque_callback_data).
  std::string message_id;
};

// Longest event id accepted (a webhook's wamid plus its status is ~80 bytes).
inline constexpr size_t kMaxEventIdBytes = 256;

// The time an event took place: its occurred_at, or `now` when unset. One
// later than `now + skew_us` is INVALID_ARGUMENT naming occurred_at; one
// within the skew allowance counts as `now` (the platform's clock ran a little
// ahead of the server's). Also checks the id's length.
absl::StatusOr<int64_t> EventTimeOf(const EventMeta& meta, int64_t now, int64_t skew_us);

// What an event id is remembered under: its number and a 128-bit digest of
// the id (two stable 64-bit hashes, stable_hash.h), so a remembered id costs
// the same whatever its length, and a restart finds the same key. Two
// distinct ids of one number collide with odds of about 2^-128: the later
// would be taken for a repeat.
struct EventKey {
  uint64_t number = 0;
  uint64_t h1 = 0, h2 = 0;

  static EventKey Of(uint64_t number, absl::string_view id);
  bool operator==(const EventKey& o) const {
    return number == o.number && h1 == o.h1 && h2 == o.h2;
  }
  template <typename H>
  friend H AbslHashValue(H h, const EventKey& k) {
    return H::combine(std::move(h), k.number, k.h1, k.h2);
  }
};

// The ids all of an engine's logs keep together. Every log may keep `floor`
// ids whatever the others hold; beyond that it uses what the others leave
// free, up to `total` in all. A business lives on one shard, so without
// sharing, one busy business would get a sixteenth of the budget.
//
//   EventIdBudget budget(/*total=*/4 << 20, /*floor=*/(4 << 20) / 16);
//   log.set_budget(&budget);  // Each shard's log; the budget outlives them.
class EventIdBudget {
 public:
  EventIdBudget(size_t total, size_t floor) : total_(total), floor_(floor) {}
  size_t total() const { return total_; }
  size_t floor() const { return floor_; }
  size_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  friend class EventIdLog;
  const size_t total_, floor_;
  std::atomic<size_t> used_{0};  // Relaxed: a bound, not a synchronisation.
};

class EventIdLog {
 public:
  EventIdLog() = default;
  EventIdLog(const EventIdLog&) = delete;
  EventIdLog& operator=(const EventIdLog&) = delete;
  ~EventIdLog() { Count(-static_cast<int64_t>(ids_.size())); }

  // Shares `budget` (set before the first id): Expire's bound is then the
  // budget's, not its own `max_ids`.
  void set_budget(EventIdBudget* budget) { budget_ = budget; }

  struct Entry {
    int64_t seen_at_us = 0;  // When the event was first applied (server time).
    uint32_t answer = 0;     // What it was answered (the event kind's own code).
  };

  // The remembered entry for `key`, or null.
  const Entry* Find(const EventKey& key) const;
  const Entry* Find(uint64_t number, absl::string_view id) const {
    return Find(EventKey::Of(number, id));
  }
  // Remembers `key`. `seen_at_us` must not be earlier than any remembered one
  // (the shard's clock never steps back), so ids expire in the order kept.
  void Remember(const EventKey& key, int64_t seen_at_us, uint32_t answer);
  void Remember(uint64_t number, absl::string_view id, int64_t seen_at_us, uint32_t answer) {
    Remember(EventKey::Of(number, id), seen_at_us, answer);
  }
  // Forgets ids first applied at or before `now - retention_us`, and the
  // oldest beyond `max_ids` (with a budget: the oldest of this log's beyond
  // its floor while all logs together hold more than the total), telling
  // `dropped` each with when it was seen.
  void Expire(int64_t now, int64_t retention_us, size_t max_ids,
              absl::FunctionRef<void(int64_t seen_at_us, const EventKey&)> dropped);
  // Loads a stored id (restart, or a business moved in); call FinishRestore
  // after the last.
  void Restore(const EventKey& key, Entry e);
  void FinishRestore();
  // Calls `f` for every remembered id, oldest first.
  void ForEach(absl::FunctionRef<void(const EventKey&, const Entry&)> f) const;
  // Forgets the ids `drop` selects (a business moved out); how many.
  size_t EraseIf(absl::FunctionRef<bool(const EventKey&)> drop);

  size_t size() const { return ids_.size(); }

 private:
  void Count(int64_t delta) {
    if (budget_ != nullptr) budget_->used_.fetch_add(static_cast<size_t>(delta), std::memory_order_relaxed);
  }
  bool OverBound(size_t max_ids) const {
    if (budget_ == nullptr) return by_age_.size() > max_ids;
    return by_age_.size() > budget_->floor_ && budget_->used() > budget_->total_;
  }

  EventIdBudget* budget_ = nullptr;
  absl::flat_hash_map<EventKey, Entry> ids_;
  std::deque<std::pair<int64_t, EventKey>> by_age_;  // Oldest first.
};

// The answer codes the events use (EventIdLog::Entry::answer): a bool or an
// enum's value, or 0 for events that answer only OK.
template <typename T>
uint32_t AnswerCode(const absl::StatusOr<T>& r) {
  return static_cast<uint32_t>(*r);
}
inline uint32_t AnswerCode(const absl::Status&) { return 0; }
template <typename Result>
Result FromAnswerCode(uint32_t code) {
  if constexpr (std::is_same_v<Result, absl::Status>) {
    return absl::OkStatus();
  } else {
    return static_cast<typename Result::value_type>(code);
  }
}

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_EVENT_IDS_H_
