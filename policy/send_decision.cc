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

// Template rules 1-3; null when the template may be sent (or needs no
// registration), else the denial.
bool TemplateRefused(const SendContext& ctx, const OutgoingMessage& m, int64_t now,
                     SendOutcome* out) {
  const MessageTemplate* t = ctx.tmpl;
  if (t == nullptr) {
    if (!ctx.profile.require_registered_templates) return false;
    *out = Deny(*out, ReasonCode::kTemplateUnknown,
                absl::StrCat("template '", m.template_name, "' (", m.template_language,
                             ") is not registered for business ", ctx.business_id));
    return true;
  }
  if (t->status != TemplateStatus::kApproved) {
    const ReasonCode r = t->status == TemplateStatus::kPaused ? ReasonCode::kTemplatePaused
                         : t->status == TemplateStatus::kDisabled
                             ? ReasonCode::kTemplateDisabled
                             : ReasonCode::kTemplateNotApproved;
    *out =
        Deny(*out, r,
             absl::StrCat("template '", m.template_name, "' (", m.template_language, ") is ",
                          TemplateStatusName(t->status), "; only APPROVED templates may be sent"));
    return true;
  }
  if (PausedAt(*t, now)) {  // Its quality reached RED (template_quality.h).
    *out = Deny(*out, ReasonCode::kTemplatePaused,
                absl::StrCat("template '", m.template_name, "' (", m.template_language,
                             ") is paused for its RED quality rating until ",
                             absl::FormatTime(FromUs(t->paused_until_us), absl::UTCTimeZone())));
    out->decision.retry_after = FromUs(t->paused_until_us);
    return true;
  }
  if (!m.template_parameters.empty()) {
    const int vars = CountVariables(t->body);
    if (static_cast<int>(m.template_parameters.size()) != vars) {
      *out = Deny(*out, ReasonCode::kMessageInvalid,
                  absl::StrCat("template_parameters: ", m.template_parameters.size(),
                               " given, the template body has ", vars, " variables"));
      return true;
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
    *out = Deny(SendOutcome{}, pair ? ReasonCode::kPairRateLimited : ReasonCode::kThroughputLimited,
                pair ? "too many messages to this customer: the platform allows one per 6 s "
                       "after a burst (131056)"
                     : absl::StrCat("over the number's throughput of ", ctx.throughput_mps,
                                    " messages a second (130429)"));
    out->decision.limit = ctx.limit;
    out->decision.used = ctx.used;
    out->decision.retry_after = FromUs(at);
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

  if (ctx.platform != nullptr && ctx.platform->disabled) {
    return Deny(out, ReasonCode::kAccountDisabled,
                "the platform disabled this account: it may send nothing");
  }
  const MessageTemplate* tpl = nullptr;
  if (m.kind == MessageKind::kTemplate) {
    if (TemplateRefused(ctx, m, now, &out)) return out;
    tpl = ctx.tmpl;
    if (opted_out) {  // Wins everywhere for templates, inside a service window too.
      return Deny(out, ReasonCode::kOptedOut,
                  "the customer opted out of messages from this business");
    }
  } else {
    if (m.content != nullptr) {
      if (TypeOf(*m.content) != m.session_type) {
        return Deny(out, ReasonCode::kMessageInvalid,
                    absl::StrCat("session content is ", SessionTypeName(TypeOf(*m.content)),
                                 " but the message type is ", SessionTypeName(m.session_type)));
      }
      if (absl::Status s = ValidateSessionContent(*m.content, p.message_limits); !s.ok()) {
        return Deny(out, ReasonCode::kMessageInvalid, std::string(s.message()));
      }
    }
    if (!window_open) {
      return Deny(
          out, ReasonCode::kOutsideServiceWindow,
          "more than 24 hours since the customer's last message: only templates may be sent");
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
  if (marketing && consent != nullptr && consent->recent.marketing_stopped()) {
    return Deny(out, ReasonCode::kOptedOut,
                "the customer stopped marketing messages from this business (the platform's "
                "user preference): no marketing until they resume");
  }
  if (window_open) {
    if (marketing && opted_out) {
      return Deny(out, ReasonCode::kOptedOut,
                  "the customer opted out: no marketing, inside a service window either");
    }
    if (marketing && p.scoped_opt_in &&
        !(opted_in && ctx.topics.Covers(consent->topics, "marketing"))) {
      return Deny(out, ReasonCode::kTopicNotConsented,
                  "marketing inside a customer-initiated service window needs the customer's "
                  "marketing consent");
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

  if (marketing && p.us_marketing_blocked && IsUsAreaCode(m.customer)) {
    return Deny(out, ReasonCode::kMarketingBlockedRegion,
                "the platform delivers no marketing templates to US numbers (+1 with a US area "
                "code) since April 2025 (131049)");
  }
  if (!opted_in) return Deny(out, ReasonCode::kNotOptedIn, "no opt-in on record for this customer");
  // A consent to every topic covers any: the topic's name (a string built
  // from the category) is only needed for a scoped consent.
  if (p.scoped_opt_in && tpl != nullptr && consent->topics != kAllTopics &&
      !ctx.topics.Covers(consent->topics, tpl->EffectiveTopic())) {
    return Deny(out, ReasonCode::kTopicNotConsented,
                absl::StrCat("the customer's opt-in does not cover the template's topic '",
                             tpl->EffectiveTopic(), "'"));
  }
  if (marketing && consent->recent.marketing_held_until() > now) {
    d.retry_after = FromUs(consent->recent.marketing_held_until());
    return Deny(
        out, ReasonCode::kMarketingHeld,
        absl::StrCat("the platform's per-user marketing limit was reached for this customer "
                     "(131049): marketing held until ",
                     absl::FormatTime(d.retry_after, absl::UTCTimeZone())));
  }
  auto capped = [&](const std::vector<int64_t>& times, int cap, absl::string_view what) {
    if (cap <= 0) return false;  // Off (the usual profile): no call on the decision path.
    std::optional<int64_t> retry = CapRetryAfter(times, cap, now);
    if (!retry.has_value()) return false;
    d.retry_after = FromUs(*retry);
    out = Deny(out, ReasonCode::kFrequencyCapped,
               absl::StrCat("at most ", cap, " ", what, " per customer in 24 hours; retry after ",
                            absl::FormatTime(d.retry_after, absl::UTCTimeZone())));
    return true;
  };
  if (capped(consent->recent.sends(), p.frequency_cap_per_day, "business-initiated messages")) {
    return out;
  }
  if (marketing &&
      capped(consent->recent.marketing(), p.marketing_cap_per_day, "marketing messages")) {
    return out;
  }
  out.record_send = p.frequency_cap_per_day > 0 || p.marketing_cap_per_day > 0;
  out.record_marketing = out.record_send && marketing;
  if (bi_open) {
    d.effect = ConversationEffect::kReusesBusinessInitiated;
    d.conversation_ends = FromUs(bw->slot_end_us);
    return out;
  }
  if (ctx.platform != nullptr && ctx.platform->restricted_until_us > now) {
    out.record_send = out.record_marketing = false;
    d.retry_after = FromUs(ctx.platform->restricted_until_us);
    return Deny(out, ReasonCode::kAccountRestricted,
                absl::StrCat("the platform restricted business-initiated messaging until ",
                             absl::FormatTime(d.retry_after, absl::UTCTimeZone())));
  }
#ifdef WAPOLICY_INJECT_BUG
  // Deliberate off-by-one for the model test's self-check: admits limit + 1.
  if (d.limit != kUnlimited && d.used > d.limit) {
#else
  if (LimitReached(d.limit, d.used)) {
#endif
    out.record_send = out.record_marketing = false;
    return Deny(out, ReasonCode::kLimitReached,
                absl::StrFormat("messaging limit reached (%d unique customers in 24h): number is "
                                "Restricted until %s",
                                d.limit, absl::FormatTime(d.next_slot_free, absl::UTCTimeZone())));
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
