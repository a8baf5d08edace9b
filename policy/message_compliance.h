// The platform's content rules for session (free-form) messages and for
// templates: lengths, media types and sizes, list and button shapes, the
// opt-out a marketing template must offer. Pure checks returning an error
// that names the field.
//
//   absl::Status s = ValidateSessionContent(content, profile.message_limits);
//   absl::Status t = ValidateTemplate(tmpl, limits, profile.opt_out_phrases);
#ifndef WAPOLICY_POLICY_MESSAGE_COMPLIANCE_H_
#define WAPOLICY_POLICY_MESSAGE_COMPLIANCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "policy/message_content.h"
#include "policy/templates.h"

namespace wapolicy {

// The platform's content limits for session (free-form) messages, in one
// table so a profile can change them. Lengths count Unicode characters.
struct MessageLimits {
  int64_t text_body = 4096;                    // Text message body.
  int64_t media_caption = 1024;                // Image/video/document caption.
  int64_t image_bytes = 5 << 20;               // image/jpeg, image/png.
  int64_t video_bytes = 16 << 20;              // video/mp4, video/3gpp.
  int64_t audio_bytes = 16 << 20;              // aac, mp4, mpeg, amr, ogg (Opus only).
  int64_t document_bytes = 100 << 20;          // application/pdf.
  int64_t sticker_static_bytes = 100 << 10;    // image/webp, static.
  int64_t sticker_animated_bytes = 500 << 10;  // image/webp, animated.
  int64_t list_sections = 10;                  // List: sections.
  int64_t list_rows = 10;    // List: rows across all sections ("up to 10 options").
  int64_t list_button = 20;  // List: button label.
  int64_t list_body = 4096;
  int64_t list_header = 60;  // Text only.
  int64_t list_footer = 60;
  int64_t list_title = 24;  // Section and row titles.
  int64_t list_row_description = 72;
  int64_t list_row_id = 200;
  int64_t reply_buttons = 3;        // Reply buttons: at most three.
  int64_t reply_button_label = 20;  // Unique within the message.
  int64_t reply_button_id = 256;
  int64_t reply_body = 1024;
  int64_t reply_footer = 60;
  int64_t multi_product_items = 30;     // Across all sections.
  int64_t multi_product_sections = 10;  // Each with at least one item.

  // Templates.
  int64_t template_header_text = 60;  // With at most one variable.
  int64_t template_header_variables = 1;
  int64_t template_body = 1024;
  int64_t template_footer = 60;
  int64_t template_buttons = 10;  // All kinds together.
  int64_t template_quick_replies = 10;
  int64_t template_url_buttons = 2;  // URL <= 2000, one variable only, at its end.
  int64_t template_url = 2000;
  int64_t template_phone_buttons = 1;
  int64_t template_copy_code_buttons = 1;
  int64_t template_button_text = 25;
  int64_t template_name = 512;
};

// Each returns INVALID_ARGUMENT naming the field and the rule, or OK.
absl::Status ValidateText(absl::string_view body, const MessageLimits& l);
absl::Status ValidateMedia(const MediaContent& m, const MessageLimits& l);
absl::Status ValidateList(const ListMessage& m, const MessageLimits& l);
absl::Status ValidateReplyButtons(const ReplyButtonsMessage& m, const MessageLimits& l);
absl::Status ValidateMultiProduct(const MultiProductMessage& m, const MessageLimits& l);
absl::Status ValidateSingleProduct(const ProductMessage& m, const MessageLimits& l);
// Dispatches on the content's kind.
absl::Status ValidateSessionContent(const SessionContent& c, const MessageLimits& l);

// A template's components. Marketing templates must also offer a way to opt
// out: a quick-reply button or a footer containing one of `opt_out_phrases`
// (case-insensitive), else the template is refused.
absl::Status ValidateTemplate(const MessageTemplate& t, const MessageLimits& l,
                              const std::vector<std::string>& opt_out_phrases);

// Unicode characters in UTF-8 text (continuation bytes not counted).
int64_t CharacterCount(absl::string_view utf8);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_MESSAGE_COMPLIANCE_H_
