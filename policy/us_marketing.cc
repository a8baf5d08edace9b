#include "policy/us_marketing.h"

#include <string>

#include "phonenumbers/phonenumber.pb.h"
#include "phonenumbers/phonenumberutil.h"

namespace wapolicy {
namespace {

// Exchanges and line numbers tried in each area code, until one has a
// region: libphonenumber's +1 metadata assigns whole area codes (US ones
// with a few exchange ranges: 523 and 524 are US only for some), and three
// samples find every area code's region that any exchange has (checked
// against all 1,000 exchanges of every area code when this was written).
constexpr uint64_t kSamples[] = {2345678, 5550100, 8675309};

std::array<bool, 1000> Build() {
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  std::array<bool, 1000> us{};
  for (int npa = 0; npa < 1000; ++npa) {
    std::string region;
    if (npa >= 200) {  // 0xx and 1xx are no area codes: unknown.
      for (uint64_t s : kSamples) {
        i18n::phonenumbers::PhoneNumber n;
        n.set_country_code(1);
        n.set_national_number(static_cast<uint64_t>(npa) * 10'000'000ULL + s);
        util->GetRegionCodeForNumber(n, &region);
        if (!region.empty() && region != "ZZ") break;
        region.clear();
      }
    }
    us[npa] = region.empty() || region == "US";
  }
  return us;
}

}  // namespace

const std::array<bool, 1000>& UsAreaCodeTable() {
  static const std::array<bool, 1000> table = Build();
  return table;
}

}  // namespace wapolicy
