#include "policy/outgoing_message.h"

namespace wapolicy {

absl::string_view SessionTypeName(SessionType t) {
  switch (t) {
    case SessionType::kText: return "TEXT";
    case SessionType::kImage: return "IMAGE";
    case SessionType::kVideo: return "VIDEO";
    case SessionType::kAudio: return "AUDIO";
    case SessionType::kDocument: return "DOCUMENT";
    case SessionType::kSticker: return "STICKER";
    case SessionType::kContacts: return "CONTACTS";
    case SessionType::kLocation: return "LOCATION";
    case SessionType::kInteractiveList: return "INTERACTIVE_LIST";
    case SessionType::kReplyButtons: return "REPLY_BUTTONS";
    case SessionType::kSingleProduct: return "SINGLE_PRODUCT";
    case SessionType::kMultiProduct: return "MULTI_PRODUCT";
  }
  return "UNKNOWN";
}

}  // namespace wapolicy
