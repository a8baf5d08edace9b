#include "storage/record_log.h"

#include <algorithm>
#include <cstring>

#include "absl/base/internal/endian.h"
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

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

// Keys are big-endian positions, so RocksDB's byte order is position order.
std::string PositionKey(uint64_t position) {
  std::string k(8, '\0');
  absl::big_endian::Store64(k.data(), position);
  return k;
}
uint64_t KeyPosition(absl::string_view k) {
  return k.size() == 8 ? absl::big_endian::Load64(k.data()) : 0;
}

// A record's value: its time (µs since the epoch, little-endian) then the bytes.
std::string EncodeValue(absl::Time time, absl::string_view value) {
  std::string v(8, '\0');
  absl::little_endian::Store64(v.data(), static_cast<uint64_t>(absl::ToUnixMicros(time)));
  v.append(value.data(), value.size());
  return v;
}
absl::StatusOr<RecordLog::Entry> DecodeEntry(absl::string_view key, absl::string_view value) {
  if (key.size() != 8 || value.size() < 8) {
    return absl::DataLossError("record log: a record is malformed");
  }
  RecordLog::Entry e;
  e.position = KeyPosition(key);
  e.time = absl::FromUnixMicros(static_cast<int64_t>(absl::little_endian::Load64(value.data())));
  e.value.assign(value.data() + 8, value.size() - 8);
  return e;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RecordLog>> RecordLog::Open(const std::string& dir,
                                                           Options options) {
  if (options.retention <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("record log: retention must be positive");
  }
  if (options.max_records < 1) {
    return absl::InvalidArgumentError("record log: max_records must be at least 1");
  }
  std::unique_ptr<RecordLog> log(new RecordLog());
  log->options_ = options;
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 1;
  db_options.db_write_buffer_size = 32 << 20;
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = 16 << 20;
  cf.compression = rocksdb::kLZ4Compression;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"records", cf},
      {"marks", rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, cfs, &handles, &log->db_);
  if (!s.ok()) return FromRocks(s, absl::StrCat("opening the record log at ", dir));
  log->default_ = handles[0];
  log->records_ = handles[1];
  log->marks_ = handles[2];
  std::unique_ptr<rocksdb::Iterator> it(log->db_->NewIterator(rocksdb::ReadOptions(), log->records_));
  absl::MutexLock lock(&log->mu_);
  it->SeekToLast();
  if (it->Valid()) log->next_ = KeyPosition(ToView(it->key())) + 1;
  it->SeekToFirst();
  log->first_ = it->Valid() ? KeyPosition(ToView(it->key())) : log->next_;
  if (absl::Status st = FromRocks(it->status(), "reading the record log"); !st.ok()) return st;
  return log;
}

RecordLog::~RecordLog() {
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* h : {default_, records_, marks_}) {
    if (h != nullptr) db_->DestroyColumnFamilyHandle(h);
  }
  db_->Close();
  delete db_;
}

absl::StatusOr<uint64_t> RecordLog::Append(absl::Span<const std::string> values, absl::Time time,
                                           const Marks& marks) {
  absl::MutexLock lock(&mu_);
  const uint64_t first = next_;
  rocksdb::WriteBatch batch;
  uint64_t p = first;
  for (const std::string& v : values) {
    batch.Put(records_, ToSlice(PositionKey(p++)), ToSlice(EncodeValue(time, v)));
  }
  for (const auto& [k, v] : marks) {
    if (v.empty()) {
      batch.Delete(marks_, ToSlice(k));
    } else {
      batch.Put(marks_, ToSlice(k), ToSlice(v));
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  if (absl::Status s = FromRocks(db_->Write(wo, &batch), "writing the record log"); !s.ok()) {
    return s;
  }
  next_ = p;
  return first;
}

absl::StatusOr<std::vector<RecordLog::Entry>> RecordLog::Read(uint64_t from, size_t max) const {
  std::vector<Entry> out;
  if (max == 0) return out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records_));
  for (it->Seek(ToSlice(PositionKey(from))); it->Valid() && out.size() < max; it->Next()) {
    absl::StatusOr<Entry> e = DecodeEntry(ToView(it->key()), ToView(it->value()));
    if (!e.ok()) return e.status();
    out.push_back(*std::move(e));
  }
  if (absl::Status s = FromRocks(it->status(), "reading the record log"); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<RecordLog::Entry>> RecordLog::Get(uint64_t position) const {
  std::string value;
  const std::string key = PositionKey(position);
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), records_, ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<Entry>();
  if (!s.ok()) return FromRocks(s, "reading the record log");
  absl::StatusOr<Entry> e = DecodeEntry(key, value);
  if (!e.ok()) return e.status();
  return std::optional<Entry>(*std::move(e));
}

uint64_t RecordLog::next_position() const {
  absl::MutexLock lock(&mu_);
  return next_;
}

void RecordLog::SkipTo(uint64_t position) {
  absl::MutexLock lock(&mu_);
  next_ = std::max(next_, position);
}

bool RecordLog::WaitFor(uint64_t position, absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto beyond = [this, position]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return next_ > position; };
  return mu_.AwaitWithDeadline(absl::Condition(&beyond), deadline);
}

absl::StatusOr<std::optional<std::string>> RecordLog::GetMark(absl::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), marks_, ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading the record log's marks");
  return std::optional<std::string>(std::move(value));
}

absl::Status RecordLog::ForEachMark(
    absl::string_view prefix,
    const std::function<void(absl::string_view key, absl::string_view value)>& f) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), marks_));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    const absl::string_view key = ToView(it->key());
    if (key.substr(0, prefix.size()) != prefix) break;
    f(key, ToView(it->value()));
  }
  return FromRocks(it->status(), "reading the record log's marks");
}

absl::Status RecordLog::PutMarksSynced(const Marks& marks) {
  rocksdb::WriteBatch batch;
  for (const auto& [k, v] : marks) {
    if (v.empty()) {
      batch.Delete(marks_, ToSlice(k));
    } else {
      batch.Put(marks_, ToSlice(k), ToSlice(v));
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Write(wo, &batch), "writing the record log's marks");
}

absl::StatusOr<int64_t> RecordLog::Trim(absl::Time now) {
  absl::MutexLock lock(&mu_);
  const absl::Time cutoff = now - options_.retention;
  // Records beyond max_records go whatever their age; then the old ones.
  uint64_t stop = first_;
  if (next_ - first_ > static_cast<uint64_t>(options_.max_records)) {
    stop = next_ - static_cast<uint64_t>(options_.max_records);
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records_));
  int64_t dropped = 0;
  for (it->Seek(ToSlice(PositionKey(stop))); it->Valid(); it->Next()) {
    absl::StatusOr<Entry> e = DecodeEntry(ToView(it->key()), ToView(it->value()));
    if (!e.ok()) return e.status();
    if (e->time >= cutoff) break;
    stop = e->position + 1;
  }
  if (absl::Status s = FromRocks(it->status(), "reading the record log"); !s.ok()) return s;
  if (stop <= first_) return 0;
  // Count what goes before deleting (positions skipped by SkipTo hold nothing).
  it.reset(db_->NewIterator(rocksdb::ReadOptions(), records_));
  for (it->Seek(ToSlice(PositionKey(first_))); it->Valid(); it->Next()) {
    if (KeyPosition(ToView(it->key())) >= stop) break;
    ++dropped;
  }
  const std::string from_key = PositionKey(first_), to_key = PositionKey(stop);
  rocksdb::WriteBatch batch;
  batch.DeleteRange(records_, ToSlice(from_key), ToSlice(to_key));
  if (absl::Status s = FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "trimming");
      !s.ok()) {
    return s;
  }
  first_ = stop;
  return dropped;
}

int64_t RecordLog::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(next_ - first_);
}

}  // namespace wapolicy
