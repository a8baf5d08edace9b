#include "policy/opt_out_keywords.h"

#include "absl/strings/ascii.h"

namespace wapolicy {
namespace {
// Keywords are short; a longer message is a conversation, not an opt-out.
constexpr size_t kMaxKeywordLength = 64;
}  // namespace

OptOutKeywords::OptOutKeywords(const std::vector<std::string>& keywords) {
  for (const std::string& k : keywords) {
    std::string n = Normalise(k);
    if (!n.empty()) normalised_.insert(std::move(n));
  }
}

std::string OptOutKeywords::Normalise(absl::string_view text) {
  auto junk = [](char c) { return absl::ascii_isspace(c) || absl::ascii_ispunct(c); };
  while (!text.empty() && junk(text.front())) text.remove_prefix(1);
  while (!text.empty() && junk(text.back())) text.remove_suffix(1);
  if (text.empty() || text.size() > kMaxKeywordLength) return "";
  std::string norm;
  bool space = false;
  for (char c : text) {
    if (absl::ascii_isspace(c)) {
      space = true;
      continue;
    }
    if (space && !norm.empty()) norm.push_back(' ');
    space = false;
    norm.push_back(absl::ascii_toupper(c));
  }
  return norm;
}

bool OptOutKeywords::Matches(absl::string_view text) const {
  if (normalised_.empty()) return false;
  const std::string n = Normalise(text);
  return !n.empty() && normalised_.contains(n);
}

}  // namespace wapolicy
