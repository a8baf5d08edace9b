// One shard of the policy core: the state of the businesses it holds, in
// memory, under one lock. Callers use PolicyEngine, which spreads businesses
// over shards; nothing outside policy/ touches this class.
//
// The shard keeps the data layout, the locking, prefetching and journaling.
// It looks records up, calls the rule families (send_decision.h,
// tier_rules.h, frequency_cap.h, quality.h, conversations.h, ...) and applies
// and journals what they return (record_codec.h); it decides nothing itself.
//
//   EngineShard shard(profile, &clock, &journal);
//   absl::StatusOr<Decision> d = shard.Check(message);
#ifndef WAPOLICY_POLICY_INTERNAL_ENGINE_SHARD_H_
#define WAPOLICY_POLICY_INTERNAL_ENGINE_SHARD_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "policy/campaign_plan.h"
#include "policy/clock.h"
#include "policy/consent.h"
#include "policy/conversations.h"
#include "policy/decision.h"
#include "policy/event_ids.h"
#include "policy/internal/change_sink.h"
#include "policy/internal/event_effects.h"
#include "policy/internal/mutex.h"
#include "policy/internal/shard_commit.h"
#include "policy/internal/shard_state.h"
#include "policy/messaging_tier.h"
#include "policy/number_snapshot.h"
#include "policy/number_status.h"
#include "policy/opt_out_keywords.h"
#include "policy/outgoing_message.h"
#include "policy/phone_number.h"
#include "policy/platform_word.h"
#include "policy/policy_profile.h"
#include "policy/service_window.h"
#include "policy/state_journal.h"
#include "policy/templates.h"
#include "policy/tier_rules.h"
#include "policy/topic_registry.h"

namespace wapolicy {

namespace internal {

class EngineShard {
 public:
  // `profile`, `clock` and `journal` must outlive the shard; `journal` may be null.
  // `event_ids` (may be null: the profile's bound alone) is shared by the
  // engine's shards.
  EngineShard(const PolicyProfile& profile, const Clock* clock, StateJournal* journal,
              EventIdBudget* event_ids = nullptr);
  EngineShard(const EngineShard&) = delete;
  EngineShard& operator=(const EngineShard&) = delete;

  // Administration (see PolicyEngine for the contracts).
  absl::Status UpsertBusiness(absl::string_view business_id, bool verified, bool official,
                              uint32_t shadow);
  bool HasBusiness(absl::string_view business_id) const;
  absl::Status RegisterNumber(PhoneNumber number, absl::string_view business_id,
                              std::optional<int64_t> current_limit);
  // The platform's word on a number (platform_word.h).
  absl::Status SyncNumber(PhoneNumber number, const PlatformReport& report, const EventMeta& meta);
  absl::Status PutTemplate(absl::string_view business_id, const MessageTemplate& t);
  absl::Status RemoveTemplate(absl::string_view business_id, absl::string_view name,
                              absl::string_view language);
  absl::Status UpdateTemplateQuality(absl::string_view business_id, absl::string_view name,
                                     absl::string_view language, const TemplateWord& word);

  // Decisions.
  absl::StatusOr<Decision> Check(const OutgoingMessage& message);
  std::vector<absl::StatusOr<Decision>> CheckBatch(absl::Span<const OutgoingMessage> messages);
  // Campaigns (campaign_plan.h; in engine_shard_campaign.cc).
  absl::StatusOr<CampaignPlan> PlanCampaign(const CampaignRequest& req,
                                            absl::Span<const PhoneNumber> customers);
  absl::StatusOr<CampaignReservation> ReserveCampaign(const CampaignRequest& req,
                                                      absl::Span<const PhoneNumber> customers);

  // Events.
  // Events (see PolicyEngine and event_ids.h for `meta`).
  absl::StatusOr<bool> RecordInbound(PhoneNumber number, PhoneNumber customer,
                                     absl::string_view text, const EventMeta& meta);
  absl::StatusOr<DeliveryOutcome> RecordDelivered(PhoneNumber number, PhoneNumber customer,
                                                  const EventMeta& meta);
  absl::Status RecordDeliveryFailed(PhoneNumber number, PhoneNumber customer, const EventMeta& meta,
                                    int32_t error_code);
  absl::Status RecordSignal(PhoneNumber number, PhoneNumber customer, SignalKind kind,
                            const EventMeta& meta);
  absl::Status RecordOptIn(PhoneNumber number, PhoneNumber customer, OptInSource source,
                           absl::Span<const std::string> topics, const EventMeta& meta);
  absl::Status RecordConsentWord(PhoneNumber number, PhoneNumber customer, const EventMeta& meta,
                                 ConsentWord word);

  // Queries.
  absl::StatusOr<NumberSnapshot> GetNumberState(PhoneNumber number, SnapshotDetail detail);
  std::vector<PhoneNumber> Numbers() const;
  // A read-only query: `body(state)` under the lock (it must change
  // nothing), answered once every change it may have read is durable.
  // `body` returns an absl::StatusOr.
  //   shard.Query([&](ShardState& s) { return s.ConsentOf(number, customer); });
  template <typename Body>
  auto Query(Body body) -> decltype(body(std::declval<ShardState&>()));

  // Upkeep.
  absl::Status Sweep();
  absl::Status Restore(StateFamily family, absl::string_view key, absl::string_view value);
  // Call once after the last Restore: rebuilds what is derived from records.
  void FinishRestore();
  EngineStats stats() const;

  // A portfolio moving in or out (engine_shard_portfolio.cc; see
  // PolicyEngine for the contracts). RestoreBusiness decodes every record
  // into a state of its own first, so a bad record changes nothing; it
  // returns the numbers it added. DropBusiness answers once every change
  // appended for the business before it is durable, so storage may delete
  // its records after it without being overtaken by them.
  absl::StatusOr<std::vector<PhoneNumber>> RestoreBusiness(absl::string_view business_id,
                                                           absl::Span<const StoredRecord> records);
  absl::StatusOr<DroppedBusiness> DropBusiness(absl::string_view business_id);
  // Freezing a business whose portfolio leaves the node (business_freeze.h,
  // in business_freeze.cc).
  absl::Status FreezeBusiness(absl::string_view business_id);
  absl::Status ThawBusiness(absl::string_view business_id);
  bool IsFrozen(absl::string_view business_id) const;
  std::vector<std::string> BusinessIds() const;

 private:
  using Business = ShardState::Business;
  using Number = ShardState::Number;
  using ThreadKey = ShardState::ThreadKey;

  // Now, never earlier than a time the shard has already used: a wall clock
  // that steps back must not move any rule back.
  int64_t Tick() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckHealthy() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The shape of every call on one number: locks, finds the number, runs
  // the time-driven rules, then `body(number, now, changes)`, and commits
  // what changed (even when `body` refuses: expiries are real).
  template <typename Body>
  auto OnNumber(PhoneNumber number, Body body);
  // An event: checks the customer, then as OnNumber; checks the event's
  // time and answers a repeated id as the first time; else runs
  // `body(EventContext)` (event_effects.h) and remembers its answer.
  template <typename Body>
  auto OnNumberEvent(PhoneNumber number, PhoneNumber customer, const EventMeta& meta, Body body);
  // Forgets event ids past their retention or the per-shard bound.
  void ExpireEventIds(int64_t now, ChangeSink& ch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The shape of administration: locks, finds (or creates) the business,
  // runs `body(business, changes)` and commits unless it refused.
  template <typename Body>
  absl::Status OnBusiness(absl::string_view business_id, bool create, Body body);
  // `last` is the number of the previous message (or null); it is looked up
  // again only when this message names another.
  absl::StatusOr<Decision> CheckLocked(const OutgoingMessage& m, int64_t now, Number*& last,
                                       ChangeSink& ch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts loading the three per-customer records a check reads (slot,
  // consent, service window): at millions of customers each is a cache miss,
  // and batches prefetch a few messages ahead so the misses overlap.
  // `last` caches the number found for the previous message.
  void PrefetchCustomer(const OutgoingMessage& m, Number*& last) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends `ch` to the journal, releases `lock`, and waits until durable:
  // also, with nothing to append, for what other callers appended before
  // (an answer never reads state that is not yet durable).
  absl::Status Commit(StateChanges& ch, MutexLock& lock) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PolicyProfile& profile_;
  const Clock* const clock_;
  StateJournal* const journal_;
  const OptOutKeywords opt_out_keywords_;

  mutable Mutex mu_;
  absl::Status failed_ ABSL_GUARDED_BY(mu_);
  int64_t last_now_ ABSL_GUARDED_BY(mu_) = 0;
  ShardCommit commit_;  // Appends under mu_, awaits outside it.
  ShardState state_ ABSL_GUARDED_BY(mu_);
};

template <typename Body>
auto EngineShard::Query(Body body) -> decltype(body(std::declval<ShardState&>())) {
  MutexLock lock(&mu_);
  auto result = body(state_);
  StateChanges none;  // Waits for what others appended and this read saw.
  if (absl::Status s = Commit(none, lock); !s.ok()) return s;
  return result;
}

}  // namespace internal
}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_INTERNAL_ENGINE_SHARD_H_
