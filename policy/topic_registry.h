// The opt-in topics one business has named, as bits for its consents.
//
// A consent's topics are a 64-bit mask (TopicSet) so a check tests coverage
// with one AND. Each business has its own registry, so one tenant's topics
// never use up another's (at most kMaxTopics distinct topics per business).
//
//   TopicRegistry topics;
//   absl::StatusOr<TopicSet> set = topics.Intern({"financial_updates"});
//   bool covered = (consent.topics & topics.Bit("financial_updates")) != 0;
#ifndef WAPOLICY_POLICY_TOPIC_REGISTRY_H_
#define WAPOLICY_POLICY_TOPIC_REGISTRY_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "policy/consent.h"

namespace wapolicy {

class TopicRegistry {
 public:
  // The set naming `names`, registering new ones. No names means every topic
  // (kAllTopics). INVALID_ARGUMENT for a name outside 1-64 characters,
  // RESOURCE_EXHAUSTED past kMaxTopics distinct names; nothing is registered
  // then.
  absl::StatusOr<TopicSet> Intern(absl::Span<const std::string> names);
  // The topic's bit, or 0 if no consent of this business has named it.
  TopicSet Bit(absl::string_view name) const;
  // Whether `topics` covers `name` (kAllTopics covers everything).
  bool Covers(TopicSet topics, absl::string_view name) const {
    if (topics == kAllTopics) return true;
    const TopicSet bit = Bit(name);
    return bit != 0 && (topics & bit) != 0;
  }
  // The names in `topics`, in registration order; empty for kAllTopics.
  std::vector<std::string> Names(TopicSet topics) const;
  size_t size() const { return names_.size(); }

 private:
  absl::flat_hash_map<std::string, int> ids_;
  std::vector<std::string> names_;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_TOPIC_REGISTRY_H_
