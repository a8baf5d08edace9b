// Shadow mode, for rolling the engine out: for the reason families a server
// or a business shadows, a rule that would hold a message is evaluated,
// recorded as the decision's `shadow_reason` and counted, and the message is
// answered allowed; the rules after it go on as if it had passed, and state
// moves as if the message were sent (a slot taken over the limit, a
// conversation opened without an opt-in), so the engine's model keeps
// following the platform while a team watches what it would have held.
//
//   absl::StatusOr<ShadowSet> s = ParseShadowSet("limit,frequency_cap");  // or "all"
//   if (Shadowed(*s, ReasonCode::kLimitReached)) { ... }
//
// One exception: a free-form message outside the service window is answered
// allowed but changes nothing, because the platform refuses it (131047) and
// no conversation opens.
#ifndef WAPOLICY_POLICY_SHADOW_MODE_H_
#define WAPOLICY_POLICY_SHADOW_MODE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/decision.h"

namespace wapolicy {

// The reasons a message is held, by the rule family that holds it.
enum class ReasonFamily : uint8_t {
  kConsent = 0,        // NOT_OPTED_IN, OPTED_OUT, TOPIC_NOT_CONSENTED
  kTemplate = 1,       // TEMPLATE_UNKNOWN, TEMPLATE_NOT_APPROVED, _PAUSED, _DISABLED
  kContent = 2,        // MESSAGE_INVALID
  kServiceWindow = 3,  // OUTSIDE_SERVICE_WINDOW
  kLimit = 4,          // LIMIT_REACHED
  kFrequencyCap = 5,   // FREQUENCY_CAPPED
  kMarketing = 6,      // MARKETING_HELD, MARKETING_BLOCKED_REGION
  kAccount = 7,        // ACCOUNT_RESTRICTED, ACCOUNT_DISABLED
  kRates = 8,          // THROUGHPUT_LIMITED, PAIR_RATE_LIMITED
};
inline constexpr int kReasonFamilyCount = 9;

ReasonFamily FamilyOf(ReasonCode r);
absl::string_view ReasonFamilyName(ReasonFamily f);  // "consent", "limit", ...

// The families shadowed: bit f for family f.
using ShadowSet = uint32_t;
inline constexpr ShadowSet kShadowNone = 0;
inline constexpr ShadowSet kShadowAll = (1u << kReasonFamilyCount) - 1;

inline bool Shadowed(ShadowSet s, ReasonCode r) {
  return r != ReasonCode::kAllowed && (s >> static_cast<int>(FamilyOf(r)) & 1u) != 0;
}
// "" (none), "all", or family names joined by commas. INVALID_ARGUMENT
// naming the unknown family.
absl::StatusOr<ShadowSet> ParseShadowSet(absl::string_view text);
// The set's family names joined by commas ("" for none, "all" for all).
std::string ShadowSetName(ShadowSet s);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_SHADOW_MODE_H_
