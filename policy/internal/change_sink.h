// Where one operation on a shard records what it changed: the journal
// records (record_codec.h) of every pool, number, slot, window, consent,
// signal and event id it wrote or erased, built only when the shard has a
// journal (an engine without one builds nothing).
//
// The shard makes one per operation and commits its changes(); the event
// effects (event_effects.h) and the shard's own rules write into it.
//
//   ChangeSink ch(/*journaling=*/journal != nullptr);
//   ch.Pool(pool);                        // The pool's tier changed.
//   ch.Ledger(pool, customer, nullptr);   // The customer's slot was erased.
//   journal->Append(std::move(ch.changes()));
#ifndef WAPOLICY_POLICY_INTERNAL_CHANGE_SINK_H_
#define WAPOLICY_POLICY_INTERNAL_CHANGE_SINK_H_

#include <cstdint>
#include <utility>

#include "policy/internal/shard_state.h"
#include "policy/state_journal.h"
#include "policy/tier_rules.h"

namespace wapolicy {
namespace internal {

class ChangeSink {
 public:
  explicit ChangeSink(bool journaling) : on_(journaling) {}

  // Whether records are kept; callers test it before building a record
  // that costs something.
  bool on() const { return on_; }
  void Add(StateChange c) {
    if (on_) changes_.push_back(std::move(c));
  }

  void Pool(const LimitPool& p) {
    if (on_) changes_.push_back(PoolChange(p));
  }
  void Number(const BusinessNumber& n) {
    if (on_) changes_.push_back(NumberChange(n));
  }
  // What a tier rule changed: the pool's tier, the number's standing.
  void Tier(const ShardState::Number& n, TierChanges t) {
    if (t.tier) Pool(*n.pool);
    if (t.standing) Number(n);
  }
  // A null window erases the record.
  void Ledger(const LimitPool& p, uint64_t customer, const ConversationWindow* w) {
    if (on_) changes_.push_back(LedgerChange(p, customer, w));
  }
  void Thread(ShardState::ThreadKey key, const ServiceWindow* w) {
    if (on_) changes_.push_back(ThreadChange(key, w));
  }
  void Consent(const ShardState::Business& b, uint64_t customer, const wapolicy::Consent& c) {
    if (on_) changes_.push_back(ConsentChange(b, customer, c));
  }
  // The ledger's change callback, writing here.
  auto LedgerOf(const LimitPool& p) {
    return [this, &p](uint64_t customer, const ConversationWindow* w) { Ledger(p, customer, w); };
  }

  StateChanges& changes() { return changes_; }

 private:
  const bool on_;
  StateChanges changes_;
};

}  // namespace internal
}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_INTERNAL_CHANGE_SINK_H_
