// No marketing templates to US numbers: since April 2025 the platform does
// not deliver marketing templates to US numbers (+1 with a US area code;
// Canada and the Caribbean share +1 and are not affected) and fails them with
// 131049. With the profile's `us_marketing_blocked` on, the engine refuses
// them first (MARKETING_BLOCKED_REGION, 131049); marketing inside a service
// window the customer started is exempt, as on the platform (send_decision.h
// rule 7a).
//
// A +1 number is told apart by its area code (NPA): a 1,000-entry table, one
// flag per area code, built once with libphonenumber (the region of sample
// numbers in each area code, ~30 ms) so that the decision path pays one
// table look-up instead of libphonenumber's ~8 us per number.
//   - region US: US;
//   - Canada (CA) and the Caribbean and US territories with their own region
//     code (BS, JM, PR, GU, VI, ...): not US;
//   - no region for any sample (an unassigned area code, or none: 0xx, 1xx):
//     US, the cautious side (IsUsNumber's choice, phone_number.h).
// The table answers by area code, so a number in a Canadian area code whose
// exchange libphonenumber finds invalid is Canadian here (IsUsNumber, by
// region of the whole number, would say "unknown, so US").
//
//   WarmUsAreaCodes();                      // At startup: builds the table.
//   if (IsUsAreaCode(customer)) { ... }     // O(1), any thread.
#ifndef WAPOLICY_POLICY_US_MARKETING_H_
#define WAPOLICY_POLICY_US_MARKETING_H_

#include <array>
#include <cstdint>

#include "policy/phone_number.h"

namespace wapolicy {

inline constexpr int kUsMarketingError = 131049;

// One flag per area code 000..999: true if US (or unknown). Built on first
// use (thread-safe), from libphonenumber's metadata.
const std::array<bool, 1000>& UsAreaCodeTable();

// Builds the table now, so the first decision does not pay for it.
inline void WarmUsAreaCodes() { (void)UsAreaCodeTable(); }

// Whether `number` is +1 (11 digits) with a US area code.
inline bool IsUsAreaCode(PhoneNumber number) {
  const uint64_t v = number.value();
  if (v / 10'000'000'000ULL != 1) return false;  // Not +1 and 10 national digits.
  return UsAreaCodeTable()[(v / 10'000'000ULL) % 1000];
}

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_US_MARKETING_H_
