// Everything a pipeline may want to know about one business number at an
// instant: status, quality, tier and limit use.
//
// Built by the engine under its lock from the number's plain state
// (MakeNumberSnapshot is a pure function), returned by
// PolicyEngine::GetNumberState.
//
//   absl::StatusOr<NumberSnapshot> s = engine.GetNumberState(number);
//   if (s.ok() && s->status == NumberStatus::kRestricted) { /* wait for s->next_slot_free */ }
#ifndef WAPOLICY_POLICY_NUMBER_SNAPSHOT_H_
#define WAPOLICY_POLICY_NUMBER_SNAPSHOT_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "policy/messaging_tier.h"
#include "policy/number_status.h"
#include "policy/phone_number.h"
#include "policy/policy_profile.h"
#include "policy/quality.h"

namespace wapolicy {

struct NumberSnapshot {
  PhoneNumber number;
  std::string business_id;
  bool verified = false;
  bool official = false;
  NumberStatus status = NumberStatus::kConnected;  // Restricted if the limit is used up.
  bool flagged = false;
  bool restricted = false;
  QualityRating quality = QualityRating::kHigh;  // The rating the rules use (platform_word.h).
  QualityRating estimated_quality = QualityRating::kHigh;  // The engine's, from the signals.
  PlatformStatus platform;                                 // What the platform reported, with when.
  PlatformLimit platform_limit;  // The limit it reported for the pool, with when.
  double quality_score = 0;
  std::array<int64_t, kSignalKindCount> signals_7d{};  // Count by kind, last 7 days.
  LimitScope limit_scope = LimitScope::kPerNumber;
  int level = 0;
  int64_t limit = 0;            // Enforced: the platform's if it reported one.
  int64_t estimated_limit = 0;  // The engine's tier estimate (a forecast once the platform spoke).
  int64_t used = 0;             // Open + pending slots.
  int64_t pending = 0;          // Admitted, not yet delivered.
  int64_t recent_unique = 0;    // Unique customers started in the upgrade look-back.
  // The 2025 path by volume (scaling_path.h): qualifying unique customers in
  // its window while the pool is on it (else 0), and whether it took it.
  int64_t volume_path_customers = 0;
  bool volume_unlocked = false;
  int pending_level = -1;
  int64_t pending_limit = 0;
  absl::Time pending_at = absl::InfinitePast();
  absl::Time flagged_since = absl::InfinitePast();
  absl::Time flag_settles_at = absl::InfinitePast();
  absl::Time low_since = absl::InfinitePast();
  absl::Time next_slot_free = absl::InfiniteFuture();

  // The per-second limits (rate_limits.h), holds and paused templates, now.
  int32_t throughput_limit_mps = 0;  // Enforced: the platform's, else the profile's; 0: off.
  int64_t throughput_used = 0;       // Counted against the current second (ThroughputUsed).
  absl::Time throughput_free_at = absl::InfinitePast();  // Later than now: the next waits.
  int64_t pairs_in_burst = 0;  // Customers in a burst window or repaying borrowed time.
  int64_t pairs_held = 0;      // Of them, those whose next message would wait now.
  // The business's customers under the per-user marketing hold (131049,
  // marketing_hold.h): how many, and the first kShownHolds ending soonest.
  int64_t marketing_holds = 0;
  static constexpr size_t kShownHolds = 10;
  struct Hold {
    PhoneNumber customer;
    absl::Time until;
  };
  std::vector<Hold> first_marketing_holds;
  // The business's templates that may not be sent now: paused for a RED
  // rating (until set), or PAUSED / DISABLED by status (until InfinitePast).
  struct PausedTemplate {
    std::string name, language;
    absl::Time until = absl::InfinitePast();
    bool disabled = false;
  };
  std::vector<PausedTemplate> paused_templates;
};

// How much of a snapshot to fill: all of it, or (kWatched) without the
// counts that walk every conversation or customer (pending, pairs in burst),
// for the server's observer of state changes, which polls every number.
enum class SnapshotDetail { kFull, kWatched };

// The snapshot of `n` (whose pool is `pool`) at `now`; call after the
// time-driven rules have run.
NumberSnapshot MakeNumberSnapshot(const PolicyProfile& p, const BusinessNumber& n,
                                  const LimitPool& pool, bool verified, bool official, int64_t now,
                                  SnapshotDetail detail = SnapshotDetail::kFull);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_NUMBER_SNAPSHOT_H_
