#include "policy/platform_word.h"

#include <cstdlib>

namespace wapolicy {

absl::Status ValidatePlatformReport(const PlatformReport& r) {
  if (r.messaging_limit && *r.messaging_limit != kUnlimited && *r.messaging_limit <= 0) {
    return absl::InvalidArgumentError("messaging_limit: must be positive, or -1 for unlimited");
  }
  if (r.throughput_mps && *r.throughput_mps <= 0) {
    return absl::InvalidArgumentError("throughput_mps: must be positive");
  }
  if (r.restricted_until_us && *r.restricted_until_us < 0) {
    return absl::InvalidArgumentError("restricted_until: must not be negative (0 lifts it)");
  }
  return absl::OkStatus();
}

int NearestLevel(const PolicyProfile& p, bool verified, int64_t limit) {
  int best = 0;
  if (limit == kUnlimited) {
    best = p.top_level();
  } else {
    int64_t best_gap = -1;
    for (int level = 0; level <= p.top_level(); ++level) {
      const int64_t v = p.LimitAt(level);
      if (v == kUnlimited) continue;
      const int64_t gap = std::llabs(v - limit);
      if (best_gap < 0 || gap < best_gap) {  // Strictly nearer: ties stay lower.
        best = level;
        best_gap = gap;
      }
    }
  }
  best = std::max(best, FloorLevel(p, verified));
  return std::min(best, CeilingLevel(p, verified));
}

PlatformChanges ApplyPlatformReport(const PolicyProfile& p, bool verified, const PlatformReport& r,
                                    int64_t at, int64_t now, BusinessNumber& n, LimitPool& pool) {
  PlatformChanges c;
  PlatformStatus& s = n.platform;
  const QualityRating before = EffectiveRating(n, p.quality, now);
  if (r.messaging_limit && at >= pool.platform.at_us) {
    pool.platform = {true, *r.messaging_limit, at};
    // The estimate restarts from the platform's word.
    pool.tier.level = NearestLevel(p, verified, *r.messaging_limit);
    pool.tier.CancelUpgrade();
    c.pool = true;
  }
  if (r.quality && at >= s.quality_at_us) {
    s.quality = static_cast<int>(*r.quality);
    s.quality_at_us = at;
    c.number = true;
  }
  if (r.throughput_mps && at >= s.throughput_at_us) {
    s.throughput_mps = *r.throughput_mps;
    s.throughput_at_us = at;
    c.number = true;
  }
  if (r.restricted_until_us && at >= s.restricted_at_us) {
    s.restricted_until_us = *r.restricted_until_us;
    s.restricted_at_us = at;
    c.number = true;
  }
  if (r.disabled && at >= s.disabled_at_us) {
    s.disabled = *r.disabled;
    s.disabled_at_us = at;
    c.number = true;
  }
  // A rating the rules had not seen moves them as a signal would.
  const QualityRating after = EffectiveRating(n, p.quality, now);
  if (after != before) {
    const TierChanges t = OnRatingChanged(p, before, after, now, pool.tier, n.standing);
    c.pool |= t.tier;
    c.number |= t.standing;
  }
  if (r.flagged && at >= s.flagged_at_us) {  // Said outright: replaces the engine's.
    s.flagged_at_us = at;
    if (*r.flagged && !n.standing.flagged()) n.standing.flagged_since_us = at;
    if (!*r.flagged) n.standing.flagged_since_us = 0;
    c.number = true;
  }
  return c;
}

}  // namespace wapolicy
