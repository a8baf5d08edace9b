#include "storage/portfolio_transfer.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "policy/record_codec.h"
#include "rocksdb/env.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_reader.h"
#include "rocksdb/sst_file_writer.h"

namespace wapolicy {
namespace {

namespace fs = std::filesystem;

using RecordFn = absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)>;

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

std::string Named(const ExportedFile& f) {
  return absl::StrCat("file ", f.path, " (", StateFamilyName(f.family), ")");
}

// The stored numbers that name `business_id` (number records), with `given`.
absl::StatusOr<std::vector<uint64_t>> NumbersOf(const RocksStateStore::SnapshotReader& reader,
                                                absl::string_view business_id,
                                                absl::Span<const PhoneNumber> given) {
  absl::flat_hash_set<uint64_t> wanted;
  for (PhoneNumber n : given) wanted.insert(n.value());
  std::vector<uint64_t> out;
  absl::Status s =
      reader.ScanAll(StateFamily::kNumber, [&](absl::string_view k, absl::string_view v) {
        absl::StatusOr<NumberRecord> r = DecodeNumber(k, v);
        if (!r.ok()) return r.status();
        if (r->business_id == business_id) {
          out.push_back(r->number);
          wanted.erase(r->number);
        } else if (wanted.contains(r->number)) {
          return absl::FailedPreconditionError(absl::StrCat(
              "numbers: ", PhoneNumber::FromDigitsValue(r->number).E164(),
              " is stored for business '", r->business_id, "', not '", business_id, "'"));
        }
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  out.insert(out.end(), wanted.begin(), wanted.end());  // Given, with no record: harmless.
  std::sort(out.begin(), out.end());
  return out;
}

// Calls `f` for every stored record of the business, family by family in
// kRestoreOrder: by key range, and the event ids by owner.
absl::Status ForEachRecordOf(
    const RocksStateStore::SnapshotReader& reader, absl::string_view business_id,
    const std::vector<uint64_t>& numbers,
    absl::FunctionRef<absl::Status(StateFamily, absl::string_view, absl::string_view)> f) {
  const std::vector<KeyRange> ranges = BusinessKeyRanges(business_id, numbers);
  const absl::flat_hash_set<uint64_t> mine(numbers.begin(), numbers.end());
  for (StateFamily family : kRestoreOrder) {
    auto each = [&](absl::string_view k, absl::string_view v) { return f(family, k, v); };
    absl::Status s;
    if (family == StateFamily::kEventId) {
      s = reader.ScanAll(family, [&](absl::string_view k, absl::string_view v) -> absl::Status {
        absl::StatusOr<RecordOwner> owner = OwnerOfRecord(family, k, v);
        if (!owner.ok()) return owner.status();
        return mine.contains(owner->number) ? f(family, k, v) : absl::OkStatus();
      });
    } else {
      std::vector<KeyRange> of_family;
      for (const KeyRange& r : ranges) {
        if (r.family == family) of_family.push_back(r);
      }
      s = reader.Scan(family, of_family, each);
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Erases every stored record of the business in one synced write after
// everything appended before: its key ranges, and its event ids one by one.
absl::Status EraseStored(RocksStateStore& store, absl::string_view business_id,
                         const std::vector<uint64_t>& numbers) {
  if (absl::Status s = store.Drain(); !s.ok()) return s;
  StateChanges event_ids;
  {
    std::unique_ptr<RocksStateStore::SnapshotReader> reader = store.NewSnapshotReader();
    const absl::flat_hash_set<uint64_t> mine(numbers.begin(), numbers.end());
    absl::Status s = reader->ScanAll(
        StateFamily::kEventId, [&](absl::string_view k, absl::string_view v) -> absl::Status {
          absl::StatusOr<RecordOwner> owner = OwnerOfRecord(StateFamily::kEventId, k, v);
          if (!owner.ok()) return owner.status();
          if (mine.contains(owner->number)) {
            StateChange& erase = event_ids.emplace_back();
            erase.family = StateFamily::kEventId;
            erase.erase = true;
            erase.key.assign(k.begin(), k.end());
          }
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
  }
  return store.WriteNow(std::move(event_ids), BusinessKeyRanges(business_id, numbers));
}

}  // namespace

void RecordsDigest::Add(absl::string_view key, absl::string_view value) {
  auto mix = [this](absl::string_view bytes) {
    uint64_t n = bytes.size();
    for (int i = 0; i < 8; ++i, n >>= 8) h_ = (h_ ^ (n & 0xff)) * 1099511628211ULL;
    for (unsigned char c : bytes) h_ = (h_ ^ c) * 1099511628211ULL;
  };
  mix(key);
  mix(value);
}

absl::StatusOr<PortfolioExport> ExportPortfolio(RocksStateStore& store,
                                                absl::string_view business_id,
                                                absl::Span<const PhoneNumber> numbers,
                                                const std::string& out_dir) {
  if (absl::Status s = ValidateBusinessId(business_id); !s.ok()) return s;
  for (size_t i = 0; i < numbers.size(); ++i) {
    if (!numbers[i].valid()) {
      return absl::InvalidArgumentError(absl::StrCat("numbers[", i, "]: not a valid E.164 number"));
    }
  }
  absl::StatusOr<ProfileRecord> profile = store.StoredProfile();
  if (!profile.ok()) return profile.status();
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("out_dir: cannot create ", out_dir, ": ", ec.message()));
  }
  // Every change appended for the business (its calls are stopped) is in
  // the snapshot.
  if (absl::Status s = store.Drain(); !s.ok()) return s;
  std::unique_ptr<RocksStateStore::SnapshotReader> reader = store.NewSnapshotReader();
  absl::StatusOr<std::vector<uint64_t>> all = NumbersOf(*reader, business_id, numbers);
  if (!all.ok()) return all.status();

  PortfolioExport out;
  out.business_id = std::string(business_id);
  for (uint64_t n : *all) out.numbers.push_back(PhoneNumber::FromDigitsValue(n));
  out.profile = profile->profile;

  // One writer at a time, family by family (ForEachRecordOf goes in order).
  std::unique_ptr<rocksdb::SstFileWriter> writer;
  ExportedFile file;
  RecordsDigest digest;
  auto finish = [&]() -> absl::Status {
    if (writer == nullptr) return absl::OkStatus();
    rocksdb::Status s = writer->Finish();
    writer.reset();
    if (!s.ok()) return absl::InternalError(absl::StrCat(Named(file), ": ", s.ToString()));
    file.bytes = fs::file_size(file.path, ec);
    if (ec) return absl::InternalError(absl::StrCat(Named(file), ": ", ec.message()));
    file.digest = digest.value();
    out.records += file.records;
    out.files.push_back(file);
    return absl::OkStatus();
  };
  bool has_business = false;
  absl::Status s = ForEachRecordOf(
      *reader, business_id, *all,
      [&](StateFamily f, absl::string_view k, absl::string_view v) -> absl::Status {
        if (writer == nullptr || file.family != f) {
          if (absl::Status done = finish(); !done.ok()) return done;
          file = ExportedFile();
          file.family = f;
          file.path = absl::StrCat(out_dir, "/", business_id, ".", StateFamilyName(f), ".sst");
          digest = RecordsDigest();
          rocksdb::Options options;
          options.compression = rocksdb::kLZ4Compression;
          writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), options);
          if (rocksdb::Status o = writer->Open(file.path); !o.ok()) {
            writer.reset();
            return absl::InternalError(absl::StrCat(Named(file), ": ", o.ToString()));
          }
        }
        has_business = has_business || f == StateFamily::kBusiness;
        if (rocksdb::Status p = writer->Put(ToSlice(k), ToSlice(v)); !p.ok()) {
          return absl::InternalError(absl::StrCat(Named(file), ": ", p.ToString()));
        }
        ++file.records;
        digest.Add(k, v);
        return absl::OkStatus();
      });
  if (s.ok()) s = finish();
  if (s.ok() && !has_business) {
    s = absl::NotFoundError(absl::StrCat("business_id '", business_id, "' is not stored here"));
  }
  if (!s.ok()) {
    writer.reset();
    for (const ExportedFile& f : out.files) fs::remove(f.path, ec);
    fs::remove(file.path, ec);
    return s;
  }
  return out;
}

absl::StatusOr<std::vector<StoredRecord>> ReadExportedRecords(const PortfolioExport& manifest) {
  std::vector<StoredRecord> out;
  out.reserve(static_cast<size_t>(std::max<int64_t>(manifest.records, 0)));
  size_t last_rank = 0;
  for (const ExportedFile& f : manifest.files) {
    const size_t rank = static_cast<size_t>(
        std::find(kRestoreOrder.begin(), kRestoreOrder.end(), f.family) - kRestoreOrder.begin());
    if (rank >= kRestoreOrder.size() || rank < last_rank) {
      return absl::InvalidArgumentError(
          absl::StrCat("files: ", Named(f), " is of an unknown family or out of order"));
    }
    last_rank = rank;
    std::error_code ec;
    const uint64_t bytes = fs::file_size(f.path, ec);
    if (ec) return absl::NotFoundError(absl::StrCat(Named(f), " is missing: ", ec.message()));
    if (bytes != f.bytes) {
      return absl::DataLossError(
          absl::StrCat(Named(f), ": ", bytes, " bytes, the manifest says ", f.bytes));
    }
    rocksdb::SstFileReader reader{rocksdb::Options()};
    rocksdb::Status s = reader.Open(f.path);
    if (s.ok()) s = reader.VerifyChecksum();
    if (!s.ok()) return absl::DataLossError(absl::StrCat(Named(f), ": ", s.ToString()));
    std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(rocksdb::ReadOptions()));
    RecordsDigest digest;
    int64_t records = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const absl::string_view k = ToView(it->key()), v = ToView(it->value());
      digest.Add(k, v);
      ++records;
      out.push_back({f.family, std::string(k), std::string(v)});
    }
    if (!it->status().ok()) {
      return absl::DataLossError(absl::StrCat(Named(f), ": ", it->status().ToString()));
    }
    if (records != f.records || digest.value() != f.digest) {
      return absl::DataLossError(absl::StrCat(
          Named(f), ": ", records, " records that do not match the manifest's ", f.records));
    }
  }
  if (static_cast<int64_t>(out.size()) != manifest.records) {
    return absl::DataLossError(
        absl::StrCat("files: ", out.size(), " records, the manifest says ", manifest.records));
  }
  return out;
}

absl::Status IngestPortfolio(RocksStateStore& store, PolicyEngine& engine,
                             const PortfolioExport& manifest, const IngestOptions& options) {
  const std::string& id = manifest.business_id;
  if (absl::Status s = ValidateBusinessId(id); !s.ok()) return s;
  absl::StatusOr<ProfileRecord> profile = store.StoredProfile();
  if (!profile.ok()) return profile.status();
  if (!(profile->profile == manifest.profile)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "profile: the export of '", id, "' was written under ", DescribeProfile(manifest.profile),
        ", this store under ", DescribeProfile(profile->profile)));
  }
  // A retried move that went through: refused before anything changes.
  if (engine.HasBusiness(id)) {
    return absl::FailedPreconditionError(
        absl::StrCat("business_id '", id, "' is already loaded on this node"));
  }
  for (PhoneNumber n : manifest.numbers) {
    if (absl::StatusOr<std::string> owner = engine.BusinessOf(n); owner.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "number ", n.E164(), " is already registered on this node (business '", *owner, "')"));
    }
  }
  absl::StatusOr<std::vector<StoredRecord>> records = ReadExportedRecords(manifest);
  if (!records.ok()) return records.status();
  std::vector<uint64_t> numbers;
  for (PhoneNumber n : manifest.numbers) numbers.push_back(n.value());
  for (const StoredRecord& r : *records) {
    if (r.family != StateFamily::kNumber) continue;
    absl::StatusOr<NumberRecord> n = DecodeNumber(r.key, r.value);
    if (!n.ok()) return n.status();
    numbers.push_back(n->number);
  }
  std::sort(numbers.begin(), numbers.end());
  numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());

  // The engine does not hold the business, so whatever the store holds of it
  // is left from an attempt that did not finish: replaced, not merged.
  if (absl::Status s = EraseStored(store, id, numbers); !s.ok()) return s;
  std::vector<RocksStateStore::IngestFile> files;
  for (const ExportedFile& f : manifest.files) files.push_back({f.family, f.path});
  if (absl::Status s = store.IngestFiles(files, options.move_files); !s.ok()) return s;
  if (absl::Status s = engine.RestoreBusiness(id, *records); !s.ok()) {
    absl::Status undone = EraseStored(store, id, numbers);
    return absl::Status(
        s.code(),
        absl::StrCat("loading the export of '", id, "': ", s.message(),
                     undone.ok() ? " (ingested records erased again)"
                                 : absl::StrCat(" (erasing them failed: ", undone.message(), ")")));
  }
  return absl::OkStatus();
}

absl::StatusOr<DroppedBusiness> DropPortfolio(RocksStateStore& store, PolicyEngine& engine,
                                              absl::string_view business_id) {
  if (absl::Status s = ValidateBusinessId(business_id); !s.ok()) return s;
  absl::StatusOr<DroppedBusiness> dropped = engine.DropBusiness(business_id);
  if (!dropped.ok() && dropped.status().code() != absl::StatusCode::kNotFound) return dropped;
  DroppedBusiness out;
  out.business_id = std::string(business_id);
  if (dropped.ok()) out = *std::move(dropped);
  std::vector<uint64_t> numbers;
  bool stored = false;
  {
    std::unique_ptr<RocksStateStore::SnapshotReader> reader = store.NewSnapshotReader();
    absl::StatusOr<std::vector<uint64_t>> all = NumbersOf(*reader, business_id, out.numbers);
    if (!all.ok()) return all.status();
    numbers = *std::move(all);
    const std::vector<KeyRange> business = {BusinessKeyRanges(business_id, {}).front()};
    absl::Status s =
        reader->Scan(StateFamily::kBusiness, business, [&](absl::string_view, absl::string_view) {
          stored = true;
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
  }
  if (!dropped.ok() && !stored && numbers.empty()) return dropped.status();
  if (absl::Status s = EraseStored(store, business_id, numbers); !s.ok()) return s;
  out.numbers.clear();
  for (uint64_t n : numbers) out.numbers.push_back(PhoneNumber::FromDigitsValue(n));
  return out;
}

}  // namespace wapolicy
