// Every number the rules use (ladder, windows, quality thresholds, caps,
// content limits) in one value, so a change of the platform's rules is a new
// profile rather than new code: the brief's rules by default, the platform's
// since October 2025 as a second.
//
//   PolicyProfile brief = DefaultProfile();
//   PolicyProfile platform = Portfolio2025Profile();  // Per-portfolio limits.
//   int64_t limit = brief.LimitAt(tier_level);
#ifndef WAPOLICY_POLICY_POLICY_PROFILE_H_
#define WAPOLICY_POLICY_POLICY_PROFILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "policy/message_compliance.h"
#include "policy/quality.h"
#include "policy/rate_limits.h"

namespace wapolicy {

// Whose counter a messaging limit is: each phone number's own (the brief), or
// one shared by every number of a business portfolio (the platform since
// October 2025).
enum class LimitScope { kPerNumber = 0, kPerPortfolio = 1 };

// A limit value meaning "no limit" (tier 4 / the top of the ladder).
inline constexpr int64_t kUnlimited = -1;

// Every number the rules use, in one value, so the platform's rule changes are
// a new profile rather than new code. Decisions carry name and revision.
struct PolicyProfile {
  std::string name = "brief-2023";
  int64_t revision = 1;

  // Messaging limit ladder: unique customers in business-initiated
  // conversations per rolling conversation_length. kUnlimited only at the top.
  std::vector<int64_t> ladder = {250, 1000, 10000, 100000, kUnlimited};
  // A verified business starts at ladder[verified_start_level] (1,000); an
  // unverified one at ladder[unverified_start_level] and cannot climb past
  // unverified_max_level until verified. 250 for unverified businesses is the
  // platform's figure; the brief names no number (configurable).
  int verified_start_level = 1;
  int unverified_start_level = 0;
  int unverified_max_level = 0;

  LimitScope limit_scope = LimitScope::kPerNumber;

  // A business-initiated conversation lasts this long from first delivery.
  absl::Duration conversation_length = absl::Hours(24);
  // The customer-service window lasts this long from the latest user message.
  absl::Duration service_window = absl::Hours(24);
  // An admitted but not yet delivered conversation holds its slot this long.
  absl::Duration reservation_timeout = absl::Minutes(15);

  // Tier upgrade: look-back for unique customers and the delay before the new
  // limit applies.
  absl::Duration upgrade_lookback = absl::Hours(24 * 7);
  absl::Duration upgrade_delay = absl::Hours(24);
  // Worst quality rating that still allows an upgrade (Medium: "Medium or High").
  QualityRating upgrade_min_quality = QualityRating::kMedium;

  // The platform's path to the verified start level without verification
  // (scaling_path.h): delivered business-initiated messages to this many
  // unique customers within volume_path_window, with GREEN templates. 0: off
  // (the brief's profile); 2,000 in 30 days in the platform's since 2025.
  int64_t volume_path_customers = 0;
  absl::Duration volume_path_window = absl::Hours(24 * 30);

  // Flagged status and quality downgrades (both removed by the platform in
  // October 2025).
  bool flagged_enabled = true;
  absl::Duration flagged_period = absl::Hours(24 * 7);
  bool downgrade_enabled = true;
  absl::Duration downgrade_low_period = absl::Hours(24 * 7);

  // Shadow mode for the whole server (shadow_mode.h ShadowSet; a business
  // may add its own): not part of the stored profile.
  uint32_t shadow = 0;

  // Events as the platform reports them (event_ids.h). An event's
  // occurred_at may be at most this far ahead of the server's clock.
  absl::Duration event_time_skew = absl::Minutes(5);
  // Applied event ids are remembered this long (the platform retries for up
  // to 7 days), and at most this many in all (the oldest of the shard that
  // adds one go first; event_ids.h EventIdBudget: any shard may use what the
  // others leave, each is sure of its even share).
  absl::Duration event_id_retention = absl::Hours(24 * 7);
  size_t max_event_ids = size_t{4} << 20;

  // The platform's per-second limits (rate_limits.h): messages a second per
  // number unless the platform reported another (SyncNumber throughput_mps:
  // 1,000 after its upgrade, 20 with the WhatsApp Business app), and the
  // pair rate per (number, customer). 0 / false turns one off.
  int32_t throughput_mps = 80;
  bool pair_rate_enabled = true;
  PairRateParams pair_rate;

  // The platform's per-user marketing limit (marketing_hold.h): a failure
  // with 131049 holds marketing templates to the customer this long, unless
  // either number's region is listed (the EEA, the UK, Japan, South Korea).
  bool marketing_hold_enabled = true;
  absl::Duration marketing_hold = absl::Hours(24);
  std::vector<std::string> marketing_hold_exempt_regions = {
      "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE",
      "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT",
      "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "GB", "JP", "KR"};

  // No marketing templates to US numbers (us_marketing.h): the platform has
  // not delivered them since April 2025 (131049). On in both profiles: the
  // brief predates the rule, but like the rate limits and the marketing hold
  // it is the platform's behaviour whatever the brief says, and a marketing
  // template to a US number can only fail.
  bool us_marketing_blocked = true;

  // Templates must be registered and approved before they can be sent.
  bool require_registered_templates = true;

  QualityModel quality;

  // Content limits for session messages and templates (the platform's).
  MessageLimits message_limits;

  // --- The brief's quality guidance, made enforceable (each on by default) ---
  // Opt-in is scoped to topics: a template's topic must be in the customer's
  // consent, and marketing inside a service window needs marketing consent.
  bool scoped_opt_in = true;
  // Business-initiated messages per customer (per business) in a rolling 24h;
  // 0 turns a cap off. Marketing templates are also capped on their own.
  int frequency_cap_per_day = 10;
  int marketing_cap_per_day = 2;
  // A marketing template must offer a way out: a quick reply or footer
  // containing one of these (case-insensitive). Empty turns the rule off.
  std::vector<std::string> opt_out_phrases = {"stop", "unsubscribe", "opt out", "opt-out"};
  // An inbound message that is exactly one of these (case-insensitive,
  // surrounding spaces and punctuation ignored) opts the customer out.
  std::vector<std::string> opt_out_keywords = {"STOP",   "STOP ALL", "UNSUBSCRIBE", "OPT OUT",
                                               "OPTOUT", "CANCEL",   "END",         "QUIT"};

  int top_level() const { return static_cast<int>(ladder.size()) - 1; }
  int64_t LimitAt(int level) const { return ladder[level]; }

  // Checks internal consistency (ladder increasing, levels in range, ...).
  absl::Status Validate() const;
};

// The brief's rules (per number; 1K/10K/100K/unlimited; Flagged; downgrades).
PolicyProfile DefaultProfile();

// The platform's rules since 7 October 2025: limits per business portfolio,
// ladder 250 -> 2,000 -> 10,000 -> 100,000 -> unlimited, upgrade within 6h,
// no Flagged state and no downgrade.
PolicyProfile Portfolio2025Profile();

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_POLICY_PROFILE_H_
