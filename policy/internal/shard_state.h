// The records one engine shard holds, laid out for the decision path, and how
// stored records are loaded back into them.
//
// Plain data and look-ups with no lock of its own: EngineShard owns one,
// guards it with its mutex and journals every change it makes.
//
//   ShardState state(profile);
//   absl::Status s = state.Restore(StateFamily::kBusiness, key, value);
//   ShardState::Business* b = state.FindBusiness("acme");
#ifndef WAPOLICY_POLICY_INTERNAL_SHARD_STATE_H_
#define WAPOLICY_POLICY_INTERNAL_SHARD_STATE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "policy/consent.h"
#include "policy/event_ids.h"
#include "policy/internal/huge_page_table.h"
#include "policy/messaging_tier.h"
#include "policy/number_snapshot.h"
#include "policy/number_status.h"
#include "policy/phone_number.h"
#include "policy/policy_profile.h"
#include "policy/rate_limits.h"
#include "policy/service_window.h"
#include "policy/state_journal.h"
#include "policy/templates.h"
#include "policy/topic_registry.h"

namespace wapolicy {

// Counts of what the engine holds (for logs and health).
struct EngineStats {
  size_t businesses = 0, numbers = 0, pools = 0, ledger_entries = 0, threads = 0, consents = 0,
         templates = 0, event_ids = 0;
  EngineStats& operator+=(const EngineStats& o);
};

// What PolicyEngine::DropBusiness forgot: the business's numbers (sorted) and
// the counts of its records held in memory.
struct DroppedBusiness {
  std::string business_id;
  std::vector<PhoneNumber> numbers;
  EngineStats dropped;
};

namespace internal {

// A template's identity within a business: (name, language). Looked up by
// a pair of string_views (one hash, one probe) without building a key.
struct TemplateKeyView {
  absl::string_view name, language;
};
struct TemplateKey {
  std::string name, language;
  operator TemplateKeyView() const { return {name, language}; }  // NOLINT: lookups.
};
struct TemplateKeyHash {
  using is_transparent = void;
  size_t operator()(TemplateKeyView k) const { return absl::HashOf(k.name, k.language); }
};
struct TemplateKeyEq {
  using is_transparent = void;
  bool operator()(TemplateKeyView a, TemplateKeyView b) const {
    return a.name == b.name && a.language == b.language;
  }
};

struct ShardState {
  struct Business {
    std::string id;
    bool verified = false;
    bool official = false;
    uint32_t shadow = 0;  // ShadowSet (shadow_mode.h): reason families answered allowed.
    // Its portfolio is leaving the node (EngineShard::FreezeBusiness,
    // business_freeze.h): FindNumber and administration answer
    // UNAVAILABLE for it from then on.
    bool frozen = false;
    std::vector<LimitPool*> pools;
    internal::HugePageTable<uint64_t, Consent> consents;
    // Customers given a marketing hold (marketing_hold.h), for the state
    // view: a hold may have lapsed (the consent says); pruned when listed.
    absl::flat_hash_set<uint64_t> held_customers;
    int numbers_tagged = 0;  // Pair tags given (Number::pair_tag).
    TopicRegistry topics;
    absl::flat_hash_map<TemplateKey, MessageTemplate, TemplateKeyHash, TemplateKeyEq> templates;
    const MessageTemplate* FindTemplate(absl::string_view name, absl::string_view language) const {
      auto it = templates.find(TemplateKeyView{name, language});
      return it == templates.end() ? nullptr : &it->second;
    }
  };
  // A registered number with its business, found once at registration
  // instead of by name on every decision (a business is removed only with
  // all its numbers: EraseBusiness).
  struct Number : BusinessNumber {
    Business* business = nullptr;
    // Tells the business's numbers apart in a consent's pair rate (1..255,
    // in the order they were added; 0 for later ones: their pairs live in
    // `pairs`).
    uint8_t pair_tag = 0;
  };
  using ThreadKey = std::pair<uint64_t, uint64_t>;  // (number, customer)

  explicit ShardState(const PolicyProfile& profile) : profile(profile) {}

  Business* FindBusiness(absl::string_view id);
  // The business, added (unverified) if it is new.
  Business* AddBusiness(absl::string_view id);
  // NOT_FOUND naming the business / number when there is none.
  absl::StatusOr<Business*> RequireBusiness(absl::string_view id);
  absl::StatusOr<Number*> FindNumber(PhoneNumber n);
  ServiceWindow* FindThread(ThreadKey key) {
    auto it = threads.find(key);
    return it == threads.end() ? nullptr : &it->second;
  }
  // The pool a new number of `b` counts against (its own, or the portfolio's).
  LimitPool* PoolFor(uint64_t number, Business* b);
  // Adds `number` to `b` (idempotent for the same business; ALREADY_EXISTS
  // for another). The new number, or null when it was already there.
  absl::StatusOr<Number*> AddNumber(PhoneNumber number, Business* b);
  // NOT_FOUND naming the template when there is none.
  absl::Status EraseTemplate(Business* b, absl::string_view name, absl::string_view language);
  absl::StatusOr<MessageTemplate*> MutableTemplate(Business* b, absl::string_view name,
                                                   absl::string_view language);

  // Read-only answers (NOT_FOUND / INVALID_ARGUMENT naming the field).
  absl::StatusOr<Consent> ConsentOf(PhoneNumber number, PhoneNumber customer);
  absl::StatusOr<std::vector<std::string>> ConsentTopicsOf(PhoneNumber number,
                                                           PhoneNumber customer);
  absl::StatusOr<MessageTemplate> TemplateOf(absl::string_view business_id, absl::string_view name,
                                             absl::string_view language);
  std::vector<PhoneNumber> SortedNumbers() const;
  // Everything GetNumberState shows of `n` at `now` (after the time-driven
  // rules ran): MakeNumberSnapshot, its throughput use, its customers in a
  // pair-rate burst (a walk over the shard's tracked pairs), the business's
  // marketing holds (lapsed ones are pruned from the index) and paused
  // templates.
  NumberSnapshot Snapshot(Number& n, int64_t now, SnapshotDetail detail = SnapshotDetail::kFull);
  absl::StatusOr<std::string> BusinessOf(PhoneNumber number) const;
  // The pair rate of number `n` and `customer`, whose consent with the
  // business is `consent` (null: none): the consent's, when it is this
  // number's or idle (then taken over, with what the table held for the
  // pair), else the table's entry (made if there is none).
  class PairRef;
  PairRef PairOf(Consent* consent, const Number& n, uint64_t customer, int64_t now);
  // Forgets pairs with no debt and no open burst window at `now`.
  void ExpirePairs(int64_t now);
  // Forgets service windows with nothing open at `now`, telling `erased`.
  void ExpireThreads(int64_t now, int64_t window_us, absl::FunctionRef<void(ThreadKey)> erased);

  // Loads one stored record; families in restore order (record_codec.h).
  absl::Status Restore(StateFamily family, absl::string_view key, absl::string_view value);
  // After the last Restore: rebuilds what is derived from the records.
  void FinishRestore();

  // A portfolio moving in or out (engine_shard_portfolio.cc).
  // Moves business `id` with its pools, numbers, service windows and event
  // ids from `from` (a state restored and finished from that business's
  // records alone) into this one, and puts the event ids in age order.
  // FAILED_PRECONDITION naming what this state already holds (the business,
  // a number or a pool): then nothing moves.
  absl::Status AdoptBusiness(absl::string_view id, ShardState& from);
  // Forgets business `id` and everything of it: numbers, pools (their
  // conversations and reservations), consents, templates, service windows,
  // pair rates, signals and event ids. NOT_FOUND naming the business.
  absl::StatusOr<DroppedBusiness> EraseBusiness(absl::string_view id);
  EngineStats Stats() const;

  const PolicyProfile& profile;
  absl::flat_hash_map<std::string, std::unique_ptr<Business>> businesses;
  absl::flat_hash_map<std::string, std::unique_ptr<LimitPool>> pools;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Number>> numbers;
  internal::HugePageTable<ThreadKey, ServiceWindow> threads;
  // Pair rates of pairs messaged in the last minutes whose consent holds
  // another number's, or that have none (not stored; idle ones are dropped
  // by ExpirePairs). Most pairs live in their consent (consent.h).
  internal::HugePageTable<ThreadKey, PairRateState> pairs;
  EventIdLog event_ids;  // Of events on this shard's numbers.

 private:
  LimitPool* GetOrCreatePool(const std::string& id, Business* b);
};

// A pair's rate found by ShardState::PairOf: read a copy, take a message
// (writes it back where it lives).
class ShardState::PairRef {
 public:
  PairRef() = default;
  explicit PairRef(Consent* c) : consent_(c), state_(c->pair()) {}
  explicit PairRef(PairRateState* e) : entry_(e), state_(*e) {}
  const PairRateState* get() const { return consent_ || entry_ ? &state_ : nullptr; }
  void Take(const PairRateParams& p, int64_t at) {
    TakePair(state_, p, at);
    if (consent_ != nullptr) consent_->set_pair(state_);
    if (entry_ != nullptr) *entry_ = state_;
  }

 private:
  Consent* consent_ = nullptr;
  PairRateState* entry_ = nullptr;
  PairRateState state_;
};

// The journal record of each kind of state (record_codec.h); a null window
// erases the record.
StateChange PoolChange(const LimitPool& p);
StateChange NumberChange(const BusinessNumber& n);
StateChange LedgerChange(const LimitPool& p, uint64_t customer, const ConversationWindow* w);
StateChange ThreadChange(ShardState::ThreadKey key, const ServiceWindow* w);
StateChange ConsentChange(const ShardState::Business& b, uint64_t customer, const Consent& c);

}  // namespace internal
}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_INTERNAL_SHARD_STATE_H_
