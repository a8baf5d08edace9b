// Campaign planning: for a number, a template and a list of customers, what
// happens if the campaign is sent — who may go at its start, who is
// excluded and why, and when each waiting customer gets a slot — without
// changing any state.
//
// Two halves:
//  - at the campaign's start, the engine asks DecideSend (send_decision.h)
//    for every customer as a dry run, under the number's shard lock, with a
//    running count of the slots the campaign itself takes; so "can go now"
//    is what Check would answer, customer after customer
//    (EngineShard::PlanCampaign, internal/engine_shard_campaign.cc);
//  - after it, ForecastCampaign (here, a pure function) replays time: the
//    pool's held slots end, the campaign's own slots end one conversation
//    length after each message goes, throughput paces the messages, and
//    each delivery is a conversation start that the tier rules count
//    (tier_rules.h OnConversationStarted; the upgrade applies after its
//    delay and adds slots then).
//
// What the forecast assumes (and the tests hold to): every admitted message
// is sent at its send time and delivered at once (the conversation starts
// then); slots held by messages admitted before the plan and not yet
// delivered are delivered at their admission; nothing else happens on the
// pool (no other campaign, no inbound message, no quality signal, no word
// from the platform); the sender checks each waiting customer when its step
// comes (Check with pace) and sends at the send time. The 2025 path to
// 2,000 by volume (scaling_path.h) is not forecast.
//
//   CampaignRequest req{number, "spring_sale", "en_US"};
//   absl::StatusOr<CampaignPlan> plan = engine.PlanCampaign(req, customers);
//   for (const CampaignStep& s : plan->schedule) Send(s.count, s.at_us);
//   absl::StatusOr<CampaignReservation> r = engine.ReserveCampaign(req, first_n);
#ifndef WAPOLICY_POLICY_CAMPAIGN_PLAN_H_
#define WAPOLICY_POLICY_CAMPAIGN_PLAN_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "policy/decision.h"
#include "policy/messaging_tier.h"
#include "policy/number_status.h"
#include "policy/phone_number.h"
#include "policy/policy_profile.h"
#include "policy/rate_limits.h"

namespace wapolicy {

// What the plan says of one customer.
enum class CampaignOutcome : uint8_t {
  kSendNow = 0,         // Opens a business-initiated conversation at the start (takes a slot).
  kInConversation = 1,  // Allowed at the start without a slot: an open conversation or the
                        // customer's service window.
  kWait = 2,            // Needs a slot: the limit is used up (or the platform restricted
                        // business-initiated messaging until a time).
  kNotOptedIn = 3,
  kOptedOut = 4,          // Opted out, or stopped marketing (131050).
  kTopic = 5,             // The opt-in does not cover the template's topic.
  kMarketingHeld = 6,     // The per-user marketing limit's hold (131049).
  kUsMarketing = 7,       // A marketing template to a US number (131049).
  kFrequencyCapped = 8,   // The per-customer frequency caps.
  kTemplate = 9,          // The template may not be sent (unknown, not approved, paused, invalid).
  kAccountDisabled = 10,  // The platform disabled the account (368).
  kDuplicate = 11,        // The customer appeared earlier in the list: counted once.
  kOther = 12,            // Any other refusal (none is expected for a template).
};
inline constexpr int kCampaignOutcomeCount = 13;
absl::string_view CampaignOutcomeName(CampaignOutcome o);
// The outcome a decision at the campaign's start means.
CampaignOutcome CampaignOutcomeOf(const Decision& d);
// Excluded: neither sent nor waiting.
inline bool CampaignExcluded(CampaignOutcome o) {
  return o != CampaignOutcome::kSendNow && o != CampaignOutcome::kInConversation &&
         o != CampaignOutcome::kWait;
}

struct CampaignRequest {
  PhoneNumber business_number;
  std::string template_name;
  std::string template_language;
  // Unix microseconds; 0, or any time not after the engine's now: now. The
  // state is projected to it (slots ending, upgrades due, caps, windows).
  int64_t start_us = 0;
  bool per_customer = false;  // Fill CampaignPlan::customers.
  // The schedule gathers admissions less than this after a step's first
  // into that step (0: each distinct time its own step).
  int64_t step_us = 1000000;
};

// One customer's plan, in the order of the request.
struct CampaignCustomer {
  uint64_t customer = 0;  // PhoneNumber::value().
  // kSendNow, kInConversation: the start; kWait: when a slot is free and
  // Check admits it (0: no forecast slot reaches it). Else 0.
  int64_t admit_at_us = 0;
  // Sent, waiting: when it may go (the throughput and the pair rate may put
  // it after admit_at_us; 0 if unscheduled). Excluded: when the refusal
  // lifts if it says (a cap, a hold, a template pause), else 0.
  int64_t send_at_us = 0;
  CampaignOutcome outcome = CampaignOutcome::kOther;
  ReasonCode reason = ReasonCode::kAllowed;  // The decision's at the start.
};

// Customers admitted at one time (and within step_us after it).
struct CampaignStep {
  int64_t at_us = 0;            // When Check admits the first of them.
  int64_t count = 0;            // Customers admitted in the step.
  int64_t last_send_at_us = 0;  // When the last of them may go (throughput).
  int64_t limit = 0;            // The enforced limit then (kUnlimited: none).
};

// An upgrade in the forecast: earned when a conversation start brought the
// unique customers of the look-back to half the limit (tier_rules.h).
struct CampaignUpgrade {
  int64_t earned_at_us = 0;  // 0: scheduled before the campaign.
  int64_t applies_at_us = 0;
  int64_t limit_before = 0;
  int64_t limit_after = 0;  // kUnlimited: none.
  // Whether it raises the enforced limit: not while the platform's reported
  // limit is enforced (platform_word.h); the engine's estimate climbs anyway.
  bool raises_enforced_limit = true;
};

struct CampaignPlan {
  int64_t start_us = 0;
  int64_t limit = 0;  // Enforced at the start (kUnlimited: none).
  int64_t used = 0;   // Slots held at the start, before the campaign.
  int32_t throughput_mps = 0;
  int64_t customers = 0;  // Entries in the request, duplicates included.
  std::array<int64_t, kCampaignOutcomeCount> counts{};  // By CampaignOutcome.
  int64_t count(CampaignOutcome o) const { return counts[static_cast<int>(o)]; }
  // The first step is the start (kSendNow and kInConversation); then one per
  // time waiting customers are admitted. Past kMaxSteps the rest are folded
  // into the last step (schedule_truncated).
  std::vector<CampaignStep> schedule;
  static constexpr size_t kMaxSteps = 100000;
  bool schedule_truncated = false;
  int64_t last_send_at_us = 0;  // When the last sent or waiting customer may go.
  int64_t unscheduled = 0;      // Waiting customers no forecast slot reaches.
  // Upgrades in the forecast, in time order (one scheduled before the
  // campaign first); each applies when the previous one has.
  std::vector<CampaignUpgrade> upgrades;
  bool reaches_upgrade_threshold() const {
    for (const CampaignUpgrade& u : upgrades) {
      if (u.earned_at_us != 0) return true;
    }
    return false;
  }
  std::vector<CampaignCustomer> customer_plans;  // When asked (per_customer).
};

// A reservation: every customer admitted (Check with pace), in one journal
// write. Each new conversation's slot is pending until delivery, and given
// back after the profile's reservation_timeout, as a single admission's.
struct CampaignReservation {
  int64_t reserved = 0;         // New conversations: slots taken.
  int64_t in_conversation = 0;  // Admitted inside an open conversation or service window.
  std::vector<int64_t> send_at_us;  // Per customer in order: when it may go.
  int64_t limit = 0;
  int64_t used = 0;  // Slots held after it.
  int64_t slots_held_until_us = 0;  // Undelivered slots are given back then.
};

// --- The forecast (pure) --------------------------------------------------------

// The pool as the plan found it, projected to the campaign's start.
struct CampaignPool {
  int64_t start_us = 0;
  bool verified = false;  // ClimbsAsVerified.
  // The number: its rating over time (signals, the platform's word; no new
  // ones), its standing (Flagged, Low) and its throughput.
  BusinessNumber number;
  MessagingTier tier;
  PlatformLimit platform_limit;
  int64_t restricted_until_us = 0;  // The platform's restriction (0: none).
  int32_t throughput_mps = 0;       // 0: not enforced.
  ThroughputState throughput;       // After the campaign's messages at the start.
  // Every slot held at the start (assumed ends), the campaign's own excluded.
  std::vector<int64_t> slot_ends;
  // The latest conversation start of every customer in the look-back, at
  // the start (a held slot's admission counts as its start).
  std::vector<int64_t> recent_starts;
};

// A campaign message that starts a conversation (goes at send_at_us, admitted
// at admit_at_us or a slot freeing later). `index` is the customer's position
// in CampaignPlan::customer_plans (when kept).
struct CampaignStart {
  int64_t send_at_us = 0;
  int64_t previous_start_us = 0;  // The customer's start in recent_starts (0: none).
};
struct CampaignWaiter {
  uint32_t index = 0;
  int64_t previous_start_us = 0;
  PairRateState pair;  // The pair rate with the customer (idle if none).
};

// Replays time from the pool's start: the campaign's messages at the start
// (`starts`: their slots are held from the start), then `waiters` in order as
// slots free. Fills plan->schedule (after the start's step, which the caller
// adds), last_send_at_us, unscheduled, upgrades and the waiters' entries in
// plan->customer_plans when it is not empty.
void ForecastCampaign(const PolicyProfile& profile, CampaignPool pool,
                      const std::vector<CampaignStart>& starts,
                      const std::vector<CampaignWaiter>& waiters, int64_t step_us,
                      CampaignPlan* plan);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_CAMPAIGN_PLAN_H_
