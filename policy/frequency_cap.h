// Frequency caps: at most N business-initiated messages (and M marketing
// templates) per customer in a rolling 24 hours, the brief's guidance
// against over-messaging made enforceable.
//
// A cap is a list of recent send times (newest last) kept with the
// customer's consent. Checking is read-only; recording trims the list to
// the sends still inside the window and at most `cap` entries, which is all
// the rule ever needs.
//
//   if (auto retry = CapRetryAfter(times, cap, now_us)) { /* hold until *retry */ }
//   RecordCappedSend(times, cap, now_us);
#ifndef WAPOLICY_POLICY_FREQUENCY_CAP_H_
#define WAPOLICY_POLICY_FREQUENCY_CAP_H_

#include <cstdint>
#include <optional>
#include <vector>

namespace wapolicy {

inline constexpr int64_t kFrequencyCapWindowUs = int64_t{24} * 3600 * 1000000;

// If `cap` (> 0) sends already fall inside the 24 hours before `now`, the
// time (Unix µs) at which the cap-th newest leaves the window and frees the
// next send; nullopt if a send is allowed now. A cap <= 0 is off.
std::optional<int64_t> CapRetryAfter(const std::vector<int64_t>& times, int cap, int64_t now);

// Records a send at `now`, dropping sends outside the window and all but
// the newest max(cap, 1).
void RecordCappedSend(std::vector<int64_t>& times, int cap, int64_t now);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_FREQUENCY_CAP_H_
