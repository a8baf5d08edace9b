// An ordered, durable log of opaque records in its own embedded RocksDB, for
// what the server keeps beside the policy state: the state-change events
// operators watch, the decision log. Each record gets the next position
// (1, 2, 3, ...) and a time; readers page through from a position and may
// wait for more; records are dropped by age (retention) and by count (a size
// bound). A small keyed side table ("marks": readers' cursors, a watcher's
// baselines) is written in the same atomic write as the records it goes with.
//
//   auto log = RecordLog::Open(dir, {.retention = absl::Hours(168)});
//   absl::StatusOr<uint64_t> first = (*log)->Append({"a", "b"}, now, {{"cursor", "7"}});
//   absl::StatusOr<std::vector<RecordLog::Entry>> page = (*log)->Read(/*from=*/1, /*max=*/100);
//   (*log)->WaitForMore(/*after=*/*first + 1, absl::Now() + absl::Seconds(1));
#ifndef WAPOLICY_STORAGE_RECORD_LOG_H_
#define WAPOLICY_STORAGE_RECORD_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace wapolicy {

class RecordLog {
 public:
  struct Options {
    absl::Duration retention = absl::Hours(24 * 7);  // Trim drops records older than this.
    int64_t max_records = 10'000'000;                // And the oldest beyond this many.
    bool sync = false;  // fsync every write (else the WAL survives a killed process).
  };
  struct Entry {
    uint64_t position = 0;
    absl::Time time;
    std::string value;
  };
  using Marks = std::vector<std::pair<std::string, std::string>>;

  // Opens (creating if missing) the log in `dir`.
  static absl::StatusOr<std::unique_ptr<RecordLog>> Open(const std::string& dir, Options options);
  ~RecordLog();
  RecordLog(const RecordLog&) = delete;
  RecordLog& operator=(const RecordLog&) = delete;

  // Appends `values`, dated `time`, at consecutive positions and puts `marks`
  // (an empty value erases the mark), all in one atomic write. Returns the
  // first position given (next_position() before the call).
  absl::StatusOr<uint64_t> Append(absl::Span<const std::string> values, absl::Time time,
                                  const Marks& marks = {});
  // Up to `max` entries at `from` or later, in order (positions trimmed away
  // are skipped, so the first may be later than `from`).
  absl::StatusOr<std::vector<Entry>> Read(uint64_t from, size_t max) const;
  // The entry at `position`, if still kept.
  absl::StatusOr<std::optional<Entry>> Get(uint64_t position) const;
  // One past the last position given (1 for an empty log).
  uint64_t next_position() const;
  // Positions below `position` are never given (ids handed out before a
  // crash whose records were not written stay unused).
  void SkipTo(uint64_t position);
  // Waits until next_position() > `position` or `deadline`; true if so.
  bool WaitFor(uint64_t position, absl::Time deadline) const;

  absl::StatusOr<std::optional<std::string>> GetMark(absl::string_view key) const;
  // Every mark whose key starts with `prefix`, in key order.
  absl::Status ForEachMark(absl::string_view prefix,
                           const std::function<void(absl::string_view key,
                                                    absl::string_view value)>& f) const;
  // Puts marks alone, synced (a reservation that must survive a crash).
  absl::Status PutMarksSynced(const Marks& marks);

  // Drops the records older than the retention at `now`, and the oldest
  // beyond max_records. Returns how many were dropped.
  absl::StatusOr<int64_t> Trim(absl::Time now);
  // Records kept (between the first kept position and the last).
  int64_t size() const;

 private:
  RecordLog() = default;

  Options options_;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* records_ = nullptr;
  rocksdb::ColumnFamilyHandle* marks_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_ = nullptr;
  // Serialises appends (positions are given in write order) and trims.
  mutable absl::Mutex mu_;
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t first_ ABSL_GUARDED_BY(mu_) = 1;  // The oldest position kept.
};

}  // namespace wapolicy

#endif  // WAPOLICY_STORAGE_RECORD_LOG_H_
