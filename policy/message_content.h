// The content of a session (free-form) message, one struct per type the
// platform accepts (text, media, contacts, location, lists, reply buttons,
// products), for the content rules in message_compliance.h.
//
//   SessionContent c = TextContent{"Your order has shipped"};
//   SessionType t = TypeOf(c);  // SessionType::kText
#ifndef WAPOLICY_POLICY_MESSAGE_CONTENT_H_
#define WAPOLICY_POLICY_MESSAGE_CONTENT_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"

namespace wapolicy {

// The session (free-form) message types the platform accepts.
enum class SessionType {
  kText = 0,
  kImage = 1,
  kVideo = 2,
  kAudio = 3,
  kDocument = 4,
  kSticker = 5,
  kContacts = 6,
  kLocation = 7,
  kInteractiveList = 8,
  kReplyButtons = 9,
  kSingleProduct = 10,
  kMultiProduct = 11,
};
absl::string_view SessionTypeName(SessionType t);

struct TextContent {
  std::string body;
};

// A media attachment of a session message.
struct MediaContent {
  SessionType type = SessionType::kImage;  // kImage, kVideo, kAudio, kDocument or kSticker.
  std::string mime_type;                   // e.g. "image/jpeg"; "audio/ogg; codecs=opus".
  int64_t bytes = 0;
  bool animated = false;  // Stickers.
  std::string caption;
};

struct ListRow {
  std::string id, title, description;
};
struct ListSection {
  std::string title;
  std::vector<ListRow> rows;
};
// An interactive list message (two-way only: inside the service window).
struct ListMessage {
  std::string header, body, footer, button;
  std::vector<ListSection> sections;
};

enum class ButtonsHeader {
  kNone = 0,
  kText = 1,
  kImage = 2,
  kVideo = 3,
  kDocument = 4,
  kOther = 5
};
struct ReplyButton {
  std::string id, label;
};
// An interactive reply-buttons message.
struct ReplyButtonsMessage {
  ButtonsHeader header = ButtonsHeader::kNone;
  std::string body, footer;
  std::vector<ReplyButton> buttons;
};

// A single-product message.
struct ProductMessage {
  std::string catalog_id, product_id, body;
};

struct ProductSection {
  std::string title;
  std::vector<std::string> product_ids;
};
// An interactive multi-product message.
struct MultiProductMessage {
  std::string header, body;
  std::vector<ProductSection> sections;
};

// Contacts and location messages carry nothing the rules limit.
struct ContactsMessage {
  int64_t contacts = 1;
};
struct LocationMessage {
  double latitude = 0, longitude = 0;
};

// What a session message holds, when the pipeline sends it along for checking.
using SessionContent =
    std::variant<TextContent, MediaContent, ListMessage, ReplyButtonsMessage, ProductMessage,
                 MultiProductMessage, ContactsMessage, LocationMessage>;

// The session type a content value is (media: its own type field).
SessionType TypeOf(const SessionContent& c);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_MESSAGE_CONTENT_H_
