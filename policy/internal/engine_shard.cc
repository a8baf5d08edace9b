#include "policy/internal/engine_shard.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "policy/frequency_cap.h"
#include "policy/record_codec.h"
#include "policy/send_decision.h"
#include "policy/tier_rules.h"

namespace wapolicy {

namespace internal {
namespace {
int64_t Us(absl::Duration d) { return absl::ToInt64Microseconds(d); }
}  // namespace

EngineShard::EngineShard(const PolicyProfile& profile, const Clock* clock, StateJournal* journal)
    : profile_(profile),
      clock_(clock),
      journal_(journal),
      opt_out_keywords_(profile.opt_out_keywords),
      commit_(journal),
      state_(profile) {}

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

void EngineShard::Advance(Number& n, int64_t now, StateChanges* ch) {
  LimitPool& p = *n.pool;
  // Before the signals expire: a transition due in the past is rated with
  // the signals of its own 7 days.
  auto rating_at = [&](int64_t at) { return n.history.RatingAt(profile_.quality, at); };
  const TierChanges t =
      AdvanceTier(profile_, n.business->verified, rating_at, now, p.tier, n.standing);
  EmitTier(n, t, ch);
  n.history.Expire(profile_.quality, now, [&](const QualitySignal& s) {
    if (journal_ != nullptr) ch->push_back(EraseSignal(n.number.value(), s.at_us, s.seq));
  });
  p.ledger.Expire(now, Us(profile_.upgrade_lookback),
                  [&](uint64_t c, const ConversationWindow* w) { EmitLedger(p, c, w, ch); });
}

// --- Administration --------------------------------------------------------------

template <typename Body>
absl::Status EngineShard::OnBusiness(absl::string_view business_id, bool create, Body body) {
  MutexLock lock(&mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  absl::StatusOr<Business*> b =
      create ? state_.AddBusiness(business_id) : state_.RequireBusiness(business_id);
  if (!b.ok()) return b.status();
  StateChanges ch;
  absl::Status s = body(**b, &ch);
  if (!s.ok()) return s;  // Admin refusals change nothing.
  return Commit(ch, lock);
}

absl::Status EngineShard::UpsertBusiness(absl::string_view business_id, bool verified,
                                         bool official) {
  return OnBusiness(business_id, /*create=*/true, [&](Business& b, StateChanges* ch) {
    b.verified = verified;
    b.official = official;
    if (journal_ != nullptr) ch->push_back(EncodeBusiness({b.id, b.verified, b.official}));
    for (LimitPool* p : b.pools) {
      if (ClampToVerification(profile_, verified, p->tier)) EmitPool(*p, ch);
    }
    return absl::OkStatus();
  });
}

absl::Status EngineShard::RegisterNumber(PhoneNumber number, absl::string_view business_id) {
  return OnBusiness(business_id, false, [&](Business& b, StateChanges* ch) -> absl::Status {
    absl::StatusOr<Number*> added = state_.AddNumber(number, &b);
    if (!added.ok() || *added == nullptr) return added.status();  // Or already there: no change.
    EmitPool(*(*added)->pool, ch);
    EmitNumber(**added, ch);
    return absl::OkStatus();
  });
}

absl::Status EngineShard::PutTemplate(absl::string_view business_id, const MessageTemplate& t) {
  return OnBusiness(business_id, false, [&](Business& b, StateChanges* ch) {
    b.templates[TemplateKey{t.name, t.language}] = t;
    if (journal_ != nullptr) ch->push_back(EncodeTemplate({b.id, t}));
    return absl::OkStatus();
  });
}

absl::Status EngineShard::RemoveTemplate(absl::string_view business_id, absl::string_view name,
                                         absl::string_view language) {
  return OnBusiness(business_id, false, [&](Business& b, StateChanges* ch) {
    absl::Status s = state_.EraseTemplate(&b, name, language);
    if (s.ok() && journal_ != nullptr) ch->push_back(EraseTemplate(b.id, name, language));
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
                                                  Number*& last, StateChanges* ch) {
  if (!m.customer.valid())
    return absl::InvalidArgumentError("customer is not a valid E.164 number");
  if (last == nullptr || last->number != m.business_number) {
    absl::StatusOr<Number*> found = state_.FindNumber(m.business_number);
    if (!found.ok()) return found.status();
    last = *found;
  }
  Number& n = *last;
  Advance(n, now, ch);
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
  const SendContext ctx{profile_,
                        b.id,
                        profile_.LimitAt(p.tier.level),
                        p.ledger.open_slots(),
                        p.ledger.earliest_slot_end(),
                        window,
                        p.ledger.Find(c),
                        cs,
                        b.topics,
                        tpl};
  SendOutcome out = DecideSend(ctx, m, now);
  if (!out.decision.allowed || m.dry_run) return std::move(out.decision);
  if (out.open_user_conversation_until != 0) {
    window->user_conversation_end_us = out.open_user_conversation_until;
    EmitThread(tkey, window, ch);
  }
  if (out.record_send) {
    RecordCappedSend(cs->recent.mutable_sends(), profile_.frequency_cap_per_day, now);
    if (out.record_marketing) {
      RecordCappedSend(cs->recent.mutable_marketing(), profile_.marketing_cap_per_day, now);
    }
    EmitConsent(b, c, *cs, ch);
  }
  if (out.reserve_slot_until != 0) {
    p.ledger.Reserve(c, now, out.reserve_slot_until,
                     [&](uint64_t cu, const ConversationWindow* w) { EmitLedger(p, cu, w, ch); });
  }
  return std::move(out.decision);
}

absl::StatusOr<Decision> EngineShard::Check(const OutgoingMessage& message) {
  MutexLock lock(&mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  // The customer's loads start before the number's time-driven rules run.
  Number* number = nullptr;
  PrefetchCustomer(message, number);
  StateChanges ch;
  absl::StatusOr<Decision> d = CheckLocked(message, Tick(), number, &ch);
  if (absl::Status s = Commit(ch, lock); !s.ok()) return s;
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
  StateChanges ch;
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
    out.push_back(CheckLocked(messages[i], now, current, &ch));
  }
  if (absl::Status s = Commit(ch, lock); !s.ok()) out.assign(messages.size(), s);
  return out;
}

// --- Events ------------------------------------------------------------------------

template <typename Body>
auto EngineShard::OnNumber(PhoneNumber number, Body body) {
  using Result = decltype(body(std::declval<Number&>(), int64_t{0}, std::declval<StateChanges*>()));
  MutexLock lock(&mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return Result(s);
  absl::StatusOr<Number*> found = state_.FindNumber(number);
  if (!found.ok()) return Result(found.status());
  StateChanges ch;
  const int64_t now = Tick();
  Advance(**found, now, &ch);
  Result result = body(**found, now, &ch);
  if (absl::Status s = Commit(ch, lock); !s.ok()) return Result(s);
  return result;
}

template <typename Body>
auto EngineShard::OnNumberEvent(PhoneNumber number, PhoneNumber customer, Body body) {
  using Result = decltype(body(std::declval<Number&>(), int64_t{0}, std::declval<StateChanges*>()));
  if (!customer.valid())
    return Result(absl::InvalidArgumentError("customer is not a valid E.164 number"));
  return OnNumber(number, body);
}

absl::StatusOr<bool> EngineShard::RecordInbound(PhoneNumber number, PhoneNumber customer,
                                                absl::string_view text) {
  return OnNumberEvent(
      number, customer, [&](Number& n, int64_t now, StateChanges* ch) -> absl::StatusOr<bool> {
        if (text.size() > 65536) return absl::InvalidArgumentError("inbound.text: at most 64 KiB");
        const ThreadKey key{number.value(), customer.value()};
        ServiceWindow& w = state_.threads[key];
        w.last_inbound_us = now;
#ifdef WAPOLICY_INJECT_SERVICE_WINDOW_BUG
        w.last_inbound_us = now + Us(absl::Hours(1));  // The window ends an hour late.
#endif
        EmitThread(key, &w, ch);
        if (!opt_out_keywords_.Matches(text)) return false;
        Consent& c = n.business->consents[customer.value()];
        OptOut(c, now);
        EmitConsent(*n.business, customer.value(), c, ch);
        return true;
      });
}

absl::StatusOr<DeliveryOutcome> EngineShard::RecordDelivered(PhoneNumber number,
                                                             PhoneNumber customer) {
  return OnNumberEvent(
      number, customer,
      [&](Number& n, int64_t now, StateChanges* ch) -> absl::StatusOr<DeliveryOutcome> {
        LimitPool& p = *n.pool;
        const uint64_t c = customer.value();
        const DeliveryOutcome o =
            ClassifyDelivery(p.ledger.Find(c), state_.FindThread({number.value(), c}), now,
                             Us(profile_.service_window));
        if (o != DeliveryOutcome::kStartedConversation &&
            o != DeliveryOutcome::kStartedUnadmitted) {
          return o;
        }
        // The first delivery fixes the conversation's 24h start.
        p.ledger.Start(c, now, now + Us(profile_.conversation_length),
                       [&](uint64_t cu, const ConversationWindow* w) { EmitLedger(p, cu, w, ch); });
        const TierChanges t = OnConversationStarted(
            profile_, n.business->verified, n.history.RatingAt(profile_.quality, now),
            p.ledger.recent_unique_customers(), now, n.standing, p.tier);
        EmitTier(n, t, ch);
        return o;
      });
}

absl::Status EngineShard::RecordDeliveryFailed(PhoneNumber number, PhoneNumber customer) {
  return OnNumberEvent(number, customer, [&](Number& n, int64_t, StateChanges* ch) {
    LimitPool& p = *n.pool;
    if (!p.ledger.Release(customer.value(), [&](uint64_t cu, const ConversationWindow* w) {
          EmitLedger(p, cu, w, ch);
        })) {
      return absl::FailedPreconditionError(
          "customer: no admitted conversation awaits delivery for this customer (already "
          "delivered, failed, or timed out)");
    }
    return absl::OkStatus();
  });
}

absl::Status EngineShard::RecordSignal(PhoneNumber number, PhoneNumber customer, SignalKind kind) {
  return OnNumberEvent(number, customer, [&](Number& n, int64_t now, StateChanges* ch) {
    const QualityRating before = n.history.RatingAt(profile_.quality, now);
    const QualitySignal s{now, kind, n.next_signal_seq++};
    n.history.Add(profile_.quality, s);
    if (journal_ != nullptr) ch->push_back(EncodeSignal({n.number.value(), s.at_us, s.seq, kind}));
    const QualityRating after = n.history.RatingAt(profile_.quality, now);
    const TierChanges t = OnRatingChanged(profile_, before, after, now, n.pool->tier, n.standing);
    EmitTier(n, t, ch);
    return absl::OkStatus();
  });
}

absl::Status EngineShard::RecordOptIn(PhoneNumber number, PhoneNumber customer, OptInSource source,
                                      absl::Span<const std::string> topics) {
  return OnNumberEvent(number, customer, [&](Number& n, int64_t now, StateChanges* ch) {
    Business& b = *n.business;
    absl::StatusOr<TopicSet> set = b.topics.Intern(topics);
    if (!set.ok()) return set.status();
    Consent& c = b.consents[customer.value()];
    OptIn(c, source, *set, now);
    EmitConsent(b, customer.value(), c, ch);
    return absl::OkStatus();
  });
}

absl::Status EngineShard::RecordOptOut(PhoneNumber number, PhoneNumber customer) {
  return OnNumberEvent(number, customer, [&](Number& n, int64_t now, StateChanges* ch) {
#ifdef WAPOLICY_INJECT_OPT_OUT_BUG
    if (n.business->consents[customer.value()].opted_in()) return absl::OkStatus();  // Opt-in wins.
#endif
    Consent& c = n.business->consents[customer.value()];
    OptOut(c, now);
    EmitConsent(*n.business, customer.value(), c, ch);
    return absl::OkStatus();
  });
}

// --- Queries and upkeep --------------------------------------------------------------

absl::StatusOr<NumberSnapshot> EngineShard::GetNumberState(PhoneNumber number) {
  // Taken under the lock; the expiries Advance made are durable before it returns.
  return OnNumber(number,
                  [&](Number& n, int64_t now, StateChanges*) -> absl::StatusOr<NumberSnapshot> {
                    return MakeNumberSnapshot(profile_, n, *n.pool, n.business->verified,
                                              n.business->official, now);
                  });
}

std::vector<PhoneNumber> EngineShard::Numbers() const {
  MutexLock lock(&mu_);
  return state_.SortedNumbers();
}

absl::Status EngineShard::Sweep() {
  MutexLock lock(&mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  StateChanges ch;
  const int64_t now = Tick();
  for (auto& [v, n] : state_.numbers) Advance(*n, now, &ch);
  state_.ExpireThreads(now, Us(profile_.service_window),
                       [&](ThreadKey key) { EmitThread(key, nullptr, &ch); });
  return Commit(ch, lock);
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
