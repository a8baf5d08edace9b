// EngineShard's campaign calls (campaign_plan.h): PlanCampaign and
// ReserveCampaign. Kept apart from engine_shard.cc, which holds the single
// calls; both share the shard's lock, records and journal.
//
// Both decide every customer at the campaign's start as Check would, one
// after the other under the shard's lock: DecideSend (send_decision.h) as a
// dry run with pace (a message the throughput or the pair rate holds is
// "allowed, send at T", as the campaign's sender would ask), with the slots
// the campaign has taken so far added to the pool's and the throughput taken
// by the campaign's earlier messages. A plan then replays time outside the
// lock (ForecastCampaign); a reservation admits every customer, or none.

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "policy/campaign_plan.h"
#include "policy/internal/engine_shard.h"
#include "policy/platform_word.h"
#include "policy/send_decision.h"

namespace wapolicy {
namespace internal {
namespace {

int64_t Us(absl::Duration d) { return absl::ToInt64Microseconds(d); }

// The pair rate of (number, customer) as ShardState::PairOf finds it, read
// only (PairOf may move it between the consent and the table).
PairRateState PeekPair(const ShardState& s, const Consent* c, const ShardState::Number& n,
                       uint64_t customer) {
  if (c != nullptr && n.pair_tag != 0 && c->pair_tag == n.pair_tag) return c->pair();
  if (s.pairs.empty()) return PairRateState{};
  auto it = s.pairs.find(ShardState::ThreadKey{n.number.value(), customer});
  return it == s.pairs.end() ? PairRateState{} : it->second;
}

// What the decisions at a campaign's start read of the pool, at `t0`: now, or
// a later start the state is projected to (`projected`). Under the forecast's
// assumption, a slot awaiting delivery is delivered at its admission: it ends
// a conversation length after it and counts as a start in the look-back.
struct StartView {
  int64_t now = 0;
  int64_t t0 = 0;
  bool projected = false;
  int64_t conversation_us = 0;
  int64_t lookback_horizon = 0;  // Starts at or before it are out of the look-back.
  int64_t limit = 0;
  int64_t used = 0;
  int64_t earliest_slot_end = 0;
  int32_t mps = 0;

  bool Held(const ConversationWindow& w) const { return w.slot_end_us > now; }
  int64_t AssumedEnd(const ConversationWindow& w) const {
    return w.pending ? w.slot_start_us + conversation_us : w.slot_end_us;
  }
  // The customer's latest start in the look-back at t0 (0: none).
  int64_t PreviousStart(const ConversationWindow* w) const {
    if (w == nullptr) return 0;
    const int64_t s = w->pending && Held(*w) ? w->slot_start_us : w->last_start_us;
    return s > lookback_horizon ? s : 0;
  }
};

// One customer decided at the start.
struct StartDecision {
  SendOutcome out;
  CampaignOutcome outcome = CampaignOutcome::kOther;
  int64_t send_at = 0;  // Allowed: when it may go.
  int64_t previous_start = 0;
  PairRateState pair;
};

// Decides the campaign's customers at the start, in order, each with the
// slots and throughput the ones before it took; calls `visit(i, decision)`.
// Duplicates are visited with kDuplicate and not decided.
// `exact_refusals`: every refusal as DecideSend words it (else a refusal for
// the limit carries no sentence).
template <typename Visit>
void DecideAtStart(ShardState& state, ShardState::Number& n, const CampaignRequest& req,
                   absl::Span<const PhoneNumber> customers, const StartView& v,
                   ThroughputState& throughput, bool exact_refusals, Visit visit) {
  const PolicyProfile& profile = state.profile;
  LimitPool& p = *n.pool;
  ShardState::Business& b = *n.business;
  const MessageTemplate* tpl = b.FindTemplate(req.template_name, req.template_language);
  OutgoingMessage m;
  m.business_number = n.number;
  m.kind = MessageKind::kTemplate;
  m.template_name = req.template_name;
  m.template_language = req.template_language;
  m.dry_run = true;
  m.pace = true;
  absl::flat_hash_set<uint64_t> seen;
  seen.reserve(customers.size());
  int64_t taken = 0;
  StartDecision d;
  // Each customer's records are cache misses at millions of customers: start
  // loading them a few customers ahead, as CheckBatch does.
  constexpr size_t kAhead = 16;
  auto prefetch = [&](size_t j) {
    if (j >= customers.size()) return;
    const uint64_t c = customers[j].value();
    seen.prefetch(c);
    p.ledger.Prefetch(c);
    b.consents.prefetch(c);
    state.threads.prefetch(ShardState::ThreadKey{n.number.value(), c});
  };
  for (size_t j = 0; j < kAhead; ++j) prefetch(j);
  for (size_t i = 0; i < customers.size(); ++i) {
    prefetch(i + kAhead);
    const uint64_t c = customers[i].value();
    if (!seen.insert(c).second) {
      d.out = SendOutcome{};
      d.outcome = CampaignOutcome::kDuplicate;
      visit(i, d);
      continue;
    }
    auto consent = b.consents.find(c);
    const Consent* cs = consent == b.consents.end() ? nullptr : &consent->second;
    const ConversationWindow* conv = p.ledger.Find(c);
    ConversationWindow assumed;
    if (v.projected && conv != nullptr && conv->pending && v.Held(*conv)) {
      assumed = *conv;
      assumed.slot_end_us = v.AssumedEnd(*conv);
      assumed.pending = false;
      conv = &assumed;
    }
    d.pair = profile.pair_rate_enabled ? PeekPair(state, cs, n, c) : PairRateState{};
    m.customer = customers[i];
    // Once the campaign has used the limit up, rule 12 refuses every new
    // conversation after it with the same sentence: the rest are asked with
    // the limit lifted and rule 12 is applied here, with the rule's own
    // predicate (LimitReached), rather than formatting that sentence (a time
    // included) for each of a million waiting customers: a fifth of a
    // plan's time. Reservations (whose refusals are shown) ask as is.
    const bool full = !exact_refusals && LimitReached(v.limit, v.used + taken);
    const SendContext ctx{profile,
                          b.id,
                          full ? kUnlimited : v.limit,
                          v.used + taken,
                          v.earliest_slot_end,
                          state.FindThread({n.number.value(), c}),
                          conv,
                          cs,
                          b.topics,
                          tpl,
                          &n.platform,
                          &throughput,
                          v.mps,
                          profile.pair_rate_enabled ? &d.pair : nullptr};
    d.out = DecideSend(ctx, m, v.t0);
    if (full && d.out.decision.effect == ConversationEffect::kOpensBusinessInitiated) {
      d.out = SendOutcome{};
      d.out.decision.reason = ReasonCode::kLimitReached;
      d.out.decision.limit = v.limit;
      d.out.decision.used = v.used + taken;
    }
    d.outcome = CampaignOutcomeOf(d.out.decision);
    d.previous_start = v.PreviousStart(conv);
    d.send_at = 0;
    if (d.out.decision.allowed) {
      const absl::Time at = d.out.decision.send_at;
      d.send_at = at == absl::InfinitePast() ? v.t0 : absl::ToUnixMicros(at);
      if (v.mps > 0) TakeThroughput(throughput, v.mps, d.send_at);  // As the check takes it.
      if (d.outcome == CampaignOutcome::kSendNow) ++taken;
    }
    visit(i, d);
  }
}

// The view at `t0` for a reservation or an unprojected plan (t0 == now): what
// Check reads.
StartView ViewNow(const PolicyProfile& profile, ShardState::Number& n, int64_t now) {
  StartView v;
  v.now = v.t0 = now;
  v.conversation_us = Us(profile.conversation_length);
  v.lookback_horizon = now - Us(profile.upgrade_lookback);
  v.limit = EffectiveLimit(profile, *n.pool);
  v.used = n.pool->ledger.open_slots();
  v.earliest_slot_end = n.pool->ledger.earliest_slot_end();
  v.mps = EffectiveThroughput(profile, n);
  return v;
}

std::string ListRefusals(absl::string_view head, const std::vector<std::string>& shown,
                         int64_t refused) {
  std::string out(head);
  for (const std::string& s : shown) absl::StrAppend(&out, "; ", s);
  if (refused > static_cast<int64_t>(shown.size())) {
    absl::StrAppend(&out, "; and ", refused - static_cast<int64_t>(shown.size()), " more");
  }
  return out;
}

}  // namespace

absl::StatusOr<CampaignPlan> EngineShard::PlanCampaign(const CampaignRequest& req,
                                                       absl::Span<const PhoneNumber> customers) {
  CampaignPlan plan;
  plan.customers = static_cast<int64_t>(customers.size());
  if (req.per_customer) plan.customer_plans.resize(customers.size());
  CampaignPool pool;
  std::vector<CampaignStart> starts;
  std::vector<CampaignWaiter> waiters;
  {
    MutexLock lock(&mu_);
    if (absl::Status s = CheckHealthy(); !s.ok()) return s;
    absl::StatusOr<Number*> found = state_.FindNumber(req.business_number);
    if (!found.ok()) return found.status();
    Number& n = **found;
    ChangeSink ch(journal_ != nullptr);
    const int64_t now = Tick();
    AdvanceNumber(profile_, n, now, ch);
    LimitPool& p = *n.pool;
    StartView v = ViewNow(profile_, n, now);
    v.t0 = std::max(now, req.start_us);
    v.projected = v.t0 > now;
    v.lookback_horizon = v.t0 - Us(profile_.upgrade_lookback);
    pool.start_us = v.t0;
    pool.verified = ClimbsAsVerified(n.business->verified, p.tier);
    pool.number = n;  // Its rating, standing and throughput, copied.
    pool.tier = p.tier;
    pool.platform_limit = p.platform;
    pool.restricted_until_us = n.platform.restricted_until_us;
    pool.throughput_mps = v.mps;
    pool.throughput = n.throughput;
    if (v.projected) {  // The transitions due by the start (no new signal meanwhile).
      auto rating_at = [&](int64_t at) { return EffectiveRating(n, profile_.quality, at); };
      AdvanceTier(profile_, pool.verified, rating_at, v.t0, pool.tier, pool.number.standing);
    }
    // The held slots and the look-back's starts, as assumed at the start.
    p.ledger.ForEach([&](uint64_t, const ConversationWindow& w) {
      if (v.Held(w) && v.AssumedEnd(w) > v.t0) pool.slot_ends.push_back(v.AssumedEnd(w));
      if (const int64_t s = v.PreviousStart(&w); s != 0) pool.recent_starts.push_back(s);
    });
    if (v.projected) {
      v.limit = pool.platform_limit.set ? pool.platform_limit.limit
                                        : profile_.LimitAt(pool.tier.level);
      v.used = static_cast<int64_t>(pool.slot_ends.size());
      v.earliest_slot_end =
          pool.slot_ends.empty() ? 0 : *std::min_element(pool.slot_ends.begin(), pool.slot_ends.end());
    }
    plan.start_us = v.t0;
    plan.limit = v.limit;
    plan.used = v.used;
    plan.throughput_mps = v.mps;
    CampaignStep first{v.t0, 0, 0, v.limit};
    DecideAtStart(state_, n, req, customers, v, pool.throughput, /*exact_refusals=*/false,
                  [&](size_t i, const StartDecision& d) {
                    plan.counts[static_cast<int>(d.outcome)] += 1;
                    if (d.outcome == CampaignOutcome::kSendNow ||
                        d.outcome == CampaignOutcome::kInConversation) {
                      first.count += 1;
                      first.last_send_at_us = std::max(first.last_send_at_us, d.send_at);
                    }
                    if (d.outcome == CampaignOutcome::kSendNow) {
                      starts.push_back({d.send_at, d.previous_start});
                    } else if (d.outcome == CampaignOutcome::kWait) {
                      waiters.push_back({static_cast<uint32_t>(i), d.previous_start, d.pair});
                    }
                    if (!req.per_customer) return;
                    CampaignCustomer& c = plan.customer_plans[i];
                    c.customer = customers[i].value();
                    c.outcome = d.outcome;
                    c.reason = d.out.decision.reason;
                    if (d.out.decision.allowed) {
                      c.admit_at_us = v.t0;
                      c.send_at_us = d.send_at;
                    } else if (CampaignExcluded(d.outcome) &&
                               d.out.decision.retry_after != absl::InfinitePast()) {
                      c.send_at_us = absl::ToUnixMicros(d.out.decision.retry_after);
                    }
                  });
    if (first.count > 0) plan.schedule.push_back(first);
    plan.last_send_at_us = first.last_send_at_us;
    // Durable before it answers (the expiries it made, and what others
    // wrote that it read); the replay needs no lock.
    if (absl::Status s = Commit(ch.changes(), lock); !s.ok()) return s;
  }
  ForecastCampaign(profile_, std::move(pool), starts, waiters, req.step_us, &plan);
  return plan;
}

absl::StatusOr<CampaignReservation> EngineShard::ReserveCampaign(
    const CampaignRequest& req, absl::Span<const PhoneNumber> customers) {
  MutexLock lock(&mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  absl::StatusOr<Number*> found = state_.FindNumber(req.business_number);
  if (!found.ok()) return found.status();
  Number& n = **found;
  ChangeSink ch(journal_ != nullptr);
  const int64_t now = Tick();
  AdvanceNumber(profile_, n, now, ch);
  // First every customer as a dry run, counting the slots the reservation
  // takes: all admitted, or none is.
  const StartView v = ViewNow(profile_, n, now);
  ThroughputState throughput = n.throughput;
  int64_t refused = 0;
  std::vector<std::string> shown;
  DecideAtStart(state_, n, req, customers, v, throughput, /*exact_refusals=*/true,
                [&](size_t i, const StartDecision& d) {
    if (!CampaignExcluded(d.outcome) && d.outcome != CampaignOutcome::kWait) return;
    if (++refused > 5) return;
    const Decision& dec = d.out.decision;
    shown.push_back(
        d.outcome == CampaignOutcome::kDuplicate
            ? absl::StrCat("customers[", i, "] ", customers[i].E164(), ": listed twice")
            : absl::StrCat("customers[", i, "] ", customers[i].E164(), ": ",
                           ReasonCodeName(dec.reason), " (", dec.detail, ")"));
  });
  if (refused > 0) {
    if (absl::Status s = Commit(ch.changes(), lock); !s.ok()) return s;
    return absl::FailedPreconditionError(ListRefusals(
        absl::StrCat(refused, " of ", customers.size(),
                     " customers would not be admitted now, so none was reserved"),
        shown, refused));
  }
  // Then each admitted as Check with pace admits it, into one journal write.
  // The decisions are the dry run's: the same state, changed only by the
  // reservation's own earlier customers, which the dry run counted.
  CampaignReservation r;
  r.send_at_us.reserve(customers.size());
  OutgoingMessage m;
  m.business_number = n.number;
  m.kind = MessageKind::kTemplate;
  m.template_name = req.template_name;
  m.template_language = req.template_language;
  m.pace = true;
  Number* last = &n;
  absl::Status failed;
  for (const PhoneNumber& c : customers) {
    m.customer = c;
    absl::StatusOr<Decision> d = CheckLocked(m, now, last, ch);
    if (!d.ok() || !d->allowed) {  // Cannot happen (see above); said if it does.
      failed = absl::InternalError(absl::StrCat(
          "reservation: ", c.E164(), " was admitted by the dry run but not by the check (",
          d.ok() ? ReasonCodeName(d->reason) : d.status().message(),
          "); the customers before it are reserved"));
      break;
    }
    if (d->effect == ConversationEffect::kOpensBusinessInitiated) {
      ++r.reserved;
    } else {
      ++r.in_conversation;
    }
    r.send_at_us.push_back(d->send_at == absl::InfinitePast() ? now
                                                               : absl::ToUnixMicros(d->send_at));
  }
  r.limit = EffectiveLimit(profile_, *n.pool);
  r.used = n.pool->ledger.open_slots();
  r.slots_held_until_us = now + Us(profile_.reservation_timeout);
  if (absl::Status s = Commit(ch.changes(), lock); !s.ok()) return s;
  if (!failed.ok()) return failed;
  return r;
}

}  // namespace internal
}  // namespace wapolicy
