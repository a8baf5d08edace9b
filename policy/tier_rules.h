// Every messaging-tier transition, in one place.
//
// Each rule is a pure function over a pool's MessagingTier and a number's
// QualityStanding: no lock, no journal, no clock. The engine calls them and
// journals what they report changed.
//
// The rules (brief's profile; figures from the PolicyProfile):
//  - Upgrade: when a business-initiated conversation starts, a number that is
//    not Flagged, whose rating is at least upgrade_min_quality (Medium) and
//    whose pool started conversations with >= limit/2 unique customers in the
//    look-back (7 days) gets the next level after upgrade_delay (24 h). A
//    used-up limit does not block it. Never past the verification ceiling.
//  - Flagged: the moment a signal makes the rating Low, a Connected number
//    becomes Flagged and a scheduled upgrade is cancelled. The flag settles
//    exactly flagged_period (7 days) later: if the rating at that instant is
//    Medium or High, the number is Connected with its tier; if still Low, one
//    level lower. ("Improves by the 7th day" read as "is better on the 7th
//    day", which is deterministic.)
//  - Downgrade: when the rating has been Low without a break for
//    downgrade_low_period (7 days), the pool drops one level at that instant
//    (evaluated as time passes, not only when something is sent) and the
//    count restarts. A drop at flag settlement restarts it too, so one Low
//    week costs one level. The rating can only get worse when a signal
//    arrives (QualityModel), so "Low at the start and Low at the end with no
//    new Low run started in between" means "Low without a break". A downgrade
//    cancels a scheduled upgrade.
//  - Verification: a verified business never drops below the verified start
//    level; an unverified one never climbs past unverified_max_level.
// Due transitions are applied in time order; at one instant: upgrade, then
// flag settlement, then downgrade.
//
//   TierChanges ch = AdvanceTier(profile, verified, rating_at, now, pool.tier, n.standing);
//   if (ch.tier) { /* journal the pool */ }
#ifndef WAPOLICY_POLICY_TIER_RULES_H_
#define WAPOLICY_POLICY_TIER_RULES_H_

#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/functional/function_ref.h"
#include "policy/messaging_tier.h"
#include "policy/number_status.h"
#include "policy/policy_profile.h"
#include "policy/quality.h"

namespace wapolicy {

// What a rule changed, so the engine journals only that.
struct TierChanges {
  bool tier = false;      // The pool's MessagingTier.
  bool standing = false;  // The number's QualityStanding.

  TierChanges& operator|=(TierChanges o) {
    tier |= o.tier;
    standing |= o.standing;
    return *this;
  }
};

// The rating at an instant at or before now (signals after it not counted).
using RatingAt = absl::FunctionRef<QualityRating(int64_t at_us)>;

// When each time-driven transition falls due (Unix µs; kNotDue if none).
struct TierDueTimes {
  static constexpr int64_t kNotDue = std::numeric_limits<int64_t>::max();
  int64_t upgrade = kNotDue;    // A scheduled upgrade takes effect.
  int64_t flag = kNotDue;       // Flagged settles.
  int64_t downgrade = kNotDue;  // Low for downgrade_low_period.
  int64_t next() const { return std::min({upgrade, flag, downgrade}); }
};
inline TierDueTimes DueTimes(const PolicyProfile& p, const MessagingTier& tier,
                             const QualityStanding& standing) {
  TierDueTimes d;
  if (tier.has_pending_upgrade()) d.upgrade = tier.pending_at_us;
  if (standing.flagged()) {
    d.flag = standing.flagged_since_us + absl::ToInt64Microseconds(p.flagged_period);
  }
  if (p.downgrade_enabled && standing.low_since_us != 0) {
    d.downgrade = standing.low_since_us + absl::ToInt64Microseconds(p.downgrade_low_period);
  }
  return d;
}

// Applies the transitions in `due` and every one they bring due at or before
// `now`, in time order. Call through AdvanceTier.
TierChanges ApplyDueTransitions(const PolicyProfile& p, bool verified, RatingAt rating_at,
                                int64_t now, MessagingTier& tier, QualityStanding& standing);

// Applies every transition due at or before `now`, in time order: scheduled
// upgrades, flag settlements and Low-for-a-period downgrades. Inline so the
// usual case, nothing due, costs a few comparisons on the decision path.
inline TierChanges AdvanceTier(const PolicyProfile& p, bool verified, RatingAt rating_at,
                               int64_t now, MessagingTier& tier, QualityStanding& standing) {
  if (DueTimes(p, tier, standing).next() > now) return {};
  return ApplyDueTransitions(p, verified, rating_at, now, tier, standing);
}

// A signal at `now` moved the rating from `before` to `after`.
TierChanges OnRatingChanged(const PolicyProfile& p, QualityRating before, QualityRating after,
                            int64_t now, MessagingTier& tier, QualityStanding& standing);

// A business-initiated conversation started at `now` (delivery confirmed it):
// schedules an upgrade if the pool has earned one.
TierChanges OnConversationStarted(const PolicyProfile& p, bool verified, QualityRating rating,
                                  int64_t recent_unique, int64_t now,
                                  const QualityStanding& standing, MessagingTier& tier);

// The business's verification changed: keeps level and scheduled upgrade
// between its floor and ceiling. Returns whether anything moved.
bool ClampToVerification(const PolicyProfile& p, bool verified, MessagingTier& tier);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_TIER_RULES_H_
