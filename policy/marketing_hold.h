// The platform's per-user marketing limit: a delivery that failed with error
// 131049 means "wait at least 24 h before sending marketing to this customer
// again" (repeats inside 24 h can block them for longer). The engine holds
// marketing templates to that customer for 24 h (MARKETING_HELD, 131049,
// retry_after); marketing inside a customer-started service window is not
// held (the platform does not count it); the platform does not apply the limit
// to business numbers or customers in the EEA, the UK, Japan or South Korea (a
// profile list), so neither does the engine.
//
//   if (error_code == 131049 && !MarketingHoldExempt(profile, number, customer))
//     HoldMarketing(consent, at + 24h);
#ifndef WAPOLICY_POLICY_MARKETING_HOLD_H_
#define WAPOLICY_POLICY_MARKETING_HOLD_H_

#include <cstdint>

#include "policy/consent.h"
#include "policy/phone_number.h"
#include "policy/policy_profile.h"

namespace wapolicy {

inline constexpr int kPerUserMarketingLimitError = 131049;

// Whether the limit does not apply to this pair: either number's region is
// in profile.marketing_hold_exempt_regions (libphonenumber's region).
bool MarketingHoldExempt(const PolicyProfile& profile, PhoneNumber business_number,
                         PhoneNumber customer);

// A 131049 failure at `at`: holds marketing to the customer for the
// profile's hold (never shortening a longer one). Returns whether it changed.
bool HoldMarketing(const PolicyProfile& profile, Consent& c, int64_t at);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_MARKETING_HOLD_H_
