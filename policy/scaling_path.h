// The platform's path to its second level without business verification
// (since October 2025; the platform-2025-10 profile). A new portfolio starts
// at 250 and reaches 2,000 either by business verification (at once:
// tier_rules.h, ClampToVerification) or by delivering business-initiated
// messages (outside service windows) to `volume_path_customers` (2,000) unique
// customers within `volume_path_window` (30 days), with templates of high
// quality. That lift is scheduled like an upgrade, `upgrade_delay` (6 h)
// later; from then on the pool climbs as a verified business's would (the
// usual rule: high quality and half the limit used in 7 days, each step
// within 6 h) and never sits below 2,000.
//
// Choices where the platform is vague:
//  - "templates of high quality": the admission's template was rated GREEN
//    when the engine admitted it (UNKNOWN, a new template's, does not count);
//    a delivery never admitted (sent around the engine) does not count;
//  - one start per customer is kept (the latest): a customer whose latest
//    start did not qualify does not count even if an earlier one in the 30
//    days did. Both err on the side of a later lift: a lift the platform did
//    not grant would admit messages it refuses. Once the platform reports the
//    limit (SyncNumber), its word is enforced anyway.
//  - a pool on the path keeps its conversation starts for the 30 days
//    instead of the upgrade look-back's 7 (at most 250 a day: 7,500).
//
//   ledger.Expire(now, LedgerRetentionUs(profile, verified, pool.tier), ...);
//   TierChanges ch = OnQualifiedStart(profile, verified, ledger.qualified_customers(),
//                                     now, pool.tier);
#ifndef WAPOLICY_POLICY_SCALING_PATH_H_
#define WAPOLICY_POLICY_SCALING_PATH_H_

#include <algorithm>
#include <cstdint>

#include "absl/time/time.h"
#include "policy/messaging_tier.h"
#include "policy/policy_profile.h"
#include "policy/tier_rules.h"

namespace wapolicy {

// Whether the pool can still reach the verified start level by volume: the
// profile has the path, the business is unverified, and the pool has neither
// reached that level nor been lifted (or scheduled to be) by the path.
inline bool OnVolumePath(const PolicyProfile& p, bool verified, const MessagingTier& t) {
  return p.volume_path_customers > 0 && !verified && !t.volume_unlocked &&
         t.level < p.verified_start_level;
}

// How long the pool's ledger keeps conversation starts: the upgrade
// look-back, or the path's window while the pool is on it.
inline int64_t LedgerRetentionUs(const PolicyProfile& p, bool verified, const MessagingTier& t) {
  const int64_t lookback = absl::ToInt64Microseconds(p.upgrade_lookback);
  if (!OnVolumePath(p, verified, t)) return lookback;
  return std::max(lookback, absl::ToInt64Microseconds(p.volume_path_window));
}

// A conversation started (delivery confirmed it) at `now`, leaving
// `qualified` unique customers with a qualifying start in the window: at
// `volume_path_customers` a pool on the path is unlocked and its lift to the
// verified start level scheduled `upgrade_delay` later (at once with no
// delay). Replaces a scheduled upgrade to a lower level.
TierChanges OnQualifiedStart(const PolicyProfile& p, bool verified, int64_t qualified, int64_t now,
                             MessagingTier& t);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_SCALING_PATH_H_
