// The policy profile the server runs: a base profile chosen by name
// (--profile) with a ProfileConfig in protobuf text format laid over it
// (--config; proto/wapolicy/v1/config.proto), then validated.
//
//   absl::StatusOr<PolicyProfile> p = BaseProfile("brief-2023");
//   if (p.ok()) p = ApplyProfileConfig(*p, "ladder: [250, 1000, -1] revision: 2");
//   if (!p.ok()) return Fail(std::string(p.status().message()));
#ifndef WAPOLICY_SERVER_PROFILE_CONFIG_H_
#define WAPOLICY_SERVER_PROFILE_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/policy_profile.h"

namespace wapolicy {

// The base profile by name: "brief-2023" (default) or "platform-2025-10".
absl::StatusOr<PolicyProfile> BaseProfile(absl::string_view name);

// Applies a ProfileConfig in protobuf text format over `base` and validates
// the result.
absl::StatusOr<PolicyProfile> ApplyProfileConfig(PolicyProfile base, absl::string_view text);

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_PROFILE_CONFIG_H_
