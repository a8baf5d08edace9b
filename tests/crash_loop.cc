// Crash loop: a mixed load (admissions, deliveries, inbound messages, blocks,
// opt-outs) against the real policy_server, killed with SIGKILL at random
// moments and restarted each time. Half the events carry an event id and
// half a time of their own (deliveries, inbound messages and blocks up to
// hours in the past; opt-outs a little ahead, within the skew allowance, as
// they must not predate the round's opt-ins); the clients also report some
// of their answered events again while the server runs, and must get the
// first answer. After every restart it checks that:
//   - every admission the client was answered "allow" is still held;
//   - every answered opt-out, inbound message and block is still there;
//   - no number holds more unique-customer conversations than its limit;
//   - the database opens (the server restarts);
//   - answered events reported again with their ids (a sample of this
//     round's and of the six before, all inside the id retention; one at a
//     time and in a batch) get the first answer and change nothing: both
//     numbers' states are the same before and after.
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

// An event reported with an id, and what the server answered.
struct Sent {
  v1::EventRequest request;
  v1::EventResponse response;
};

struct Answered {  // What the clients were told, this round.
  std::mutex mu;
  std::set<std::pair<int, int>> admitted, inbound;
  std::set<int> opted_out;
  int blocks[kNumbers] = {0, 0};
  std::vector<Sent> with_id;
  int64_t repeats = 0;  // Reported again during the load, answered as the first time.
};

std::atomic<int> failures{0};
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

std::string Describe(const v1::EventRequest& e) { return e.ShortDebugString(); }

void Load(ServerProcess& server, Answered& a, std::atomic<bool>& stop, uint64_t seed,
          absl::Time now, int round, int thread) {
  std::mt19937_64 rng(seed);
  const int customers = absl::GetFlag(FLAGS_customers);
  std::vector<std::pair<int, int>> mine;  // Admitted by this thread.
  std::vector<Sent> sent;                 // Answered events with an id, this thread's.
  int64_t next_id = 0;
  // Half the events carry an id, unique over the whole run.
  auto id = [&](v1::EventRequest& e, const char* status) {
    if (rng() % 2 == 0) {
      e.set_event_id(absl::StrCat("wamid.r", round, "t", thread, ".", next_id++, ":", status));
    }
  };
  // Half carry a time of their own, up to `max_back` before now.
  auto past = [&](v1::EventRequest& e, absl::Duration max_back) {
    if (rng() % 2 == 0) {
      const int64_t back_ms = static_cast<int64_t>(rng() % absl::ToInt64Milliseconds(max_back));
      e.set_occurred_at_unix_ms(absl::ToUnixMillis(now) - back_ms);
    }
  };
  // Reports an event; keeps it with its answer if it carries an id.
  auto report = [&](grpc::ClientContext& ctx, const v1::EventRequest& e) {
    v1::EventResponse r;
    if (!server.service().ReportEvent(&ctx, e, &r).ok()) return false;
    if (!e.event_id().empty()) {
      sent.push_back({e, r});
      std::lock_guard<std::mutex> l(a.mu);
      a.with_id.push_back({e, r});
    }
    return true;
  };
  while (!stop) {
    const int n = static_cast<int>(rng() % kNumbers), c = static_cast<int>(rng() % customers);
    const int op = static_cast<int>(rng() % 100);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    if (op >= 94 && !sent.empty()) {
      // The platform retries: one of this thread's answered events again.
      const Sent& s = sent[rng() % sent.size()];
      v1::EventResponse r;
      if (!server.service().ReportEvent(&ctx, s.request, &r).ok()) continue;  // Killed.
      if (r.SerializeAsString() != s.response.SerializeAsString()) {
        Fail(absl::StrCat("round ", round, ": ", Describe(s.request), " again: answered {",
                          r.ShortDebugString(), "}, first {", s.response.ShortDebugString(), "}"));
      }
      std::lock_guard<std::mutex> l(a.mu);
      a.repeats++;
    } else if (op < 52) {
      v1::Decision d;
      if (server.service().Check(&ctx, TemplateCheck(n, c, false), &d).ok() &&
          d.effect() == v1::OPENS_BUSINESS_INITIATED) {
        std::lock_guard<std::mutex> l(a.mu);
        a.admitted.insert({n, c});
        mine.push_back({n, c});
      }
    } else if (op < 70 && !mine.empty()) {
      // Delivered up to 6 hours ago: the conversation is still open when
      // the admissions are verified (same instant).
      const auto [dn, dc] = mine[rng() % mine.size()];
      v1::EventRequest e;
      e.set_business_number(Number(dn));
      e.set_customer(Customer(dc));
      e.mutable_delivered();
      id(e, "delivered");
      past(e, absl::Hours(6));
      (void)report(ctx, e);
    } else if (op < 82) {
      // Written up to 12 hours ago: the service window is still open.
      v1::EventRequest e;
      e.set_business_number(Number(n));
      e.set_customer(Customer(c));
      e.mutable_inbound()->set_text("hello");
      id(e, "inbound");
      past(e, absl::Hours(12));
      if (report(ctx, e)) {
        std::lock_guard<std::mutex> l(a.mu);
        a.inbound.insert({n, c});
      }
    } else if (op < 92) {
      // Made up to 12 hours ago: inside the 7 days of the rounds verified.
      v1::EventRequest e;
      e.set_business_number(Number(n));
      e.set_customer(Customer(c));
      e.mutable_blocked()->set_reason(v1::NO_LONGER_NEEDED);
      id(e, "blocked");
      past(e, absl::Hours(12));
      if (report(ctx, e)) {
        std::lock_guard<std::mutex> l(a.mu);
        a.blocks[n]++;
      }
    } else {
      // An opt-out older than the round's opt-in would be left out: these
      // are now, or up to a minute ahead (inside the skew: counted as now).
      v1::EventRequest e;
      e.set_business_number(Number(n));
      e.set_customer(Customer(c));
      e.mutable_opt_out();
      id(e, "opt_out");
      if (rng() % 2 == 0) {
        e.set_occurred_at_unix_ms(absl::ToUnixMillis(now) + static_cast<int64_t>(rng() % 60000));
      }
      if (report(ctx, e)) {
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

// Reports a sample of answered events again with their ids: each must get
// the first answer, and neither number's state may change. Half go one at a
// time, half in one batch.
void VerifyRepeats(ServerProcess& server, std::vector<const Sent*> sample, int round) {
  auto states = [&]() {
    std::vector<std::string> out;
    for (int n = 0; n < kNumbers; ++n) {
      grpc::ClientContext ctx;
      v1::GetNumberStateRequest r;
      r.set_business_number(Number(n));
      v1::NumberState s;
      out.push_back(server.service().GetNumberState(&ctx, r, &s).ok() ? s.DebugString() : "");
    }
    return out;
  };
  auto same = [&](const Sent& s, const v1::EventResponse& r, const char* how) {
    if (r.SerializeAsString() == s.response.SerializeAsString()) return;
    Fail(absl::StrCat("round ", round, ": ", Describe(s.request), " again after the restart (", how,
                      "): answered {", r.ShortDebugString(), "}, first {",
                      s.response.ShortDebugString(), "}"));
  };
  const std::vector<std::string> before = states();
  const size_t half = sample.size() / 2;
  for (size_t i = 0; i < half; ++i) {
    grpc::ClientContext ctx;
    v1::EventResponse r;
    if (!server.service().ReportEvent(&ctx, sample[i]->request, &r).ok()) {
      Fail(absl::StrCat("round ", round, ": ", Describe(sample[i]->request), " again: refused"));
      continue;
    }
    same(*sample[i], r, "alone");
  }
  v1::EventBatchRequest batch;
  for (size_t i = half; i < sample.size(); ++i) *batch.add_events() = sample[i]->request;
  grpc::ClientContext ctx;
  v1::EventBatchResponse br;
  if (!server.service().ReportEvents(&ctx, batch, &br).ok() ||
      br.results_size() != batch.events_size()) {
    Fail(absl::StrCat("round ", round, ": the batch of repeats was refused"));
  } else {
    for (int i = 0; i < br.results_size(); ++i) {
      if (!br.results(i).has_response()) {
        Fail(absl::StrCat("round ", round, ": ", Describe(batch.events(i)),
                          " again in a batch: ", br.results(i).error().message()));
        continue;
      }
      same(*sample[half + i], br.results(i).response(), "in a batch");
    }
  }
  const std::vector<std::string> after = states();
  for (int n = 0; n < kNumbers; ++n) {
    if (before[n] != after[n] || before[n].empty()) {
      Fail(absl::StrCat("round ", round, ": ", Number(n), " changed under repeated events:\n",
                        before[n], "->\n", after[n]));
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
  std::vector<std::vector<Sent>> with_id_by_round;  // Answered events with an id.
  int64_t verified_admissions = 0, verified_repeats = 0, load_repeats = 0;
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
      clients.emplace_back(Load, std::ref(*server), std::ref(a), std::ref(stop), rng(), now, round,
                           t);
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
    // Ids are kept 7 days from when first applied: this round's and the six
    // before (25 h apart) are all remembered.
    with_id_by_round.push_back(std::move(a.with_id));
    std::vector<const Sent*> remembered;
    for (int r = std::max(0, round - 6); r <= round; ++r) {
      for (const Sent& s : with_id_by_round[r]) remembered.push_back(&s);
    }
    std::shuffle(remembered.begin(), remembered.end(), rng);
    remembered.resize(std::min<size_t>(remembered.size(), 300));
    VerifyRepeats(*server, remembered, round);
    verified_admissions += static_cast<int64_t>(a.admitted.size());
    verified_repeats += static_cast<int64_t>(remembered.size());
    load_repeats += a.repeats;
    std::fprintf(stderr,
                 "crash_loop: kill %d: %zu admissions, %zu windows, %zu opt-outs, %zu repeated "
                 "events verified (%lld answered with an id this round, %lld repeats during the "
                 "load)\n",
                 round + 1, a.admitted.size(), a.inbound.size(), a.opted_out.size(),
                 remembered.size(), static_cast<long long>(with_id_by_round.back().size()),
                 static_cast<long long>(a.repeats));
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
  if (verified_repeats == 0) Fail("no event with an id was answered: no repeat was tested");
  std::printf(
      "crash_loop: %d kills, %lld answered admissions verified, %lld events repeated after a "
      "restart, %lld during the load, %d failures\n",
      absl::GetFlag(FLAGS_kills), static_cast<long long>(verified_admissions),
      static_cast<long long>(verified_repeats), static_cast<long long>(load_repeats),
      failures.load());
  return failures == 0 ? 0 : 1;
}
