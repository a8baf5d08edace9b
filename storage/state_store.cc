#include "storage/state_store.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "policy/record_codec.h"
#include "rocksdb/db.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/options.h"
#include "rocksdb/snapshot.h"
#include "rocksdb/write_batch.h"

namespace wapolicy {
namespace {

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", s.ToString()));
}

// Index of the meta column family in families_ (after the state families).
constexpr int kMetaFamily = kStateFamilyCount;

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

// Calls `f(key, value)` for every record of one column family; stops at the
// first error `f` returns.
template <typename F>
absl::Status ForEachRecord(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, F f) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (absl::Status s = f(ToView(it->key()), ToView(it->value())); !s.ok()) return s;
  }
  return FromRocks(it->status(), "reading state");
}

// Two conversation slots of one customer that land in one pool (pools merged
// by a change of limit scope): the one that ends later, and the latest start.
ConversationWindow MergeWindows(const ConversationWindow& a, const ConversationWindow& b) {
  ConversationWindow w =
      a.slot_end_us > b.slot_end_us || (a.slot_end_us == b.slot_end_us && !a.pending) ? a : b;
  w.last_start_us = std::max(a.last_start_us, b.last_start_us);
  return w;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksStateStore>> RocksStateStore::Open(const std::string& dir,
                                                                       Durability durability,
                                                                       int64_t memtable_budget_mb) {
  std::unique_ptr<RocksStateStore> store(new RocksStateStore());
  store->dir_ = dir;
  store->durability_ = durability;
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.paranoid_checks = true;
  options.max_background_jobs = 2;
  // One thread writes at a time (the group commit's leader), so RocksDB's
  // concurrent memtable insert buys nothing, and it costs: it searches every
  // skip list from the top for each key, while the single-writer insert
  // resumes from the last insert's place, which for time-first keys (event
  // ids, signals) is where the next one goes.
  options.allow_concurrent_memtable_write = false;
  // One memory budget for every family's memtables: without it each of the
  // eight families could hold 3 x 128 MiB before flushing.
  options.db_write_buffer_size = static_cast<size_t>(std::max<int64_t>(memtable_budget_mb, 8))
                                 << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  rocksdb::ColumnFamilyOptions cf_options;
  // Writes dominate and the whole state is read only at start: large
  // memtables, few flushes, cheap compression.
  cf_options.write_buffer_size = std::min<size_t>(128 << 20, options.db_write_buffer_size / 2);
  cf_options.max_write_buffer_number = 3;
  cf_options.compression = rocksdb::kLZ4Compression;
  cf_options.level0_file_num_compaction_trigger = 8;
  // Nothing reads a memtable while the server runs (the state is in the
  // engine; RocksDB is read only at start), so an unsorted vector (append,
  // sorted once at flush) serves where a skip list would search millions of
  // entries on every write.
  cf_options.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
  for (int f = 0; f < kStateFamilyCount; ++f) {
    cfs.emplace_back(std::string(StateFamilyName(static_cast<StateFamily>(f))), cf_options);
  }
  cfs.emplace_back(std::string(kMetaFamilyName), rocksdb::ColumnFamilyOptions());
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
    const auto start = std::chrono::steady_clock::now();
    absl::Status s = Write(group);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    uint64_t records = 0;
    for (const StateChanges& c : group) records += c.size();
    lock.lock();
    writing_ = false;
    ++writes_;
    ++stats_.writes;
    stats_.change_sets += group.size();
    stats_.records += records;
    stats_.write_seconds += seconds;
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
      rocksdb::Status s = c.erase
                              ? batch.Delete(cf, key)
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

RocksStateStore::WriteStats RocksStateStore::write_stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

uint64_t RocksStateStore::EstimatedBytes() const {
  uint64_t total = 0;
  for (rocksdb::ColumnFamilyHandle* cf : families_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(cf, "rocksdb.estimate-live-data-size", &v)) total += v;
    if (db_->GetIntProperty(cf, "rocksdb.cur-size-all-mem-tables", &v)) total += v;
  }
  return total;
}

absl::StatusOr<int64_t> RocksStateStore::LoadInto(PolicyEngine& engine) {
  int64_t loaded = 0;
  for (StateFamily f : kRestoreOrder) {
    absl::Status s = ForEachRecord(db_.get(), families_[static_cast<int>(f)],
                                   [&](absl::string_view key, absl::string_view value) {
                                     ++loaded;
                                     return engine.Restore(f, key, value);
                                   });
    if (!s.ok()) return s;
  }
  engine.FinishRestore();
  return loaded;
}

absl::StatusOr<bool> RocksStateStore::HasAnyRecord() {
  for (int f = 0; f < kStateFamilyCount; ++f) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), families_[f]));
    it->SeekToFirst();
    if (it->Valid()) return true;
    if (absl::Status s = FromRocks(it->status(), "reading state"); !s.ok()) return s;
  }
  return false;
}

absl::StatusOr<ProfileCheck> RocksStateStore::CheckProfile(const PolicyProfile& profile,
                                                           bool migrate) {
  const ProfileIdentity running = IdentityOf(profile);
  ProfileCheck check;
  std::string value;
  rocksdb::Status got =
      db_->Get(rocksdb::ReadOptions(), families_[kMetaFamily], ToSlice(kProfileKey), &value);
  if (got.IsNotFound()) {
    absl::StatusOr<bool> any = HasAnyRecord();
    if (!any.ok()) return any.status();
    if (*any) {
      return absl::FailedPreconditionError(
          "data directory holds state written before records had format versions (it has no "
          "profile record); this server cannot read it: start on an empty --data_dir");
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    const std::string record = EncodeProfile(ProfileRecord{running});
    if (absl::Status s =
            FromRocks(db_->Put(wo, families_[kMetaFamily], ToSlice(kProfileKey), ToSlice(record)),
                      "recording the profile");
        !s.ok()) {
      return s;
    }
    check.outcome = ProfileCheck::Outcome::kRecorded;
    return check;
  }
  if (absl::Status s = FromRocks(got, "reading the profile record"); !s.ok()) return s;
  absl::StatusOr<ProfileRecord> stored = DecodeProfile(value);
  if (!stored.ok()) return stored.status();
  if (stored->records_format_version > kRecordFormatVersion) {
    return absl::DataLossError(absl::StrCat(
        "data directory holds records of format version ", stored->records_format_version,
        ", written by a newer server; this server reads versions up to ", kRecordFormatVersion));
  }
  check.stored = DescribeProfile(stored->profile);
  if (stored->profile == running) {
    check.outcome = ProfileCheck::Outcome::kSame;
    return check;
  }
  if (!migrate) {
    return absl::FailedPreconditionError(ProfileMismatchMessage(stored->profile, running));
  }
  if (absl::Status s = Migrate(stored->profile, running, &check); !s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat("migrating from profile ", check.stored, ": ", s.message()));
  }
  check.outcome = ProfileCheck::Outcome::kMigrated;
  return check;
}

absl::Status RocksStateStore::Migrate(const ProfileIdentity& from, const ProfileIdentity& to,
                                      ProfileCheck* out) {
  rocksdb::ColumnFamilyHandle* const pool_cf = families_[static_cast<int>(StateFamily::kPool)];
  rocksdb::ColumnFamilyHandle* const ledger_cf = families_[static_cast<int>(StateFamily::kLedger)];
  rocksdb::WriteBatch batch;
  auto batch_status = [](const rocksdb::Status& s) { return FromRocks(s, "building write batch"); };

  // Every pool, its tier placed on the new ladder.
  std::vector<PoolRecord> pools;
  absl::Status s = ForEachRecord(db_.get(), pool_cf, [&](absl::string_view k, absl::string_view v) {
    absl::StatusOr<PoolRecord> p = DecodePool(k, v);
    if (!p.ok()) return p.status();
    const MappedPoolLevels m = MapPoolLevels(from.ladder, to.ladder, p->level, p->pending_level);
    p->level = m.level;
    p->pending_level = m.pending_level;
    if (m.pending_level < 0) p->pending_at_us = 0;
    pools.push_back(*std::move(p));
    return absl::OkStatus();
  });
  if (!s.ok()) return s;

  // The pools to write: the same ids, unless the limit scope changed.
  std::map<std::string, PoolRecord> next;
  // Where each stored pool's conversations go.
  absl::flat_hash_map<std::string, std::vector<std::string>> moved_to;
  if (from.per_portfolio == to.per_portfolio) {
    for (PoolRecord& p : pools) next[p.pool_id] = std::move(p);
  } else {
    absl::flat_hash_map<std::string, std::vector<uint64_t>> numbers_of;  // By business.
    s = ForEachRecord(db_.get(), families_[static_cast<int>(StateFamily::kNumber)],
                      [&](absl::string_view k, absl::string_view v) {
                        absl::StatusOr<NumberRecord> n = DecodeNumber(k, v);
                        if (!n.ok()) return n.status();
                        numbers_of[n->business_id].push_back(n->number);
                        return absl::OkStatus();
                      });
    if (!s.ok()) return s;
    for (const PoolRecord& p : pools) {
      std::vector<std::string> targets;
      if (to.per_portfolio) {
        // A business's numbers share one pool, at the highest of their limits
        // (as the platform moved numbers to portfolio limits).
        targets.push_back(PoolIdForBusiness(p.business_id));
      } else {
        // Each number of the portfolio gets the portfolio's limit, and counts
        // all its open conversations (which number they used is not known), so
        // no number can admit more than the portfolio could.
        for (uint64_t n : numbers_of[p.business_id]) targets.push_back(PoolIdForNumber(n));
      }
      for (const std::string& id : targets) {
        auto [it, fresh] = next.try_emplace(id, p);
        PoolRecord& q = it->second;
        q.pool_id = id;
        if (!fresh) {
          q.level = std::max(q.level, p.level);
          q.volume_unlocked = q.volume_unlocked || p.volume_unlocked;
          if (p.pending_level > q.pending_level) {
            q.pending_level = p.pending_level;
            q.pending_at_us = p.pending_at_us;
          }
        }
      }
      moved_to[p.pool_id] = std::move(targets);
    }
    for (auto& [id, q] : next) {
      if (q.pending_level <= q.level) {
        q.pending_level = -1;
        q.pending_at_us = 0;
      }
    }
    // Conversations follow their pools.
    std::map<std::pair<std::string, uint64_t>, ConversationWindow> ledger;
    s = ForEachRecord(db_.get(), ledger_cf, [&](absl::string_view k, absl::string_view v) {
      absl::StatusOr<LedgerRecord> l = DecodeLedger(k, v);
      if (!l.ok()) return l.status();
      auto targets = moved_to.find(l->pool_id);
      if (targets == moved_to.end()) {
        return absl::DataLossError("corrupt ledger record: its pool is not stored");
      }
      if (absl::Status d = batch_status(batch.Delete(ledger_cf, ToSlice(k))); !d.ok()) return d;
      for (const std::string& id : targets->second) {
        auto [it, fresh] = ledger.try_emplace({id, l->customer}, l->window);
        if (!fresh) it->second = MergeWindows(it->second, l->window);
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    for (const auto& [where, window] : ledger) {
      const StateChange c = EncodeLedger({where.first, where.second, window});
      if (s = batch_status(batch.Put(ledger_cf, ToSlice(View(c.key)), ToSlice(View(c.value))));
          !s.ok()) {
        return s;
      }
      ++out->conversations_migrated;
    }
    for (const PoolRecord& p : pools) {
      if (s = batch_status(batch.Delete(pool_cf, ToSlice(p.pool_id))); !s.ok()) return s;
    }
  }
  for (const auto& [id, p] : next) {
    const StateChange c = EncodePool(p);
    if (s = batch_status(batch.Put(pool_cf, ToSlice(View(c.key)), ToSlice(View(c.value))));
        !s.ok()) {
      return s;
    }
    ++out->pools_migrated;
  }
  const std::string record = EncodeProfile(ProfileRecord{to});
  if (s = batch_status(batch.Put(families_[kMetaFamily], ToSlice(kProfileKey), ToSlice(record)));
      !s.ok()) {
    return s;
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Write(wo, &batch), "writing the migrated state");
}

absl::StatusOr<int64_t> RocksStateStore::Count(StateFamily family) {
  int64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), families_[static_cast<int>(family)]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  if (absl::Status s = FromRocks(it->status(), "reading state"); !s.ok()) return s;
  return n;
}

// --- Moving a portfolio ----------------------------------------------------------

RocksStateStore::SnapshotReader::SnapshotReader(
    rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>* families)
    : db_(db), families_(families), snapshot_(db->GetSnapshot()) {}

RocksStateStore::SnapshotReader::~SnapshotReader() { db_->ReleaseSnapshot(snapshot_); }

absl::Status RocksStateStore::SnapshotReader::Scan(
    StateFamily family, absl::Span<const KeyRange> ranges,
    absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)> f) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  ro.fill_cache = false;
  // One iterator for all ranges: over the unsorted vector memtable an
  // iterator sorts a copy of it, so making one per range would repeat that.
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(ro, (*families_)[static_cast<int>(family)]));
  for (const KeyRange& r : ranges) {
    for (it->Seek(ToSlice(r.begin)); it->Valid(); it->Next()) {
      const absl::string_view key = ToView(it->key());
      if (!r.end.empty() && key >= r.end) break;
      if (absl::Status s = f(key, ToView(it->value())); !s.ok()) return s;
    }
    if (absl::Status s = FromRocks(it->status(), "reading state"); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status RocksStateStore::SnapshotReader::ScanAll(
    StateFamily family,
    absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)> f) const {
  const KeyRange all{family, "", ""};
  return Scan(family, {&all, 1}, f);
}

std::unique_ptr<RocksStateStore::SnapshotReader> RocksStateStore::NewSnapshotReader() {
  return std::unique_ptr<SnapshotReader>(new SnapshotReader(db_.get(), &families_));
}

absl::Status RocksStateStore::AsLeader(absl::FunctionRef<absl::Status()> op) {
  std::unique_lock<std::mutex> lock(mu_);
  written_.wait(lock, [this] { return !writing_; });
  if (!failed_.ok()) return failed_;
  writing_ = true;
  std::vector<StateChanges> group(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(queue_.end()));
  queue_.clear();
  const uint64_t upto = appended_;
  lock.unlock();
  uint64_t records = 0;
  for (const StateChanges& c : group) records += c.size();
  const absl::Status s = records == 0 ? absl::OkStatus() : Write(group);
  const absl::Status done = s.ok() ? op() : s;
  lock.lock();
  writing_ = false;
  if (records != 0) {
    ++writes_;
    ++stats_.writes;
    stats_.change_sets += group.size();
    stats_.records += records;
  }
  if (!s.ok()) {
    failed_ = s;
  } else {
    durable_ = upto;
  }
  written_.notify_all();
  return done;
}

absl::Status RocksStateStore::IngestFiles(absl::Span<const IngestFile> files, bool move_files) {
  namespace fs = std::filesystem;
  if (files.empty()) return absl::OkStatus();
  // Copies first, outside the lead, into the data directory: then the lead
  // only links them in.
  std::vector<std::string> paths;
  std::vector<std::string> copies;
  auto remove_copies = [&] {
    std::error_code ignored;
    for (const std::string& c : copies) fs::remove(c, ignored);
  };
  if (move_files) {
    for (const IngestFile& f : files) paths.push_back(f.path);
  } else {
    const fs::path staging = fs::path(dir_) / "ingest";
    std::error_code ec;
    fs::create_directories(staging, ec);
    for (size_t i = 0; i < files.size() && !ec; ++i) {
      const std::string to =
          (staging / absl::StrCat(i, "-", fs::path(files[i].path).filename().string())).string();
      fs::copy_file(files[i].path, to, fs::copy_options::overwrite_existing, ec);
      if (!ec) {
        copies.push_back(to);
        paths.push_back(to);
      }
    }
    if (ec) {
      remove_copies();
      return absl::InternalError(absl::StrCat("copying state files to ingest: ", ec.message()));
    }
  }
  std::vector<rocksdb::IngestExternalFileArg> args;
  for (size_t i = 0; i < files.size(); ++i) {
    rocksdb::ColumnFamilyHandle* cf = families_[static_cast<int>(files[i].family)];
    auto it = std::find_if(args.begin(), args.end(), [&](const rocksdb::IngestExternalFileArg& a) {
      return a.column_family == cf;
    });
    if (it == args.end()) {
      args.emplace_back();
      it = args.end() - 1;
      it->column_family = cf;
      it->options.move_files = true;  // Links: the copies, or the caller's files.
      it->options.verify_checksums_before_ingest = true;
    }
    it->external_files.push_back(paths[i]);
  }
  absl::Status s =
      AsLeader([&] { return FromRocks(db_->IngestExternalFiles(args), "ingesting state files"); });
  remove_copies();  // Unlinked by RocksDB if ingested; else left to remove.
  return s;
}

absl::Status RocksStateStore::WriteNow(StateChanges changes,
                                       absl::Span<const KeyRange> erase_ranges) {
  rocksdb::WriteBatch batch;
  for (const KeyRange& r : erase_ranges) {
    rocksdb::Status s =
        batch.DeleteRange(families_[static_cast<int>(r.family)], ToSlice(r.begin), ToSlice(r.end));
    if (!s.ok()) return FromRocks(s, "building write batch");
  }
  for (const StateChange& c : changes) {
    rocksdb::ColumnFamilyHandle* cf = families_[static_cast<int>(c.family)];
    rocksdb::Status s = c.erase ? batch.Delete(cf, ToSlice(View(c.key)))
                                : batch.Put(cf, ToSlice(View(c.key)), ToSlice(View(c.value)));
    if (!s.ok()) return FromRocks(s, "building write batch");
  }
  return AsLeader([&] {
    rocksdb::WriteOptions wo;
    wo.sync = true;  // Rare and consequential: durable at machine level.
    return FromRocks(db_->Write(wo, &batch), "writing state");
  });
}

absl::StatusOr<ProfileRecord> RocksStateStore::StoredProfile() {
  std::string value;
  rocksdb::Status got =
      db_->Get(rocksdb::ReadOptions(), families_[kMetaFamily], ToSlice(kProfileKey), &value);
  if (got.IsNotFound()) return absl::NotFoundError("the data directory has no profile record");
  if (absl::Status s = FromRocks(got, "reading the profile record"); !s.ok()) return s;
  return DecodeProfile(value);
}

}  // namespace wapolicy
