#include "policy/topic_registry.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace wapolicy {

absl::StatusOr<TopicSet> TopicRegistry::Intern(absl::Span<const std::string> names) {
  if (names.empty()) return kAllTopics;
  absl::flat_hash_set<absl::string_view> fresh;
  for (const std::string& name : names) {
    if (name.empty() || name.size() > 64) {
      return absl::InvalidArgumentError("opt_in.topics: each topic must be 1 to 64 characters");
    }
    if (!ids_.contains(name)) fresh.insert(name);
  }
  // Counted first so a refused request registers nothing.
  if (names_.size() + fresh.size() > static_cast<size_t>(kMaxTopics)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("opt_in.topics: at most ", kMaxTopics, " distinct topics per business"));
  }
  TopicSet set = 0;
  for (const std::string& name : names) {
    auto [it, added] = ids_.emplace(name, static_cast<int>(names_.size()));
    if (added) names_.push_back(name);
    set |= TopicSet{1} << it->second;
  }
  return set;
}

TopicSet TopicRegistry::Bit(absl::string_view name) const {
  auto it = ids_.find(name);
  return it == ids_.end() ? 0 : TopicSet{1} << it->second;
}

std::vector<std::string> TopicRegistry::Names(TopicSet topics) const {
  std::vector<std::string> out;
  if (topics == kAllTopics) return out;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (topics & (TopicSet{1} << i)) out.push_back(names_[i]);
  }
  return out;
}

}  // namespace wapolicy
