// Soak: a steady mixed load for a bounded time against the real server, with
// the fake clock moving 12 hours a step so conversations, windows and signals
// keep expiring and the sweeper keeps collecting them. A fixed pool of
// customers is reused, so live state is bounded; the server's memory must
// level off: after warm-up, RSS may not grow by more than 25% (+16 MiB).
//
//   soak --seconds=600        (the suite runs a 30-second version)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "tests/server_process.h"

ABSL_FLAG(int, seconds, 30, "How long to run.");
ABSL_FLAG(int, pool, 40000, "Customers in the reused pool.");
ABSL_FLAG(int, step_customers, 4000, "Customers reached per step.");

namespace {

using namespace wapolicy;
constexpr char kNumber[] = "+14155550100";
std::string Customer(int c) { return absl::StrCat("+44770", 1000000 + c); }

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string dir = MakeTempDir("soak");
  const std::string config = dir + ".config";
  std::ofstream(config) << "ladder: [-1] verified_start_level: 0 unverified_max_level: 0 "
                           "frequency_cap_per_day: 0\n";
  ServerProcess server(dir, {"--config=" + config, "--fake_clock=2026-01-01T00:00:00Z",
                             "--sweep_interval=1s", "--memtable_budget_mb=32"});
  if (!server.Start()) return 1;
  if (!SetUpBusiness(server, "acme", {kNumber}).ok()) return 1;
  const int pool = absl::GetFlag(FLAGS_pool), per_step = absl::GetFlag(FLAGS_step_customers);
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(absl::GetFlag(FLAGS_seconds));
  const auto warm = start + std::chrono::seconds(absl::GetFlag(FLAGS_seconds)) * 2 / 5;
  int64_t warm_rss = 0, max_rss = 0, max_tracked = 0, decisions = 0;
  int errors = 0;
  for (int step = 0; std::chrono::steady_clock::now() < end; ++step) {
    v1::EventBatchRequest before, after;
    v1::CheckBatchRequest checks;
    for (int i = 0; i < per_step; ++i) {
      const int c = (step * per_step + i) % pool;
      v1::EventRequest* e = before.add_events();
      e->set_business_number(kNumber);
      e->set_customer(Customer(c));
      if (i % 10 == 0) {
        e->mutable_inbound()->set_text("hi");
      } else {
        e->mutable_opt_in()->set_source(v1::WEBSITE);
      }
      v1::CheckRequest* r = checks.add_checks();
      r->set_business_number(kNumber);
      r->set_customer(Customer(c));
      r->mutable_template_message()->set_name("t");
      r->mutable_template_message()->set_language("en");
      v1::EventRequest* d = after.add_events();
      d->set_business_number(kNumber);
      d->set_customer(Customer(c));
      if (i % 50 == 0) {
        d->mutable_blocked()->set_reason(v1::NO_REASON);
      } else if (i % 3 == 0) {
        d->mutable_delivery_failed();
      } else {
        d->mutable_delivered();
      }
    }
    grpc::ClientContext c1, c2, c3, c4, c5;
    v1::EventBatchResponse r1, r3;
    v1::CheckBatchResponse r2;
    errors += !server.service().ReportEvents(&c1, before, &r1).ok();
    errors += !server.service().CheckBatch(&c2, checks, &r2).ok();
    errors += !server.service().ReportEvents(&c3, after, &r3).ok();
    decisions += r2.results_size();
    v1::AdvanceClockRequest adv;
    adv.set_seconds(12 * 3600);
    v1::AdvanceClockResponse advr;
    errors += !server.admin().AdvanceClock(&c4, adv, &advr).ok();
    v1::GetServerInfoResponse info;
    errors += !server.admin().GetServerInfo(&c5, v1::GetServerInfoRequest(), &info).ok();
    max_tracked = std::max(max_tracked, info.tracked_conversations());
    const int64_t rss = server.RssKb();
    if (std::chrono::steady_clock::now() < warm) {
      warm_rss = std::max(warm_rss, rss);
    } else {
      max_rss = std::max(max_rss, rss);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const bool steady = max_rss <= warm_rss + warm_rss / 4 + 16 * 1024;
  std::printf(
      "soak: %d s, %lld decisions, %d errors; RSS %lld KiB after warm-up, at most %lld KiB "
      "after (%s); at most %lld tracked conversations\n",
      absl::GetFlag(FLAGS_seconds), static_cast<long long>(decisions), errors,
      static_cast<long long>(warm_rss), static_cast<long long>(max_rss),
      steady ? "steady" : "GROWING", static_cast<long long>(max_tracked));
  server.Kill(SIGTERM);
  return errors == 0 && steady && max_tracked <= pool ? 0 : 1;
}
