// The interface between the policy core and storage: the records each
// operation changed (StateChange), appended under a shard's lock and awaited
// outside it (group commit). storage/ implements it on RocksDB.
//
//   uint64_t ticket = journal->Append(std::move(changes));  // Under the lock.
//   absl::Status s = journal->Await(ticket);               // Durable now.
#ifndef WAPOLICY_POLICY_STATE_JOURNAL_H_
#define WAPOLICY_POLICY_STATE_JOURNAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wapolicy {

// The kinds of state record the policy core keeps; storage keeps each in its
// own column family. Restore must feed them back in kRestoreOrder
// (policy/record_codec.h), which is not the order of the values.
enum class StateFamily : uint8_t {
  kBusiness = 0,
  kPool = 1,      // Messaging tier of a limit pool (a number, or a portfolio).
  kNumber = 2,    // Quality signals and status of a business phone number.
  kLedger = 3,    // One customer's conversation slot in a limit pool.
  kThread = 4,    // Service window between a number and a customer.
  kConsent = 5,   // A customer's opt-in / opt-out with a business.
  kTemplate = 6,  // A message template and its approval status.
  kSignal = 7,    // One quality signal of a business phone number.
  kEventId = 8,   // The id of an applied event, with its answer (idempotency).
};
inline constexpr int kStateFamilyCount = 9;
absl::string_view StateFamilyName(StateFamily f);

// The bytes of a record's key or value. Nearly all fit inline (a
// conversation record is 18 + 25 bytes), so making a record allocates nothing.
using RecordBytes = absl::InlinedVector<char, 40>;
inline RecordBytes ToRecordBytes(absl::string_view s) { return RecordBytes(s.begin(), s.end()); }
inline absl::string_view View(const RecordBytes& b) {
  return absl::string_view(b.data(), b.size());
}

// One record written (or erased) by a state change. Keys and values use the
// core's own compact binary encoding; storage treats them as opaque bytes.
struct StateChange {
  StateFamily family;
  bool erase = false;
  RecordBytes key;
  RecordBytes value;
};
using StateChanges = std::vector<StateChange>;

// One stored record as storage holds it: for loading a business's records
// into a running engine (PolicyEngine::RestoreBusiness) when its portfolio
// moves to this node.
struct StoredRecord {
  StateFamily family;
  std::string key;
  std::string value;
};

// Where the core sends the records each operation changed. Append is called
// with a shard's lock held, so each shard's records reach the journal in the
// order they were made; different shards (which share no records) may call
// it concurrently, so it must be thread-safe. The shard then releases its
// lock and Awaits durability before it answers. That split lets a journal
// fold the changes of many concurrent operations into one write (group
// commit). An error is sticky: once a write
// fails, every later Await fails too, and the core refuses all further work
// until restarted from the journal, so no answer is ever given for a change
// that was not recorded.
class StateJournal {
 public:
  virtual ~StateJournal() = default;
  // Takes the changes; returns a ticket for Await. Never blocks on I/O.
  virtual uint64_t Append(StateChanges changes) = 0;
  // Waits until every change up to `ticket` is durable.
  virtual absl::Status Await(uint64_t ticket) = 0;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_STATE_JOURNAL_H_
