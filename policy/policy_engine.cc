#include "policy/policy_engine.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "policy/internal/business_freeze.h"
#include "policy/message_compliance.h"
#include "policy/record_codec.h"
#include "policy/stable_hash.h"
#include "policy/us_marketing.h"

namespace wapolicy {

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

PolicyEngine::PolicyEngine(PolicyProfile profile, const Clock* clock, StateJournal* journal,
                           int shards, size_t max_numbers)
    : profile_(std::move(profile)),
      clock_(clock),
      event_id_budget_(profile_.max_event_ids,
                       std::max<size_t>(1, profile_.max_event_ids / std::max(shards, 1))),
      max_numbers_(max_numbers),
      directory_(2 * max_numbers) {
  if (profile_.us_marketing_blocked) WarmUsAreaCodes();  // Not on the first decision.
  shards_.reserve(std::max(shards, 1));
  for (int i = 0; i < std::max(shards, 1); ++i) {
    // Share profile_ and the event-id budget.
    shards_.push_back(std::make_unique<EngineShard>(profile_, clock, journal, &event_id_budget_));
  }
}

uint32_t PolicyEngine::ShardIndex(absl::string_view business_id) const {
  // Stable: absl::Hash is seeded per process, which would move businesses
  // between shards on every restart.
  return static_cast<uint32_t>(StableHash64(business_id) % shards_.size());
}

internal::EngineShard& PolicyEngine::ShardOfBusiness(absl::string_view business_id) const {
  return *shards_[ShardIndex(business_id)];
}

absl::StatusOr<internal::EngineShard*> PolicyEngine::ShardOfNumber(PhoneNumber number) const {
  if (!number.valid())
    return absl::InvalidArgumentError("business_number is not a valid E.164 number");
  std::optional<uint32_t> shard = directory_.Find(number.value());
  if (!shard.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("business_number ", number.E164(), " is not registered"));
  }
  return shards_[*shard].get();
}

// --- Administration -----------------------------------------------------------

absl::Status PolicyEngine::UpsertBusiness(absl::string_view business_id, bool verified,
                                          bool official, uint32_t shadow) {
  if (absl::Status s = ValidateBusinessId(business_id); !s.ok()) return s;
  if ((shadow & ~kShadowAll) != 0) return absl::InvalidArgumentError("shadow: unknown families");
  return ShardOfBusiness(business_id).UpsertBusiness(business_id, verified, official, shadow);
}

absl::Status PolicyEngine::RegisterNumber(PhoneNumber number, absl::string_view business_id,
                                          std::optional<int64_t> current_limit) {
  if (!number.valid()) return absl::InvalidArgumentError("number is not a valid E.164 number");
  if (absl::Status s = ValidateBusinessId(business_id); !s.ok()) return s;
  if (current_limit && *current_limit != kUnlimited && *current_limit <= 0) {
    return absl::InvalidArgumentError("current_limit: must be positive, or -1 for unlimited");
  }
  internal::MutexLock lock(&register_mu_);
  const uint32_t target = ShardIndex(business_id);
  // Before the directory learns the number: a refused registration leaves
  // nothing behind (a business is dropped only under register_mu_ too, so
  // this stays true).
  if (!shards_[target]->HasBusiness(business_id)) {
    return absl::NotFoundError(absl::StrCat("business_id '", business_id, "' is not registered"));
  }
  // Also before the directory: a frozen business's shard refuses it below.
  if (shards_[target]->IsFrozen(business_id)) return internal::FrozenError(business_id);
  std::optional<uint32_t> existing = directory_.Find(number.value());
  if (existing.has_value() && *existing != target) {
    return absl::AlreadyExistsError(
        absl::StrCat("number ", number.E164(), " is registered to another business"));
  }
  if (!existing.has_value() &&
      (directory_.size() >= max_numbers_ || !directory_.Insert(number.value(), target))) {
    return absl::ResourceExhaustedError(
        absl::StrCat("business_number: the server holds its maximum of ", max_numbers_,
                     " numbers (--max_numbers)"));
  }
  return shards_[target]->RegisterNumber(number, business_id, current_limit);
}

absl::Status PolicyEngine::PutTemplate(absl::string_view business_id, const MessageTemplate& t) {
  if (absl::Status s = ValidateTemplate(t, profile_.message_limits, profile_.opt_out_phrases);
      !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("template.", s.message()));
  }
  if (t.topic.size() > 64)
    return absl::InvalidArgumentError("template.topic: at most 64 characters");
  return ShardOfBusiness(business_id).PutTemplate(business_id, t);
}

absl::Status PolicyEngine::UpdateTemplate(absl::string_view business_id, absl::string_view name,
                                          absl::string_view language, const TemplateWord& word) {
  if (absl::Status s = ValidateBusinessId(business_id); !s.ok()) return s;
  return ShardOfBusiness(business_id).UpdateTemplateQuality(business_id, name, language, word);
}

absl::Status PolicyEngine::RemoveTemplate(absl::string_view business_id, absl::string_view name,
                                          absl::string_view language) {
  return ShardOfBusiness(business_id).RemoveTemplate(business_id, name, language);
}

// --- Decisions ---------------------------------------------------------------

absl::StatusOr<Decision> PolicyEngine::Check(const OutgoingMessage& message) {
  absl::StatusOr<internal::EngineShard*> shard = ShardOfNumber(message.business_number);
  if (!shard.ok()) return shard.status();
  return (*shard)->Check(message);
}

std::vector<absl::StatusOr<Decision>> PolicyEngine::CheckBatch(
    absl::Span<const OutgoingMessage> messages) {
  // Usually a batch is one business's: hand it to its shard whole.
  std::vector<internal::EngineShard*> route(messages.size(), nullptr);
  std::vector<absl::StatusOr<Decision>> out;
  bool one_shard = true;
  for (size_t i = 0; i < messages.size(); ++i) {
    absl::StatusOr<internal::EngineShard*> shard = ShardOfNumber(messages[i].business_number);
    if (shard.ok()) route[i] = *shard;
    one_shard = one_shard && route[i] != nullptr && route[i] == route[0];
  }
  if (one_shard && !messages.empty()) return route[0]->CheckBatch(messages);
  out.assign(messages.size(), absl::UnknownError("not decided"));
  for (size_t i = 0; i < messages.size(); ++i) {
    if (route[i] == nullptr) out[i] = ShardOfNumber(messages[i].business_number).status();
  }
  // Each shard decides its messages in their order; shards share no state.
  for (const auto& shard : shards_) {
    std::vector<OutgoingMessage> mine;
    std::vector<size_t> where;
    for (size_t i = 0; i < messages.size(); ++i) {
      if (route[i] == shard.get()) {
        mine.push_back(messages[i]);
        where.push_back(i);
      }
    }
    if (mine.empty()) continue;
    std::vector<absl::StatusOr<Decision>> decided = shard->CheckBatch(mine);
    for (size_t j = 0; j < where.size(); ++j) out[where[j]] = std::move(decided[j]);
  }
  return out;
}

// --- Campaigns ---------------------------------------------------------------

namespace {

absl::Status ValidateCampaign(const CampaignRequest& req, absl::Span<const PhoneNumber> customers,
                              int64_t now) {
  if (req.template_name.empty()) return absl::InvalidArgumentError("template_name: required");
  if (req.template_language.empty()) {
    return absl::InvalidArgumentError("template_language: required");
  }
  constexpr int64_t kYearUs = 366LL * 24 * 3600 * 1000000;
  if (req.start_us < 0 || req.start_us > now + kYearUs) {
    return absl::InvalidArgumentError("start: at most a year from now");
  }
  if (req.step_us < 0) return absl::InvalidArgumentError("step: must not be negative");
  for (size_t i = 0; i < customers.size(); ++i) {
    if (!customers[i].valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("customers[", i, "]: not a valid E.164 number"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CampaignPlan> PolicyEngine::PlanCampaign(const CampaignRequest& req,
                                                        absl::Span<const PhoneNumber> customers) {
  absl::StatusOr<internal::EngineShard*> shard = ShardOfNumber(req.business_number);
  if (!shard.ok()) return shard.status();
  if (absl::Status s = ValidateCampaign(req, customers, absl::ToUnixMicros(Now())); !s.ok()) {
    return s;
  }
  return (*shard)->PlanCampaign(req, customers);
}

absl::StatusOr<CampaignReservation> PolicyEngine::ReserveCampaign(
    const CampaignRequest& req, absl::Span<const PhoneNumber> customers) {
  absl::StatusOr<internal::EngineShard*> shard = ShardOfNumber(req.business_number);
  if (!shard.ok()) return shard.status();
  if (absl::Status s = ValidateCampaign(req, customers, absl::ToUnixMicros(Now())); !s.ok()) {
    return s;
  }
  absl::flat_hash_map<uint64_t, size_t> first;  // A customer admitted once, listed once.
  first.reserve(customers.size());
  for (size_t i = 0; i < customers.size(); ++i) {
    auto [it, added] = first.try_emplace(customers[i].value(), i);
    if (!added) {
      return absl::InvalidArgumentError(absl::StrCat("customers[", i, "]: ", customers[i].E164(),
                                                     " is listed twice (first at customers[",
                                                     it->second, "])"));
    }
  }
  return (*shard)->ReserveCampaign(req, customers);
}

// --- Events ------------------------------------------------------------------

#define WAPOLICY_ROUTE(number)                                          \
  absl::StatusOr<internal::EngineShard*> shard = ShardOfNumber(number); \
  if (!shard.ok()) return shard.status()

absl::Status PolicyEngine::SyncNumber(PhoneNumber number, const PlatformReport& report,
                                      const EventMeta& meta) {
  WAPOLICY_ROUTE(number);
  return (*shard)->SyncNumber(number, report, meta);
}

absl::StatusOr<bool> PolicyEngine::RecordInbound(PhoneNumber number, PhoneNumber customer,
                                                 absl::string_view text, const EventMeta& meta) {
  WAPOLICY_ROUTE(number);
  return (*shard)->RecordInbound(number, customer, text, meta);
}

absl::StatusOr<DeliveryOutcome> PolicyEngine::RecordDelivered(PhoneNumber number,
                                                              PhoneNumber customer,
                                                              const EventMeta& meta) {
  WAPOLICY_ROUTE(number);
  return (*shard)->RecordDelivered(number, customer, meta);
}

absl::Status PolicyEngine::RecordDeliveryFailed(PhoneNumber number, PhoneNumber customer,
                                                const EventMeta& meta, int32_t error_code) {
  WAPOLICY_ROUTE(number);
  return (*shard)->RecordDeliveryFailed(number, customer, meta, error_code);
}

absl::Status PolicyEngine::RecordSignal(PhoneNumber number, PhoneNumber customer, SignalKind kind,
                                        const EventMeta& meta) {
  WAPOLICY_ROUTE(number);
  return (*shard)->RecordSignal(number, customer, kind, meta);
}

absl::Status PolicyEngine::RecordOptIn(PhoneNumber number, PhoneNumber customer, OptInSource source,
                                       absl::Span<const std::string> topics,
                                       const EventMeta& meta) {
  WAPOLICY_ROUTE(number);
  return (*shard)->RecordOptIn(number, customer, source, topics, meta);
}

absl::Status PolicyEngine::RecordOptOut(PhoneNumber number, PhoneNumber customer,
                                        const EventMeta& meta) {
  WAPOLICY_ROUTE(number);
  return (*shard)->RecordConsentWord(number, customer, meta, ConsentWord::kOptOut);
}

absl::Status PolicyEngine::RecordMarketingPreference(PhoneNumber number, PhoneNumber customer,
                                                     bool stopped, const EventMeta& meta) {
  WAPOLICY_ROUTE(number);
  return (*shard)->RecordConsentWord(
      number, customer, meta,
      stopped ? ConsentWord::kMarketingStop : ConsentWord::kMarketingResume);
}

// --- Queries -----------------------------------------------------------------

absl::StatusOr<NumberSnapshot> PolicyEngine::GetNumberState(PhoneNumber number,
                                                          SnapshotDetail detail) {
  WAPOLICY_ROUTE(number);
  return (*shard)->GetNumberState(number, detail);
}

absl::StatusOr<Consent> PolicyEngine::GetConsent(PhoneNumber number, PhoneNumber customer) {
  WAPOLICY_ROUTE(number);
  return (*shard)->Query([&](internal::ShardState& s) { return s.ConsentOf(number, customer); });
}

absl::StatusOr<std::vector<std::string>> PolicyEngine::ConsentTopics(PhoneNumber number,
                                                                     PhoneNumber customer) {
  WAPOLICY_ROUTE(number);
  return (*shard)->Query(
      [&](internal::ShardState& s) { return s.ConsentTopicsOf(number, customer); });
}

absl::StatusOr<std::string> PolicyEngine::BusinessOf(PhoneNumber number) const {
  WAPOLICY_ROUTE(number);
  return (*shard)->Query([&](internal::ShardState& s) { return s.BusinessOf(number); });
}

#undef WAPOLICY_ROUTE

absl::StatusOr<std::vector<PhoneNumber>> PolicyEngine::NumbersOf(absl::string_view business_id) {
  // A business's numbers live in its shard; a scan is fine for a rare call.
  return ShardOfBusiness(business_id).Query([&](internal::ShardState& s) {
    absl::StatusOr<std::vector<PhoneNumber>> out(absl::in_place);
    for (const auto& [value, n] : s.numbers) {
      if (n->business->id == business_id) out->push_back(n->number);
    }
    return out;
  });
}

absl::StatusOr<MessageTemplate> PolicyEngine::GetTemplate(absl::string_view business_id,
                                                          absl::string_view name,
                                                          absl::string_view language) {
  return ShardOfBusiness(business_id).Query([&](internal::ShardState& s) {
    return s.TemplateOf(business_id, name, language);
  });
}

std::vector<PhoneNumber> PolicyEngine::Numbers() const {
  std::vector<PhoneNumber> out;
  for (const auto& shard : shards_) {
    std::vector<PhoneNumber> mine = shard->Numbers();
    out.insert(out.end(), mine.begin(), mine.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// --- Upkeep ------------------------------------------------------------------

absl::Status PolicyEngine::Sweep() {
  absl::Status first;
  for (const auto& shard : shards_) first.Update(shard->Sweep());
  return first;
}

EngineStats PolicyEngine::stats() const {
  EngineStats total;
  for (const auto& shard : shards_) total += shard->stats();
  return total;
}

bool PolicyEngine::HasBusiness(absl::string_view business_id) const {
  return ShardOfBusiness(business_id).HasBusiness(business_id);
}

absl::StatusOr<std::vector<PhoneNumber>> PolicyEngine::BusinessNumbers(
    absl::string_view business_id) const {
  return ShardOfBusiness(business_id).Query([&](internal::ShardState& s) {
    absl::StatusOr<std::vector<PhoneNumber>> out(absl::in_place);
    absl::StatusOr<internal::ShardState::Business*> b = s.RequireBusiness(business_id);
    if (!b.ok()) return absl::StatusOr<std::vector<PhoneNumber>>(b.status());
    for (const auto& [value, n] : s.numbers) {
      if (n->business == *b) out->push_back(n->number);
    }
    std::sort(out->begin(), out->end());
    return out;
  });
}

absl::Status PolicyEngine::RestoreBusiness(absl::string_view business_id,
                                           absl::Span<const StoredRecord> records) {
  if (absl::Status s = ValidateBusinessId(business_id); !s.ok()) return s;
  internal::MutexLock lock(&register_mu_);  // No registration or drop meanwhile.
  const uint32_t target = ShardIndex(business_id);
  if (shards_[target]->HasBusiness(business_id)) {
    return absl::FailedPreconditionError(
        absl::StrCat("business_id '", business_id, "' is already loaded on this node"));
  }
  size_t fresh = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].family != StateFamily::kNumber) continue;
    absl::StatusOr<NumberRecord> r = DecodeNumber(records[i].key, records[i].value);
    if (!r.ok()) {
      return absl::DataLossError(absl::StrCat("records[", i, "]: ", r.status().message()));
    }
    if (directory_.Find(r->number).has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat("number ", PhoneNumber::FromDigitsValue(r->number).E164(),
                       " is already registered on this node"));
    }
    ++fresh;
  }
  if (directory_.size() + fresh > max_numbers_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("business_number: the server holds its maximum of ", max_numbers_,
                     " numbers (--max_numbers)"));
  }
  absl::StatusOr<std::vector<PhoneNumber>> added =
      shards_[target]->RestoreBusiness(business_id, records);
  if (!added.ok()) return added.status();
  // After the shard holds them: until then the shard answers NOT_FOUND, as
  // for a number being registered.
  for (size_t i = 0; i < added->size(); ++i) {
    if (directory_.Insert((*added)[i].value(), target)) continue;
    for (size_t j = 0; j < i; ++j) directory_.Erase((*added)[j].value());
    (void)shards_[target]->DropBusiness(business_id);  // Undo: as before the call.
    return absl::ResourceExhaustedError(
        "business_number: the number directory is full (--max_numbers)");
  }
  return absl::OkStatus();
}

absl::StatusOr<DroppedBusiness> PolicyEngine::DropBusiness(absl::string_view business_id) {
  if (absl::Status s = ValidateBusinessId(business_id); !s.ok()) return s;
  internal::MutexLock lock(&register_mu_);
  absl::StatusOr<DroppedBusiness> dropped = ShardOfBusiness(business_id).DropBusiness(business_id);
  if (!dropped.ok()) return dropped;
  for (PhoneNumber n : dropped->numbers) directory_.Erase(n.value());
  return dropped;
}

void PolicyEngine::FinishRestore() {
  for (const auto& shard : shards_) shard->FinishRestore();
}

absl::Status PolicyEngine::Restore(StateFamily family, absl::string_view key,
                                   absl::string_view value) {
  if (family == StateFamily::kNumber) {
    // A number record names both: it puts the number in the directory.
    absl::StatusOr<NumberRecord> r = DecodeNumber(key, value);
    if (!r.ok()) return r.status();
    const uint32_t target = ShardIndex(r->business_id);
    internal::MutexLock lock(&register_mu_);
    std::optional<uint32_t> existing = directory_.Find(r->number);
    if (existing.has_value() && *existing != target) {
      return absl::DataLossError("corrupt number record: stored twice for two businesses");
    }
    if (!existing.has_value() && !directory_.Insert(r->number, target)) {
      return absl::ResourceExhaustedError("more stored business numbers than max_numbers");
    }
    return shards_[target]->Restore(family, key, value);
  }
  absl::StatusOr<RecordOwner> owner = OwnerOfRecord(family, key, value);
  if (!owner.ok()) return owner.status();
  if (owner->number == 0) return ShardOfBusiness(owner->business_id).Restore(family, key, value);
  absl::StatusOr<internal::EngineShard*> shard =
      ShardOfNumber(PhoneNumber::FromDigitsValue(owner->number));
  if (!shard.ok()) {
    return absl::DataLossError(absl::StrCat("corrupt ", StateFamilyName(family),
                                            " record: its number was not restored before it"));
  }
  return (*shard)->Restore(family, key, value);
}

}  // namespace wapolicy
