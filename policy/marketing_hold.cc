#include "policy/marketing_hold.h"

#include <algorithm>

#include "absl/time/time.h"

namespace wapolicy {

bool MarketingHoldExempt(const PolicyProfile& profile, PhoneNumber business_number,
                         PhoneNumber customer) {
  const auto& regions = profile.marketing_hold_exempt_regions;
  for (PhoneNumber n : {business_number, customer}) {
    // The region of a valid number; for one in a test or unassigned range, its
    // country code's main region (+44 07700 900xxx is GB).
    const PhoneNumberInfo info = DescribePhoneNumber(n);
    const std::string& region = info.region != "ZZ" ? info.region : info.country_region;
    if (std::find(regions.begin(), regions.end(), region) != regions.end()) return true;
  }
  return false;
}

bool HoldMarketing(const PolicyProfile& profile, Consent& c, int64_t at) {
  const int64_t until = at + absl::ToInt64Microseconds(profile.marketing_hold);
  if (until <= c.recent.marketing_held_until()) return false;
  c.recent.set_marketing_held_until(until);
  return true;
}

}  // namespace wapolicy
