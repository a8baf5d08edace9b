#include "policy/frequency_cap.h"

#include <algorithm>

namespace wapolicy {

std::optional<int64_t> CapRetryAfter(const std::vector<int64_t>& times, int cap, int64_t now) {
  if (cap <= 0) return std::nullopt;
  const int64_t day_ago = now - kFrequencyCapWindowUs;
  const auto inside =
      std::count_if(times.begin(), times.end(), [&](int64_t t) { return t > day_ago; });
  if (inside < cap) return std::nullopt;
  // Times are in order: the cap-th newest leaving the window frees a send.
  return times[times.size() - cap] + kFrequencyCapWindowUs;
}

void RecordCappedSend(std::vector<int64_t>& times, int cap, int64_t now) {
  const int64_t day_ago = now - kFrequencyCapWindowUs;
  times.erase(std::remove_if(times.begin(), times.end(), [&](int64_t t) { return t <= day_ago; }),
              times.end());
  times.push_back(now);
  const size_t keep = static_cast<size_t>(std::max(cap, 1));
  if (times.size() > keep) times.erase(times.begin(), times.end() - keep);
}

}  // namespace wapolicy
