// The decision log (issue 15, point 4): every hold, and allows at a sample
// rate, kept with its id, time, number, customer, message and the numbers
// behind the answer, in a RecordLog (storage/record_log.h) of its own beside
// the state store, for a retention and a size bound; looked up by id
// (PolicyService.GetDecision, GET /v1/decisions/{id}, `policyctl explain`).
//
//   auto log = DecisionLog::Open(data_dir + "/decisions", {.allow_sample = 0.1}, &clock,
//                                profile.name, profile.revision);
//   std::vector<uint64_t> ids(messages.size());
//   (*log)->Record(messages, decisions, absl::MakeSpan(ids));  // On the decision path.
//   absl::StatusOr<DecisionRecord> r = (*log)->Lookup(ids[0]);  // NOT_FOUND says why.
//
// How it stays off the decision path's bill (the design, chosen for
// CheckBatch at hundreds of thousands of decisions a second on two cores):
//  - Blocks. Decisions are packed into blocks of up to kBlockIds ids; one
//    RecordLog record per block, at a position known when the block opens.
//    A decision's id is position * kBlockIds + its index in the block, so an
//    id names its block and place without any index: ids are not dense (a
//    block sealed early leaves the rest of its ids unused) but they increase.
//  - Encoding under one short lock per call (a batch of 100 is one lock): the
//    entry is a compact varint layout (DecisionBlockEncoder, ~17 bytes for an
//    ordinary allow), not a protobuf. Nothing is written on the decision path.
//  - A writer thread appends sealed blocks, kWriteRun at a time in one
//    RocksDB write (under load a block fills in about a millisecond), and
//    every block within `flush_after` (1 s) of its opening, sealing the
//    open one then: a decision is on disk (RocksDB's WAL: it survives a
//    killed process) at most about a second after it was answered. Why not
//    sooner: the size bound counts blocks (RecordLog's max_records), and a
//    block sealed by age holds what came in that time, so at low load the
//    delay sets how many blocks a week takes (at most 604,800 at 1 s; 6M at
//    100 ms, which would need a bound far too large for full blocks). The decision
//    path wakes the writer only when a run is ready or nothing was waiting.
//    The queue of sealed blocks is bounded: when the writer falls behind, a
//    new sealed block is dropped and its decisions counted as dropped, never
//    waited for. It is never a separate synchronous write per decision.
//  - Ids are never reused, even after a crash lost blocks not yet written:
//    the writer reserves positions ahead in a synced mark ("hi-lo"), and a
//    restart starts past the reservation (RecordLog::SkipTo). A clean stop
//    gives back the unused part of the reservation.
//  - Lookups look in the open block and the queue first, then the log.
//  - The writer also trims: records older than the retention (by the engine's
//    clock, so a fake clock moves it) and the oldest past `max_blocks`.
#ifndef WAPOLICY_SERVER_DECISION_LOG_H_
#define WAPOLICY_SERVER_DECISION_LOG_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "policy/clock.h"
#include "policy/decision.h"
#include "policy/outgoing_message.h"
#include "server/metrics_registry.h"
#include "storage/record_log.h"

namespace wapolicy {

// Ids per block: an id is block position * kBlockIds + index.
inline constexpr uint64_t kBlockIds = 1024;

// One logged decision: what was asked, and the answer with the numbers behind it.
struct DecisionRecord {
  uint64_t id = 0;
  absl::Time time;  // The engine clock's time of the decision (to the millisecond).
  PhoneNumber business_number;
  PhoneNumber customer;
  MessageKind kind = MessageKind::kTemplate;
  std::string template_name;      // Templates.
  std::string template_language;  // Templates.
  SessionType session_type = SessionType::kText;  // Sessions.
  bool marketing = false;                         // A session message declared promotional.
  bool dry_run = false;
  bool pace = false;
  std::string message_id;
  // The answer. Its times are kept to the millisecond (as the API gives them).
  Decision decision;
  std::string profile_name;  // The profile that decided.
  int64_t profile_revision = 0;
  bool written = false;  // In the log's RocksDB (else still waiting for the writer).
};

// Builds one block's bytes. Layout (integers are LEB128 varints unless u8/u16,
// little-endian; zz = zigzag for signed values):
//   header  u8 version (1), u16 ids used (patched by Finish), zz base time (ms
//           since the epoch), str profile name, zz profile revision
//   entries in increasing index order, each:
//           flags (most of them say what differs from what came before),
//           [index - previous index - 1: kIndexGap; else the next index],
//           [zz(time - base) ms: kNewTime; else the previous entry's time],
//           the business number (kNewBusiness: it also joins the block's
//           table) or its place in the table, zz(customer - the previous
//           entry's customer),
//           [u8 reason * 8 + effect: kNewReason; else the previous entry's],
//           [u8 session type: kSession],
//           [zz(limit - the number's previous), zz(used - the number's
//           previous): kNewCounts; else the number's previous ones],
//           [zz(next free slot - time) ms: kNewNextSlot; else the number's
//           previous one, or none: kNoNextSlot],
//           for each of window end, conversation end, retry after, send at
//           flagged present: zz(t - time) ms (the conversation end: zz(t -
//           the previous entry's conversation end, base time + 24 h at first)),
//           [str template name, str language: kNewTemplate; else the last
//           template entry's, for templates],
//           [str message id], [str detail],
//           [u8 shadow reason, str its detail: kShadow (shadow mode)]
//   str = varint length + bytes.
// An ordinary allow in a batch is about 10 bytes: flags (1), its number's
// place (1), the customer (~4) and its conversation's end (~4).
class DecisionBlockEncoder {
 public:
  DecisionBlockEncoder(absl::Time base_time, absl::string_view profile_name,
                       int64_t profile_revision);
  // Starts another block (after Finish): the encoder is reused, its table of
  // numbers invalidated rather than cleared.
  void Reset(absl::Time base_time);
  // Appends an entry; indexes must increase and be below kBlockIds.
  void Add(uint32_t index, absl::Time time, const OutgoingMessage& m, const Decision& d);
  // The block, with `ids_used` (how many of its ids were given) in its header.
  std::string Finish(uint32_t ids_used) &&;
  size_t entries() const { return entries_; }
  size_t bytes() const { return size_; }
  // The block so far (its header's ids used not filled in yet).
  absl::string_view view() const { return absl::string_view(out_.data(), size_); }

 private:
  // A number's place in the block's table and what its next entry is written against.
  struct BusinessSlot {
    uint64_t number = 0;
    uint32_t generation = 0;  // Valid in the block of this generation only.
    uint32_t index = 0;
    int64_t limit = 0, used = 0;
    absl::Time next_slot;  // Compared as a time: converted only when it moves.
    int64_t next_slot_ms = 0;
    bool has_next_slot = false;
  };
  // Room for `n` more bytes at the end of what is written; returns where it starts.
  char* Reserve(size_t n);

  std::string profile_name_;
  int64_t profile_revision_;
  std::string out_;  // Written up to size_; the rest is room.
  size_t size_ = 0;
  int64_t base_ms_ = 0;
  size_t entries_ = 0;
  int32_t prev_index_ = -1;
  int prev_reason_ = 0xff;  // None yet.
  absl::Time last_time_ = absl::InfinitePast();
  int64_t last_ms_ = 0;
  uint64_t prev_customer_ = 0;
  int64_t prev_conversation_end_ms_ = 0;
  BusinessSlot businesses_[256];  // Direct-mapped: number -> its place in the table.
  uint32_t generation_ = 0;
  uint32_t next_business_ = 0;
  bool have_template_ = false;
  std::string prev_template_name_, prev_template_language_;
};

struct DecodedBlock {
  uint32_t ids_used = 0;
  std::string profile_name;
  int64_t profile_revision = 0;
  std::vector<std::pair<uint32_t, DecisionRecord>> entries;  // (index, record); id left 0.
};
// DATA_LOSS for bytes that are not a block (never crashes, whatever the bytes).
absl::StatusOr<DecodedBlock> DecodeDecisionBlock(absl::string_view bytes);
// The entry at `index`, or nullopt (the id was not logged).
absl::StatusOr<std::optional<DecisionRecord>> FindInDecisionBlock(absl::string_view bytes,
                                                                  uint32_t index);

class DecisionLog {
 public:
  struct Options {
    // Allowed decisions logged: 1 = all, 0 = none, 0.25 = one in four (holds always).
    double allow_sample = 1.0;
    absl::Duration retention = absl::Hours(24 * 7);
    // Up to kBlockIds decisions each (~17 KB of allows, ~7 KB after RocksDB's LZ4).
    int64_t max_blocks = 1'000'000;
    absl::Duration flush_after = absl::Seconds(1);  // A block is written this long after it opens.
    int max_pending_blocks = 256;  // Sealed blocks waiting for the writer; more are dropped.
    absl::Duration trim_interval = absl::Seconds(60);
    // Positions reserved ahead at a time, in a synced write (an fsync of the
    // log's WAL, so not too often: every ~2 s at a million decisions a
    // second); a crash skips at most this many.
    uint64_t reserve_blocks = 4096;
  };
  struct Stats {
    int64_t logged = 0;       // Decisions put in blocks.
    int64_t not_sampled = 0;  // Allows left out by the sample rate.
    int64_t dropped = 0;      // Logged decisions whose block was dropped (writer behind, error).
    int64_t blocks_written = 0;
    int64_t bytes_written = 0;
    int64_t write_errors = 0;
    int64_t blocks_trimmed = 0;
    int64_t blocks_pending = 0;  // Sealed, waiting for the writer.
    int64_t blocks_kept = 0;     // Positions the log spans (RecordLog::size).
  };

  // Opens (creating) the log in `dir` and starts its writer. `clock` (the
  // engine's) dates decisions and drives the retention; it must outlive the log.
  static absl::StatusOr<std::unique_ptr<DecisionLog>> Open(const std::string& dir,
                                                           Options options, const Clock* clock,
                                                           std::string profile_name,
                                                           int64_t profile_revision);
  // Seals the open block, writes what waits, gives back the unused
  // reservation and stops the writer.
  ~DecisionLog();
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  // The decision path: gives every decision in `decisions` an id (written to
  // the same index of `ids`; 0 for an entry that is an error) and logs the
  // holds and the sampled allows. `messages` are what was decided, in the
  // same order. One lock for the whole call; no I/O.
  void Record(absl::Span<const OutgoingMessage> messages,
              absl::Span<const absl::StatusOr<Decision>> decisions, absl::Span<uint64_t> ids);
  uint64_t RecordOne(const OutgoingMessage& message, const Decision& decision);

  // The decision with this id. NOT_FOUND saying why when it is not there:
  // never given, an allow not sampled, past the retention or the size bound,
  // or dropped. DATA_LOSS for a block that cannot be read.
  absl::StatusOr<DecisionRecord> Lookup(uint64_t id) const;

  Stats stats() const;
  const Options& options() const { return options_; }

 private:
  struct Block {
    uint64_t position = 0;
    absl::Time last_time;     // The newest decision's time: the record's time.
    absl::Time opened;        // Wall time: when it must be sealed.
    uint32_t ids_used = 0;
    std::unique_ptr<DecisionBlockEncoder> encoder;  // While open.
    std::string bytes;                            // Once sealed.
    size_t entries = 0;
  };

  DecisionLog(Options options, const Clock* clock, std::string profile_name,
              int64_t profile_revision, std::unique_ptr<RecordLog> log);
  // Gives the next id (opening or sealing blocks) and logs the decision if it should be.
  uint64_t RecordLocked(absl::Time now, const OutgoingMessage& m, const Decision& d)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OpenBlockLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SealLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool NeedReserveLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return next_position_ + options_.reserve_blocks / 2 >= reserved_;
  }
  void WriterLoop();
  // Writes the first run of consecutive positions in pending_ in one Append.
  void WriteRunLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sealed blocks the writer takes in one go (one RocksDB write), unless the
  // oldest is due first.
  static constexpr size_t kWriteRun = 16;
  // Writes the reservation mark (synced); true if written.
  bool Reserve(uint64_t up_to);

  const Options options_;
  const Clock* const clock_;
  const std::string profile_name_;
  const int64_t profile_revision_;
  const std::unique_ptr<RecordLog> log_;

  // std::mutex rather than absl::Mutex: Debian's Abseil is not
  // ThreadSanitizer-instrumented (policy/internal/mutex.h).
  mutable std::mutex mu_;
  std::optional<Block> open_ ABSL_GUARDED_BY(mu_);
  // The last sealed block's encoder, for the next block (its number table is big).
  std::unique_ptr<DecisionBlockEncoder> spare_encoder_ ABSL_GUARDED_BY(mu_);
  std::deque<Block> pending_ ABSL_GUARDED_BY(mu_);  // Sealed, oldest first.
  // The run being written (the strings are only read while unlocked), from
  // writing_first_: lookups find its blocks here until they are in the log.
  std::vector<std::string> writing_ ABSL_GUARDED_BY(mu_);
  uint64_t writing_first_ ABSL_GUARDED_BY(mu_) = 0;
  bool writer_idle_ ABSL_GUARDED_BY(mu_) = false;  // Asleep with nothing waiting.
  uint64_t next_position_ ABSL_GUARDED_BY(mu_) = 1;  // The next block's position.
  uint64_t reserved_ ABSL_GUARDED_BY(mu_) = 1;       // Positions below it are reserved.
  double sample_credit_ ABSL_GUARDED_BY(mu_) = 0;    // Allows are logged as it reaches 1.
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::condition_variable work_;  // Wakes the writer (with mu_).
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread writer_;
};

// The log's counts on /metrics (wapolicy_decision_log_*), read at scrape time.
// `log` must outlive `registry`'s renders.
void AddDecisionLogMetrics(const DecisionLog* log, MetricsRegistry* registry);

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_DECISION_LOG_H_
