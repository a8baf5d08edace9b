// State-change events through the real server: observed as numbers change
// (the platform's word, the fake clock), streamed by WatchEvents to each
// business its own, resumed after a reconnect and after a restart without a
// miss or a repeat, listed over JSON, sent as signed alerts that are retried
// until the receiver takes them, and printed by policyctl watch.

#include <httplib.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sys/stat.h>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "server/http/webhook_signature.h"
#include "server/token_authority.h"
#include "tests/http_client.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kAcme[] = "+14155550100";
constexpr char kGlobex[] = "+14155550200";

void As(grpc::ClientContext* c, const std::string& token) {
  c->AddMetadata("authorization", "Bearer " + token);
}

// An alerting system: records what it is sent; fails the first `fail_first` POSTs.
class AlertReceiver {
 public:
  explicit AlertReceiver(int fail_first) : fail_first_(fail_first) {
    server_.Post("/alerts", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      if (posts_++ < fail_first_) {
        res.status = 500;
        return;
      }
      bodies_.push_back(req.body);
      signatures_.push_back(req.get_header_value("X-Hub-Signature-256"));
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~AlertReceiver() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  int posts() {
    std::lock_guard<std::mutex> lock(mu_);
    return posts_;
  }
  // The events of every accepted POST, in order; each body's signature checked.
  std::vector<v1::StateEvent> Events(const std::string& secret) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<v1::StateEvent> out;
    for (size_t i = 0; i < bodies_.size(); ++i) {
      EXPECT_TRUE(VerifyWebhookSignature(secret, bodies_[i], signatures_[i]).ok())
          << "body " << i << " signature " << signatures_[i];
      v1::ListStateEventsResponse r;
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(bodies_[i], &r).ok());
      for (const v1::StateEvent& e : r.events()) out.push_back(e);
    }
    return out;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  const int fail_first_;
  std::mutex mu_;
  int posts_ = 0;
  std::vector<std::string> bodies_, signatures_;
};

class StateEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("state_events");
    tokens_ = dir_ + ".tokens";
    std::ofstream(tokens_) << TokenAuthority::HashToken("root-token") << " admin\n"
                           << TokenAuthority::HashToken("acme-token") << " business acme\n"
                           << TokenAuthority::HashToken("globex-token") << " business globex\n";
    hooks_ = dir_ + ".hooks";
    std::ofstream(hooks_) << "hook { name: 'acme-pager' business_id: 'acme' url: "
                          << "'http://127.0.0.1:" << receiver_.port() << "/alerts' "
                          << "secret: 'hook-secret' }\n";
    chmod(hooks_.c_str(), 0600);
    server_ = MakeServer();
    ASSERT_TRUE(server_->Start());
    for (auto [business, number] : {std::pair{"acme", kAcme}, std::pair{"globex", kGlobex}}) {
      ASSERT_TRUE(SetUpBusiness(*server_, business, {number}, "", "root-token").ok());
    }
  }

  std::unique_ptr<ServerProcess> MakeServer() {
    return std::make_unique<ServerProcess>(
        dir_, std::vector<std::string>{"--tokens_file=" + tokens_, "--alert_hooks=" + hooks_,
                                       "--fake_clock=2026-11-30T10:00:00Z",
                                       "--state_events_interval=20ms"});
  }

  void Sync(const v1::SyncNumberRequest& r) {
    grpc::ClientContext c;
    As(&c, "root-token");
    v1::SyncNumberResponse out;
    ASSERT_TRUE(server_->admin().SyncNumber(&c, r, &out).ok());
  }
  void Advance(int64_t seconds) {
    grpc::ClientContext c;
    As(&c, "root-token");
    v1::AdvanceClockRequest r;
    r.set_seconds(seconds);
    v1::AdvanceClockResponse out;
    ASSERT_TRUE(server_->admin().AdvanceClock(&c, r, &out).ok());
  }
  grpc::Status List(const std::string& token, uint64_t from, v1::ListStateEventsResponse* out) {
    auto stub = v1::PolicyEvents::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext c;
    As(&c, token);
    v1::ListStateEventsRequest r;
    r.set_from_position(from);
    r.set_limit(1000);
    return stub->ListStateEvents(&c, r, out);
  }
  // Waits (up to 20 s) until `token` can list at least `n` events from 1.
  std::vector<v1::StateEvent> AwaitEvents(const std::string& token, size_t n) {
    v1::ListStateEventsResponse out;
    for (int i = 0; i < 400; ++i) {
      out.Clear();
      EXPECT_TRUE(List(token, 1, &out).ok());
      if (static_cast<size_t>(out.events_size()) >= n) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return {out.events().begin(), out.events().end()};
  }
  static std::vector<std::string> Kinds(const std::vector<v1::StateEvent>& events) {
    std::vector<std::string> k;
    for (const v1::StateEvent& e : events) k.push_back(e.kind());
    return k;
  }

  AlertReceiver receiver_{/*fail_first=*/2};
  std::string dir_, tokens_, hooks_;
  std::unique_ptr<ServerProcess> server_;
};

// Reads a WatchEvents stream on its own thread.
class Watch {
 public:
  Watch(const std::string& address, const std::string& token, uint64_t from)
      : stub_(v1::PolicyEvents::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {
    As(&ctx_, token);
    v1::WatchEventsRequest r;
    r.set_from_position(from);
    reader_ = stub_->WatchEvents(&ctx_, r);
    thread_ = std::thread([this] {
      v1::StateEvent e;
      while (reader_->Read(&e)) {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(e);
      }
    });
  }
  ~Watch() {
    ctx_.TryCancel();
    thread_.join();
    reader_->Finish();
  }
  std::vector<v1::StateEvent> AwaitEvents(size_t n, int tries = 400) {
    for (int i = 0; i < tries; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (events_.size() >= n) return events_;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  std::unique_ptr<v1::PolicyEvents::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::StateEvent>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<v1::StateEvent> events_;
};

TEST_F(StateEventsTest, WatchStreamsEachBusinessItsOwnChangesAsTheyHappen) {
  Watch acme(server_->address(), "acme-token", 1);
  Watch globex(server_->address(), "globex-token", 1);
  v1::SyncNumberRequest red;
  red.set_business_number(kAcme);
  red.set_quality(v1::LOW);
  red.set_flagged(true);
  Sync(red);
  std::vector<v1::StateEvent> seen = acme.AwaitEvents(2);
  ASSERT_EQ(Kinds(seen), (std::vector<std::string>{"QUALITY_CHANGED", "FLAGGED"}));
  EXPECT_EQ(seen[0].business_number(), kAcme);
  EXPECT_EQ(seen[0].old_value(), "HIGH");
  EXPECT_EQ(seen[0].new_value(), "LOW");
  EXPECT_EQ(seen[0].time_unix_ms(), absl::ToUnixMillis(absl::FromCivil(
                                        absl::CivilSecond(2026, 11, 30, 10, 0, 0),
                                        absl::UTCTimeZone())));
  EXPECT_LT(seen[0].position(), seen[1].position());
  // Globex's restriction reaches globex's watch only; the clock lifts it.
  v1::SyncNumberRequest restricted;
  restricted.set_business_number(kGlobex);
  restricted.set_restricted_until_unix_ms(
      absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(2026, 11, 30, 12, 0, 0),
                                         absl::UTCTimeZone())));
  Sync(restricted);
  ASSERT_EQ(Kinds(globex.AwaitEvents(1)), std::vector<std::string>{"ACCOUNT_RESTRICTED"});
  Advance(3 * 3600);
  ASSERT_EQ(Kinds(globex.AwaitEvents(2)),
            (std::vector<std::string>{"ACCOUNT_RESTRICTED", "ACCOUNT_RESTRICTION_LIFTED"}));
  for (const v1::StateEvent& e : acme.AwaitEvents(2)) EXPECT_EQ(e.business_id(), "acme");
  EXPECT_EQ(acme.AwaitEvents(3, /*tries=*/20).size(), 2u);  // Nothing of globex's in a second.
  // The admin lists all four, in order.
  EXPECT_EQ(AwaitEvents("root-token", 4).size(), 4u);
}

TEST_F(StateEventsTest, AClientThatReconnectsOrOutlivesARestartMissesNothingAndSeesNoRepeat) {
  uint64_t last = 0;
  {
    Watch w(server_->address(), "root-token", 1);
    v1::SyncNumberRequest limit;
    limit.set_business_number(kAcme);
    limit.set_messaging_limit(10000);
    Sync(limit);
    const std::vector<v1::StateEvent> seen = w.AwaitEvents(1);
    ASSERT_EQ(Kinds(seen), std::vector<std::string>{"TIER_CHANGED"});
    last = seen.back().position();
  }  // Disconnected; meanwhile two changes, and a restart.
  v1::SyncNumberRequest more;
  more.set_business_number(kAcme);
  more.set_messaging_limit(100000);
  Sync(more);
  ASSERT_EQ(AwaitEvents("root-token", 2).size(), 2u);
  server_->Kill(SIGTERM);
  server_ = MakeServer();
  ASSERT_TRUE(server_->Start());
  v1::SyncNumberRequest red;
  red.set_business_number(kGlobex);
  red.set_quality(v1::MEDIUM);
  Sync(red);
  Watch again(server_->address(), "root-token", last + 1);
  const std::vector<v1::StateEvent> after = again.AwaitEvents(2);
  ASSERT_EQ(Kinds(after), (std::vector<std::string>{"TIER_CHANGED", "QUALITY_CHANGED"}));
  EXPECT_EQ(after[0].position(), last + 1);
  EXPECT_EQ(after[0].new_value(), "100000");
  EXPECT_EQ(after[1].position(), last + 2);
  // The restart observed nothing new of its own: no repeats of what was recorded.
  EXPECT_EQ(again.AwaitEvents(3, /*tries=*/20).size(), 2u);
  v1::ListStateEventsResponse all;
  ASSERT_TRUE(List("root-token", 1, &all).ok());
  EXPECT_EQ(all.events_size(), 3);
}

TEST_F(StateEventsTest, AlertsArriveSignedInOrderForTheirBusinessOnlyAfterRetries) {
  v1::SyncNumberRequest red;
  red.set_business_number(kAcme);
  red.set_quality(v1::LOW);
  red.set_flagged(true);
  Sync(red);
  v1::SyncNumberRequest globex;
  globex.set_business_number(kGlobex);
  globex.set_quality(v1::MEDIUM);
  Sync(globex);
  const std::vector<v1::StateEvent> acme_events = AwaitEvents("acme-token", 2);
  ASSERT_EQ(acme_events.size(), 2u);
  std::vector<v1::StateEvent> got;
  for (int i = 0; i < 400 && got.size() < 2; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    got = receiver_.Events("hook-secret");
  }
  ASSERT_EQ(Kinds(got), (std::vector<std::string>{"QUALITY_CHANGED", "FLAGGED"}));
  EXPECT_EQ(got[0].position(), acme_events[0].position());
  EXPECT_GE(receiver_.posts(), 3);  // Two refused, then taken.
  HttpClient http(absl::StrCat("http://127.0.0.1:", server_->http_port()));
  const HttpClient::Response metrics = http.Get("/metrics", {"Authorization: Bearer root-token"});
  EXPECT_NE(metrics.body.find("wapolicy_alert_failures_total{hook=\"acme-pager\"} 2"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("wapolicy_state_events_total{kind=\"FLAGGED\"} 1"),
            std::string::npos);
}

TEST_F(StateEventsTest, JsonListsTheCallersEventsAndPolicyctlWatchPrintsThem) {
  v1::SyncNumberRequest red;
  red.set_business_number(kGlobex);
  red.set_quality(v1::LOW);
  red.set_flagged(true);
  Sync(red);
  ASSERT_EQ(AwaitEvents("root-token", 2).size(), 2u);
  HttpClient http(absl::StrCat("http://127.0.0.1:", server_->http_port()));
  auto bearer = [](const std::string& t) {
    return std::vector<std::string>{"Authorization: Bearer " + t};
  };
  HttpClient::Response r = http.Get("/v1/state-events?limit=10", bearer("globex-token"));
  ASSERT_EQ(r.status, 200) << r.body;
  v1::ListStateEventsResponse listed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.body, &listed).ok()) << r.body;
  ASSERT_EQ(listed.events_size(), 2);
  EXPECT_EQ(listed.events(1).kind(), "FLAGGED");
  r = http.Get("/v1/state-events", bearer("acme-token"));
  ASSERT_EQ(r.status, 200);
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.body, &listed).ok());
  EXPECT_EQ(listed.events_size(), 0);  // Not acme's.
  EXPECT_EQ(http.Get("/v1/state-events?limit=abc", bearer("acme-token")).status, 400);
  EXPECT_EQ(http.Get("/v1/state-events?limit=5000", bearer("acme-token")).status, 400);
  EXPECT_EQ(http.Get("/v1/state-events").status, 401);

  const std::string cmd = absl::StrCat("cli/policyctl --server=", server_->address(),
                                       " --token=globex-token watch --from=1 --count=2 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  ASSERT_EQ(pclose(p), 0) << out;
  EXPECT_NE(out.find("#1 2026-11-30T10:00:00Z +14155550200 (globex) QUALITY_CHANGED HIGH -> LOW"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("#2 "), std::string::npos) << out;
  EXPECT_NE(out.find("FLAGGED"), std::string::npos) << out;
}

}  // namespace
}  // namespace wapolicy
