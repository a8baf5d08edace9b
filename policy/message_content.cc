#include "policy/message_content.h"

namespace wapolicy {

absl::string_view SessionTypeName(SessionType t) {
  switch (t) {
    case SessionType::kText:
      return "TEXT";
    case SessionType::kImage:
      return "IMAGE";
    case SessionType::kVideo:
      return "VIDEO";
    case SessionType::kAudio:
      return "AUDIO";
    case SessionType::kDocument:
      return "DOCUMENT";
    case SessionType::kSticker:
      return "STICKER";
    case SessionType::kContacts:
      return "CONTACTS";
    case SessionType::kLocation:
      return "LOCATION";
    case SessionType::kInteractiveList:
      return "INTERACTIVE_LIST";
    case SessionType::kReplyButtons:
      return "REPLY_BUTTONS";
    case SessionType::kSingleProduct:
      return "SINGLE_PRODUCT";
    case SessionType::kMultiProduct:
      return "MULTI_PRODUCT";
  }
  return "UNKNOWN";
}

SessionType TypeOf(const SessionContent& c) {
  struct Visitor {
    SessionType operator()(const TextContent&) const { return SessionType::kText; }
    SessionType operator()(const MediaContent& m) const { return m.type; }
    SessionType operator()(const ListMessage&) const { return SessionType::kInteractiveList; }
    SessionType operator()(const ReplyButtonsMessage&) const { return SessionType::kReplyButtons; }
    SessionType operator()(const ProductMessage&) const { return SessionType::kSingleProduct; }
    SessionType operator()(const MultiProductMessage&) const { return SessionType::kMultiProduct; }
    SessionType operator()(const ContactsMessage&) const { return SessionType::kContacts; }
    SessionType operator()(const LocationMessage&) const { return SessionType::kLocation; }
  };
  return std::visit(Visitor{}, c);
}

}  // namespace wapolicy
