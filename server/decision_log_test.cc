#include "server/decision_log.h"

#include <cstdlib>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "policy/clock.h"

// Under ThreadSanitizer (tools/test.sh): RocksDB is Debian's, not instrumented,
// so its lock-free memtable's reads and writes (memcpy, memcmp) look like races.
extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:librocksdb.so\n";
}

namespace wapolicy {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z.

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/" + name + "_XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  return mkdtemp(buf.data());
}

PhoneNumber Number(const std::string& e164) { return PhoneNumber::Parse(e164).value(); }

OutgoingMessage Template(const std::string& business, const std::string& customer,
                         const std::string& name = "order_update") {
  OutgoingMessage m;
  m.business_number = Number(business);
  m.customer = Number(customer);
  m.template_name = name;
  m.template_language = "en_US";
  return m;
}

OutgoingMessage Session(const std::string& business, const std::string& customer) {
  OutgoingMessage m;
  m.business_number = Number(business);
  m.customer = Number(customer);
  m.kind = MessageKind::kSession;
  m.session_type = SessionType::kImage;
  m.marketing = true;
  return m;
}

Decision Allow() {
  Decision d;
  d.allowed = true;
  d.effect = ConversationEffect::kReusesBusinessInitiated;
  d.limit = 1000;
  d.used = 17;
  d.next_slot_free = kStart + absl::Hours(3);
  d.conversation_ends = kStart + absl::Hours(20) + absl::Milliseconds(5);
  return d;
}

Decision Hold() {
  Decision d;
  d.allowed = false;
  d.reason = ReasonCode::kFrequencyCapped;
  d.detail = "the customer got 2 business-initiated messages in the last 24 h";
  d.limit = -1;
  d.used = 0;
  d.retry_after = kStart + absl::Hours(7) + absl::Milliseconds(250);
  return d;
}

void ExpectSameDecision(const Decision& want, const Decision& got) {
  EXPECT_EQ(got.allowed, want.allowed);
  EXPECT_EQ(got.reason, want.reason);
  EXPECT_EQ(got.effect, want.effect);
  EXPECT_EQ(got.detail, want.detail);
  EXPECT_EQ(got.limit, want.limit);
  EXPECT_EQ(got.used, want.used);
  // To the millisecond, infinities kept apart only as "none" (the API's 0).
  auto ms = [](absl::Time t) {
    return t == absl::InfinitePast() || t == absl::InfiniteFuture() ? 0 : absl::ToUnixMillis(t);
  };
  EXPECT_EQ(ms(got.next_slot_free), ms(want.next_slot_free));
  EXPECT_EQ(ms(got.service_window_ends), ms(want.service_window_ends));
  EXPECT_EQ(ms(got.conversation_ends), ms(want.conversation_ends));
  EXPECT_EQ(ms(got.retry_after), ms(want.retry_after));
  EXPECT_EQ(ms(got.send_at), ms(want.send_at));
  EXPECT_EQ(got.shadow_reason, want.shadow_reason);
  EXPECT_EQ(got.shadow_detail, want.shadow_detail);
}

// --- The block codec ---

std::string SampleBlock(std::vector<std::pair<OutgoingMessage, Decision>>* entries) {
  DecisionBlockEncoder enc(kStart, "brief-2023", 3);
  OutgoingMessage a = Template("+14155550100", "+447700900001");
  OutgoingMessage b = Template("+14155550100", "+447700900002");  // Same number and template.
  b.message_id = "pipeline-42";
  b.dry_run = true;
  OutgoingMessage c = Session("+14155550101", "+447700900003");   // Another number, a session.
  OutgoingMessage e = Template("+14155550101", "+447700900004", "promo");  // Another template.
  e.pace = true;
  Decision paced = Allow();
  paced.send_at = kStart + absl::Seconds(2) + absl::Milliseconds(1);
  Decision window = Allow();
  window.effect = ConversationEffect::kReusesUserInitiated;
  window.service_window_ends = kStart + absl::Hours(23);
  paced.shadow_reason = ReasonCode::kLimitReached;  // Shadow mode let it through.
  paced.shadow_detail = "messaging limit reached";
  *entries = {{a, Allow()}, {b, Hold()}, {c, window}, {e, paced}};
  uint32_t index = 0;
  for (const auto& [m, d] : *entries) {
    enc.Add(index, kStart + absl::Milliseconds(index * 10), m, d);
    index += 2;  // Odd ids: not logged.
  }
  EXPECT_EQ(enc.entries(), 4u);
  return std::move(enc).Finish(/*ids_used=*/9);
}

TEST(DecisionBlockTest, EntriesRoundTrip) {
  std::vector<std::pair<OutgoingMessage, Decision>> entries;
  const std::string block = SampleBlock(&entries);
  absl::StatusOr<DecodedBlock> got = DecodeDecisionBlock(block);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->ids_used, 9u);
  EXPECT_EQ(got->profile_name, "brief-2023");
  EXPECT_EQ(got->profile_revision, 3);
  ASSERT_EQ(got->entries.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    SCOPED_TRACE(i);
    const auto& [m, d] = entries[i];
    const auto& [index, r] = got->entries[i];
    EXPECT_EQ(index, 2 * i);
    EXPECT_EQ(r.time, kStart + absl::Milliseconds(index * 10));
    EXPECT_EQ(r.business_number.E164(), m.business_number.E164());
    EXPECT_EQ(r.customer.E164(), m.customer.E164());
    EXPECT_EQ(r.kind, m.kind);
    EXPECT_EQ(r.template_name, m.template_name);
    EXPECT_EQ(r.template_language, m.template_language);
    if (m.kind == MessageKind::kSession) EXPECT_EQ(r.session_type, m.session_type);
    EXPECT_EQ(r.marketing, m.marketing);
    EXPECT_EQ(r.dry_run, m.dry_run);
    EXPECT_EQ(r.pace, m.pace);
    EXPECT_EQ(r.message_id, m.message_id);
    EXPECT_EQ(r.profile_name, "brief-2023");
    ExpectSameDecision(d, r.decision);
  }
}

TEST(DecisionBlockTest, ARunOfTwoNumbersDecisionsIsSmall) {
  DecisionBlockEncoder enc(kStart, "brief-2023", 1);
  const std::string numbers[2] = {"+14155550100", "+14155550101"};
  enc.Add(0, kStart, Template(numbers[0], "+447700900000"), Allow());
  enc.Add(1, kStart, Template(numbers[1], "+447700900000"), Allow());
  const size_t first = enc.bytes();
  // Every 25th decision the number's limit, used and next free slot move.
  auto decision = [](uint32_t i) {
    Decision d = Allow();
    if (i >= 25) {
      d.limit = 2000 + i / 25;
      d.used = 17 + i / 25;
      d.next_slot_free += absl::Seconds(i / 25);
    }
    return d;
  };
  for (uint32_t i = 2; i < 102; ++i) {
    enc.Add(i, kStart + absl::Milliseconds(i),
            Template(numbers[i % 2], "+4477009" + std::to_string(10000 + i)), decision(i));
  }
  // The numbers, the template, the limit and the next free slot are written
  // once: an allow is then ~12 bytes with its own time.
  EXPECT_LE((enc.bytes() - first) / 100.0, 13) << enc.bytes();
  absl::StatusOr<DecodedBlock> got = DecodeDecisionBlock(std::move(enc).Finish(102));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->entries.size(), 102u);
  for (uint32_t i = 0; i < 102; ++i) {
    const DecisionRecord& r = got->entries[i].second;
    EXPECT_EQ(got->entries[i].first, i);
    EXPECT_EQ(r.business_number.E164(), numbers[i % 2]) << i;
    EXPECT_EQ(r.template_name, "order_update");
    EXPECT_EQ(r.time, kStart + absl::Milliseconds(i < 2 ? 0 : i));
    ExpectSameDecision(decision(i), r.decision);
  }
  EXPECT_EQ(got->entries[101].second.customer.E164(), "+447700910101");
}

TEST(DecisionBlockTest, ABatchOfAllowsIsTenBytesEach) {
  DecisionBlockEncoder enc(kStart, "brief-2023", 1);
  const absl::Time now = kStart + absl::Seconds(1);  // A batch shares its time.
  Decision d = Allow();
  d.conversation_ends = now + absl::Hours(20);
  for (uint32_t i = 0; i < 2; ++i) {
    enc.Add(i, now, Template("+1415555010" + std::to_string(i), "+447700900000"), d);
  }
  const size_t first = enc.bytes();
  for (uint32_t i = 2; i < 102; ++i) {
    d.conversation_ends = now + absl::Hours(20) - absl::Milliseconds(i * 997);
    enc.Add(i, now, Template("+1415555010" + std::to_string(i % 2),
                             "+4477009" + std::to_string(10000 + i)), d);
  }
  EXPECT_LE((enc.bytes() - first) / 100.0, 10) << enc.bytes();
  absl::StatusOr<DecodedBlock> got = DecodeDecisionBlock(std::move(enc).Finish(102));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->entries.size(), 102u);
  const DecisionRecord& last = got->entries[101].second;
  EXPECT_EQ(last.time, now);
  EXPECT_EQ(last.decision.conversation_ends, now + absl::Hours(20) - absl::Milliseconds(101 * 997));
  EXPECT_EQ(last.decision.used, 17);
  EXPECT_EQ(last.business_number.E164(), "+14155550101");
}

TEST(DecisionBlockTest, ExtremeValuesRoundTrip) {
  DecisionBlockEncoder enc(kStart, "brief-2023", -5);
  Decision far = Hold();
  far.limit = std::numeric_limits<int64_t>::max();
  far.used = std::numeric_limits<int64_t>::min();
  far.retry_after = absl::FromUnixMillis(std::numeric_limits<int64_t>::max() / 2);
  far.conversation_ends = absl::FromUnixMillis(-(int64_t{1} << 40));
  far.next_slot_free = absl::UnixEpoch();
  OutgoingMessage m = Template("+14155550100", "+447700900001");
  m.customer = PhoneNumber::FromDigitsValue(999999999999999);  // 15 digits, the most.
  enc.Add(0, kStart, m, far);
  Decision near = Allow();
  OutgoingMessage low = Template("+14155550100", "+447700900001");
  low.customer = PhoneNumber::FromDigitsValue(1);
  enc.Add(kBlockIds - 1, absl::UnixEpoch(), low, near);
  absl::StatusOr<DecodedBlock> got = DecodeDecisionBlock(std::move(enc).Finish(kBlockIds));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->entries.size(), 2u);
  EXPECT_EQ(got->profile_revision, -5);
  ExpectSameDecision(far, got->entries[0].second.decision);
  EXPECT_EQ(got->entries[0].second.customer.value(), m.customer.value());
  EXPECT_EQ(got->entries[1].first, kBlockIds - 1);
  EXPECT_EQ(got->entries[1].second.time, absl::UnixEpoch());
  EXPECT_EQ(got->entries[1].second.customer.value(), 1u);
  ExpectSameDecision(near, got->entries[1].second.decision);
}

TEST(DecisionBlockTest, AReusedEncoderStartsAFreshBlock) {
  DecisionBlockEncoder enc(kStart, "brief-2023", 1);
  enc.Add(0, kStart, Template("+14155550100", "+447700900001"), Allow());
  enc.Add(1, kStart, Template("+14155550101", "+447700900002", "promo"), Hold());
  const std::string first = std::move(enc).Finish(2);
  enc.Reset(kStart + absl::Hours(1));
  // The same number and template again: written out again in the new block.
  enc.Add(5, kStart + absl::Hours(1), Template("+14155550101", "+447700900003", "promo"),
          Allow());
  absl::StatusOr<DecodedBlock> got = DecodeDecisionBlock(std::move(enc).Finish(6));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->entries.size(), 1u);
  const DecisionRecord& r = got->entries[0].second;
  EXPECT_EQ(got->entries[0].first, 5u);
  EXPECT_EQ(r.business_number.E164(), "+14155550101");
  EXPECT_EQ(r.template_name, "promo");
  EXPECT_EQ(r.time, kStart + absl::Hours(1));
  ExpectSameDecision(Allow(), r.decision);
  EXPECT_TRUE(DecodeDecisionBlock(first).ok());
}

TEST(DecisionBlockTest, FindsAnEntryByIndex) {
  std::vector<std::pair<OutgoingMessage, Decision>> entries;
  const std::string block = SampleBlock(&entries);
  absl::StatusOr<std::optional<DecisionRecord>> r = FindInDecisionBlock(block, 2);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->decision.reason, ReasonCode::kFrequencyCapped);
  EXPECT_EQ((*r)->message_id, "pipeline-42");
  // A later entry after one that reused the template: still its own.
  r = FindInDecisionBlock(block, 6);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->template_name, "promo");
  for (uint32_t missing : {1u, 3u, 8u, 1023u}) {
    r = FindInDecisionBlock(block, missing);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->has_value()) << missing;
  }
}

TEST(DecisionBlockTest, GarbageIsDataLossNeverACrash) {
  std::vector<std::pair<OutgoingMessage, Decision>> entries;
  const std::string block = SampleBlock(&entries);
  // Every truncation: an error, or fewer entries (cut at an entry's end).
  for (size_t n = 0; n < block.size(); ++n) {
    absl::StatusOr<DecodedBlock> got = DecodeDecisionBlock(block.substr(0, n));
    if (got.ok()) {
      EXPECT_LT(got->entries.size(), entries.size()) << n;
    } else {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << n;
    }
  }
  // Random corruption: whatever the decoder says, it says it without crashing.
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string bad = block;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bad[rng() % bad.size()] = static_cast<char>(rng());
    absl::StatusOr<DecodedBlock> got = DecodeDecisionBlock(bad);
    if (!got.ok()) EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
    (void)FindInDecisionBlock(bad, static_cast<uint32_t>(rng() % kBlockIds));
  }
  std::string future = block;
  future[0] = 2;
  absl::StatusOr<DecodedBlock> got = DecodeDecisionBlock(future);
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(absl::StrContains(got.status().message(), "format version 2")) << got.status();
}

// --- The log ---

DecisionLog::Options FastOptions() {
  DecisionLog::Options o;
  o.flush_after = absl::Milliseconds(10);
  o.trim_interval = absl::Milliseconds(20);
  return o;
}

std::unique_ptr<DecisionLog> OpenLog(const std::string& dir, DecisionLog::Options o,
                                     const Clock* clock) {
  absl::StatusOr<std::unique_ptr<DecisionLog>> log =
      DecisionLog::Open(dir, o, clock, "brief-2023", 1);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? *std::move(log) : nullptr;
}

// Polls until `id` is looked up from the log's RocksDB.
bool WaitWritten(const DecisionLog& log, uint64_t id) {
  for (int i = 0; i < 500; ++i) {
    absl::StatusOr<DecisionRecord> r = log.Lookup(id);
    if (r.ok() && r->written) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

TEST(DecisionLogTest, BatchGetsIncreasingIdsAndIsFoundBeforeAndAfterTheWrite) {
  ManualClock clock(kStart);
  auto log = OpenLog(TempDir("dlog"), FastOptions(), &clock);
  ASSERT_NE(log, nullptr);
  std::vector<OutgoingMessage> messages = {Template("+14155550100", "+447700900001"),
                                           Template("+14155550100", "+447700900002"),
                                           Template("+14155550100", "+447700900003")};
  std::vector<absl::StatusOr<Decision>> decisions = {Allow(), absl::NotFoundError("no such number"),
                                                     Hold()};
  std::vector<uint64_t> ids(3);
  log->Record(messages, decisions, absl::MakeSpan(ids));
  EXPECT_GE(ids[0], kBlockIds);  // Position 1 or later.
  EXPECT_EQ(ids[1], 0u);         // An error has no id.
  EXPECT_EQ(ids[2], ids[0] + 1);
  absl::StatusOr<DecisionRecord> r = log->Lookup(ids[2]);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, ids[2]);
  EXPECT_EQ(r->time, kStart);
  EXPECT_EQ(r->customer.E164(), "+447700900003");
  ExpectSameDecision(Hold(), r->decision);
  ASSERT_TRUE(WaitWritten(*log, ids[2]));
  r = log->Lookup(ids[0]);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->written);
  ExpectSameDecision(Allow(), r->decision);
  EXPECT_EQ(log->RecordOne(messages[0], Allow()) / kBlockIds, ids[0] / kBlockIds + 1)
      << "a block sealed by age is not reopened";
  const DecisionLog::Stats s = log->stats();
  EXPECT_EQ(s.logged, 3);
  EXPECT_GE(s.blocks_written, 1);
  // Never given, by far and by a little.
  EXPECT_EQ(log->Lookup(ids[2] + 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(log->Lookup(ids[2] + 100 * kBlockIds).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(log->Lookup(5).status().code(), absl::StatusCode::kNotFound);
}

TEST(DecisionLogTest, FullBlocksRollOver) {
  ManualClock clock(kStart);
  auto log = OpenLog(TempDir("dlog"), FastOptions(), &clock);
  ASSERT_NE(log, nullptr);
  const int n = 2 * kBlockIds + 10;
  std::vector<OutgoingMessage> messages(n, Template("+14155550100", "+447700900001"));
  std::vector<absl::StatusOr<Decision>> decisions(n, Hold());
  std::vector<uint64_t> ids(n);
  log->Record(messages, decisions, absl::MakeSpan(ids));
  for (int i = 1; i < n; ++i) ASSERT_GT(ids[i], ids[i - 1]);
  EXPECT_EQ(ids[n - 1] / kBlockIds - ids[0] / kBlockIds, 2u);
  ASSERT_TRUE(WaitWritten(*log, ids[n - 1]));
  for (int i : {0, static_cast<int>(kBlockIds) - 1, static_cast<int>(kBlockIds), n - 1}) {
    absl::StatusOr<DecisionRecord> r = log->Lookup(ids[i]);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    EXPECT_TRUE(r->written);
  }
}

TEST(DecisionLogTest, AllowsAreSampledHoldsAlwaysLogged) {
  ManualClock clock(kStart);
  DecisionLog::Options o = FastOptions();
  o.allow_sample = 0;
  auto log = OpenLog(TempDir("dlog"), o, &clock);
  ASSERT_NE(log, nullptr);
  const uint64_t allowed = log->RecordOne(Template("+14155550100", "+447700900001"), Allow());
  const uint64_t held = log->RecordOne(Template("+14155550100", "+447700900001"), Hold());
  absl::StatusOr<DecisionRecord> r = log->Lookup(allowed);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "sample rate")) << r.status();
  EXPECT_TRUE(log->Lookup(held).ok());
  // An allow that shadow mode let through is logged like a hold, with its would-be reason.
  Decision shadowed = Allow();
  shadowed.shadow_reason = ReasonCode::kNotOptedIn;
  shadowed.shadow_detail = "no opt-in on record for this customer";
  const uint64_t shadow_id = log->RecordOne(Template("+14155550100", "+447700900002"), shadowed);
  absl::StatusOr<DecisionRecord> s = log->Lookup(shadow_id);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->decision.shadow_reason, ReasonCode::kNotOptedIn);
  ASSERT_TRUE(WaitWritten(*log, held));
  r = log->Lookup(allowed);  // From the log now: still "not sampled".
  EXPECT_TRUE(absl::StrContains(r.status().message(), "sample rate")) << r.status();
  EXPECT_EQ(log->stats().not_sampled, 1);

  // One in four.
  o.allow_sample = 0.25;
  auto quarter = OpenLog(TempDir("dlog"), o, &clock);
  int logged = 0;
  for (int i = 0; i < 400; ++i) {
    logged += quarter->Lookup(quarter->RecordOne(Template("+14155550100", "+447700900001"),
                                                 Allow()))
                  .ok();
  }
  EXPECT_EQ(logged, 100);
}

TEST(DecisionLogTest, IdsAreNotReusedAcrossReopenAndOldOnesStayFound) {
  ManualClock clock(kStart);
  const std::string dir = TempDir("dlog");
  uint64_t first;
  {
    auto log = OpenLog(dir, FastOptions(), &clock);
    first = log->RecordOne(Template("+14155550100", "+447700900001"), Hold());
  }  // A clean close writes what waits.
  auto log = OpenLog(dir, FastOptions(), &clock);
  const uint64_t second = log->RecordOne(Template("+14155550100", "+447700900002"), Hold());
  EXPECT_GT(second / kBlockIds, first / kBlockIds);
  absl::StatusOr<DecisionRecord> r = log->Lookup(first);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->written);
  EXPECT_EQ(r->customer.E164(), "+447700900001");
}

TEST(DecisionLogTest, RetentionAndTheSizeBoundDropOldBlocks) {
  ManualClock clock(kStart);
  DecisionLog::Options o = FastOptions();
  o.max_blocks = 2;
  auto log = OpenLog(TempDir("dlog"), o, &clock);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 4; ++i) {  // Four blocks: each written before the next opens.
    ids.push_back(log->RecordOne(Template("+14155550100", "+447700900001"), Hold()));
    ASSERT_TRUE(WaitWritten(*log, ids.back()));
  }
  // The size bound: only the last two blocks stay.
  for (int i = 0; i < 500 && log->Lookup(ids[1]).ok(); ++i) absl::SleepFor(absl::Milliseconds(10));
  absl::StatusOr<DecisionRecord> r = log->Lookup(ids[0]);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "not in the log")) << r.status();
  EXPECT_EQ(log->Lookup(ids[1]).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(log->Lookup(ids[2]).ok());
  EXPECT_TRUE(log->Lookup(ids[3]).ok());
  // The retention, by the engine's clock: answered at once, trimmed soon after.
  clock.Advance(absl::Hours(24 * 7) + absl::Seconds(1));
  r = log->Lookup(ids[3]);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "retention")) << r.status();
  for (int i = 0; i < 500 && log->stats().blocks_kept > 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(log->stats().blocks_kept, 0);
  EXPECT_GE(log->stats().blocks_trimmed, 4);
}

TEST(DecisionLogTest, AWriterBehindDropsBlocksNeverWaits) {
  ManualClock clock(kStart);
  DecisionLog::Options o = FastOptions();
  o.max_pending_blocks = 1;
  auto log = OpenLog(TempDir("dlog"), o, &clock);
  // Ten full blocks in one call: the writer cannot take any while it runs.
  const int n = 10 * kBlockIds;
  std::vector<OutgoingMessage> messages(n, Template("+14155550100", "+447700900001"));
  std::vector<absl::StatusOr<Decision>> decisions(n, Hold());
  std::vector<uint64_t> ids(n);
  log->Record(messages, decisions, absl::MakeSpan(ids));
  const DecisionLog::Stats s = log->stats();
  EXPECT_GE(s.dropped, 8 * static_cast<int64_t>(kBlockIds));
  EXPECT_EQ(s.logged, n);
  ASSERT_TRUE(WaitWritten(*log, ids[0]));  // The first block was kept.
  absl::StatusOr<DecisionRecord> r = log->Lookup(ids[5 * kBlockIds]);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "dropped")) << r.status();
}

TEST(DecisionLogTest, ConcurrentCallersGetDistinctIdsAndFindTheirDecisions) {
  ManualClock clock(kStart);
  DecisionLog::Options o = FastOptions();
  o.allow_sample = 0.5;
  auto log = OpenLog(TempDir("dlog"), o, &clock);
  constexpr int kThreads = 4, kBatches = 40, kBatch = 100;
  std::vector<std::vector<uint64_t>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<OutgoingMessage> messages;
        std::vector<absl::StatusOr<Decision>> decisions;
        for (int i = 0; i < kBatch; ++i) {
          messages.push_back(Template("+1415555010" + std::to_string(t),
                                      "+4477009" + std::to_string(10000 + b * kBatch + i)));
          decisions.push_back(i % 3 == 0 ? Hold() : Allow());
        }
        std::vector<uint64_t> got(kBatch);
        log->Record(messages, decisions, absl::MakeSpan(got));
        ids[t].insert(ids[t].end(), got.begin(), got.end());
        // Each hold is found at once (open block, queue, run being written or log).
        for (int i = 0; i < kBatch; i += 3) {
          absl::StatusOr<DecisionRecord> r = log->Lookup(got[i]);
          ASSERT_TRUE(r.ok()) << r.status();
          ASSERT_EQ(r->customer, messages[i].customer);
          ASSERT_EQ(r->business_number, messages[i].business_number);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<uint64_t> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kBatches * kBatch));
  EXPECT_EQ(log->stats().logged + log->stats().not_sampled, kThreads * kBatches * kBatch);
}

TEST(DecisionLogTest, BadOptionsAreRefused) {
  ManualClock clock(kStart);
  DecisionLog::Options o;
  o.allow_sample = 1.5;
  absl::Status s = DecisionLog::Open(TempDir("dlog"), o, &clock, "p", 1).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--decision_log_allow_sample")) << s;
  o.allow_sample = std::nan("");
  EXPECT_EQ(DecisionLog::Open(TempDir("dlog"), o, &clock, "p", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  o = DecisionLog::Options();
  o.max_blocks = 0;
  s = DecisionLog::Open(TempDir("dlog"), o, &clock, "p", 1).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--decision_log_max_blocks")) << s;
  o = DecisionLog::Options();
  o.retention = absl::ZeroDuration();
  s = DecisionLog::Open(TempDir("dlog"), o, &clock, "p", 1).status();
  EXPECT_TRUE(absl::StrContains(s.message(), "--decision_log_retention")) << s;
  o = DecisionLog::Options();
  o.flush_after = -absl::Seconds(1);
  s = DecisionLog::Open(TempDir("dlog"), o, &clock, "p", 1).status();
  EXPECT_TRUE(absl::StrContains(s.message(), "--decision_log_write_within")) << s;
}

}  // namespace
}  // namespace wapolicy
