#include "policy/quality.h"

#include <cmath>

namespace wapolicy {

absl::string_view QualityRatingName(QualityRating r) {
  switch (r) {
    case QualityRating::kHigh: return "HIGH";
    case QualityRating::kMedium: return "MEDIUM";
    case QualityRating::kLow: return "LOW";
  }
  return "UNKNOWN";
}

absl::string_view SignalKindName(SignalKind k) {
  switch (k) {
    case SignalKind::kBlockNoLongerNeeded: return "BLOCK_NO_LONGER_NEEDED";
    case SignalKind::kBlockDidntSignUp: return "BLOCK_DIDNT_SIGN_UP";
    case SignalKind::kBlockSpam: return "BLOCK_SPAM";
    case SignalKind::kBlockOffensive: return "BLOCK_OFFENSIVE_MESSAGES";
    case SignalKind::kBlockNoReason: return "BLOCK_NO_REASON";
    case SignalKind::kReport: return "REPORT";
  }
  return "UNKNOWN";
}

absl::Status QualityModel::Validate() const {
  for (double w : weights) {
    if (!(w >= 0) || std::isinf(w)) return absl::InvalidArgumentError("quality.weights must be >= 0");
  }
  if (half_life <= absl::ZeroDuration() || lookback <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("quality.half_life and quality.lookback must be positive");
  }
  if (!(medium_threshold > 0) || !(low_threshold > medium_threshold)) {
    return absl::InvalidArgumentError("quality thresholds: need 0 < medium_threshold < low_threshold");
  }
  return absl::OkStatus();
}

double QualityModel::Score(const std::deque<QualitySignal>& signals, absl::Time at) const {
  const int64_t now = absl::ToUnixMicros(at);
  const int64_t from = now - absl::ToInt64Microseconds(lookback);
  const double half_us = static_cast<double>(absl::ToInt64Microseconds(half_life));
  double score = 0;
  for (const QualitySignal& s : signals) {
    if (s.at_us <= from || s.at_us > now) continue;
    const double age = static_cast<double>(now - s.at_us);
    score += weights[static_cast<int>(s.kind)] * std::exp2(-age / half_us);
  }
  return score;
}

QualityRating QualityModel::RatingFor(double score) const {
  if (score >= low_threshold) return QualityRating::kLow;
  if (score >= medium_threshold) return QualityRating::kMedium;
  return QualityRating::kHigh;
}

}  // namespace wapolicy
