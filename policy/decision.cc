#include "policy/decision.h"

namespace wapolicy {

absl::string_view ReasonCodeName(ReasonCode r) {
  switch (r) {
    case ReasonCode::kAllowed:
      return "ALLOWED";
    case ReasonCode::kNotOptedIn:
      return "NOT_OPTED_IN";
    case ReasonCode::kOptedOut:
      return "OPTED_OUT";
    case ReasonCode::kOutsideServiceWindow:
      return "OUTSIDE_SERVICE_WINDOW";
    case ReasonCode::kLimitReached:
      return "LIMIT_REACHED";
    case ReasonCode::kTemplateNotApproved:
      return "TEMPLATE_NOT_APPROVED";
    case ReasonCode::kTemplatePaused:
      return "TEMPLATE_PAUSED";
    case ReasonCode::kTemplateDisabled:
      return "TEMPLATE_DISABLED";
    case ReasonCode::kTemplateUnknown:
      return "TEMPLATE_UNKNOWN";
    case ReasonCode::kMessageInvalid:
      return "MESSAGE_INVALID";
    case ReasonCode::kTopicNotConsented:
      return "TOPIC_NOT_CONSENTED";
    case ReasonCode::kFrequencyCapped:
      return "FREQUENCY_CAPPED";
    case ReasonCode::kAccountRestricted:
      return "ACCOUNT_RESTRICTED";
    case ReasonCode::kAccountDisabled:
      return "ACCOUNT_DISABLED";
    case ReasonCode::kThroughputLimited:
      return "THROUGHPUT_LIMITED";
    case ReasonCode::kPairRateLimited:
      return "PAIR_RATE_LIMITED";
    case ReasonCode::kMarketingHeld:
      return "MARKETING_HELD";
    case ReasonCode::kMarketingBlockedRegion:
      return "MARKETING_BLOCKED_REGION";
  }
  return "UNKNOWN";
}

int PlatformErrorCode(ReasonCode r) {
  switch (r) {
    case ReasonCode::kOptedOut:
      return 131050;
    case ReasonCode::kOutsideServiceWindow:
      return 131047;
    case ReasonCode::kTemplatePaused:
      return 132015;
    case ReasonCode::kTemplateDisabled:
      return 132016;
    case ReasonCode::kFrequencyCapped:
    case ReasonCode::kMarketingHeld:
    case ReasonCode::kMarketingBlockedRegion:
      return 131049;
    case ReasonCode::kAccountRestricted:
    case ReasonCode::kAccountDisabled:
      return 368;
    case ReasonCode::kThroughputLimited:
      return 130429;
    case ReasonCode::kPairRateLimited:
      return 131056;
    default:
      return 0;
  }
}

absl::string_view ConversationEffectName(ConversationEffect e) {
  switch (e) {
    case ConversationEffect::kNone:
      return "NONE";
    case ConversationEffect::kOpensBusinessInitiated:
      return "OPENS_BUSINESS_INITIATED";
    case ConversationEffect::kReusesBusinessInitiated:
      return "REUSES_BUSINESS_INITIATED";
    case ConversationEffect::kOpensUserInitiated:
      return "OPENS_USER_INITIATED";
    case ConversationEffect::kReusesUserInitiated:
      return "REUSES_USER_INITIATED";
  }
  return "UNKNOWN";
}

}  // namespace wapolicy
