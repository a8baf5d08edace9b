#include "policy/templates.h"

#include "absl/strings/ascii.h"

namespace wapolicy {

absl::string_view TemplateCategoryName(TemplateCategory c) {
  switch (c) {
    case TemplateCategory::kMarketing:
      return "MARKETING";
    case TemplateCategory::kUtility:
      return "UTILITY";
    case TemplateCategory::kAuthentication:
      return "AUTHENTICATION";
  }
  return "UNKNOWN";
}

absl::string_view TemplateQualityName(TemplateQuality q) {
  switch (q) {
    case TemplateQuality::kUnknown:
      return "UNKNOWN";
    case TemplateQuality::kGreen:
      return "GREEN";
    case TemplateQuality::kYellow:
      return "YELLOW";
    case TemplateQuality::kRed:
      return "RED";
  }
  return "UNKNOWN";
}

absl::string_view TemplateStatusName(TemplateStatus s) {
  switch (s) {
    case TemplateStatus::kApproved:
      return "APPROVED";
    case TemplateStatus::kPending:
      return "PENDING";
    case TemplateStatus::kRejected:
      return "REJECTED";
    case TemplateStatus::kPaused:
      return "PAUSED";
    case TemplateStatus::kDisabled:
      return "DISABLED";
  }
  return "UNKNOWN";
}

std::string MessageTemplate::EffectiveTopic() const {
  if (!topic.empty()) return topic;
  return absl::AsciiStrToLower(TemplateCategoryName(category));
}

int CountVariables(absl::string_view text) {
  int n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] != '{' || text[i + 1] != '{') continue;
    size_t j = i + 2;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    if (j > i + 2 && j + 1 < text.size() && text[j] == '}' && text[j + 1] == '}') {
      ++n;
      i = j + 1;
    }
  }
  return n;
}

}  // namespace wapolicy
