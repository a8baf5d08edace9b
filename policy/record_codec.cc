#include "policy/record_codec.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <functional>

#include "absl/base/config.h"
#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "proto/wapolicy/state/v1/records.pb.h"

namespace wapolicy {

absl::string_view StateFamilyName(StateFamily f) {
  switch (f) {
    case StateFamily::kBusiness:
      return "business";
    case StateFamily::kPool:
      return "pool";
    case StateFamily::kNumber:
      return "number";
    case StateFamily::kLedger:
      return "ledger";
    case StateFamily::kThread:
      return "thread";
    case StateFamily::kConsent:
      return "consent";
    case StateFamily::kTemplate:
      return "template";
    case StateFamily::kSignal:
      return "signal";
    case StateFamily::kEventId:
      return "event_id";
  }
  return "unknown";
}

namespace {

namespace pb = ::wapolicy::state::v1;
using WFL = ::google::protobuf::internal::WireFormatLite;
using ::google::protobuf::io::CodedOutputStream;

// ---------------------------------------------------------------------------
// Keys

// Bytes a length-prefixed string (`str`) takes.
inline size_t StrSize(size_t n) { return (n < 255 ? 1 : 5) + n; }

// Appends `n` bytes to `out` and returns where they start.
template <typename Out>
inline char* Grow(Out* out, size_t n) {
  const size_t old = out->size();
  out->resize(old + n);
  return &(*out)[0] + old;
}

inline char* PutU64(char* p, uint64_t v) {
  absl::big_endian::Store64(p, v);
  return p + 8;
}
inline char* PutI64(char* p, int64_t v) {
  return PutU64(p, static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
}
inline char* PutU32(char* p, uint32_t v) {
  absl::big_endian::Store32(p, v);
  return p + 4;
}
inline char* PutRaw(char* p, absl::string_view s) {
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
inline char* PutStr(char* p, absl::string_view s) {
  if (s.size() < 255) {
    *p++ = static_cast<char>(s.size());
  } else {
    *p++ = static_cast<char>(0xff);
    p = PutU32(p, static_cast<uint32_t>(s.size()));
  }
  return PutRaw(p, s);
}
inline char* PutBytes32(char* p, absl::string_view s) {
  return PutRaw(PutU32(p, static_cast<uint32_t>(s.size())), s);
}

// Reads a key; every Get fails (returns false) past the end.
class KeyReader {
 public:
  explicit KeyReader(absl::string_view in) : in_(in) {}
  bool GetU64(uint64_t* v) {
    if (in_.size() < 8) return false;
    *v = absl::big_endian::Load64(in_.data());
    in_.remove_prefix(8);
    return true;
  }
  bool GetI64(int64_t* v) {
    uint64_t u;
    if (!GetU64(&u)) return false;
    *v = static_cast<int64_t>(u ^ (uint64_t{1} << 63));
    return true;
  }
  bool GetU32(uint32_t* v) {
    if (in_.size() < 4) return false;
    *v = absl::big_endian::Load32(in_.data());
    in_.remove_prefix(4);
    return true;
  }
  bool GetStr(std::string* s) {
    if (in_.empty()) return false;
    uint32_t n = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    if (n == 0xff && (!GetU32(&n) || n < 255)) return false;  // Long form only past 254.
    return GetRaw(n, s);
  }
  bool GetBytes32(std::string* s) {
    uint32_t n;
    return GetU32(&n) && GetRaw(n, s);
  }
  bool done() const { return in_.empty(); }

 private:
  bool GetRaw(uint32_t n, std::string* s) {
    if (in_.size() < n) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  absl::string_view in_;
};

void PutLedgerKey(RecordBytes* key, absl::string_view pool_id, uint64_t customer) {
  PutU64(PutStr(Grow(key, StrSize(pool_id.size()) + 8), pool_id), customer);
}
void PutThreadKey(RecordBytes* key, uint64_t number, uint64_t customer) {
  PutU64(PutU64(Grow(key, 16), number), customer);
}
void PutSignalKey(RecordBytes* key, uint64_t number, int64_t at_us, uint32_t seq) {
  PutU32(PutI64(PutU64(Grow(key, 20), number), at_us), seq);
}
// Time first: ids arrive in time order, so new keys land at the end of the
// family's memtable (cheap for RocksDB's skip list) and expire from its front.
void PutEventIdKey(RecordBytes* key, int64_t seen_at_us, const EventKey& k) {
  PutU64(PutU64(PutU64(PutI64(Grow(key, 32), seen_at_us), k.number), k.h1), k.h2);
}
void PutTemplateKey(RecordBytes* key, absl::string_view business_id, absl::string_view name,
                    absl::string_view language) {
  char* p = Grow(key, StrSize(business_id.size()) + 4 + name.size() + StrSize(language.size()));
  PutStr(PutBytes32(PutStr(p, business_id), name), language);
}

// ---------------------------------------------------------------------------
// Values, written by hand (the hot-path families)

constexpr int kVersionSize = 1 + CodedOutputStream::StaticVarintSize32<kRecordFormatVersion>::value;
constexpr int kFixed64FieldSize = 1 + 8;  // Fields 1..15 have one-byte tags.

inline uint8_t* Bytes(RecordBytes* out, size_t n) {
  return reinterpret_cast<uint8_t*>(Grow(out, n));
}

inline uint8_t* WriteVersion(uint8_t* t) {
  return WFL::WriteUInt32ToArray(1, kRecordFormatVersion, t);
}
inline uint8_t* WriteSFixed64IfSet(int field, int64_t v, uint8_t* t) {
  return v == 0 ? t : WFL::WriteSFixed64ToArray(field, v, t);
}
inline size_t EnumFieldSize(int v) { return v == 0 ? 0 : 1 + WFL::EnumSize(v); }
inline size_t LengthDelimitedSize(size_t n) {
  return 1 + CodedOutputStream::VarintSize32(static_cast<uint32_t>(n)) + n;
}
inline size_t PackedFixed64Size(size_t count) {
  return count == 0 ? 0 : LengthDelimitedSize(8 * count);
}
inline uint8_t* WriteLengthDelimited(int field, absl::string_view s, uint8_t* t) {
  t = WFL::WriteTagToArray(field, WFL::WIRETYPE_LENGTH_DELIMITED, t);
  t = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(s.size()), t);
  if (!s.empty()) std::memcpy(t, s.data(), s.size());
  return t + s.size();
}
inline uint8_t* WritePackedFixed64(int field, const std::vector<int64_t>& v, uint8_t* t) {
  if (v.empty()) return t;
  t = WFL::WriteTagToArray(field, WFL::WIRETYPE_LENGTH_DELIMITED, t);
  t = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(8 * v.size()), t);
#if defined(ABSL_IS_LITTLE_ENDIAN)
  std::memcpy(t, v.data(), 8 * v.size());
  return t + 8 * v.size();
#else
  for (int64_t x : v) t = WFL::WriteSFixed64NoTagToArray(x, t);
  return t;
#endif
}

// Values written through message objects (the other families).
template <typename M>
void PutMessage(const M& m, RecordBytes* out) {
  const size_t n = m.ByteSizeLong();
  m.SerializeWithCachedSizesToArray(Bytes(out, n));
}

// ---------------------------------------------------------------------------
// Decoding

absl::Status Corrupt(StateFamily f, absl::string_view why) {
  return absl::DataLossError(absl::StrCat("corrupt ", StateFamilyName(f), " record: ", why));
}

absl::Status Newer(absl::string_view what, uint64_t version) {
  return absl::DataLossError(absl::StrCat(
      what, " record has format version ", version, " but this server reads versions up to ",
      kRecordFormatVersion, ": the data was written by a newer server"));
}

// The format_version (field 1, written first) of a value a full parse refused.
bool PeekFormatVersion(absl::string_view value, uint64_t* v) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(value.data()),
                                            static_cast<int>(std::min<size_t>(value.size(), 16)));
  return in.ReadTag() == WFL::MakeTag(1, WFL::WIRETYPE_VARINT) && in.ReadVarint64(v);
}

// Parses `value` as M and checks its format version; `what` names the record.
template <typename M>
absl::Status ParseVersioned(absl::string_view value, M* m, absl::string_view what,
                            const std::function<absl::Status(absl::string_view)>& corrupt) {
  if (value.size() > static_cast<size_t>(INT_MAX) ||
      !m->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    uint64_t v;
    if (PeekFormatVersion(value, &v) && v > kRecordFormatVersion) return Newer(what, v);
    return corrupt("value does not parse");
  }
  if (m->format_version() == 0) return corrupt("no format_version");
  if (m->format_version() > kRecordFormatVersion) return Newer(what, m->format_version());
  return absl::OkStatus();
}

template <typename M>
absl::Status ParseValue(StateFamily f, absl::string_view value, M* m) {
  return ParseVersioned(value, m, StateFamilyName(f),
                        [f](absl::string_view why) { return Corrupt(f, why); });
}

bool ValidPoolId(absl::string_view id) {
  return (id.size() == 9 && id[0] == 'N') || (id.size() >= 2 && id[0] == 'B');
}

}  // namespace

// ---------------------------------------------------------------------------
// Pool ids

std::string PoolIdForNumber(uint64_t number) {
  std::string id(9, 'N');
  PutU64(&id[1], number);
  return id;
}

std::string PoolIdForBusiness(absl::string_view business_id) {
  return absl::StrCat("B", business_id);
}

// ---------------------------------------------------------------------------
// Encoders

StateChange EncodeBusiness(const BusinessRecord& r) {
  StateChange c{StateFamily::kBusiness, false, ToRecordBytes(r.business_id), {}};
  pb::BusinessValue m;
  m.set_format_version(kRecordFormatVersion);
  m.set_verified(r.verified);
  m.set_official(r.official);
  m.set_shadow(r.shadow);
  PutMessage(m, &c.value);
  return c;
}

StateChange EncodePool(const PoolRecord& r) {
  StateChange c{StateFamily::kPool, false, ToRecordBytes(r.pool_id), {}};
  pb::PoolValue m;
  m.set_format_version(kRecordFormatVersion);
  m.set_business_id(r.business_id);
  m.set_level(r.level);
  if (r.pending_level >= 0) m.set_pending_level(r.pending_level);
  m.set_pending_at_us(r.pending_at_us);
  if (r.platform.set) m.set_platform_limit(r.platform.limit);
  m.set_platform_limit_at_us(r.platform.at_us);
  m.set_volume_unlocked(r.volume_unlocked);
  PutMessage(m, &c.value);
  return c;
}

StateChange EncodeNumber(const NumberRecord& r) {
  StateChange c{StateFamily::kNumber, false, {}, {}};
  PutU64(Grow(&c.key, 8), r.number);
  pb::NumberValue m;
  m.set_format_version(kRecordFormatVersion);
  m.set_business_id(r.business_id);
  m.set_flagged_since_us(r.flagged_since_us);
  m.set_low_since_us(r.low_since_us);
  const PlatformStatus& p = r.platform;
  if (p.has_quality()) m.set_platform_quality(p.quality);
  m.set_platform_quality_at_us(p.quality_at_us);
  m.set_throughput_mps(p.throughput_mps);
  m.set_throughput_at_us(p.throughput_at_us);
  m.set_restricted_until_us(p.restricted_until_us);
  m.set_restricted_at_us(p.restricted_at_us);
  m.set_disabled(p.disabled);
  m.set_disabled_at_us(p.disabled_at_us);
  m.set_flagged_at_us(p.flagged_at_us);
  PutMessage(m, &c.value);
  return c;
}

StateChange EncodeSignal(const SignalRecord& r) {
  StateChange c{StateFamily::kSignal, false, {}, {}};
  PutSignalKey(&c.key, r.number, r.at_us, r.seq);
  pb::SignalValue m;
  m.set_format_version(kRecordFormatVersion);
  m.set_kind(static_cast<pb::SignalKind>(r.kind));
  PutMessage(m, &c.value);
  return c;
}

StateChange EncodeLedger(const LedgerRecord& r) {
  StateChange c{StateFamily::kLedger, false, {}, {}};
  PutLedgerKey(&c.key, r.pool_id, r.customer);
  const ConversationWindow& w = r.window;
  const size_t n = kVersionSize + (w.slot_start_us != 0 ? kFixed64FieldSize : 0) +
                   (w.slot_end_us != 0 ? kFixed64FieldSize : 0) +
                   (w.last_start_us != 0 ? kFixed64FieldSize : 0) + (w.pending ? 2 : 0) +
                   (w.message_key != 0 ? kFixed64FieldSize : 0) + (w.pending_qualifies ? 2 : 0) +
                   (w.start_qualifies ? 2 : 0);
  uint8_t* t = WriteVersion(Bytes(&c.value, n));
  t = WriteSFixed64IfSet(2, w.slot_start_us, t);
  t = WriteSFixed64IfSet(3, w.slot_end_us, t);
  t = WriteSFixed64IfSet(4, w.last_start_us, t);
  if (w.pending) t = WFL::WriteBoolToArray(5, true, t);
  if (w.message_key != 0) t = WFL::WriteFixed64ToArray(6, w.message_key, t);
  if (w.pending_qualifies) t = WFL::WriteBoolToArray(7, true, t);
  if (w.start_qualifies) WFL::WriteBoolToArray(8, true, t);
  return c;
}

StateChange EncodeThread(const ThreadRecord& r) {
  StateChange c{StateFamily::kThread, false, {}, {}};
  PutThreadKey(&c.key, r.number, r.customer);
  const ServiceWindow& w = r.window;
  const size_t n = kVersionSize + (w.last_inbound_us != 0 ? kFixed64FieldSize : 0) +
                   (w.user_conversation_end_us != 0 ? kFixed64FieldSize : 0);
  uint8_t* t = WriteVersion(Bytes(&c.value, n));
  t = WriteSFixed64IfSet(2, w.last_inbound_us, t);
  WriteSFixed64IfSet(3, w.user_conversation_end_us, t);
  return c;
}

StateChange EncodeConsent(const ConsentRecord& r) {
  StateChange c{StateFamily::kConsent, false, {}, {}};
  const size_t key_size = StrSize(r.business_id.size()) + 8;
  PutU64(PutStr(Grow(&c.key, key_size), r.business_id), r.customer);
  const int state = static_cast<int>(r.state), source = static_cast<int>(r.source);
  size_t n = kVersionSize + EnumFieldSize(state) + EnumFieldSize(source) +
             (r.changed_at_us != 0 ? kFixed64FieldSize : 0) + (r.all_topics ? 0 : 2) +
             PackedFixed64Size(r.sends.size()) + PackedFixed64Size(r.marketing.size()) +
             (r.marketing_held_until_us != 0 ? kFixed64FieldSize : 0) +
             (r.marketing_preference_at_us != 0 ? kFixed64FieldSize : 0) +
             (r.marketing_stopped ? 2 : 0);
  for (const std::string& topic : r.topics) n += LengthDelimitedSize(topic.size());
  uint8_t* t = WriteVersion(Bytes(&c.value, n));
  if (state != 0) t = WFL::WriteEnumToArray(2, state, t);
  if (source != 0) t = WFL::WriteEnumToArray(3, source, t);
  t = WriteSFixed64IfSet(4, r.changed_at_us, t);
  if (!r.all_topics) t = WFL::WriteBoolToArray(5, true, t);
  for (const std::string& topic : r.topics) t = WriteLengthDelimited(6, topic, t);
  t = WritePackedFixed64(7, r.sends, t);
  t = WritePackedFixed64(8, r.marketing, t);
  t = WriteSFixed64IfSet(9, r.marketing_held_until_us, t);
  t = WriteSFixed64IfSet(10, r.marketing_preference_at_us, t);
  if (r.marketing_stopped) WFL::WriteBoolToArray(11, true, t);
  return c;
}

StateChange EncodeTemplate(const TemplateRecord& r) {
  const MessageTemplate& t = r.tmpl;
  StateChange c{StateFamily::kTemplate, false, {}, {}};
  PutTemplateKey(&c.key, r.business_id, t.name, t.language);
  pb::TemplateValue m;
  m.set_format_version(kRecordFormatVersion);
  m.set_category(static_cast<pb::TemplateCategory>(t.category));
  m.set_status(static_cast<pb::TemplateStatus>(t.status));
  m.set_topic(t.topic);
  m.set_header_format(static_cast<pb::HeaderFormat>(t.header_format));
  m.set_header_text(t.header_text);
  m.set_body(t.body);
  m.set_footer(t.footer);
  m.set_quality(static_cast<uint32_t>(t.quality));
  m.set_red_pauses(t.red_pauses);
  m.set_paused_until_us(t.paused_until_us);
  for (const TemplateButton& b : t.buttons) {
    pb::TemplateButtonValue* v = m.add_buttons();
    v->set_kind(static_cast<pb::ButtonKind>(b.kind));
    v->set_text(b.text);
    v->set_url(b.url);
    v->set_phone_number(b.phone_number);
  }
  PutMessage(m, &c.value);
  return c;
}

StateChange EncodeEventId(const EventIdRecord& r) {
  StateChange c{StateFamily::kEventId, false, {}, {}};
  PutEventIdKey(&c.key, r.seen_at_us, r.key);
  pb::EventIdValue m;
  m.set_format_version(kRecordFormatVersion);
  m.set_seen_at_us(r.seen_at_us);
  m.set_answer(r.answer);
  PutMessage(m, &c.value);
  return c;
}

StateChange EraseEventId(int64_t seen_at_us, const EventKey& key) {
  StateChange c{StateFamily::kEventId, true, {}, {}};
  PutEventIdKey(&c.key, seen_at_us, key);
  return c;
}

StateChange EraseSignal(uint64_t number, int64_t at_us, uint32_t seq) {
  StateChange c{StateFamily::kSignal, true, {}, {}};
  PutSignalKey(&c.key, number, at_us, seq);
  return c;
}

StateChange EraseLedger(absl::string_view pool_id, uint64_t customer) {
  StateChange c{StateFamily::kLedger, true, {}, {}};
  PutLedgerKey(&c.key, pool_id, customer);
  return c;
}

StateChange EraseThread(uint64_t number, uint64_t customer) {
  StateChange c{StateFamily::kThread, true, {}, {}};
  PutThreadKey(&c.key, number, customer);
  return c;
}

StateChange EraseTemplate(absl::string_view business_id, absl::string_view name,
                          absl::string_view language) {
  StateChange c{StateFamily::kTemplate, true, {}, {}};
  PutTemplateKey(&c.key, business_id, name, language);
  return c;
}

// ---------------------------------------------------------------------------
// Decoders

absl::StatusOr<BusinessRecord> DecodeBusiness(absl::string_view key, absl::string_view value) {
  constexpr StateFamily f = StateFamily::kBusiness;
  if (key.empty()) return Corrupt(f, "empty business id");
  pb::BusinessValue m;
  if (absl::Status s = ParseValue(f, value, &m); !s.ok()) return s;
  BusinessRecord r;
  r.business_id = std::string(key);
  r.verified = m.verified();
  r.official = m.official();
  r.shadow = m.shadow();
  return r;
}

absl::StatusOr<PoolRecord> DecodePool(absl::string_view key, absl::string_view value) {
  constexpr StateFamily f = StateFamily::kPool;
  if (!ValidPoolId(key)) return Corrupt(f, "bad pool id");
  pb::PoolValue m;
  if (absl::Status s = ParseValue(f, value, &m); !s.ok()) return s;
  if (m.business_id().empty()) return Corrupt(f, "no business id");
  if (m.level() < 0) return Corrupt(f, "negative level");
  if (m.has_pending_level() && m.pending_level() < 0) return Corrupt(f, "negative pending level");
  PoolRecord r;
  r.pool_id = std::string(key);
  r.business_id = m.business_id();
  r.level = m.level();
  r.pending_level = m.has_pending_level() ? m.pending_level() : -1;
  r.pending_at_us = m.pending_at_us();
  r.volume_unlocked = m.volume_unlocked();
  if (m.has_platform_limit()) {
    if (m.platform_limit() <= 0 && m.platform_limit() != kUnlimited) {
      return Corrupt(f, "bad platform limit");
    }
    r.platform = {true, m.platform_limit(), m.platform_limit_at_us()};
  }
  return r;
}

absl::StatusOr<NumberRecord> DecodeNumber(absl::string_view key, absl::string_view value) {
  constexpr StateFamily f = StateFamily::kNumber;
  NumberRecord r;
  KeyReader k(key);
  if (!k.GetU64(&r.number) || !k.done() || r.number == 0) return Corrupt(f, "bad key");
  pb::NumberValue m;
  if (absl::Status s = ParseValue(f, value, &m); !s.ok()) return s;
  if (m.business_id().empty()) return Corrupt(f, "no business id");
  r.business_id = m.business_id();
  r.flagged_since_us = m.flagged_since_us();
  r.low_since_us = m.low_since_us();
  PlatformStatus& p = r.platform;
  if (m.has_platform_quality()) {
    if (m.platform_quality() < 0 || m.platform_quality() > 2) return Corrupt(f, "bad quality");
    p.quality = m.platform_quality();
  }
  p.quality_at_us = m.platform_quality_at_us();
  p.throughput_mps = m.throughput_mps();
  p.throughput_at_us = m.throughput_at_us();
  p.restricted_until_us = m.restricted_until_us();
  p.restricted_at_us = m.restricted_at_us();
  p.disabled = m.disabled();
  p.disabled_at_us = m.disabled_at_us();
  p.flagged_at_us = m.flagged_at_us();
  return r;
}

absl::StatusOr<SignalRecord> DecodeSignal(absl::string_view key, absl::string_view value) {
  constexpr StateFamily f = StateFamily::kSignal;
  SignalRecord r;
  KeyReader k(key);
  if (!k.GetU64(&r.number) || !k.GetI64(&r.at_us) || !k.GetU32(&r.seq) || !k.done() ||
      r.number == 0) {
    return Corrupt(f, "bad key");
  }
  pb::SignalValue m;
  if (absl::Status s = ParseValue(f, value, &m); !s.ok()) return s;
  if (m.kind() < 0 || m.kind() >= kSignalKindCount) return Corrupt(f, "unknown signal kind");
  r.kind = static_cast<SignalKind>(m.kind());
  return r;
}

absl::StatusOr<EventIdRecord> DecodeEventId(absl::string_view key, absl::string_view value) {
  constexpr StateFamily f = StateFamily::kEventId;
  EventIdRecord r;
  KeyReader k(key);
  if (!k.GetI64(&r.seen_at_us) || !k.GetU64(&r.key.number) || r.key.number == 0 ||
      !k.GetU64(&r.key.h1) || !k.GetU64(&r.key.h2) || !k.done()) {
    return Corrupt(f, "bad key");
  }
  pb::EventIdValue m;
  if (absl::Status s = ParseValue(f, value, &m); !s.ok()) return s;
  r.answer = m.answer();  // (seen_at_us is also in the value; the key's is read.)
  return r;
}

absl::StatusOr<LedgerRecord> DecodeLedger(absl::string_view key, absl::string_view value) {
  constexpr StateFamily f = StateFamily::kLedger;
  LedgerRecord r;
  KeyReader k(key);
  if (!k.GetStr(&r.pool_id) || !k.GetU64(&r.customer) || !k.done() || !ValidPoolId(r.pool_id)) {
    return Corrupt(f, "bad key");
  }
  pb::LedgerValue m;
  if (absl::Status s = ParseValue(f, value, &m); !s.ok()) return s;
  r.window.slot_start_us = m.slot_start_us();
  r.window.slot_end_us = m.slot_end_us();
  r.window.last_start_us = m.last_start_us();
  r.window.pending = m.pending();
  r.window.message_key = m.message_key();
  r.window.pending_qualifies = m.pending_qualifies();
  r.window.start_qualifies = m.start_qualifies();
  return r;
}

absl::StatusOr<ThreadRecord> DecodeThread(absl::string_view key, absl::string_view value) {
  constexpr StateFamily f = StateFamily::kThread;
  ThreadRecord r;
  KeyReader k(key);
  if (!k.GetU64(&r.number) || !k.GetU64(&r.customer) || !k.done()) return Corrupt(f, "bad key");
  pb::ThreadValue m;
  if (absl::Status s = ParseValue(f, value, &m); !s.ok()) return s;
  r.window.last_inbound_us = m.last_inbound_us();
  r.window.user_conversation_end_us = m.user_conversation_end_us();
  return r;
}

absl::StatusOr<ConsentRecord> DecodeConsent(absl::string_view key, absl::string_view value) {
  constexpr StateFamily f = StateFamily::kConsent;
  ConsentRecord r;
  KeyReader k(key);
  if (!k.GetStr(&r.business_id) || !k.GetU64(&r.customer) || !k.done() || r.business_id.empty()) {
    return Corrupt(f, "bad key");
  }
  pb::ConsentValue m;
  if (absl::Status s = ParseValue(f, value, &m); !s.ok()) return s;
  if (m.state() < 0 || m.state() > 2) return Corrupt(f, "unknown consent state");
  if (m.source() < 0 || m.source() >= kOptInSourceCount) return Corrupt(f, "unknown opt-in source");
  if (!m.scoped_to_topics() && m.topics_size() > 0)
    return Corrupt(f, "topics on an all-topics consent");
  r.state = static_cast<Consent::State>(m.state());
  r.source = static_cast<OptInSource>(m.source());
  r.changed_at_us = m.changed_at_us();
  r.all_topics = !m.scoped_to_topics();
  r.topics.assign(m.topics().begin(), m.topics().end());
  r.sends.assign(m.sends().begin(), m.sends().end());
  r.marketing.assign(m.marketing().begin(), m.marketing().end());
  r.marketing_held_until_us = m.marketing_held_until_us();
  r.marketing_preference_at_us = m.marketing_preference_at_us();
  r.marketing_stopped = m.marketing_stopped();
  return r;
}

absl::StatusOr<TemplateRecord> DecodeTemplate(absl::string_view key, absl::string_view value) {
  constexpr StateFamily f = StateFamily::kTemplate;
  TemplateRecord r;
  MessageTemplate& t = r.tmpl;
  KeyReader k(key);
  if (!k.GetStr(&r.business_id) || !k.GetBytes32(&t.name) || !k.GetStr(&t.language) || !k.done() ||
      r.business_id.empty()) {
    return Corrupt(f, "bad key");
  }
  pb::TemplateValue m;
  if (absl::Status s = ParseValue(f, value, &m); !s.ok()) return s;
  if (m.category() < 0 || m.category() > 2) return Corrupt(f, "unknown category");
  if (m.status() < 0 || m.status() > 4) return Corrupt(f, "unknown status");
  if (m.header_format() < 0 || m.header_format() > 4) return Corrupt(f, "unknown header format");
  t.category = static_cast<TemplateCategory>(m.category());
  t.status = static_cast<TemplateStatus>(m.status());
  t.topic = m.topic();
  t.header_format = static_cast<HeaderFormat>(m.header_format());
  t.header_text = m.header_text();
  t.body = m.body();
  t.footer = m.footer();
  if (m.quality() > 3) return Corrupt(f, "unknown template quality");
  t.quality = static_cast<TemplateQuality>(m.quality());
  t.red_pauses = m.red_pauses();
  t.paused_until_us = m.paused_until_us();
  t.buttons.reserve(m.buttons_size());
  for (const pb::TemplateButtonValue& b : m.buttons()) {
    if (b.kind() < 0 || b.kind() > 3) return Corrupt(f, "unknown button kind");
    TemplateButton& out = t.buttons.emplace_back();
    out.kind = static_cast<TemplateButton::Kind>(b.kind());
    out.text = b.text();
    out.url = b.url();
    out.phone_number = b.phone_number();
  }
  return r;
}

// ---------------------------------------------------------------------------
// Routing

absl::StatusOr<RecordOwner> OwnerOfRecord(StateFamily family, absl::string_view key,
                                          absl::string_view value) {
  RecordOwner owner;
  KeyReader k(key);
  switch (family) {
    case StateFamily::kBusiness:
      if (key.empty()) return Corrupt(family, "empty business id");
      owner.business_id = std::string(key);
      return owner;
    case StateFamily::kPool: {
      absl::StatusOr<PoolRecord> r = DecodePool(key, value);
      if (!r.ok()) return r.status();
      owner.business_id = std::move(r->business_id);
      return owner;
    }
    case StateFamily::kNumber: {
      absl::StatusOr<NumberRecord> r = DecodeNumber(key, value);
      if (!r.ok()) return r.status();
      owner.business_id = std::move(r->business_id);
      return owner;
    }
    case StateFamily::kEventId: {
      int64_t seen_at_us;
      if (!k.GetI64(&seen_at_us) || !k.GetU64(&owner.number) || owner.number == 0) {
        return Corrupt(family, "bad key");
      }
      return owner;
    }
    case StateFamily::kSignal:
    case StateFamily::kThread:
      if (!k.GetU64(&owner.number) || owner.number == 0) return Corrupt(family, "bad key");
      return owner;
    case StateFamily::kLedger: {
      std::string pool;
      if (!k.GetStr(&pool) || !ValidPoolId(pool)) return Corrupt(family, "bad key");
      if (pool[0] == 'B') {
        owner.business_id = pool.substr(1);
      } else {
        owner.number = absl::big_endian::Load64(pool.data() + 1);
        if (owner.number == 0) return Corrupt(family, "bad key");
      }
      return owner;
    }
    case StateFamily::kConsent:
    case StateFamily::kTemplate:
      if (!k.GetStr(&owner.business_id) || owner.business_id.empty()) {
        return Corrupt(family, "bad key");
      }
      return owner;
  }
  return absl::DataLossError(absl::StrCat("record of unknown family ", static_cast<int>(family)));
}

// ---------------------------------------------------------------------------
// A business's key ranges

namespace {

// [key, key + "\0"): the key alone.
KeyRange ExactKey(StateFamily f, std::string key) {
  std::string end = key;
  end.push_back('\0');
  return {f, std::move(key), std::move(end)};
}

// Every key that starts with `prefix`. Our prefixes start with a length byte
// below 0xff or a number's u64 (first byte 0), so a successor always exists.
KeyRange Prefix(StateFamily f, std::string prefix) {
  std::string end = prefix;
  while (!end.empty() && static_cast<uint8_t>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
  return {f, std::move(prefix), std::move(end)};
}

std::string U64Key(uint64_t v) {
  std::string k(8, '\0');
  PutU64(&k[0], v);
  return k;
}

std::string StrKey(absl::string_view s) {
  std::string k(StrSize(s.size()), '\0');
  PutStr(&k[0], s);
  return k;
}

}  // namespace

std::vector<KeyRange> BusinessKeyRanges(absl::string_view business_id,
                                        absl::Span<const uint64_t> numbers) {
  std::vector<uint64_t> sorted(numbers.begin(), numbers.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<std::string> pool_ids = {PoolIdForBusiness(business_id)};
  for (uint64_t n : sorted) pool_ids.push_back(PoolIdForNumber(n));
  std::vector<KeyRange> out;
  for (StateFamily f : kRestoreOrder) {
    const size_t first = out.size();
    switch (f) {
      case StateFamily::kBusiness:
        out.push_back(ExactKey(f, std::string(business_id)));
        break;
      case StateFamily::kPool:
        for (const std::string& id : pool_ids) out.push_back(ExactKey(f, id));
        break;
      case StateFamily::kNumber:
        for (uint64_t n : sorted) out.push_back(ExactKey(f, U64Key(n)));
        break;
      case StateFamily::kSignal:
      case StateFamily::kThread:
        for (uint64_t n : sorted) out.push_back(Prefix(f, U64Key(n)));
        break;
      case StateFamily::kLedger:
        for (const std::string& id : pool_ids) out.push_back(Prefix(f, StrKey(id)));
        break;
      case StateFamily::kConsent:
      case StateFamily::kTemplate:
        out.push_back(Prefix(f, StrKey(business_id)));
        break;
      case StateFamily::kEventId:
        break;
    }
    std::sort(out.begin() + first, out.end(),
              [](const KeyRange& a, const KeyRange& b) { return a.begin < b.begin; });
  }
  return out;
}

// ---------------------------------------------------------------------------
// The profile record

std::string EncodeProfile(const ProfileRecord& r) {
  pb::ProfileValue m;
  m.set_format_version(kRecordFormatVersion);
  m.set_name(r.profile.name);
  m.set_revision(r.profile.revision);
  for (int64_t v : r.profile.ladder) m.add_ladder(v);
  m.set_per_portfolio(r.profile.per_portfolio);
  m.set_records_format_version(r.records_format_version);
  return m.SerializeAsString();
}

absl::StatusOr<ProfileRecord> DecodeProfile(absl::string_view value) {
  pb::ProfileValue m;
  auto corrupt = [](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("corrupt profile record: ", why));
  };
  if (absl::Status s = ParseVersioned(value, &m, "profile", corrupt); !s.ok()) return s;
  if (m.name().empty() || m.ladder_size() == 0) return corrupt("no name or ladder");
  if (m.records_format_version() == 0) return corrupt("no records_format_version");
  ProfileRecord r;
  r.profile.name = m.name();
  r.profile.revision = m.revision();
  r.profile.ladder.assign(m.ladder().begin(), m.ladder().end());
  r.profile.per_portfolio = m.per_portfolio();
  r.records_format_version = m.records_format_version();
  return r;
}

}  // namespace wapolicy
