#include "policy/policy_engine.h"

#include <algorithm>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "policy/byte_codec.h"

namespace wapolicy {

PolicyEngine::PolicyEngine(PolicyProfile profile, const Clock* clock, StateJournal* journal,
                           int shards, size_t max_numbers)
    : profile_(std::move(profile)),
      clock_(clock),
      max_numbers_(max_numbers),
      directory_(2 * max_numbers) {
  shards_.reserve(std::max(shards, 1));
  for (int i = 0; i < std::max(shards, 1); ++i) {
    shards_.push_back(std::make_unique<EngineShard>(profile_, clock, journal));
  }
}

uint32_t PolicyEngine::ShardIndex(absl::string_view business_id) const {
  return static_cast<uint32_t>(absl::Hash<absl::string_view>()(business_id) % shards_.size());
}

EngineShard& PolicyEngine::ShardOfBusiness(absl::string_view business_id) const {
  return *shards_[ShardIndex(business_id)];
}

absl::StatusOr<EngineShard*> PolicyEngine::ShardOfNumber(PhoneNumber number) const {
  if (!number.valid()) return absl::InvalidArgumentError("business_number is not a valid E.164 number");
  std::optional<uint32_t> shard = directory_.Find(number.value());
  if (!shard.has_value()) {
    return absl::NotFoundError(absl::StrCat("business_number ", number.E164(), " is not registered"));
  }
  return shards_[*shard].get();
}

// --- Administration -----------------------------------------------------------

absl::Status PolicyEngine::UpsertBusiness(absl::string_view business_id, bool verified,
                                          bool official) {
  if (absl::Status s = ValidateBusinessId(business_id); !s.ok()) return s;
  return ShardOfBusiness(business_id).UpsertBusiness(business_id, verified, official);
}

absl::Status PolicyEngine::RegisterNumber(PhoneNumber number, absl::string_view business_id) {
  if (!number.valid()) return absl::InvalidArgumentError("number is not a valid E.164 number");
  if (absl::Status s = ValidateBusinessId(business_id); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(register_mu_);
  const uint32_t target = ShardIndex(business_id);
  std::optional<uint32_t> existing = directory_.Find(number.value());
  if (existing.has_value() && *existing != target) {
    return absl::AlreadyExistsError(
        absl::StrCat("number ", number.E164(), " is registered to another business"));
  }
  if (!existing.has_value() &&
      (directory_.size() >= max_numbers_ || !directory_.Insert(number.value(), target))) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "business_number: the server holds its maximum of ", max_numbers_, " numbers (--max_numbers)"));
  }
  return shards_[target]->RegisterNumber(number, business_id);
}

absl::Status PolicyEngine::PutTemplate(absl::string_view business_id, const MessageTemplate& t) {
  return ShardOfBusiness(business_id).PutTemplate(business_id, t);
}

absl::Status PolicyEngine::RemoveTemplate(absl::string_view business_id, absl::string_view name,
                                          absl::string_view language) {
  return ShardOfBusiness(business_id).RemoveTemplate(business_id, name, language);
}

// --- Decisions ---------------------------------------------------------------

absl::StatusOr<Decision> PolicyEngine::Check(const OutgoingMessage& message) {
  absl::StatusOr<EngineShard*> shard = ShardOfNumber(message.business_number);
  if (!shard.ok()) return shard.status();
  return (*shard)->Check(message);
}

std::vector<absl::StatusOr<Decision>> PolicyEngine::CheckBatch(
    absl::Span<const OutgoingMessage> messages) {
  // Usually a batch is one business's: hand it to its shard whole.
  std::vector<EngineShard*> route(messages.size(), nullptr);
  std::vector<absl::StatusOr<Decision>> out;
  bool one_shard = true;
  for (size_t i = 0; i < messages.size(); ++i) {
    absl::StatusOr<EngineShard*> shard = ShardOfNumber(messages[i].business_number);
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

// --- Events ------------------------------------------------------------------

#define WAPOLICY_ROUTE(number)                                      \
  absl::StatusOr<EngineShard*> shard = ShardOfNumber(number);       \
  if (!shard.ok()) return shard.status()

absl::StatusOr<bool> PolicyEngine::RecordInbound(PhoneNumber number, PhoneNumber customer,
                                                 absl::string_view text) {
  WAPOLICY_ROUTE(number);
  return (*shard)->RecordInbound(number, customer, text);
}

absl::StatusOr<DeliveryOutcome> PolicyEngine::RecordDelivered(PhoneNumber number,
                                                              PhoneNumber customer) {
  WAPOLICY_ROUTE(number);
  return (*shard)->RecordDelivered(number, customer);
}

absl::Status PolicyEngine::RecordDeliveryFailed(PhoneNumber number, PhoneNumber customer) {
  WAPOLICY_ROUTE(number);
  return (*shard)->RecordDeliveryFailed(number, customer);
}

absl::Status PolicyEngine::RecordSignal(PhoneNumber number, PhoneNumber customer, SignalKind kind) {
  WAPOLICY_ROUTE(number);
  return (*shard)->RecordSignal(number, customer, kind);
}

absl::Status PolicyEngine::RecordOptIn(PhoneNumber number, PhoneNumber customer,
                                       OptInSource source, absl::Span<const std::string> topics) {
  WAPOLICY_ROUTE(number);
  return (*shard)->RecordOptIn(number, customer, source, topics);
}

absl::Status PolicyEngine::RecordOptOut(PhoneNumber number, PhoneNumber customer) {
  WAPOLICY_ROUTE(number);
  return (*shard)->RecordOptOut(number, customer);
}

// --- Queries -----------------------------------------------------------------

absl::StatusOr<NumberSnapshot> PolicyEngine::GetNumberState(PhoneNumber number) {
  WAPOLICY_ROUTE(number);
  return (*shard)->GetNumberState(number);
}

absl::StatusOr<Consent> PolicyEngine::GetConsent(PhoneNumber number, PhoneNumber customer) {
  WAPOLICY_ROUTE(number);
  return (*shard)->GetConsent(number, customer);
}

absl::StatusOr<std::vector<std::string>> PolicyEngine::ConsentTopics(PhoneNumber number,
                                                                      PhoneNumber customer) {
  WAPOLICY_ROUTE(number);
  return (*shard)->ConsentTopics(number, customer);
}

absl::StatusOr<std::string> PolicyEngine::BusinessOf(PhoneNumber number) const {
  WAPOLICY_ROUTE(number);
  return (*shard)->BusinessOf(number);
}

#undef WAPOLICY_ROUTE

absl::StatusOr<MessageTemplate> PolicyEngine::GetTemplate(absl::string_view business_id,
                                                          absl::string_view name,
                                                          absl::string_view language) {
  return ShardOfBusiness(business_id).GetTemplate(business_id, name, language);
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

EngineShard::Stats PolicyEngine::stats() const {
  EngineShard::Stats total;
  for (const auto& shard : shards_) {
    const EngineShard::Stats s = shard->stats();
    total.businesses += s.businesses;
    total.numbers += s.numbers;
    total.pools += s.pools;
    total.ledger_entries += s.ledger_entries;
    total.threads += s.threads;
    total.consents += s.consents;
    total.templates += s.templates;
  }
  return total;
}

absl::Status PolicyEngine::Restore(StateFamily family, absl::string_view key,
                                   absl::string_view value) {
  // Find the business (or number) that owns the record; see the encoders in
  // engine_shard.cc for the layouts.
  auto corrupt = [&]() {
    return absl::DataLossError(absl::StrCat("corrupt ", StateFamilyName(family), " record"));
  };
  auto by_number = [&](uint64_t number) -> absl::Status {
    absl::StatusOr<EngineShard*> shard = ShardOfNumber(PhoneNumber::FromDigitsValue(number));
    if (!shard.ok()) return corrupt();
    return (*shard)->Restore(family, key, value);
  };
  switch (family) {
    case StateFamily::kBusiness:
      return ShardOfBusiness(key).Restore(family, key, value);
    case StateFamily::kPool: {
      ByteReader v(value);
      std::string business;
      if (!v.GetString(&business)) return corrupt();
      return ShardOfBusiness(business).Restore(family, key, value);
    }
    case StateFamily::kNumber: {
      ByteReader k(key), v(value);
      uint64_t number;
      std::string business;
      if (!k.GetFixed64(&number) || !v.GetString(&business) || number == 0) return corrupt();
      {
        std::lock_guard<std::mutex> lock(register_mu_);
        std::optional<uint32_t> existing = directory_.Find(number);
        if (existing.has_value() && *existing != ShardIndex(business)) return corrupt();
        if (!existing.has_value() && !directory_.Insert(number, ShardIndex(business))) {
          return absl::ResourceExhaustedError("more stored business numbers than max_numbers");
        }
      }
      return ShardOfBusiness(business).Restore(family, key, value);
    }
    case StateFamily::kLedger: {
      ByteReader k(key);
      std::string pool;
      if (!k.GetString(&pool) || pool.empty()) return corrupt();
      if (pool[0] == 'B') return ShardOfBusiness(absl::string_view(pool).substr(1)).Restore(family, key, value);
      ByteReader n(absl::string_view(pool).substr(1));
      uint64_t number;
      if (pool[0] != 'N' || !n.GetFixed64(&number)) return corrupt();
      return by_number(number);
    }
    case StateFamily::kThread: {
      ByteReader k(key);
      uint64_t number;
      if (!k.GetFixed64(&number)) return corrupt();
      return by_number(number);
    }
    case StateFamily::kConsent:
    case StateFamily::kTemplate: {
      ByteReader k(key);
      std::string business;
      if (!k.GetString(&business)) return corrupt();
      return ShardOfBusiness(business).Restore(family, key, value);
    }
  }
  return corrupt();
}

}  // namespace wapolicy
