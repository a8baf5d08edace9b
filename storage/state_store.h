#ifndef WAPOLICY_STORAGE_STATE_STORE_H_
#define WAPOLICY_STORAGE_STATE_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "policy/policy_engine.h"
#include "policy/state_journal.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace wapolicy {

// How far an answered change survives: a killed process (WAL written, no
// fsync) or a lost machine (WAL fsynced before the answer).
enum class Durability { kProcess = 0, kMachine = 1 };

// The policy core's state in an embedded RocksDB: one column family per
// StateFamily, every commit one atomic WriteBatch through the WAL.
class RocksStateStore final : public StateJournal {
 public:
  static absl::StatusOr<std::unique_ptr<RocksStateStore>> Open(const std::string& dir,
                                                               Durability durability);
  ~RocksStateStore() override;

  absl::Status Commit(const StateChanges& changes) override;

  // Feeds every stored record to `engine`, families in StateFamily order.
  // Returns the number of records loaded.
  absl::StatusOr<int64_t> LoadInto(PolicyEngine& engine);

  // Records in one family (for tests and stats).
  absl::StatusOr<int64_t> Count(StateFamily family);

 private:
  RocksStateStore() = default;
  Durability durability_ = Durability::kProcess;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;  // Indexed by StateFamily; [n] = default.
};

}  // namespace wapolicy

#endif  // WAPOLICY_STORAGE_STATE_STORE_H_
