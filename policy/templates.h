// Message templates as a business registers them: name, language,
// category, review status, topic and components.
//
//   MessageTemplate t;
//   t.name = "order_update";
//   t.language = "en_US";
//   t.category = TemplateCategory::kUtility;
//   t.status = TemplateStatus::kApproved;
#ifndef WAPOLICY_POLICY_TEMPLATES_H_
#define WAPOLICY_POLICY_TEMPLATES_H_

#include <cstdint>
#include <string>
#include <vector>

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

// The platform's quality rating of a template (UNKNOWN for new ones).
enum class TemplateQuality : uint8_t { kUnknown = 0, kGreen = 1, kYellow = 2, kRed = 3 };
absl::string_view TemplateQualityName(TemplateQuality q);

// What a template's header shows.
enum class HeaderFormat : uint8_t { kNone = 0, kText = 1, kImage = 2, kVideo = 3, kDocument = 4 };

// An interactive template button: a quick reply, or a call to action that
// dials a number or opens a URL (static, or dynamic with one variable at its
// end), or copies a code.
struct TemplateButton {
  enum class Kind : uint8_t { kQuickReply = 0, kUrl = 1, kPhoneNumber = 2, kCopyCode = 3 };
  Kind kind = Kind::kQuickReply;
  std::string text;
  std::string url;           // kUrl; "{{1}}" at its end makes it dynamic.
  std::string phone_number;  // kPhoneNumber, E.164.
};

// A registered message template of one business, identified by name and
// language. `topic` is what the customer must have opted in to; empty means
// the category's name in lower case ("marketing", "utility", "authentication").
struct MessageTemplate {
  std::string name;
  std::string language;
  TemplateCategory category = TemplateCategory::kUtility;
  TemplateStatus status = TemplateStatus::kPending;
  std::string topic;
  HeaderFormat header_format = HeaderFormat::kNone;
  std::string header_text;
  std::string body;
  std::string footer;
  std::vector<TemplateButton> buttons;

  // The platform's quality rating and the pauses it brought
  // (template_quality.h): a paused template may not be sent before
  // paused_until_us.
  TemplateQuality quality = TemplateQuality::kUnknown;
  int32_t red_pauses = 0;
  int64_t paused_until_us = 0;

  std::string EffectiveTopic() const;
};

// Number of {{n}} variables in template text.
int CountVariables(absl::string_view text);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_TEMPLATES_H_
