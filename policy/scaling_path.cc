#include "policy/scaling_path.h"

namespace wapolicy {

TierChanges OnQualifiedStart(const PolicyProfile& p, bool verified, int64_t qualified, int64_t now,
                             MessagingTier& t) {
  TierChanges ch;
  if (!OnVolumePath(p, verified, t) || qualified < p.volume_path_customers) return ch;
  t.volume_unlocked = true;
  ch.tier = true;
  const int target = p.verified_start_level;
  if (p.upgrade_delay <= absl::ZeroDuration()) {
    t.level = target;
    t.CancelUpgrade();
  } else if (t.pending_level < target) {
    t.pending_level = target;
    t.pending_at_us = now + absl::ToInt64Microseconds(p.upgrade_delay);
  }
  return ch;
}

}  // namespace wapolicy
