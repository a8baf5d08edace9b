#include "policy/tier_rules.h"

#include <algorithm>
#include <limits>

namespace wapolicy {
namespace {

int64_t Us(absl::Duration d) { return absl::ToInt64Microseconds(d); }

// One level down, never below the floor; cancels a scheduled upgrade.
void DropOneLevel(const PolicyProfile& p, bool verified, MessagingTier& tier) {
  tier.level = std::max(FloorLevel(p, verified), tier.level - 1);
  tier.CancelUpgrade();
}

}  // namespace

TierChanges ApplyDueTransitions(const PolicyProfile& p, bool verified, RatingAt rating_at,
                                int64_t now, MessagingTier& tier, QualityStanding& standing) {
  TierChanges ch;
  for (;;) {
    const TierDueTimes due = DueTimes(p, tier, standing);
    const int64_t next = due.next();
    if (next > now) break;
    if (next == due.upgrade) {
      tier.level = std::max(0, std::min(tier.pending_level, CeilingLevel(p, verified)));
      tier.CancelUpgrade();
      ch.tier = true;
    } else if (next == due.flag) {
      if (rating_at(due.flag) == QualityRating::kLow) {
        DropOneLevel(p, verified, tier);
        standing.low_since_us = due.flag;  // One Low week costs one level.
        ch.tier = true;
      }
      standing.flagged_since_us = 0;
      ch.standing = true;
    } else {
      if (rating_at(due.downgrade) == QualityRating::kLow) {
        DropOneLevel(p, verified, tier);
        standing.low_since_us = due.downgrade;  // The next drop needs another period.
        ch.tier = true;
      } else {
        standing.low_since_us = 0;  // The Low run ended before the period did.
      }
      ch.standing = true;
    }
  }
  return ch;
}

TierChanges OnRatingChanged(const PolicyProfile& p, QualityRating before, QualityRating after,
                            int64_t now, MessagingTier& tier, QualityStanding& standing) {
  TierChanges ch;
  if (after != QualityRating::kLow || before == QualityRating::kLow) return ch;
  standing.low_since_us = now;
  ch.standing = true;
  if (p.flagged_enabled && !standing.flagged()) {
    standing.flagged_since_us = now;
    if (tier.has_pending_upgrade()) {  // No upgrade while Flagged.
      tier.CancelUpgrade();
      ch.tier = true;
    }
  }
  return ch;
}

TierChanges OnConversationStarted(const PolicyProfile& p, bool verified, QualityRating rating,
                                  int64_t recent_unique, int64_t now,
                                  const QualityStanding& standing, MessagingTier& tier) {
  TierChanges ch;
  if (standing.flagged() || tier.has_pending_upgrade() || tier.level >= CeilingLevel(p, verified) ||
      static_cast<int>(rating) > static_cast<int>(p.upgrade_min_quality) ||
      !MeetsUpgradeVolume(p.LimitAt(tier.level), recent_unique)) {
    return ch;
  }
  if (p.upgrade_delay <= absl::ZeroDuration()) {
    tier.level += 1;
  } else {
    tier.pending_level = tier.level + 1;
    tier.pending_at_us = now + Us(p.upgrade_delay);
#ifdef WAPOLICY_INJECT_UPGRADE_DELAY_BUG
    tier.pending_at_us = now;  // The upgrade applies at once, without its delay.
#endif
  }
  ch.tier = true;
  return ch;
}

bool ClampToVerification(const PolicyProfile& p, bool verified, MessagingTier& tier) {
  const int lo = FloorLevel(p, verified), hi = CeilingLevel(p, verified);
  const int level = std::min(std::max(tier.level, lo), hi);
  const int pending = tier.pending_level < 0 ? -1 : std::min(tier.pending_level, hi);
  if (level == tier.level && pending == tier.pending_level) return false;
  tier.level = level;
  tier.pending_level = pending <= level ? -1 : pending;
  if (tier.pending_level < 0) tier.pending_at_us = 0;
  return true;
}

}  // namespace wapolicy
