#include "policy/internal/shard_state.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "policy/internal/business_freeze.h"
#include "policy/platform_word.h"
#include "policy/record_codec.h"
#include "policy/scaling_path.h"
#include "policy/template_quality.h"

namespace wapolicy {

EngineStats& EngineStats::operator+=(const EngineStats& o) {
  businesses += o.businesses;
  numbers += o.numbers;
  pools += o.pools;
  ledger_entries += o.ledger_entries;
  threads += o.threads;
  consents += o.consents;
  templates += o.templates;
  event_ids += o.event_ids;
  return *this;
}

namespace internal {

ShardState::Business* ShardState::FindBusiness(absl::string_view id) {
  auto it = businesses.find(id);
  return it == businesses.end() ? nullptr : it->second.get();
}

ShardState::Business* ShardState::AddBusiness(absl::string_view id) {
  std::unique_ptr<Business>& b = businesses[id];
  if (b == nullptr) {
    b = std::make_unique<Business>();
    b->id = std::string(id);
  }
  return b.get();
}

absl::StatusOr<ShardState::Business*> ShardState::RequireBusiness(absl::string_view id) {
  Business* b = FindBusiness(id);
  if (b == nullptr)
    return absl::NotFoundError(absl::StrCat("business_id '", id, "' is not registered"));
  return b;
}

absl::StatusOr<ShardState::Number*> ShardState::FindNumber(PhoneNumber n) {
  if (!n.valid()) return absl::InvalidArgumentError("business_number is not a valid E.164 number");
  auto it = numbers.find(n.value());
  if (it == numbers.end()) {
    return absl::NotFoundError(absl::StrCat("business_number ", n.E164(), " is not registered"));
  }
  const Business& b = *it->second->business;
  if (ABSL_PREDICT_FALSE(b.frozen)) return FrozenError(b.id);  // Moving away.
  return it->second.get();
}

LimitPool* ShardState::PoolFor(uint64_t number, Business* b) {
  return GetOrCreatePool(profile.limit_scope == LimitScope::kPerPortfolio ? PoolIdForBusiness(b->id)
                                                                          : PoolIdForNumber(number),
                         b);
}

namespace {
uint8_t NextPairTag(ShardState::Business* b) {
  return b->numbers_tagged < 255 ? static_cast<uint8_t>(++b->numbers_tagged) : 0;
}
}  // namespace

absl::StatusOr<ShardState::Number*> ShardState::AddNumber(PhoneNumber number, Business* b) {
  auto it = numbers.find(number.value());
  if (it != numbers.end()) {
    if (it->second->business == b) return nullptr;
    return absl::AlreadyExistsError(
        absl::StrCat("number ", number.E164(), " is registered to another business"));
  }
  auto n = std::make_unique<Number>();
  n->number = number;
  n->business_id = b->id;
  n->pool = PoolFor(number.value(), b);
  n->business = b;
  n->pair_tag = NextPairTag(b);
  Number* added = n.get();
  numbers[number.value()] = std::move(n);
  return added;
}

absl::Status ShardState::EraseTemplate(Business* b, absl::string_view name,
                                       absl::string_view language) {
  if (b->templates.erase(TemplateKeyView{name, language}) == 0) {
    return absl::NotFoundError(absl::StrCat("template '", name, "' (", language, ") not found"));
  }
  return absl::OkStatus();
}

absl::StatusOr<MessageTemplate*> ShardState::MutableTemplate(Business* b, absl::string_view name,
                                                             absl::string_view language) {
  auto it = b->templates.find(TemplateKeyView{name, language});
  if (it == b->templates.end()) {
    return absl::NotFoundError(absl::StrCat("template '", name, "' (", language, ") not found"));
  }
  return &it->second;
}

LimitPool* ShardState::GetOrCreatePool(const std::string& id, Business* b) {
  auto& slot = pools[id];
  if (slot == nullptr) {
    slot = std::make_unique<LimitPool>();
    slot->id = id;
    slot->business_id = b->id;
    slot->tier.level = FloorLevel(profile, b->verified);
    b->pools.push_back(slot.get());
  }
  return slot.get();
}

absl::StatusOr<Consent> ShardState::ConsentOf(PhoneNumber number, PhoneNumber customer) {
  absl::StatusOr<Number*> n = FindNumber(number);
  if (!n.ok()) return n.status();
  auto it = (*n)->business->consents.find(customer.value());
  return it == (*n)->business->consents.end() ? Consent() : it->second;
}

absl::StatusOr<std::vector<std::string>> ShardState::ConsentTopicsOf(PhoneNumber number,
                                                                     PhoneNumber customer) {
  absl::StatusOr<Number*> n = FindNumber(number);
  if (!n.ok()) return n.status();
  const Business& b = *(*n)->business;
  auto it = b.consents.find(customer.value());
  return it == b.consents.end() ? std::vector<std::string>() : b.topics.Names(it->second.topics);
}

absl::StatusOr<MessageTemplate> ShardState::TemplateOf(absl::string_view business_id,
                                                       absl::string_view name,
                                                       absl::string_view language) {
  absl::StatusOr<Business*> b = RequireBusiness(business_id);
  if (!b.ok()) return b.status();
  const MessageTemplate* t = (*b)->FindTemplate(name, language);
  if (t == nullptr) {
    return absl::NotFoundError(absl::StrCat("template '", name, "' (", language, ") not found"));
  }
  return *t;
}

std::vector<PhoneNumber> ShardState::SortedNumbers() const {
  std::vector<PhoneNumber> out;
  for (const auto& [v, n] : numbers) out.push_back(n->number);
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::string> ShardState::BusinessOf(PhoneNumber number) const {
  auto it = numbers.find(number.value());
  if (it == numbers.end()) {
    return absl::NotFoundError(absl::StrCat("number ", number.E164(), " is not registered"));
  }
  return it->second->business_id;
}

ShardState::PairRef ShardState::PairOf(Consent* consent, const Number& n, uint64_t customer,
                                       int64_t now) {
  const ThreadKey key{n.number.value(), customer};
  if (consent != nullptr && n.pair_tag != 0) {
    if (consent->pair_tag == n.pair_tag) return PairRef(consent);
    if (consent->pair_tag == 0 || PairIdle(consent->pair(), profile.pair_rate, now)) {
      PairRateState s;  // Idle is as good as new.
      if (!pairs.empty()) {
        if (auto it = pairs.find(key); it != pairs.end()) {
          s = it->second;
          pairs.erase(it);
        }
      }
      consent->pair_tag = n.pair_tag;
      consent->set_pair(s);
      return PairRef(consent);
    }
  }
  return PairRef(&pairs.try_emplace(key).first->second);
}

void ShardState::ExpirePairs(int64_t now) {
  absl::erase_if(pairs,
                 [&](const auto& kv) { return PairIdle(kv.second, profile.pair_rate, now); });
}

void ShardState::ExpireThreads(int64_t now, int64_t window_us,
                               absl::FunctionRef<void(ThreadKey)> erased) {
  for (auto it = threads.begin(); it != threads.end();) {
    if (it->second.expired(now, window_us)) {
      erased(it->first);
      threads.erase(it++);
    } else {
      ++it;
    }
  }
}

absl::Status ShardState::Restore(StateFamily family, absl::string_view key,
                                 absl::string_view value) {
  auto missing = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("corrupt ", StateFamilyName(family), " record: its ",
                                            what, " was not restored before it"));
  };
  switch (family) {
    case StateFamily::kBusiness: {
      absl::StatusOr<BusinessRecord> r = DecodeBusiness(key, value);
      if (!r.ok()) return r.status();
      Business* b = AddBusiness(r->business_id);
      b->verified = r->verified;
      b->official = r->official;
      b->shadow = r->shadow;
      return absl::OkStatus();
    }
    case StateFamily::kPool: {
      absl::StatusOr<PoolRecord> r = DecodePool(key, value);
      if (!r.ok()) return r.status();
      Business* b = FindBusiness(r->business_id);
      if (b == nullptr) return missing("business");
      LimitPool* pool = GetOrCreatePool(r->pool_id, b);
      pool->platform = r->platform;
      MessagingTier& t = pool->tier;
      // A verified business never sits below its floor (also after a
      // --migrate_profile placed it on a new ladder).
      t.volume_unlocked = r->volume_unlocked;
      t.level = std::clamp(r->level, FloorLevel(profile, ClimbsAsVerified(b->verified, t)),
                           profile.top_level());
      t.pending_level = r->pending_level < 0 ? -1 : std::min(r->pending_level, profile.top_level());
      t.pending_at_us = r->pending_at_us;
      return absl::OkStatus();
    }
    case StateFamily::kNumber: {
      absl::StatusOr<NumberRecord> r = DecodeNumber(key, value);
      if (!r.ok()) return r.status();
      Business* b = FindBusiness(r->business_id);
      if (b == nullptr) return missing("business");
      auto n = std::make_unique<Number>();
      n->number = PhoneNumber::FromDigitsValue(r->number);
      n->business_id = r->business_id;
      n->business = b;
      n->standing = {r->flagged_since_us, r->low_since_us};
      n->platform = r->platform;
      n->pool = PoolFor(r->number, b);
      n->pair_tag = NextPairTag(b);
      numbers[r->number] = std::move(n);
      return absl::OkStatus();
    }
    case StateFamily::kSignal: {
      absl::StatusOr<SignalRecord> r = DecodeSignal(key, value);
      if (!r.ok()) return r.status();
      auto it = numbers.find(r->number);
      if (it == numbers.end()) return missing("number");
      it->second->history.Add(profile.quality,
                              {r->at_us, r->kind, r->seq});  // Key order: time order.
      it->second->next_signal_seq = std::max(it->second->next_signal_seq, r->seq + 1);
      return absl::OkStatus();
    }
    case StateFamily::kLedger: {
      absl::StatusOr<LedgerRecord> r = DecodeLedger(key, value);
      if (!r.ok()) return r.status();
      auto it = pools.find(r->pool_id);
      if (it == pools.end()) return missing("pool");
      it->second->ledger.Restore(r->customer, r->window);
      return absl::OkStatus();
    }
    case StateFamily::kThread: {
      absl::StatusOr<ThreadRecord> r = DecodeThread(key, value);
      if (!r.ok()) return r.status();
      threads[{r->number, r->customer}] = r->window;
      return absl::OkStatus();
    }
    case StateFamily::kConsent: {
      absl::StatusOr<ConsentRecord> r = DecodeConsent(key, value);
      if (!r.ok()) return r.status();
      Business* b = FindBusiness(r->business_id);
      if (b == nullptr) return missing("business");
      Consent c;
      c.state = r->state;
      c.source = r->source;
      c.changed_at_us = r->changed_at_us;
      if (!r->all_topics) {
        // Interned when written, so a business's stored topics always fit.
        absl::StatusOr<TopicSet> t = b->topics.Intern(r->topics);
        if (!t.ok())
          return absl::DataLossError(
              absl::StrCat("corrupt consent record: ", t.status().message()));
        c.topics = *t;
      }
      if (!r->sends.empty()) c.recent.mutable_sends() = std::move(r->sends);
      if (!r->marketing.empty()) c.recent.mutable_marketing() = std::move(r->marketing);
      if (r->marketing_held_until_us != 0) {
        c.recent.set_marketing_held_until(r->marketing_held_until_us);
        b->held_customers.insert(r->customer);
      }
      if (r->marketing_preference_at_us != 0) {
        c.recent.set_marketing_preference(r->marketing_stopped, r->marketing_preference_at_us);
      }
      b->consents[r->customer] = std::move(c);
      return absl::OkStatus();
    }
    case StateFamily::kEventId: {
      absl::StatusOr<EventIdRecord> r = DecodeEventId(key, value);
      if (!r.ok()) return r.status();
      event_ids.Restore(r->key, {r->seen_at_us, r->answer});
      return absl::OkStatus();
    }
    case StateFamily::kTemplate: {
      absl::StatusOr<TemplateRecord> r = DecodeTemplate(key, value);
      if (!r.ok()) return r.status();
      Business* b = FindBusiness(r->business_id);
      if (b == nullptr) return missing("business");
      TemplateKey k{r->tmpl.name, r->tmpl.language};
      b->templates[std::move(k)] = std::move(r->tmpl);
      return absl::OkStatus();
    }
  }
  return absl::DataLossError("record of an unknown family");
}

void ShardState::FinishRestore() {
  for (auto& [v, n] : numbers) n->history.Rebuild(profile.quality);
  event_ids.FinishRestore();
}

EngineStats ShardState::Stats() const {
  EngineStats s;
  s.businesses = businesses.size();
  s.numbers = numbers.size();
  s.pools = pools.size();
  for (const auto& [id, p] : pools) s.ledger_entries += p->ledger.tracked_customers();
  s.threads = threads.size();
  s.event_ids = event_ids.size();
  for (const auto& [id, b] : businesses) {
    s.consents += b->consents.size();
    s.templates += b->templates.size();
  }
  return s;
}

StateChange PoolChange(const LimitPool& p) {
  return EncodePool({p.id, p.business_id, p.tier.level, p.tier.pending_level, p.tier.pending_at_us,
                     p.platform, p.tier.volume_unlocked});
}

StateChange NumberChange(const BusinessNumber& n) {
  return EncodeNumber({n.number.value(), n.business_id, n.standing.flagged_since_us,
                       n.standing.low_since_us, n.platform});
}

StateChange LedgerChange(const LimitPool& p, uint64_t customer, const ConversationWindow* w) {
  return w == nullptr ? EraseLedger(p.id, customer) : EncodeLedger({p.id, customer, *w});
}

StateChange ThreadChange(ShardState::ThreadKey key, const ServiceWindow* w) {
  return w == nullptr ? EraseThread(key.first, key.second)
                      : EncodeThread({key.first, key.second, *w});
}

NumberSnapshot ShardState::Snapshot(Number& n, int64_t now, SnapshotDetail detail) {
  Business& b = *n.business;
  NumberSnapshot s = MakeNumberSnapshot(profile, n, *n.pool, b.verified, b.official, now, detail);
  s.volume_unlocked = n.pool->tier.volume_unlocked;
  if (OnVolumePath(profile, b.verified, n.pool->tier)) {
    s.volume_path_customers = n.pool->ledger.qualified_customers();
  }
  s.throughput_limit_mps = EffectiveThroughput(profile, n);
  if (s.throughput_limit_mps > 0) {
    s.throughput_used = ThroughputUsed(n.throughput, s.throughput_limit_mps, now);
    const int64_t free_at = ThroughputEarliest(n.throughput, s.throughput_limit_mps, now);
    if (free_at > now) s.throughput_free_at = absl::FromUnixMicros(free_at);
  }
  auto count_pair = [&](const PairRateState& pair) {
    if (PairIdle(pair, profile.pair_rate, now)) return;
    s.pairs_in_burst++;
    if (PairEarliest(pair, profile.pair_rate, now) > now) s.pairs_held++;
  };
  if (detail == SnapshotDetail::kFull) {
    for (const auto& [key, pair] : pairs) {
      if (key.first == n.number.value()) count_pair(pair);
    }
    for (const auto& [customer, c] : b.consents) {
      if (n.pair_tag != 0 && c.pair_tag == n.pair_tag) count_pair(c.pair());
    }
  }
  std::vector<NumberSnapshot::Hold> holds;
  for (auto it = b.held_customers.begin(); it != b.held_customers.end();) {
    auto c = b.consents.find(*it);
    const int64_t until = c == b.consents.end() ? 0 : c->second.recent.marketing_held_until();
    if (until <= now) {
      b.held_customers.erase(it++);
      continue;
    }
    holds.push_back({PhoneNumber::FromDigitsValue(*it), absl::FromUnixMicros(until)});
    ++it;
  }
  s.marketing_holds = static_cast<int64_t>(holds.size());
  const size_t shown = std::min(holds.size(), NumberSnapshot::kShownHolds);
  std::partial_sort(holds.begin(), holds.begin() + shown, holds.end(),
                    [](const auto& x, const auto& y) {
                      return x.until != y.until ? x.until < y.until : x.customer < y.customer;
                    });
  holds.resize(shown);
  s.first_marketing_holds = std::move(holds);
  for (const auto& [key, t] : b.templates) {
    const bool by_status =
        t.status == TemplateStatus::kPaused || t.status == TemplateStatus::kDisabled;
    if (!by_status && !PausedAt(t, now)) continue;
    NumberSnapshot::PausedTemplate p{t.name, t.language, absl::InfinitePast(),
                                     t.status == TemplateStatus::kDisabled};
    if (PausedAt(t, now)) p.until = absl::FromUnixMicros(t.paused_until_us);
    s.paused_templates.push_back(std::move(p));
  }
  std::sort(s.paused_templates.begin(), s.paused_templates.end(), [](const auto& x, const auto& y) {
    return std::tie(x.name, x.language) < std::tie(y.name, y.language);
  });
  return s;
}

StateChange ConsentChange(const ShardState::Business& b, uint64_t customer, const Consent& c) {
  return EncodeConsent({b.id, customer, c.state, c.source, c.changed_at_us, c.topics == kAllTopics,
                        b.topics.Names(c.topics), c.recent.sends(), c.recent.marketing(),
                        c.recent.marketing_held_until(), c.recent.marketing_preference_at(),
                        c.recent.marketing_stopped()});
}

}  // namespace internal
}  // namespace wapolicy
