// Quality: the negative signals customers give (blocks by reason, reports),
// the rating they add up to over the last 7 days, and SignalHistory, which
// keeps that rating current at constant work per signal.
//
//   SignalHistory h;
//   h.Add(profile.quality, QualitySignal{now, SignalKind::kBlockSpam, seq});
//   QualityRating r = h.RatingAt(profile.quality, now);
#ifndef WAPOLICY_POLICY_QUALITY_H_
#define WAPOLICY_POLICY_QUALITY_H_

#include <array>
#include <cstdint>
#include <deque>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wapolicy {

// The quality rating shown for a phone number (Green / Yellow / Red).
enum class QualityRating { kHigh = 0, kMedium = 1, kLow = 2 };
absl::string_view QualityRatingName(QualityRating r);

// A negative quality signal from a customer: a block with the reason the
// customer picked, or a report.
enum class SignalKind : uint8_t {
  kBlockNoLongerNeeded = 0,
  kBlockDidntSignUp = 1,
  kBlockSpam = 2,
  kBlockOffensive = 3,
  kBlockNoReason = 4,
  kReport = 5,
};
inline constexpr int kSignalKindCount = 6;
absl::string_view SignalKindName(SignalKind k);

struct QualitySignal {
  int64_t at_us;  // Unix microseconds.
  SignalKind kind;
  uint32_t seq = 0;  // Tells apart signals stored with the same time.
};

// The quality model: a documented, configurable stand-in for the platform's
// undisclosed one ("last 7 days of signals, weighted by recency").
//
//   score(t) = sum over signals s with t - lookback < s.at <= t of
//                weight[s.kind] * 2^(-(t - s.at) / half_life)
//   rating(t) = Low    if score(t) >= low_threshold
//               Medium if score(t) >= medium_threshold
//               High   otherwise
//
// Between signals the score only falls (decay, signals leaving the window),
// so a rating can only get worse at the moment a signal arrives. That makes
// "became Low" an event, and "Low for the last 7 days" exact: it holds when
// the rating is Low now and has not left Low since the signal that made it so.
// The thresholds are absolute weighted counts, not rates per message sent.
struct QualityModel {
  // Indexed by SignalKind. Spam, offensive content and reports weigh most;
  // "no longer needed" is a mild signal.
  std::array<double, kSignalKindCount> weights = {0.5, 2.0, 3.0, 3.0, 1.0, 3.0};
  absl::Duration half_life = absl::Hours(48);
  absl::Duration lookback = absl::Hours(24 * 7);
  double medium_threshold = 10.0;
  double low_threshold = 30.0;

  absl::Status Validate() const;

  // The score at `at` over `signals` (sorted by time, any age).
  double Score(const std::deque<QualitySignal>& signals, absl::Time at) const;
  QualityRating RatingFor(double score) const;
  QualityRating Rate(const std::deque<QualitySignal>& signals, absl::Time at) const {
    return RatingFor(Score(signals, at));
  }
};

// One number's signals of the last look-back period with their score kept up
// to date, so a signal, an expiry and "what is the rating now?" each cost
// constant (amortised) work instead of a pass over every signal.
//
// The score is a sum of exponentially decaying terms, so it is kept as
//   sum = Σ weight * 2^((at - ref) / half_life),  score(now) = sum * 2^(-(now - ref) / half_life)
// Adding a signal adds a term; a signal leaving the look-back subtracts its
// term. `ref` moves forward (and the sum is recomputed) before the terms can
// grow large, so the result agrees with QualityModel::Score to rounding.
//
//   SignalHistory h;
//   h.Expire(model, now, [](const QualitySignal&) {});
//   QualityRating before = h.RatingNow(model, now);
//   h.Add(model, {now, SignalKind::kBlockSpam});
class SignalHistory {
 public:
  // Adds a signal. Signals normally arrive in time order; an older one is
  // inserted in place (the sum is recomputed).
  void Add(const QualityModel& m, QualitySignal s);
  // Drops the signals at or before `now - lookback`, telling `dropped` each.
  void Expire(const QualityModel& m, int64_t now,
              absl::FunctionRef<void(const QualitySignal&)> dropped);
  // The score at `now`: O(1) when `now` is at or after the newest signal and
  // Expire(now) was called; otherwise a full pass (a rating at a past instant).
  double ScoreAt(const QualityModel& m, int64_t now) const;
  // The rating at `now`: as QualityModel::Rate would give it. A running sum
  // can differ from a fresh one in the last bits, so a score within rounding
  // of a threshold is recomputed with a full pass.
  QualityRating RatingAt(const QualityModel& m, int64_t now) const;
  // Loads a stored signal (restart); call Rebuild after the last one.
  void Restore(QualitySignal s) { signals_.push_back(s); }
  void Rebuild(const QualityModel& m);

  const std::deque<QualitySignal>& signals() const { return signals_; }
  bool empty() const { return signals_.empty(); }

 private:
  double Term(const QualityModel& m, const QualitySignal& s) const;

  std::deque<QualitySignal> signals_;  // Oldest first.
  double sum_ = 0;
  int64_t ref_us_ = 0;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_QUALITY_H_
