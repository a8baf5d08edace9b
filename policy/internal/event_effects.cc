#include "policy/internal/event_effects.h"

#include "absl/time/time.h"
#include "policy/marketing_hold.h"
#include "policy/platform_word.h"
#include "policy/record_codec.h"
#include "policy/service_window.h"
#include "policy/stable_hash.h"
#include "policy/template_quality.h"
#include "policy/tier_rules.h"

namespace wapolicy {
namespace internal {
namespace {
int64_t Us(absl::Duration d) { return absl::ToInt64Microseconds(d); }
}  // namespace

absl::StatusOr<bool> ApplyInbound(const EventContext& e, absl::string_view text,
                                  const OptOutKeywords& keywords) {
  const ShardState::ThreadKey key{e.number.number.value(), e.customer};
  int64_t at = e.at;
#ifdef WAPOLICY_INJECT_SERVICE_WINDOW_BUG
  at += Us(absl::Hours(1));  // The window ends an hour late.
#endif
  // Inbound messages count toward the number's throughput, as on the platform.
  const int32_t mps = EffectiveThroughput(e.profile, e.number);
  if (mps > 0) TakeThroughput(e.number.throughput, mps, e.at);
  if (at + Us(e.profile.service_window) > e.now) {
    ServiceWindow& w = e.state.threads[key];
    if (OnCustomerMessage(w, at)) e.out.Thread(key, &w);
  }
  if (!keywords.Matches(text)) return false;
  ShardState::Business& b = *e.number.business;
  Consent& c = b.consents[e.customer];
  if (OptOut(c, e.at)) e.out.Consent(b, e.customer, c);
  return true;
}

absl::StatusOr<DeliveryOutcome> ApplyDelivered(const EventContext& e) {
  const PolicyProfile& profile = e.profile;
  ShardState::Number& n = e.number;
  LimitPool& p = *n.pool;
  const DeliveryEffect d = ClassifyDelivery(
      p.ledger.Find(e.customer), e.state.FindThread({n.number.value(), e.customer}), e.at, e.now,
      {Us(profile.conversation_length), Us(profile.service_window), Us(profile.upgrade_lookback)});
  if (d.start_us == 0) return d.outcome;
  p.ledger.Start(e.customer, d.start_us, d.start_us + Us(profile.conversation_length), e.now,
                 e.out.LedgerOf(p));
  if (!d.new_start) return d.outcome;
  // The engine's tier forecast counts the start when it learns of it: the
  // 2025 path by volume, then the usual upgrade.
  const bool verified = ClimbsAsVerified(n.business->verified, p.tier);
  e.out.Tier(n, OnQualifiedStart(profile, verified, p.ledger.qualified_customers(), e.now, p.tier));
  e.out.Tier(n, OnConversationStarted(
                    profile, ClimbsAsVerified(n.business->verified, p.tier),
                    EffectiveRating(n, profile.quality, e.now),
                    p.ledger.recent_unique_customers(e.now - Us(profile.upgrade_lookback)), e.now,
                    n.standing, p.tier));
  return d.outcome;
}

absl::Status ApplyDeliveryFailed(const EventContext& e, absl::string_view message_id,
                                 int32_t error_code) {
  LimitPool& p = *e.number.pool;
  const auto released = p.ledger.Release(e.customer, MessageKey(message_id), e.out.LedgerOf(p));
  if (error_code == kMarketingStoppedError) {
    // The platform refused marketing because the customer stopped it: its
    // word on the preference, said when the message failed.
    ShardState::Business& b = *e.number.business;
    Consent& c = b.consents[e.customer];
    if (SetMarketingPreference(c, /*stopped=*/true, e.at)) e.out.Consent(b, e.customer, c);
  }
  if (error_code == kPerUserMarketingLimitError && e.profile.marketing_hold_enabled) {
    if (!MarketingHoldExempt(e.profile, e.number.number,
                             PhoneNumber::FromDigitsValue(e.customer))) {
      ShardState::Business& b = *e.number.business;
      Consent& c = b.consents[e.customer];
      if (HoldMarketing(e.profile, c, e.at)) {
        e.out.Consent(b, e.customer, c);
        b.held_customers.insert(e.customer);
      }
    }
    return absl::OkStatus();
  }
  switch (released) {
    case ConversationLedger::ReleaseResult::kNoneAwaiting:
      return absl::FailedPreconditionError(
          "customer: no admitted conversation awaits delivery for this customer (already "
          "delivered, failed, or timed out)");
    case ConversationLedger::ReleaseResult::kHeldForAnother:  // Its own admission still flies.
    case ConversationLedger::ReleaseResult::kReleased:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status ApplySignal(const EventContext& e, SignalKind kind) {
  const QualityModel& model = e.profile.quality;
  ShardState::Number& n = e.number;
  if (e.at <= e.now - Us(model.lookback)) return absl::OkStatus();
  // The rules follow the platform's rating once it has spoken (platform_word.h).
  const QualityRating before = EffectiveRating(n, model, e.now);
  const QualitySignal s{e.at, kind, n.next_signal_seq++};
  n.history.Add(model, s);
  if (e.out.on()) e.out.Add(EncodeSignal({n.number.value(), s.at_us, s.seq, kind}));
  const QualityRating after = EffectiveRating(n, model, e.now);
  e.out.Tier(n, OnRatingChanged(e.profile, before, after, e.now, n.pool->tier, n.standing));
  return absl::OkStatus();
}

absl::Status ApplyOptIn(const EventContext& e, OptInSource source,
                        absl::Span<const std::string> topics) {
  ShardState::Business& b = *e.number.business;
  absl::StatusOr<TopicSet> set = b.topics.Intern(topics);
  if (!set.ok()) return set.status();
  Consent& c = b.consents[e.customer];
  if (OptIn(c, source, *set, e.at)) e.out.Consent(b, e.customer, c);
  return absl::OkStatus();
}

absl::Status ApplyConsentWord(const EventContext& e, ConsentWord word) {
  ShardState::Business& b = *e.number.business;
  if (word != ConsentWord::kOptOut) {
    Consent& c = b.consents[e.customer];
    if (SetMarketingPreference(c, word == ConsentWord::kMarketingStop, e.at)) {
      e.out.Consent(b, e.customer, c);
    }
    return absl::OkStatus();
  }
#ifdef WAPOLICY_INJECT_OPT_OUT_BUG
  if (b.consents[e.customer].opted_in()) return absl::OkStatus();  // Opt-in wins.
#endif
  Consent& c = b.consents[e.customer];
  if (OptOut(c, e.at)) e.out.Consent(b, e.customer, c);
  return absl::OkStatus();
}

absl::Status ApplyTemplateWord(ShardState& state, ShardState::Business& b, TemplateKeyView key,
                               const TemplateWord& word, int64_t now, ChangeSink& out) {
  absl::StatusOr<MessageTemplate*> t = state.MutableTemplate(&b, key.name, key.language);
  if (!t.ok()) return t.status();
  const bool changed = ApplyTemplateWord(**t, word, now);
  if (changed && out.on()) out.Add(EncodeTemplate({b.id, **t}));
  return absl::OkStatus();
}

void ApplyPlatformWord(const PolicyProfile& profile, ShardState::Number& n,
                       const PlatformReport& report, int64_t at, int64_t now, ChangeSink& out) {
  const PlatformChanges c = ApplyPlatformReport(
      profile, ClimbsAsVerified(n.business->verified, n.pool->tier), report, at, now, n, *n.pool);
  if (c.pool) out.Pool(*n.pool);
  if (c.number) out.Number(n);
}

}  // namespace internal
}  // namespace wapolicy
