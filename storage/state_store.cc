#include "storage/state_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace wapolicy {
namespace {

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", s.ToString()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksStateStore>> RocksStateStore::Open(const std::string& dir,
                                                                        Durability durability,
                                                                        int64_t memtable_budget_mb) {
  std::unique_ptr<RocksStateStore> store(new RocksStateStore());
  store->durability_ = durability;
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.paranoid_checks = true;
  options.max_background_jobs = 2;
  // One memory budget for every family's memtables: without it each of the
  // seven families could hold 3 x 128 MiB before flushing.
  options.db_write_buffer_size = static_cast<size_t>(std::max<int64_t>(memtable_budget_mb, 8)) << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  rocksdb::ColumnFamilyOptions cf_options;
  // Writes dominate and the whole state is read only at start: large
  // memtables, few flushes, cheap compression.
  cf_options.write_buffer_size = std::min<size_t>(128 << 20, options.db_write_buffer_size / 2);
  cf_options.max_write_buffer_number = 3;
  cf_options.compression = rocksdb::kLZ4Compression;
  cf_options.level0_file_num_compaction_trigger = 8;
  for (int f = 0; f < kStateFamilyCount; ++f) {
    cfs.emplace_back(std::string(StateFamilyName(static_cast<StateFamily>(f))), cf_options);
  }
  cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, cfs, &store->families_, &db);
  if (!s.ok()) return FromRocks(s, absl::StrCat("opening RocksDB at ", dir));
  store->db_.reset(db);
  return store;
}

RocksStateStore::~RocksStateStore() {
  if (db_ != nullptr) {
    for (rocksdb::ColumnFamilyHandle* h : families_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
}

uint64_t RocksStateStore::Append(StateChanges changes) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(std::move(changes));
  return ++appended_;
}

absl::Status RocksStateStore::Await(uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!failed_.ok()) return failed_;
    if (durable_ >= ticket) return absl::OkStatus();
    if (writing_) {
      // Another waiter is writing; it or the next one will cover this ticket.
      written_.wait(lock, [this] { return !writing_; });
      continue;
    }
    // Lead: write everything appended so far in one batch.
    writing_ = true;
    std::vector<StateChanges> group(std::make_move_iterator(queue_.begin()),
                                    std::make_move_iterator(queue_.end()));
    queue_.clear();
    const uint64_t upto = appended_;
    lock.unlock();
    absl::Status s = Write(group);
    lock.lock();
    writing_ = false;
    ++writes_;
    if (!s.ok()) {
      failed_ = s;
    } else {
      durable_ = upto;
    }
    written_.notify_all();
  }
}

absl::Status RocksStateStore::Write(const std::vector<StateChanges>& group) {
  rocksdb::WriteBatch batch;
  for (const StateChanges& changes : group) {
    for (const StateChange& c : changes) {
      rocksdb::ColumnFamilyHandle* cf = families_[static_cast<int>(c.family)];
      const rocksdb::Slice key(c.key.data(), c.key.size());
      rocksdb::Status s = c.erase ? batch.Delete(cf, key)
                                  : batch.Put(cf, key, rocksdb::Slice(c.value.data(), c.value.size()));
      if (!s.ok()) return FromRocks(s, "building write batch");
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = durability_ == Durability::kMachine;
  return FromRocks(db_->Write(wo, &batch), "writing state");
}

uint64_t RocksStateStore::writes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writes_;
}

absl::StatusOr<int64_t> RocksStateStore::LoadInto(PolicyEngine& engine) {
  int64_t loaded = 0;
  for (int f = 0; f < kStateFamilyCount; ++f) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), families_[f]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const rocksdb::Slice k = it->key(), v = it->value();
      absl::Status s = engine.Restore(static_cast<StateFamily>(f), absl::string_view(k.data(), k.size()),
                                      absl::string_view(v.data(), v.size()));
      if (!s.ok()) return s;
      ++loaded;
    }
    if (absl::Status s = FromRocks(it->status(), "reading state"); !s.ok()) return s;
  }
  engine.FinishRestore();
  return loaded;
}

absl::StatusOr<int64_t> RocksStateStore::Count(StateFamily family) {
  int64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), families_[static_cast<int>(family)]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  if (absl::Status s = FromRocks(it->status(), "reading state"); !s.ok()) return s;
  return n;
}

}  // namespace wapolicy
