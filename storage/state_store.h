// Durable state for the policy core: RocksStateStore keeps every state record
// in an embedded RocksDB and is the engine's StateJournal, so a change is in
// the WAL (fsynced in machine durability) before its answer is sent. At start
// the directory's recorded profile is checked (or migrated), then the engine
// is rebuilt from the records.
//
//   auto store = RocksStateStore::Open(dir, Durability::kProcess);
//   absl::StatusOr<ProfileCheck> check = (*store)->CheckProfile(profile, /*migrate=*/false);
//   PolicyEngine engine(profile, &clock, store->get());
//   absl::StatusOr<int64_t> loaded = (*store)->LoadInto(engine);
#ifndef WAPOLICY_STORAGE_STATE_STORE_H_
#define WAPOLICY_STORAGE_STATE_STORE_H_

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "policy/policy_engine.h"
#include "policy/record_codec.h"
#include "policy/policy_profile.h"
#include "policy/profile_migration.h"
#include "policy/state_journal.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Snapshot;
}  // namespace rocksdb

namespace wapolicy {

// How far an answered change survives: a killed process (WAL written, no
// fsync) or a lost machine (WAL fsynced before the answer).
enum class Durability { kProcess = 0, kMachine = 1 };

// What RocksStateStore::CheckProfile found and did.
struct ProfileCheck {
  enum class Outcome {
    kRecorded,  // An empty directory: the running profile is now recorded.
    kSame,      // Written under the running profile.
    kMigrated,  // Written under another profile; pools moved onto this one.
  };
  Outcome outcome = Outcome::kSame;
  std::string stored;                  // DescribeProfile of the profile found (kSame, kMigrated).
  int64_t pools_migrated = 0;          // Pool records rewritten (kMigrated).
  int64_t conversations_migrated = 0;  // Ledger records moved to other pools (scope change).
};

// The policy core's state in an embedded RocksDB: one column family per
// StateFamily, plus "meta" holding the profile the data was written under
// (policy/record_codec.h: ProfileRecord). Group commit: changes appended
// while a write is in flight are written together by the next waiter, as one
// atomic WriteBatch through the WAL (fsynced in machine durability), so
// concurrent requests share writes.
class RocksStateStore final : public StateJournal {
 public:
  // `memtable_budget_mb` bounds the memory of all column families' memtables
  // together (RocksDB flushes the largest when it is reached). 64 MiB: at
  // 10M conversations 256 MiB cost 12 bytes a conversation of RSS (issue 18's
  // ≤ 100 B) and bought no less write CPU (README, Performance).
  static absl::StatusOr<std::unique_ptr<RocksStateStore>> Open(const std::string& dir,
                                                               Durability durability,
                                                               int64_t memtable_budget_mb = 64);
  ~RocksStateStore() override;

  uint64_t Append(StateChanges changes) override;
  absl::Status Await(uint64_t ticket) override;
  // Append + Await, for callers outside the policy core.
  absl::Status Commit(StateChanges changes) { return Await(Append(std::move(changes))); }

  // Writes done so far (each covering one or more appended change sets).
  uint64_t writes() const;

  // The group commit's totals since start, for metrics: average group size is
  // change_sets / writes, average write time write_seconds / writes.
  struct WriteStats {
    uint64_t writes = 0;
    uint64_t change_sets = 0;  // Appended change sets those writes carried.
    uint64_t records = 0;
    double write_seconds = 0;
  };
  WriteStats write_stats() const;
  // RocksDB's estimate of the live data (SST) plus the memtables, all families.
  uint64_t EstimatedBytes() const;

  // Compares the profile the directory was written under with `profile`,
  // before LoadInto. An empty directory records `profile`. A directory written
  // under another profile (name, revision, ladder or limit scope) is refused
  // with FAILED_PRECONDITION saying what differs, unless `migrate`: then every
  // pool's level (and pending upgrade) is placed on the new ladder by
  // MapPoolLevels (policy/profile_migration.h), pools and their conversations
  // are moved to the new scope's pool ids if the scope changed, and all of it
  // is written with the new profile record in one atomic, synced WriteBatch.
  // Refuses (FAILED_PRECONDITION) a non-empty directory without a profile
  // record (written before records had format versions), and (DATA_LOSS) one
  // whose records are of a newer format version than this server reads.
  absl::StatusOr<ProfileCheck> CheckProfile(const PolicyProfile& profile, bool migrate);

  // Feeds every stored record to `engine`, families in kRestoreOrder
  // (policy/record_codec.h). Returns the number of records loaded.
  absl::StatusOr<int64_t> LoadInto(PolicyEngine& engine);

  // Records in one family (for tests and stats).
  absl::StatusOr<int64_t> Count(StateFamily family);

  // --- Moving a portfolio (storage/portfolio_transfer.h) ---
  // These run while other businesses' changes keep flowing through the group
  // commit. The moving business's calls must be stopped by the caller (the
  // PortfolioGate) and those in flight answered; Drain then makes everything
  // appended for it durable, so what follows sees or deletes all of it.

  // A consistent view of every state family at one moment (a RocksDB
  // snapshot, released with the reader). Thread-compatible.
  class SnapshotReader {
   public:
    SnapshotReader(const SnapshotReader&) = delete;
    SnapshotReader& operator=(const SnapshotReader&) = delete;
    ~SnapshotReader();
    // Calls `f(key, value)` for the records of `family` in each of `ranges`
    // (sorted, disjoint; KeyRange::family is not read), in key order, through
    // one iterator; stops at the first error `f` returns.
    absl::Status Scan(StateFamily family, absl::Span<const KeyRange> ranges,
                      absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)> f) const;
    // Every record of `family`.
    absl::Status ScanAll(StateFamily family,
                         absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)> f) const;

   private:
    friend class RocksStateStore;
    SnapshotReader(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>* families);
    rocksdb::DB* const db_;
    const std::vector<rocksdb::ColumnFamilyHandle*>* const families_;
    const rocksdb::Snapshot* snapshot_ = nullptr;
  };
  std::unique_ptr<SnapshotReader> NewSnapshotReader();

  // Waits until every change appended so far (by any caller) is durable.
  absl::Status Drain() { return Await(Append({})); }

  // Adds SST files (rocksdb::SstFileWriter, bytewise keys) to their families
  // in one atomic step (DB::IngestExternalFiles: one MANIFEST record for all),
  // as the group commit's leader: first every change appended before is
  // written, then the files go in while no other write runs, so nothing
  // appended before can land after (over) them. Durable when it returns, at
  // machine level whatever the store's Durability: RocksDB fsyncs each file
  // it links into the data directory and the MANIFEST edit that adds them
  // (ingestion does not go through the WAL, so the group commit's WAL write
  // and sync play no part). The files' keys take sequence numbers above every
  // write before, so they replace records with the same keys. Without
  // `move_files` the files are first copied into the data directory, outside
  // the lead (other businesses' writes do not wait for the copy); with it
  // they are hard-linked and their paths unlinked.
  struct IngestFile {
    StateFamily family;
    std::string path;
  };
  absl::Status IngestFiles(absl::Span<const IngestFile> files, bool move_files);

  // Writes `changes` and erases every key in `erase_ranges` (DeleteRange),
  // in one synced WriteBatch, as the group commit's leader: after every
  // change appended before the call; changes appended meanwhile by other
  // callers (other businesses, disjoint keys) are written after it.
  absl::Status WriteNow(StateChanges changes, absl::Span<const KeyRange> erase_ranges);

  // The profile record (record_codec.h ProfileRecord) the data was written
  // under; NOT_FOUND before CheckProfile recorded one.
  absl::StatusOr<ProfileRecord> StoredProfile();

 private:
  RocksStateStore() = default;
  absl::Status Write(const std::vector<StateChanges>& group);
  // Takes the group commit's lead (waits for the write in flight), writes
  // what was appended, then runs `op` before any other write: every write to
  // the database is made by the one leader, in order. A failure of `op` is
  // returned, not kept (the appended changes' write is what Await reports).
  absl::Status AsLeader(absl::FunctionRef<absl::Status()> op);
  absl::StatusOr<bool> HasAnyRecord();
  absl::Status Migrate(const ProfileIdentity& from, const ProfileIdentity& to, ProfileCheck* out);

  std::string dir_;
  Durability durability_ = Durability::kProcess;
  // Guards the group-commit state (std::mutex: visible to ThreadSanitizer).
  mutable std::mutex mu_;
  std::condition_variable written_;  // A write finished.
  std::deque<StateChanges> queue_;   // Appended, not yet written.
  uint64_t appended_ = 0;
  uint64_t durable_ = 0;
  bool writing_ = false;
  absl::Status failed_;
  uint64_t writes_ = 0;
  WriteStats stats_;  // Guarded by mu_.
  std::unique_ptr<rocksdb::DB> db_;
  // Indexed by StateFamily; then meta (kMetaFamily) and default.
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
};

}  // namespace wapolicy

#endif  // WAPOLICY_STORAGE_STATE_STORE_H_
