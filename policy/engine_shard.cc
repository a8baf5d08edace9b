#include "policy/engine_shard.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "policy/byte_codec.h"

namespace wapolicy {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

int64_t Us(absl::Duration d) { return absl::ToInt64Microseconds(d); }
absl::Time FromUs(int64_t us) { return absl::FromUnixMicros(us); }

std::string NumberKey(uint64_t number) {
  std::string k;
  PutFixed64(&k, number);
  return k;
}

Decision Deny(Decision d, ReasonCode reason, std::string detail) {
  d.allowed = false;
  d.reason = reason;
  d.effect = ConversationEffect::kNone;
  d.detail = std::move(detail);
  return d;
}

}  // namespace

absl::string_view DeliveryOutcomeName(DeliveryOutcome o) {
  switch (o) {
    case DeliveryOutcome::kStartedConversation: return "STARTED_CONVERSATION";
    case DeliveryOutcome::kInOpenConversation: return "IN_OPEN_CONVERSATION";
    case DeliveryOutcome::kInUserConversation: return "IN_USER_CONVERSATION";
    case DeliveryOutcome::kStartedUnadmitted: return "STARTED_UNADMITTED";
  }
  return "UNKNOWN";
}

absl::Status ValidateBusinessId(absl::string_view id) {
  if (id.empty() || id.size() > 64) {
    return absl::InvalidArgumentError("business_id must be 1 to 64 characters");
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return absl::InvalidArgumentError("business_id may hold only A-Z a-z 0-9 _ - .");
  }
  return absl::OkStatus();
}

EngineShard::EngineShard(PolicyProfile profile, const Clock* clock, StateJournal* journal)
    : profile_(std::move(profile)), clock_(clock), journal_(journal) {}

// ---------------------------------------------------------------------------
// Helpers

std::string EngineShard::PoolIdFor(PhoneNumber number, absl::string_view business_id) const {
  if (profile_.limit_scope == LimitScope::kPerPortfolio) return absl::StrCat("B", business_id);
  return absl::StrCat("N", NumberKey(number.value()));
}

LimitPool* EngineShard::GetOrCreatePool(const std::string& id, absl::string_view business_id) {
  auto& slot = pools_[id];
  if (slot == nullptr) {
    slot = std::make_unique<LimitPool>();
    slot->id = id;
    slot->business_id = std::string(business_id);
    Business* b = FindBusiness(business_id);
    slot->level = FloorLevel(profile_, b != nullptr && b->verified);
    if (b != nullptr) b->pools.push_back(slot.get());
  }
  return slot.get();
}

EngineShard::Business* EngineShard::FindBusiness(absl::string_view id) {
  auto it = businesses_.find(id);
  return it == businesses_.end() ? nullptr : it->second.get();
}

absl::StatusOr<EngineShard::Business*> EngineShard::RequireBusiness(absl::string_view id) {
  Business* b = FindBusiness(id);
  if (b == nullptr) {
    return absl::NotFoundError(absl::StrCat("business_id '", id, "' is not registered"));
  }
  return b;
}

absl::StatusOr<const MessageTemplate*> EngineShard::RequireTemplate(const Business& b,
                                                                      absl::string_view name,
                                                                      absl::string_view language) {
  const MessageTemplate* t = b.FindTemplate(name, language);
  if (t == nullptr) {
    return absl::NotFoundError(absl::StrCat("template '", name, "' (", language, ") not found"));
  }
  return t;
}

absl::StatusOr<EngineShard::ShardNumber*> EngineShard::FindNumber(PhoneNumber n) {
  if (!n.valid()) return absl::InvalidArgumentError("business_number is not a valid E.164 number");
  auto it = numbers_.find(n.value());
  if (it == numbers_.end()) {
    return absl::NotFoundError(absl::StrCat("business_number ", n.E164(), " is not registered"));
  }
  return it->second.get();
}

absl::Status EngineShard::CheckHealthy() const {
  if (!failed_.ok()) {
    return absl::UnavailableError(
        absl::StrCat("state journal failed earlier; restart to recover: ", failed_.message()));
  }
  return absl::OkStatus();
}

absl::Status EngineShard::Commit(StateChanges& ch, std::unique_lock<std::mutex>& lock) {
  if (ch.empty() || journal_ == nullptr) return absl::OkStatus();
  const uint64_t ticket = journal_->Append(std::move(ch));
  ch.clear();
  lock.unlock();
  absl::Status s = journal_->Await(ticket);
  if (!s.ok()) {
    std::lock_guard<std::mutex> relock(mu_);
    if (failed_.ok()) failed_ = s;
    return absl::UnavailableError(absl::StrCat("state journal write failed: ", s.message()));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Record encoding. Keys are compact and binary; see StateFamily.

void EngineShard::EmitBusiness(const Business& b, StateChanges* ch) const {
  if (journal_ == nullptr) return;
  StateChange c{StateFamily::kBusiness, false, ToRecordBytes(b.id), {}};
  PutFixed8(&c.value, (b.verified ? 1 : 0) | (b.official ? 2 : 0));
  ch->push_back(std::move(c));
}

void EngineShard::EmitPool(const LimitPool& p, StateChanges* ch) const {
  if (journal_ == nullptr) return;
  StateChange c{StateFamily::kPool, false, ToRecordBytes(p.id), {}};
  PutString(&c.value, p.business_id);
  PutFixed8(&c.value, static_cast<uint8_t>(p.level));
  PutFixed8(&c.value, static_cast<uint8_t>(p.pending_level + 1));
  PutFixed64(&c.value, static_cast<uint64_t>(p.pending_at_us));
  ch->push_back(std::move(c));
}

void EngineShard::EmitNumber(const BusinessNumber& n, StateChanges* ch) const {
  if (journal_ == nullptr) return;
  StateChange c{StateFamily::kNumber, false, {}, {}};
  PutFixed64(&c.key, n.number.value());
  PutString(&c.value, n.business_id);
  PutFixed64(&c.value, static_cast<uint64_t>(n.flagged_since_us));
  PutFixed64(&c.value, static_cast<uint64_t>(n.low_since_us));
  PutFixed64(&c.value, n.signals.size());
  for (const QualitySignal& s : n.signals) {
    PutFixed64(&c.value, static_cast<uint64_t>(s.at_us));
    PutFixed8(&c.value, static_cast<uint8_t>(s.kind));
  }
  ch->push_back(std::move(c));
}

void EngineShard::EmitLedger(const LimitPool& p, uint64_t customer, const ConversationWindow* w,
                              StateChanges* ch) const {
  if (journal_ == nullptr) return;
  StateChange c{StateFamily::kLedger, w == nullptr, {}, {}};
  PutString(&c.key, p.id);
  PutFixed64(&c.key, customer);
  if (w != nullptr) {
    PutFixed64(&c.value, static_cast<uint64_t>(w->slot_start_us));
    PutFixed64(&c.value, static_cast<uint64_t>(w->slot_end_us));
    PutFixed64(&c.value, static_cast<uint64_t>(w->last_start_us));
    PutFixed8(&c.value, w->pending ? 1 : 0);
  }
  ch->push_back(std::move(c));
}

void EngineShard::EmitThread(ThreadKey key, const ServiceWindow* w, StateChanges* ch) const {
  if (journal_ == nullptr) return;
  StateChange c{StateFamily::kThread, w == nullptr, {}, {}};
  PutFixed64(&c.key, key.first);
  PutFixed64(&c.key, key.second);
  if (w != nullptr) {
    PutFixed64(&c.value, static_cast<uint64_t>(w->last_inbound_us));
    PutFixed64(&c.value, static_cast<uint64_t>(w->user_conversation_end_us));
  }
  ch->push_back(std::move(c));
}

void EngineShard::EmitConsent(const Business& b, uint64_t customer, const Consent& cs,
                               StateChanges* ch) const {
  if (journal_ == nullptr) return;
  StateChange c{StateFamily::kConsent, false, {}, {}};
  PutString(&c.key, b.id);
  PutFixed64(&c.key, customer);
  PutFixed8(&c.value, static_cast<uint8_t>(cs.state));
  PutFixed8(&c.value, static_cast<uint8_t>(cs.source));
  PutFixed64(&c.value, static_cast<uint64_t>(cs.changed_at_us));
  if (cs.topics == kAllTopics) {
    PutFixed8(&c.value, 0xff);
  } else {
    const std::vector<std::string> names = TopicNamesLocked(cs.topics);
    PutFixed8(&c.value, static_cast<uint8_t>(names.size()));
    for (const std::string& n : names) PutString(&c.value, n);
  }
  for (const std::vector<int64_t>* times : {&cs.recent.sends(), &cs.recent.marketing()}) {
    PutFixed8(&c.value, static_cast<uint8_t>(std::min<size_t>(times->size(), 255)));
    for (size_t i = times->size() > 255 ? times->size() - 255 : 0; i < times->size(); ++i) {
      PutFixed64(&c.value, static_cast<uint64_t>((*times)[i]));
    }
  }
  ch->push_back(std::move(c));
}

void EngineShard::EmitTemplate(const Business& b, const MessageTemplate& t, bool erase,
                                StateChanges* ch) const {
  if (journal_ == nullptr) return;
  StateChange c{StateFamily::kTemplate, erase, {}, {}};
  PutString(&c.key, b.id);
  PutBytes(&c.key, t.name);
  PutString(&c.key, t.language);
  if (!erase) {
    PutFixed8(&c.value, static_cast<uint8_t>(t.category));
    PutFixed8(&c.value, static_cast<uint8_t>(t.status));
    PutBytes(&c.value, t.topic);
    PutFixed8(&c.value, static_cast<uint8_t>(t.header_format));
    PutBytes(&c.value, t.header_text);
    PutBytes(&c.value, t.body);
    PutBytes(&c.value, t.footer);
    PutFixed8(&c.value, static_cast<uint8_t>(t.buttons.size()));
    for (const TemplateButton& btn : t.buttons) {
      PutFixed8(&c.value, static_cast<uint8_t>(btn.kind));
      PutBytes(&c.value, btn.text);
      PutBytes(&c.value, btn.url);
      PutBytes(&c.value, btn.phone_number);
    }
  }
  ch->push_back(std::move(c));
}

absl::Status EngineShard::Restore(StateFamily family, absl::string_view key,
                                   absl::string_view value) {
  std::lock_guard<std::mutex> lock(mu_);
  ByteReader k(key), v(value);
  auto corrupt = [&]() {
    return absl::DataLossError(absl::StrCat("corrupt ", StateFamilyName(family), " record"));
  };
  switch (family) {
    case StateFamily::kBusiness: {
      uint8_t flags;
      if (!v.GetFixed8(&flags)) return corrupt();
      auto& b = businesses_[key];
      if (b == nullptr) b = std::make_unique<Business>();
      b->id = std::string(key);
      b->verified = flags & 1;
      b->official = flags & 2;
      return absl::OkStatus();
    }
    case StateFamily::kPool: {
      std::string business;
      uint8_t level, pending;
      int64_t at;
      if (!v.GetString(&business) || !v.GetFixed8(&level) || !v.GetFixed8(&pending) ||
          !v.GetInt64(&at)) {
        return corrupt();
      }
      LimitPool* p = GetOrCreatePool(std::string(key), business);
      p->level = std::min<int>(level, profile_.top_level());
      p->pending_level = pending == 0 ? -1 : std::min<int>(pending - 1, profile_.top_level());
      p->pending_at_us = at;
      return absl::OkStatus();
    }
    case StateFamily::kNumber: {
      uint64_t number, count;
      std::string business;
      auto n = std::make_unique<ShardNumber>();
      if (!k.GetFixed64(&number) || !v.GetString(&business) ||
          !v.GetInt64(&n->flagged_since_us) || !v.GetInt64(&n->low_since_us) ||
          !v.GetFixed64(&count)) {
        return corrupt();
      }
      for (uint64_t i = 0; i < count; ++i) {
        QualitySignal s;
        uint8_t kind;
        if (!v.GetInt64(&s.at_us) || !v.GetFixed8(&kind) || kind >= kSignalKindCount) {
          return corrupt();
        }
        s.kind = static_cast<SignalKind>(kind);
        n->signals.push_back(s);
      }
      n->number = PhoneNumber::FromDigitsValue(number);
      n->business_id = business;
      n->pool = GetOrCreatePool(PoolIdFor(n->number, business), business);
      n->business = FindBusiness(business);
      if (n->business == nullptr) return corrupt();  // Businesses are restored first.
      numbers_[number] = std::move(n);
      return absl::OkStatus();
    }
    case StateFamily::kLedger: {
      std::string pool;
      uint64_t customer;
      ConversationWindow w;
      uint8_t pending;
      if (!k.GetString(&pool) || !k.GetFixed64(&customer) || !v.GetInt64(&w.slot_start_us) ||
          !v.GetInt64(&w.slot_end_us) || !v.GetInt64(&w.last_start_us) ||
          !v.GetFixed8(&pending)) {
        return corrupt();
      }
      w.pending = pending != 0;
      auto it = pools_.find(pool);
      if (it == pools_.end()) return corrupt();
      it->second->ledger.Restore(customer, w);
      return absl::OkStatus();
    }
    case StateFamily::kThread: {
      uint64_t number, customer;
      ServiceWindow w;
      if (!k.GetFixed64(&number) || !k.GetFixed64(&customer) ||
          !v.GetInt64(&w.last_inbound_us) || !v.GetInt64(&w.user_conversation_end_us)) {
        return corrupt();
      }
      threads_[{number, customer}] = w;
      return absl::OkStatus();
    }
    case StateFamily::kConsent: {
      std::string business;
      uint64_t customer;
      uint8_t state, source, ntopics;
      Consent c;
      if (!k.GetString(&business) || !k.GetFixed64(&customer) || !v.GetFixed8(&state) ||
          !v.GetFixed8(&source) || !v.GetInt64(&c.changed_at_us) || state > 2 ||
          source >= kOptInSourceCount || !v.GetFixed8(&ntopics)) {
        return corrupt();
      }
      c.state = static_cast<Consent::State>(state);
      c.source = static_cast<OptInSource>(source);
      if (ntopics != 0xff) {
        std::vector<std::string> names(ntopics);
        for (std::string& n : names) {
          if (!v.GetString(&n)) return corrupt();
        }
        absl::StatusOr<TopicSet> t = InternTopics(names);
        if (!t.ok()) return corrupt();
        c.topics = *t;
      }
      for (int list = 0; list < 2; ++list) {
        uint8_t n;
        if (!v.GetFixed8(&n)) return corrupt();
        if (n == 0) continue;  // Leaves the history unallocated.
        std::vector<int64_t>& times = list == 0 ? c.recent.mutable_sends() : c.recent.mutable_marketing();
        times.resize(n);
        for (int64_t& t : times) {
          if (!v.GetInt64(&t)) return corrupt();
        }
      }
      Business* b = FindBusiness(business);
      if (b == nullptr) return corrupt();
      b->consents[customer] = std::move(c);
      return absl::OkStatus();
    }
    case StateFamily::kTemplate: {
      std::string business;
      MessageTemplate t;
      uint8_t category, status, header, nbuttons;
      if (!k.GetString(&business) || !k.GetBytes(&t.name) || !k.GetString(&t.language) ||
          !v.GetFixed8(&category) || !v.GetFixed8(&status) || category > 2 || status > 4 ||
          !v.GetBytes(&t.topic) || !v.GetFixed8(&header) || header > 4 ||
          !v.GetBytes(&t.header_text) || !v.GetBytes(&t.body) || !v.GetBytes(&t.footer) ||
          !v.GetFixed8(&nbuttons)) {
        return corrupt();
      }
      t.category = static_cast<TemplateCategory>(category);
      t.status = static_cast<TemplateStatus>(status);
      t.header_format = static_cast<HeaderFormat>(header);
      t.buttons.resize(nbuttons);
      for (TemplateButton& btn : t.buttons) {
        uint8_t kind;
        if (!v.GetFixed8(&kind) || kind > 3 || !v.GetBytes(&btn.text) || !v.GetBytes(&btn.url) ||
            !v.GetBytes(&btn.phone_number)) {
          return corrupt();
        }
        btn.kind = static_cast<TemplateButton::Kind>(kind);
      }
      Business* b = FindBusiness(business);
      if (b == nullptr) return corrupt();
      b->templates[t.name][t.language] = t;
      return absl::OkStatus();
    }
  }
  return corrupt();
}

// ---------------------------------------------------------------------------
// Time-driven rules: scheduled upgrades, settling flags, ending conversations.

void EngineShard::Advance(ShardNumber& n, int64_t now, StateChanges* ch) {
  LimitPool& p = *n.pool;
  const bool verified = OwnerOf(n).verified;
  // Apply due transitions in time order (they can only coexist in portfolio scope).
  for (;;) {
    const int64_t upgrade_at = p.has_pending_upgrade() ? p.pending_at_us : kNever;
    const int64_t flag_at =
        n.flagged() ? n.flagged_since_us + Us(profile_.flagged_period) : kNever;
    if (upgrade_at > now && flag_at > now) break;
    if (upgrade_at <= flag_at) {
      p.level = std::min(p.pending_level, CeilingLevel(profile_, verified));
      p.level = std::max(p.level, 0);
      p.pending_level = -1;
      p.pending_at_us = 0;
      EmitPool(p, ch);
    } else {
      // Settle the flag on its 7th day (see BusinessNumber).
      if (profile_.quality.Rate(n.signals, FromUs(flag_at)) == QualityRating::kLow) {
        p.level = std::max(FloorLevel(profile_, verified), p.level - 1);
        n.low_since_us = flag_at;
        EmitPool(p, ch);
      }
      n.flagged_since_us = 0;
      EmitNumber(n, ch);
    }
  }
  p.ledger.Expire(now, Us(profile_.upgrade_lookback),
                  [&](uint64_t c, const ConversationWindow* w) { EmitLedger(p, c, w, ch); });
}

// Tier changes checked on each new business-initiated conversation.
void EngineShard::OnNewConversation(ShardNumber& n, int64_t now, StateChanges* ch) {
  LimitPool& p = *n.pool;
  const bool verified = OwnerOf(n).verified;
  const QualityRating rating = profile_.quality.Rate(n.signals, FromUs(now));

  // Downgrade: Low without a break for the whole period -> one level down now.
  if (profile_.downgrade_enabled && rating == QualityRating::kLow && n.low_since_us != 0 &&
      n.low_since_us <= now - Us(profile_.downgrade_low_period)) {
    p.level = std::max(FloorLevel(profile_, verified), p.level - 1);
    p.pending_level = -1;
    p.pending_at_us = 0;
    n.low_since_us = now;  // The next drop needs another full Low period.
    EmitPool(p, ch);
    EmitNumber(n, ch);
  }

  // Upgrade: Connected (not Flagged; a used-up limit does not block it),
  // quality good enough, and >= limit/2 unique customers in the look-back.
  if (!n.flagged() && !p.has_pending_upgrade() && p.level < CeilingLevel(profile_, verified) &&
      static_cast<int>(rating) <= static_cast<int>(profile_.upgrade_min_quality) &&
      MeetsUpgradeVolume(profile_.LimitAt(p.level), p.ledger.recent_unique_customers())) {
    if (profile_.upgrade_delay <= absl::ZeroDuration()) {
      p.level += 1;
    } else {
      p.pending_level = p.level + 1;
      p.pending_at_us = now + Us(profile_.upgrade_delay);
    }
    EmitPool(p, ch);
  }
}

// ---------------------------------------------------------------------------
// Administration

absl::Status EngineShard::UpsertBusiness(absl::string_view business_id, bool verified,
                                          bool official) {
  if (absl::Status s = ValidateBusinessId(business_id); !s.ok()) return s;
  std::unique_lock<std::mutex> lock(mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  StateChanges ch;
  auto& slot = businesses_[business_id];
  if (slot == nullptr) {
    slot = std::make_unique<Business>();
    slot->id = std::string(business_id);
  }
  Business& b = *slot;
  b.verified = verified;
  b.official = official;
  EmitBusiness(b, &ch);
  for (LimitPool* p : b.pools) {
    const int lo = FloorLevel(profile_, verified), hi = CeilingLevel(profile_, verified);
    const int level = std::min(std::max(p->level, lo), hi);
    const int pending = p->pending_level < 0 ? -1 : std::min(p->pending_level, hi);
    if (level != p->level || pending != p->pending_level) {
      p->level = level;
      p->pending_level = pending <= level ? -1 : pending;
      if (p->pending_level < 0) p->pending_at_us = 0;
      EmitPool(*p, &ch);
    }
  }
  return Commit(ch, lock);
}

absl::Status EngineShard::RegisterNumber(PhoneNumber number, absl::string_view business_id) {
  if (!number.valid()) return absl::InvalidArgumentError("number is not a valid E.164 number");
  std::unique_lock<std::mutex> lock(mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  absl::StatusOr<Business*> b = RequireBusiness(business_id);
  if (!b.ok()) return b.status();
  auto it = numbers_.find(number.value());
  if (it != numbers_.end()) {
    if (it->second->business_id == business_id) return absl::OkStatus();
    return absl::AlreadyExistsError(absl::StrCat("number ", number.E164(),
                                                 " is registered to another business"));
  }
  StateChanges ch;
  auto n = std::make_unique<ShardNumber>();
  n->number = number;
  n->business_id = std::string(business_id);
  n->pool = GetOrCreatePool(PoolIdFor(number, business_id), business_id);
  n->business = *b;
  EmitPool(*n->pool, &ch);
  EmitNumber(*n, &ch);
  numbers_[number.value()] = std::move(n);
  return Commit(ch, lock);
}

absl::Status EngineShard::PutTemplate(absl::string_view business_id, const MessageTemplate& t) {
  if (absl::Status s = ValidateTemplate(t, profile_.message_limits, profile_.opt_out_phrases);
      !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("template.", s.message()));
  }
  if (t.topic.size() > 64) return absl::InvalidArgumentError("template.topic: at most 64 characters");
  std::unique_lock<std::mutex> lock(mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  absl::StatusOr<Business*> b = RequireBusiness(business_id);
  if (!b.ok()) return b.status();
  StateChanges ch;
  (*b)->templates[t.name][t.language] = t;
  EmitTemplate(**b, t, false, &ch);
  return Commit(ch, lock);
}

absl::Status EngineShard::RemoveTemplate(absl::string_view business_id, absl::string_view name,
                                          absl::string_view language) {
  std::unique_lock<std::mutex> lock(mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  absl::StatusOr<Business*> b = RequireBusiness(business_id);
  if (!b.ok()) return b.status();
  absl::StatusOr<const MessageTemplate*> t = RequireTemplate(**b, name, language);
  if (!t.ok()) return t.status();
  StateChanges ch;
  EmitTemplate(**b, **t, true, &ch);
  auto by_name = (*b)->templates.find(name);
  by_name->second.erase(language);
  if (by_name->second.empty()) (*b)->templates.erase(by_name);
  return Commit(ch, lock);
}

// ---------------------------------------------------------------------------
// Decisions

void EngineShard::PrefetchCustomer(const OutgoingMessage& m, const ShardNumber*& last) {
  if (!m.customer.valid()) return;
  if (last == nullptr || last->number != m.business_number) {
    auto it = numbers_.find(m.business_number.value());
    if (it == numbers_.end()) return;
    last = it->second.get();
  }
  const uint64_t c = m.customer.value();
  last->pool->ledger.Prefetch(c);
  OwnerOf(*last).consents.prefetch(c);
  threads_.prefetch(ThreadKey{last->number.value(), c});
}

absl::StatusOr<Decision> EngineShard::CheckLocked(const OutgoingMessage& m, int64_t now,
                                                   StateChanges* ch) {
  if (!m.customer.valid()) return absl::InvalidArgumentError("customer is not a valid E.164 number");
  absl::StatusOr<ShardNumber*> found = FindNumber(m.business_number);
  if (!found.ok()) return found.status();
  ShardNumber& n = **found;
  Advance(n, now, ch);
  LimitPool& p = *n.pool;
  Business& b = OwnerOf(n);
  const uint64_t c = m.customer.value();

  Decision d;
  d.limit = profile_.LimitAt(p.level);
  d.used = p.ledger.open_slots();
  if (p.ledger.earliest_slot_end() != 0) d.next_slot_free = FromUs(p.ledger.earliest_slot_end());

  const ThreadKey tkey{n.number.value(), c};
  auto thread_it = threads_.find(tkey);
  const int64_t window_us = Us(profile_.service_window);
  const bool window_open =
      thread_it != threads_.end() && thread_it->second.window_open(now, window_us);
  if (window_open) d.service_window_ends = FromUs(thread_it->second.window_end(window_us));

  auto consent_it = b.consents.find(c);
  Consent* consent = consent_it == b.consents.end() ? nullptr : &consent_it->second;
  // Looked up here, next to the other two, so their cache misses overlap.
  const ConversationWindow* bw = p.ledger.Find(c);
  auto covers = [&](absl::string_view topic) {
    if (consent == nullptr) return false;
    if (consent->topics == kAllTopics) return true;
    const TopicSet bit = TopicBit(topic);
    return bit != 0 && (consent->topics & bit) != 0;
  };

  const MessageTemplate* tpl = nullptr;
  if (m.kind == MessageKind::kTemplate) {
    const MessageTemplate* found_template = b.FindTemplate(m.template_name, m.template_language);
    if (found_template == nullptr) {
      if (profile_.require_registered_templates) {
        return Deny(d, ReasonCode::kTemplateUnknown,
                    absl::StrCat("template '", m.template_name, "' (", m.template_language,
                                 ") is not registered for business ", b.id));
      }
    } else if (found_template->status != TemplateStatus::kApproved) {
      const TemplateStatus st = found_template->status;
      const ReasonCode r = st == TemplateStatus::kPaused     ? ReasonCode::kTemplatePaused
                           : st == TemplateStatus::kDisabled ? ReasonCode::kTemplateDisabled
                                                             : ReasonCode::kTemplateNotApproved;
      return Deny(d, r,
                  absl::StrCat("template '", m.template_name, "' (", m.template_language,
                               ") is ", TemplateStatusName(st), "; only APPROVED templates may be sent"));
    } else {
      tpl = found_template;
    }
    if (tpl != nullptr && !m.template_parameters.empty()) {
      const int vars = CountVariables(tpl->body);
      if (static_cast<int>(m.template_parameters.size()) != vars) {
        return Deny(d, ReasonCode::kMessageInvalid,
                    absl::StrCat("template_parameters: ", m.template_parameters.size(),
                                 " given, the template body has ", vars, " variables"));
      }
    }
    // Opt-out wins everywhere for templates, inside a service window too.
    if (consent != nullptr && consent->opted_out()) {
      return Deny(d, ReasonCode::kOptedOut, "the customer opted out of messages from this business");
    }
  } else {
    if (m.content != nullptr) {
      if (TypeOf(*m.content) != m.session_type) {
        return Deny(d, ReasonCode::kMessageInvalid,
                    absl::StrCat("session content is ", SessionTypeName(TypeOf(*m.content)),
                                 " but the message type is ", SessionTypeName(m.session_type)));
      }
      if (absl::Status s = ValidateSessionContent(*m.content, profile_.message_limits); !s.ok()) {
        return Deny(d, ReasonCode::kMessageInvalid, std::string(s.message()));
      }
    }
    if (!window_open) {
      return Deny(d, ReasonCode::kOutsideServiceWindow,
                  "more than 24 hours since the customer's last message: only templates may be sent");
    }
  }
  const bool marketing = tpl != nullptr ? tpl->category == TemplateCategory::kMarketing
                                        : (m.kind == MessageKind::kSession && m.marketing);

  const bool bi_open = bw != nullptr && bw->open_at(now);
  d.allowed = true;
  d.reason = ReasonCode::kAllowed;

  if (window_open) {
    // A reply inside the customer-service window: user-initiated, never
    // counted, and needs no opt-in (the customer wrote first) -- except that
    // a marketing message needs marketing consent (the brief: a customer who
    // opted in to financial updates and writes with a query must not be
    // upsold in that window).
    if (marketing && profile_.scoped_opt_in && !(consent != nullptr && consent->opted_in() && covers("marketing"))) {
      return Deny(d, ReasonCode::kTopicNotConsented,
                  "marketing inside a customer-initiated service window needs the customer's "
                  "marketing consent");
    }
    if (bi_open) {
      d.effect = ConversationEffect::kReusesBusinessInitiated;
      d.conversation_ends = FromUs(bw->slot_end_us);
    } else if (thread_it->second.user_conversation_open(now)) {
      d.effect = ConversationEffect::kReusesUserInitiated;
      d.conversation_ends = FromUs(thread_it->second.user_conversation_end_us);
    } else {
      d.effect = ConversationEffect::kOpensUserInitiated;
      const int64_t end = now + Us(profile_.conversation_length);
      d.conversation_ends = FromUs(end);
      if (!m.dry_run) {
        thread_it->second.user_conversation_end_us = end;
        EmitThread(tkey, &thread_it->second, ch);
      }
    }
    return d;
  }

  // Business-initiated: a template outside any service window.
  if (consent == nullptr || !consent->opted_in()) {
    return Deny(d, ReasonCode::kNotOptedIn, "no opt-in on record for this customer");
  }
  if (profile_.scoped_opt_in && tpl != nullptr && !covers(tpl->EffectiveTopic())) {
    return Deny(d, ReasonCode::kTopicNotConsented,
                absl::StrCat("the customer's opt-in does not cover the template's topic '",
                             tpl->EffectiveTopic(), "'"));
  }
  // Frequency caps: business-initiated messages per customer in a rolling 24h.
  const int64_t day_ago = now - Us(absl::Hours(24));
  auto recent = [&](const std::vector<int64_t>& times) {
    return std::count_if(times.begin(), times.end(), [&](int64_t t) { return t > day_ago; });
  };
  auto capped = [&](const std::vector<int64_t>& times, int cap, absl::string_view what) -> bool {
    if (cap <= 0 || recent(times) < cap) return false;
    // The cap-th newest send leaving the window frees the next one.
    d.retry_after = FromUs(times[times.size() - cap] + Us(absl::Hours(24)));
    d = Deny(d, ReasonCode::kFrequencyCapped,
             absl::StrCat("at most ", cap, " ", what, " per customer in 24 hours; retry after ",
                          absl::FormatTime(d.retry_after, absl::UTCTimeZone())));
    return true;
  };
  if (capped(consent->recent.sends(), profile_.frequency_cap_per_day, "business-initiated messages")) {
    return d;
  }
  if (marketing && capped(consent->recent.marketing(), profile_.marketing_cap_per_day, "marketing messages")) {
    return d;
  }
  auto record_send = [&]() {
    if (m.dry_run || (profile_.frequency_cap_per_day <= 0 && profile_.marketing_cap_per_day <= 0)) {
      return;
    }
    auto push = [&](std::vector<int64_t>& times, int cap) {
      times.erase(std::remove_if(times.begin(), times.end(), [&](int64_t t) { return t <= day_ago; }),
                  times.end());
      times.push_back(now);
      const size_t keep = static_cast<size_t>(std::max(cap, 1));
      if (times.size() > keep) times.erase(times.begin(), times.end() - keep);
    };
    push(consent->recent.mutable_sends(), profile_.frequency_cap_per_day);
    if (marketing) push(consent->recent.mutable_marketing(), profile_.marketing_cap_per_day);
    EmitConsent(b, c, *consent, ch);
  };
  if (bi_open) {
    d.effect = ConversationEffect::kReusesBusinessInitiated;
    d.conversation_ends = FromUs(bw->slot_end_us);
    record_send();
    return d;
  }
#ifdef WAPOLICY_INJECT_BUG
  // Deliberate off-by-one for the model test's self-check: admits limit + 1.
  if (d.limit != kUnlimited && d.used > d.limit) {
#else
  if (LimitReached(d.limit, d.used)) {
#endif
    return Deny(d, ReasonCode::kLimitReached,
                absl::StrFormat("messaging limit reached (%d unique customers in 24h): number is "
                                "Restricted until %s",
                                d.limit, absl::FormatTime(d.next_slot_free, absl::UTCTimeZone())));
  }
  d.effect = ConversationEffect::kOpensBusinessInitiated;
  record_send();
  if (!m.dry_run) {
    const int64_t deadline = now + Us(profile_.reservation_timeout);
    p.ledger.Reserve(c, now, deadline,
                     [&](uint64_t cu, const ConversationWindow* w) { EmitLedger(p, cu, w, ch); });
    d.used = p.ledger.open_slots();
    d.next_slot_free = FromUs(p.ledger.earliest_slot_end());
    d.conversation_ends = FromUs(deadline);  // Until delivery confirms the real start.
  } else {
    d.used += 1;
  }
  return d;
}

absl::StatusOr<Decision> EngineShard::Check(const OutgoingMessage& message) {
  std::unique_lock<std::mutex> lock(mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  // Starts the customer's loads before the clock read and the number's
  // time-driven rules, which then run while they are in flight.
  const ShardNumber* number = nullptr;
  PrefetchCustomer(message, number);
  StateChanges ch;
  absl::StatusOr<Decision> d = CheckLocked(message, NowUs(), &ch);
  if (absl::Status s = Commit(ch, lock); !s.ok()) return s;
  return d;
}

std::vector<absl::StatusOr<Decision>> EngineShard::CheckBatch(
    absl::Span<const OutgoingMessage> messages) {
  std::vector<absl::StatusOr<Decision>> out;
  out.reserve(messages.size());
  std::unique_lock<std::mutex> lock(mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) {
    out.assign(messages.size(), s);
    return out;
  }
  StateChanges ch;
  const int64_t now = NowUs();
  // Prefetch a few messages ahead of the one being decided: enough for the
  // memory loads to overlap, few enough that they arrive just in time and
  // stay in L1 until used.
  constexpr size_t kAhead = 16;
  const ShardNumber* ahead = nullptr;
  for (size_t i = 0; i < std::min(kAhead, messages.size()); ++i) PrefetchCustomer(messages[i], ahead);
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i + kAhead < messages.size()) PrefetchCustomer(messages[i + kAhead], ahead);
    out.push_back(CheckLocked(messages[i], now, &ch));
  }
  if (absl::Status s = Commit(ch, lock); !s.ok()) out.assign(messages.size(), s);
  return out;
}

// ---------------------------------------------------------------------------
// Events

template <typename Body>
auto EngineShard::OnNumberEvent(PhoneNumber number, PhoneNumber customer, Body body) {
  using Result = decltype(body(std::declval<ShardNumber&>(), int64_t{0},
                               std::declval<StateChanges*>()));
  if (!customer.valid()) {
    return Result(absl::InvalidArgumentError("customer is not a valid E.164 number"));
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return Result(s);
  absl::StatusOr<ShardNumber*> found = FindNumber(number);
  if (!found.ok()) return Result(found.status());
  StateChanges ch;
  const int64_t now = NowUs();
  Advance(**found, now, &ch);
  Result result = body(**found, now, &ch);
  if (absl::Status s = Commit(ch, lock); !s.ok()) return Result(s);
  return result;
}

absl::StatusOr<bool> EngineShard::RecordInbound(PhoneNumber number, PhoneNumber customer,
                                                 absl::string_view text) {
  return OnNumberEvent(number, customer, [&](ShardNumber& n, int64_t now,
                                             StateChanges* ch) -> absl::StatusOr<bool> {
    if (text.size() > 65536) return absl::InvalidArgumentError("inbound.text: at most 64 KiB");
    const ThreadKey key{number.value(), customer.value()};
    ServiceWindow& w = threads_[key];
    w.last_inbound_us = now;
    EmitThread(key, &w, ch);
    const bool opt_out = IsOptOutKeyword(text);
    if (opt_out) {
      Business& b = OwnerOf(n);
      Consent& c = b.consents[customer.value()];
      c.state = Consent::State::kOptedOut;
      c.changed_at_us = now;
      EmitConsent(b, customer.value(), c, ch);
    }
    return opt_out;
  });
}

bool EngineShard::IsOptOutKeyword(absl::string_view text) const {
  // Normalise: trim spaces and punctuation, fold inner whitespace, upper-case.
  auto junk = [](char c) { return absl::ascii_isspace(c) || absl::ascii_ispunct(c); };
  while (!text.empty() && junk(text.front())) text.remove_prefix(1);
  while (!text.empty() && junk(text.back())) text.remove_suffix(1);
  if (text.empty() || text.size() > 64) return false;
  std::string norm;
  bool space = false;
  for (char c : text) {
    if (absl::ascii_isspace(c)) {
      space = true;
      continue;
    }
    if (space && !norm.empty()) norm.push_back(' ');
    space = false;
    norm.push_back(absl::ascii_toupper(c));
  }
  for (const std::string& k : profile_.opt_out_keywords) {
    if (absl::AsciiStrToUpper(k) == norm) return true;
  }
  return false;
}

absl::StatusOr<TopicSet> EngineShard::InternTopics(absl::Span<const std::string> names) {
  if (names.empty()) return kAllTopics;
  TopicSet set = 0;
  for (const std::string& name : names) {
    if (name.empty() || name.size() > 64) {
      return absl::InvalidArgumentError("opt_in.topics: each topic must be 1 to 64 characters");
    }
    auto it = topic_ids_.find(name);
    if (it == topic_ids_.end()) {
      if (static_cast<int>(topic_names_.size()) >= kMaxTopics) {
        return absl::ResourceExhaustedError(
            absl::StrCat("opt_in.topics: at most ", kMaxTopics, " distinct topics"));
      }
      it = topic_ids_.emplace(name, static_cast<int>(topic_names_.size())).first;
      topic_names_.push_back(name);
    }
    set |= TopicSet{1} << it->second;
  }
  return set;
}

TopicSet EngineShard::TopicBit(absl::string_view name) const {
  auto it = topic_ids_.find(name);
  return it == topic_ids_.end() ? 0 : TopicSet{1} << it->second;
}

std::vector<std::string> EngineShard::TopicNamesLocked(TopicSet topics) const {
  std::vector<std::string> out;
  if (topics == kAllTopics) return out;
  for (size_t i = 0; i < topic_names_.size(); ++i) {
    if (topics & (TopicSet{1} << i)) out.push_back(topic_names_[i]);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> EngineShard::ConsentTopics(PhoneNumber number,
                                                                      PhoneNumber customer) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<ShardNumber*> found = FindNumber(number);
  if (!found.ok()) return found.status();
  const Business& b = OwnerOf(**found);
  auto it = b.consents.find(customer.value());
  if (it == b.consents.end()) return std::vector<std::string>();
  return TopicNamesLocked(it->second.topics);
}

absl::StatusOr<DeliveryOutcome> EngineShard::RecordDelivered(PhoneNumber number,
                                                              PhoneNumber customer) {
  return OnNumberEvent(number, customer, [&](ShardNumber& n, int64_t now,
                                             StateChanges* ch) -> absl::StatusOr<DeliveryOutcome> {
    LimitPool& p = *n.pool;
    const uint64_t c = customer.value();
    auto emit = [&](uint64_t cu, const ConversationWindow* w) { EmitLedger(p, cu, w, ch); };
    const int64_t end = now + Us(profile_.conversation_length);
    const ConversationWindow* w = p.ledger.Find(c);
    if (w != nullptr && w->open_at(now)) {
      if (!w->pending) return DeliveryOutcome::kInOpenConversation;
      // The first delivery fixes the conversation's 24h start.
      p.ledger.Start(c, now, end, emit);
      OnNewConversation(n, now, ch);
      return DeliveryOutcome::kStartedConversation;
    }
    auto t = threads_.find({number.value(), c});
    if (t != threads_.end() && (t->second.window_open(now, Us(profile_.service_window)) ||
                                t->second.user_conversation_open(now))) {
      return DeliveryOutcome::kInUserConversation;
    }
    p.ledger.Start(c, now, end, emit);
    OnNewConversation(n, now, ch);
    return DeliveryOutcome::kStartedUnadmitted;
  });
}

absl::Status EngineShard::RecordDeliveryFailed(PhoneNumber number, PhoneNumber customer) {
  return OnNumberEvent(number, customer, [&](ShardNumber& n, int64_t, StateChanges* ch) {
    LimitPool& p = *n.pool;
    const bool released = p.ledger.Release(
        customer.value(), [&](uint64_t cu, const ConversationWindow* w) { EmitLedger(p, cu, w, ch); });
    if (!released) {
      return absl::FailedPreconditionError(
          "customer: no admitted conversation awaits delivery for this customer (already "
          "delivered, failed, or timed out)");
    }
    return absl::OkStatus();
  });
}

absl::Status EngineShard::RecordSignal(PhoneNumber number, PhoneNumber customer,
                                        SignalKind kind) {
  return OnNumberEvent(number, customer, [&](ShardNumber& n, int64_t now, StateChanges* ch) {
    const int64_t horizon = now - Us(profile_.quality.lookback);
    while (!n.signals.empty() && n.signals.front().at_us <= horizon) n.signals.pop_front();
    const QualityRating before = profile_.quality.Rate(n.signals, FromUs(now));
    n.signals.push_back({now, kind});
    const QualityRating after = profile_.quality.Rate(n.signals, FromUs(now));
    if (after == QualityRating::kLow && before != QualityRating::kLow) {
      n.low_since_us = now;
      if (profile_.flagged_enabled && !n.flagged()) {
        n.flagged_since_us = now;
        if (n.pool->has_pending_upgrade()) {  // No upgrade while Flagged.
          n.pool->pending_level = -1;
          n.pool->pending_at_us = 0;
          EmitPool(*n.pool, ch);
        }
      }
    }
    EmitNumber(n, ch);
    return absl::OkStatus();
  });
}

absl::Status EngineShard::RecordOptIn(PhoneNumber number, PhoneNumber customer,
                                       OptInSource source, absl::Span<const std::string> topics) {
  return OnNumberEvent(number, customer, [&](ShardNumber& n, int64_t now, StateChanges* ch) {
    Business& b = OwnerOf(n);
    absl::StatusOr<TopicSet> set = InternTopics(topics);
    if (!set.ok()) return set.status();
    Consent& c = b.consents[customer.value()];
    c.state = Consent::State::kOptedIn;
    c.source = source;
    c.topics = *set;
    c.changed_at_us = now;
    EmitConsent(b, customer.value(), c, ch);
    return absl::OkStatus();
  });
}

absl::Status EngineShard::RecordOptOut(PhoneNumber number, PhoneNumber customer) {
  return OnNumberEvent(number, customer, [&](ShardNumber& n, int64_t now, StateChanges* ch) {
    Business& b = OwnerOf(n);
    Consent& c = b.consents[customer.value()];
    c.state = Consent::State::kOptedOut;
    c.changed_at_us = now;
    EmitConsent(b, customer.value(), c, ch);
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------
// Queries and upkeep

absl::StatusOr<NumberSnapshot> EngineShard::GetNumberState(PhoneNumber number) {
  std::unique_lock<std::mutex> lock(mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  absl::StatusOr<ShardNumber*> found = FindNumber(number);
  if (!found.ok()) return found.status();
  ShardNumber& n = **found;
  StateChanges ch;
  const int64_t now = NowUs();
  Advance(n, now, &ch);
  const LimitPool& p = *n.pool;
  const Business& b = OwnerOf(n);
  NumberSnapshot s;
  s.number = n.number;
  s.business_id = n.business_id;
  s.verified = b.verified;
  s.official = b.official;
  s.quality_score = profile_.quality.Score(n.signals, FromUs(now));
  s.quality = profile_.quality.RatingFor(s.quality_score);
  const int64_t horizon = now - Us(profile_.quality.lookback);
  for (const QualitySignal& q : n.signals) {
    if (q.at_us > horizon) s.signals_7d[static_cast<int>(q.kind)]++;
  }
  s.limit_scope = profile_.limit_scope;
  s.level = p.level;
  s.limit = profile_.LimitAt(p.level);
  s.used = p.ledger.open_slots();
  p.ledger.ForEach([&](uint64_t, const ConversationWindow& w) {
    if (w.pending && w.open_at(now)) s.pending++;
  });
  s.recent_unique = p.ledger.recent_unique_customers();
  s.flagged = n.flagged();
  s.restricted = LimitReached(s.limit, s.used);
  s.status = s.restricted ? NumberStatus::kRestricted
             : s.flagged  ? NumberStatus::kFlagged
                          : NumberStatus::kConnected;
  if (p.has_pending_upgrade()) {
    s.pending_level = p.pending_level;
    s.pending_limit = profile_.LimitAt(p.pending_level);
    s.pending_at = FromUs(p.pending_at_us);
  }
  if (n.flagged()) {
    s.flagged_since = FromUs(n.flagged_since_us);
    s.flag_settles_at = FromUs(n.flagged_since_us + Us(profile_.flagged_period));
  }
  if (n.low_since_us != 0 && s.quality == QualityRating::kLow) s.low_since = FromUs(n.low_since_us);
  if (p.ledger.earliest_slot_end() != 0) s.next_slot_free = FromUs(p.ledger.earliest_slot_end());
  // The snapshot is taken under the lock; the expiries Advance made are made
  // durable before it is returned.
  if (absl::Status st = Commit(ch, lock); !st.ok()) return st;
  return s;
}

absl::StatusOr<Consent> EngineShard::GetConsent(PhoneNumber number, PhoneNumber customer) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<ShardNumber*> found = FindNumber(number);
  if (!found.ok()) return found.status();
  const Business& b = OwnerOf(**found);
  auto it = b.consents.find(customer.value());
  return it == b.consents.end() ? Consent() : it->second;
}

absl::StatusOr<MessageTemplate> EngineShard::GetTemplate(absl::string_view business_id,
                                                          absl::string_view name,
                                                          absl::string_view language) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<Business*> b = RequireBusiness(business_id);
  if (!b.ok()) return b.status();
  absl::StatusOr<const MessageTemplate*> t = RequireTemplate(**b, name, language);
  if (!t.ok()) return t.status();
  return **t;
}

std::vector<PhoneNumber> EngineShard::Numbers() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PhoneNumber> out;
  for (const auto& [v, n] : numbers_) out.push_back(n->number);
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::string> EngineShard::BusinessOf(PhoneNumber number) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = numbers_.find(number.value());
  if (it == numbers_.end()) {
    return absl::NotFoundError(absl::StrCat("number ", number.E164(), " is not registered"));
  }
  return it->second->business_id;
}

absl::Status EngineShard::Sweep() {
  std::unique_lock<std::mutex> lock(mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  StateChanges ch;
  const int64_t now = NowUs();
  for (auto& [v, n] : numbers_) Advance(*n, now, &ch);
  const int64_t window_us = Us(profile_.service_window);
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (it->second.expired(now, window_us)) {
      EmitThread(it->first, nullptr, &ch);
      threads_.erase(it++);
    } else {
      ++it;
    }
  }
  return Commit(ch, lock);
}

EngineShard::Stats EngineShard::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s;
  s.businesses = businesses_.size();
  s.numbers = numbers_.size();
  s.pools = pools_.size();
  for (const auto& [id, p] : pools_) s.ledger_entries += p->ledger.tracked_customers();
  s.threads = threads_.size();
  for (const auto& [id, b] : businesses_) {
    s.consents += b->consents.size();
    for (const auto& [name, by_language] : b->templates) s.templates += by_language.size();
  }
  return s;
}

}  // namespace wapolicy
