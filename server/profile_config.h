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
