// What a business number and one customer share outside the messaging
// limit: the customer-service window (24 h from the customer's latest
// message) and the user-initiated conversation a reply inside it opens.
//
//   ServiceWindow w;
//   w.last_inbound_us = customer_message_at;
//   bool free_form_ok = w.window_open(now, profile_window_us);
#ifndef WAPOLICY_POLICY_SERVICE_WINDOW_H_
#define WAPOLICY_POLICY_SERVICE_WINDOW_H_

#include <cstdint>

namespace wapolicy {

// What a business number and one customer share outside the limit: the
// customer-service window (24h from the customer's latest message, inside
// which free-form messages are allowed) and the user-initiated conversation
// a reply in that window opens (never counted against the limit).
struct ServiceWindow {
  int64_t last_inbound_us = 0;           // Customer's latest message; 0 if none.
  int64_t user_conversation_end_us = 0;  // End of the open user-initiated conversation.

  bool window_open(int64_t now, int64_t window_us) const {
    return last_inbound_us != 0 && now < last_inbound_us + window_us;
  }
  int64_t window_end(int64_t window_us) const {
    return last_inbound_us == 0 ? 0 : last_inbound_us + window_us;
  }
  bool user_conversation_open(int64_t now) const { return now < user_conversation_end_us; }
  bool expired(int64_t now, int64_t window_us) const {
    return !window_open(now, window_us) && !user_conversation_open(now);
  }
};

// A customer message at `at_us` (the platform's time) refreshes the window;
// one reported late never shortens a window a later message refreshed.
// Returns whether the window changed.
inline bool OnCustomerMessage(ServiceWindow& w, int64_t at_us) {
  if (at_us <= w.last_inbound_us) return false;
  w.last_inbound_us = at_us;
  return true;
}

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_SERVICE_WINDOW_H_
