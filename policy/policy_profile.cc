#include "policy/policy_profile.h"

#include "absl/strings/str_cat.h"

namespace wapolicy {

absl::Status PolicyProfile::Validate() const {
  if (name.empty()) return absl::InvalidArgumentError("profile.name is empty");
  if (ladder.empty()) return absl::InvalidArgumentError("profile.ladder is empty");
  for (size_t i = 0; i < ladder.size(); ++i) {
    const bool last = i + 1 == ladder.size();
    if (ladder[i] == kUnlimited) {
      if (!last)
        return absl::InvalidArgumentError("profile.ladder: unlimited must be the top level");
      continue;
    }
    if (ladder[i] <= 0)
      return absl::InvalidArgumentError("profile.ladder: limits must be positive");
    if (i > 0 && ladder[i - 1] != kUnlimited && ladder[i] <= ladder[i - 1]) {
      return absl::InvalidArgumentError("profile.ladder must increase");
    }
  }
  auto in_range = [&](int l) { return l >= 0 && l <= top_level(); };
  if (!in_range(verified_start_level) || !in_range(unverified_start_level) ||
      !in_range(unverified_max_level) || unverified_start_level > unverified_max_level) {
    return absl::InvalidArgumentError("profile start/max levels out of range of the ladder");
  }
  for (absl::Duration d : {conversation_length, service_window, reservation_timeout,
                           upgrade_lookback, flagged_period, downgrade_low_period}) {
    if (d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("profile durations must be positive");
    }
  }
  if (upgrade_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("profile.upgrade_delay must not be negative");
  }
  if (frequency_cap_per_day < 0 || marketing_cap_per_day < 0 || frequency_cap_per_day > 1000 ||
      marketing_cap_per_day > 1000) {
    return absl::InvalidArgumentError("profile frequency caps must be 0 (off) to 1000");
  }
  if (volume_path_customers < 0 || volume_path_window <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "profile.volume_path: customers must be 0 (off) or more and the window positive");
  }
  if (throughput_mps < 0 || throughput_mps > 100000) {
    return absl::InvalidArgumentError("profile.throughput_mps must be 0 (off) to 100000");
  }
  if (pair_rate.burst < 1 || pair_rate.burst > 255 || pair_rate.interval_us <= 0 ||
      pair_rate.interval_us > 4'000'000'000LL / pair_rate.burst) {
    return absl::InvalidArgumentError(
        "profile.pair_rate: burst must be 1 to 255, the interval positive, and burst times "
        "interval at most 4,000 seconds");
  }
  return quality.Validate();
}

PolicyProfile DefaultProfile() { return PolicyProfile(); }

PolicyProfile Portfolio2025Profile() {
  PolicyProfile p;
  p.name = "platform-2025-10";
  p.revision = 1;
  p.ladder = {250, 2000, 10000, 100000, kUnlimited};
  p.verified_start_level = 1;
  p.unverified_start_level = 0;
  p.unverified_max_level = 0;
  p.limit_scope = LimitScope::kPerPortfolio;
  p.upgrade_delay = absl::Hours(6);
  p.upgrade_min_quality = QualityRating::kHigh;
  p.flagged_enabled = false;
  p.downgrade_enabled = false;
  p.volume_path_customers = 2000;
  p.volume_path_window = absl::Hours(24 * 30);
  return p;
}

}  // namespace wapolicy
