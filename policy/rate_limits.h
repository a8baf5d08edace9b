// The platform's per-second limits, enforced before the platform does:
//  - throughput per number: `mps` messages a second (80 by default, 1,000
//    after the platform's upgrade, 20 with the WhatsApp Business app), inbound
//    and outbound alike (error 130429). GCRA: one message every 1/mps s, with
//    a tolerance of mps - 1 intervals, so up to `mps` may go in one instant and
//    the next waits for the interval (the 81st message of a second waits
//    12.5 ms at 80/s);
//  - pair rate per (number, customer): one message every 6 s; a burst of up to
//    45 may go inside one 6-second window, each borrowing 6 s from later, and
//    the next message after the window waits until the borrowed time is repaid
//    (after a burst of 20: about 2 minutes) (error 131056).
// Each is a pure function over a small state: the earliest time a message may
// go, and taking a message at a time no earlier than that (a paced request
// takes its slot in the future). The states are not journaled: they describe
// the last seconds to minutes, and after a restart they start empty (README).
//
//   int64_t at = ThroughputEarliest(n.throughput, 80, now);   // now, or later
//   if (at > now) return Hold(kThroughputLimited, at);          // or pace to `at`
//   TakeThroughput(n.throughput, 80, at);
#ifndef WAPOLICY_POLICY_RATE_LIMITS_H_
#define WAPOLICY_POLICY_RATE_LIMITS_H_

#include <algorithm>
#include <cstdint>

namespace wapolicy {

// A number's throughput: its theoretical arrival time (GCRA).
struct ThroughputState {
  int64_t tat_us = 0;
};

// Microseconds between messages at `mps` a second (mps > 0).
inline int64_t ThroughputInterval(int32_t mps) { return 1000000 / std::max<int32_t>(mps, 1); }

// The earliest time at or after `now` one more message may go.
inline int64_t ThroughputEarliest(const ThroughputState& s, int32_t mps, int64_t now) {
  const int64_t tolerance = (std::max<int32_t>(mps, 1) - 1) * ThroughputInterval(mps);
  return std::max(now, s.tat_us - tolerance);
}
// A message goes (or an inbound one arrives) at `at`.
inline void TakeThroughput(ThroughputState& s, int32_t mps, int64_t at) {
  s.tat_us = std::max(s.tat_us, at) + ThroughputInterval(mps);
}

// Messages counted against the current second at `now`: those the GCRA has
// not yet paid off (a paced message taken ahead counts too), so at most
// `mps` unless paced messages queue ahead.
inline int64_t ThroughputUsed(const ThroughputState& s, int32_t mps, int64_t now) {
  if (s.tat_us <= now) return 0;
  const int64_t interval = ThroughputInterval(mps);
  return (s.tat_us - now + interval - 1) / interval;
}

struct PairRateParams {
  int64_t interval_us = 6 * 1000000LL;  // One message per 6 s.
  int32_t burst = 45;                   // At most this many inside one 6-second window.
};

// One (number, customer) pair: the time its borrowed allowance is repaid, and
// the burst window it is in. 16 bytes: it rides in the customer's consent
// (consent.h), which every check loads anyway. The window starts at most
// burst * interval before tat_us (PolicyProfile::Validate keeps that under
// 2^32 us), so it is kept as that distance.
struct PairRateState {
  int64_t tat_us = 0;        // Until then the pair is in debt.
  uint32_t window_us = 0;    // The current burst window started this long before tat_us.
  uint16_t burst_count = 0;  // Messages in it.
  uint16_t reserved = 0;

  int64_t burst_start_us() const { return tat_us - window_us; }
};

// The earliest time at or after `now` one more message to the customer may go.
inline int64_t PairEarliest(const PairRateState& s, const PairRateParams& p, int64_t now) {
  if (now < s.burst_start_us() + p.interval_us && s.burst_count < p.burst) return now;
  return std::max(now, s.tat_us);
}
// A message goes at `at` (no earlier than PairEarliest).
inline void TakePair(PairRateState& s, const PairRateParams& p, int64_t at) {
  int64_t start = s.burst_start_us();
  if (!(at < start + p.interval_us && s.burst_count < p.burst)) {
    start = at;  // A new window opens.
    s.burst_count = 0;
  }
  ++s.burst_count;
  s.tat_us = std::max(s.tat_us, at) + p.interval_us;
  s.window_us = static_cast<uint32_t>(std::min<int64_t>(s.tat_us - start, UINT32_MAX));
}
// Nothing left to remember at `now`: no debt and no open window.
inline bool PairIdle(const PairRateState& s, const PairRateParams& p, int64_t now) {
  return s.tat_us <= now && s.burst_start_us() + p.interval_us <= now;
}

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_RATE_LIMITS_H_
