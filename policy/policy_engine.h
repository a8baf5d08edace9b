// The policy core's facade: every messaging rule for every business number,
// answering from an injected clock and journaling each change before it
// answers. The one class `server/`, `storage/` and `bench/` use.
//
//   PolicyEngine engine(DefaultProfile(), &clock, &journal);
//   engine.UpsertBusiness("acme", /*verified=*/true, /*official=*/false);
//   engine.RegisterNumber(number, "acme");
//   absl::StatusOr<Decision> d = engine.Check(message);
#ifndef WAPOLICY_POLICY_POLICY_ENGINE_H_
#define WAPOLICY_POLICY_POLICY_ENGINE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "policy/internal/engine_shard.h"
#include "policy/number_directory.h"
#include "policy/shadow_mode.h"

namespace wapolicy {

// The policy core: every messaging rule for every business number, answering
// from an injected clock. The facade `server/`, `storage/` and `bench/` use. Thread-safe, with no
// global lock on the decision path: businesses are spread over EngineShards (each with its own
// lock, and businesses never share state), and a number finds its shard through a lock-free
// NumberDirectory. Each operation's state changes go to the StateJournal (if any) before it
// returns.
class PolicyEngine {
 public:
  // `clock` and `journal` must outlive the engine; `journal` may be null.
  // `max_numbers` bounds registered business numbers (the directory's size).
  PolicyEngine(PolicyProfile profile, const Clock* clock, StateJournal* journal = nullptr,
               int shards = 16, size_t max_numbers = 65536);
  PolicyEngine(const PolicyEngine&) = delete;
  PolicyEngine& operator=(const PolicyEngine&) = delete;

  const PolicyProfile& profile() const { return profile_; }
  absl::Time Now() const { return clock_->Now(); }

  // --- Administration (see EngineShard) ---
  // `shadow`: the reason families this business runs in shadow mode (a
  // ShadowSet, shadow_mode.h), besides the profile's.
  absl::Status UpsertBusiness(absl::string_view business_id, bool verified, bool official,
                              uint32_t shadow = kShadowNone);
  // RESOURCE_EXHAUSTED past max_numbers; ALREADY_EXISTS for another business's number.
  // `current_limit`: the platform's current messaging limit of a number that
  // already sends (kUnlimited for none), so it onboards at its real tier.
  absl::Status RegisterNumber(PhoneNumber number, absl::string_view business_id,
                              std::optional<int64_t> current_limit = std::nullopt);
  // The platform's word on a number (or its portfolio's limit): see
  // platform_word.h. `meta.occurred_at_us` dates it; an older report than
  // the one on record changes nothing.
  absl::Status SyncNumber(PhoneNumber number, const PlatformReport& report,
                          const EventMeta& meta = {});
  absl::Status PutTemplate(absl::string_view business_id, const MessageTemplate& t);
  absl::Status RemoveTemplate(absl::string_view business_id, absl::string_view name,
                              absl::string_view language);
  // The platform's word on a template (template_quality.h): its quality
  // rating (RED pauses it 3 h, then 6 h, then disables it), UNPAUSE
  // (`lift_pause`) or REINSTATED (`reinstate`).
  absl::Status UpdateTemplateQuality(absl::string_view business_id, absl::string_view name,
                                     absl::string_view language,
                                     std::optional<TemplateQuality> quality,
                                     bool lift_pause = false, bool reinstate = false) {
    return UpdateTemplate(business_id, name, language, {quality, lift_pause, reinstate, {}});
  }
  // The same with the template's review status too (TemplateWord).
  absl::Status UpdateTemplate(absl::string_view business_id, absl::string_view name,
                              absl::string_view language, const TemplateWord& word);

  // --- Decisions ---
  absl::StatusOr<Decision> Check(const OutgoingMessage& message);
  // Decides each message in order; one journal commit per shard involved.
  std::vector<absl::StatusOr<Decision>> CheckBatch(absl::Span<const OutgoingMessage> messages);

  // --- Campaigns (campaign_plan.h) ---
  // What sending the template to `customers` would do: counts by outcome,
  // each customer's (if asked), the schedule and the upgrades. Changes no
  // state. INVALID_ARGUMENT naming the field (customers[i], template_name,
  // start) for bad input; NOT_FOUND for an unknown number.
  absl::StatusOr<CampaignPlan> PlanCampaign(const CampaignRequest& req,
                                            absl::Span<const PhoneNumber> customers);
  // Admits every customer at once (as Check with pace), in one journal
  // write, or none: FAILED_PRECONDITION naming those that would not be
  // admitted now. INVALID_ARGUMENT for a customer listed twice.
  absl::StatusOr<CampaignReservation> ReserveCampaign(const CampaignRequest& req,
                                                      absl::Span<const PhoneNumber> customers);

  // --- Events ---
  absl::StatusOr<bool> RecordInbound(PhoneNumber number, PhoneNumber customer,
                                     absl::string_view text = "", const EventMeta& meta = {});
  absl::StatusOr<DeliveryOutcome> RecordDelivered(PhoneNumber number, PhoneNumber customer,
                                                  const EventMeta& meta = {});
  // `error_code`: the platform's (131049 holds marketing; marketing_hold.h).
  absl::Status RecordDeliveryFailed(PhoneNumber number, PhoneNumber customer,
                                    const EventMeta& meta = {}, int32_t error_code = 0);
  absl::Status RecordSignal(PhoneNumber number, PhoneNumber customer, SignalKind kind,
                            const EventMeta& meta = {});
  absl::Status RecordOptIn(PhoneNumber number, PhoneNumber customer, OptInSource source,
                           absl::Span<const std::string> topics = {}, const EventMeta& meta = {});
  absl::Status RecordOptOut(PhoneNumber number, PhoneNumber customer, const EventMeta& meta = {});
  // The platform's word that the customer stopped (or resumed) marketing
  // messages (consent.h SetMarketingPreference).
  absl::Status RecordMarketingPreference(PhoneNumber number, PhoneNumber customer, bool stopped,
                                         const EventMeta& meta = {});

  // --- Queries ---
  absl::StatusOr<NumberSnapshot> GetNumberState(PhoneNumber number,
                                                SnapshotDetail detail = SnapshotDetail::kFull);
  absl::StatusOr<Consent> GetConsent(PhoneNumber number, PhoneNumber customer);
  absl::StatusOr<std::vector<std::string>> ConsentTopics(PhoneNumber number, PhoneNumber customer);
  absl::StatusOr<MessageTemplate> GetTemplate(absl::string_view business_id, absl::string_view name,
                                              absl::string_view language);
  std::vector<PhoneNumber> Numbers() const;
  absl::StatusOr<std::string> BusinessOf(PhoneNumber number) const;
  // The business's registered numbers (none for an unknown business), for
  // the platform's account-wide word (its account_update webhook).
  absl::StatusOr<std::vector<PhoneNumber>> NumbersOf(absl::string_view business_id);

  // --- Upkeep ---
  absl::Status Sweep();
  // Loads one stored record into the shard that owns it; families in
  // StateFamily order, before serving.
  absl::Status Restore(StateFamily family, absl::string_view key, absl::string_view value);
  // After the last Restore, before serving.
  void FinishRestore();
  using Stats = EngineStats;
  EngineStats stats() const;

  // --- A portfolio moving between nodes (issue 17; storage/portfolio_transfer.h) ---
  // Whether the engine holds `business_id`.
  bool HasBusiness(absl::string_view business_id) const;
  // The business's numbers, sorted (what its stored records are keyed by);
  // NOT_FOUND naming the business if the engine does not hold it.
  absl::StatusOr<std::vector<PhoneNumber>> BusinessNumbers(absl::string_view business_id) const;
  // Loads one business's stored records (as storage holds them, in
  // kRestoreOrder or any order: they are sorted) into the running engine,
  // and finishes as FinishRestore does (quality histories rebuilt, event ids
  // in age order). Writes nothing to the journal: the records are storage's
  // already. Every record is checked and decoded before any joins the
  // engine, so a refusal changes nothing:
  //   FAILED_PRECONDITION  the engine holds the business or one of its numbers
  //   INVALID_ARGUMENT     records[i] of another business or number, or not
  //                        exactly one business record
  //   DATA_LOSS            records[i] does not decode
  //   RESOURCE_EXHAUSTED   past max_numbers
  absl::Status RestoreBusiness(absl::string_view business_id,
                               absl::Span<const StoredRecord> records);
  // Forgets `business_id` and everything of it in memory: its numbers (later
  // calls naming them answer NOT_FOUND, and another business may register
  // them), pools with their conversations and campaign reservations, service
  // windows, consents, templates, quality signals, pair rates and event ids.
  // Returns once every change journaled for it before is durable, with its
  // numbers: storage deletes its records by key range (BusinessKeyRanges,
  // record_codec.h) and its event ids by owner. Writes nothing to the
  // journal. NOT_FOUND naming the business. A later RestoreBusiness of it
  // works. The caller stops the business's traffic first (a call racing the
  // drop is answered before it, or NOT_FOUND after).
  absl::StatusOr<DroppedBusiness> DropBusiness(absl::string_view business_id);
  // Stops every operation on `business_id` before its portfolio is exported
  // (policy/internal/business_freeze.h): set under the business's shard
  // lock, so an operation that took the lock before has appended its
  // changes, and every later one answers UNAVAILABLE ("... is frozen: its
  // portfolio is moving ..."); returns once everything appended before is
  // durable. Queries that need no number (BusinessNumbers, DropBusiness)
  // keep working. Held in memory only: a restart forgets it (the cluster's
  // gate keeps refusing a moving portfolio). NOT_FOUND naming the business.
  absl::Status FreezeBusiness(absl::string_view business_id);
  // Undoes FreezeBusiness (a move given up). NOT_FOUND naming the business.
  absl::Status ThawBusiness(absl::string_view business_id);
  bool IsFrozen(absl::string_view business_id) const;
  // Every business the engine holds (with or without numbers), sorted.
  std::vector<std::string> BusinessIds() const;

 private:
  using EngineShard = internal::EngineShard;
  EngineShard& ShardOfBusiness(absl::string_view business_id) const;
  // A business's shard: a pure function of its id and the shard count, the
  // same in every process, so a restart loads each business where it was.
  uint32_t ShardIndex(absl::string_view business_id) const;
  // The shard holding `number`: INVALID_ARGUMENT / NOT_FOUND otherwise.
  absl::StatusOr<EngineShard*> ShardOfNumber(PhoneNumber number) const;

  const PolicyProfile profile_;
  const Clock* const clock_;
  // The shards' event ids together (before shards_: it outlives them).
  EventIdBudget event_id_budget_;
  std::vector<std::unique_ptr<EngineShard>> shards_;
  const size_t max_numbers_;
  NumberDirectory directory_;
  // Serialises number registration (and directory inserts).
  internal::Mutex register_mu_;
};

// Validates a business id: 1 to 64 characters of [A-Za-z0-9_.-].
absl::Status ValidateBusinessId(absl::string_view id);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_POLICY_ENGINE_H_
