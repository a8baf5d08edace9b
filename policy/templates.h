#ifndef WAPOLICY_POLICY_TEMPLATES_H_
#define WAPOLICY_POLICY_TEMPLATES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace wapolicy {

// Template categories on the platform.
enum class TemplateCategory : uint8_t { kMarketing = 0, kUtility = 1, kAuthentication = 2 };
absl::string_view TemplateCategoryName(TemplateCategory c);

// A template's review state; only kApproved may be sent.
enum class TemplateStatus : uint8_t {
  kApproved = 0,
  kPending = 1,
  kRejected = 2,
  kPaused = 3,
  kDisabled = 4,
};
absl::string_view TemplateStatusName(TemplateStatus s);

// A registered message template of one business, identified by name and language.
struct MessageTemplate {
  std::string name;
  std::string language;
  TemplateCategory category = TemplateCategory::kUtility;
  TemplateStatus status = TemplateStatus::kPending;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_TEMPLATES_H_
