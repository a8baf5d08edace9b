// The platform's word on a number: its messaging limit, quality rating,
// Flagged status (legacy), throughput, a restriction of business-initiated
// messaging, a disabled account. What the platform reports wins over the
// engine's own estimate:
//  - a limit the platform set is the limit enforced (EffectiveLimit) until
//    its next word; the engine's tier rules restart from it (the estimate's
//    level moves to the ladder level nearest the reported limit, a scheduled
//    upgrade is dropped) and keep running as a forecast, shown beside it;
//  - a rating the platform set is the rating every rule uses
//    (EffectiveRating: upgrades, Flagged, downgrades), from the time it was
//    set until its next word; the engine's score from blocks and reports
//    keeps running as an estimate, shown beside it;
//  - Flagged / not Flagged set by the platform replaces the engine's;
//  - a restriction holds new business-initiated conversations until its
//    end; a disabled account sends nothing (send_decision.h).
// Reports may arrive late or out of order: each field keeps when it was said,
// and a report older than that changes nothing.
//
//   PlatformReport r;
//   r.quality = QualityRating::kLow;  // The platform rated the number RED.
//   PlatformChanges c = ApplyPlatformReport(profile, verified, r, at, now, number, pool);
//   QualityRating q = EffectiveRating(number, profile.quality, now);  // kLow
#ifndef WAPOLICY_POLICY_PLATFORM_WORD_H_
#define WAPOLICY_POLICY_PLATFORM_WORD_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "policy/messaging_tier.h"
#include "policy/number_status.h"
#include "policy/policy_profile.h"
#include "policy/quality.h"
#include "policy/tier_rules.h"

namespace wapolicy {

// One report; fields left unset say nothing.
struct PlatformReport {
  std::optional<int64_t> messaging_limit;  // Unique customers per 24 h; kUnlimited for none.
  std::optional<QualityRating> quality;
  std::optional<bool> flagged;
  std::optional<int32_t> throughput_mps;
  std::optional<int64_t> restricted_until_us;  // 0 lifts a restriction.
  std::optional<bool> disabled;

  bool empty() const {
    return !messaging_limit && !quality && !flagged && !throughput_mps && !restricted_until_us &&
           !disabled;
  }
};

// INVALID_ARGUMENT naming the field: a limit must be positive or kUnlimited,
// a throughput positive, a restriction's end not negative.
absl::Status ValidatePlatformReport(const PlatformReport& r);

// EffectiveRating (number_status.h) and EffectiveLimit (messaging_tier.h)
// give what the rules use: the platform's word where it has spoken.

// The number's messages a second: the platform's word, else the profile's
// (0: throughput not enforced).
inline int32_t EffectiveThroughput(const PolicyProfile& p, const BusinessNumber& n) {
  return n.platform.throughput_mps > 0 ? n.platform.throughput_mps : p.throughput_mps;
}

// The ladder level nearest `limit` (ties to the lower; kUnlimited: the top),
// kept within the business's floor and ceiling.
int NearestLevel(const PolicyProfile& p, bool verified, int64_t limit);

// What a report changed, so the engine journals only that.
struct PlatformChanges {
  bool number = false;  // The number's PlatformStatus or QualityStanding.
  bool pool = false;    // The pool's PlatformLimit or MessagingTier.
};

// Applies report `r`, said at `at` (the platform's time), learned at `now`.
PlatformChanges ApplyPlatformReport(const PolicyProfile& p, bool verified, const PlatformReport& r,
                                    int64_t at, int64_t now, BusinessNumber& n, LimitPool& pool);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_PLATFORM_WORD_H_
