// The answer to "may this number send this message now?": allowed or not,
// the reason in the platform's own words and error code, and the numbers
// behind it (limit, used, when a slot or the service window frees).
//
//   Decision d = engine.Check(message).value();
//   if (!d.allowed) Log(ReasonCodeName(d.reason), PlatformErrorCode(d.reason));
#ifndef WAPOLICY_POLICY_DECISION_H_
#define WAPOLICY_POLICY_DECISION_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wapolicy {

// Why a message was held. Each names the platform's own error code where one
// exists, so pipeline teams recognise it.
enum class ReasonCode {
  kAllowed = 0,
  kNotOptedIn = 1,            // No opt-in on record for a business-initiated message.
  kOptedOut = 2,              // 131050: the customer opted out.
  kOutsideServiceWindow = 3,  // 131047: free-form message > 24h after the customer's last message.
  kLimitReached = 4,          // Restricted: the messaging limit of unique customers is used up.
  kTemplateNotApproved = 5,   // Template PENDING / REJECTED.
  kTemplatePaused = 6,        // 132015.
  kTemplateDisabled = 7,      // 132016.
  kTemplateUnknown = 8,       // No such template (name, language) registered.
  kMessageInvalid = 9,        // The message breaks a content rule (compliance).
  kTopicNotConsented = 10,    // Opt-in does not cover the template's topic.
  kFrequencyCapped = 11,      // 131049: per-customer cap on business-initiated messages.
  kAccountRestricted = 12,    // 368: the platform restricted business-initiated messaging.
  kAccountDisabled = 13,      // 368: the platform disabled the account.
  kThroughputLimited = 14,    // 130429: more messages a second than the number's throughput.
  kPairRateLimited = 15,      // 131056: too many messages to one customer (pair rate).
  kMarketingHeld = 16,        // 131049: marketing held after the per-user marketing limit.
  kMarketingBlockedRegion = 17,  // 131049: no marketing templates to US numbers.
};
inline constexpr int kReasonCodeCount = 18;

absl::string_view ReasonCodeName(ReasonCode r);
// The platform error code a held message would have met, or 0 if none.
int PlatformErrorCode(ReasonCode r);

// What an allowed message does to conversations.
enum class ConversationEffect {
  kNone = 0,
  kOpensBusinessInitiated = 1,  // A new unique-customer conversation: counts against the limit.
  kReusesBusinessInitiated =
      2,                    // Inside an open (or pending) business-initiated conversation: free.
  kOpensUserInitiated = 3,  // A reply inside the service window: never counts.
  kReusesUserInitiated = 4,
};
absl::string_view ConversationEffectName(ConversationEffect e);

// The answer to "may this number send this message to this customer now?",
// with the numbers behind it.
struct Decision {
  bool allowed = false;
  ReasonCode reason = ReasonCode::kAllowed;
  ConversationEffect effect = ConversationEffect::kNone;
  std::string detail;  // One sentence for humans, set on every deny.

  int64_t limit = 0;  // Current messaging limit; kUnlimited (-1) for none.
  int64_t used = 0;   // Unique customers in open or pending conversations, after this decision.
  absl::Time next_slot_free = absl::InfiniteFuture();  // When the earliest open conversation ends.
  absl::Time service_window_ends = absl::InfinitePast();
  absl::Time conversation_ends = absl::InfinitePast();
  absl::Time retry_after = absl::InfinitePast();  // Caps, rates, restrictions: try again then.
  absl::Time send_at = absl::InfinitePast();      // A paced message: send it no earlier than this.
  // Shadow mode (shadow_mode.h): the first rule that would have held this
  // allowed message, and why; kAllowed if none.
  ReasonCode shadow_reason = ReasonCode::kAllowed;
  std::string shadow_detail;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_DECISION_H_
