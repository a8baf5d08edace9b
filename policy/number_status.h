// A business phone number as the rules see it: its connection status, its
// quality signals and its Flagged / Low standing.
//
// The rules that read and move this state are in tier_rules.h (Flagged,
// settling, downgrades) and quality.h (the rating); this header holds the
// plain state only.
//
//   BusinessNumber n;
//   n.history.Add(profile.quality, {now_us, SignalKind::kBlockSpam});
//   bool flagged = n.standing.flagged();
#ifndef WAPOLICY_POLICY_NUMBER_STATUS_H_
#define WAPOLICY_POLICY_NUMBER_STATUS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "policy/phone_number.h"
#include "policy/quality.h"
#include "policy/rate_limits.h"

namespace wapolicy {

struct LimitPool;

// A phone number's connection status. Restricted is shown when the limit is
// used up (it is derived from the conversations, not stored); Flagged comes
// from quality.
enum class NumberStatus { kConnected = 0, kFlagged = 1, kRestricted = 2 };
absl::string_view NumberStatusName(NumberStatus s);

// Where a number stands on quality: Flagged since when, and since when its
// rating has been Low without a break (see tier_rules.h).
struct QualityStanding {
  int64_t flagged_since_us = 0;  // 0 if not Flagged.
  int64_t low_since_us = 0;      // Start of the current Low run, 0 if none.

  bool flagged() const { return flagged_since_us != 0; }
};

// What the platform last reported for a number besides its limit (which is
// the pool's: messaging_tier.h), each with when it said it (its time; a
// report older than the one on record changes nothing). See platform_word.h.
struct PlatformStatus {
  int quality = -1;  // A QualityRating, or -1 if the platform has not said.
  int64_t quality_at_us = 0;
  int32_t throughput_mps = 0;  // Messages per second; 0 if not said.
  int64_t throughput_at_us = 0;
  int64_t restricted_until_us = 0;  // No new business-initiated conversations before it.
  int64_t restricted_at_us = 0;
  bool disabled = false;  // The account may send nothing.
  int64_t disabled_at_us = 0;
  int64_t flagged_at_us = 0;  // When the platform last said Flagged or not.

  bool has_quality() const { return quality >= 0; }
};

struct BusinessNumber {
  PhoneNumber number;
  std::string business_id;
  SignalHistory history;         // Last 7 days, oldest first.
  uint32_t next_signal_seq = 0;  // Tells apart signals stored with one time.
  QualityStanding standing;
  PlatformStatus platform;
  ThroughputState throughput;  // Not stored: the last second or so (rate_limits.h).
  LimitPool* pool = nullptr;
};

// The rating the rules use at `at`: the platform's if it had spoken by then,
// else the engine's estimate from the signals (platform_word.h).
inline QualityRating EffectiveRating(const BusinessNumber& n, const QualityModel& model,
                                     int64_t at) {
  const PlatformStatus& s = n.platform;
  if (s.has_quality() && at >= s.quality_at_us) return static_cast<QualityRating>(s.quality);
  return n.history.RatingAt(model, at);
}

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_NUMBER_STATUS_H_
