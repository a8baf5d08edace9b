#include "server/decision_log.h"

#include <pthread.h>

#include <chrono>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace wapolicy {
namespace {

constexpr uint8_t kBlockVersion = 1;
constexpr size_t kHeaderIdsUsedOffset = 1;  // u16 after the version byte.
// The reservation mark: positions below its value may have been given.
constexpr absl::string_view kReservedMark = "reserved_to";

// Entry flags. Most say what differs from what came before (the previous
// entry, or the number's previous entry), so an ordinary allow in a batch sets
// only kAllowed and kHasConversationEnd: one byte.
enum : uint32_t {
  kAllowed = 1u << 0,
  kIndexGap = 1u << 1,     // The gap to the previous index is written (else it is the next one).
  kNewTime = 1u << 2,      // The time is written (else the previous entry's).
  kNewReason = 1u << 3,    // Reason and effect are written (else the previous entry's).
  kNewCounts = 1u << 4,    // Limit and used are written (else the number's previous ones).
  kNewNextSlot = 1u << 5,  // The next free slot is written (else the number's previous one).
  kHasConversationEnd = 1u << 6,
  kNoNextSlot = 1u << 7,   // No next free slot.
  kNewTemplate = 1u << 8,  // Name and language are written (else the last template entry's).
  kNewBusiness = 1u << 9,  // The number is written out (and joins the block's table).
  kSession = 1u << 10,
  kHasWindowEnd = 1u << 11,
  kHasDetail = 1u << 12,
  kHasRetryAfter = 1u << 13,
  kHasSendAt = 1u << 14,
  kMarketing = 1u << 15,
  kDryRun = 1u << 16,
  kPace = 1u << 17,
  kHasMessageId = 1u << 18,
  kShadow = 1u << 19,  // Shadow mode: u8 the would-be reason, str its detail.
  kKnownFlags = (1u << 20) - 1,
};
// The times after the next free slot, in Decision's order, and their flags.
constexpr uint32_t kTimeFlags[4] = {kHasWindowEnd, kHasConversationEnd, kHasRetryAfter,
                                    kHasSendAt};
constexpr int kNoReason = 0xff;  // Before the first entry: no previous reason.
constexpr int64_t kDayMs = 24 * 3600 * 1000;
constexpr int kEffectCount = 5;
constexpr int kSessionTypeCount = 12;

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }
// a + b without signed overflow (garbage bytes may hold any value).
int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
// a - b without signed overflow; WrapAdd(b, WrapSub(a, b)) == a for any values.
int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

bool Finite(absl::Time t) { return t != absl::InfinitePast() && t != absl::InfiniteFuture(); }

// Raw writes into a buffer sized beforehand (no capacity check per field).
char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
char* PutU16(char* p, uint32_t v) {
  p[0] = static_cast<char>(v & 0xff);
  p[1] = static_cast<char>((v >> 8) & 0xff);
  return p + 2;
}
char* PutStr(char* p, absl::string_view s) {
  p = PutVarint(p, s.size());
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
constexpr size_t kMaxVarint = 10;

// Reads a block; every read fails (false) past the end or on a malformed varint.
class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}
  bool Varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return false;
      const uint8_t b = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = r;
        return true;
      }
    }
    return false;  // More than 10 bytes.
  }
  bool ZigZag(int64_t* v) {
    uint64_t u;
    if (!Varint(&u)) return false;
    *v = UnZigZag(u);
    return true;
  }
  bool U8(uint8_t* v) {
    if (in_.empty()) return false;
    *v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool U16(uint32_t* v) {
    if (in_.size() < 2) return false;
    *v = static_cast<uint8_t>(in_[0]) | (static_cast<uint32_t>(static_cast<uint8_t>(in_[1])) << 8);
    in_.remove_prefix(2);
    return true;
  }
  bool Str(std::string* s) {
    uint64_t n;
    if (!Varint(&n) || n > in_.size()) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  absl::string_view in_;
};

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("decision log: corrupt block: ", what));
}

struct BlockHeader {
  uint32_t ids_used = 0;
  int64_t base_ms = 0;
  std::string profile_name;
  int64_t profile_revision = 0;
};

absl::Status ReadHeader(Reader* r, BlockHeader* h) {
  uint8_t version;
  if (!r->U8(&version)) return Corrupt("empty");
  if (version != kBlockVersion) {
    return absl::DataLossError(absl::StrCat("decision log: block format version ", version,
                                            " (this server reads ", kBlockVersion, ")"));
  }
  if (!r->U16(&h->ids_used) || h->ids_used > kBlockIds) return Corrupt("ids used");
  if (!r->ZigZag(&h->base_ms)) return Corrupt("base time");
  if (!r->Str(&h->profile_name)) return Corrupt("profile name");
  if (!r->ZigZag(&h->profile_revision)) return Corrupt("profile revision");
  return absl::OkStatus();
}

// What one entry's decoding carries over to the next.
struct DecodeState {
  // The block's table of numbers, with what each number's entries carry over.
  struct Business {
    uint64_t number = 0;
    int64_t limit = 0, used = 0, next_slot_ms = 0;
    bool has_next_slot = false;
  };
  std::vector<Business> businesses;
  bool have_template = false;
  std::string prev_template_name, prev_template_language;
  int64_t prev_index = -1;
  int64_t prev_time_ms = 0;  // The block's base time before the first entry.
  int prev_reason = kNoReason;
  uint64_t prev_customer = 0;
  int64_t prev_conversation_end_ms = 0;  // Base time + 24 h before the first entry.
};

absl::Status ReadEntry(Reader* r, const BlockHeader& h, DecodeState* st, uint32_t* index,
                       DecisionRecord* out) {
  uint64_t flags;
  if (!r->Varint(&flags) || (flags & ~uint64_t{kKnownFlags}) != 0) return Corrupt("entry flags");
  uint64_t gap = 0;
  if ((flags & kIndexGap) && !r->Varint(&gap)) return Corrupt("entry index");
  if (gap >= kBlockIds ||
      st->prev_index + 1 + static_cast<int64_t>(gap) >= static_cast<int64_t>(kBlockIds)) {
    return Corrupt("entry index");
  }
  *index = static_cast<uint32_t>(st->prev_index + 1 + static_cast<int64_t>(gap));
  st->prev_index = *index;
  if (flags & kNewTime) {
    int64_t delta;
    if (!r->ZigZag(&delta)) return Corrupt("entry time");
    st->prev_time_ms = WrapAdd(h.base_ms, delta);
  }
  const int64_t time_ms = st->prev_time_ms;
  out->time = absl::FromUnixMillis(time_ms);
  uint64_t business;
  if (!r->Varint(&business)) return Corrupt("business number");
  if (flags & kNewBusiness) {
    if (business == 0 || st->businesses.size() >= kBlockIds) return Corrupt("business number");
    st->businesses.push_back({.number = business});
    business = st->businesses.size() - 1;
  } else if (business >= st->businesses.size()) {
    return Corrupt("business number");
  }
  DecodeState::Business& b = st->businesses[business];
  int64_t customer_delta;
  if (!r->ZigZag(&customer_delta)) return Corrupt("customer");
  st->prev_customer += static_cast<uint64_t>(customer_delta);
  out->business_number = PhoneNumber::FromDigitsValue(b.number);
  out->customer = PhoneNumber::FromDigitsValue(st->prev_customer);
  if (flags & kNewReason) {
    uint8_t reason_effect;
    if (!r->U8(&reason_effect)) return Corrupt("reason");
    st->prev_reason = reason_effect;
  }
  if (st->prev_reason == kNoReason || st->prev_reason / 8 >= kReasonCodeCount ||
      st->prev_reason % 8 >= kEffectCount) {
    return Corrupt("reason");
  }
  Decision& d = out->decision;
  d.allowed = (flags & kAllowed) != 0;
  d.reason = static_cast<ReasonCode>(st->prev_reason / 8);
  d.effect = static_cast<ConversationEffect>(st->prev_reason % 8);
  out->kind = (flags & kSession) ? MessageKind::kSession : MessageKind::kTemplate;
  if (flags & kSession) {
    uint8_t type;
    if (!r->U8(&type) || type >= kSessionTypeCount) return Corrupt("session type");
    out->session_type = static_cast<SessionType>(type);
  }
  out->marketing = (flags & kMarketing) != 0;
  out->dry_run = (flags & kDryRun) != 0;
  out->pace = (flags & kPace) != 0;
  if (flags & kNewCounts) {
    int64_t limit_delta, used_delta;
    if (!r->ZigZag(&limit_delta) || !r->ZigZag(&used_delta)) return Corrupt("limit or used");
    b.limit = WrapAdd(b.limit, limit_delta);
    b.used = WrapAdd(b.used, used_delta);
  }
  d.limit = b.limit;
  d.used = b.used;
  if (flags & kNoNextSlot) {
    if (flags & kNewNextSlot) return Corrupt("next slot");
  } else {
    if (flags & kNewNextSlot) {
      int64_t t;
      if (!r->ZigZag(&t)) return Corrupt("next slot");
      b.next_slot_ms = WrapAdd(time_ms, t);
      b.has_next_slot = true;
    } else if (!b.has_next_slot) {
      return Corrupt("next slot");
    }
    d.next_slot_free = absl::FromUnixMillis(b.next_slot_ms);
  }
  absl::Time* const times[4] = {&d.service_window_ends, &d.conversation_ends, &d.retry_after,
                                &d.send_at};
  for (int i = 0; i < 4; ++i) {
    if (!(flags & kTimeFlags[i])) continue;
    int64_t t;
    if (!r->ZigZag(&t)) return Corrupt("a time");
    if (kTimeFlags[i] == kHasConversationEnd) {
      st->prev_conversation_end_ms = WrapAdd(st->prev_conversation_end_ms, t);
      *times[i] = absl::FromUnixMillis(st->prev_conversation_end_ms);
    } else {
      *times[i] = absl::FromUnixMillis(WrapAdd(time_ms, t));
    }
  }
  if (flags & kSession) {
    if (flags & kNewTemplate) return Corrupt("template");
  } else {
    if (flags & kNewTemplate) {
      if (!r->Str(&st->prev_template_name) || !r->Str(&st->prev_template_language)) {
        return Corrupt("template");
      }
      st->have_template = true;
    } else if (!st->have_template) {
      return Corrupt("template");
    }
    out->template_name = st->prev_template_name;
    out->template_language = st->prev_template_language;
  }
  if ((flags & kHasMessageId) && !r->Str(&out->message_id)) return Corrupt("message id");
  if ((flags & kHasDetail) && !r->Str(&d.detail)) return Corrupt("detail");
  if (flags & kShadow) {
    uint8_t shadow = 0;
    if (!r->U8(&shadow) || shadow == 0 || shadow >= kReasonCodeCount ||
        !r->Str(&d.shadow_detail)) {
      return Corrupt("shadow reason");
    }
    d.shadow_reason = static_cast<ReasonCode>(shadow);
  }
  out->profile_name = h.profile_name;
  out->profile_revision = h.profile_revision;
  return absl::OkStatus();
}

struct Found {
  uint32_t ids_used = 0;
  std::optional<DecisionRecord> record;
};

// Reads a block's header, then each entry in order, calling `f(index,
// record)` until it returns false; the header is returned.
template <typename F>
absl::StatusOr<BlockHeader> WalkBlock(absl::string_view bytes, F f) {
  Reader r(bytes);
  BlockHeader h;
  if (absl::Status s = ReadHeader(&r, &h); !s.ok()) return s;
  DecodeState st;
  st.prev_time_ms = h.base_ms;
  st.prev_conversation_end_ms = WrapAdd(h.base_ms, kDayMs);
  while (!r.done()) {
    uint32_t i;
    DecisionRecord rec;
    if (absl::Status s = ReadEntry(&r, h, &st, &i, &rec); !s.ok()) return s;
    if (!f(i, rec)) break;
  }
  return h;
}

absl::StatusOr<Found> Find(absl::string_view bytes, uint32_t index) {
  Found found;
  absl::StatusOr<BlockHeader> h = WalkBlock(bytes, [&](uint32_t i, DecisionRecord& rec) {
    if (i == index) found.record = std::move(rec);
    return i < index;  // Entries are in index order.
  });
  if (!h.ok()) return h.status();
  found.ids_used = h->ids_used;
  return found;
}

}  // namespace

// --- The block codec ---

DecisionBlockEncoder::DecisionBlockEncoder(absl::Time base_time, absl::string_view profile_name,
                                           int64_t profile_revision)
    : profile_name_(profile_name), profile_revision_(profile_revision) {
  Reset(base_time);
}

void DecisionBlockEncoder::Reset(absl::Time base_time) {
  base_ms_ = absl::ToUnixMillis(base_time);
  size_ = 0;
  entries_ = 0;
  prev_index_ = -1;
  prev_reason_ = kNoReason;
  last_time_ = absl::InfinitePast();
  last_ms_ = base_ms_;
  prev_customer_ = 0;
  prev_conversation_end_ms_ = WrapAdd(base_ms_, kDayMs);
  ++generation_;  // Every slot of the number table is stale now.
  next_business_ = 0;
  have_template_ = false;
  out_.resize(16 << 10);  // About a full block of allows; grows by doubling.
  char* p = Reserve(3 + 3 * kMaxVarint + profile_name_.size());
  *p++ = static_cast<char>(kBlockVersion);
  p = PutU16(p, 0);  // Ids used: patched by Finish.
  p = PutVarint(p, ZigZag(base_ms_));
  p = PutStr(p, profile_name_);
  p = PutVarint(p, ZigZag(profile_revision_));
  size_ = p - out_.data();
}

void DecisionBlockEncoder::Add(uint32_t index, absl::Time time, const OutgoingMessage& m,
                               const Decision& d) {
  uint32_t flags = 0;
  if (d.allowed) flags |= kAllowed;
  if (static_cast<int32_t>(index) != prev_index_ + 1) flags |= kIndexGap;
  if (time != last_time_) {  // A batch's decisions share their time.
    last_time_ = time;
    const int64_t ms = absl::ToUnixMillis(time);
    if (ms != last_ms_) flags |= kNewTime;
    last_ms_ = ms;
  }
  const int64_t time_ms = last_ms_;
  const int reason =
      static_cast<uint8_t>(d.reason) * 8 + static_cast<uint8_t>(d.effect);
  if (reason != prev_reason_) flags |= kNewReason;
  // The number's place in the block's table, through a direct-mapped cache: a
  // miss (new, or evicted by another number) writes the number out again.
  const uint64_t business = m.business_number.value();
  BusinessSlot& slot = businesses_[(business * 0x9E3779B97F4A7C15ull) >> 56];
  if (slot.number != business || slot.generation != generation_) {
    slot = {.number = business, .generation = generation_, .index = next_business_++};
    flags |= kNewBusiness;
  }
  if (d.limit != slot.limit || d.used != slot.used) flags |= kNewCounts;
  // A number's next free slot moves only when one of its conversations opens or ends.
  if (!Finite(d.next_slot_free)) {
    flags |= kNoNextSlot;
  } else if (!slot.has_next_slot || slot.next_slot != d.next_slot_free) {
    flags |= kNewNextSlot;
  }
  const bool session = m.kind == MessageKind::kSession;
  if (session) flags |= kSession;
  if (!session && !(have_template_ && m.template_name == prev_template_name_ &&
                    m.template_language == prev_template_language_)) {
    flags |= kNewTemplate;
  }
  if (m.marketing) flags |= kMarketing;
  if (m.dry_run) flags |= kDryRun;
  if (m.pace) flags |= kPace;
  if (!m.message_id.empty()) flags |= kHasMessageId;
  if (!d.detail.empty()) flags |= kHasDetail;
  if (d.shadow_reason != ReasonCode::kAllowed) flags |= kShadow;
  const absl::Time times[4] = {d.service_window_ends, d.conversation_ends, d.retry_after,
                               d.send_at};
  for (int i = 0; i < 4; ++i) {
    if (Finite(times[i])) flags |= kTimeFlags[i];
  }
  // An upper bound of the entry's size, then raw writes.
  size_t bound = 3 + 12 * kMaxVarint;
  if (flags & kNewTemplate) {
    bound += 2 * kMaxVarint + m.template_name.size() + m.template_language.size();
  }
  if (flags & kHasMessageId) bound += kMaxVarint + m.message_id.size();
  if (flags & kHasDetail) bound += kMaxVarint + d.detail.size();
  if (flags & kShadow) bound += 1 + kMaxVarint + d.shadow_detail.size();
  char* p = Reserve(bound);
  p = PutVarint(p, flags);
  if (flags & kIndexGap) p = PutVarint(p, index - static_cast<uint32_t>(prev_index_ + 1));
  if (flags & kNewTime) p = PutVarint(p, ZigZag(WrapSub(time_ms, base_ms_)));
  p = PutVarint(p, (flags & kNewBusiness) ? business : slot.index);
  // Against the previous customer: a business's customers share country codes and prefixes.
  p = PutVarint(p, ZigZag(static_cast<int64_t>(m.customer.value() - prev_customer_)));
  prev_customer_ = m.customer.value();
  if (flags & kNewReason) *p++ = static_cast<char>(reason);
  if (session) *p++ = static_cast<char>(static_cast<uint8_t>(m.session_type));
  if (flags & kNewCounts) {
    p = PutVarint(p, ZigZag(WrapSub(d.limit, slot.limit)));
    p = PutVarint(p, ZigZag(WrapSub(d.used, slot.used)));
    slot.limit = d.limit;
    slot.used = d.used;
  }
  if (flags & kNewNextSlot) {
    slot.next_slot = d.next_slot_free;
    slot.next_slot_ms = absl::ToUnixMillis(d.next_slot_free);
    slot.has_next_slot = true;
    p = PutVarint(p, ZigZag(WrapSub(slot.next_slot_ms, time_ms)));
  }
  for (int i = 0; i < 4; ++i) {
    if (!(flags & kTimeFlags[i])) continue;
    const int64_t t = absl::ToUnixMillis(times[i]);
    if (kTimeFlags[i] == kHasConversationEnd) {
      // Against the previous conversation end: conversations a batch opens
      // end together, and those it reuses are spread over one day.
      p = PutVarint(p, ZigZag(WrapSub(t, prev_conversation_end_ms_)));
      prev_conversation_end_ms_ = t;
    } else {
      p = PutVarint(p, ZigZag(WrapSub(t, time_ms)));
    }
  }
  if (flags & kNewTemplate) {
    p = PutStr(p, m.template_name);
    p = PutStr(p, m.template_language);
    prev_template_name_ = m.template_name;
    prev_template_language_ = m.template_language;
    have_template_ = true;
  }
  if (flags & kHasMessageId) p = PutStr(p, m.message_id);
  if (flags & kHasDetail) p = PutStr(p, d.detail);
  if (flags & kShadow) {
    *p++ = static_cast<char>(static_cast<uint8_t>(d.shadow_reason));
    p = PutStr(p, d.shadow_detail);
  }
  size_ = p - out_.data();
  prev_index_ = static_cast<int32_t>(index);
  prev_reason_ = reason;
  ++entries_;
}

char* DecisionBlockEncoder::Reserve(size_t n) {
  // out_ is kept longer than what is written (size_), so an entry does not
  // pay for zero-filling the room it may need.
  if (out_.size() - size_ < n) out_.resize(std::max(out_.size() * 2, size_ + n));
  return out_.data() + size_;
}

std::string DecisionBlockEncoder::Finish(uint32_t ids_used) && {
  PutU16(out_.data() + kHeaderIdsUsedOffset, ids_used);
  out_.resize(size_);
  return std::move(out_);
}

absl::StatusOr<DecodedBlock> DecodeDecisionBlock(absl::string_view bytes) {
  DecodedBlock out;
  absl::StatusOr<BlockHeader> h = WalkBlock(bytes, [&](uint32_t i, DecisionRecord& rec) {
    out.entries.emplace_back(i, std::move(rec));
    return true;
  });
  if (!h.ok()) return h.status();
  out.ids_used = h->ids_used;
  out.profile_name = h->profile_name;
  out.profile_revision = h->profile_revision;
  return out;
}

absl::StatusOr<std::optional<DecisionRecord>> FindInDecisionBlock(absl::string_view bytes,
                                                                  uint32_t index) {
  absl::StatusOr<Found> f = Find(bytes, index);
  if (!f.ok()) return f.status();
  return std::move(f->record);
}

// --- The log ---

absl::StatusOr<std::unique_ptr<DecisionLog>> DecisionLog::Open(const std::string& dir,
                                                               Options options,
                                                               const Clock* clock,
                                                               std::string profile_name,
                                                               int64_t profile_revision) {
  if (!(options.allow_sample >= 0 && options.allow_sample <= 1)) {
    return absl::InvalidArgumentError(
        "decision log: allow_sample (--decision_log_allow_sample) must be between 0 and 1");
  }
  if (options.retention <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "decision log: retention (--decision_log_retention) must be positive");
  }
  if (options.max_blocks < 1) {
    return absl::InvalidArgumentError(
        "decision log: max_blocks (--decision_log_max_blocks) must be at least 1");
  }
  if (options.flush_after <= absl::ZeroDuration() || options.trim_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "decision log: flush_after (--decision_log_write_within) and trim_interval "
        "(--sweep_interval) must be positive");
  }
  if (options.max_pending_blocks < 1 || options.reserve_blocks < 2) {
    return absl::InvalidArgumentError(
        "decision log: max_pending_blocks must be at least 1 and reserve_blocks at least 2");
  }
  absl::StatusOr<std::unique_ptr<RecordLog>> log = RecordLog::Open(
      dir, {.retention = options.retention, .max_records = options.max_blocks});
  if (!log.ok()) return log.status();
  // Start past every position a previous run may have given out.
  absl::StatusOr<std::optional<std::string>> mark = (*log)->GetMark(kReservedMark);
  if (!mark.ok()) return mark.status();
  uint64_t start = (*log)->next_position();
  if (mark->has_value()) {
    uint64_t reserved;
    if (!absl::SimpleAtoi(**mark, &reserved)) {
      return absl::DataLossError(
          absl::StrCat("decision log at ", dir, ": the reservation mark is not a number"));
    }
    start = std::max(start, reserved);
  }
  (*log)->SkipTo(start);
  std::unique_ptr<DecisionLog> d(new DecisionLog(options, clock, std::move(profile_name),
                                                 profile_revision, *std::move(log)));
  const uint64_t reserve = start + options.reserve_blocks;
  if (absl::Status s = d->log_->PutMarksSynced({{std::string(kReservedMark), absl::StrCat(reserve)}});
      !s.ok()) {
    return s;
  }
  {
    std::lock_guard<std::mutex> lock(d->mu_);
    d->next_position_ = start;
    d->reserved_ = reserve;
    d->stats_.blocks_kept = d->log_->size();
  }
  d->writer_ = std::thread([p = d.get()] { p->WriterLoop(); });
  return d;
}

DecisionLog::DecisionLog(Options options, const Clock* clock, std::string profile_name,
                         int64_t profile_revision, std::unique_ptr<RecordLog> log)
    : options_(options),
      clock_(clock),
      profile_name_(std::move(profile_name)),
      profile_revision_(profile_revision),
      log_(std::move(log)) {}

DecisionLog::~DecisionLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    work_.notify_one();
  }
  if (writer_.joinable()) writer_.join();
}

void DecisionLog::OpenBlockLocked(absl::Time now) {
  if (next_position_ >= reserved_) {
    // The writer has not kept the reservation ahead (it is stuck or the load
    // outran it): reserve here, synced, before an id of the block is given.
    const uint64_t target = next_position_ + options_.reserve_blocks;
    absl::Status s =
        log_->PutMarksSynced({{std::string(kReservedMark), absl::StrCat(target)}});
    if (s.ok()) {
      reserved_ = target;
    } else {
      // Ids are still given (decisions must not wait on the log); after a
      // crash, ids past the old reservation could be given again.
      ++stats_.write_errors;
      std::fprintf(stderr, "policy_server: decision log: reserving ids: %s\n",
                   std::string(s.message()).c_str());
    }
  }
  open_.emplace();
  open_->position = next_position_++;
  open_->opened = absl::Now();
  open_->last_time = now;
  if (spare_encoder_ != nullptr) {
    open_->encoder = std::move(spare_encoder_);
    open_->encoder->Reset(now);
  } else {
    open_->encoder = std::make_unique<DecisionBlockEncoder>(now, profile_name_, profile_revision_);
  }
  // The writer sleeps without a deadline while nothing waits, and keeps the
  // reservation ahead: wake it then, and only then (a wake-up is a syscall).
  if (writer_idle_ || NeedReserveLocked()) work_.notify_one();
}

void DecisionLog::SealLocked() {
  Block b = std::move(*open_);
  open_.reset();
  b.entries = b.encoder->entries();
  b.bytes = std::move(*b.encoder).Finish(b.ids_used);
  spare_encoder_ = std::move(b.encoder);
  if (pending_.size() >= static_cast<size_t>(options_.max_pending_blocks)) {
    stats_.dropped += static_cast<int64_t>(b.entries);  // The writer is behind: never wait.
    return;
  }
  pending_.push_back(std::move(b));
  if (pending_.size() == kWriteRun) work_.notify_one();  // Else the writer's deadline comes first.
}

uint64_t DecisionLog::RecordLocked(absl::Time now, const OutgoingMessage& m, const Decision& d) {
  if (open_.has_value() && open_->ids_used == kBlockIds) SealLocked();
  if (!open_.has_value()) OpenBlockLocked(now);
  Block& b = *open_;
  const uint32_t index = b.ids_used++;
  if (now > b.last_time) b.last_time = now;
  // A hold is always logged; so is an allow that shadow mode let through.
  bool log = !d.allowed || d.shadow_reason != ReasonCode::kAllowed;
  if (!log) {
    if (options_.allow_sample >= 1) {
      log = true;
    } else if (options_.allow_sample > 0) {
      // Exactly the rate, spread evenly: one in 1/rate.
      sample_credit_ += options_.allow_sample;
      if (sample_credit_ >= 1) {
        sample_credit_ -= 1;
        log = true;
      }
    }
  }
  if (log) {
    b.encoder->Add(index, now, m, d);
    ++stats_.logged;
  } else {
    ++stats_.not_sampled;
  }
  return b.position * kBlockIds + index;
}

void DecisionLog::Record(absl::Span<const OutgoingMessage> messages,
                         absl::Span<const absl::StatusOr<Decision>> decisions,
                         absl::Span<uint64_t> ids) {
  const absl::Time now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < decisions.size(); ++i) {
    ids[i] = decisions[i].ok() ? RecordLocked(now, messages[i], *decisions[i]) : 0;
  }
}

uint64_t DecisionLog::RecordOne(const OutgoingMessage& message, const Decision& decision) {
  const absl::Time now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  return RecordLocked(now, message, decision);
}

void DecisionLog::WriterLoop() {
  absl::Time next_trim = absl::Now() + options_.trim_interval;
  absl::Time reserve_retry = absl::InfinitePast();  // After a failed reservation: wait.
  pthread_setname_np(pthread_self(), "decision_log");  // For top and perf.
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    // Every block is written within flush_after of its opening: sleep until
    // the oldest unwritten one is due, a trim is due or a failed reservation
    // is retried, unless woken for work (kWriteRun sealed blocks, a block
    // opened while nothing waited, the reservation running low, the stop).
    const absl::Time oldest = !pending_.empty() ? pending_.front().opened
                              : open_.has_value() ? open_->opened
                                                  : absl::InfiniteFuture();
    const bool reserve_backoff = reserve_retry != absl::InfinitePast();
    const absl::Time deadline =
        std::min({oldest + options_.flush_after, next_trim,
                  reserve_backoff ? reserve_retry : absl::InfiniteFuture()});
    writer_idle_ = oldest == absl::InfiniteFuture();
    while (!stop_ && pending_.size() < kWriteRun && !(NeedReserveLocked() && !reserve_backoff) &&
           !(writer_idle_ && open_.has_value())) {
      if (deadline == absl::InfiniteFuture()) {
        work_.wait(lock);
      } else if (work_.wait_until(lock, absl::ToChronoTime(deadline)) ==
                 std::cv_status::timeout) {
        break;
      }
    }
    writer_idle_ = false;
    const absl::Time wall = absl::Now();
    if (open_.has_value() && (stop_ || wall >= open_->opened + options_.flush_after)) {
      SealLocked();
    }
    if (NeedReserveLocked() && wall >= reserve_retry) {
      const uint64_t target = next_position_ + options_.reserve_blocks;
      mu_.unlock();
      absl::Status s =
          log_->PutMarksSynced({{std::string(kReservedMark), absl::StrCat(target)}});
      mu_.lock();
      if (s.ok()) {
        reserved_ = std::max(reserved_, target);
        reserve_retry = absl::InfinitePast();
      } else {
        ++stats_.write_errors;
        reserve_retry = wall + absl::Seconds(1);
        std::fprintf(stderr, "policy_server: decision log: reserving ids: %s\n",
                     std::string(s.message()).c_str());
      }
    }
    // Everything sealed goes once a run is full or the oldest is due: each
    // run of consecutive positions in one RocksDB write.
    if (!pending_.empty() &&
        (stop_ || pending_.size() >= kWriteRun ||
         wall >= pending_.front().opened + options_.flush_after)) {
      while (!pending_.empty()) WriteRunLocked();
    }
    if (wall >= next_trim) {
      mu_.unlock();
      absl::StatusOr<int64_t> trimmed = log_->Trim(clock_->Now());
      mu_.lock();
      stats_.blocks_kept = log_->size();
      if (trimmed.ok()) {
        stats_.blocks_trimmed += *trimmed;
      } else {
        ++stats_.write_errors;
        std::fprintf(stderr, "policy_server: decision log: trimming: %s\n",
                     std::string(trimmed.status().message()).c_str());
      }
      next_trim = wall + options_.trim_interval;
    }
    if (stop_ && pending_.empty() && !open_.has_value()) break;
  }
  // A clean stop: the next run starts right after the last position given.
  const uint64_t next = next_position_;
  mu_.unlock();
  absl::Status s = log_->PutMarksSynced({{std::string(kReservedMark), absl::StrCat(next)}});
  mu_.lock();
  if (!s.ok()) {
    std::fprintf(stderr, "policy_server: decision log: %s\n", std::string(s.message()).c_str());
  }
}

void DecisionLog::WriteRunLocked() {
  // The run moves to writing_ (lookups look there) and is written without
  // the lock; only this thread touches writing_'s strings meanwhile, reading.
  writing_first_ = pending_.front().position;
  absl::Time time = pending_.front().last_time;
  int64_t entries = 0;
  while (!pending_.empty() && pending_.front().position == writing_first_ + writing_.size()) {
    time = std::max(time, pending_.front().last_time);
    entries += static_cast<int64_t>(pending_.front().entries);
    writing_.push_back(std::move(pending_.front().bytes));
    pending_.pop_front();
  }
  mu_.unlock();
  log_->SkipTo(writing_first_);
  absl::StatusOr<uint64_t> at = log_->Append(writing_, time);
  mu_.lock();
  if (at.ok() && *at == writing_first_) {
    stats_.blocks_written += static_cast<int64_t>(writing_.size());
    for (const std::string& b : writing_) stats_.bytes_written += static_cast<int64_t>(b.size());
  } else {
    stats_.write_errors += 1;
    stats_.dropped += entries;
    std::fprintf(stderr, "policy_server: decision log: writing blocks from %llu: %s\n",
                 static_cast<unsigned long long>(writing_first_),
                 at.ok() ? absl::StrCat("written at ", *at).c_str()
                         : std::string(at.status().message()).c_str());
  }
  writing_.clear();
  // Read here, on the only thread that changes the log (RecordLog's lock is
  // an absl::Mutex, which ThreadSanitizer cannot see).
  stats_.blocks_kept = log_->size();
}

absl::StatusOr<DecisionRecord> DecisionLog::Lookup(uint64_t id) const {
  const uint64_t position = id / kBlockIds;
  const uint32_t index = static_cast<uint32_t>(id % kBlockIds);
  auto never_given = [id] {
    return absl::NotFoundError(absl::StrCat("decision_id ", id, ": no decision has this id"));
  };
  auto not_sampled = [this, id] {
    return absl::NotFoundError(absl::StrCat(
        "decision_id ", id, ": not logged: an allow left out by the sample rate (",
        options_.allow_sample, " of allows are logged; holds always are)"));
  };
  if (position == 0) return never_given();
  // The open block and the queue first (under the lock), then the log.
  std::optional<absl::StatusOr<Found>> in_memory;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (open_.has_value() && open_->position == position) {
      if (index >= open_->ids_used) return never_given();
      in_memory = Find(open_->encoder->view(), index);
      if (in_memory->ok()) (*in_memory)->ids_used = open_->ids_used;  // Not in its header yet.
    } else {
      for (const Block& b : pending_) {
        if (b.position == position) in_memory = Find(b.bytes, index);
      }
      if (position >= writing_first_ && position - writing_first_ < writing_.size()) {
        in_memory = Find(writing_[position - writing_first_], index);
      }
      if (!in_memory.has_value() && position >= next_position_) return never_given();
    }
  }
  const bool written = !in_memory.has_value();
  absl::StatusOr<Found> found;
  if (written) {
    absl::StatusOr<std::optional<RecordLog::Entry>> e = log_->Get(position);
    if (!e.ok()) return e.status();
    if (!e->has_value()) {
      return absl::NotFoundError(absl::StrCat(
          "decision_id ", id, ": not in the log: older than the retention (",
          absl::FormatDuration(options_.retention), ") or past the size bound (",
          options_.max_blocks, " blocks), or its block was dropped or lost"));
    }
    found = Find((*e)->value, index);
  } else {
    found = *std::move(in_memory);
  }
  if (!found.ok()) return found.status();
  if (!found->record.has_value()) {
    return index < found->ids_used ? not_sampled() : never_given();
  }
  DecisionRecord r = *std::move(found->record);
  if (r.time < clock_->Now() - options_.retention) {
    return absl::NotFoundError(absl::StrCat("decision_id ", id, ": older than the retention (",
                                            absl::FormatDuration(options_.retention), ")"));
  }
  r.id = id;
  r.written = written;
  return r;
}

DecisionLog::Stats DecisionLog::stats() const {
  Stats s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s = stats_;
    s.blocks_pending = static_cast<int64_t>(pending_.size());
  }
  return s;
}

void AddDecisionLogMetrics(const DecisionLog* log, MetricsRegistry* registry) {
  using Stats = DecisionLog::Stats;
  auto counter = [&](const std::string& name, const std::string& help, MetricLabels labels,
                     int64_t Stats::*field) {
    registry->AddCounterFunc(name, help, std::move(labels),
                             [log, field] { return static_cast<double>(log->stats().*field); });
  };
  const std::string decisions = "wapolicy_decision_log_decisions_total";
  const std::string decisions_help =
      "Decisions given an id, by what the log did with them: logged (put in a block), "
      "not_sampled (allows left out by --decision_log_allow_sample), dropped (logged, but "
      "their block was dropped: the writer was behind or a write failed).";
  counter(decisions, decisions_help, {{"outcome", "logged"}}, &Stats::logged);
  counter(decisions, decisions_help, {{"outcome", "not_sampled"}}, &Stats::not_sampled);
  counter(decisions, decisions_help, {{"outcome", "dropped"}}, &Stats::dropped);
  counter("wapolicy_decision_log_blocks_written_total",
          "Blocks (up to 1,024 decisions) written to the decision log.", {},
          &Stats::blocks_written);
  counter("wapolicy_decision_log_bytes_written_total", "Bytes of the blocks written.", {},
          &Stats::bytes_written);
  counter("wapolicy_decision_log_write_errors_total",
          "Failed decision log writes (blocks, reservations, trims).", {}, &Stats::write_errors);
  counter("wapolicy_decision_log_blocks_trimmed_total",
          "Blocks dropped by the retention or the size bound.", {}, &Stats::blocks_trimmed);
  registry->AddGauge("wapolicy_decision_log_blocks_pending",
                     "Sealed blocks waiting for the decision log's writer.", {},
                     [log] { return static_cast<double>(log->stats().blocks_pending); });
  registry->AddGauge("wapolicy_decision_log_blocks",
                     "Block positions the decision log spans (kept blocks, and gaps).", {},
                     [log] { return static_cast<double>(log->stats().blocks_kept); });
}

}  // namespace wapolicy
