#include "policy/conversations.h"

#include <algorithm>

namespace wapolicy {

absl::string_view DeliveryOutcomeName(DeliveryOutcome o) {
  switch (o) {
    case DeliveryOutcome::kStartedConversation:
      return "STARTED_CONVERSATION";
    case DeliveryOutcome::kInOpenConversation:
      return "IN_OPEN_CONVERSATION";
    case DeliveryOutcome::kInUserConversation:
      return "IN_USER_CONVERSATION";
    case DeliveryOutcome::kStartedUnadmitted:
      return "STARTED_UNADMITTED";
    case DeliveryOutcome::kAlreadyEnded:
      return "ALREADY_ENDED";
  }
  return "UNKNOWN";
}

DeliveryEffect ClassifyDelivery(const ConversationWindow* slot, const ServiceWindow* window,
                                int64_t at, int64_t now, const ConversationTimes& times) {
  const bool ended = at + times.conversation_us <= now;
  if (slot != nullptr && slot->open_at(now)) {
    // A start older than the look-back counts for nothing (a bogus or very
    // late timestamp): it still confirms the admission.
    if (slot->pending) {
      return {DeliveryOutcome::kStartedConversation, at, at > now - times.lookback_us};
    }
    // A confirmed conversation: this delivery is inside it, or one of its
    // messages reported out of order (the start moves back), or an earlier
    // conversation that has ended and was counted when it started.
    if (at >= slot->slot_start_us) return {DeliveryOutcome::kInOpenConversation, 0, false};
    if (at + times.conversation_us > slot->slot_start_us) {
      return {DeliveryOutcome::kInOpenConversation, at, false};
    }
    return {DeliveryOutcome::kAlreadyEnded, 0, false};
  }
  // Was the service window (or a user-initiated conversation) open when the
  // message was delivered? Only the customer's latest message is kept: a
  // delivery before it cannot be shown to be a reply, so it counts (the
  // safe side: the engine may count a conversation the platform did not,
  // never the reverse).
  if (window != nullptr) {
    const bool in_window = window->last_inbound_us != 0 && at >= window->last_inbound_us &&
                           window->window_open(at, times.service_window_us);
    const bool in_user_conversation =
        window->user_conversation_open(at) &&
        at >= window->user_conversation_end_us - times.conversation_us;
    if (in_window || in_user_conversation) return {DeliveryOutcome::kInUserConversation, 0, false};
  }
  if (at <= now - times.lookback_us) return {DeliveryOutcome::kAlreadyEnded, 0, false};
  return {ended ? DeliveryOutcome::kAlreadyEnded : DeliveryOutcome::kStartedUnadmitted, at, true};
}

void ConversationLedger::Index(uint64_t customer, const ConversationWindow& w) {
  if (w.slot_end_us != 0) by_end_.insert({w.slot_end_us, customer});
  if (w.last_start_us != 0) {
    by_start_.insert({w.last_start_us, customer});
    qualified_ += w.start_qualifies;
  }
}

void ConversationLedger::Unindex(uint64_t customer, const ConversationWindow& w) {
  if (w.slot_end_us != 0) by_end_.erase({w.slot_end_us, customer});
  if (w.last_start_us != 0) {
    by_start_.erase({w.last_start_us, customer});
    qualified_ -= w.start_qualifies;
  }
}

// Stores `w` for `customer` (erasing it when it holds nothing) and reports it.
void ConversationLedger::Commit(uint64_t customer, ConversationWindow& w, OnChange on_change) {
  if (w.slot_end_us == 0 && w.last_start_us == 0) {
    windows_.erase(customer);
    on_change(customer, nullptr);
    return;
  }
  Index(customer, w);
  on_change(customer, &w);
}

void ConversationLedger::Expire(int64_t now, int64_t retention_us, OnChange on_change) {
  while (!by_end_.empty() && by_end_.begin()->first <= now) {
    const uint64_t customer = by_end_.begin()->second;
    ConversationWindow& w = windows_[customer];
    Unindex(customer, w);
    w.slot_end_us = 0;
    w.slot_start_us = 0;
    w.pending = false;
    w.pending_qualifies = false;
    w.message_key = 0;
    Commit(customer, w, on_change);
  }
  const int64_t horizon = now - retention_us;
  while (!by_start_.empty() && by_start_.begin()->first <= horizon) {
    const uint64_t customer = by_start_.begin()->second;
    ConversationWindow& w = windows_[customer];
    Unindex(customer, w);
    w.last_start_us = 0;
    w.start_qualifies = false;
    Commit(customer, w, on_change);
  }
}

bool ConversationLedger::HasOpenSlot(uint64_t customer, int64_t now) const {
  const ConversationWindow* w = Find(customer);
  return w != nullptr && w->open_at(now);
}

void ConversationLedger::Reserve(uint64_t customer, int64_t now, int64_t deadline,
                                 uint64_t message_key, bool qualifies, OnChange on_change) {
  ConversationWindow& w = windows_[customer];
  Unindex(customer, w);
  w.slot_start_us = now;
  w.slot_end_us = deadline;
  w.pending = true;
  w.pending_qualifies = qualifies;
  w.message_key = message_key;
  Commit(customer, w, on_change);
}

void ConversationLedger::Start(uint64_t customer, int64_t start, int64_t end, int64_t now,
                               OnChange on_change) {
  ConversationWindow& w = windows_[customer];
  Unindex(customer, w);
  // The open conversation's own start moved back (one of its messages was
  // reported out of order): same conversation, same flag. An admission
  // confirmed: its template's flag. Any other start: unadmitted, no flag.
  const bool same_conversation = w.slot_end_us > now && !w.pending && start < w.slot_start_us;
  const bool qualifies = w.pending ? w.pending_qualifies : same_conversation && w.start_qualifies;
  w.pending = false;
  w.pending_qualifies = false;
  w.message_key = 0;
  if (end > now) {
    w.slot_start_us = start;
    w.slot_end_us = end;
    w.last_start_us = start;
    w.start_qualifies = qualifies;
  } else {  // Ended before it was reported: no slot, only the start.
    // A moved-back start is the conversation's; else the latest start stays.
    if (same_conversation || start >= w.last_start_us) w.start_qualifies = qualifies;
    w.last_start_us = same_conversation ? start : std::max(w.last_start_us, start);
    w.slot_start_us = 0;
    w.slot_end_us = 0;
  }
  Commit(customer, w, on_change);
}

ConversationLedger::ReleaseResult ConversationLedger::Release(uint64_t customer,
                                                              uint64_t message_key,
                                                              OnChange on_change) {
  auto it = windows_.find(customer);
  if (it == windows_.end() || !it->second.pending || it->second.slot_end_us == 0) {
    return ReleaseResult::kNoneAwaiting;
  }
  ConversationWindow& w = it->second;
  if (message_key != 0 && w.message_key != 0 && message_key != w.message_key) {
    return ReleaseResult::kHeldForAnother;
  }
  Unindex(customer, w);
  w.slot_end_us = 0;
  w.slot_start_us = 0;
  w.pending = false;
  w.pending_qualifies = false;
  w.message_key = 0;
  Commit(customer, w, on_change);
  return ReleaseResult::kReleased;
}

void ConversationLedger::Restore(uint64_t customer, const ConversationWindow& w) {
  auto it = windows_.find(customer);
  if (it != windows_.end()) Unindex(customer, it->second);
  windows_[customer] = w;
  Index(customer, w);
}

}  // namespace wapolicy
