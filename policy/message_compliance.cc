#include "policy/message_compliance.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace wapolicy {
namespace {

absl::Status TooLong(absl::string_view field, int64_t n, int64_t max) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", n, " characters, at most ", max));
}

absl::Status CheckLength(absl::string_view field, absl::string_view text, int64_t max,
                         bool required = false) {
  const int64_t n = CharacterCount(text);
  if (required && n == 0) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  return n > max ? TooLong(field, n, max) : absl::OkStatus();
}

}  // namespace

int64_t CharacterCount(absl::string_view utf8) {
  int64_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

absl::Status ValidateText(absl::string_view body, const MessageLimits& l) {
  return CheckLength("text.body", body, l.text_body, /*required=*/true);
}

absl::Status ValidateMedia(const MediaContent& m, const MessageLimits& l) {
  std::string mime = absl::AsciiStrToLower(absl::StrReplaceAll(m.mime_type, {{" ", ""}}));
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
      return absl::InvalidArgumentError("media.type must be image, video, audio, document or sticker");
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
    if (auto s = CheckLength(f + ".title", sec.title, l.list_title, m.sections.size() > 1); !s.ok()) return s;
    if (sec.rows.empty()) return absl::InvalidArgumentError(f + ".rows: at least one row");
    for (size_t j = 0; j < sec.rows.size(); ++j) {
      const ListRow& r = sec.rows[j];
      const std::string rf = absl::StrCat(f, ".rows[", j, "]");
      if (auto s = CheckLength(rf + ".id", r.id, l.list_row_id, true); !s.ok()) return s;
      if (auto s = CheckLength(rf + ".title", r.title, l.list_title, true); !s.ok()) return s;
      if (auto s = CheckLength(rf + ".description", r.description, l.list_row_description); !s.ok()) return s;
      if (!ids.insert(r.id).second) return absl::InvalidArgumentError(rf + ".id: row ids must be unique");
    }
    rows += static_cast<int64_t>(sec.rows.size());
  }
  if (rows > l.list_rows) {
    return absl::InvalidArgumentError(absl::StrCat("list.sections: ", rows, " rows, at most ", l.list_rows));
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
    if (auto s = CheckLength(f + ".label", m.buttons[i].label, l.reply_button_label, true); !s.ok()) return s;
    if (auto s = CheckLength(f + ".id", m.buttons[i].id, l.reply_button_id, true); !s.ok()) return s;
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
      return absl::InvalidArgumentError(absl::StrCat("products.sections[", i, "]: at least one item"));
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
