#include "policy/quality.h"

#include <algorithm>
#include <cmath>

namespace wapolicy {

absl::string_view QualityRatingName(QualityRating r) {
  switch (r) {
    case QualityRating::kHigh:
      return "HIGH";
    case QualityRating::kMedium:
      return "MEDIUM";
    case QualityRating::kLow:
      return "LOW";
  }
  return "UNKNOWN";
}

absl::string_view SignalKindName(SignalKind k) {
  switch (k) {
    case SignalKind::kBlockNoLongerNeeded:
      return "BLOCK_NO_LONGER_NEEDED";
    case SignalKind::kBlockDidntSignUp:
      return "BLOCK_DIDNT_SIGN_UP";
    case SignalKind::kBlockSpam:
      return "BLOCK_SPAM";
    case SignalKind::kBlockOffensive:
      return "BLOCK_OFFENSIVE_MESSAGES";
    case SignalKind::kBlockNoReason:
      return "BLOCK_NO_REASON";
    case SignalKind::kReport:
      return "REPORT";
  }
  return "UNKNOWN";
}

absl::Status QualityModel::Validate() const {
  for (double w : weights) {
    if (!(w >= 0) || std::isinf(w))
      return absl::InvalidArgumentError("quality.weights must be >= 0");
  }
  if (half_life <= absl::ZeroDuration() || lookback <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("quality.half_life and quality.lookback must be positive");
  }
  if (!(medium_threshold > 0) || !(low_threshold > medium_threshold)) {
    return absl::InvalidArgumentError(
        "quality thresholds: need 0 < medium_threshold < low_threshold");
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

double SignalHistory::Term(const QualityModel& m, const QualitySignal& s) const {
  const double half_us = static_cast<double>(absl::ToInt64Microseconds(m.half_life));
  return m.weights[static_cast<int>(s.kind)] *
         std::exp2(static_cast<double>(s.at_us - ref_us_) / half_us);
}

void SignalHistory::Rebuild(const QualityModel& m) {
  std::sort(signals_.begin(), signals_.end(),
            [](const QualitySignal& a, const QualitySignal& b) { return a.at_us < b.at_us; });
  ref_us_ = signals_.empty() ? 0 : signals_.back().at_us;
  sum_ = 0;
  for (const QualitySignal& s : signals_) sum_ += Term(m, s);
}

void SignalHistory::Add(const QualityModel& m, QualitySignal s) {
  if (!signals_.empty() && s.at_us < signals_.back().at_us) {
    signals_.insert(std::upper_bound(signals_.begin(), signals_.end(), s,
                                     [](const QualitySignal& a, const QualitySignal& b) {
                                       return a.at_us < b.at_us;
                                     }),
                    s);
    Rebuild(m);
    return;
  }
  signals_.push_back(s);
  // Terms grow as 2^(age of ref / half_life): re-base before they lose
  // precision (every 16 half-lives; amortised constant).
  const int64_t half_us = absl::ToInt64Microseconds(m.half_life);
  if (signals_.size() == 1 || s.at_us - ref_us_ > 16 * half_us) {
    Rebuild(m);
  } else {
    sum_ += Term(m, s);
  }
}

void SignalHistory::Expire(const QualityModel& m, int64_t now,
                           absl::FunctionRef<void(const QualitySignal&)> dropped) {
  if (signals_.empty()) return;  // Most numbers, on every check.
  const int64_t horizon = now - absl::ToInt64Microseconds(m.lookback);
  while (!signals_.empty() && signals_.front().at_us <= horizon) {
    dropped(signals_.front());
    sum_ -= Term(m, signals_.front());
    signals_.pop_front();
  }
  if (signals_.empty()) sum_ = 0;  // No rounding left behind.
}

QualityRating SignalHistory::RatingAt(const QualityModel& m, int64_t now) const {
  const double score = ScoreAt(m, now);
  auto near = [&](double threshold) { return std::abs(score - threshold) <= 1e-9 * threshold; };
  if (near(m.medium_threshold) || near(m.low_threshold)) {
    return m.Rate(signals_, absl::FromUnixMicros(now));
  }
  return m.RatingFor(score);
}

double SignalHistory::ScoreAt(const QualityModel& m, int64_t now) const {
  if (signals_.empty()) return 0;
  const int64_t horizon = now - absl::ToInt64Microseconds(m.lookback);
  if (now < signals_.back().at_us || signals_.front().at_us <= horizon) {
    return m.Score(signals_, absl::FromUnixMicros(now));
  }
  const double half_us = static_cast<double>(absl::ToInt64Microseconds(m.half_life));
  return sum_ * std::exp2(-static_cast<double>(now - ref_us_) / half_us);
}

}  // namespace wapolicy
