// The decision of one check: may this number send this message to this
// customer now?
//
// A pure function over the state the engine looked up: it changes nothing
// and returns the decision together with the changes it intends (open a
// user-initiated conversation, reserve a conversation slot, count a send
// against the frequency caps), which the engine applies unless the check is
// a dry run. The rules apply in this order, the first that holds answers:
//
//  0. The platform disabled the account: nothing may be sent
//     (ACCOUNT_DISABLED, 368).
//
//  Templates                            Session (free-form) messages
//  1. registered (TEMPLATE_UNKNOWN)     1. content matches its type and the
//  2. APPROVED (NOT_APPROVED, PAUSED       content rules (MESSAGE_INVALID)
//     132015, DISABLED 132016), and     2. inside the 24 h service window
//     not paused for a RED quality
//     (TEMPLATE_PAUSED, retry_after)
//  3. parameters match the body's          (OUTSIDE_SERVICE_WINDOW 131047)
//     variables (MESSAGE_INVALID)
//  4. not opted out (OPTED_OUT 131050),
//     inside a service window too
//
//  Inside the customer's service window (a reply: user-initiated, never
//  counted, no opt-in needed because the customer wrote first):
//  5. a marketing message to a customer who opted out: OPTED_OUT (whatever
//     scoped_opt_in says; opting out means no marketing)
//  6. with scoped_opt_in, a marketing message needs marketing consent
//     (TOPIC_NOT_CONSENTED): the brief's "do not upsell in that window"
//  -> allowed, reusing the open conversation or opening a user-initiated one.
//
//  Business-initiated (a template outside any window):
//  7a. no marketing template to a US number (MARKETING_BLOCKED_REGION,
//      131049; us_marketing.h), when the profile's switch is on: first, as
//      nothing the business does can lift it
//  7. opted in (NOT_OPTED_IN)
//  8. with scoped_opt_in, the consent covers the template's topic
//     (TOPIC_NOT_CONSENTED)
//  8b. a marketing template to a customer under the per-user marketing
//      limit's hold (MARKETING_HELD, 131049, retry_after; marketing_hold.h)
//  9. frequency caps, all and marketing (FREQUENCY_CAPPED, retry_after)
//  10. inside an open business-initiated conversation: allowed, free
//  11. the platform has not restricted business-initiated messaging
//      (ACCOUNT_RESTRICTED, 368, retry_after: when the restriction ends)
//  12. a free slot under the messaging limit (LIMIT_REACHED: Restricted);
//      the limit is the platform's once it reported one
//
//  Then, for any message allowed so far (rate_limits.h):
//  13. the pair rate to this customer (PAIR_RATE_LIMITED, 131056), and
//  14. the number's throughput (THROUGHPUT_LIMITED, 130429), both with
//      retry_after; a paced request is allowed with send_at instead and its
//      slots are taken at that time. Last, so that a message held here is one
//      that only needs to wait.
//  -> allowed, taking a slot reserved for reservation_timeout until delivery.
//
//   SendContext ctx{profile, limit, used, ...};
//   SendOutcome out = DecideSend(ctx, message, now_us);
//   if (!message.dry_run && out.reserve_slot) ledger.Reserve(...);
#ifndef WAPOLICY_POLICY_SEND_DECISION_H_
#define WAPOLICY_POLICY_SEND_DECISION_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "policy/consent.h"
#include "policy/conversations.h"
#include "policy/decision.h"
#include "policy/number_status.h"
#include "policy/outgoing_message.h"
#include "policy/policy_profile.h"
#include "policy/rate_limits.h"
#include "policy/service_window.h"
#include "policy/shadow_mode.h"
#include "policy/templates.h"
#include "policy/topic_registry.h"

namespace wapolicy {

// What the engine found for one check. Pointers are null when there is none.
struct SendContext {
  const PolicyProfile& profile;
  absl::string_view business_id;
  int64_t limit = 0;                      // The pool's current limit (kUnlimited for none).
  int64_t used = 0;                       // Open and pending slots.
  int64_t earliest_slot_end = 0;          // 0 if no slot is held.
  const ServiceWindow* window = nullptr;  // Number and customer.
  const ConversationWindow* conversation = nullptr;  // The customer's slot in the pool.
  const Consent* consent = nullptr;                  // The customer's, with the business.
  const TopicRegistry& topics;                       // The business's.
  const MessageTemplate* tmpl = nullptr;             // Found by name and language.
  const PlatformStatus* platform = nullptr;          // The number's (platform_word.h).
  // The per-second limits (rate_limits.h).
  const ThroughputState* throughput = nullptr;  // The number's; null: not enforced.
  int32_t throughput_mps = 0;                   // 0: not enforced.
  const PairRateState* pair = nullptr;          // The (number, customer) pair's; null if none yet.
  ShadowSet shadow = kShadowNone;  // Families answered allowed with the would-be reason.
};

struct SendOutcome {
  Decision decision;
  // Changes to apply when allowed and not a dry run.
  int64_t open_user_conversation_until = 0;  // Set the window's user conversation end.
  int64_t reserve_slot_until = 0;            // Reserve a slot until this deadline.
  bool reserve_qualifies = false;            // Its template is rated GREEN (scaling_path.h).
  bool record_send = false;                  // Count against the frequency caps,
  bool record_marketing = false;             // and the marketing cap.
  int64_t take_rate_at = 0;  // Take throughput and pair-rate slots at this time (0: none).
};

SendOutcome DecideSend(const SendContext& ctx, const OutgoingMessage& m, int64_t now);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_SEND_DECISION_H_
