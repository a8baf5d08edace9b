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

struct BusinessNumber {
  PhoneNumber number;
  std::string business_id;
  SignalHistory history;         // Last 7 days, oldest first.
  uint32_t next_signal_seq = 0;  // Tells apart signals stored with one time.
  QualityStanding standing;
  LimitPool* pool = nullptr;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_NUMBER_STATUS_H_
