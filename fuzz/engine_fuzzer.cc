// Fuzzes the policy core with random event sequences: each 3 input bytes are
// one operation (what, which number/customer, a parameter). Checks, after
// every step, the admission invariant (an admitted new conversation never
// takes a number past its limit); at the end, campaign plans and a
// reservation on the state left (campaign_plan.h), and that an engine
// rebuilt from the journal reports the same state.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "policy/campaign_plan.h"
#include "policy/policy_engine.h"
#include "policy/test_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wapolicy;
  ManualClock clock(absl::FromUnixSeconds(1767225600));
  PolicyProfile profile = DefaultProfile();
  profile.ladder = {2, 4, 8, kUnlimited};
  profile.verified_start_level = 0;
  profile.quality.medium_threshold = 4;
  profile.quality.low_threshold = 8;
  profile.frequency_cap_per_day = 3;
  MemoryJournal journal;
  PolicyEngine engine(profile, &clock, &journal, /*shards=*/2, /*max_numbers=*/8);
  (void)engine.UpsertBusiness("b", true, false);
  const PhoneNumber numbers[2] = {PhoneNumber::FromDigitsValue(14155550100ULL),
                                  PhoneNumber::FromDigitsValue(14155550101ULL)};
  for (PhoneNumber n : numbers) (void)engine.RegisterNumber(n, "b");
  MessageTemplate mk{"m", "en", TemplateCategory::kMarketing, TemplateStatus::kApproved};
  mk.footer = "Reply STOP to opt out";
  (void)engine.PutTemplate("b", {"u", "en", TemplateCategory::kUtility, TemplateStatus::kApproved});
  (void)engine.PutTemplate("b", mk);
  static const std::string kTopics[] = {"utility", "marketing", "news"};
  for (size_t i = 0; i + 3 <= size; i += 3) {
    const uint8_t op = data[i] % 12, who = data[i + 1], arg = data[i + 2];
    const PhoneNumber n = numbers[who & 1];
    const PhoneNumber c = PhoneNumber::FromDigitsValue(447700000000ULL + (who >> 1) % 8);
    switch (op) {
      case 0: {
        std::vector<std::string> topics;
        for (int t = 0; t < 3; ++t)
          if (arg & (1 << t)) topics.push_back(kTopics[t]);
        (void)engine.RecordOptIn(n, c, static_cast<OptInSource>(arg % kOptInSourceCount), topics);
        break;
      }
      case 1:
        (void)engine.RecordOptOut(n, c);
        break;
      case 2:
        (void)engine.RecordInbound(n, c, (arg & 1) ? "STOP" : "hello");
        break;
      case 3:
      case 4: {
        OutgoingMessage m{n, c, op == 3 ? MessageKind::kTemplate : MessageKind::kSession,
                          (arg & 1) ? "m" : "u", "en"};
        m.dry_run = arg & 2;
        m.marketing = arg & 4;
        m.session_type = static_cast<SessionType>(arg % 12);
        absl::StatusOr<Decision> d = engine.Check(m);
        if (d.ok() && d->effect == ConversationEffect::kOpensBusinessInitiated &&
            d->limit != kUnlimited && d->used > d->limit) {
          __builtin_trap();  // Admitted past the limit.
        }
        break;
      }
      case 5:
        (void)engine.RecordDelivered(n, c);
        break;
      case 6:
        (void)engine.RecordDeliveryFailed(n, c);
        break;
      case 7:
        (void)engine.RecordSignal(n, c, static_cast<SignalKind>(arg % kSignalKindCount));
        break;
      case 8:
        clock.Advance(absl::Minutes(1 + arg * 7));
        break;
      case 9:
        clock.Advance(absl::Hours(1 + arg % 72));
        break;
      case 10:
        (void)engine.GetNumberState(n);
        break;
      default:
        (void)engine.Sweep();
        break;
    }
  }
  // Campaigns on the state the sequence left (after it, so the sequences keep
  // their meaning): a plan changes nothing and its counts add up; a
  // reservation (of the customers the last byte picks) never passes the
  // limit and takes all its slots or none; the rebuild below covers it.
  const uint8_t pick = size > 0 ? data[size - 1] : 0;
  for (PhoneNumber n : numbers) {
    std::vector<PhoneNumber> all, some;
    for (int k = 0; k < 8; ++k) {
      all.push_back(PhoneNumber::FromDigitsValue(447700000000ULL + k));
      if (pick & (1 << k)) some.push_back(all.back());
    }
    all.push_back(all.front());  // Listed twice.
    for (const char* name : {"m", "u"}) {
      CampaignRequest req{n, name, "en"};
      req.per_customer = true;
      auto before = engine.GetNumberState(n);
      absl::StatusOr<CampaignPlan> plan = engine.PlanCampaign(req, all);
      auto after = engine.GetNumberState(n);
      if (!before.ok() || !plan.ok() || !after.ok()) __builtin_trap();
      int64_t total = 0;
      for (int64_t c : plan->counts) total += c;
      if (total != 9 || plan->count(CampaignOutcome::kDuplicate) != 1 ||
          plan->used != before->used || after->used != before->used ||
          after->pending != before->pending ||
          (plan->limit != kUnlimited &&
           plan->count(CampaignOutcome::kSendNow) > std::max<int64_t>(0, plan->limit - plan->used))) {
        __builtin_trap();  // A plan changed state or its counts do not add up.
      }
    }
    CampaignRequest req{n, (pick & 1) ? "m" : "u", "en"};
    auto before = engine.GetNumberState(n);
    absl::StatusOr<CampaignReservation> r = engine.ReserveCampaign(req, some);
    auto after = engine.GetNumberState(n);
    if (!before.ok() || !after.ok()) __builtin_trap();
    if (r.ok() ? (r->reserved + r->in_conversation != static_cast<int64_t>(some.size()) ||
                  after->used != before->used + r->reserved ||
                  // A pool can be over a limit that fell (downgrade): then
                  // only conversations already open may go.
                  (r->reserved > 0 && after->limit != kUnlimited && after->used > after->limit))
               : (after->used != before->used || after->pending != before->pending)) {
      __builtin_trap();  // Over the limit, or not all or nothing.
    }
  }
  PolicyEngine rebuilt(profile, &clock, nullptr, /*shards=*/2, /*max_numbers=*/8);
  for (const auto& [key, value] : journal.records()) {
    if (!rebuilt.Restore(static_cast<StateFamily>(key.first), key.second, value).ok())
      __builtin_trap();
  }
  for (PhoneNumber n : numbers) {
    auto a = engine.GetNumberState(n);
    auto b = rebuilt.GetNumberState(n);
    if (!a.ok() || !b.ok() || a->used != b->used || a->pending != b->pending ||
        a->limit != b->limit || a->flagged != b->flagged || a->quality != b->quality ||
        // A running score and a rebuilt one may differ in the last bits.
        std::abs(a->quality_score - b->quality_score) > 1e-9 * std::max(1.0, a->quality_score) ||
        a->pending_level != b->pending_level) {
      __builtin_trap();  // The journal lost or changed state.
    }
  }
  return 0;
}
