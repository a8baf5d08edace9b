// A business portfolio moving in or out of a running shard (issue 17, point 4):
// EngineShard::RestoreBusiness and DropBusiness, and the ShardState moves
// under them. Kept apart from engine_shard.cc (the single calls) and
// shard_state.cc (restart's Restore, which RestoreBusiness reuses record by
// record into a state of its own before anything joins the shard).
#include <algorithm>
#include <numeric>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "policy/internal/engine_shard.h"
#include "policy/internal/shard_state.h"
#include "policy/record_codec.h"

namespace wapolicy {
namespace internal {
namespace {

// Where `f` comes in kRestoreOrder (kStateFamilyCount for no family).
size_t RestoreRank(StateFamily f) {
  return static_cast<size_t>(std::find(kRestoreOrder.begin(), kRestoreOrder.end(), f) -
                             kRestoreOrder.begin());
}

std::string Where(absl::Span<const StoredRecord> records, size_t i) {
  return absl::StrCat("records[", i, "] (", StateFamilyName(records[i].family), " record)");
}

}  // namespace

// --- ShardState ------------------------------------------------------------------

absl::Status ShardState::AdoptBusiness(absl::string_view id, ShardState& from) {
  if (businesses.contains(id)) {
    return absl::FailedPreconditionError(
        absl::StrCat("business_id '", id, "' is already loaded on this node"));
  }
  for (const auto& [value, n] : from.numbers) {
    if (auto it = numbers.find(value); it != numbers.end()) {
      return absl::FailedPreconditionError(absl::StrCat("number ", n->number.E164(),
                                                        " is already registered to business '",
                                                        it->second->business_id, "'"));
    }
  }
  for (const auto& [pool_id, p] : from.pools) {
    if (pools.contains(pool_id)) {
      return absl::FailedPreconditionError(
          absl::StrCat("business_id '", id, "': one of its limit pools is already loaded"));
    }
  }
  // Checked: from here nothing fails. Objects move whole, so the pointers
  // between them (number -> business, number -> pool) stay right.
  for (auto& [bid, b] : from.businesses) businesses[bid] = std::move(b);
  for (auto& [pool_id, p] : from.pools) pools[pool_id] = std::move(p);
  for (auto& [value, n] : from.numbers) numbers[value] = std::move(n);
  for (const auto& [key, w] : from.threads) threads[key] = w;
  from.event_ids.ForEach(
      [&](const EventKey& key, const EventIdLog::Entry& e) { event_ids.Restore(key, e); });
  // As FinishRestore does: the ids in age order (the numbers' quality
  // histories were rebuilt by `from`'s FinishRestore and moved with them).
  event_ids.FinishRestore();
  from.businesses.clear();
  from.pools.clear();
  from.numbers.clear();
  from.threads.clear();
  return absl::OkStatus();
}

absl::StatusOr<DroppedBusiness> ShardState::EraseBusiness(absl::string_view id) {
  absl::StatusOr<Business*> found = RequireBusiness(id);
  if (!found.ok()) return found.status();
  Business* b = *found;
  DroppedBusiness out;
  out.business_id = std::string(id);
  absl::flat_hash_set<uint64_t> mine;
  for (const auto& [value, n] : numbers) {
    if (n->business == b) mine.insert(value);
  }
  for (uint64_t v : mine) out.numbers.push_back(PhoneNumber::FromDigitsValue(v));
  std::sort(out.numbers.begin(), out.numbers.end());
  EngineStats& d = out.dropped;
  d.businesses = 1;
  d.numbers = mine.size();
  d.pools = b->pools.size();
  for (const LimitPool* p : b->pools) d.ledger_entries += p->ledger.tracked_customers();
  d.consents = b->consents.size();
  d.templates = b->templates.size();
  d.threads = static_cast<size_t>(
      absl::erase_if(threads, [&](const auto& kv) { return mine.contains(kv.first.first); }));
  absl::erase_if(pairs, [&](const auto& kv) { return mine.contains(kv.first.first); });
  d.event_ids = event_ids.EraseIf([&](const EventKey& k) { return mine.contains(k.number); });
  for (uint64_t v : mine) numbers.erase(v);
  for (const LimitPool* p : b->pools) pools.erase(p->id);  // b->pools point into `pools`.
  businesses.erase(id);                                    // Last: frees b.
  return out;
}

// --- EngineShard -----------------------------------------------------------------

absl::StatusOr<std::vector<PhoneNumber>> EngineShard::RestoreBusiness(
    absl::string_view business_id, absl::Span<const StoredRecord> records) {
  // The business's numbers: its number records name it.
  absl::flat_hash_set<uint64_t> numbers;
  for (size_t i = 0; i < records.size(); ++i) {
    const StoredRecord& r = records[i];
    if (RestoreRank(r.family) >= kRestoreOrder.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("records[", i, "]: unknown family ", static_cast<int>(r.family)));
    }
    if (r.family != StateFamily::kNumber) continue;
    absl::StatusOr<NumberRecord> n = DecodeNumber(r.key, r.value);
    if (!n.ok())
      return absl::DataLossError(absl::StrCat(Where(records, i), ": ", n.status().message()));
    if (n->business_id != business_id) {
      return absl::InvalidArgumentError(absl::StrCat(
          Where(records, i), ": number ", PhoneNumber::FromDigitsValue(n->number).E164(),
          " is of business '", n->business_id, "', not '", business_id, "'"));
    }
    numbers.insert(n->number);
  }
  // Every record must be the business's or one of its numbers'.
  int business_records = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const StoredRecord& r = records[i];
    absl::StatusOr<RecordOwner> owner = OwnerOfRecord(r.family, r.key, r.value);
    if (!owner.ok()) {
      return absl::DataLossError(absl::StrCat(Where(records, i), ": ", owner.status().message()));
    }
    const bool ours =
        owner->number != 0 ? numbers.contains(owner->number) : owner->business_id == business_id;
    if (!ours) {
      return absl::InvalidArgumentError(absl::StrCat(
          Where(records, i), ": not a record of business '", business_id, "' or of its numbers"));
    }
    business_records += r.family == StateFamily::kBusiness;
  }
  if (business_records != 1) {
    return absl::InvalidArgumentError(absl::StrCat("records: need the business record of '",
                                                   business_id, "' once, found it ",
                                                   business_records, " times"));
  }
  // Decoded and applied as at a restart, into a state of its own: a record
  // that does not decode leaves the shard as it was.
  std::vector<size_t> order(records.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return RestoreRank(records[a].family) < RestoreRank(records[b].family);
  });
  ShardState staging(profile_);
  for (size_t i : order) {
    absl::Status s = staging.Restore(records[i].family, records[i].key, records[i].value);
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat(Where(records, i), ": ", s.message()));
  }
  staging.FinishRestore();
  std::vector<PhoneNumber> added;
  for (uint64_t v : numbers) added.push_back(PhoneNumber::FromDigitsValue(v));
  std::sort(added.begin(), added.end());

  MutexLock lock(&mu_);
  if (absl::Status s = CheckHealthy(); !s.ok()) return s;
  if (absl::Status s = state_.AdoptBusiness(business_id, staging); !s.ok()) return s;
  return added;
}

absl::StatusOr<DroppedBusiness> EngineShard::DropBusiness(absl::string_view business_id) {
  MutexLock lock(&mu_);
  absl::StatusOr<DroppedBusiness> dropped = state_.EraseBusiness(business_id);
  if (!dropped.ok()) return dropped.status();
  // Its changes appended before the drop (under this lock, so all of them)
  // are durable before the caller deletes its records.
  StateChanges none;
  if (absl::Status s = Commit(none, lock); !s.ok()) return s;
  return dropped;
}

}  // namespace internal
}  // namespace wapolicy
