// Whether a customer's inbound message is an opt-out keyword ("STOP").
//
// The profile lists the keywords; they are normalised once, at construction,
// so each inbound message costs one normalisation and one hash look-up.
// A message matches when, with surrounding spaces and punctuation trimmed,
// inner whitespace folded to one space and letters upper-cased, it equals a
// keyword normalised the same way ("  stop! " matches "STOP"). A message
// longer than 64 characters once trimmed is a conversation, never a keyword.
//
//   OptOutKeywords keywords(profile.opt_out_keywords);
//   if (keywords.Matches(text)) { /* opt the customer out */ }
#ifndef WAPOLICY_POLICY_OPT_OUT_KEYWORDS_H_
#define WAPOLICY_POLICY_OPT_OUT_KEYWORDS_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"

namespace wapolicy {

class OptOutKeywords {
 public:
  explicit OptOutKeywords(const std::vector<std::string>& keywords);
  bool Matches(absl::string_view text) const;

  // The normal form used for comparison ("" if `text` cannot be a keyword).
  static std::string Normalise(absl::string_view text);

 private:
  absl::flat_hash_set<std::string> normalised_;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_OPT_OUT_KEYWORDS_H_
