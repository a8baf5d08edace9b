#include "policy/record_codec.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "proto/wapolicy/state/v1/records.pb.h"

// Counts heap allocations, to check that the hot-path encoders make none.
namespace {
std::atomic<int64_t> g_allocations{0};
}  // namespace
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace wapolicy {
namespace {

namespace pb = ::wapolicy::state::v1;

constexpr int64_t kT = 1767225600000000;  // 2026-01-01, in Unix microseconds.

std::string Str(const RecordBytes& b) { return std::string(View(b)); }

// --- Round trips -------------------------------------------------------------

TEST(RecordCodecTest, BusinessRoundTrip) {
  for (bool verified : {false, true}) {
    for (bool official : {false, true}) {
      StateChange c = EncodeBusiness({"acme", verified, official});
      EXPECT_EQ(c.family, StateFamily::kBusiness);
      EXPECT_FALSE(c.erase);
      EXPECT_EQ(Str(c.key), "acme");
      auto r = DecodeBusiness(View(c.key), View(c.value));
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->business_id, "acme");
      EXPECT_EQ(r->verified, verified);
      EXPECT_EQ(r->official, official);
    }
  }
}

TEST(RecordCodecTest, PoolRoundTrip) {
  for (int pending : {-1, 0, 3}) {
    PoolRecord p{PoolIdForNumber(14155550100), "acme", 2, pending, pending >= 0 ? kT : 0};
    StateChange c = EncodePool(p);
    EXPECT_EQ(c.family, StateFamily::kPool);
    EXPECT_EQ(Str(c.key), p.pool_id);
    auto r = DecodePool(View(c.key), View(c.value));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->pool_id, p.pool_id);
    EXPECT_EQ(r->business_id, "acme");
    EXPECT_EQ(r->level, 2);
    EXPECT_EQ(r->pending_level, pending);
    EXPECT_EQ(r->pending_at_us, p.pending_at_us);
    EXPECT_FALSE(r->volume_unlocked);
    p.volume_unlocked = true;
    c = EncodePool(p);
    EXPECT_TRUE(DecodePool(View(c.key), View(c.value))->volume_unlocked);
  }
  // Portfolio pool, long business id.
  const std::string biz(300, 'b');
  StateChange c = EncodePool({PoolIdForBusiness(biz), biz, 0, -1, 0});
  auto r = DecodePool(View(c.key), View(c.value));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->pool_id, "B" + biz);
  EXPECT_EQ(r->business_id, biz);
  EXPECT_EQ(r->level, 0);
  EXPECT_EQ(r->pending_level, -1);
}

TEST(RecordCodecTest, NumberRoundTrip) {
  NumberRecord n{14155550100, "acme", kT, kT + 5};
  StateChange c = EncodeNumber(n);
  EXPECT_EQ(c.family, StateFamily::kNumber);
  EXPECT_EQ(c.key.size(), 8u);
  auto r = DecodeNumber(View(c.key), View(c.value));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->number, n.number);
  EXPECT_EQ(r->business_id, "acme");
  EXPECT_EQ(r->flagged_since_us, kT);
  EXPECT_EQ(r->low_since_us, kT + 5);
}

TEST(RecordCodecTest, SignalRoundTrip) {
  for (int kind = 0; kind < kSignalKindCount; ++kind) {
    for (int64_t at : {kT, int64_t{0}, int64_t{-5}}) {
      SignalRecord s{14155550100, at, 7u + kind, static_cast<SignalKind>(kind)};
      StateChange c = EncodeSignal(s);
      EXPECT_EQ(c.family, StateFamily::kSignal);
      auto r = DecodeSignal(View(c.key), View(c.value));
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->number, s.number);
      EXPECT_EQ(r->at_us, at);
      EXPECT_EQ(r->seq, s.seq);
      EXPECT_EQ(r->kind, s.kind);
      StateChange e = EraseSignal(s.number, at, s.seq);
      EXPECT_TRUE(e.erase);
      EXPECT_EQ(e.family, StateFamily::kSignal);
      EXPECT_EQ(Str(e.key), Str(c.key));
      EXPECT_TRUE(e.value.empty());
    }
  }
}

TEST(RecordCodecTest, LedgerRoundTrip) {
  for (const std::string& pool : {PoolIdForNumber(14155550100), PoolIdForBusiness("acme"),
                                  PoolIdForBusiness(std::string(1000, 'x'))}) {
    for (bool pending : {false, true}) {
      LedgerRecord l{pool, 447700900001, {kT, kT + 86400000000, kT - 1, pending}};
      StateChange c = EncodeLedger(l);
      EXPECT_EQ(c.family, StateFamily::kLedger);
      EXPECT_FALSE(c.erase);
      auto r = DecodeLedger(View(c.key), View(c.value));
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->pool_id, pool);
      EXPECT_EQ(r->customer, l.customer);
      EXPECT_EQ(r->window.slot_start_us, kT);
      EXPECT_EQ(r->window.slot_end_us, kT + 86400000000);
      EXPECT_EQ(r->window.last_start_us, kT - 1);
      EXPECT_EQ(r->window.pending, pending);
      StateChange e = EraseLedger(pool, l.customer);
      EXPECT_TRUE(e.erase);
      EXPECT_EQ(Str(e.key), Str(c.key));
    }
  }
}

TEST(RecordCodecTest, ThreadRoundTrip) {
  ThreadRecord t{14155550100, 447700900001, {kT, kT + 10}};
  StateChange c = EncodeThread(t);
  EXPECT_EQ(c.family, StateFamily::kThread);
  auto r = DecodeThread(View(c.key), View(c.value));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->number, t.number);
  EXPECT_EQ(r->customer, t.customer);
  EXPECT_EQ(r->window.last_inbound_us, kT);
  EXPECT_EQ(r->window.user_conversation_end_us, kT + 10);
  StateChange e = EraseThread(t.number, t.customer);
  EXPECT_TRUE(e.erase);
  EXPECT_EQ(e.family, StateFamily::kThread);
  EXPECT_EQ(Str(e.key), Str(c.key));
}

ConsentRecord BigConsent() {
  ConsentRecord c;
  c.business_id = "acme";
  c.customer = 447700900001;
  c.state = Consent::State::kOptedIn;
  c.source = OptInSource::kWhatsAppThread;
  c.changed_at_us = kT;
  c.all_topics = false;
  c.topics = {"offers", std::string(300, 't'), ""};
  for (int i = 0; i < 1000; ++i) c.sends.push_back(kT + i);
  for (int i = 0; i < 1000; ++i) c.marketing.push_back(kT + 2 * i);
  return c;
}

void ExpectSameConsent(const ConsentRecord& a, const ConsentRecord& b) {
  EXPECT_EQ(a.business_id, b.business_id);
  EXPECT_EQ(a.customer, b.customer);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.changed_at_us, b.changed_at_us);
  EXPECT_EQ(a.all_topics, b.all_topics);
  EXPECT_EQ(a.topics, b.topics);
  EXPECT_EQ(a.sends, b.sends);
  EXPECT_EQ(a.marketing, b.marketing);
  EXPECT_EQ(a.marketing_held_until_us, b.marketing_held_until_us);
  EXPECT_EQ(a.marketing_preference_at_us, b.marketing_preference_at_us);
  EXPECT_EQ(a.marketing_stopped, b.marketing_stopped);
}

TEST(RecordCodecTest, ConsentRoundTripKeepsEveryTopicAndSend) {
  const ConsentRecord in = BigConsent();
  StateChange c = EncodeConsent(in);
  EXPECT_EQ(c.family, StateFamily::kConsent);
  auto r = DecodeConsent(View(c.key), View(c.value));
  ASSERT_TRUE(r.ok()) << r.status();
  ExpectSameConsent(*r, in);
  EXPECT_EQ(r->sends.size(), 1000u);
  EXPECT_EQ(r->topics[1].size(), 300u);
}

TEST(RecordCodecTest, ConsentRoundTripEveryStateAndSource) {
  for (int state = 0; state < 3; ++state) {
    for (int source = 0; source < kOptInSourceCount; ++source) {
      ConsentRecord in;
      in.business_id = std::string(256, 'z');  // Long-form key prefix.
      in.customer = 1;
      in.state = static_cast<Consent::State>(state);
      in.source = static_cast<OptInSource>(source);
      StateChange c = EncodeConsent(in);
      auto r = DecodeConsent(View(c.key), View(c.value));
      ASSERT_TRUE(r.ok()) << r.status();
      ExpectSameConsent(*r, in);
    }
  }
}

TEST(RecordCodecTest, TemplateRoundTripKeepsLongTexts) {
  TemplateRecord in;
  in.business_id = "acme";
  MessageTemplate& t = in.tmpl;
  t.name = std::string(600, 'n');
  t.language = "en_US";
  t.category = TemplateCategory::kMarketing;
  t.status = TemplateStatus::kPaused;
  t.topic = "offers";
  t.header_format = HeaderFormat::kText;
  t.header_text = "Hi {{1}}";
  t.body = std::string(70000, 'b');
  t.body[12345] = '\0';
  t.body[40000] = '\xff';  // Not UTF-8: stored as bytes.
  t.footer = "Reply STOP to opt out";
  for (int i = 0; i < 300; ++i) {
    TemplateButton b;
    b.kind = static_cast<TemplateButton::Kind>(i % 4);
    b.text = "button " + std::to_string(i);
    b.url = i % 4 == 1 ? "https://example.com/{{1}}" : "";
    b.phone_number = i % 4 == 2 ? "+14155550100" : "";
    t.buttons.push_back(b);
  }
  StateChange c = EncodeTemplate(in);
  EXPECT_EQ(c.family, StateFamily::kTemplate);
  auto r = DecodeTemplate(View(c.key), View(c.value));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->business_id, "acme");
  const MessageTemplate& o = r->tmpl;
  EXPECT_EQ(o.name, t.name);
  EXPECT_EQ(o.language, t.language);
  EXPECT_EQ(o.category, t.category);
  EXPECT_EQ(o.status, t.status);
  EXPECT_EQ(o.topic, t.topic);
  EXPECT_EQ(o.header_format, t.header_format);
  EXPECT_EQ(o.header_text, t.header_text);
  EXPECT_EQ(o.body, t.body);
  EXPECT_EQ(o.footer, t.footer);
  ASSERT_EQ(o.buttons.size(), 300u);
  for (size_t i = 0; i < o.buttons.size(); ++i) {
    EXPECT_EQ(o.buttons[i].kind, t.buttons[i].kind);
    EXPECT_EQ(o.buttons[i].text, t.buttons[i].text);
    EXPECT_EQ(o.buttons[i].url, t.buttons[i].url);
    EXPECT_EQ(o.buttons[i].phone_number, t.buttons[i].phone_number);
  }
  StateChange e = EraseTemplate("acme", t.name, t.language);
  EXPECT_TRUE(e.erase);
  EXPECT_EQ(e.family, StateFamily::kTemplate);
  EXPECT_EQ(Str(e.key), Str(c.key));
}

// --- Hand-written values are the messages' own bytes -------------------------

TEST(RecordCodecTest, LedgerValueIsTheMessagesSerialization) {
  for (int mask = 0; mask < 128; ++mask) {
    ConversationWindow w;
    if (mask & 1) w.slot_start_us = kT;
    if (mask & 2) w.slot_end_us = -kT;
    if (mask & 4) w.last_start_us = 1;
    w.pending = mask & 8;
    if (mask & 16) w.message_key = 0xfedcba9876543210ULL;
    w.pending_qualifies = mask & 32;
    w.start_qualifies = mask & 64;
    pb::LedgerValue m;
    m.set_format_version(1);
    m.set_slot_start_us(w.slot_start_us);
    m.set_slot_end_us(w.slot_end_us);
    m.set_last_start_us(w.last_start_us);
    m.set_pending(w.pending);
    m.set_message_key(w.message_key);
    m.set_pending_qualifies(w.pending_qualifies);
    m.set_start_qualifies(w.start_qualifies);
    const StateChange c = EncodeLedger({"N12345678", 1, w});
    EXPECT_EQ(Str(c.value), m.SerializeAsString()) << mask;
    auto r = DecodeLedger(View(c.key), View(c.value));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->window.pending_qualifies, w.pending_qualifies);
    EXPECT_EQ(r->window.start_qualifies, w.start_qualifies);
    EXPECT_EQ(r->window.message_key, w.message_key);
  }
}

TEST(RecordCodecTest, ThreadValueIsTheMessagesSerialization) {
  for (int mask = 0; mask < 4; ++mask) {
    ServiceWindow w;
    if (mask & 1) w.last_inbound_us = kT;
    if (mask & 2) w.user_conversation_end_us = kT + 1;
    pb::ThreadValue m;
    m.set_format_version(1);
    m.set_last_inbound_us(w.last_inbound_us);
    m.set_user_conversation_end_us(w.user_conversation_end_us);
    EXPECT_EQ(Str(EncodeThread({1, 2, w}).value), m.SerializeAsString()) << mask;
  }
}

TEST(RecordCodecTest, ConsentValueIsTheMessagesSerialization) {
  std::vector<ConsentRecord> cases = {ConsentRecord(), BigConsent()};
  ConsentRecord opted_out;
  opted_out.state = Consent::State::kOptedOut;
  opted_out.changed_at_us = kT;
  opted_out.sends = {kT};
  cases.push_back(opted_out);
  ConsentRecord stopped;  // The platform's word on marketing.
  stopped.marketing_held_until_us = kT + 5;
  stopped.marketing_preference_at_us = kT;
  stopped.marketing_stopped = true;
  cases.push_back(stopped);
  stopped.marketing_stopped = false;  // Resumed.
  cases.push_back(stopped);
  for (const ConsentRecord& c : cases) {
    pb::ConsentValue m;
    m.set_format_version(1);
    m.set_state(static_cast<pb::ConsentState>(c.state));
    m.set_source(static_cast<pb::OptInSource>(c.source));
    m.set_changed_at_us(c.changed_at_us);
    m.set_scoped_to_topics(!c.all_topics);
    for (const std::string& t : c.topics) m.add_topics(t);
    for (int64_t s : c.sends) m.add_sends(s);
    for (int64_t s : c.marketing) m.add_marketing(s);
    m.set_marketing_held_until_us(c.marketing_held_until_us);
    m.set_marketing_preference_at_us(c.marketing_preference_at_us);
    m.set_marketing_stopped(c.marketing_stopped);
    EXPECT_EQ(Str(EncodeConsent(c).value), m.SerializeAsString());
    ConsentRecord keyed = c;  // A decodable key needs a business.
    keyed.business_id = "acme";
    const StateChange change = EncodeConsent(keyed);
    auto back = DecodeConsent(View(change.key), View(change.value));
    ASSERT_TRUE(back.ok()) << back.status();
    ExpectSameConsent(*back, keyed);
  }
}

TEST(RecordCodecTest, LedgerAndThreadEncodingDoNotAllocate) {
  const std::string number_pool = PoolIdForNumber(14155550100);
  const std::string business_pool = PoolIdForBusiness(std::string(30, 'a'));
  const LedgerRecord l1{number_pool, 447700900001, {kT, kT + 1, kT + 2, true}};
  const LedgerRecord l2{business_pool, 447700900001, {kT, kT + 1, kT + 2, true}};
  const ThreadRecord t{14155550100, 447700900001, {kT, kT + 1}};
  const int64_t before = g_allocations.load();
  StateChange a = EncodeLedger(l1);
  StateChange b = EncodeLedger(l2);
  StateChange c = EncodeThread(t);
  StateChange d = EraseLedger(number_pool, 1);
  StateChange e = EraseThread(1, 2);
  const int64_t after = g_allocations.load();
  EXPECT_EQ(after - before, 0);
  // The counter does count: a consent with a send history needs the heap.
  EXPECT_GT(EncodeConsent(BigConsent()).value.size(), 16000u);
  EXPECT_GT(g_allocations.load(), after);
  EXPECT_EQ(a.key.size() + b.key.size() + c.key.size() + d.key.size() + e.key.size(),
            18u + 40u + 16u + 18u + 16u);
  EXPECT_LE(a.value.size(), 40u);
}

// --- Key order ---------------------------------------------------------------

TEST(RecordCodecTest, LedgerKeysOfOnePoolSortByCustomerNumerically) {
  const std::vector<uint64_t> customers = {1,
                                           2,
                                           255,
                                           256,
                                           65535,
                                           65536,
                                           447700900001,
                                           uint64_t{1} << 40,
                                           (uint64_t{1} << 63) + 1,
                                           ~uint64_t{0}};
  for (const std::string& pool : {PoolIdForNumber(14155550100), PoolIdForBusiness("acme"),
                                  PoolIdForBusiness(std::string(400, 'p'))}) {
    std::vector<std::string> keys;
    for (uint64_t c : customers) keys.push_back(Str(EncodeLedger({pool, c, {}}).key));
    std::vector<std::string> sorted = keys;
    std::sort(sorted.begin(), sorted.end());  // Bytewise, as RocksDB's default comparator.
    EXPECT_EQ(sorted, keys);
  }
}

TEST(RecordCodecTest, OnePoolsLedgerKeysAreContiguous) {
  // Another pool's keys never fall between two keys of one pool.
  const std::vector<std::string> pools = {PoolIdForBusiness("a"),
                                          PoolIdForBusiness("ab"),
                                          PoolIdForBusiness(std::string(254, 'a')),
                                          PoolIdForBusiness(std::string(255, 'a')),
                                          PoolIdForNumber(1),
                                          PoolIdForNumber(2)};
  std::vector<std::pair<std::string, std::string>> keyed;  // (key, pool)
  for (const std::string& p : pools) {
    for (uint64_t c : {uint64_t{0}, uint64_t{7}, ~uint64_t{0}}) {
      keyed.emplace_back(Str(EncodeLedger({p, c, {}}).key), p);
    }
  }
  std::sort(keyed.begin(), keyed.end());
  std::set<std::string> seen;
  for (size_t i = 0; i < keyed.size(); ++i) {
    if (i > 0 && keyed[i].second == keyed[i - 1].second) continue;
    EXPECT_TRUE(seen.insert(keyed[i].second).second) << "pool split: " << keyed[i].second.size();
  }
}

TEST(RecordCodecTest, SignalKeysSortByNumberThenTimeThenSequence) {
  std::vector<std::string> keys;
  for (uint64_t number : {uint64_t{14155550100}, uint64_t{14155550101}}) {
    for (int64_t at : {int64_t{-1000}, int64_t{-1}, int64_t{0}, int64_t{1}, kT, kT + 1}) {
      for (uint32_t seq : {0u, 1u, 256u}) keys.push_back(Str(EraseSignal(number, at, seq).key));
    }
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, keys);
}

TEST(RecordCodecTest, ThreadAndConsentKeysSortNumerically) {
  std::vector<std::string> threads, consents;
  for (uint64_t n : {uint64_t{1}, uint64_t{300}, uint64_t{14155550100}}) {
    for (uint64_t c : {uint64_t{5}, uint64_t{256}, uint64_t{447700900001}}) {
      threads.push_back(Str(EraseThread(n, c).key));
    }
  }
  for (uint64_t c : {uint64_t{5}, uint64_t{256}, uint64_t{447700900001}}) {
    ConsentRecord r;
    r.business_id = "acme";
    r.customer = c;
    consents.push_back(Str(EncodeConsent(r).key));
  }
  for (auto* keys : {&threads, &consents}) {
    std::vector<std::string> sorted = *keys;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, *keys);
  }
}

TEST(RecordCodecTest, KeysKeepTheExistingLayouts) {
  // The layouts the engine wrote before the codec (policy/byte_codec.h).
  const std::string n8("\x00\x00\x00\x03\x4b\xbc\x8d\x94", 8);  // 14155550100
  const std::string c8("\x00\x00\x00\x68\x3d\x0d\x98\xa1", 8);  // 447700900001
  EXPECT_EQ(PoolIdForNumber(14155550100), "N" + n8);
  EXPECT_EQ(PoolIdForBusiness("acme"), "Bacme");
  EXPECT_EQ(Str(EraseLedger(PoolIdForNumber(14155550100), 447700900001).key),
            std::string(1, '\x09') + "N" + n8 + c8);
  EXPECT_EQ(Str(EraseThread(14155550100, 447700900001).key), n8 + c8);
  EXPECT_EQ(Str(EncodeNumber({14155550100, "acme"}).key), n8);
  EXPECT_EQ(Str(EraseTemplate("acme", "t", "en").key), std::string("\x04"
                                                                   "acme"
                                                                   "\x00\x00\x00\x01"
                                                                   "t"
                                                                   "\x02"
                                                                   "en",
                                                                   13));
  ConsentRecord r;
  r.business_id = "acme";
  r.customer = 447700900001;
  EXPECT_EQ(Str(EncodeConsent(r).key),
            "\x04"
            "acme" +
                c8);
}

// --- Corrupt input -----------------------------------------------------------

void ExpectCorrupt(const absl::Status& s, absl::string_view family) {
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find(std::string("corrupt ") + std::string(family) + " record"),
            absl::string_view::npos)
      << s;
}

TEST(RecordCodecTest, CorruptKeysAreDataLoss) {
  const std::string good_value = Str(EncodeLedger({PoolIdForNumber(1), 1, {kT}}).value);
  ExpectCorrupt(DecodeLedger("", good_value).status(), "ledger");
  ExpectCorrupt(DecodeLedger(std::string("\x09", 1) + "N1234", good_value).status(), "ledger");
  // A pool id that is neither "N"+8 bytes nor "B"+id.
  ExpectCorrupt(DecodeLedger(Str(EraseLedger("X12345678", 1).key), good_value).status(), "ledger");
  ExpectCorrupt(DecodeLedger(Str(EraseLedger("B", 1).key), good_value).status(), "ledger");
  // Trailing bytes.
  ExpectCorrupt(
      DecodeLedger(Str(EraseLedger(PoolIdForNumber(1), 1).key) + "x", good_value).status(),
      "ledger");
  // Long-form length used for a short string.
  ExpectCorrupt(
      DecodeLedger(std::string("\xff\x00\x00\x00\x05", 5) + "Bacme" + std::string(8, '\0'),
                   good_value)
          .status(),
      "ledger");
  const std::string thread_value = Str(EncodeThread({1, 2, {kT, 0}}).value);
  ExpectCorrupt(DecodeThread("short", thread_value).status(), "thread");
  const std::string number_value = Str(EncodeNumber({1, "acme"}).value);
  ExpectCorrupt(DecodeNumber("short", number_value).status(), "number");
  ExpectCorrupt(DecodeNumber(std::string(8, '\0'), number_value).status(), "number");  // Number 0.
  ExpectCorrupt(DecodeSignal(std::string(19, '\1'), Str(EncodeSignal({1}).value)).status(),
                "signal");
  ExpectCorrupt(DecodeConsent("\x05"
                              "acme",
                              Str(EncodeConsent({}).value))
                    .status(),
                "consent");
  ExpectCorrupt(DecodeTemplate("\x04"
                               "acme"
                               "\x00\x00\x00\x09"
                               "t",
                               Str(EncodeTemplate({"acme", {}}).value))
                    .status(),
                "template");
  ExpectCorrupt(DecodeBusiness("", Str(EncodeBusiness({"acme"}).value)).status(), "business");
  ExpectCorrupt(DecodePool("N1", Str(EncodePool({"N1", "acme"}).value)).status(), "pool");
}

TEST(RecordCodecTest, CorruptValuesAreDataLoss) {
  const std::string lkey = Str(EraseLedger(PoolIdForNumber(1), 1).key);
  for (absl::string_view v : {absl::string_view(""), absl::string_view("\xff\xff\xff"),
                              absl::string_view("\x08", 1), absl::string_view("\x11\x01\x02", 3)}) {
    ExpectCorrupt(DecodeLedger(lkey, v).status(), "ledger");
  }
  // Truncating any valid value makes it unreadable or misses its version.
  const std::string consent_key = Str(EncodeConsent(BigConsent()).key);
  const std::string consent_value = Str(EncodeConsent(BigConsent()).value);
  for (size_t cut :
       {size_t{0}, size_t{1}, size_t{5}, consent_value.size() / 2, consent_value.size() - 1}) {
    auto r = DecodeConsent(consent_key, consent_value.substr(0, cut));
    if (r.ok()) {
      // A cut on a field boundary parses; it must then not claim to be the whole record.
      EXPECT_NE(r->marketing.size(), 1000u) << cut;
    } else {
      ExpectCorrupt(r.status(), "consent");
    }
  }
  // Out-of-range enums.
  pb::ConsentValue cv;
  cv.set_format_version(1);
  cv.set_state(static_cast<pb::ConsentState>(3));
  ExpectCorrupt(DecodeConsent(consent_key, cv.SerializeAsString()).status(), "consent");
  cv.set_state(pb::CONSENT_OPTED_IN);
  cv.set_source(static_cast<pb::OptInSource>(8));
  ExpectCorrupt(DecodeConsent(consent_key, cv.SerializeAsString()).status(), "consent");
  cv.set_source(pb::OPT_IN_SOURCE_SMS);
  cv.add_topics("offers");  // Topics on a consent that covers all topics.
  ExpectCorrupt(DecodeConsent(consent_key, cv.SerializeAsString()).status(), "consent");

  pb::SignalValue sv;
  sv.set_format_version(1);
  sv.set_kind(static_cast<pb::SignalKind>(kSignalKindCount));
  ExpectCorrupt(DecodeSignal(Str(EraseSignal(1, kT, 0).key), sv.SerializeAsString()).status(),
                "signal");

  const std::string tkey = Str(EraseTemplate("acme", "t", "en").key);
  pb::TemplateValue tv;
  tv.set_format_version(1);
  tv.set_status(static_cast<pb::TemplateStatus>(5));
  ExpectCorrupt(DecodeTemplate(tkey, tv.SerializeAsString()).status(), "template");
  tv.set_status(pb::STATUS_APPROVED);
  tv.add_buttons()->set_kind(static_cast<pb::ButtonKind>(4));
  ExpectCorrupt(DecodeTemplate(tkey, tv.SerializeAsString()).status(), "template");

  pb::PoolValue pv;
  pv.set_format_version(1);
  pv.set_business_id("acme");
  pv.set_level(-1);
  ExpectCorrupt(DecodePool("Bacme", pv.SerializeAsString()).status(), "pool");
  pv.set_level(1);
  pv.set_pending_level(-2);
  ExpectCorrupt(DecodePool("Bacme", pv.SerializeAsString()).status(), "pool");
  pv.clear_pending_level();
  pv.clear_business_id();
  ExpectCorrupt(DecodePool("Bacme", pv.SerializeAsString()).status(), "pool");

  // No format version.
  pb::NumberValue nv;
  nv.set_business_id("acme");
  ExpectCorrupt(DecodeNumber(Str(EncodeNumber({1, "acme"}).key), nv.SerializeAsString()).status(),
                "number");
  // A business record in the old layout (one flags byte).
  ExpectCorrupt(DecodeBusiness("acme", "\x01").status(), "business");
}

TEST(RecordCodecTest, NewerFormatVersionSaysNewerServer) {
  auto expect_newer = [](const absl::Status& s) {
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_NE(s.message().find("written by a newer server"), absl::string_view::npos) << s;
  };
  pb::LedgerValue lv;
  lv.set_format_version(kRecordFormatVersion + 1);
  lv.set_slot_end_us(kT);
  const std::string lkey = Str(EraseLedger(PoolIdForNumber(1), 1).key);
  expect_newer(DecodeLedger(lkey, lv.SerializeAsString()).status());
  // A newer value this version cannot even parse still names the version.
  std::string unparseable = lv.SerializeAsString();
  unparseable.push_back('\x12');  // Field 2, length-delimited: a wire type this version
  unparseable.push_back('\x7f');  // does not expect, and a length past the end.
  expect_newer(DecodeLedger(lkey, unparseable).status());
  pb::TemplateValue tv;
  tv.set_format_version(99);
  expect_newer(
      DecodeTemplate(Str(EraseTemplate("a", "t", "en").key), tv.SerializeAsString()).status());
  pb::ProfileValue pv;
  pv.set_format_version(2);
  pv.set_name("x");
  pv.add_ladder(1);
  pv.set_records_format_version(2);
  expect_newer(DecodeProfile(pv.SerializeAsString()).status());
}

// --- Routing -----------------------------------------------------------------

TEST(RecordCodecTest, OwnerOfEveryFamily) {
  auto owner = [](const StateChange& c) {
    absl::StatusOr<RecordOwner> o = OwnerOfRecord(c.family, View(c.key), View(c.value));
    EXPECT_TRUE(o.ok()) << o.status();
    return o.ok() ? *o : RecordOwner{"<error>", 0};
  };
  auto is_business = [](const RecordOwner& o, absl::string_view id) {
    return o.business_id == id && o.number == 0;
  };
  auto is_number = [](const RecordOwner& o, uint64_t n) {
    return o.business_id.empty() && o.number == n;
  };
  const uint64_t n = 14155550100, c = 447700900001;
  EXPECT_TRUE(is_business(owner(EncodeBusiness({"acme"})), "acme"));
  EXPECT_TRUE(is_business(owner(EncodePool({PoolIdForNumber(n), "acme"})), "acme"));
  EXPECT_TRUE(is_business(owner(EncodePool({PoolIdForBusiness("acme"), "acme"})), "acme"));
  EXPECT_TRUE(is_business(owner(EncodeNumber({n, "acme"})), "acme"));
  EXPECT_TRUE(is_number(owner(EncodeSignal({n, kT, 0, SignalKind::kBlockSpam})), n));
  EXPECT_TRUE(is_number(owner(EncodeLedger({PoolIdForNumber(n), c, {}})), n));
  EXPECT_TRUE(is_business(owner(EncodeLedger({PoolIdForBusiness("acme"), c, {}})), "acme"));
  EXPECT_TRUE(is_number(owner(EncodeThread({n, c, {}})), n));
  ConsentRecord cr;
  cr.business_id = "acme";
  EXPECT_TRUE(is_business(owner(EncodeConsent(cr)), "acme"));
  EXPECT_TRUE(is_business(owner(EncodeTemplate({"acme", {"t", "en"}})), "acme"));
  // Erasures are routed by key alone.
  EXPECT_TRUE(is_number(owner(EraseLedger(PoolIdForNumber(n), c)), n));
  EXPECT_TRUE(is_business(owner(EraseTemplate("acme", "t", "en")), "acme"));

  ExpectCorrupt(OwnerOfRecord(StateFamily::kThread, "x", "").status(), "thread");
  ExpectCorrupt(OwnerOfRecord(StateFamily::kPool, "Bacme", "junk").status(), "pool");
  ExpectCorrupt(OwnerOfRecord(StateFamily::kLedger, "\x02Zz", "").status(), "ledger");
  ExpectCorrupt(OwnerOfRecord(StateFamily::kBusiness, "", "").status(), "business");
}

// --- Families and the profile record -----------------------------------------

TEST(RecordCodecTest, RestoreOrderHasEveryFamilyOnceAndParentsFirst) {
  std::set<StateFamily> seen(kRestoreOrder.begin(), kRestoreOrder.end());
  EXPECT_EQ(seen.size(), static_cast<size_t>(kStateFamilyCount));
  auto pos = [](StateFamily f) {
    return std::find(kRestoreOrder.begin(), kRestoreOrder.end(), f) - kRestoreOrder.begin();
  };
  EXPECT_LT(pos(StateFamily::kBusiness), pos(StateFamily::kPool));
  EXPECT_LT(pos(StateFamily::kPool), pos(StateFamily::kNumber));
  EXPECT_LT(pos(StateFamily::kNumber), pos(StateFamily::kSignal));
  for (StateFamily f : {StateFamily::kLedger, StateFamily::kThread, StateFamily::kConsent,
                        StateFamily::kTemplate}) {
    EXPECT_LT(pos(StateFamily::kNumber), pos(f));
  }
  std::set<std::string> names;
  for (StateFamily f : kRestoreOrder) names.insert(std::string(StateFamilyName(f)));
  EXPECT_EQ(names.size(), static_cast<size_t>(kStateFamilyCount));
  EXPECT_EQ(names.count("unknown"), 0u);
  EXPECT_EQ(names.count(std::string(kMetaFamilyName)), 0u);
  EXPECT_EQ(StateFamilyName(StateFamily::kSignal), "signal");
}

TEST(RecordCodecTest, ProfileRecordRoundTrip) {
  ProfileRecord in;
  in.profile = {"platform-2025-10", 3, {250, 2000, 10000, 100000, -1}, true};
  auto r = DecodeProfile(EncodeProfile(in));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->profile, in.profile);
  EXPECT_EQ(r->records_format_version, kRecordFormatVersion);
  EXPECT_EQ(DecodeProfile("").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(DecodeProfile("garbage").status().message().find("corrupt profile record"),
            absl::string_view::npos);
}

TEST(RecordCodecTest, BusinessKeyRangesHoldTheBusinessRecordsAndNoOtherBusinesss) {
  const uint64_t n1 = 14155550100ULL, n2 = 14155550101ULL, other = 14155550102ULL;
  const std::vector<KeyRange> ranges = BusinessKeyRanges("acme", {n2, n1, n1});
  auto in = [&](const StateChange& c) {
    int hits = 0;
    for (const KeyRange& r : ranges) hits += r.family == c.family && r.Contains(View(c.key));
    EXPECT_LE(hits, 1);
    return hits == 1;
  };
  auto mine = [&](absl::string_view business, uint64_t number) {
    return std::vector<StateChange>{
        EncodeBusiness({std::string(business)}),
        EncodePool({PoolIdForBusiness(business), std::string(business)}),
        EncodePool({PoolIdForNumber(number), std::string(business)}),
        EncodeNumber({number, std::string(business)}),
        EncodeSignal({number, 5, 1, SignalKind::kReport}),
        EncodeLedger({PoolIdForNumber(number), 447700900001ULL, {}}),
        EncodeLedger({PoolIdForBusiness(business), 447700900001ULL, {}}),
        EncodeThread({number, 447700900001ULL, {}}),
        EncodeConsent({std::string(business), 447700900001ULL}),
        EncodeTemplate({std::string(business), {"t", "en"}}),
    };
  };
  for (uint64_t n : {n1, n2}) {
    for (const StateChange& c : mine("acme", n)) EXPECT_TRUE(in(c)) << StateFamilyName(c.family);
  }
  for (const StateChange& c : mine("acme2", other)) EXPECT_FALSE(in(c)) << StateFamilyName(c.family);
  for (const StateChange& c : mine("acm", other)) EXPECT_FALSE(in(c)) << StateFamilyName(c.family);
  // Families in restore order, each family's ranges sorted and disjoint; no event ids.
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].family != ranges[i - 1].family) continue;
    EXPECT_LE(ranges[i - 1].end, ranges[i].begin);
  }
  for (const KeyRange& r : ranges) EXPECT_NE(r.family, StateFamily::kEventId);
}

}  // namespace
}  // namespace wapolicy
