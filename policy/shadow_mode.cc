#include "policy/shadow_mode.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace wapolicy {

ReasonFamily FamilyOf(ReasonCode r) {
  switch (r) {
    case ReasonCode::kNotOptedIn:
    case ReasonCode::kOptedOut:
    case ReasonCode::kTopicNotConsented:
      return ReasonFamily::kConsent;
    case ReasonCode::kTemplateNotApproved:
    case ReasonCode::kTemplatePaused:
    case ReasonCode::kTemplateDisabled:
    case ReasonCode::kTemplateUnknown:
      return ReasonFamily::kTemplate;
    case ReasonCode::kMessageInvalid:
      return ReasonFamily::kContent;
    case ReasonCode::kOutsideServiceWindow:
      return ReasonFamily::kServiceWindow;
    case ReasonCode::kLimitReached:
      return ReasonFamily::kLimit;
    case ReasonCode::kFrequencyCapped:
      return ReasonFamily::kFrequencyCap;
    case ReasonCode::kMarketingHeld:
    case ReasonCode::kMarketingBlockedRegion:
      return ReasonFamily::kMarketing;
    case ReasonCode::kAccountRestricted:
    case ReasonCode::kAccountDisabled:
      return ReasonFamily::kAccount;
    case ReasonCode::kThroughputLimited:
    case ReasonCode::kPairRateLimited:
    case ReasonCode::kAllowed:
      return ReasonFamily::kRates;
  }
  return ReasonFamily::kRates;
}

absl::string_view ReasonFamilyName(ReasonFamily f) {
  switch (f) {
    case ReasonFamily::kConsent: return "consent";
    case ReasonFamily::kTemplate: return "template";
    case ReasonFamily::kContent: return "content";
    case ReasonFamily::kServiceWindow: return "service_window";
    case ReasonFamily::kLimit: return "limit";
    case ReasonFamily::kFrequencyCap: return "frequency_cap";
    case ReasonFamily::kMarketing: return "marketing";
    case ReasonFamily::kAccount: return "account";
    case ReasonFamily::kRates: return "rates";
  }
  return "unknown";
}

absl::StatusOr<ShadowSet> ParseShadowSet(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text.empty() || text == "none") return kShadowNone;
  if (text == "all") return kShadowAll;
  ShadowSet s = kShadowNone;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    bool found = false;
    for (int f = 0; f < kReasonFamilyCount; ++f) {
      if (ReasonFamilyName(static_cast<ReasonFamily>(f)) == part) {
        s |= 1u << f;
        found = true;
      }
    }
    if (!found) {
      std::vector<std::string> names;
      for (int f = 0; f < kReasonFamilyCount; ++f) {
        names.emplace_back(ReasonFamilyName(static_cast<ReasonFamily>(f)));
      }
      return absl::InvalidArgumentError(absl::StrCat("shadow: unknown reason family '", part,
                                                     "' (all, or of: ",
                                                     absl::StrJoin(names, ", "), ")"));
    }
  }
  return s;
}

std::string ShadowSetName(ShadowSet s) {
  if (s == kShadowNone) return "";
  if ((s & kShadowAll) == kShadowAll) return "all";
  std::vector<std::string> names;
  for (int f = 0; f < kReasonFamilyCount; ++f) {
    if (s >> f & 1u) names.emplace_back(ReasonFamilyName(static_cast<ReasonFamily>(f)));
  }
  return absl::StrJoin(names, ",");
}

}  // namespace wapolicy
