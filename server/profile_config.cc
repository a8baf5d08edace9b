#include "server/profile_config.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "proto/wapolicy/v1/config.pb.h"

namespace wapolicy {

absl::StatusOr<PolicyProfile> BaseProfile(absl::string_view name) {
  if (name == "brief-2023") return DefaultProfile();
  if (name == "platform-2025-10") return Portfolio2025Profile();
  return absl::InvalidArgumentError(
      absl::StrCat("--profile: unknown profile '", name, "' (brief-2023, platform-2025-10)"));
}

absl::StatusOr<PolicyProfile> ApplyProfileConfig(PolicyProfile p, absl::string_view text) {
  v1::ProfileConfig c;
  if (!google::protobuf::TextFormat::ParseFromString(std::string(text), &c)) {
    return absl::InvalidArgumentError("--config: not a valid ProfileConfig in text format");
  }
  if (c.has_name()) p.name = c.name();
  if (c.has_revision()) p.revision = c.revision();
  if (c.ladder_size() > 0) p.ladder.assign(c.ladder().begin(), c.ladder().end());
  if (c.has_verified_start_level()) p.verified_start_level = c.verified_start_level();
  if (c.has_unverified_start_level()) p.unverified_start_level = c.unverified_start_level();
  if (c.has_unverified_max_level()) p.unverified_max_level = c.unverified_max_level();
  if (c.has_per_portfolio_limit()) {
    p.limit_scope = c.per_portfolio_limit() ? LimitScope::kPerPortfolio : LimitScope::kPerNumber;
  }
  if (c.has_reservation_timeout_seconds()) {
    p.reservation_timeout = absl::Seconds(c.reservation_timeout_seconds());
  }
  if (c.has_upgrade_delay_seconds()) p.upgrade_delay = absl::Seconds(c.upgrade_delay_seconds());
  if (c.has_flagged_enabled()) p.flagged_enabled = c.flagged_enabled();
  if (c.has_downgrade_enabled()) p.downgrade_enabled = c.downgrade_enabled();
  if (c.has_require_registered_templates()) {
    p.require_registered_templates = c.require_registered_templates();
  }
  if (c.has_scoped_opt_in()) p.scoped_opt_in = c.scoped_opt_in();
  if (c.has_frequency_cap_per_day()) p.frequency_cap_per_day = c.frequency_cap_per_day();
  if (c.has_marketing_cap_per_day()) p.marketing_cap_per_day = c.marketing_cap_per_day();
  if (c.has_throughput_mps()) p.throughput_mps = c.throughput_mps();
  if (c.has_pair_rate_enabled()) p.pair_rate_enabled = c.pair_rate_enabled();
  if (c.has_pair_rate_burst()) p.pair_rate.burst = c.pair_rate_burst();
  if (c.has_pair_rate_interval_seconds()) {
    p.pair_rate.interval_us = c.pair_rate_interval_seconds() * 1000000;
  }
  if (c.has_volume_path_customers()) p.volume_path_customers = c.volume_path_customers();
  if (c.has_volume_path_window_days()) {
    p.volume_path_window = absl::Hours(24 * c.volume_path_window_days());
  }
  if (c.has_us_marketing_blocked()) p.us_marketing_blocked = c.us_marketing_blocked();
  if (c.opt_out_keywords_size() > 0) {
    p.opt_out_keywords.assign(c.opt_out_keywords().begin(), c.opt_out_keywords().end());
  }
  const v1::QualityModelConfig& q = c.quality();
  if (q.has_weight_no_longer_needed()) p.quality.weights[0] = q.weight_no_longer_needed();
  if (q.has_weight_didnt_sign_up()) p.quality.weights[1] = q.weight_didnt_sign_up();
  if (q.has_weight_spam()) p.quality.weights[2] = q.weight_spam();
  if (q.has_weight_offensive_messages()) p.quality.weights[3] = q.weight_offensive_messages();
  if (q.has_weight_no_reason()) p.quality.weights[4] = q.weight_no_reason();
  if (q.has_weight_report()) p.quality.weights[5] = q.weight_report();
  if (q.has_half_life_hours()) p.quality.half_life = absl::Hours(q.half_life_hours());
  if (q.has_medium_threshold()) p.quality.medium_threshold = q.medium_threshold();
  if (q.has_low_threshold()) p.quality.low_threshold = q.low_threshold();
  if (absl::Status s = p.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--config: ", s.message()));
  }
  return p;
}

}  // namespace wapolicy
