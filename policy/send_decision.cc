#include "policy/send_decision.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "policy/frequency_cap.h"
#include "policy/message_compliance.h"
#include "policy/messaging_tier.h"
#include "policy/template_quality.h"
#include "policy/us_marketing.h"

namespace wapolicy {
namespace {

int64_t Us(absl::Duration d) { return absl::ToInt64Microseconds(d); }
absl::Time FromUs(int64_t us) { return absl::FromUnixMicros(us); }

SendOutcome Deny(SendOutcome out, ReasonCode reason, std::string detail) {
  out.decision.allowed = false;
  out.decision.reason = reason;
  out.decision.effect = ConversationEffect::kNone;
  out.decision.detail = std::move(detail);
  return out;
}

// A rule holds the message: the denial, unless the rule's family is shadowed
// (shadow_mode.h): then the first such reason is kept on the decision and
// the chain goes on as if the rule had passed. True: stop here.
bool Held(const SendContext& ctx, SendOutcome* out, ReasonCode reason, std::string detail) {
  if (!Shadowed(ctx.shadow, reason)) {
    *out = Deny(std::move(*out), reason, std::move(detail));
    return true;
  }
  Decision& d = out->decision;
  if (d.shadow_reason == ReasonCode::kAllowed) {
    d.shadow_reason = reason;
    d.shadow_detail = std::move(detail);
  }
  d.retry_after = absl::InfinitePast();  // Allowed: nothing to wait for.
  return false;
}

// Template rules 1-3; null when the template may be sent (or needs no
// registration), else the denial.
bool TemplateRefused(const SendContext& ctx, const OutgoingMessage& m, int64_t now,
                     SendOutcome* out) {
  const MessageTemplate* t = ctx.tmpl;
  if (t == nullptr) {
    if (!ctx.profile.require_registered_templates) return false;
    return Held(ctx, out, ReasonCode::kTemplateUnknown,
                absl::StrCat("template '", m.template_name, "' (", m.template_language,
                             ") is not registered for business ", ctx.business_id));
  }
  if (t->status != TemplateStatus::kApproved) {
    const ReasonCode r = t->status == TemplateStatus::kPaused ? ReasonCode::kTemplatePaused
                         : t->status == TemplateStatus::kDisabled
                             ? ReasonCode::kTemplateDisabled
                             : ReasonCode::kTemplateNotApproved;
    if (Held(ctx, out, r,
             absl::StrCat("template '", m.template_name, "' (", m.template_language, ") is ",
                          TemplateStatusName(t->status), "; only APPROVED templates may be sent"))) {
      return true;
    }
  }
  if (PausedAt(*t, now)) {  // Its quality reached RED (template_quality.h).
    if (Held(ctx, out, ReasonCode::kTemplatePaused,
             absl::StrCat("template '", m.template_name, "' (", m.template_language,
                          ") is paused for its RED quality rating until ",
                          absl::FormatTime(FromUs(t->paused_until_us), absl::UTCTimeZone())))) {
      out->decision.retry_after = FromUs(t->paused_until_us);
      return true;
    }
  }
  if (!m.template_parameters.empty()) {
    const int vars = CountVariables(t->body);
    if (static_cast<int>(m.template_parameters.size()) != vars) {
      return Held(ctx, out, ReasonCode::kMessageInvalid,
                  absl::StrCat("template_parameters: ", m.template_parameters.size(),
                               " given, the template body has ", vars, " variables"));
    }
  }
  return false;
}

// Rules 13 and 14 on a message allowed by the others.
void ApplyRateLimits(const SendContext& ctx, const OutgoingMessage& m, int64_t now,
                     SendOutcome* out) {
  const int64_t pair_at = ctx.profile.pair_rate_enabled && ctx.pair != nullptr
                              ? PairEarliest(*ctx.pair, ctx.profile.pair_rate, now)
                              : now;
  const int64_t at = ctx.throughput != nullptr && ctx.throughput_mps > 0
                         ? ThroughputEarliest(*ctx.throughput, ctx.throughput_mps, pair_at)
                         : pair_at;
  if (at > now && !m.pace) {
    const bool pair = pair_at > now;
    const ReasonCode r = pair ? ReasonCode::kPairRateLimited : ReasonCode::kThroughputLimited;
    std::string why = pair ? "too many messages to this customer: the platform allows one per 6 s "
                             "after a burst (131056)"
                           : absl::StrCat("over the number's throughput of ", ctx.throughput_mps,
                                          " messages a second (130429)");
    if (!Shadowed(ctx.shadow, r)) {
      *out = Deny(SendOutcome{}, r, std::move(why));
      out->decision.limit = ctx.limit;
      out->decision.used = ctx.used;
      out->decision.retry_after = FromUs(at);
      return;
    }
    Held(ctx, out, r, std::move(why));  // Sent now, as if the rate allowed it.
    if (!m.dry_run) out->take_rate_at = now;
    return;
  }
  if (at > now) out->decision.send_at = FromUs(at);
  if (!m.dry_run) out->take_rate_at = at;
}

SendOutcome DecidePolicy(const SendContext& ctx, const OutgoingMessage& m, int64_t now);

}  // namespace

SendOutcome DecideSend(const SendContext& ctx, const OutgoingMessage& m, int64_t now) {
  SendOutcome out = DecidePolicy(ctx, m, now);
  if (out.decision.allowed) ApplyRateLimits(ctx, m, now, &out);
  return out;
}

namespace {

SendOutcome DecidePolicy(const SendContext& ctx, const OutgoingMessage& m, int64_t now) {
  const PolicyProfile& p = ctx.profile;
  SendOutcome out;
  Decision& d = out.decision;
  d.limit = ctx.limit;
  d.used = ctx.used;
  if (ctx.earliest_slot_end != 0) d.next_slot_free = FromUs(ctx.earliest_slot_end);
  const int64_t window_us = Us(p.service_window);
  const bool window_open = ctx.window != nullptr && ctx.window->window_open(now, window_us);
  if (window_open) d.service_window_ends = FromUs(ctx.window->window_end(window_us));
  const Consent* consent = ctx.consent;
  const bool opted_in = consent != nullptr && consent->opted_in();
  const bool opted_out = consent != nullptr && consent->opted_out();

  if (ctx.platform != nullptr && ctx.platform->disabled &&
      Held(ctx, &out, ReasonCode::kAccountDisabled,
           "the platform disabled this account: it may send nothing")) {
    return out;
  }
  const MessageTemplate* tpl = nullptr;
  if (m.kind == MessageKind::kTemplate) {
    if (TemplateRefused(ctx, m, now, &out)) return out;
    tpl = ctx.tmpl;
    // Opting out wins everywhere for templates, inside a service window too.
    if (opted_out && Held(ctx, &out, ReasonCode::kOptedOut,
                          "the customer opted out of messages from this business")) {
      return out;
    }
  } else {
    if (m.content != nullptr) {
      if (TypeOf(*m.content) != m.session_type) {
        if (Held(ctx, &out, ReasonCode::kMessageInvalid,
                 absl::StrCat("session content is ", SessionTypeName(TypeOf(*m.content)),
                              " but the message type is ", SessionTypeName(m.session_type)))) {
          return out;
        }
      } else if (absl::Status s = ValidateSessionContent(*m.content, p.message_limits); !s.ok()) {
        if (Held(ctx, &out, ReasonCode::kMessageInvalid, std::string(s.message()))) return out;
      }
    }
    if (!window_open) {
      if (Held(ctx, &out, ReasonCode::kOutsideServiceWindow,
               "more than 24 hours since the customer's last message: only templates may be "
               "sent")) {
        return out;
      }
      // Shadowed: answered allowed, but the platform refuses it (131047) and
      // no conversation opens, so nothing changes.
      d.allowed = true;
      d.reason = ReasonCode::kAllowed;
      return out;
    }
  }
  const bool marketing = tpl != nullptr ? tpl->category == TemplateCategory::kMarketing
                                        : (m.kind == MessageKind::kSession && m.marketing);
  const ConversationWindow* bw = ctx.conversation;
  const bool bi_open = bw != nullptr && bw->open_at(now);
  d.allowed = true;
  d.reason = ReasonCode::kAllowed;

  // The platform refuses marketing to a customer who stopped it, in a
  // service window too (its user_preferences; 131050).
  if (marketing && consent != nullptr && consent->recent.marketing_stopped() &&
      Held(ctx, &out, ReasonCode::kOptedOut,
           "the customer stopped marketing messages from this business (the platform's "
           "user preference): no marketing until they resume")) {
    return out;
  }
  if (window_open) {
    if (marketing && opted_out &&
        Held(ctx, &out, ReasonCode::kOptedOut,
             "the customer opted out: no marketing, inside a service window either")) {
      return out;
    }
    if (marketing && p.scoped_opt_in &&
        !(opted_in && ctx.topics.Covers(consent->topics, "marketing")) &&
        Held(ctx, &out, ReasonCode::kTopicNotConsented,
             "marketing inside a customer-initiated service window needs the customer's "
             "marketing consent")) {
      return out;
    }
    if (bi_open) {
      d.effect = ConversationEffect::kReusesBusinessInitiated;
      d.conversation_ends = FromUs(bw->slot_end_us);
    } else if (ctx.window->user_conversation_open(now)) {
      d.effect = ConversationEffect::kReusesUserInitiated;
      d.conversation_ends = FromUs(ctx.window->user_conversation_end_us);
    } else {
      d.effect = ConversationEffect::kOpensUserInitiated;
      out.open_user_conversation_until = now + Us(p.conversation_length);
      d.conversation_ends = FromUs(out.open_user_conversation_until);
    }
    return out;
  }

  if (marketing && p.us_marketing_blocked && IsUsAreaCode(m.customer) &&
      Held(ctx, &out, ReasonCode::kMarketingBlockedRegion,
           "the platform delivers no marketing templates to US numbers (+1 with a US area "
           "code) since April 2025 (131049)")) {
    return out;
  }
  if (!opted_in &&
      Held(ctx, &out, ReasonCode::kNotOptedIn, "no opt-in on record for this customer")) {
    return out;
  }
  // Past here without a consent only in shadow mode: the consent's rules
  // have nothing to read.
  // A consent to every topic covers any: the topic's name (a string built
  // from the category) is only needed for a scoped consent.
  if (consent != nullptr && p.scoped_opt_in && tpl != nullptr && consent->topics != kAllTopics &&
      !ctx.topics.Covers(consent->topics, tpl->EffectiveTopic()) &&
      Held(ctx, &out, ReasonCode::kTopicNotConsented,
           absl::StrCat("the customer's opt-in does not cover the template's topic '",
                        tpl->EffectiveTopic(), "'"))) {
    return out;
  }
  if (marketing && consent != nullptr && consent->recent.marketing_held_until() > now) {
    const absl::Time until = FromUs(consent->recent.marketing_held_until());
    if (Held(ctx, &out, ReasonCode::kMarketingHeld,
             absl::StrCat("the platform's per-user marketing limit was reached for this customer "
                          "(131049): marketing held until ",
                          absl::FormatTime(until, absl::UTCTimeZone())))) {
      out.decision.retry_after = until;
      return out;
    }
  }
  auto capped = [&](const std::vector<int64_t>& times, int cap, absl::string_view what) {
    if (cap <= 0) return false;  // Off (the usual profile): no call on the decision path.
    std::optional<int64_t> retry = CapRetryAfter(times, cap, now);
    if (!retry.has_value()) return false;
    if (!Held(ctx, &out, ReasonCode::kFrequencyCapped,
              absl::StrCat("at most ", cap, " ", what, " per customer in 24 hours; retry after ",
                           absl::FormatTime(FromUs(*retry), absl::UTCTimeZone())))) {
      return false;
    }
    d.retry_after = FromUs(*retry);
    return true;
  };
  if (consent != nullptr &&
      capped(consent->recent.sends(), p.frequency_cap_per_day, "business-initiated messages")) {
    return out;
  }
  if (marketing && consent != nullptr &&
      capped(consent->recent.marketing(), p.marketing_cap_per_day, "marketing messages")) {
    return out;
  }
  out.record_send =
      consent != nullptr && (p.frequency_cap_per_day > 0 || p.marketing_cap_per_day > 0);
  out.record_marketing = out.record_send && marketing;
  if (bi_open) {
    d.effect = ConversationEffect::kReusesBusinessInitiated;
    d.conversation_ends = FromUs(bw->slot_end_us);
    return out;
  }
  if (ctx.platform != nullptr && ctx.platform->restricted_until_us > now) {
    const absl::Time until = FromUs(ctx.platform->restricted_until_us);
    if (Held(ctx, &out, ReasonCode::kAccountRestricted,
             absl::StrCat("the platform restricted business-initiated messaging until ",
                          absl::FormatTime(until, absl::UTCTimeZone())))) {
      out.record_send = out.record_marketing = false;
      out.decision.retry_after = until;
      return out;
    }
  }
#ifdef WAPOLICY_INJECT_BUG
  // Deliberate off-by-one for the model test's self-check: admits limit + 1.
  if (d.limit != kUnlimited && d.used > d.limit) {
#else
  if (LimitReached(d.limit, d.used)) {
#endif
    if (Held(ctx, &out, ReasonCode::kLimitReached,
             absl::StrFormat("messaging limit reached (%d unique customers in 24h): number is "
                             "Restricted until %s",
                             d.limit, absl::FormatTime(d.next_slot_free, absl::UTCTimeZone())))) {
      out.record_send = out.record_marketing = false;
      return out;
    }
  }
  d.effect = ConversationEffect::kOpensBusinessInitiated;
  d.used += 1;
  if (!m.dry_run) {
    // The slot is held until delivery confirms the real start (or times out).
    out.reserve_slot_until = now + Us(p.reservation_timeout);
    out.reserve_qualifies = tpl != nullptr && tpl->quality == TemplateQuality::kGreen;
    d.conversation_ends = FromUs(out.reserve_slot_until);
    if (ctx.earliest_slot_end == 0 || out.reserve_slot_until < ctx.earliest_slot_end) {
      d.next_slot_free = FromUs(out.reserve_slot_until);
    }
  }
  return out;
}

}  // namespace
}  // namespace wapolicy
