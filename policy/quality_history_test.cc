// SignalHistory (the incremental score) against QualityModel::Score (the
// reference full pass over every signal).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "policy/quality.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

constexpr int64_t kT0 = int64_t{1767225600} * kSecond;  // 2026-01-01 00:00 UTC.
constexpr double kRelTol = 1e-9;

bool ByTime(const QualitySignal& a, const QualitySignal& b) {
  return a.at_us != b.at_us ? a.at_us < b.at_us : a.seq < b.seq;
}

// The reference: a full pass over `signals` (any order, any age).
double Reference(const QualityModel& m, std::vector<QualitySignal> signals, int64_t at) {
  std::sort(signals.begin(), signals.end(), ByTime);
  return m.Score(std::deque<QualitySignal>(signals.begin(), signals.end()),
                 absl::FromUnixMicros(at));
}

::testing::AssertionResult Agrees(double actual, double expected) {
  if (expected == 0 ? actual == 0 : std::fabs(actual - expected) <= kRelTol * std::fabs(expected)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "ScoreAt " << absl::StrCat(actual) << " vs reference " << absl::StrCat(expected)
         << " (relative error " << std::fabs(actual - expected) / std::fabs(expected) << ")";
}

// The rating agrees unless the reference score is within rounding of a threshold.
::testing::AssertionResult RatingAgrees(const QualityModel& m, QualityRating actual,
                                        double expected_score) {
  for (double th : {m.medium_threshold, m.low_threshold}) {
    if (std::fabs(expected_score - th) <= kRelTol * th) return ::testing::AssertionSuccess();
  }
  if (actual == m.RatingFor(expected_score)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "RatingAt " << QualityRatingName(actual) << " vs "
                                       << QualityRatingName(m.RatingFor(expected_score))
                                       << " for reference score " << expected_score;
}

SignalKind RandomKind(std::mt19937_64& rng) {
  return static_cast<SignalKind>(std::uniform_int_distribution<int>(0, kSignalKindCount - 1)(rng));
}

std::vector<uint32_t> Seqs(std::vector<QualitySignal> v) {
  std::sort(v.begin(), v.end(), ByTime);
  std::vector<uint32_t> out;
  for (const QualitySignal& s : v) out.push_back(s.seq);
  return out;
}

// Drives a SignalHistory and a plain record of every signal side by side.
class Harness {
 public:
  explicit Harness(QualityModel m) : m_(m) {}

  void Add(QualitySignal s) {
    s.seq = next_seq_++;
    h_.Add(m_, s);
    all_.push_back(s);
    held_.push_back(s);
  }

  // Expires at `now`; checks the dropped signals are exactly those held at or
  // before now - lookback, reported oldest first.
  void Expire(int64_t now) {
    const int64_t horizon = now - absl::ToInt64Microseconds(m_.lookback);
    std::vector<QualitySignal> dropped;
    h_.Expire(m_, now, [&](const QualitySignal& s) { dropped.push_back(s); });
    std::vector<QualitySignal> expected, kept;
    for (const QualitySignal& s : held_) (s.at_us <= horizon ? expected : kept).push_back(s);
    for (size_t i = 1; i < dropped.size(); ++i) {
      EXPECT_LE(dropped[i - 1].at_us, dropped[i].at_us) << "dropped out of time order";
    }
    EXPECT_EQ(Seqs(dropped), Seqs(expected)) << "Expire(" << now << ")";
    held_ = kept;
    EXPECT_EQ(Seqs(std::vector<QualitySignal>(h_.signals().begin(), h_.signals().end())),
              Seqs(held_));
    last_expire_ = std::max(last_expire_, now);
  }

  // ScoreAt and RatingAt at `at` against the reference over every signal ever
  // added. Valid for `at` at or after the latest Expire: what Expire dropped
  // cannot count then.
  void Check(int64_t at, const std::string& where) {
    ASSERT_GE(at, last_expire_) << where;
    const double expected = Reference(m_, all_, at);
    EXPECT_TRUE(Agrees(h_.ScoreAt(m_, at), expected)) << where << " at " << at;
    EXPECT_TRUE(RatingAgrees(m_, h_.RatingAt(m_, at), expected)) << where << " at " << at;
  }

  SignalHistory& history() { return h_; }
  const std::vector<QualitySignal>& all() const { return all_; }
  int64_t last_expire() const { return last_expire_; }
  const QualityModel& model() const { return m_; }

 private:
  QualityModel m_;
  SignalHistory h_;
  std::vector<QualitySignal> all_;
  std::vector<QualitySignal> held_;
  int64_t last_expire_ = INT64_MIN;
  uint32_t next_seq_ = 1;
};

TEST(QualityHistory, EmptyHistoryScoresZero) {
  QualityModel m;
  SignalHistory h;
  EXPECT_EQ(h.ScoreAt(m, kT0), 0);
  EXPECT_EQ(h.RatingAt(m, kT0), QualityRating::kHigh);
  int calls = 0;
  h.Expire(m, kT0, [&](const QualitySignal&) { ++calls; });
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(h.empty());
}

TEST(QualityHistory, SingleSignalDecaysByHalfLife) {
  QualityModel m;
  SignalHistory h;
  h.Add(m, {kT0, SignalKind::kBlockSpam, 1});
  EXPECT_DOUBLE_EQ(h.ScoreAt(m, kT0), 3.0);
  EXPECT_DOUBLE_EQ(h.ScoreAt(m, kT0 + 48 * kHour), 1.5);
  EXPECT_EQ(h.ScoreAt(m, kT0 - 1), 0);  // Not yet arrived.
}

TEST(QualityHistory, ExpireDropsSignalsAtOrBeforeNowMinusLookback) {
  QualityModel m;
  Harness x(m);
  x.Add({kT0, SignalKind::kReport});
  x.Add({kT0 + 1, SignalKind::kBlockSpam});
  x.Add({kT0 + kHour, SignalKind::kBlockNoReason});
  x.Expire(kT0 + kWeek - 1);  // Nothing is a full week old yet.
  EXPECT_EQ(x.history().signals().size(), 3u);
  x.Check(kT0 + kWeek - 1, "before the week");
  x.Expire(kT0 + kWeek);  // Exactly a week old: dropped.
  EXPECT_EQ(x.history().signals().size(), 2u);
  x.Check(kT0 + kWeek, "at the week");
  x.Expire(kT0 + kWeek + kHour);
  EXPECT_EQ(x.history().signals().size(), 0u);
  EXPECT_EQ(x.history().ScoreAt(m, kT0 + kWeek + kHour), 0);
}

TEST(QualityHistory, ExpireReportsEachSignalWithTheSameTime) {
  QualityModel m;
  Harness x(m);
  for (int i = 0; i < 5; ++i) x.Add({kT0, SignalKind::kReport});
  x.Add({kT0 + kSecond, SignalKind::kReport});
  x.Expire(kT0 + kWeek);  // All five at kT0, not the later one.
  x.Check(kT0 + kWeek, "after expiry");
}

TEST(QualityHistory, ScoreWithoutExpireStillExcludesSignalsPastTheLookback) {
  QualityModel m;
  Harness x(m);
  x.Add({kT0, SignalKind::kReport});
  x.Add({kT0 + 3 * kDay, SignalKind::kBlockSpam});
  // Not expired: ScoreAt must not count the week-old signal.
  x.Check(kT0 + kWeek, "at the week");
  x.Check(kT0 + kWeek + 2 * kDay, "later");
  x.Check(kT0 + 3 * kWeek, "all out");
}

TEST(QualityHistory, ReBasesAcrossManyWeeksOfSteadySignals) {
  // A signal every 3 hours for 40 weeks: the reference point is re-based
  // many times (every 16 half-lives), each Expire trims the week behind.
  QualityModel m;
  Harness x(m);
  std::mt19937_64 rng(7);
  int64_t now = kT0;
  for (int i = 0; i < 40 * 7 * 8; ++i) {
    now += 3 * kHour;
    x.Expire(now);
    x.Add({now, RandomKind(rng)});
    x.Check(now, absl::StrCat("step ", i));
    if (i % 17 == 0) x.Check(now + 5 * kHour, absl::StrCat("ahead at step ", i));
  }
}

TEST(QualityHistory, LongQuietGapThenNewSignals) {
  QualityModel m;
  Harness x(m);
  x.Add({kT0, SignalKind::kReport});
  x.Add({kT0 + kHour, SignalKind::kReport});
  // Ten weeks later, without an Expire in between.
  const int64_t later = kT0 + 10 * kWeek;
  x.Add({later, SignalKind::kBlockSpam});
  x.Check(later, "before expire");
  x.Expire(later);
  x.Check(later, "after expire");
  x.Add({later + kDay, SignalKind::kBlockOffensive});
  x.Expire(later + kDay);
  x.Check(later + kDay, "next day");
}

TEST(QualityHistory, OutOfOrderAddIsCountedInPlace) {
  QualityModel m;
  Harness x(m);
  x.Add({kT0, SignalKind::kBlockSpam});
  x.Add({kT0 + 2 * kDay, SignalKind::kReport});
  x.Add({kT0 + 4 * kDay, SignalKind::kBlockNoReason});
  x.Add({kT0 + kDay, SignalKind::kBlockOffensive});  // Older than the newest.
  const std::deque<QualitySignal>& s = x.history().signals();
  EXPECT_TRUE(std::is_sorted(
      s.begin(), s.end(),
      [](const QualitySignal& a, const QualitySignal& b) { return a.at_us < b.at_us; }));
  x.Expire(kT0 + 4 * kDay);
  x.Check(kT0 + 4 * kDay, "after out-of-order add");
  x.Add({kT0 + 5 * kDay, SignalKind::kReport});  // In order again.
  x.Expire(kT0 + 5 * kDay);
  x.Check(kT0 + 5 * kDay, "in order again");
  x.Expire(kT0 + kWeek + kDay);  // Drops kT0 and the inserted kT0 + 1d.
  x.Check(kT0 + kWeek + kDay, "after expiring the inserted one");
}

TEST(QualityHistory, ScoreAtAPastInstantCountsOnlySignalsUpToIt) {
  QualityModel m;
  Harness x(m);
  for (int i = 0; i < 12; ++i) x.Add({kT0 + i * 10 * kHour, SignalKind::kBlockSpam});
  const int64_t newest = kT0 + 110 * kHour;
  // Instants before the newest signal: later signals must not count.
  for (int64_t at = kT0 - kHour; at <= newest + kHour; at += 7 * kHour) {
    x.Check(at, "past instant");
  }
  // After expiring a week later: past instants since that Expire still agree.
  for (int i = 0; i < 6; ++i) x.Add({newest + kWeek + i * 5 * kHour, SignalKind::kReport});
  const int64_t now = newest + kWeek + 25 * kHour;
  x.Expire(newest + kWeek);  // Drops the signals at or before newest.
  for (int64_t at = newest + kWeek; at <= now; at += 3 * kHour) x.Check(at, "past after expire");
  x.Expire(now);
  x.Check(now, "now");
}

TEST(QualityHistory, RestoreInAnyOrderThenRebuildMatchesReference) {
  QualityModel m;
  std::mt19937_64 rng(99);
  std::vector<QualitySignal> stored;
  for (uint32_t i = 0; i < 300; ++i) {
    stored.push_back({kT0 + static_cast<int64_t>(rng() % (6 * kDay)), RandomKind(rng), i + 1});
  }
  std::shuffle(stored.begin(), stored.end(), rng);
  SignalHistory h;
  for (const QualitySignal& s : stored) h.Restore(s);
  h.Rebuild(m);
  const std::deque<QualitySignal>& held = h.signals();
  EXPECT_TRUE(std::is_sorted(
      held.begin(), held.end(),
      [](const QualitySignal& a, const QualitySignal& b) { return a.at_us < b.at_us; }));
  const int64_t newest = std::max_element(stored.begin(), stored.end(), ByTime)->at_us;
  for (int64_t at : {newest, newest + kHour, newest + 3 * kDay, kT0 + 3 * kDay, kT0 + 2 * kWeek}) {
    EXPECT_TRUE(Agrees(h.ScoreAt(m, at), Reference(m, stored, at))) << "at " << at;
  }
  // The rebuilt sum carries on correctly with new signals and expiry.
  std::vector<QualitySignal> all = stored;
  int64_t now = newest;
  uint32_t seq = 1000;
  for (int i = 0; i < 200; ++i) {
    now += static_cast<int64_t>(rng() % (8 * kHour));
    h.Expire(m, now, [](const QualitySignal&) {});
    const QualitySignal s{now, RandomKind(rng), seq++};
    h.Add(m, s);
    all.push_back(s);
    ASSERT_TRUE(Agrees(h.ScoreAt(m, now), Reference(m, all, now))) << "step " << i;
  }
}

TEST(QualityHistory, RestoreAfterLongAgoSignalsThenRebuildRebasesOnTheNewest) {
  // Stored signals spanning more than 16 half-lives (a restore without expiry).
  QualityModel m;
  std::vector<QualitySignal> stored = {{kT0, SignalKind::kReport, 1},
                                       {kT0 + 5 * kWeek, SignalKind::kBlockSpam, 2},
                                       {kT0 + 5 * kWeek + kHour, SignalKind::kReport, 3}};
  SignalHistory h;
  for (auto it = stored.rbegin(); it != stored.rend(); ++it) h.Restore(*it);
  h.Rebuild(m);
  const int64_t now = kT0 + 5 * kWeek + 2 * kHour;
  EXPECT_TRUE(Agrees(h.ScoreAt(m, now), Reference(m, stored, now)));
  std::vector<QualitySignal> dropped;
  h.Expire(m, now, [&](const QualitySignal& s) { dropped.push_back(s); });
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].seq, 1u);
  EXPECT_TRUE(Agrees(h.ScoreAt(m, now), Reference(m, stored, now)));
}

// Random workloads: signals mostly in time order with gaps from seconds to
// days, bursts, quiet weeks, out-of-order arrivals, Expire at random, and
// checks at now, ahead of now and at past instants since the last Expire.
void RunRandomWorkload(uint64_t seed, const QualityModel& m, int steps) {
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937_64 rng(seed);
  Harness x(m);
  int64_t now = kT0;
  std::uniform_int_distribution<int> pct(0, 99);
  for (int step = 0; step < steps; ++step) {
    const int p = pct(rng);
    if (p < 3) {
      now += kWeek + static_cast<int64_t>(rng() % (3 * kWeek));  // A quiet spell.
    } else if (p < 20) {
      now += static_cast<int64_t>(rng() % kMinute);  // A burst (same time possible).
    } else {
      now += static_cast<int64_t>(rng() % (12 * kHour));
    }
    const std::string where = absl::StrCat("step ", step);
    if (pct(rng) < 60) x.Expire(now);
    if (pct(rng) < 8) {
      // A late signal, up to 9 days old (maybe older than the look-back).
      const int64_t age = static_cast<int64_t>(rng() % (9 * kDay));
      x.Add({now - age, RandomKind(rng)});
    } else {
      x.Add({now, RandomKind(rng)});
    }
    x.Check(now, where);
    if (pct(rng) < 25) x.Check(now + static_cast<int64_t>(rng() % (10 * kDay)), where + " ahead");
    if (pct(rng) < 25 && x.last_expire() > INT64_MIN && now > x.last_expire()) {
      const int64_t past =
          x.last_expire() +
          static_cast<int64_t>(rng() % static_cast<uint64_t>(now - x.last_expire()));
      x.Check(past, where + " past");
    }
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(QualityHistory, AgreesWithReferenceOverRandomWorkloads) {
  QualityModel m;
  for (uint64_t seed = 1; seed <= 20; ++seed) RunRandomWorkload(seed, m, 1500);
}

TEST(QualityHistory, AgreesWithReferenceUnderAShortHalfLife) {
  // Half-life 1 hour: 16 half-lives is well inside the look-back, so re-basing
  // happens while many signals are held.
  QualityModel m;
  m.half_life = absl::Hours(1);
  for (uint64_t seed = 100; seed <= 105; ++seed) RunRandomWorkload(seed, m, 1500);
}

TEST(QualityHistory, RatingAtAgreesWithModelRate) {
  QualityModel m;
  Harness x(m);
  // Ten spam blocks at once: Low (30), Medium after one half-life, then High.
  for (int i = 0; i < 10; ++i) x.Add({kT0, SignalKind::kBlockSpam});
  x.Expire(kT0);
  EXPECT_EQ(x.history().RatingAt(m, kT0), QualityRating::kLow);
  EXPECT_EQ(x.history().RatingAt(m, kT0 + 48 * kHour), QualityRating::kMedium);
  EXPECT_EQ(x.history().RatingAt(m, kT0 + 96 * kHour), QualityRating::kHigh);
  for (int64_t at = kT0; at < kT0 + kWeek + kDay; at += 5 * kHour) x.Check(at, "decay");
}

}  // namespace
}  // namespace wapolicy
