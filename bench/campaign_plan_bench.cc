// How long PolicyEngine::PlanCampaign takes for a large campaign, in
// process (issue 16, point 5: 1,000,000 customers in under 2 s).
//
//   bazel run -c opt //bench:campaign_plan_bench -- [CUSTOMERS] [REPS]
//
// One number at 1,000 (the brief's verified start, upgrades on), the
// platform's 80 messages a second and the pair rate on, 100 earlier
// conversations; CUSTOMERS customers (default 1,000,000): 90% opted in,
// the rest split between not opted in, opted out and a wrong topic, 1% of
// the list repeated. Prints the wall time of each plan (without and with
// the per-customer outcomes) and the plan's figures.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "policy/campaign_plan.h"
#include "policy/policy_engine.h"

using namespace wapolicy;

// This thread's CPU time: the box is shared, so wall time includes waiting
// for a core.
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  const absl::Time t0 = absl::FromUnixSeconds(1767225600);
  ManualClock clock(t0 - absl::Hours(1));
  PolicyProfile profile = DefaultProfile();
  PolicyEngine engine(profile, &clock);
  const PhoneNumber biz = PhoneNumber::Parse("+14155550100").value();
  if (!engine.UpsertBusiness("acme", true, false).ok() || !engine.RegisterNumber(biz, "acme").ok()) {
    return 1;
  }
  MessageTemplate t{"promo", "en_US", TemplateCategory::kMarketing, TemplateStatus::kApproved};
  t.body = "Spring sale";
  t.footer = "Reply STOP to opt out";
  if (!engine.PutTemplate("acme", t).ok()) return 1;
  auto customer = [](int i) { return PhoneNumber::FromDigitsValue(919800000000ULL + i); };
  std::vector<PhoneNumber> customers;
  customers.reserve(n + n / 100);
  const std::vector<std::string> orders = {"orders"};
  const auto setup_start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    const PhoneNumber c = customer(i);
    customers.push_back(c);
    if (i % 100 == 0) customers.push_back(customer(i / 2));  // Listed twice.
    const int kind = i % 30;
    if (kind == 0) continue;  // Not opted in.
    if (!engine.RecordOptIn(biz, c, OptInSource::kWebsite, kind == 1 ? orders : std::vector<std::string>{}).ok()) {
      return 1;
    }
    if (kind == 2 && !engine.RecordOptOut(biz, c).ok()) return 1;
  }
  // Earlier traffic: 100 conversations an hour ago.
  for (int i = 0; i < 100; ++i) {
    OutgoingMessage m;
    m.business_number = biz;
    m.customer = PhoneNumber::FromDigitsValue(919900000000ULL + i);
    m.template_name = "promo";
    m.template_language = "en_US";
    m.pace = true;
    if (!engine.RecordOptIn(biz, m.customer, OptInSource::kWebsite).ok()) return 1;
    if (!engine.Check(m).ok() || !engine.RecordDelivered(biz, m.customer).ok()) return 1;
  }
  clock.Set(t0);
  std::printf("set-up: %zu customers listed (%d distinct) in %.1f s\n", customers.size(), n,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_start).count());

  for (bool per_customer : {false, true}) {
    double best = 1e9;
    absl::StatusOr<CampaignPlan> plan;
    for (int r = 0; r < reps; ++r) {
      CampaignRequest req;
      req.business_number = biz;
      req.template_name = "promo";
      req.template_language = "en_US";
      req.per_customer = per_customer;
      req.step_us = 60 * 1000000LL;
      const auto start = std::chrono::steady_clock::now();
      const double cpu_start = CpuSeconds();
      plan = engine.PlanCampaign(req, customers);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double cpu = CpuSeconds() - cpu_start;
      if (!plan.ok()) {
        std::fprintf(stderr, "plan: %s\n", plan.status().ToString().c_str());
        return 1;
      }
      best = std::min(best, s);
      std::printf("plan of %zu customers%s: %.3f s wall, %.3f s CPU (%.0f customers/s)\n",
                  customers.size(), per_customer ? " with per-customer outcomes" : "", s, cpu,
                  customers.size() / s);
    }
    std::printf("best: %.3f s\n", best);
    if (per_customer) continue;
    std::printf("  send now %lld, in conversation %lld, wait %lld, duplicates %lld, excluded %lld; "
                "%zu steps, last at +%.1f h, %zu upgrades\n",
                static_cast<long long>(plan->count(CampaignOutcome::kSendNow)),
                static_cast<long long>(plan->count(CampaignOutcome::kInConversation)),
                static_cast<long long>(plan->count(CampaignOutcome::kWait)),
                static_cast<long long>(plan->count(CampaignOutcome::kDuplicate)),
                static_cast<long long>(plan->count(CampaignOutcome::kNotOptedIn) +
                                       plan->count(CampaignOutcome::kOptedOut) +
                                       plan->count(CampaignOutcome::kTopic)),
                plan->schedule.size(),
                (plan->last_send_at_us - plan->start_us) / 3600e6, plan->upgrades.size());
  }
  return 0;
}
