#ifndef WAPOLICY_POLICY_CONSENT_H_
#define WAPOLICY_POLICY_CONSENT_H_

#include <cstdint>

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

// A customer's consent to business-initiated messages from one business (all
// its numbers). Opt-out takes effect at once and wins until a new opt-in.
struct Consent {
  enum class State : uint8_t { kNone = 0, kOptedIn = 1, kOptedOut = 2 };
  State state = State::kNone;
  OptInSource source = OptInSource::kUnspecified;
  int64_t changed_at_us = 0;

  bool opted_in() const { return state == State::kOptedIn; }
  bool opted_out() const { return state == State::kOptedOut; }
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_CONSENT_H_
