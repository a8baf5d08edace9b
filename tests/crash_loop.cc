// Crash loop: a mixed load (admissions, deliveries, inbound messages, blocks,
// opt-outs) against the real policy_server, killed with SIGKILL at random
// moments and restarted each time. After every restart it checks that:
//   - every admission the client was answered "allow" is still held;
//   - every answered opt-out, inbound message and block is still there;
//   - no number holds more unique-customer conversations than its limit;
//   - the database opens (the server restarts).
// Each round runs at its own fake-clock day, so conversations of earlier
// rounds have ended and the limit is exercised again.
//
//   crash_loop --kills=100 [--seed=1]      (the test suite runs --kills=10)

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tests/server_process.h"

ABSL_FLAG(int, kills, 10, "How many times to kill and restart the server.");
ABSL_FLAG(uint64_t, seed, 1, "Random seed.");
ABSL_FLAG(int, customers, 400, "Opted-in customers.");

namespace {

using namespace wapolicy;
constexpr int kNumbers = 2;
constexpr int kLimit = 150;
const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

std::string Number(int n) { return absl::StrCat("+1415555", 1000 + n); }
std::string Customer(int c) { return absl::StrCat("+44770", 1000000 + c); }

struct Answered {  // What the clients were told, this round.
  std::mutex mu;
  std::set<std::pair<int, int>> admitted, inbound;
  std::set<int> opted_out;
  int blocks[kNumbers] = {0, 0};
};

int failures = 0;
void Fail(const std::string& what) {
  std::fprintf(stderr, "crash_loop: FAILED: %s\n", what.c_str());
  ++failures;
}

v1::CheckRequest TemplateCheck(int n, int c, bool dry_run) {
  v1::CheckRequest r;
  r.set_business_number(Number(n));
  r.set_customer(Customer(c));
  r.mutable_template_message()->set_name("t");
  r.mutable_template_message()->set_language("en");
  r.set_dry_run(dry_run);
  return r;
}

std::unique_ptr<ServerProcess> StartAt(const std::string& dir, const std::string& config,
                                       absl::Time t) {
  auto s = std::make_unique<ServerProcess>(
      dir, std::vector<std::string>{
               "--config=" + config,
               "--fake_clock=" + absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone())});
  if (!s->Start()) {
    Fail("the server did not restart (database did not open?)");
    return nullptr;
  }
  return s;
}

void Load(ServerProcess& server, Answered& a, std::atomic<bool>& stop, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int customers = absl::GetFlag(FLAGS_customers);
  std::vector<std::pair<int, int>> mine;  // Admitted by this thread.
  while (!stop) {
    const int n = static_cast<int>(rng() % kNumbers), c = static_cast<int>(rng() % customers);
    const int op = static_cast<int>(rng() % 100);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    if (op < 55) {
      v1::Decision d;
      if (server.service().Check(&ctx, TemplateCheck(n, c, false), &d).ok() &&
          d.effect() == v1::OPENS_BUSINESS_INITIATED) {
        std::lock_guard<std::mutex> l(a.mu);
        a.admitted.insert({n, c});
        mine.push_back({n, c});
      }
    } else if (op < 75 && !mine.empty()) {
      const auto [dn, dc] = mine[rng() % mine.size()];
      v1::EventRequest e;
      e.set_business_number(Number(dn));
      e.set_customer(Customer(dc));
      e.mutable_delivered();
      v1::EventResponse r;
      (void)server.service().ReportEvent(&ctx, e, &r);
    } else if (op < 88) {
      v1::EventRequest e;
      e.set_business_number(Number(n));
      e.set_customer(Customer(c));
      e.mutable_inbound()->set_text("hello");
      v1::EventResponse r;
      if (server.service().ReportEvent(&ctx, e, &r).ok()) {
        std::lock_guard<std::mutex> l(a.mu);
        a.inbound.insert({n, c});
      }
    } else if (op < 98) {
      v1::EventRequest e;
      e.set_business_number(Number(n));
      e.set_customer(Customer(c));
      e.mutable_blocked()->set_reason(v1::NO_LONGER_NEEDED);
      v1::EventResponse r;
      if (server.service().ReportEvent(&ctx, e, &r).ok()) {
        std::lock_guard<std::mutex> l(a.mu);
        a.blocks[n]++;
      }
    } else {
      v1::EventRequest e;
      e.set_business_number(Number(n));
      e.set_customer(Customer(c));
      e.mutable_opt_out();
      v1::EventResponse r;
      if (server.service().ReportEvent(&ctx, e, &r).ok()) {
        std::lock_guard<std::mutex> l(a.mu);
        a.opted_out.insert(c);
      }
    }
  }
}

// blocks_by_round[r][n]: blocks answered in round r (rounds are 25h apart, so
// the last 7 rounds are inside the 7-day signal window).
void Verify(ServerProcess& server, Answered& a, const std::set<int>& all_opted_out,
            const std::vector<std::array<int64_t, kNumbers>>& blocks_by_round, int round) {
  int64_t held[kNumbers] = {0, 0};
  for (const auto& [n, c] : a.admitted) {
    if (all_opted_out.count(c)) continue;  // Opt-out answers first; checked below.
    grpc::ClientContext ctx;
    v1::Decision d;
    // An opt-out whose answer was lost in the kill may still have been
    // recorded, and opt-out answers first; the slot count below still holds.
    if (!server.service().Check(&ctx, TemplateCheck(n, c, true), &d).ok() ||
        (d.effect() != v1::REUSES_BUSINESS_INITIATED && d.reason() != v1::OPTED_OUT)) {
      Fail(absl::StrCat("round ", round, ": admission ", Number(n), " -> ", Customer(c),
                        " lost (now ", v1::ReasonCode_Name(d.reason()), " ",
                        v1::ConversationEffect_Name(d.effect()), ")"));
    }
    held[n]++;
  }
  for (int c : all_opted_out) {
    grpc::ClientContext ctx;
    v1::Decision d;
    if (!server.service().Check(&ctx, TemplateCheck(0, c, true), &d).ok() ||
        d.reason() != v1::OPTED_OUT) {
      Fail(absl::StrCat("round ", round, ": opt-out of ", Customer(c), " lost"));
    }
  }
  for (const auto& [n, c] : a.inbound) {
    grpc::ClientContext ctx;
    v1::CheckRequest r;
    r.set_business_number(Number(n));
    r.set_customer(Customer(c));
    r.mutable_session()->set_type(v1::TEXT);
    r.set_dry_run(true);
    v1::Decision d;
    if (!server.service().Check(&ctx, r, &d).ok() || !d.allowed()) {
      Fail(absl::StrCat("round ", round, ": service window ", Number(n), " <- ", Customer(c),
                        " lost"));
    }
  }
  for (int n = 0; n < kNumbers; ++n) {
    grpc::ClientContext ctx;
    v1::GetNumberStateRequest r;
    r.set_business_number(Number(n));
    v1::NumberState s;
    if (!server.service().GetNumberState(&ctx, r, &s).ok()) {
      Fail("GetNumberState failed after restart");
      continue;
    }
    if (s.used() > s.limit()) {
      Fail(absl::StrCat("round ", round, ": ", Number(n), " holds ", s.used(), " > limit ",
                        s.limit()));
    }
    if (s.used() < held[n]) {
      Fail(absl::StrCat("round ", round, ": ", Number(n), " holds ", s.used(), " < ", held[n],
                        " answered"));
    }
    const int64_t signals = s.signals_7d().no_longer_needed();
    int64_t expected = 0;
    for (int r = std::max(0, round - 6); r <= round; ++r) expected += blocks_by_round[r][n];
    if (signals < expected) {
      Fail(absl::StrCat("round ", round, ": ", Number(n), " has ", signals, " blocks < ", expected,
                        " answered in the last 7 days"));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string dir = MakeTempDir("crash_loop");
  const std::string config = dir + ".config";
  std::ofstream(config) << "ladder: [" << kLimit
                        << "] verified_start_level: 0 unverified_max_level: 0 "
                        << "frequency_cap_per_day: 0 reservation_timeout_seconds: 172800 "
                        << "quality { low_threshold: 1000000 medium_threshold: 500000 }\n";
  absl::Time now = kT0;
  std::unique_ptr<ServerProcess> server = StartAt(dir, config, now);
  if (server == nullptr) return 1;
  if (!SetUpBusiness(*server, "acme", {Number(0), Number(1)}).ok()) return 1;
  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));
  std::set<int> all_opted_out;
  std::vector<std::array<int64_t, kNumbers>> blocks_by_round;
  int64_t verified_admissions = 0;
  for (int round = 0; round < absl::GetFlag(FLAGS_kills); ++round) {
    // Everyone opts in again before the round's load starts, so each round
    // admits; the round's opt-outs come after it and must win.
    v1::EventBatchRequest optins;
    for (int c = 0; c < absl::GetFlag(FLAGS_customers); ++c) {
      v1::EventRequest* e = optins.add_events();
      e->set_business_number(Number(0));
      e->set_customer(Customer(c));
      e->mutable_opt_in()->set_source(v1::SMS);
    }
    grpc::ClientContext oc;
    v1::EventBatchResponse er;
    if (!server->service().ReportEvents(&oc, optins, &er).ok()) return 1;
    all_opted_out.clear();
    Answered a;
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int t = 0; t < 3; ++t) {
      clients.emplace_back(Load, std::ref(*server), std::ref(a), std::ref(stop), rng());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 400));
    server->Kill(SIGKILL);
    stop = true;
    for (auto& t : clients) t.join();
    all_opted_out.insert(a.opted_out.begin(), a.opted_out.end());
    server = StartAt(dir, config, now);  // Same instant: nothing may have expired.
    if (server == nullptr) return 1;
    blocks_by_round.push_back({a.blocks[0], a.blocks[1]});
    Verify(*server, a, all_opted_out, blocks_by_round, round);
    verified_admissions += static_cast<int64_t>(a.admitted.size());
    std::fprintf(stderr,
                 "crash_loop: kill %d: %zu admissions, %zu windows, %zu opt-outs verified\n",
                 round + 1, a.admitted.size(), a.inbound.size(), a.opted_out.size());
    // The next round runs a day later: this round's conversations have ended.
    grpc::ClientContext ctx;
    v1::AdvanceClockRequest adv;
    adv.set_seconds(25 * 3600);
    v1::AdvanceClockResponse advr;
    if (!server->admin().AdvanceClock(&ctx, adv, &advr).ok()) return 1;
    now += absl::Hours(25);
  }
  server->Kill(SIGTERM);
  if (verified_admissions == 0) Fail("the load admitted nothing: the loop tested nothing");
  std::printf("crash_loop: %d kills, %lld answered admissions verified, %d failures\n",
              absl::GetFlag(FLAGS_kills), static_cast<long long>(verified_admissions), failures);
  return failures == 0 ? 0 : 1;
}
