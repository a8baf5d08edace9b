// A customer's consent to business-initiated messages from one business:
// the channel it was given on, the topics it covers, and the recent sends the
// frequency caps count. OptIn / OptOut are the consent rules.
//
//   Consent c;
//   OptIn(c, OptInSource::kWebsite, kAllTopics, now_us);
//   OptOut(c, later_us);  // Wins until a new opt-in.
#ifndef WAPOLICY_POLICY_CONSENT_H_
#define WAPOLICY_POLICY_CONSENT_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "policy/rate_limits.h"

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

// The times of the latest business-initiated sends to one customer, newest
// last, kept for the frequency caps. Most profiles set no caps, so both lists
// sit behind one pointer that stays null until the first capped send: every
// consent (one per customer) carries 8 bytes for them instead of two vectors'
// 48. Copies are deep, like the vectors they replace.
class SendHistory {
 public:
  SendHistory() = default;
  SendHistory(const SendHistory& other) { *this = other; }
  SendHistory& operator=(const SendHistory& other) {
    if (this != &other) lists_ = other.lists_ ? std::make_unique<Lists>(*other.lists_) : nullptr;
    return *this;
  }
  SendHistory(SendHistory&&) noexcept = default;
  SendHistory& operator=(SendHistory&&) noexcept = default;

  // All business-initiated sends, and the marketing templates among them.
  const std::vector<int64_t>& sends() const { return lists_ ? lists_->sends : Empty(); }
  const std::vector<int64_t>& marketing() const { return lists_ ? lists_->marketing : Empty(); }
  std::vector<int64_t>& mutable_sends() { return Get().sends; }
  std::vector<int64_t>& mutable_marketing() { return Get().marketing; }
  // Marketing templates to the customer are held until then after the
  // platform's per-user marketing limit (131049; marketing_hold.h); 0: none.
  int64_t marketing_held_until() const { return lists_ ? lists_->marketing_held_until_us : 0; }
  void set_marketing_held_until(int64_t us) { Get().marketing_held_until_us = us; }
  // The platform's word on the customer's marketing preference (its
  // user_preferences webhook, a 131050 failure): stopped or resumed, and when
  // it said so (0: never).
  bool marketing_stopped() const { return lists_ != nullptr && lists_->marketing_stopped; }
  int64_t marketing_preference_at() const {
    return lists_ ? lists_->marketing_preference_at_us : 0;
  }
  void set_marketing_preference(bool stopped, int64_t at_us) {
    Get().marketing_stopped = stopped;
    Get().marketing_preference_at_us = at_us;
  }

 private:
  struct Lists {
    std::vector<int64_t> sends;
    std::vector<int64_t> marketing;
    int64_t marketing_held_until_us = 0;
    int64_t marketing_preference_at_us = 0;
    bool marketing_stopped = false;
  };
  static const std::vector<int64_t>& Empty();
  Lists& Get() {
    if (lists_ == nullptr) lists_ = std::make_unique<Lists>();
    return *lists_;
  }
  std::unique_ptr<Lists> lists_;
};

// A customer's consent to business-initiated messages from one business (all
// its numbers), with the topics it covers, and the times of the latest
// business-initiated messages sent under it (for frequency caps). Opt-out
// takes effect at once and wins until a new opt-in.
struct Consent {
  enum class State : uint8_t { kNone = 0, kOptedIn = 1, kOptedOut = 2 };
  State state = State::kNone;
  OptInSource source = OptInSource::kUnspecified;
  // The pair rate (rate_limits.h) of this customer with one number of the
  // business, the one whose pair tag (ShardState::Number) is `pair_tag` (0:
  // none yet), kept here because every check loads the consent anyway (a
  // table of its own cost a cache miss a check): in the padding after
  // `source`, and 8 bytes for pair_tat_us. Another number takes it over once
  // it is idle; until then that number's lives in ShardState::pairs. Not
  // stored (README).
  uint8_t pair_tag = 0;
  uint8_t pair_count = 0;
  uint32_t pair_window_us = 0;
  int64_t changed_at_us = 0;
  TopicSet topics = kAllTopics;  // An opt-in without topics covers every topic.
  SendHistory recent;            // Sends in the last 24 hours (only with frequency caps).
  int64_t pair_tat_us = 0;

  PairRateState pair() const { return {pair_tat_us, pair_window_us, pair_count}; }
  void set_pair(const PairRateState& p) {
    pair_tat_us = p.tat_us;
    pair_window_us = p.window_us;
    pair_count = static_cast<uint8_t>(p.burst_count);
  }

  bool opted_in() const { return state == State::kOptedIn; }
  bool opted_out() const { return state == State::kOptedOut; }
};

// The consent rules. An opt-in replaces what was there (source and topics);
// an opt-out takes effect at once and wins until a new opt-in. Events may
// arrive out of order: a change older than the one on record (`at_us` before
// changed_at_us) is left out, so the latest word stands; equal times apply
// in arrival order. Each returns whether it changed the consent.
bool OptIn(Consent& c, OptInSource source, TopicSet topics, int64_t at_us);
bool OptOut(Consent& c, int64_t at_us);

// The platform's word that the customer stopped (`stopped`) or resumed
// marketing messages from the business. While stopped, marketing is refused
// (OPTED_OUT, 131050) and nothing else is: it is not an opt-out, and a resume
// gives back no consent that was not there. The latest word stands (an older
// one arriving late is left out). Returns whether it changed anything.
bool SetMarketingPreference(Consent& c, bool stopped, int64_t at_us);

// What the consent rules are told, beyond an opt-in (which carries a source
// and topics): for the engine's one entry point of consent events.
enum class ConsentWord : uint8_t { kOptOut, kMarketingStop, kMarketingResume };

// The platform's error for marketing to a customer who stopped it.
inline constexpr int kMarketingStoppedError = 131050;

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_CONSENT_H_
