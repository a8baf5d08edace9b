#include "policy/internal/engine_shard.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "policy/frequency_cap.h"
#include "policy/internal/business_freeze.h"
#include "policy/internal/event_effects.h"
#include "policy/platform_word.h"
#include "policy/record_codec.h"
#include "policy/send_decision.h"
#include "policy/stable_hash.h"
#include "policy/tier_rules.h"

namespace wapolicy {

namespace internal {
namespace {
int64_t Us(absl::Duration d) { return absl::ToInt64Microseconds(d); }
}  // namespace

EngineShard::EngineShard(const PolicyProfile& profile, const Clock* clock, StateJournal* journal,
                         EventIdBudget* event_ids)
    : profile_(profile),
      clock_(clock),
      journal_(journal),
      opt_out_keywords_(profile.opt_out_keywords),
      commit_(journal),
      state_(profile) {
  state_.event_ids.set_budget(event_ids);
}

// --- Look-ups and plumbing ---------------------------------------------------

int64_t EngineShard::Tick() {
  last_now_ = std::max(last_now_, absl::ToUnixMicros(clock_->Now()));
  return last_now_;
}

absl::Status EngineShard::CheckHealthy() const {
  if (failed_.ok()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("state journal failed earlier; restart to recover: ", failed_.message()));
}

bool EngineShard::HasBusiness(absl::string_view business_id) const {
  MutexLock lock(&mu_);
  return state_.businesses.contains(business_id);
}

absl::Status EngineShard::Commit(StateChanges& ch, MutexLock& lock) {
  const uint64_t ticket = commit_.Append(ch);
  lock.Unlock();
  absl::Status s = commit_.Await(ticket);
  if (s.ok()) return s;
  lock.Lock();
  if (failed_.ok()) failed_ = s;
  lock.Unlock();
  return absl::UnavailableError(absl::StrCat("state journal write failed: ", s.message()));
}

// --- Time-driven rules -----------------------------------------------------------

// --- Administration --------------------------------------------------------------

template <typename Body>
absl::Status EngineShard::OnBusiness(absl::string_view business_id, bool create, Body body) {
  MutexLock lock(&mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  absl::StatusOr<Business*> b =
      create ? state_.AddBusiness(business_id) : state_.RequireBusiness(business_id);
  if (!b.ok()) return b.status();
  if ((*b)->frozen) return FrozenError((*b)->id);
  ChangeSink ch(journal_ != nullptr);
  absl::Status s = body(**b, ch);
  if (!s.ok()) return s;  // Admin refusals change nothing.
  return Commit(ch.changes(), lock);
}

absl::Status EngineShard::UpsertBusiness(absl::string_view business_id, bool verified,
                                         bool official, uint32_t shadow) {
  return OnBusiness(business_id, /*create=*/true, [&](Business& b, ChangeSink& ch) {
    b.verified = verified;
    b.official = official;
    b.shadow = shadow;
    ch.Add(EncodeBusiness({b.id, b.verified, b.official, b.shadow}));
    for (LimitPool* p : b.pools) {
      if (ClampToVerification(profile_, ClimbsAsVerified(verified, p->tier), p->tier)) ch.Pool(*p);
    }
    return absl::OkStatus();
  });
}

absl::Status EngineShard::RegisterNumber(PhoneNumber number, absl::string_view business_id,
                                         std::optional<int64_t> current_limit) {
  return OnBusiness(business_id, false, [&](Business& b, ChangeSink& ch) -> absl::Status {
    absl::StatusOr<Number*> added = state_.AddNumber(number, &b);  // Null: already there.
    if (!added.ok()) return added.status();
    Number& n = *state_.FindNumber(number).value();
    if (*added != nullptr) {
      ch.Pool(*n.pool);
      ch.Number(n);
    }
    if (current_limit) {  // The platform's word on a number that already sends.
      PlatformReport onboarding;
      onboarding.messaging_limit = current_limit;  // Checked by PolicyEngine.
      const int64_t now = Tick();
      ApplyPlatformWord(profile_, n, onboarding, now, now, ch);
    }
    return absl::OkStatus();
  });
}

absl::Status EngineShard::PutTemplate(absl::string_view business_id, const MessageTemplate& t) {
  return OnBusiness(business_id, false, [&](Business& b, ChangeSink& ch) {
    b.templates[TemplateKey{t.name, t.language}] = t;
    ch.Add(EncodeTemplate({b.id, t}));
    return absl::OkStatus();
  });
}

absl::Status EngineShard::UpdateTemplateQuality(absl::string_view business_id,
                                                absl::string_view name, absl::string_view language,
                                                const TemplateWord& word) {
  return OnBusiness(business_id, false, [&](Business& b, ChangeSink& ch) {
    return ApplyTemplateWord(state_, b, {name, language}, word, Tick(), ch);
  });
}

absl::Status EngineShard::RemoveTemplate(absl::string_view business_id, absl::string_view name,
                                         absl::string_view language) {
  return OnBusiness(business_id, false, [&](Business& b, ChangeSink& ch) {
    absl::Status s = state_.EraseTemplate(&b, name, language);
    if (s.ok()) ch.Add(EraseTemplate(b.id, name, language));
    return s;
  });
}

// --- Decisions ---------------------------------------------------------------------

void EngineShard::PrefetchCustomer(const OutgoingMessage& m, Number*& last) {
  if (!m.customer.valid()) return;
  if (last == nullptr || last->number != m.business_number) {
    auto it = state_.numbers.find(m.business_number.value());
    if (it == state_.numbers.end()) return;
    last = it->second.get();
  }
  const uint64_t c = m.customer.value();
  last->pool->ledger.Prefetch(c);
  last->business->consents.prefetch(c);
  state_.threads.prefetch(ThreadKey{last->number.value(), c});
}

absl::StatusOr<Decision> EngineShard::CheckLocked(const OutgoingMessage& m, int64_t now,
                                                  Number*& last, ChangeSink& ch) {
  if (!m.customer.valid())
    return absl::InvalidArgumentError("customer is not a valid E.164 number");
  if (last == nullptr || last->number != m.business_number) {
    absl::StatusOr<Number*> found = state_.FindNumber(m.business_number);
    if (!found.ok()) return found.status();
    last = *found;
  }
  Number& n = *last;
  // `last` may come from PrefetchCustomer, which does not look at the freeze.
  if (ABSL_PREDICT_FALSE(n.business->frozen)) return FrozenError(n.business->id);
  AdvanceNumber(profile_, n, now, ch);
  LimitPool& p = *n.pool;
  Business& b = *n.business;
  const uint64_t c = m.customer.value();
  const ThreadKey tkey{n.number.value(), c};
  auto consent = b.consents.find(c);
  const MessageTemplate* tpl = m.kind == MessageKind::kTemplate
                                   ? b.FindTemplate(m.template_name, m.template_language)
                                   : nullptr;
  ServiceWindow* window = state_.FindThread(tkey);
  Consent* cs = consent == b.consents.end() ? nullptr : &consent->second;
  // The pair's rate, read by the decision and then taken: in the consent.
  ShardState::PairRef pair =
      profile_.pair_rate_enabled ? state_.PairOf(cs, n, c, now) : ShardState::PairRef();
  const SendContext ctx{profile_,
                        b.id,
                        EffectiveLimit(profile_, p),
                        p.ledger.open_slots(),
                        p.ledger.earliest_slot_end(),
                        window,
                        p.ledger.Find(c),
                        cs,
                        b.topics,
                        tpl,
                        &n.platform,
                        &n.throughput,
                        EffectiveThroughput(profile_, n),
                        pair.get(),
                        profile_.shadow | b.shadow};
  SendOutcome out = DecideSend(ctx, m, now);
  if (!out.decision.allowed || m.dry_run) return std::move(out.decision);
  if (out.open_user_conversation_until != 0) {
    window->user_conversation_end_us = out.open_user_conversation_until;
    ch.Thread(tkey, window);
  }
  if (out.record_send) {
    RecordCappedSend(cs->recent.mutable_sends(), profile_.frequency_cap_per_day, now);
    if (out.record_marketing) {
      RecordCappedSend(cs->recent.mutable_marketing(), profile_.marketing_cap_per_day, now);
    }
    ch.Consent(b, c, *cs);
  }
  if (out.take_rate_at != 0) {
    if (ctx.throughput_mps > 0) TakeThroughput(n.throughput, ctx.throughput_mps, out.take_rate_at);
    if (profile_.pair_rate_enabled) pair.Take(profile_.pair_rate, out.take_rate_at);
  }
  if (out.reserve_slot_until != 0) {
    p.ledger.Reserve(c, now, out.reserve_slot_until, MessageKey(m.message_id),
                     out.reserve_qualifies, ch.LedgerOf(p));
  }
  return std::move(out.decision);
}

absl::StatusOr<Decision> EngineShard::Check(const OutgoingMessage& message) {
  MutexLock lock(&mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  // The customer's loads start before the number's time-driven rules run.
  Number* number = nullptr;
  PrefetchCustomer(message, number);
  ChangeSink ch(journal_ != nullptr);
  absl::StatusOr<Decision> d = CheckLocked(message, Tick(), number, ch);
  if (absl::Status s = Commit(ch.changes(), lock); !s.ok()) return s;
  return d;
}

std::vector<absl::StatusOr<Decision>> EngineShard::CheckBatch(
    absl::Span<const OutgoingMessage> messages) {
  std::vector<absl::StatusOr<Decision>> out;
  out.reserve(messages.size());
  MutexLock lock(&mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) {
    out.assign(messages.size(), s);
    return out;
  }
  ChangeSink ch(journal_ != nullptr);
  const int64_t now = Tick();
  // Prefetch a few messages ahead: enough for the loads to overlap, few
  // enough that they stay in L1 until used.
  constexpr size_t kAhead = 16;
  Number* ahead = nullptr;
  Number* current = nullptr;
  for (size_t i = 0; i < std::min(kAhead, messages.size()); ++i)
    PrefetchCustomer(messages[i], ahead);
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i + kAhead < messages.size()) PrefetchCustomer(messages[i + kAhead], ahead);
    out.push_back(CheckLocked(messages[i], now, current, ch));
  }
  if (absl::Status s = Commit(ch.changes(), lock); !s.ok()) out.assign(messages.size(), s);
  return out;
}

// --- Events ------------------------------------------------------------------------

template <typename Body>
auto EngineShard::OnNumber(PhoneNumber number, Body body) {
  using Result = decltype(body(std::declval<Number&>(), int64_t{0}, std::declval<ChangeSink&>()));
  MutexLock lock(&mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return Result(s);
  absl::StatusOr<Number*> found = state_.FindNumber(number);
  if (!found.ok()) return Result(found.status());
  ChangeSink ch(journal_ != nullptr);
  const int64_t now = Tick();
  AdvanceNumber(profile_, **found, now, ch);
  Result result = body(**found, now, ch);
  if (absl::Status s = Commit(ch.changes(), lock); !s.ok()) return Result(s);
  return result;
}

template <typename Body>
auto EngineShard::OnNumberEvent(PhoneNumber number, PhoneNumber customer, const EventMeta& meta,
                                Body body) {
  using Result = decltype(body(std::declval<const EventContext&>()));
  if (!customer.valid())
    return Result(absl::InvalidArgumentError("customer is not a valid E.164 number"));
  return OnNumber(number, [&](Number& n, int64_t now, ChangeSink& ch) -> Result {
    absl::StatusOr<int64_t> at = EventTimeOf(meta, now, Us(profile_.event_time_skew));
    if (!at.ok()) return at.status();
    const EventContext e{profile_, state_, n, customer.value(), *at, now, ch};
    if (meta.event_id.empty()) return body(e);
    // A repeat is answered as the first time and changes nothing.
    const uint64_t id_of = n.number.value();
    const EventKey key = EventKey::Of(id_of, meta.event_id);
    if (const EventIdLog::Entry* seen = state_.event_ids.Find(key)) {
      return FromAnswerCode<Result>(seen->answer);
    }
    Result result = body(e);
    if (!result.ok()) return result;  // Refusals change nothing: nothing to remember.
    state_.event_ids.Remember(key, now, AnswerCode(result));
    if (ch.on()) ch.Add(EncodeEventId({key, now, AnswerCode(result)}));
    ExpireEventIds(now, ch);
    return result;
  });
}

absl::Status EngineShard::SyncNumber(PhoneNumber number, const PlatformReport& report,
                                     const EventMeta& meta) {
  if (absl::Status s = ValidatePlatformReport(report); !s.ok()) return s;
  return OnNumber(number, [&](Number& n, int64_t now, ChangeSink& ch) -> absl::Status {
    absl::StatusOr<int64_t> at = EventTimeOf(meta, now, Us(profile_.event_time_skew));
    if (!at.ok()) return at.status();
    ApplyPlatformWord(profile_, n, report, *at, now, ch);
    return absl::OkStatus();
  });
}

absl::StatusOr<bool> EngineShard::RecordInbound(PhoneNumber number, PhoneNumber customer,
                                                absl::string_view text, const EventMeta& meta) {
  if (text.size() > 65536) return absl::InvalidArgumentError("inbound.text: at most 64 KiB");
  return OnNumberEvent(number, customer, meta, [&](const EventContext& e) {
    return ApplyInbound(e, text, opt_out_keywords_);
  });
}

absl::StatusOr<DeliveryOutcome> EngineShard::RecordDelivered(PhoneNumber number,
                                                             PhoneNumber customer,
                                                             const EventMeta& meta) {
  return OnNumberEvent(number, customer, meta, ApplyDelivered);
}

absl::Status EngineShard::RecordDeliveryFailed(PhoneNumber number, PhoneNumber customer,
                                               const EventMeta& meta, int32_t error_code) {
  return OnNumberEvent(number, customer, meta, [&](const EventContext& e) {
    return ApplyDeliveryFailed(e, meta.message_id, error_code);
  });
}

absl::Status EngineShard::RecordSignal(PhoneNumber number, PhoneNumber customer, SignalKind kind,
                                       const EventMeta& meta) {
  return OnNumberEvent(number, customer, meta,
                       [&](const EventContext& e) { return ApplySignal(e, kind); });
}

absl::Status EngineShard::RecordOptIn(PhoneNumber number, PhoneNumber customer, OptInSource source,
                                      absl::Span<const std::string> topics, const EventMeta& meta) {
  return OnNumberEvent(number, customer, meta,
                       [&](const EventContext& e) { return ApplyOptIn(e, source, topics); });
}

absl::Status EngineShard::RecordConsentWord(PhoneNumber number, PhoneNumber customer,
                                            const EventMeta& meta, ConsentWord word) {
  return OnNumberEvent(number, customer, meta,
                       [&](const EventContext& e) { return ApplyConsentWord(e, word); });
}

void EngineShard::ExpireEventIds(int64_t now, ChangeSink& ch) {
  state_.event_ids.Expire(now, Us(profile_.event_id_retention), profile_.max_event_ids,
                          [&](int64_t seen_at_us, const EventKey& key) {
                            if (ch.on()) ch.Add(EraseEventId(seen_at_us, key));
                          });
}

// --- Queries and upkeep --------------------------------------------------------------

absl::StatusOr<NumberSnapshot> EngineShard::GetNumberState(PhoneNumber number,
                                                         SnapshotDetail detail) {
  // Taken under the lock; the expiries AdvanceNumber made are durable before it returns.
  return OnNumber(number,
                  [&](Number& n, int64_t now, ChangeSink&) -> absl::StatusOr<NumberSnapshot> {
                    return state_.Snapshot(n, now, detail);
                  });
}

std::vector<PhoneNumber> EngineShard::Numbers() const {
  MutexLock lock(&mu_);
  return state_.SortedNumbers();
}

absl::Status EngineShard::Sweep() {
  MutexLock lock(&mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  ChangeSink ch(journal_ != nullptr);
  const int64_t now = Tick();
  for (auto& [v, n] : state_.numbers) AdvanceNumber(profile_, *n, now, ch);
  // Closed windows are kept one conversation length longer: a delivery
  // reported late is still classified against the window it fell in.
  state_.ExpireThreads(now - Us(profile_.conversation_length), Us(profile_.service_window),
                       [&](ThreadKey key) { ch.Thread(key, nullptr); });
  ExpireEventIds(now, ch);
  state_.ExpirePairs(now);
  return Commit(ch.changes(), lock);
}

EngineStats EngineShard::stats() const {
  MutexLock lock(&mu_);
  return state_.Stats();
}

absl::Status EngineShard::Restore(StateFamily family, absl::string_view key,
                                  absl::string_view value) {
  MutexLock lock(&mu_);
  return state_.Restore(family, key, value);
}

void EngineShard::FinishRestore() {
  MutexLock lock(&mu_);
  state_.FinishRestore();
}

}  // namespace internal
}  // namespace wapolicy
