// What each event the platform reports does to one number's state: a
// customer's message, a delivery or a failed one, a block or report, an
// opt-in or opt-out. Each calls the rule families (service_window.h,
// conversations.h, quality.h, tier_rules.h, consent.h) with the event's own
// time and records what it changed in a ChangeSink; no lock, no journal.
//
// The shard checks the event (customer, time, repeated id), holds the lock,
// runs the time-driven rules first, then one of these, and commits.
//
//   EventContext e{profile, state, number, customer.value(), at, now, changes};
//   absl::StatusOr<DeliveryOutcome> o = ApplyDelivered(e);
#ifndef WAPOLICY_POLICY_INTERNAL_EVENT_EFFECTS_H_
#define WAPOLICY_POLICY_INTERNAL_EVENT_EFFECTS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "policy/consent.h"
#include "policy/conversations.h"
#include "policy/internal/change_sink.h"
#include "policy/internal/shard_state.h"
#include "policy/opt_out_keywords.h"
#include "policy/policy_profile.h"
#include "policy/quality.h"

namespace wapolicy {
namespace internal {

struct EventContext {
  const PolicyProfile& profile;
  ShardState& state;
  ShardState::Number& number;
  uint64_t customer;
  int64_t at;   // When the event took place (the platform's time).
  int64_t now;  // When the engine learns of it (never earlier than `at`).
  ChangeSink& out;
};

// The customer wrote: the service window runs from the message's time (one
// too old to open a window leaves none); an opt-out keyword opts out.
// Returns whether it opted the customer out.
absl::StatusOr<bool> ApplyInbound(const EventContext& e, absl::string_view text,
                                  const OptOutKeywords& keywords);
// A message was delivered (or read): the conversation runs from its time.
absl::StatusOr<DeliveryOutcome> ApplyDelivered(const EventContext& e);
// A message failed: gives back the slot its admission took (with
// `message_id`, only if the slot's admission was that message's).
// FAILED_PRECONDITION when none awaits delivery (delivered already, failed,
// or timed out).
absl::Status ApplyDeliveryFailed(const EventContext& e, absl::string_view message_id);
// A block or report, dated by its own time; one older than the quality
// look-back counts for nothing.
absl::Status ApplySignal(const EventContext& e, SignalKind kind);
absl::Status ApplyOptIn(const EventContext& e, OptInSource source,
                        absl::Span<const std::string> topics);
absl::Status ApplyOptOut(const EventContext& e);

}  // namespace internal
}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_INTERNAL_EVENT_EFFECTS_H_
