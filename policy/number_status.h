#ifndef WAPOLICY_POLICY_NUMBER_STATUS_H_
#define WAPOLICY_POLICY_NUMBER_STATUS_H_

#include <cstdint>
#include <deque>
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

// A business phone number: its quality signals and Flagged state.
//
// Flagged rule: the moment the rating becomes Low (it can only get worse when
// a signal arrives, see QualityModel) a Connected number becomes Flagged, and
// any scheduled upgrade is cancelled. The flag is settled exactly
// flagged_period (7 days) later: if the rating at that instant is Medium or
// High the number returns to Connected with its tier; if it is still Low it
// returns to Connected one level lower. We read the brief's "improves by the
// 7th day" as "is better on the 7th day", which is deterministic.
//
// Downgrade rule: on each new business-initiated conversation, if the rating
// has been Low without a break for downgrade_low_period (7 days), the limit
// drops one level at once and the 7-day count starts again. A drop made when a
// flag is settled also restarts that count, so one Low week costs one level.
struct BusinessNumber {
  PhoneNumber number;
  std::string business_id;
  std::deque<QualitySignal> signals;  // Last 7 days, oldest first.
  int64_t flagged_since_us = 0;       // 0 if not Flagged.
  int64_t low_since_us = 0;           // Start of the current Low run, 0 if none seen.
  LimitPool* pool = nullptr;

  bool flagged() const { return flagged_since_us != 0; }
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_NUMBER_STATUS_H_
