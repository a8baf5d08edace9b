#include "policy/campaign_plan.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <queue>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/time/time.h"
#include "policy/tier_rules.h"

namespace wapolicy {

absl::string_view CampaignOutcomeName(CampaignOutcome o) {
  switch (o) {
    case CampaignOutcome::kSendNow:
      return "SEND_NOW";
    case CampaignOutcome::kInConversation:
      return "IN_CONVERSATION";
    case CampaignOutcome::kWait:
      return "WAIT";
    case CampaignOutcome::kNotOptedIn:
      return "NOT_OPTED_IN";
    case CampaignOutcome::kOptedOut:
      return "OPTED_OUT";
    case CampaignOutcome::kTopic:
      return "TOPIC_NOT_CONSENTED";
    case CampaignOutcome::kMarketingHeld:
      return "MARKETING_HELD";
    case CampaignOutcome::kUsMarketing:
      return "US_MARKETING";
    case CampaignOutcome::kFrequencyCapped:
      return "FREQUENCY_CAPPED";
    case CampaignOutcome::kTemplate:
      return "TEMPLATE_NOT_SENDABLE";
    case CampaignOutcome::kAccountDisabled:
      return "ACCOUNT_DISABLED";
    case CampaignOutcome::kDuplicate:
      return "DUPLICATE";
    case CampaignOutcome::kOther:
      return "OTHER";
  }
  return "OTHER";
}

CampaignOutcome CampaignOutcomeOf(const Decision& d) {
  if (d.allowed) {
    return d.effect == ConversationEffect::kOpensBusinessInitiated
               ? CampaignOutcome::kSendNow
               : CampaignOutcome::kInConversation;
  }
  switch (d.reason) {
    case ReasonCode::kLimitReached:
    case ReasonCode::kAccountRestricted:
      return CampaignOutcome::kWait;
    case ReasonCode::kNotOptedIn:
      return CampaignOutcome::kNotOptedIn;
    case ReasonCode::kOptedOut:
      return CampaignOutcome::kOptedOut;
    case ReasonCode::kTopicNotConsented:
      return CampaignOutcome::kTopic;
    case ReasonCode::kMarketingHeld:
      return CampaignOutcome::kMarketingHeld;
    case ReasonCode::kMarketingBlockedRegion:
      return CampaignOutcome::kUsMarketing;
    case ReasonCode::kFrequencyCapped:
      return CampaignOutcome::kFrequencyCapped;
    case ReasonCode::kTemplateUnknown:
    case ReasonCode::kTemplateNotApproved:
    case ReasonCode::kTemplatePaused:
    case ReasonCode::kTemplateDisabled:
    case ReasonCode::kMessageInvalid:
      return CampaignOutcome::kTemplate;
    case ReasonCode::kAccountDisabled:
      return CampaignOutcome::kAccountDisabled;
    default:
      return CampaignOutcome::kOther;
  }
}

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

int64_t Us(absl::Duration d) { return absl::ToInt64Microseconds(d); }

template <typename T>
using MinHeap = std::priority_queue<T, std::vector<T>, std::greater<T>>;

// The replay: the pool's slots, the tier, the look-back's starts, and the
// campaign's deliveries still to come, advanced in time order.
class Forecast {
 public:
  Forecast(const PolicyProfile& p, CampaignPool& pool, int64_t step_us, CampaignPlan* plan)
      : p_(p), pool_(pool), step_us_(step_us), plan_(plan) {
    conversation_us_ = Us(p.conversation_length);
    lookback_us_ = Us(p.upgrade_lookback);
    std::vector<int64_t> ends;
    ends.reserve(pool.slot_ends.size());
    for (int64_t e : pool.slot_ends) {
      if (e > pool.start_us) ends.push_back(e);
    }
    ends_ = MinHeap<int64_t>(std::greater<int64_t>(), std::move(ends));
    for (int64_t s : pool.recent_starts) {
      if (s > pool.start_us - lookback_us_) starts_.insert(s);
    }
    // An upgrade already scheduled before the campaign.
    if (pool.tier.has_pending_upgrade()) {
      plan_->upgrades.push_back({0, pool.tier.pending_at_us, LimitAtLevel(pool.tier.level),
                                 LimitAtLevel(pool.tier.pending_level),
                                 !pool.platform_limit.set});
    }
  }

  // A campaign message admitted at `admit_at` that goes at `send_at`.
  void Admit(int64_t send_at, int64_t previous_start) {
    ends_.push(send_at + conversation_us_);
    deliveries_.push({send_at, previous_start});
  }

  int64_t held() const { return static_cast<int64_t>(ends_.size()); }
  int64_t limit() const {
    return pool_.platform_limit.set ? pool_.platform_limit.limit : p_.LimitAt(pool_.tier.level);
  }

  // Applies everything due at or before `t`, in time order: tier
  // transitions (first at one instant, as AdvanceNumber runs them before a
  // delivery), deliveries (each a start the upgrade rule counts), slot ends.
  void AdvanceTo(int64_t t) {
    for (;;) {
      const int64_t due = TierDue();
      const int64_t delivery = deliveries_.empty() ? kNever : deliveries_.top().first;
      if (due <= t && due <= delivery) {
        ApplyTier(due);
      } else if (delivery <= t) {
        const auto [at, previous] = deliveries_.top();
        deliveries_.pop();
        Deliver(at, previous);
      } else {
        break;
      }
    }
    while (!ends_.empty() && ends_.top() <= t) ends_.pop();
  }

  // The next time anything changes after `t` (kNever if nothing will).
  // `waiting`: slot ends matter only while customers wait.
  int64_t NextEvent(bool waiting) const {
    int64_t next = deliveries_.empty() ? kNever : deliveries_.top().first;
    if (waiting) {
      if (!ends_.empty()) next = std::min(next, ends_.top());
      next = std::min(next, TierDue());
    } else if (!deliveries_.empty()) {
      next = std::min(next, TierDue());  // Applied in order with the deliveries.
    }
    return next;
  }
  bool deliveries_pending() const { return !deliveries_.empty(); }

 private:
  int64_t LimitAtLevel(int level) const { return level < 0 ? 0 : p_.LimitAt(level); }
  QualityRating RatingAt(int64_t at) const {
    return EffectiveRating(pool_.number, p_.quality, at);
  }
  int64_t TierDue() const {
    const TierDueTimes d = DueTimes(p_, pool_.tier, pool_.number.standing);
    return d.next() == TierDueTimes::kNotDue ? kNever : d.next();
  }
  void ApplyTier(int64_t at) {
    auto rating_at = [&](int64_t when) { return RatingAt(when); };
    AdvanceTier(p_, pool_.verified, rating_at, at, pool_.tier, pool_.number.standing);
  }
  void Deliver(int64_t at, int64_t previous_start) {
    // The customer's latest start moves to `at`: one unique customer, once.
    if (previous_start != 0) {
      auto it = starts_.find(previous_start);
      if (it != starts_.end()) starts_.erase(it);
    }
    starts_.insert(at);
    const int64_t horizon = at - lookback_us_;
    while (!starts_.empty() && *starts_.begin() <= horizon) starts_.erase(starts_.begin());
    MessagingTier& tier = pool_.tier;
    // The rule's cheap conditions first, so that the rating (a pass over the
    // signals) is read only when an upgrade may follow; the rule decides.
    if (tier.has_pending_upgrade() || pool_.number.standing.flagged() ||
        tier.level >= CeilingLevel(p_, pool_.verified) ||
        !MeetsUpgradeVolume(p_.LimitAt(tier.level), static_cast<int64_t>(starts_.size()))) {
      return;
    }
    const int before = tier.level;
    const TierChanges ch = OnConversationStarted(p_, pool_.verified, RatingAt(at),
                                                 static_cast<int64_t>(starts_.size()), at,
                                                 pool_.number.standing, tier);
    if (!ch.tier) return;
    const int after = tier.has_pending_upgrade() ? tier.pending_level : tier.level;
    plan_->upgrades.push_back({at, tier.has_pending_upgrade() ? tier.pending_at_us : at,
                               LimitAtLevel(before), LimitAtLevel(after),
                               !pool_.platform_limit.set});
  }

  const PolicyProfile& p_;
  CampaignPool& pool_;
  const int64_t step_us_;
  CampaignPlan* const plan_;
  int64_t conversation_us_ = 0;
  int64_t lookback_us_ = 0;
  MinHeap<int64_t> ends_;                            // Held slots' ends.
  MinHeap<std::pair<int64_t, int64_t>> deliveries_;  // (send time, previous start).
  absl::btree_multiset<int64_t> starts_;             // Latest start per customer, look-back.
};

}  // namespace

void ForecastCampaign(const PolicyProfile& profile, CampaignPool pool,
                      const std::vector<CampaignStart>& starts,
                      const std::vector<CampaignWaiter>& waiters, int64_t step_us,
                      CampaignPlan* plan) {
  Forecast f(profile, pool, step_us, plan);
  for (const CampaignStart& s : starts) f.Admit(s.send_at_us, s.previous_start_us);
  const bool keep = !plan->customer_plans.empty();
  const int32_t mps = pool.throughput_mps;
  size_t next = 0;  // The first customer still waiting.
  int64_t t = pool.start_us;
  CampaignStep* step = nullptr;
  for (;;) {
    f.AdvanceTo(t);
    if (next < waiters.size() && t >= pool.restricted_until_us) {
      const int64_t limit = f.limit();
      int64_t free = limit == kUnlimited ? static_cast<int64_t>(waiters.size() - next)
                                         : std::max<int64_t>(0, limit - f.held());
      for (; free > 0 && next < waiters.size(); --free, ++next) {
        const CampaignWaiter& w = waiters[next];
        // As Check with pace answers at `t` (send_decision.h rules 13, 14).
        const int64_t pair_at =
            profile.pair_rate_enabled ? PairEarliest(w.pair, profile.pair_rate, t) : t;
        const int64_t send_at =
            mps > 0 ? ThroughputEarliest(pool.throughput, mps, pair_at) : pair_at;
        if (mps > 0) TakeThroughput(pool.throughput, mps, send_at);
        f.Admit(send_at, w.previous_start_us);
        if (keep) {
          CampaignCustomer& c = plan->customer_plans[w.index];
          c.admit_at_us = t;
          c.send_at_us = send_at;
        }
        plan->last_send_at_us = std::max(plan->last_send_at_us, send_at);
        const bool same_step =
            step != nullptr && (t == step->at_us || t < step->at_us + step_us);
        if (!same_step && plan->schedule.size() < CampaignPlan::kMaxSteps) {
          plan->schedule.push_back({t, 0, 0, limit});
          step = &plan->schedule.back();
        } else if (!same_step) {
          plan->schedule_truncated = true;
        }
        step->count += 1;
        step->last_send_at_us = std::max(step->last_send_at_us, send_at);
      }
    }
    const bool waiting = next < waiters.size();
    if (!waiting && !f.deliveries_pending()) break;
    int64_t after = f.NextEvent(waiting);
    if (waiting && t < pool.restricted_until_us) after = std::min(after, pool.restricted_until_us);
    if (after == kNever) break;  // Nothing will free a slot: the rest wait for ever.
    t = std::max(t, after);
  }
  plan->unscheduled = static_cast<int64_t>(waiters.size() - next);
}

}  // namespace wapolicy
