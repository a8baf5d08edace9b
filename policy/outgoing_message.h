#ifndef WAPOLICY_POLICY_OUTGOING_MESSAGE_H_
#define WAPOLICY_POLICY_OUTGOING_MESSAGE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "policy/phone_number.h"

namespace wapolicy {

// Template (pre-approved, may start a conversation) or session (free-form,
// only inside the customer-service window).
enum class MessageKind { kTemplate = 0, kSession = 1 };

// The session message types the platform accepts.
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

// One message a pipeline wants to send, as far as the send rules need it.
struct OutgoingMessage {
  PhoneNumber business_number;
  PhoneNumber customer;
  MessageKind kind = MessageKind::kTemplate;
  std::string template_name;      // Templates only.
  std::string template_language;  // Templates only, e.g. "en_US".
  SessionType session_type = SessionType::kText;
  // Decide without taking a conversation slot (a question, not an admission).
  bool dry_run = false;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_OUTGOING_MESSAGE_H_
