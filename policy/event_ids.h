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
//   if (const EventIdLog::Entry* seen = log.Find(number, meta.event_id)) return seen->answer;
//   ... apply the event at *at ...
//   log.Remember(number, meta.event_id, now, answer);
#ifndef WAPOLICY_POLICY_EVENT_IDS_H_
#define WAPOLICY_POLICY_EVENT_IDS_H_

#include <cstdint>
#include <deque>
#include <string>
#include <utility>

#include "absl/container/node_hash_map.h"
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

class EventIdLog {
 public:
  struct Entry {
    int64_t seen_at_us = 0;  // When the event was first applied (server time).
    uint32_t answer = 0;     // What it was answered (the event kind's own code).
  };

  // The key an id is remembered under: the number (8 bytes, big-endian) and
  // then the id's bytes. Build it once per event for Find and Remember.
  static std::string Key(uint64_t number, absl::string_view id);

  // The remembered entry for `key`, or null.
  const Entry* Find(const std::string& key) const;
  const Entry* Find(uint64_t number, absl::string_view id) const { return Find(Key(number, id)); }
  // Remembers `key`. `seen_at_us` must not be earlier than any remembered one
  // (the shard's clock never steps back), so ids expire in the order kept.
  void Remember(std::string key, int64_t seen_at_us, uint32_t answer);
  void Remember(uint64_t number, absl::string_view id, int64_t seen_at_us, uint32_t answer) {
    Remember(Key(number, id), seen_at_us, answer);
  }
  // Forgets ids first applied at or before `now - retention_us`, and the
  // oldest beyond `max_ids`, telling `dropped` each (number, id).
  void Expire(int64_t now, int64_t retention_us, size_t max_ids,
              absl::FunctionRef<void(uint64_t number, absl::string_view id)> dropped);
  // Loads a stored id (restart); call FinishRestore after the last.
  void Restore(uint64_t number, absl::string_view id, Entry e);
  void FinishRestore();

  size_t size() const { return ids_.size(); }

 private:
  // node_hash_map: keys keep their address, so the age queue can point at them.
  absl::node_hash_map<std::string, Entry> ids_;
  std::deque<std::pair<int64_t, const std::string*>> by_age_;  // Oldest first.
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
