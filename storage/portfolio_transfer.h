// Moving one business portfolio's stored state between nodes (issue 17,
// point 4): the data movement under the orchestration (freeze, RPCs, etcd).
// The old owner exports the business's records from one RocksDB snapshot
// into SST files, one per state family; the new owner checks them, ingests
// them into its store and loads them into its running engine; once the
// assignment has flipped, the old owner drops its copy.
//
//   // Old owner, with the business's calls stopped by the PortfolioGate:
//   absl::StatusOr<PortfolioExport> out =
//       ExportPortfolio(store, "acme", *engine.BusinessNumbers("acme"), "/var/move/acme");
//   // ... ship out->files and *out (the manifest) to the new owner ...
//   absl::Status in = IngestPortfolio(other_store, other_engine, *out);
//   // ... flip the assignment in etcd ...
//   absl::StatusOr<DroppedBusiness> gone = DropPortfolio(store, engine, "acme");
//
// Precondition for all three: no call for the business runs on the node
// (the gate refuses new ones and those in flight have answered); calls for
// other businesses keep running. Each drains the store's group commit first,
// so every change appended for the business before is in the snapshot, under
// the ingested files, or before the deletion.
#ifndef WAPOLICY_STORAGE_PORTFOLIO_TRANSFER_H_
#define WAPOLICY_STORAGE_PORTFOLIO_TRANSFER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "policy/phone_number.h"
#include "policy/policy_engine.h"
#include "policy/state_journal.h"
#include "storage/state_store.h"

namespace wapolicy {

// One exported family's SST file.
struct ExportedFile {
  StateFamily family = StateFamily::kBusiness;
  std::string path;
  int64_t records = 0;
  uint64_t bytes = 0;   // The file's size.
  uint64_t digest = 0;  // RecordsDigest of its records, in key order.
};

// The manifest of an export: what the receiver must find in the files.
struct PortfolioExport {
  std::string business_id;
  std::vector<PhoneNumber> numbers;  // Sorted.
  // The profile the exporting store was written under (record_codec.h): a
  // store under another profile (ladder, limit scope) refuses the export.
  ProfileIdentity profile;
  std::vector<ExportedFile> files;  // In kRestoreOrder; families with records only.
  int64_t records = 0;              // All files together.
};

// A digest of records in order (64-bit, FNV-1a based, the same in every
// process): detects a missing, extra, reordered or changed record.
class RecordsDigest {
 public:
  void Add(absl::string_view key, absl::string_view value);
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 14695981039346656037ULL;
};

// Writes every record of `business_id` (whose numbers are `numbers`) as
// `store` holds them at one moment (one RocksDB snapshot, after draining the
// group commit) into `out_dir` (created if missing; files named
// "<business>.<family>.sst"), one SST file per family that has any. Families
// are read by key range (BusinessKeyRanges) except event ids, whose
// time-first keys are scanned whole and kept by owner (OwnerOfRecord).
// NOT_FOUND if the store holds no business record of it.
absl::StatusOr<PortfolioExport> ExportPortfolio(RocksStateStore& store,
                                                absl::string_view business_id,
                                                absl::Span<const PhoneNumber> numbers,
                                                const std::string& out_dir);

// Reads an export's records back from its SST files (rocksdb::SstFileReader,
// block checksums verified) and checks them against the manifest: each file
// present, of its size, with its records in its family's key order, its
// count and digest. In kRestoreOrder, as PolicyEngine::RestoreBusiness takes
// them. NOT_FOUND naming a missing file; DATA_LOSS naming a file that does
// not match.
absl::StatusOr<std::vector<StoredRecord>> ReadExportedRecords(const PortfolioExport& manifest);

struct IngestOptions {
  // Hard-link the files into the store and unlink them (a retry then needs
  // the files again); else copy them.
  bool move_files = false;
};

// Takes an export into `store` and `engine`: checks the manifest and files
// (ReadExportedRecords) and the profile, erases whatever the store holds of
// the business (a half-done earlier attempt), ingests the files (durable when
// this returns; RocksStateStore::IngestFiles) and loads the records into the
// running engine (PolicyEngine::RestoreBusiness). If the engine refuses the
// records, the ingested ones are erased again. Retried after it succeeded
// (the same export, or any), it changes nothing and answers
// FAILED_PRECONDITION (the engine holds the business or one of its numbers);
// a refused file, manifest or profile changes nothing.
absl::Status IngestPortfolio(RocksStateStore& store, PolicyEngine& engine,
                             const PortfolioExport& manifest, const IngestOptions& options = {});

// Forgets `business_id` on this node: PolicyEngine::DropBusiness (which
// waits for the business's journaled changes to be durable), then one synced
// write after every change appended before (RocksStateStore::WriteNow)
// erasing its records: DeleteRange over its key ranges, a point delete for
// each of its event ids. Its numbers are the engine's and those the store's
// number records give it, so it may be retried, also after a restart, and
// erases what an engine without the business left in storage. NOT_FOUND
// only if neither the engine nor the store holds the business.
absl::StatusOr<DroppedBusiness> DropPortfolio(RocksStateStore& store, PolicyEngine& engine,
                                              absl::string_view business_id);

}  // namespace wapolicy

#endif  // WAPOLICY_STORAGE_PORTFOLIO_TRANSFER_H_
