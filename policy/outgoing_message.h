// One message a send pipeline wants to send (template or session), as far as
// the send rules need it: the input of a check.
//
//   OutgoingMessage m;
//   m.business_number = PhoneNumber::Parse("+14155550100").value();
//   m.customer = PhoneNumber::Parse("+447700900001").value();
//   m.template_name = "order_update";
//   m.template_language = "en_US";
#ifndef WAPOLICY_POLICY_OUTGOING_MESSAGE_H_
#define WAPOLICY_POLICY_OUTGOING_MESSAGE_H_

#include <memory>
#include <string>
#include <vector>

#include "policy/message_content.h"
#include "policy/phone_number.h"

namespace wapolicy {

// Template (pre-approved, may start a conversation) or session (free-form,
// only inside the customer-service window).
enum class MessageKind { kTemplate = 0, kSession = 1 };

// One message a pipeline wants to send, as far as the send rules need it.
struct OutgoingMessage {
  PhoneNumber business_number;
  PhoneNumber customer;
  MessageKind kind = MessageKind::kTemplate;
  std::string template_name;      // Templates only.
  std::string template_language;  // Templates only, e.g. "en_US".
  // Templates: the body's parameters, if the pipeline sends them; their count
  // must then match the template's variables.
  std::vector<std::string> template_parameters;
  SessionType session_type = SessionType::kText;
  // Sessions: the content, if sent along; checked against the content rules.
  std::shared_ptr<const SessionContent> content;
  // Sessions: the pipeline declares this free-form message promotional (it
  // then needs marketing consent, like a marketing template).
  bool marketing = false;
  // Decide without taking a conversation slot (a question, not an admission).
  bool dry_run = false;
  // Over the throughput or pair rate, answer "allowed, send at T" and take
  // the slot at T instead of holding the message (a campaign sender sleeps
  // until then).
  bool pace = false;
  // The pipeline's own id for the message (optional). An admission keeps it
  // with the slot it takes, so a failure reported with another message's id
  // does not give that slot back (event_ids.h, EventMeta::message_id).
  std::string message_id;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_OUTGOING_MESSAGE_H_
