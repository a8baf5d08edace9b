#include "policy/profile_migration.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace wapolicy {
namespace {

std::string LadderText(absl::Span<const int64_t> ladder) {
  return absl::StrCat("[",
                      absl::StrJoin(ladder, ",",
                                    [](std::string* out, int64_t v) {
                                      absl::StrAppend(out, v == kUnlimited
                                                               ? std::string("unlimited")
                                                               : absl::StrCat(v));
                                    }),
                      "]");
}

}  // namespace

ProfileIdentity IdentityOf(const PolicyProfile& p) {
  ProfileIdentity id;
  id.name = p.name;
  id.revision = p.revision;
  id.ladder = p.ladder;
  id.per_portfolio = p.limit_scope == LimitScope::kPerPortfolio;
  return id;
}

std::string DescribeProfile(const ProfileIdentity& p) {
  return absl::StrCat(p.name, " rev ", p.revision, " ladder ", LadderText(p.ladder), " ",
                      p.per_portfolio ? "per portfolio" : "per number");
}

std::vector<std::string> ProfileDifferences(const ProfileIdentity& stored,
                                            const ProfileIdentity& running) {
  std::vector<std::string> out;
  if (stored.name != running.name) out.push_back("name");
  if (stored.revision != running.revision) out.push_back("revision");
  if (stored.ladder != running.ladder) out.push_back("ladder");
  if (stored.per_portfolio != running.per_portfolio) out.push_back("limit scope");
  return out;
}

std::string ProfileMismatchMessage(const ProfileIdentity& stored, const ProfileIdentity& running) {
  return absl::StrCat("data directory was written under profile ", DescribeProfile(stored),
                      "; this server runs ", DescribeProfile(running), ": differs in ",
                      absl::StrJoin(ProfileDifferences(stored, running), ", "),
                      "; restart with --migrate_profile to move numbers onto the new ladder");
}

int MapLevel(absl::Span<const int64_t> from, int level, absl::Span<const int64_t> to) {
  const int top = static_cast<int>(to.size()) - 1;
  if (from.empty() || to.empty()) return 0;
  level = std::clamp(level, 0, static_cast<int>(from.size()) - 1);
  const int64_t limit = from[level];
  if (limit == kUnlimited) return top;
  int best = -1;
  int64_t best_distance = std::numeric_limits<int64_t>::max();
  for (int i = 0; i <= top; ++i) {
    if (to[i] == kUnlimited) continue;
    const int64_t d = to[i] > limit ? to[i] - limit : limit - to[i];
    if (d < best_distance) {  // Strictly nearer: a tie keeps the lower level.
      best = i;
      best_distance = d;
    }
  }
  return best < 0 ? top : best;
}

MappedPoolLevels MapPoolLevels(absl::Span<const int64_t> from, absl::Span<const int64_t> to,
                               int level, int pending_level) {
  MappedPoolLevels m;
  m.level = MapLevel(from, level, to);
  if (pending_level >= 0) {
    const int pending = MapLevel(from, pending_level, to);
    if (pending > m.level) m.pending_level = pending;
  }
  return m;
}

}  // namespace wapolicy
