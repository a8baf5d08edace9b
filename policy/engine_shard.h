#ifndef WAPOLICY_POLICY_ENGINE_SHARD_H_
#define WAPOLICY_POLICY_ENGINE_SHARD_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include <mutex>
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "policy/clock.h"
#include "policy/consent.h"
#include "policy/decision.h"
#include "policy/message_compliance.h"
#include "policy/messaging_tier.h"
#include "policy/number_status.h"
#include "policy/outgoing_message.h"
#include "policy/phone_number.h"
#include "policy/policy_profile.h"
#include "policy/quality.h"
#include "policy/service_window.h"
#include "policy/state_journal.h"
#include "policy/templates.h"

namespace wapolicy {

// What a delivery report did to the conversations.
enum class DeliveryOutcome {
  kStartedConversation = 0,    // Confirmed an admitted conversation; its 24h start.
  kInOpenConversation = 1,     // A further message inside an open conversation.
  kInUserConversation = 2,     // A reply inside the service window: not counted.
  kStartedUnadmitted = 3,      // No admission on record (sent around the engine, or
                               // after its reservation timed out): counted anyway,
                               // because the platform counts it.
};
absl::string_view DeliveryOutcomeName(DeliveryOutcome o);

// Everything a pipeline may want to know about one business number.
struct NumberSnapshot {
  PhoneNumber number;
  std::string business_id;
  bool verified = false;
  bool official = false;
  NumberStatus status = NumberStatus::kConnected;  // Restricted if the limit is used up.
  bool flagged = false;
  bool restricted = false;
  QualityRating quality = QualityRating::kHigh;
  double quality_score = 0;
  std::array<int64_t, kSignalKindCount> signals_7d{};  // Count by kind, last 7 days.
  LimitScope limit_scope = LimitScope::kPerNumber;
  int level = 0;
  int64_t limit = 0;
  int64_t used = 0;             // Open + pending slots.
  int64_t pending = 0;          // Admitted, not yet delivered.
  int64_t recent_unique = 0;    // Unique customers started in the upgrade look-back.
  int pending_level = -1;
  int64_t pending_limit = 0;
  absl::Time pending_at = absl::InfinitePast();
  absl::Time flagged_since = absl::InfinitePast();
  absl::Time flag_settles_at = absl::InfinitePast();
  absl::Time low_since = absl::InfinitePast();
  absl::Time next_slot_free = absl::InfiniteFuture();
};

// One shard of the policy core: every messaging rule for the businesses it
// holds, in memory, under one lock, answering from an injected clock. Each
// operation's state changes go to the StateJournal (if any) before it
// returns. PolicyEngine spreads businesses over several shards.
class EngineShard {
 public:
  // `clock` and `journal` must outlive the engine; `journal` may be null.
  EngineShard(PolicyProfile profile, const Clock* clock, StateJournal* journal = nullptr);
  EngineShard(const EngineShard&) = delete;
  EngineShard& operator=(const EngineShard&) = delete;

  const PolicyProfile& profile() const { return profile_; }
  absl::Time Now() const { return clock_->Now(); }

  // --- Administration ---
  // Creates a business or updates its verification and badge. Verification
  // lifts its limit to the verified starting level.
  absl::Status UpsertBusiness(absl::string_view business_id, bool verified, bool official);
  // Registers a business phone number (idempotent for the same business).
  absl::Status RegisterNumber(PhoneNumber number, absl::string_view business_id);
  absl::Status PutTemplate(absl::string_view business_id, const MessageTemplate& t);
  absl::Status RemoveTemplate(absl::string_view business_id, absl::string_view name,
                              absl::string_view language);

  // --- Decisions ---
  // May this number send this message to this customer now? An allowed
  // business-initiated message takes its conversation slot at once (unless
  // dry_run). Errors: NOT_FOUND for an unregistered number, UNAVAILABLE if the
  // journal failed earlier.
  absl::StatusOr<Decision> Check(const OutgoingMessage& message);
  // Decides each message in order, as Check would one after the other, with
  // one journal commit for the whole batch.
  std::vector<absl::StatusOr<Decision>> CheckBatch(absl::Span<const OutgoingMessage> messages);

  // --- Events ---
  // The customer wrote (opens the service window). If `text` is an opt-out
  // keyword the customer is opted out too; returns whether that happened.
  absl::StatusOr<bool> RecordInbound(PhoneNumber number, PhoneNumber customer,
                                     absl::string_view text = "");
  absl::StatusOr<DeliveryOutcome> RecordDelivered(PhoneNumber number, PhoneNumber customer);
  // Gives back the slot of an admitted conversation whose message failed.
  // FAILED_PRECONDITION if nothing for this customer awaits delivery.
  absl::Status RecordDeliveryFailed(PhoneNumber number, PhoneNumber customer);
  absl::Status RecordSignal(PhoneNumber number, PhoneNumber customer, SignalKind kind);
  // Opt-in to the given topics (1-64 characters each); none means every topic.
  absl::Status RecordOptIn(PhoneNumber number, PhoneNumber customer, OptInSource source,
                           absl::Span<const std::string> topics = {});
  absl::Status RecordOptOut(PhoneNumber number, PhoneNumber customer);

  // --- Queries ---
  absl::StatusOr<NumberSnapshot> GetNumberState(PhoneNumber number);
  absl::StatusOr<Consent> GetConsent(PhoneNumber number, PhoneNumber customer);
  // The topics a customer's consent covers (empty for "every topic").
  absl::StatusOr<std::vector<std::string>> ConsentTopics(PhoneNumber number, PhoneNumber customer);
  absl::StatusOr<MessageTemplate> GetTemplate(absl::string_view business_id,
                                              absl::string_view name,
                                              absl::string_view language);
  std::vector<PhoneNumber> Numbers() const;
  // The business a number is registered to; NOT_FOUND if none.
  absl::StatusOr<std::string> BusinessOf(PhoneNumber number) const;

  // --- Upkeep ---
  // Settles due flags and upgrades and drops expired conversations and
  // service windows everywhere (garbage collection for idle numbers).
  absl::Status Sweep();

  // Loads one stored record; call for every record, families in StateFamily
  // order, before serving.
  absl::Status Restore(StateFamily family, absl::string_view key, absl::string_view value);

  struct Stats {
    size_t businesses = 0, numbers = 0, pools = 0, ledger_entries = 0, threads = 0,
           consents = 0, templates = 0;
  };
  Stats stats() const;

 private:
  struct Business {
    std::string id;
    bool verified = false;
    bool official = false;
    std::vector<LimitPool*> pools;
    absl::flat_hash_map<uint64_t, Consent> consents;
    // name -> language -> template; looked up by string_view without copies.
    absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, MessageTemplate>> templates;
    const MessageTemplate* FindTemplate(absl::string_view name, absl::string_view language) const {
      auto by_name = templates.find(name);
      if (by_name == templates.end()) return nullptr;
      auto t = by_name->second.find(language);
      return t == by_name->second.end() ? nullptr : &t->second;
    }
  };
  using ThreadKey = std::pair<uint64_t, uint64_t>;  // (number, customer)
  // A registered number plus its business, found once at registration
  // instead of by name on every decision (businesses are never removed).
  struct ShardNumber : BusinessNumber {
    Business* business = nullptr;
  };
  // The business a registered number belongs to.
  static Business& OwnerOf(const ShardNumber& n) { return *n.business; }

  int64_t NowUs() const { return absl::ToUnixMicros(clock_->Now()); }
  std::string PoolIdFor(PhoneNumber number, absl::string_view business_id) const;
  LimitPool* GetOrCreatePool(const std::string& id, absl::string_view business_id);
  absl::StatusOr<ShardNumber*> FindNumber(PhoneNumber n);
  Business* FindBusiness(absl::string_view id);
  // NOT_FOUND naming the business / template when there is none.
  absl::StatusOr<Business*> RequireBusiness(absl::string_view id);
  static absl::StatusOr<const MessageTemplate*> RequireTemplate(const Business& b,
                                                                absl::string_view name,
                                                                absl::string_view language);

  void Advance(ShardNumber& n, int64_t now, StateChanges* ch);
  // The shape of every event: checks the customer, locks, finds the number,
  // applies the time-driven rules, runs `body(number, now, changes)`, and
  // commits what changed (even when `body` refuses: expiries are real).
  // Returns body's result, or the error that came first.
  template <typename Body>
  auto OnNumberEvent(PhoneNumber number, PhoneNumber customer, Body body);
  absl::StatusOr<Decision> CheckLocked(const OutgoingMessage& m, int64_t now, StateChanges* ch);
  // Prefetches the three per-customer records a check of `m` reads (service
  // window, consent, conversation slot). With millions of customers each
  // look-up is a cache and TLB miss; batches prefetch a few messages ahead
  // of the one they decide, so the misses overlap instead of being paid one
  // after another. `last` caches the number found for the previous message.
  void PrefetchCustomer(const OutgoingMessage& m, const ShardNumber*& last);
  void OnNewConversation(ShardNumber& n, int64_t now, StateChanges* ch);
  // Appends `ch` to the journal, releases `lock`, and waits until durable.
  absl::Status Commit(StateChanges& ch, std::unique_lock<std::mutex>& lock);
  absl::Status CheckHealthy() const;

  // Interns topic names (at most kMaxTopics distinct ones).
  absl::StatusOr<TopicSet> InternTopics(absl::Span<const std::string> names);
  // The topic's bit, or 0 if no consent has ever named it.
  TopicSet TopicBit(absl::string_view name) const;
  std::vector<std::string> TopicNamesLocked(TopicSet topics) const;
  bool IsOptOutKeyword(absl::string_view text) const;

  // Record encoders.
  void EmitBusiness(const Business& b, StateChanges* ch) const;
  void EmitPool(const LimitPool& p, StateChanges* ch) const;
  void EmitNumber(const BusinessNumber& n, StateChanges* ch) const;
  void EmitLedger(const LimitPool& p, uint64_t customer, const ConversationWindow* w,
                  StateChanges* ch) const;
  void EmitThread(ThreadKey key, const ServiceWindow* w, StateChanges* ch) const;
  void EmitConsent(const Business& b, uint64_t customer, const Consent& c, StateChanges* ch) const;
  void EmitTemplate(const Business& b, const MessageTemplate& t, bool erase,
                    StateChanges* ch) const;

  const PolicyProfile profile_;
  const Clock* const clock_;
  StateJournal* const journal_;

  // Guards everything below. A std::mutex (pthread) rather than absl::Mutex:
  // Debian's prebuilt Abseil is not ThreadSanitizer-instrumented, so TSan
  // could not see absl::Mutex's happens-before edges.
  mutable std::mutex mu_;
  absl::Status failed_;
  absl::flat_hash_map<std::string, std::unique_ptr<Business>> businesses_;
  absl::flat_hash_map<std::string, std::unique_ptr<LimitPool>> pools_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<ShardNumber>> numbers_;
  absl::flat_hash_map<ThreadKey, ServiceWindow> threads_;
  absl::flat_hash_map<std::string, int> topic_ids_;
  std::vector<std::string> topic_names_;
};

// Validates a business id: 1 to 64 characters of [A-Za-z0-9_.-].
absl::Status ValidateBusinessId(absl::string_view id);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_ENGINE_SHARD_H_
