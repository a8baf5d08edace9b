#include "policy/number_snapshot.h"

namespace wapolicy {

NumberSnapshot MakeNumberSnapshot(const PolicyProfile& p, const BusinessNumber& n,
                                  const LimitPool& pool, bool verified, bool official,
                                  int64_t now, SnapshotDetail detail) {
  auto from_us = [](int64_t us) { return absl::FromUnixMicros(us); };
  NumberSnapshot s;
  s.number = n.number;
  s.business_id = n.business_id;
  s.verified = verified;
  s.official = official;
  s.quality_score = n.history.ScoreAt(p.quality, now);
  s.estimated_quality = n.history.RatingAt(p.quality, now);
  s.quality = EffectiveRating(n, p.quality, now);
  s.platform = n.platform;
  s.platform_limit = pool.platform;
  const int64_t horizon = now - absl::ToInt64Microseconds(p.quality.lookback);
  for (const QualitySignal& q : n.history.signals()) {
    if (q.at_us > horizon) s.signals_7d[static_cast<int>(q.kind)]++;
  }
  s.limit_scope = p.limit_scope;
  s.level = pool.tier.level;
  s.estimated_limit = p.LimitAt(pool.tier.level);
  s.limit = EffectiveLimit(p, pool);
  s.used = pool.ledger.open_slots();
  if (detail == SnapshotDetail::kFull) {
    pool.ledger.ForEach([&](uint64_t, const ConversationWindow& w) {
      if (w.pending && w.open_at(now)) s.pending++;
    });
  }
  s.recent_unique =
      pool.ledger.recent_unique_customers(now - absl::ToInt64Microseconds(p.upgrade_lookback));
  s.flagged = n.standing.flagged();
  s.restricted = LimitReached(s.limit, s.used);
  s.status = s.restricted ? NumberStatus::kRestricted
             : s.flagged  ? NumberStatus::kFlagged
                          : NumberStatus::kConnected;
  if (pool.tier.has_pending_upgrade()) {
    s.pending_level = pool.tier.pending_level;
    s.pending_limit = p.LimitAt(pool.tier.pending_level);
    s.pending_at = from_us(pool.tier.pending_at_us);
  }
  if (s.flagged) {
    s.flagged_since = from_us(n.standing.flagged_since_us);
    s.flag_settles_at =
        from_us(n.standing.flagged_since_us + absl::ToInt64Microseconds(p.flagged_period));
  }
  if (n.standing.low_since_us != 0 && s.quality == QualityRating::kLow) {
    s.low_since = from_us(n.standing.low_since_us);
  }
  if (pool.ledger.earliest_slot_end() != 0)
    s.next_slot_free = from_us(pool.ledger.earliest_slot_end());
  return s;
}

}  // namespace wapolicy
