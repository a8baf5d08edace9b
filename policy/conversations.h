// Business-initiated conversations: each customer's slot in a limit pool
// (ConversationWindow), the pool's ledger of who holds a slot until when
// (ConversationLedger), and what a delivery report does to them
// (ClassifyDelivery).
//
//   ConversationLedger ledger;
//   ledger.Reserve(customer, now, now + timeout, on_change);   // Admitted.
//   ledger.Start(customer, delivered_at, delivered_at + 24h, on_change);
#ifndef WAPOLICY_POLICY_CONVERSATIONS_H_
#define WAPOLICY_POLICY_CONVERSATIONS_H_

#include <cstdint>
#include <iterator>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "policy/internal/huge_page_table.h"
#include "policy/service_window.h"

namespace wapolicy {

// What a delivery report did to the conversations.
enum class DeliveryOutcome {
  kStartedConversation = 0,  // Confirmed an admitted conversation; its 24h start.
  kInOpenConversation = 1,   // A further message inside an open conversation.
  kInUserConversation = 2,   // A reply inside the service window: not counted.
  kStartedUnadmitted = 3,    // No admission on record (sent around the engine, or
                             // after its reservation timed out): counted anyway,
                             // because the platform counts it.
  kAlreadyEnded = 4,         // Reported after the conversation it started had
                             // ended: holds no slot; still counts toward the
                             // 7-day unique customers if it started inside them.
};
absl::string_view DeliveryOutcomeName(DeliveryOutcome o);

// One customer's business-initiated conversation slot in a limit pool, plus
// when the pool last started a conversation with them (for the 7-day upgrade
// count). Times are Unix microseconds; 0 means "none".
struct ConversationWindow {
  int64_t slot_start_us = 0;  // Delivery time (confirmed) or admission time (pending).
  int64_t slot_end_us = 0;    // Conversation end, or reservation deadline while pending.
  int64_t last_start_us = 0;  // Start of the latest confirmed conversation.
  bool pending = false;       // Admitted, not yet delivered.
  // For the 2025 path to 2,000 (scaling_path.h): the pending admission's
  // template was rated GREEN, and so was the latest confirmed start's (a
  // start confirmed from an admission takes its flag; one never admitted
  // does not qualify). In the padding after `pending`: no bigger.
  bool pending_qualifies = false;
  bool start_qualifies = false;
  // The pipeline's message id (MessageKey) of the admission that took a
  // pending slot, 0 if it gave none: a failure of another message to the
  // customer leaves the slot to this one.
  uint64_t message_key = 0;

  bool open_at(int64_t now) const { return slot_end_us > now; }
};
static_assert(sizeof(ConversationWindow) == 40, "a conversation's memory (README) grew");

// The business-initiated conversations of one limit pool (a phone number, or
// a whole portfolio): who holds a slot in the rolling window and until when.
//
// Invariant (concurrency-safe admission): a slot is taken the moment a
// conversation is admitted, before delivery, and open_slots() counts pending
// and confirmed slots alike. An admission is refused when open_slots() has
// reached the limit, so no interleaving of checks can admit more unique
// customers than the limit. A slot is given back only by a failed delivery,
// a reservation timeout, or the conversation's end.
class ConversationLedger {
 public:
  // Called with each customer whose window changed (nullptr when erased).
  using OnChange = absl::FunctionRef<void(uint64_t customer, const ConversationWindow*)>;

  // Closes slots ending at or before `now` and forgets conversation starts
  // at or before `now - retention_us` (the upgrade look-back, or longer for
  // a pool on the 2025 path to 2,000: scaling_path.h).
  void Expire(int64_t now, int64_t retention_us, OnChange on_change);

  const ConversationWindow* Find(uint64_t customer) const {
    auto it = windows_.find(customer);
    return it == windows_.end() ? nullptr : &it->second;
  }
  // Asks the CPU to start loading `customer`'s entry; see EngineShard::PrefetchCustomer.
  void Prefetch(uint64_t customer) const { windows_.prefetch(customer); }
  bool HasOpenSlot(uint64_t customer, int64_t now) const;

  // Slots currently held (pending or confirmed). Call Expire first.
  int64_t open_slots() const { return static_cast<int64_t>(by_end_.size()); }
  // Unique customers with a confirmed conversation started after `horizon`
  // (now minus the look-back). O(1) when every kept start is that recent
  // (starts are kept for the look-back), else a walk over the older ones.
  int64_t recent_unique_customers(int64_t horizon) const {
    if (by_start_.empty() || by_start_.begin()->first > horizon) {
      return static_cast<int64_t>(by_start_.size());
    }
    return static_cast<int64_t>(
        std::distance(by_start_.upper_bound({horizon, UINT64_MAX}), by_start_.end()));
  }
  // Unique customers whose latest kept start qualifies (start_qualifies).
  int64_t qualified_customers() const { return qualified_; }
  // End of the earliest open slot, or 0 if none.
  int64_t earliest_slot_end() const { return by_end_.empty() ? 0 : by_end_.begin()->first; }
  size_t tracked_customers() const { return windows_.size(); }

  // Takes a pending slot until `deadline` for the admission of message
  // `message_key` (0: no id); `qualifies`: its template was rated GREEN.
  void Reserve(uint64_t customer, int64_t now, int64_t deadline, uint64_t message_key,
               bool qualifies, OnChange on_change);
  // Starts a confirmed conversation [start, end) (from a pending slot or
  // none). One that ended by `now` (reported late) holds no slot: it only
  // records the start for the look-back, and gives a pending slot back.
  void Start(uint64_t customer, int64_t start, int64_t end, int64_t now, OnChange on_change);
  // A message failed: gives the customer's pending slot back, unless both
  // the slot's admission and the failed message carry ids and they differ
  // (another message to the customer failed; the slot stays with its own).
  enum class ReleaseResult { kReleased, kNoneAwaiting, kHeldForAnother };
  ReleaseResult Release(uint64_t customer, uint64_t message_key, OnChange on_change);

  // Loads a stored window (restart).
  void Restore(uint64_t customer, const ConversationWindow& w);

  template <typename F>
  void ForEach(F f) const {
    for (const auto& [c, w] : windows_) f(c, w);
  }

 private:
  void Index(uint64_t customer, const ConversationWindow& w);
  void Unindex(uint64_t customer, const ConversationWindow& w);
  void Commit(uint64_t customer, ConversationWindow& w, OnChange on_change);

  internal::HugePageTable<uint64_t, ConversationWindow> windows_;
  absl::btree_set<std::pair<int64_t, uint64_t>> by_end_;    // Open slots.
  absl::btree_set<std::pair<int64_t, uint64_t>> by_start_;  // Recent starts.
  int64_t qualified_ = 0;                                   // Of them, with start_qualifies.
};

// What a delivery report means, given the customer's slot in the pool (null
// if none), their service window with the number (null if none), when the
// delivery took place (`at`, the platform's time) and when the engine learns
// of it (`now`). The conversation runs from the delivery's time:
//  - a pending admission is confirmed: the conversation starts at `at`;
//  - inside an open conversation: nothing new. A delivery reported out of
//    order, earlier than the start on record but inside the same 24 h (a
//    `read` arrived before its `delivered`), moves the start back to `at`;
//  - inside the customer's service window at `at` (at or after the
//    customer's latest message, within 24 h of it; or inside the
//    user-initiated conversation a reply opened): a reply, never counted. A
//    delivery before the latest customer message cannot be shown to be a
//    reply and counts (the safe side);
//  - otherwise it was sent without an admission (or after the reservation
//    timed out) and counts anyway, because the platform counts it.
// A start that ended before `now` holds no slot (kAlreadyEnded unless it
// confirmed an admission); one older than `lookback_us` counts for nothing.
struct DeliveryEffect {
  DeliveryOutcome outcome = DeliveryOutcome::kInOpenConversation;
  int64_t start_us = 0;    // Non-zero: (re)start the conversation here.
  bool new_start = false;  // A new conversation: the tier rules count it.
};
struct ConversationTimes {
  int64_t conversation_us;    // Length of a conversation (24 h).
  int64_t service_window_us;  // Length of the service window (24 h).
  int64_t lookback_us;        // The upgrade rule's look-back (7 days).
};
DeliveryEffect ClassifyDelivery(const ConversationWindow* slot, const ServiceWindow* window,
                                int64_t at, int64_t now, const ConversationTimes& times);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_CONVERSATIONS_H_
