#ifndef WAPOLICY_POLICY_CONSENT_H_
#define WAPOLICY_POLICY_CONSENT_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace wapolicy {

// The channel a customer gave their opt-in on (the brief's list).
enum class OptInSource : uint8_t {
  kUnspecified = 0,
  kSms = 1,
  kMissedCall = 2,
  kWebsite = 3,
  kInApp = 4,
  kIvr = 5,
  kEmail = 6,
  kWhatsAppThread = 7,
};
inline constexpr int kOptInSourceCount = 8;
absl::string_view OptInSourceName(OptInSource s);

// A set of opt-in topics as a bit mask over the engine's topic table.
using TopicSet = uint64_t;
inline constexpr TopicSet kAllTopics = ~TopicSet{0};
inline constexpr int kMaxTopics = 63;

// A customer's consent to business-initiated messages from one business (all
// its numbers), with the topics it covers, and the times of the latest
// business-initiated messages sent under it (for frequency caps). Opt-out
// takes effect at once and wins until a new opt-in.
struct Consent {
  enum class State : uint8_t { kNone = 0, kOptedIn = 1, kOptedOut = 2 };
  State state = State::kNone;
  OptInSource source = OptInSource::kUnspecified;
  int64_t changed_at_us = 0;
  TopicSet topics = kAllTopics;  // An opt-in without topics covers every topic.
  std::vector<int64_t> recent_sends;      // Business-initiated, newest last, last 24h.
  std::vector<int64_t> recent_marketing;  // Marketing templates among them.

  bool covers(TopicSet t) const { return (topics & t) == t; }

  bool opted_in() const { return state == State::kOptedIn; }
  bool opted_out() const { return state == State::kOptedOut; }
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_CONSENT_H_
