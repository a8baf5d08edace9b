// Every stored record's key and value, encoded and decoded in one place:
// keys in an order-preserving byte layout, values as versioned protobuf
// messages (proto/wapolicy/state/v1/records.proto). The layouts are below.
//
//   StateChange c = EncodeLedger({pool_id, customer, window});
//   absl::StatusOr<LedgerRecord> r = DecodeLedger(View(c.key), View(c.value));
#ifndef WAPOLICY_POLICY_RECORD_CODEC_H_
#define WAPOLICY_POLICY_RECORD_CODEC_H_

// Every stored state record's key and value layout, in one place.
//
// Keys are order-preserving byte layouts, so RocksDB keeps related records
// together and in order:
//   u64        8 bytes big-endian
//   i64        8 bytes big-endian with the sign bit flipped (sorts as signed)
//   u32        4 bytes big-endian
//   str        length-prefixed: one byte 0..254 for lengths up to 254, else
//              0xff and a u32 length; then the bytes. (Strings sort by
//              length, then bytes; any length.)
//   bytes32    u32 length, then the bytes
//
//   business   the business id's bytes
//   pool       the pool id's bytes: "N" + u64 number, or "B" + business id
//   number     u64 number
//   signal     u64 number, i64 at_us, u32 seq
//   ledger     str pool id, u64 customer      (a pool's customers in numeric order)
//   thread     u64 number, u64 customer
//   consent    str business id, u64 customer
//   template   str business id, bytes32 name, str language
//
// Values are wapolicy.state.v1 protobuf messages (proto/wapolicy/state/v1/
// records.proto), each with a format_version (kRecordFormatVersion). Nothing
// is truncated: strings and send histories of any length round-trip.
//
// Decoders answer DATA_LOSS naming the family ("corrupt consent record: ...")
// for bytes they cannot read, and DATA_LOSS saying the data was written by a
// newer server for a format version above kRecordFormatVersion.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "policy/consent.h"
#include "policy/conversations.h"
#include "policy/event_ids.h"
#include "policy/messaging_tier.h"
#include "policy/number_status.h"
#include "policy/profile_migration.h"
#include "policy/quality.h"
#include "policy/service_window.h"
#include "policy/state_journal.h"
#include "policy/templates.h"

namespace wapolicy {

// Format version written in every value (and in the profile record). Readers
// accept 1..kRecordFormatVersion.
inline constexpr uint32_t kRecordFormatVersion = 1;

// The order in which stored families must be fed to PolicyEngine::Restore:
// businesses first, then pools, numbers (which need both), their signals, and
// the records that hang off them.
inline constexpr std::array<StateFamily, kStateFamilyCount> kRestoreOrder = {
    StateFamily::kBusiness, StateFamily::kPool,     StateFamily::kNumber,
    StateFamily::kSignal,   StateFamily::kLedger,   StateFamily::kThread,
    StateFamily::kConsent,  StateFamily::kTemplate, StateFamily::kEventId,
};

absl::string_view StateFamilyName(StateFamily f);

struct BusinessRecord {
  std::string business_id;
  bool verified = false;
  bool official = false;
  uint32_t shadow = 0;  // ShadowSet (shadow_mode.h).
};
struct PoolRecord {
  std::string pool_id;
  std::string business_id;
  int level = 0;
  int pending_level = -1;
  int64_t pending_at_us = 0;
  PlatformLimit platform;
  bool volume_unlocked = false;  // MessagingTier::volume_unlocked.
};
struct NumberRecord {
  uint64_t number = 0;
  std::string business_id;
  int64_t flagged_since_us = 0;
  int64_t low_since_us = 0;
  PlatformStatus platform;
};
// One record per quality signal (so a signal is one write, not a rewrite of 7
// days of signals). `seq` tells apart signals of one number at the same time.
struct SignalRecord {
  uint64_t number = 0;
  int64_t at_us = 0;
  uint32_t seq = 0;
  SignalKind kind = SignalKind::kReport;
};
struct LedgerRecord {
  std::string pool_id;
  uint64_t customer = 0;
  ConversationWindow window;
};
struct ThreadRecord {
  uint64_t number = 0;
  uint64_t customer = 0;
  ServiceWindow window;
};
struct ConsentRecord {
  std::string business_id;
  uint64_t customer = 0;
  Consent::State state = Consent::State::kNone;
  OptInSource source = OptInSource::kUnspecified;
  int64_t changed_at_us = 0;
  bool all_topics = true;  // If false, the consent covers `topics` only.
  std::vector<std::string> topics;
  std::vector<int64_t> sends;      // Latest business-initiated sends, oldest first.
  std::vector<int64_t> marketing;  // The marketing ones among them.
  int64_t marketing_held_until_us = 0;
  int64_t marketing_preference_at_us = 0;  // 0: the platform never said.
  bool marketing_stopped = false;
};
// An applied event's id, by its digest (key: seen_at_us, number, h1, h2;
// event_ids.h): time first, so new ids are appended at the end.
struct EventIdRecord {
  EventKey key;
  int64_t seen_at_us = 0;  // When it was first applied (server time).
  uint32_t answer = 0;     // What it was answered.
};
struct TemplateRecord {
  std::string business_id;
  MessageTemplate tmpl;  // Keyed by tmpl.name and tmpl.language.
};

// Encoders. EncodeLedger, EncodeThread and EncodeConsent are on the decision
// path: they build no message object, and ledger and thread records (with a
// number's pool, or a portfolio pool whose business id is at most 30 bytes)
// fit RecordBytes' inline buffer, so they do not allocate.
StateChange EncodeBusiness(const BusinessRecord& r);
StateChange EncodePool(const PoolRecord& r);
StateChange EncodeNumber(const NumberRecord& r);
StateChange EncodeSignal(const SignalRecord& r);
StateChange EncodeLedger(const LedgerRecord& r);
StateChange EncodeThread(const ThreadRecord& r);
StateChange EncodeConsent(const ConsentRecord& r);
StateChange EncodeTemplate(const TemplateRecord& r);
StateChange EncodeEventId(const EventIdRecord& r);

// Erasures (the key alone).
StateChange EraseSignal(uint64_t number, int64_t at_us, uint32_t seq);
StateChange EraseLedger(absl::string_view pool_id, uint64_t customer);
StateChange EraseThread(uint64_t number, uint64_t customer);
StateChange EraseTemplate(absl::string_view business_id, absl::string_view name,
                          absl::string_view language);
StateChange EraseEventId(int64_t seen_at_us, const EventKey& key);

// Decoders: a stored record's key and value back to its struct.
absl::StatusOr<BusinessRecord> DecodeBusiness(absl::string_view key, absl::string_view value);
absl::StatusOr<PoolRecord> DecodePool(absl::string_view key, absl::string_view value);
absl::StatusOr<NumberRecord> DecodeNumber(absl::string_view key, absl::string_view value);
absl::StatusOr<SignalRecord> DecodeSignal(absl::string_view key, absl::string_view value);
absl::StatusOr<LedgerRecord> DecodeLedger(absl::string_view key, absl::string_view value);
absl::StatusOr<ThreadRecord> DecodeThread(absl::string_view key, absl::string_view value);
absl::StatusOr<ConsentRecord> DecodeConsent(absl::string_view key, absl::string_view value);
absl::StatusOr<TemplateRecord> DecodeTemplate(absl::string_view key, absl::string_view value);
absl::StatusOr<EventIdRecord> DecodeEventId(absl::string_view key, absl::string_view value);

// Pool ids: "N" + 8-byte big-endian number (per-number limits) or "B" +
// business id (per-portfolio limits).
std::string PoolIdForNumber(uint64_t number);
std::string PoolIdForBusiness(absl::string_view business_id);

// Which business (or, for number-keyed records, which number) owns a stored
// record: lets PolicyEngine::Restore route a record to its shard without
// parsing layouts itself. Exactly one is set:
//   business, pool, number*, consent, template, ledger of a "B" pool -> business_id
//   signal, thread, event id, ledger of an "N" pool                -> number
// (*) A number record names its business: it is what puts the number on the
// business's shard. DATA_LOSS if the record cannot be read.
struct RecordOwner {
  std::string business_id;
  uint64_t number = 0;
};
absl::StatusOr<RecordOwner> OwnerOfRecord(StateFamily family, absl::string_view key,
                                          absl::string_view value);

// Stored keys of one family from `begin` (included) to `end` (excluded), in
// bytewise order.
struct KeyRange {
  StateFamily family = StateFamily::kBusiness;
  std::string begin, end;
  bool Contains(absl::string_view key) const { return key >= begin && key < end; }
};
// The key ranges that hold every stored record of business `business_id`
// whose numbers are `numbers`, in every family but kEventId (its keys are
// time-first: find a business's event ids with OwnerOfRecord). Families in
// kRestoreOrder; within a family the ranges are sorted and disjoint:
//   business        the key (the business id)
//   pool            "B" + business id, and "N" + each number (either scope)
//   number          each number's key
//   signal, thread  each number's prefix (u64)
//   ledger          the prefix (str pool id) of each pool above
//   consent, template  the prefix (str business id)
// No other business's record falls in them.
std::vector<KeyRange> BusinessKeyRanges(absl::string_view business_id,
                                        absl::Span<const uint64_t> numbers);

// The profile a data directory was written under, and the format version of
// its records. Stored by storage in its own column family, kMetaFamilyName,
// under kProfileKey.
inline constexpr absl::string_view kMetaFamilyName = "meta";
inline constexpr absl::string_view kProfileKey = "profile";
struct ProfileRecord {
  ProfileIdentity profile;
  uint32_t records_format_version = kRecordFormatVersion;
};
std::string EncodeProfile(const ProfileRecord& r);
absl::StatusOr<ProfileRecord> DecodeProfile(absl::string_view value);

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_RECORD_CODEC_H_
