#include "policy/templates.h"

namespace wapolicy {

absl::string_view TemplateCategoryName(TemplateCategory c) {
  switch (c) {
    case TemplateCategory::kMarketing: return "MARKETING";
    case TemplateCategory::kUtility: return "UTILITY";
    case TemplateCategory::kAuthentication: return "AUTHENTICATION";
  }
  return "UNKNOWN";
}

absl::string_view TemplateStatusName(TemplateStatus s) {
  switch (s) {
    case TemplateStatus::kApproved: return "APPROVED";
    case TemplateStatus::kPending: return "PENDING";
    case TemplateStatus::kRejected: return "REJECTED";
    case TemplateStatus::kPaused: return "PAUSED";
    case TemplateStatus::kDisabled: return "DISABLED";
  }
  return "UNKNOWN";
}

}  // namespace wapolicy
