// The profile a data directory was written under, how it differs from the
// running one, and how stored tiers and pools move to a new ladder or limit
// scope (--migrate_profile).
//
//   ProfileIdentity running = IdentityOf(profile);
//   if (!(stored == running)) return ProfileMismatchMessage(stored, running);
//   int level = MapLevel(stored.ladder, old_level, running.ladder);
#ifndef WAPOLICY_POLICY_PROFILE_MIGRATION_H_
#define WAPOLICY_POLICY_PROFILE_MIGRATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "policy/policy_profile.h"

namespace wapolicy {

// What identifies the profile a data directory was written under: stored with
// the data (storage's profile record) and compared with the running profile at
// start. Levels stored in pool records only mean something on this ladder, and
// pool ids ("N"+number or "B"+business) depend on the limit scope.
struct ProfileIdentity {
  std::string name;
  int64_t revision = 0;
  std::vector<int64_t> ladder;  // kUnlimited (-1) only at the top.
  bool per_portfolio = false;   // LimitScope::kPerPortfolio.

  bool operator==(const ProfileIdentity& o) const {
    return name == o.name && revision == o.revision && ladder == o.ladder &&
           per_portfolio == o.per_portfolio;
  }
  bool operator!=(const ProfileIdentity& o) const { return !(*this == o); }
};
ProfileIdentity IdentityOf(const PolicyProfile& p);

// "brief-2023 rev 1 ladder [250,1000,10000,100000,unlimited] per number".
std::string DescribeProfile(const ProfileIdentity& p);
// The fields that differ, in this order: "name", "revision", "ladder",
// "limit scope". Empty if none.
std::vector<std::string> ProfileDifferences(const ProfileIdentity& stored,
                                            const ProfileIdentity& running);
// Why a server running `running` refuses a directory written under `stored`,
// and what to do about it (--migrate_profile).
std::string ProfileMismatchMessage(const ProfileIdentity& stored, const ProfileIdentity& running);

// The level of `to` nearest by value to the limit at `level` of `from`. A tie
// goes to the lower level (so a migrated pool never gets more than the
// platform would give it); unlimited maps to the top level of `to`, and
// finite limits never map to an unlimited level unless `to` has nothing else.
// A level past the top of `from` counts as its top. `from` and `to` must be
// non-empty.
int MapLevel(absl::Span<const int64_t> from, int level, absl::Span<const int64_t> to);

// A pool's tier (as stored: level, and a pending upgrade or -1) placed on a
// new ladder: the level by MapLevel; the pending upgrade mapped likewise, and
// dropped (-1) unless it is still above the new level.
struct MappedPoolLevels {
  int level = 0;
  int pending_level = -1;
};
MappedPoolLevels MapPoolLevels(absl::Span<const int64_t> from, absl::Span<const int64_t> to,
                               int level, int pending_level);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_PROFILE_MIGRATION_H_
