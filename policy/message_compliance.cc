#include "policy/message_compliance.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace wapolicy {
namespace compliance_internal {

absl::Status TooLong(absl::string_view field, int64_t n, int64_t max) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", n, " characters, at most ", max));
}

absl::Status CheckLength(absl::string_view field, absl::string_view text, int64_t max,
                         bool required = false) {
  const int64_t n = CharacterCount(text);
  if (required && n == 0) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  return n > max ? TooLong(field, n, max) : absl::OkStatus();
}

}  // namespace compliance_internal

using compliance_internal::CheckLength;

int64_t CharacterCount(absl::string_view utf8) {
  int64_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

absl::Status ValidateText(absl::string_view body, const MessageLimits& l) {
  return CheckLength("text.body", body, l.text_body, /*required=*/true);
}

absl::Status ValidateMedia(const MediaContent& m, const MessageLimits& l) {
  const std::string mime = absl::AsciiStrToLower(absl::StrReplaceAll(m.mime_type, {{" ", ""}}));
  if (m.bytes <= 0) return absl::InvalidArgumentError("media.bytes must be positive");
  auto too_big = [&](int64_t max) {
    return absl::InvalidArgumentError(
        absl::StrCat("media.bytes: ", m.bytes, " bytes, at most ", max, " for ", m.mime_type));
  };
  auto bad_mime = [&](absl::string_view allowed) {
    return absl::InvalidArgumentError(
        absl::StrCat("media.mime_type: '", m.mime_type, "' is not allowed; use ", allowed));
  };
  int64_t max = 0;
  switch (m.type) {
    case SessionType::kImage:
      if (mime != "image/jpeg" && mime != "image/png") return bad_mime("image/jpeg or image/png");
      max = l.image_bytes;
      break;
    case SessionType::kVideo:
      if (mime != "video/mp4" && mime != "video/3gpp") return bad_mime("video/mp4 or video/3gpp");
      max = l.video_bytes;
      break;
    case SessionType::kAudio:
      // Base audio/ogg is not supported: only with the Opus codec.
      if (mime != "audio/aac" && mime != "audio/mp4" && mime != "audio/mpeg" &&
          mime != "audio/amr" && mime != "audio/ogg;codecs=opus") {
        return bad_mime("audio/aac, audio/mp4, audio/mpeg, audio/amr or audio/ogg; codecs=opus");
      }
      max = l.audio_bytes;
      break;
    case SessionType::kDocument:
      if (mime != "application/pdf") return bad_mime("application/pdf");
      max = l.document_bytes;
      break;
    case SessionType::kSticker:
      if (mime != "image/webp") return bad_mime("image/webp");
      max = m.animated ? l.sticker_animated_bytes : l.sticker_static_bytes;
      break;
    default:
      return absl::InvalidArgumentError(
          "media.type must be image, video, audio, document or sticker");
  }
  if (m.bytes > max) return too_big(max);
  if (!m.caption.empty()) {
    if (m.type == SessionType::kAudio || m.type == SessionType::kSticker) {
      return absl::InvalidArgumentError("media.caption: audio and stickers take no caption");
    }
    return CheckLength("media.caption", m.caption, l.media_caption);
  }
  return absl::OkStatus();
}

absl::Status ValidateList(const ListMessage& m, const MessageLimits& l) {
  if (auto s = CheckLength("list.header", m.header, l.list_header); !s.ok()) return s;
  if (auto s = CheckLength("list.body", m.body, l.list_body, true); !s.ok()) return s;
  if (auto s = CheckLength("list.footer", m.footer, l.list_footer); !s.ok()) return s;
  if (auto s = CheckLength("list.button", m.button, l.list_button, true); !s.ok()) return s;
  if (m.sections.empty() || static_cast<int64_t>(m.sections.size()) > l.list_sections) {
    return absl::InvalidArgumentError(
        absl::StrCat("list.sections: ", m.sections.size(), ", need 1 to ", l.list_sections));
  }
  int64_t rows = 0;
  absl::flat_hash_set<std::string> ids;
  for (size_t i = 0; i < m.sections.size(); ++i) {
    const ListSection& sec = m.sections[i];
    const std::string f = absl::StrCat("list.sections[", i, "]");
    // A title is required once there is more than one section.
    if (auto s = CheckLength(f + ".title", sec.title, l.list_title, m.sections.size() > 1); !s.ok())
      return s;
    if (sec.rows.empty()) return absl::InvalidArgumentError(f + ".rows: at least one row");
    for (size_t j = 0; j < sec.rows.size(); ++j) {
      const ListRow& r = sec.rows[j];
      const std::string rf = absl::StrCat(f, ".rows[", j, "]");
      if (auto s = CheckLength(rf + ".id", r.id, l.list_row_id, true); !s.ok()) return s;
      if (auto s = CheckLength(rf + ".title", r.title, l.list_title, true); !s.ok()) return s;
      if (auto s = CheckLength(rf + ".description", r.description, l.list_row_description); !s.ok())
        return s;
      if (!ids.insert(r.id).second)
        return absl::InvalidArgumentError(rf + ".id: row ids must be unique");
    }
    rows += static_cast<int64_t>(sec.rows.size());
  }
  if (rows > l.list_rows) {
    return absl::InvalidArgumentError(
        absl::StrCat("list.sections: ", rows, " rows, at most ", l.list_rows));
  }
  return absl::OkStatus();
}

absl::Status ValidateReplyButtons(const ReplyButtonsMessage& m, const MessageLimits& l) {
  if (m.header == ButtonsHeader::kOther) {
    return absl::InvalidArgumentError("buttons.header: only text, image, video or document");
  }
  if (auto s = CheckLength("buttons.body", m.body, l.reply_body, true); !s.ok()) return s;
  if (auto s = CheckLength("buttons.footer", m.footer, l.reply_footer); !s.ok()) return s;
  if (m.buttons.empty() || static_cast<int64_t>(m.buttons.size()) > l.reply_buttons) {
    return absl::InvalidArgumentError(
        absl::StrCat("buttons.buttons: ", m.buttons.size(), ", need 1 to ", l.reply_buttons));
  }
  absl::flat_hash_set<std::string> labels, ids;
  for (size_t i = 0; i < m.buttons.size(); ++i) {
    const std::string f = absl::StrCat("buttons.buttons[", i, "]");
    if (auto s = CheckLength(f + ".label", m.buttons[i].label, l.reply_button_label, true); !s.ok())
      return s;
    if (auto s = CheckLength(f + ".id", m.buttons[i].id, l.reply_button_id, true); !s.ok())
      return s;
    if (!labels.insert(m.buttons[i].label).second) {
      return absl::InvalidArgumentError(f + ".label: button labels must be unique");
    }
    if (!ids.insert(m.buttons[i].id).second) {
      return absl::InvalidArgumentError(f + ".id: button ids must be unique");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateMultiProduct(const MultiProductMessage& m, const MessageLimits& l) {
  if (auto s = CheckLength("products.header", m.header, l.list_header, true); !s.ok()) return s;
  if (auto s = CheckLength("products.body", m.body, l.list_body, true); !s.ok()) return s;
  if (m.sections.empty() || static_cast<int64_t>(m.sections.size()) > l.multi_product_sections) {
    return absl::InvalidArgumentError(absl::StrCat("products.sections: ", m.sections.size(),
                                                   ", need 1 to ", l.multi_product_sections));
  }
  int64_t items = 0;
  for (size_t i = 0; i < m.sections.size(); ++i) {
    if (m.sections[i].product_ids.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("products.sections[", i, "]: at least one item"));
    }
    items += static_cast<int64_t>(m.sections[i].product_ids.size());
  }
  if (items > l.multi_product_items) {
    return absl::InvalidArgumentError(
        absl::StrCat("products.sections: ", items, " items, at most ", l.multi_product_items));
  }
  return absl::OkStatus();
}

}  // namespace wapolicy

namespace wapolicy {

using compliance_internal::CheckLength;

absl::Status ValidateSingleProduct(const ProductMessage& m, const MessageLimits& l) {
  if (m.catalog_id.empty()) return absl::InvalidArgumentError("product.catalog_id is required");
  if (m.product_id.empty()) return absl::InvalidArgumentError("product.product_id is required");
  return CheckLength("product.body", m.body, l.list_body);
}

absl::Status ValidateSessionContent(const SessionContent& c, const MessageLimits& l) {
  struct Visitor {
    const MessageLimits& l;
    absl::Status operator()(const TextContent& t) const { return ValidateText(t.body, l); }
    absl::Status operator()(const MediaContent& m) const { return ValidateMedia(m, l); }
    absl::Status operator()(const ListMessage& m) const { return ValidateList(m, l); }
    absl::Status operator()(const ReplyButtonsMessage& m) const {
      return ValidateReplyButtons(m, l);
    }
    absl::Status operator()(const ProductMessage& m) const { return ValidateSingleProduct(m, l); }
    absl::Status operator()(const MultiProductMessage& m) const {
      return ValidateMultiProduct(m, l);
    }
    absl::Status operator()(const ContactsMessage& m) const {
      return m.contacts >= 1 ? absl::OkStatus()
                             : absl::InvalidArgumentError("contacts: at least one contact");
    }
    absl::Status operator()(const LocationMessage& m) const {
      if (!(m.latitude >= -90 && m.latitude <= 90) ||
          !(m.longitude >= -180 && m.longitude <= 180)) {
        return absl::InvalidArgumentError("location: latitude/longitude out of range");
      }
      return absl::OkStatus();
    }
  };
  return std::visit(Visitor{l}, c);
}

absl::Status ValidateTemplate(const MessageTemplate& t, const MessageLimits& l,
                              const std::vector<std::string>& opt_out_phrases) {
  if (auto s = CheckLength("name", t.name, l.template_name, true); !s.ok()) return s;
  if (t.language.empty() || t.language.size() > 16) {
    return absl::InvalidArgumentError("language must be 1 to 16 characters");
  }
  if (t.header_format == HeaderFormat::kText) {
    if (auto s = CheckLength("header_text", t.header_text, l.template_header_text, true); !s.ok())
      return s;
    if (CountVariables(t.header_text) > l.template_header_variables) {
      return absl::InvalidArgumentError(
          absl::StrCat("header_text: at most ", l.template_header_variables, " variable"));
    }
  } else if (!t.header_text.empty()) {
    return absl::InvalidArgumentError("header_text: only a text header has text");
  }
  if (auto s = CheckLength("body", t.body, l.template_body); !s.ok()) return s;
  if (auto s = CheckLength("footer", t.footer, l.template_footer); !s.ok()) return s;
  if (static_cast<int64_t>(t.buttons.size()) > l.template_buttons) {
    return absl::InvalidArgumentError(
        absl::StrCat("buttons: ", t.buttons.size(), ", at most ", l.template_buttons));
  }
  int64_t quick = 0, urls = 0, phones = 0, codes = 0;
  for (size_t i = 0; i < t.buttons.size(); ++i) {
    const TemplateButton& b = t.buttons[i];
    const std::string f = absl::StrCat("buttons[", i, "]");
    if (auto s = CheckLength(f + ".text", b.text, l.template_button_text, true); !s.ok()) return s;
    switch (b.kind) {
      case TemplateButton::Kind::kQuickReply:
        ++quick;
        break;
      case TemplateButton::Kind::kUrl: {
        ++urls;
        if (auto s = CheckLength(f + ".url", b.url, l.template_url, true); !s.ok()) return s;
        if (b.url.rfind("https://", 0) != 0 && b.url.rfind("http://", 0) != 0) {
          return absl::InvalidArgumentError(f + ".url: must start with https:// or http://");
        }
        const int vars = CountVariables(b.url);
        // Dynamic: exactly one variable, and it is what the URL ends with.
        // (A URL ending in "}}" need not contain "{{": found by fuzzing.)
        const size_t open = b.url.rfind("{{");
        bool ends_with_var = false;
        if (open != std::string::npos) {
          size_t j = open + 2;
          while (j < b.url.size() && absl::ascii_isdigit(b.url[j])) ++j;
          ends_with_var = j > open + 2 && j + 2 == b.url.size() && b.url.compare(j, 2, "}}") == 0;
        }
        if (vars > 1 || (vars == 1 && !ends_with_var)) {
          return absl::InvalidArgumentError(f + ".url: a dynamic URL has one variable, at its end");
        }
        break;
      }
      case TemplateButton::Kind::kPhoneNumber: {
        ++phones;
        std::string digits = b.phone_number;
        if (!digits.empty() && digits[0] == '+') digits.erase(0, 1);
        bool ok = digits.size() >= 8 && digits.size() <= 15 && digits[0] != '0';
        for (char c : digits) ok = ok && c >= '0' && c <= '9';
        if (!ok) return absl::InvalidArgumentError(f + ".phone_number: not an E.164 number");
        break;
      }
      case TemplateButton::Kind::kCopyCode:
        ++codes;
        break;
    }
  }
  if (quick > l.template_quick_replies) {
    return absl::InvalidArgumentError(
        absl::StrCat("buttons: ", quick, " quick replies, at most ", l.template_quick_replies));
  }
  if (urls > l.template_url_buttons) {
    return absl::InvalidArgumentError(
        absl::StrCat("buttons: ", urls, " URL buttons, at most ", l.template_url_buttons));
  }
  if (phones > l.template_phone_buttons) {
    return absl::InvalidArgumentError(absl::StrCat(
        "buttons: ", phones, " phone-number buttons, at most ", l.template_phone_buttons));
  }
  if (codes > l.template_copy_code_buttons) {
    return absl::InvalidArgumentError(absl::StrCat(
        "buttons: ", codes, " copy-code buttons, at most ", l.template_copy_code_buttons));
  }
  if (t.category == TemplateCategory::kMarketing && !opt_out_phrases.empty()) {
    auto offers = [&](absl::string_view text) {
      const std::string lower = absl::AsciiStrToLower(text);
      for (const std::string& p : opt_out_phrases) {
        if (!p.empty() && lower.find(absl::AsciiStrToLower(p)) != std::string::npos) return true;
      }
      return false;
    };
    bool ok = offers(t.footer);
    for (const TemplateButton& b : t.buttons) {
      ok = ok || (b.kind == TemplateButton::Kind::kQuickReply && offers(b.text));
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          "marketing templates must offer a way to opt out: a quick-reply button or a footer "
          "with an opt-out phrase (e.g. 'Reply STOP to unsubscribe')");
    }
  }
  return absl::OkStatus();
}

}  // namespace wapolicy
