// What operators are told about a business number: the state they watch
// (status, quality, tier, limit use, paused templates, holds, the account's
// standing) and the events its changes make — quality changed, Flagged and
// settled, Restricted and lifted, tier changed or an upgrade scheduled, 80%
// of the limit used, a template paused or disabled, a marketing hold, the
// account restricted. Pure functions: the server observes each number's
// snapshot (number_snapshot.h), diffs it against the last it recorded, and
// stores and sends the events (server/state_events.h).
//
//   WatchedNumber now = WatchOf(snapshot, now_us);
//   for (const StateEvent& e : DiffWatched(before, now, snapshot)) { /* store, send */ }
#ifndef WAPOLICY_POLICY_STATE_WATCH_H_
#define WAPOLICY_POLICY_STATE_WATCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/number_snapshot.h"

namespace wapolicy {

enum class StateEventKind : uint8_t {
  kQualityChanged = 1,      // The rating the rules use (the platform's where it spoke).
  kFlagged = 2,             // Quality turned Low: the tier is held (tier_rules.h).
  kFlagSettled = 3,         // Flagged no longer: quality recovered or the 7 days ran out.
  kRestricted = 4,          // 100% of the messaging limit used: new conversations wait.
  kRestrictionLifted = 5,   // Below the limit again (slots freed, or a higher limit).
  kTierChanged = 6,         // The enforced messaging limit changed.
  kUpgradeScheduled = 7,    // Half the limit reached: the next tier comes at a time.
  kLimitNearlyUsed = 8,     // 80% of the messaging limit used.
  kTemplatePaused = 9,      // For a RED rating until a time, or PAUSED by the platform.
  kTemplateDisabled = 10,   // Disabled (a third RED, or the platform's DISABLED).
  kTemplateResumed = 11,    // Sendable again.
  kMarketingHoldStarted = 12,  // The first customer under a 131049 hold.
  kMarketingHoldEnded = 13,    // The last hold ended.
  kAccountRestricted = 14,     // The platform restricted or disabled the account.
  kAccountRestrictionLifted = 15,
};
inline constexpr int kStateEventKindMax = 15;
absl::string_view StateEventKindName(StateEventKind k);

// One change: values as an operator reads them ("HIGH", "10000", "80/100").
struct StateEvent {
  StateEventKind kind;
  std::string old_value;
  std::string new_value;
  std::string reason;
};

// The watched part of a number's state, kept by the server as the baseline
// the next observation is compared with.
struct WatchedNumber {
  int status = 0;  // NumberStatus
  bool flagged = false;
  bool restricted = false;  // The limit is used up.
  int quality = 0;          // QualityRating the rules use.
  int level = 0;
  int64_t limit = 0;
  int pending_level = -1;
  int64_t pending_at_us = 0;
  int usage_band = 0;  // 0: under 80% of the limit; 1: 80% or more; 2: all used.
  bool marketing_held = false;
  bool account_restricted = false;  // Business-initiated messaging held by the platform.
  bool account_disabled = false;
  // "name/language" of templates that may not be sent, with P(aused) or D(isabled).
  std::vector<std::string> paused_templates;  // Sorted.

  bool operator==(const WatchedNumber& o) const;
  bool operator!=(const WatchedNumber& o) const { return !(*this == o); }
};

// The watched state of `s` at `now_us`.
WatchedNumber WatchOf(const NumberSnapshot& s, int64_t now_us);
// The baseline of a number seen for the first time: a fresh number at the
// engine's own tier estimate, so what already happened to it (Flagged, or
// the platform's limit set, before it was first observed) still makes its
// events, and the tier it started at does not.
WatchedNumber FreshWatch(const NumberSnapshot& s);

// The events that lead from `before` to `now`, in a fixed order (quality,
// flag, tier, usage, restriction, templates, holds, account). `s` is the
// snapshot `now` came from, for the reasons.
std::vector<StateEvent> DiffWatched(const WatchedNumber& before, const WatchedNumber& now,
                                    const NumberSnapshot& s);

// The baseline's stored form (records.proto WatchedNumberValue).
std::string EncodeWatched(const WatchedNumber& w);
absl::StatusOr<WatchedNumber> DecodeWatched(absl::string_view bytes);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_STATE_WATCH_H_
