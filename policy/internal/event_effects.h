// What each event the platform reports, and the passing of time, does to one
// number's state: a customer's message, a delivery or a failed one, a block
// or report, an opt-in or opt-out, the platform's word, due transitions. Each calls the rule
// families (service_window.h, conversations.h, quality.h, tier_rules.h, consent.h) with the event's
// own time and records what it changed in a ChangeSink; no lock, no journal.
//
// The shard checks the event (customer, time, repeated id), holds the lock,
// runs the time-driven rules first, then one of these, and commits.
//
//   EventContext e{profile, state, number, customer.value(), at, now, changes};
//   absl::StatusOr<DeliveryOutcome> o = ApplyDelivered(e);
#ifndef WAPOLICY_POLICY_INTERNAL_EVENT_EFFECTS_H_
#define WAPOLICY_POLICY_INTERNAL_EVENT_EFFECTS_H_

#include <cstdint>
#include <optional>
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
#include "policy/platform_word.h"
#include "policy/policy_profile.h"
#include "policy/quality.h"
#include "policy/record_codec.h"
#include "policy/scaling_path.h"
#include "policy/template_quality.h"
#include "policy/tier_rules.h"

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

// The time-driven rules for one number, run before anything reads it: due
// tier transitions, expired signals and conversation slots. Inline: on the
// decision path, nothing due costs a few comparisons.
inline void AdvanceNumber(const PolicyProfile& profile, ShardState::Number& n, int64_t now,
                          ChangeSink& ch) {
  LimitPool& p = *n.pool;
  // Before the signals expire: a transition due in the past is rated with
  // the signals of its own 7 days.
  auto rating_at = [&](int64_t at) { return EffectiveRating(n, profile.quality, at); };
  const bool verified = ClimbsAsVerified(n.business->verified, p.tier);
  ch.Tier(n, AdvanceTier(profile, verified, rating_at, now, p.tier, n.standing));
  n.history.Expire(profile.quality, now, [&](const QualitySignal& s) {
    if (ch.on()) ch.Add(EraseSignal(n.number.value(), s.at_us, s.seq));
  });
  p.ledger.Expire(now, LedgerRetentionUs(profile, verified, p.tier), ch.LedgerOf(p));
}

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
// With the platform's `error_code` 131049 (its per-user marketing limit) it
// also holds marketing to the customer (marketing_hold.h); that failure is
// answered OK even when no admission awaited delivery.
absl::Status ApplyDeliveryFailed(const EventContext& e, absl::string_view message_id,
                                 int32_t error_code);
// A block or report, dated by its own time; one older than the quality
// look-back counts for nothing.
absl::Status ApplySignal(const EventContext& e, SignalKind kind);
absl::Status ApplyOptIn(const EventContext& e, OptInSource source,
                        absl::Span<const std::string> topics);
// An opt-out, or the platform's word on the customer's marketing preference.
absl::Status ApplyConsentWord(const EventContext& e, ConsentWord word);

// The platform's word on a template of `b` (template_quality.h): its status,
// quality rating, UNPAUSE or REINSTATED. NOT_FOUND naming the template when
// there is none.
absl::Status ApplyTemplateWord(ShardState& state, ShardState::Business& b, TemplateKeyView key,
                               const TemplateWord& word, int64_t now, ChangeSink& out);

// The platform's word on number `n` (platform_word.h), said at `at`.
void ApplyPlatformWord(const PolicyProfile& profile, ShardState::Number& n,
                       const PlatformReport& report, int64_t at, int64_t now, ChangeSink& out);

}  // namespace internal
}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_INTERNAL_EVENT_EFFECTS_H_
