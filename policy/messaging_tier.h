// A messaging tier: the level a limit pool holds on the profile's ladder, an
// upgrade scheduled for later, and the pool's conversations.
//
// A limit pool is the counter a messaging limit applies to: one phone
// number's (the brief) or a whole business portfolio's (the platform since
// October 2025). The rules that move a tier are in tier_rules.h; the limit
// arithmetic every rule shares is here.
//
//   LimitPool pool;
//   pool.tier.level = FloorLevel(profile, /*verified=*/true);
//   if (LimitReached(profile.LimitAt(pool.tier.level), pool.ledger.open_slots())) { ... }
#ifndef WAPOLICY_POLICY_MESSAGING_TIER_H_
#define WAPOLICY_POLICY_MESSAGING_TIER_H_

#include <cstdint>
#include <string>

#include "policy/conversations.h"
#include "policy/policy_profile.h"

namespace wapolicy {

// A level on the profile's ladder and the upgrade scheduled from it, if any.
struct MessagingTier {
  int level = 0;
  int pending_level = -1;     // Upgrade scheduled, or -1.
  int64_t pending_at_us = 0;  // When the upgrade takes effect.
  // Reached (or scheduled to reach) the verified start level by volume
  // without verification (scaling_path.h): climbs as a verified pool.
  bool volume_unlocked = false;

  bool has_pending_upgrade() const { return pending_level >= 0; }
  void CancelUpgrade() {
    pending_level = -1;
    pending_at_us = 0;
  }
};

// The messaging limit the platform last reported for a pool (SyncNumber,
// RegisterNumber's current_limit; later its webhooks), and when. While set it
// is the limit enforced (platform_word.h).
struct PlatformLimit {
  bool set = false;
  int64_t limit = 0;  // kUnlimited for none.
  int64_t at_us = 0;  // When the platform said it (its time).
};

struct LimitPool {
  std::string id;  // Storage key: see PoolIdForNumber / PoolIdForBusiness.
  std::string business_id;
  MessagingTier tier;  // The engine's own estimate (the tier rules).
  PlatformLimit platform;
  ConversationLedger ledger;
};

// Lowest and highest level a business may hold: a verified business starts
// at (and is never downgraded below) the verified start level.
inline int FloorLevel(const PolicyProfile& p, bool verified) {
  return verified ? p.verified_start_level : p.unverified_start_level;
}
inline int CeilingLevel(const PolicyProfile& p, bool verified) {
  return verified ? p.top_level() : p.unverified_max_level;
}
// The `verified` the tier rules use for a pool: the business's verification,
// or the 2025 path by volume (scaling_path.h).
inline bool ClimbsAsVerified(bool verified, const MessagingTier& t) {
  return verified || t.volume_unlocked;
}

// The limit enforced: the platform's if it reported one, else the tier
// estimate's (platform_word.h).
inline int64_t EffectiveLimit(const PolicyProfile& p, const LimitPool& pool) {
  return pool.platform.set ? pool.platform.limit : p.LimitAt(pool.tier.level);
}

// True if `used` slots leave no room for a new unique customer.
inline bool LimitReached(int64_t limit, int64_t used) {
  return limit != kUnlimited && used >= limit;
}

// The upgrade volume rule: in the look-back the pool started conversations
// with at least limit/2 unique customers.
inline bool MeetsUpgradeVolume(int64_t limit, int64_t recent_unique) {
  return limit != kUnlimited && 2 * recent_unique >= limit;
}

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_MESSAGING_TIER_H_
