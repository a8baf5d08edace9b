// Model-based randomized test: random sequences of events and clock jumps run
// against the PolicyEngine and against a deliberately simple reference model
// that recomputes every answer by brute force over the event history; every
// decision must agree. Built twice: once against the real engine (must agree
// on every sequence) and once against an engine with an injected off-by-one
// (WAPOLICY_EXPECT_DIVERGENCE: the harness must find it).

#include <cstdint>
#include <random>
#include <set>
#include <deque>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "policy/policy_engine.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

constexpr int kNumbers = 2;
constexpr int kCustomers = 5;
constexpr int64_t kMin = 60LL * 1000000;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;

PolicyProfile ModelProfile(bool flags) {
  PolicyProfile p = DefaultProfile();
  p.flagged_enabled = flags;  // Off: the downgrade rule alone.
  p.name = "model";
  p.ladder = {2, 4, 8, kUnlimited};
  p.verified_start_level = 0;
  p.quality.medium_threshold = 4;
  p.quality.low_threshold = 8;
  p.frequency_cap_per_day = 0;  // The reference model does not count sends.
  p.marketing_cap_per_day = 0;
  return p;
}

// --- The reference model ---------------------------------------------------

enum class Ev { kOptIn, kOptOut, kInbound, kAdmitBI, kOpenUI, kDelivered, kFailed, kSignal };
struct Event {
  int64_t t;
  Ev type;
  int number;
  int customer;
  SignalKind kind = SignalKind::kReport;
};

struct Slot {
  bool open = false;
  bool pending = false;
  int64_t end = 0;
};

class Reference {
 public:
  explicit Reference(PolicyProfile p) : p_(std::move(p)) {
    for (auto& n : num_) n.level = p_.verified_start_level;
  }

  // A customer's slot with a number at time t, replayed from the history.
  Slot SlotAt(int number, int c, int64_t t) const {
    Slot s;
    for (const Event& e : hist_) {
      if (e.number != number || e.customer != c) continue;
      if (s.open && s.end <= e.t) s = Slot();
      if (e.type == Ev::kAdmitBI) {
        s = {true, true, e.t + Us(p_.reservation_timeout)};
      } else if (e.type == Ev::kDelivered) {
        if (s.open && s.pending) {
          s = {true, false, e.t + kDay};
        } else if (!s.open && !UserConversationAt(number, c, e.t, &e)) {
          s = {true, false, e.t + kDay};
        }
      } else if (e.type == Ev::kFailed && s.open && s.pending) {
        s = Slot();
      }
    }
    if (s.open && s.end <= t) s = Slot();
    return s;
  }
  // Window open, or a user-initiated conversation open, just before event `before`.
  bool UserConversationAt(int number, int c, int64_t t, const Event* before = nullptr) const {
    return WindowOpen(number, c, t, before) || UiOpen(number, c, t, before);
  }
  bool WindowOpen(int number, int c, int64_t t, const Event* before = nullptr) const {
    for (const Event& e : hist_) {
      if (&e == before) break;
      if (e.type == Ev::kInbound && e.number == number && e.customer == c && e.t <= t &&
          t < e.t + kDay) {
        return true;
      }
    }
    return false;
  }
  bool UiOpen(int number, int c, int64_t t, const Event* before = nullptr) const {
    for (const Event& e : hist_) {
      if (&e == before) break;
      if (e.type == Ev::kOpenUI && e.number == number && e.customer == c && t < e.t + kDay) {
        return true;
      }
    }
    return false;
  }
  Consent::State ConsentAt(int c) const {
    Consent::State s = Consent::State::kNone;
    for (const Event& e : hist_) {
      if (e.customer != c) continue;
      if (e.type == Ev::kOptIn) s = Consent::State::kOptedIn;
      if (e.type == Ev::kOptOut) s = Consent::State::kOptedOut;
    }
    return s;
  }
  int64_t Used(int number, int64_t t) const {
    int64_t used = 0;
    for (int c = 0; c < kCustomers; ++c) used += SlotAt(number, c, t).open;
    return used;
  }
  // Unique customers with a confirmed conversation started in (t - 7d, t].
  int64_t RecentUnique(int number, int64_t t) const {
    int64_t n = 0;
    for (int c = 0; c < kCustomers; ++c) {
      bool found = false;
      for (const Event& e : hist_) {
        if (e.type == Ev::kDelivered && e.number == number && e.customer == c &&
            e.t > t - Us(p_.upgrade_lookback) && started_.count(&e - hist_.data())) {
          found = true;
        }
      }
      n += found;
    }
    return n;
  }
  std::deque<QualitySignal> Signals(int number, int64_t before_t, bool inclusive) const {
    std::deque<QualitySignal> out;
    for (const Event& e : hist_) {
      if (e.type == Ev::kSignal && e.number == number && (inclusive ? e.t <= before_t : e.t < before_t)) {
        out.push_back({e.t, e.kind});
      }
    }
    return out;
  }
  QualityRating Rating(int number, int64_t t) const {
    return p_.quality.Rate(Signals(number, t, true), absl::FromUnixMicros(t));
  }
  // Low without a break over [from, t]: the score only falls between signals,
  // so check at `from` and just before each signal in (from, t], and at t.
  bool ContinuouslyLow(int number, int64_t from, int64_t t) const {
    if (Rating(number, from) != QualityRating::kLow || Rating(number, t) != QualityRating::kLow) {
      return false;
    }
    for (const Event& e : hist_) {
      if (e.type != Ev::kSignal || e.number != number || e.t <= from || e.t > t) continue;
      if (p_.quality.Rate(Signals(number, e.t, false), absl::FromUnixMicros(e.t)) !=
          QualityRating::kLow) {
        return false;
      }
    }
    return true;
  }

  void Advance(int number, int64_t t) {
    N& n = num_[number];
    for (;;) {
      const int64_t up = n.pending >= 0 ? n.pending_at : INT64_MAX;
      const int64_t fl = n.flagged_since ? n.flagged_since + Us(p_.flagged_period) : INT64_MAX;
      if (up > t && fl > t) break;
      if (up <= fl) {
        n.level = n.pending;
        n.pending = -1;
      } else {
        if (Rating(number, fl) == QualityRating::kLow) {
          n.level = std::max(p_.verified_start_level, n.level - 1);
          n.restart = fl;
        }
        n.flagged_since = 0;
      }
    }
  }

  Decision Check(int number, int c, bool is_template, bool template_paused, int64_t t) {
    Advance(number, t);
    Decision d;
    d.limit = p_.LimitAt(num_[number].level);
    d.used = Used(number, t);
    const bool window = WindowOpen(number, c, t);
    const Consent::State consent = ConsentAt(c);
    auto deny = [&](ReasonCode r) {
      d.allowed = false;
      d.reason = r;
      return d;
    };
    if (is_template) {
      if (template_paused) return deny(ReasonCode::kTemplatePaused);
      if (consent == Consent::State::kOptedOut) return deny(ReasonCode::kOptedOut);
    } else if (!window) {
      return deny(ReasonCode::kOutsideServiceWindow);
    }
    d.allowed = true;
    const Slot slot = SlotAt(number, c, t);
    if (window) {
      if (slot.open) {
        d.effect = ConversationEffect::kReusesBusinessInitiated;
      } else if (UiOpen(number, c, t)) {
        d.effect = ConversationEffect::kReusesUserInitiated;
      } else {
        d.effect = ConversationEffect::kOpensUserInitiated;
        hist_.push_back({t, Ev::kOpenUI, number, c});
      }
      return d;
    }
    if (consent != Consent::State::kOptedIn) return deny(ReasonCode::kNotOptedIn);
    if (slot.open) {
      d.effect = ConversationEffect::kReusesBusinessInitiated;
      return d;
    }
    if (d.limit != kUnlimited && d.used >= d.limit) return deny(ReasonCode::kLimitReached);
    d.effect = ConversationEffect::kOpensBusinessInitiated;
    hist_.push_back({t, Ev::kAdmitBI, number, c});
    d.used += 1;
    return d;
  }

  DeliveryOutcome Delivered(int number, int c, int64_t t) {
    Advance(number, t);
    const Slot s = SlotAt(number, c, t);
    DeliveryOutcome o;
    if (s.open) {
      o = s.pending ? DeliveryOutcome::kStartedConversation : DeliveryOutcome::kInOpenConversation;
    } else if (UserConversationAt(number, c, t)) {
      o = DeliveryOutcome::kInUserConversation;
    } else {
      o = DeliveryOutcome::kStartedUnadmitted;
    }
    hist_.push_back({t, Ev::kDelivered, number, c});
    if (o == DeliveryOutcome::kStartedConversation || o == DeliveryOutcome::kStartedUnadmitted) {
      started_.insert(hist_.size() - 1);
      NewConversation(number, t);
    }
    return o;
  }

  void NewConversation(int number, int64_t t) {
    N& n = num_[number];
    const QualityRating r = Rating(number, t);
    if (r == QualityRating::kLow && n.restart <= t - Us(p_.downgrade_low_period) &&
        ContinuouslyLow(number, t - Us(p_.downgrade_low_period), t)) {
      n.level = std::max(p_.verified_start_level, n.level - 1);
      n.pending = -1;
      n.restart = t;
    }
    const int64_t limit = p_.LimitAt(n.level);
    if (!n.flagged_since && n.pending < 0 && n.level < p_.top_level() &&
        r != QualityRating::kLow && limit != kUnlimited && 2 * RecentUnique(number, t) >= limit) {
      n.pending = n.level + 1;
      n.pending_at = t + Us(p_.upgrade_delay);
    }
  }

  bool Failed(int number, int c, int64_t t) {
    Advance(number, t);
    const Slot s = SlotAt(number, c, t);
    hist_.push_back({t, Ev::kFailed, number, c});
    return s.open && s.pending;
  }

  void Signal(int number, int c, SignalKind kind, int64_t t) {
    Advance(number, t);
    const QualityRating before = Rating(number, t);
    hist_.push_back({t, Ev::kSignal, number, c, kind});
    const QualityRating after = Rating(number, t);
    N& n = num_[number];
    if (p_.flagged_enabled && after == QualityRating::kLow && before != QualityRating::kLow &&
        !n.flagged_since) {
      n.flagged_since = t;
      n.pending = -1;
    }
  }
  void Simple(Ev type, int number, int c, int64_t t) {
    Advance(number, t);
    hist_.push_back({t, type, number, c});
  }
  void StateOf(int number, int64_t t, int64_t* limit, bool* flagged, int* pending) {
    Advance(number, t);
    *limit = p_.LimitAt(num_[number].level);
    *flagged = num_[number].flagged_since != 0;
    *pending = num_[number].pending;
  }

 private:
  static int64_t Us(absl::Duration d) { return absl::ToInt64Microseconds(d); }
  struct N {
    int level = 0;
    int pending = -1;
    int64_t pending_at = 0;
    int64_t flagged_since = 0;
    int64_t restart = INT64_MIN / 2;  // Last drop; the next needs a full Low period after it.
  };
  PolicyProfile p_;
  std::vector<Event> hist_;
  std::set<size_t> started_;  // Deliveries that started a conversation.
  N num_[kNumbers];
};

// --- The harness -------------------------------------------------------------

// Runs one random sequence; returns "" if engine and model agree on every
// answer, else a description of the first divergence.
// Action mix, cumulative percentages: jump, opt-in, opt-out, inbound, check,
// delivered, failed, signal; the rest reads the number's state.
struct Mix {
  int cut[8];
};
constexpr Mix kBalanced = {{15, 25, 28, 36, 66, 82, 88, 96}};
constexpr Mix kSignalHeavy = {{14, 22, 23, 28, 50, 72, 75, 93}};

std::string RunSequence(uint64_t seed, int steps, const Mix& mix = kBalanced) {
  std::mt19937_64 rng(seed);
  const bool flags = seed % 3 != 0;
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const absl::Time t0 = absl::FromUnixSeconds(1767225600);
  ManualClock clock(t0);
  PolicyEngine engine(ModelProfile(flags), &clock, nullptr, /*shards=*/2, /*max_numbers=*/8);
  Reference ref(ModelProfile(flags));
  (void)engine.UpsertBusiness("b", true, false);
  PhoneNumber numbers[kNumbers] = {Num("+14155550100"), Num("+14155550101")};
  for (PhoneNumber n : numbers) (void)engine.RegisterNumber(n, "b");
  (void)engine.PutTemplate("b", {"ok", "en", TemplateCategory::kUtility, TemplateStatus::kApproved});
  MessageTemplate paused{"paused", "en", TemplateCategory::kMarketing, TemplateStatus::kPaused};
  paused.footer = "Reply STOP to opt out";
  if (!engine.PutTemplate("b", paused).ok()) return "setup: PutTemplate failed";
  auto customer = [](int c) { return PhoneNumber::FromDigitsValue(447700000000ULL + c); };
  const int64_t jumps[] = {1 * kMin, 10 * kMin, 15 * kMin, kHour, 6 * kHour, 23 * kHour, kDay, 3 * kDay};

  std::string trace;
  for (int step = 0; step < steps; ++step) {
    const int number = pick(kNumbers), c = pick(kCustomers);
    const int64_t now = absl::ToUnixMicros(clock.Now());
    const int action = pick(100);
    auto fail = [&](const std::string& what) {
      return absl::StrCat("seed ", seed, " step ", step, ": ", what, "\ntrace:\n", trace);
    };
    if (action < mix.cut[0]) {
      clock.Advance(absl::Microseconds(jumps[pick(8)]));
      absl::StrAppend(&trace, "  advance to ", absl::FormatTime(clock.Now()), "\n");
    } else if (action < mix.cut[1]) {
      (void)engine.RecordOptIn(numbers[number], customer(c), OptInSource::kSms);
      ref.Simple(Ev::kOptIn, number, c, now);
      absl::StrAppend(&trace, "  opt-in n", number, " c", c, "\n");
    } else if (action < mix.cut[2]) {
      (void)engine.RecordOptOut(numbers[number], customer(c));
      ref.Simple(Ev::kOptOut, number, c, now);
      absl::StrAppend(&trace, "  opt-out n", number, " c", c, "\n");
    } else if (action < mix.cut[3]) {
      (void)engine.RecordInbound(numbers[number], customer(c));
      ref.Simple(Ev::kInbound, number, c, now);
      absl::StrAppend(&trace, "  inbound n", number, " c", c, "\n");
    } else if (action < mix.cut[4]) {
      const bool is_template = pick(4) != 0;
      const bool paused = is_template && pick(10) == 0;
      OutgoingMessage m;
      m.business_number = numbers[number];
      m.customer = customer(c);
      m.kind = is_template ? MessageKind::kTemplate : MessageKind::kSession;
      m.template_name = paused ? "paused" : "ok";
      m.template_language = "en";
      absl::StatusOr<Decision> got = engine.Check(m);
      Decision want = ref.Check(number, c, is_template, paused, now);
      absl::StrAppend(&trace, "  check n", number, " c", c, is_template ? " template" : " session",
                      " -> ", ReasonCodeName(want.reason), " ", ConversationEffectName(want.effect),
                      " used ", want.used, "/", want.limit, "\n");
      if (!got.ok()) return fail(std::string(got.status().message()));
      if (got->allowed != want.allowed || got->reason != want.reason ||
          (want.allowed && got->effect != want.effect) || got->limit != want.limit ||
          got->used != want.used) {
        return fail(absl::StrCat("check: engine ", ReasonCodeName(got->reason), " ",
                                 ConversationEffectName(got->effect), " used ", got->used, "/",
                                 got->limit, ", model ", ReasonCodeName(want.reason), " ",
                                 ConversationEffectName(want.effect), " used ", want.used, "/",
                                 want.limit));
      }
    } else if (action < mix.cut[5]) {
      absl::StatusOr<DeliveryOutcome> got = engine.RecordDelivered(numbers[number], customer(c));
      DeliveryOutcome want = ref.Delivered(number, c, now);
      absl::StrAppend(&trace, "  delivered n", number, " c", c, " -> ", DeliveryOutcomeName(want), "\n");
      if (!got.ok() || *got != want) {
        return fail(absl::StrCat("delivered: engine ", got.ok() ? DeliveryOutcomeName(*got) : "error",
                                 ", model ", DeliveryOutcomeName(want)));
      }
    } else if (action < mix.cut[6]) {
      const bool got = engine.RecordDeliveryFailed(numbers[number], customer(c)).ok();
      const bool want = ref.Failed(number, c, now);
      absl::StrAppend(&trace, "  failed n", number, " c", c, " -> ", want, "\n");
      if (got != want) return fail(absl::StrCat("delivery failed: engine ", got, ", model ", want));
    } else if (action < mix.cut[7]) {
      const SignalKind kind = static_cast<SignalKind>(pick(kSignalKindCount));
      (void)engine.RecordSignal(numbers[number], customer(c), kind);
      ref.Signal(number, c, kind, now);
      absl::StrAppend(&trace, "  signal n", number, " ", SignalKindName(kind), "\n");
    } else {
      absl::StatusOr<NumberSnapshot> got = engine.GetNumberState(numbers[number]);
      int64_t limit;
      bool flagged;
      int pending;
      ref.StateOf(number, now, &limit, &flagged, &pending);
      if (!got.ok() || got->limit != limit || got->flagged != flagged ||
          got->pending_level != pending || got->used != ref.Used(number, now)) {
        return fail(absl::StrCat("state: engine limit ", got->limit, " flagged ", got->flagged,
                                 " pending ", got->pending_level, " used ", got->used,
                                 "; model limit ", limit, " flagged ", flagged, " pending ",
                                 pending, " used ", ref.Used(number, now)));
      }
    }
  }
  return "";
}

#ifndef WAPOLICY_EXPECT_DIVERGENCE
TEST(PolicyEngineModelTest, AgreesWithReferenceModelOnTenThousandRandomSequences) {
  for (uint64_t seed = 1; seed <= 10000; ++seed) {
    const std::string divergence = RunSequence(seed, 60);
    ASSERT_EQ(divergence, "") << divergence;
  }
}

TEST(PolicyEngineModelTest, LongSequencesReachTierChangesAndAgree) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const std::string divergence = RunSequence(seed * 7919, 600);
    ASSERT_EQ(divergence, "") << divergence;
  }
}

TEST(PolicyEngineModelTest, SignalHeavySequencesReachFlagsAndDowngradesAndAgree) {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    const std::string divergence = RunSequence(seed * 104729, 800, kSignalHeavy);
    ASSERT_EQ(divergence, "") << divergence;
  }
}
#else
TEST(PolicyEngineModelTest, FindsTheInjectedBug) {
  int found = 0;
  for (uint64_t seed = 1; seed <= 2000; ++seed) found += !RunSequence(seed, 60).empty();
  EXPECT_GT(found, 0) << "the model test did not notice an engine that admits limit + 1";
}
#endif

}  // namespace
}  // namespace wapolicy
