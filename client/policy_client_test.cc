// PolicyClient against an in-process fake PolicyService on 127.0.0.1:0: the
// fake counts calls and checks and answers as each test says (decisions,
// per-entry errors, UNAVAILABLE), so coalescing, retries, failure modes and
// pacing are observed from the server's side too.

#include "client/policy_client.h"

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace wapolicy {
namespace {

class FakePolicyService final : public v1::PolicyService::Service {
 public:
  // Answers one check; the default allows it with decision_id = its customer.
  using Decide = std::function<v1::CheckResult(const v1::CheckRequest&)>;

  grpc::Status CheckBatch(grpc::ServerContext* ctx, const v1::CheckBatchRequest* req,
                          v1::CheckBatchResponse* out) override {
    absl::Duration delay;
    Decide decide;
    {
      absl::MutexLock lock(&mu_);
      ++calls_;
      checks_ += req->checks_size();
      batch_sizes_.push_back(req->checks_size());
      auto auth = ctx->client_metadata().find("authorization");
      last_authorization_ = auth == ctx->client_metadata().end()
                                ? ""
                                : std::string(auth->second.data(), auth->second.size());
      if (!token_.empty() && last_authorization_ != "Bearer " + token_) {
        return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown token");
      }
      if (unavailable_left_ > 0) {
        --unavailable_left_;
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake: not now");
      }
      delay = delay_;
      decide = decide_;
    }
    absl::SleepFor(delay);
    for (const v1::CheckRequest& c : req->checks()) {
      if (decide) {
        *out->add_results() = decide(c);
      } else {
        v1::Decision* d = out->add_results()->mutable_decision();
        d->set_allowed(true);
        d->set_reason(v1::ALLOWED);
        d->set_decision_id(c.customer());
      }
    }
    return grpc::Status::OK;
  }

  void FailCalls(int n) {
    absl::MutexLock lock(&mu_);
    unavailable_left_ = n;
  }
  void SetDelay(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    delay_ = d;
  }
  void SetDecide(Decide decide) {
    absl::MutexLock lock(&mu_);
    decide_ = std::move(decide);
  }
  void RequireToken(std::string token) {
    absl::MutexLock lock(&mu_);
    token_ = std::move(token);
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int checks() {
    absl::MutexLock lock(&mu_);
    return checks_;
  }
  std::vector<int> batch_sizes() {
    absl::MutexLock lock(&mu_);
    return batch_sizes_;
  }
  std::string last_authorization() {
    absl::MutexLock lock(&mu_);
    return last_authorization_;
  }

 private:
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int checks_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> batch_sizes_ ABSL_GUARDED_BY(mu_);
  int unavailable_left_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);
  Decide decide_ ABSL_GUARDED_BY(mu_);
  std::string token_ ABSL_GUARDED_BY(mu_);
  std::string last_authorization_ ABSL_GUARDED_BY(mu_);
};

// The fake service on a free loopback port.
class FakeServer {
 public:
  FakeServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~FakeServer() { Stop(); }
  void Stop() {
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now()));
    server_.reset();
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  FakePolicyService& service() { return service_; }

 private:
  FakePolicyService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// A clock that moves only when the client sleeps; it keeps the sleeps.
struct FakeClock {
  absl::Mutex mu;
  absl::Time now ABSL_GUARDED_BY(mu) = absl::Now();
  std::vector<absl::Duration> sleeps ABSL_GUARDED_BY(mu);

  void Install(PolicyClientOptions* options) {
    options->now = [this] {
      absl::MutexLock lock(&mu);
      return now;
    };
    options->sleep = [this](absl::Duration d) {
      absl::MutexLock lock(&mu);
      sleeps.push_back(d);
      now += d;
    };
  }
  absl::Time Now() {
    absl::MutexLock lock(&mu);
    return now;
  }
  std::vector<absl::Duration> Sleeps() {
    absl::MutexLock lock(&mu);
    return sleeps;
  }
};

v1::CheckRequest Request(const std::string& customer, bool pace = false) {
  v1::CheckRequest r;
  r.set_business_number("+14155550100");
  r.set_customer(customer);
  r.mutable_template_message()->set_name("t");
  r.mutable_template_message()->set_language("en");
  r.set_pace(pace);
  return r;
}

absl::Time In(absl::Duration d) { return absl::Now() + d; }

TEST(PolicyClientTest, ConcurrentChecksShareCallsAndEachCallerGetsItsOwnAnswer) {
  FakeServer server;
  // A slow engine: checks made while a call is in flight wait for the next one.
  server.service().SetDelay(absl::Milliseconds(20));
  PolicyClient client(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()),
                      PolicyClientOptions{});
  constexpr int kCallers = 64;
  std::vector<std::string> answers(kCallers);
  absl::Notification go;
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      go.WaitForNotification();
      absl::StatusOr<v1::Decision> d =
          client.Check(Request(absl::StrCat("+4477009", 10000 + i)), In(absl::Seconds(30)));
      answers[i] = d.ok() ? d->decision_id() : d.status().ToString();
    });
  }
  go.Notify();
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kCallers; ++i) EXPECT_EQ(answers[i], absl::StrCat("+4477009", 10000 + i));
  EXPECT_EQ(server.service().checks(), kCallers);
  EXPECT_LT(server.service().calls(), kCallers / 4) << "checks were not coalesced";
  const PolicyClientStats s = client.stats();
  EXPECT_EQ(s.checks, kCallers);
  EXPECT_EQ(s.batches, server.service().calls());
  EXPECT_EQ(s.retries, 0);
}

TEST(PolicyClientTest, BatchesHoldAtMostMaxBatchChecks) {
  FakeServer server;
  server.service().SetDelay(absl::Milliseconds(5));
  PolicyClientOptions options;
  options.max_batch = 8;
  PolicyClient client(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()),
                      options);
  std::vector<std::thread> threads;
  std::atomic<int> allowed{0};
  for (int i = 0; i < 40; ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<v1::Decision> d =
          client.Check(Request(absl::StrCat("+4477009", 10000 + i)), In(absl::Seconds(30)));
      if (d.ok() && d->allowed()) allowed.fetch_add(1);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 40);
  const std::vector<int> sizes = server.service().batch_sizes();
  EXPECT_GE(sizes.size(), 5u);
  for (int n : sizes) EXPECT_LE(n, 8);
}

TEST(PolicyClientTest, AFullBatchGoesAtOnceAndALoneCheckWaitsMaxWait) {
  FakeServer server;
  PolicyClientOptions options;
  options.max_batch = 4;
  options.max_wait = absl::Seconds(20);
  {
    PolicyClient client(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()),
                        options);
    const absl::Time start = absl::Now();
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&, i] {
        EXPECT_TRUE(
            client.Check(Request(absl::StrCat("+4477009", 10000 + i)), In(absl::Seconds(60))).ok());
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << "a full batch waited for max_wait";
    EXPECT_EQ(server.service().calls(), 1);
  }
  options.max_wait = absl::Milliseconds(300);
  PolicyClient client(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()),
                      options);
  const absl::Time start = absl::Now();
  ASSERT_TRUE(client.Check(Request("+447700910000"), In(absl::Seconds(60))).ok());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(PolicyClientTest, UnavailableIsRetriedWithinTheDeadlineAndCounted) {
  FakeServer server;
  server.service().FailCalls(3);
  PolicyClientOptions options;
  options.backoff_base = absl::Milliseconds(5);
  PolicyClient client(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()),
                      options);
  absl::StatusOr<v1::Decision> d = client.Check(Request("+447700910000"), In(absl::Seconds(30)));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->decision_id(), "+447700910000");
  EXPECT_EQ(server.service().calls(), 4);
  const PolicyClientStats s = client.stats();
  EXPECT_EQ(s.batches, 4);
  EXPECT_EQ(s.retries, 3);
  EXPECT_EQ(s.fail_closed, 0);
  EXPECT_EQ(s.fail_open, 0);
}

TEST(PolicyClientTest, AnEntryTheEngineCouldNotWriteIsRetriedAlone) {
  FakeServer server;
  std::atomic<int> bad_seen{0};
  server.service().SetDecide([&](const v1::CheckRequest& c) {
    v1::CheckResult r;
    if (c.customer() == "+447700910001" && bad_seen.fetch_add(1) == 0) {
      r.mutable_error()->set_code(static_cast<int>(grpc::StatusCode::UNAVAILABLE));
      r.mutable_error()->set_message("state journal write failed");
      return r;
    }
    r.mutable_decision()->set_allowed(true);
    r.mutable_decision()->set_decision_id(c.customer());
    return r;
  });
  PolicyClientOptions options;
  options.max_wait = absl::Milliseconds(200);  // Both checks in one call.
  options.backoff_base = absl::Milliseconds(5);
  PolicyClient client(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()),
                      options);
  std::thread other([&] {
    EXPECT_EQ(client.Check(Request("+447700910000"), In(absl::Seconds(30)))->decision_id(),
              "+447700910000");
  });
  EXPECT_EQ(client.Check(Request("+447700910001"), In(absl::Seconds(30)))->decision_id(),
            "+447700910001");
  other.join();
  EXPECT_EQ(server.service().batch_sizes(), (std::vector<int>{2, 1}));
  EXPECT_EQ(client.stats().retries, 1);
}

// A port nothing listens on: a server started and stopped.
std::string DeadAddress() {
  FakeServer server;
  std::string address = server.address();
  server.Stop();
  return address;
}

TEST(PolicyClientTest, EngineDownPastTheDeadlineFailsClosedByDefault) {
  PolicyClientOptions options;
  options.backoff_base = absl::Milliseconds(5);
  options.backoff_max = absl::Milliseconds(40);
  std::unique_ptr<PolicyClient> client = PolicyClient::Connect(DeadAddress(), options);
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::Decision> d =
      client->Check(Request("+447700910000"), In(absl::Milliseconds(400)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(390));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(d.status().message(), "fail-closed")) << d.status();
  const PolicyClientStats s = client->stats();
  EXPECT_EQ(s.fail_closed, 1);
  EXPECT_EQ(s.fail_open, 0);
  EXPECT_GE(s.retries, 2) << "UNAVAILABLE was not retried";
}

TEST(PolicyClientTest, EngineDownPastTheDeadlineFailsOpenWhenAsked) {
  PolicyClientOptions options;
  options.failure_mode = FailureMode::kFailOpen;
  options.backoff_base = absl::Milliseconds(5);
  options.backoff_max = absl::Milliseconds(40);
  std::unique_ptr<PolicyClient> client = PolicyClient::Connect(DeadAddress(), options);
  absl::StatusOr<v1::Decision> d =
      client->Check(Request("+447700910000"), In(absl::Milliseconds(400)));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->allowed());
  EXPECT_TRUE(PolicyClient::IsFailOpen(*d)) << d->DebugString();
  EXPECT_TRUE(d->decision_id().empty());
  const PolicyClientStats s = client->stats();
  EXPECT_EQ(s.fail_open, 1);
  EXPECT_EQ(s.fail_closed, 0);
  EXPECT_GE(s.retries, 2);
}

TEST(PolicyClientTest, AnEngineThatKeepsAnsweringUnavailableFailsClosedAtTheDeadline) {
  FakeServer server;
  server.service().FailCalls(1000000);
  PolicyClientOptions options;
  options.backoff_base = absl::Milliseconds(5);
  options.backoff_max = absl::Milliseconds(40);
  PolicyClient client(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()),
                      options);
  absl::StatusOr<v1::Decision> d =
      client.Check(Request("+447700910000"), In(absl::Milliseconds(300)));
  ASSERT_EQ(d.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(d.status().message(), "fake: not now")) << d.status();
  const PolicyClientStats s = client.stats();
  EXPECT_EQ(s.fail_closed, 1);
  EXPECT_GE(s.retries, 2);
  EXPECT_GE(server.service().calls(), 3);
}

TEST(PolicyClientTest, TheCallersOwnErrorsComeBackAtOnceAndNeverFailOpen) {
  FakeServer server;
  server.service().RequireToken("secret");
  server.service().SetDecide([](const v1::CheckRequest& c) {
    v1::CheckResult r;
    r.mutable_error()->set_code(static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    r.mutable_error()->set_message("checks[0].customer: not a phone number");
    return r;
  });
  PolicyClientOptions options;
  options.failure_mode = FailureMode::kFailOpen;
  {
    PolicyClient client(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()),
                        options);
    absl::StatusOr<v1::Decision> d = client.Check(Request("+447700910000"), In(absl::Seconds(30)));
    EXPECT_EQ(d.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(client.stats().retries, 0);
    EXPECT_EQ(client.stats().fail_open, 0);
    EXPECT_EQ(server.service().last_authorization(), "");
  }
  options.token = "secret";
  PolicyClient client(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()),
                      options);
  absl::StatusOr<v1::Decision> d = client.Check(Request("bad"), In(absl::Seconds(30)));
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.status().message(), "checks[0].customer: not a phone number");
  EXPECT_EQ(server.service().last_authorization(), "Bearer secret");
  EXPECT_EQ(client.stats().fail_open, 0);
}

TEST(PolicyClientTest, APacedSenderSleepsUntilSendAtWithoutCheckingAgain) {
  FakeServer server;
  FakeClock clock;
  const absl::Time send_at =
      absl::FromUnixMillis(absl::ToUnixMillis(clock.Now())) + absl::Seconds(5);
  server.service().SetDecide([&](const v1::CheckRequest& c) {
    v1::CheckResult r;
    r.mutable_decision()->set_allowed(true);
    r.mutable_decision()->set_decision_id("paced");
    if (c.pace()) r.mutable_decision()->set_send_at_unix_ms(absl::ToUnixMillis(send_at));
    return r;
  });
  PolicyClientOptions options;
  clock.Install(&options);
  PolicyClient client(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()),
                      options);
  const absl::Time start = clock.Now();
  absl::StatusOr<v1::Decision> d =
      client.SendWhenAllowed(Request("+447700910000", /*pace=*/true), start + absl::Minutes(1));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->decision_id(), "paced");
  EXPECT_EQ(clock.Now(), send_at);  // Slept until the slot,
  EXPECT_EQ(clock.Sleeps().size(), 1u);
  EXPECT_EQ(server.service().checks(), 1);  // and did not ask again.
  EXPECT_EQ(client.stats().paced_waits, 1);
  EXPECT_EQ(client.stats().rechecks, 0);

  // A send_at that has come: it goes at once.
  absl::StatusOr<v1::Decision> now = client.SendWhenAllowed(Request("+447700910001", /*pace=*/true),
                                                            clock.Now() + absl::Seconds(30));
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(clock.Sleeps().size(), 1u);
  EXPECT_EQ(client.stats().paced_waits, 1);
}

TEST(PolicyClientTest, APacedSlotAfterTheDeadlineIsNotSleptTo) {
  FakeServer server;
  FakeClock clock;
  const int64_t send_at_ms = absl::ToUnixMillis(clock.Now()) + 120000;
  server.service().SetDecide([&](const v1::CheckRequest&) {
    v1::CheckResult r;
    r.mutable_decision()->set_allowed(true);
    r.mutable_decision()->set_send_at_unix_ms(send_at_ms);
    return r;
  });
  PolicyClientOptions options;
  clock.Install(&options);
  PolicyClient client(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()),
                      options);
  absl::StatusOr<v1::Decision> d =
      client.SendWhenAllowed(Request("+447700910000", true), clock.Now() + absl::Seconds(30));
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StrContains(d.status().message(), "do not send before it")) << d.status();
  EXPECT_TRUE(clock.Sleeps().empty());
  EXPECT_EQ(client.stats().paced_waits, 0);
}

TEST(PolicyClientTest, AHoldWithRetryAfterIsWaitedOutAndCheckedAgain) {
  FakeServer server;
  FakeClock clock;
  const int64_t retry_ms = absl::ToUnixMillis(clock.Now()) + 250;
  std::atomic<int> seen{0};
  server.service().SetDecide([&](const v1::CheckRequest& c) {
    v1::CheckResult r;
    v1::Decision* d = r.mutable_decision();
    if (c.customer() == "+447700910009") {  // Held for a day: beyond any deadline here.
      d->set_reason(v1::FREQUENCY_CAPPED);
      d->set_retry_after_unix_ms(retry_ms + 86400000);
    } else if (seen.fetch_add(1) == 0) {
      d->set_reason(v1::THROUGHPUT_LIMITED);
      d->set_retry_after_unix_ms(retry_ms);
    } else {
      d->set_allowed(true);
      d->set_reason(v1::ALLOWED);
    }
    return r;
  });
  PolicyClientOptions options;
  clock.Install(&options);
  PolicyClient client(grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials()),
                      options);
  const absl::Time start = clock.Now();
  absl::StatusOr<v1::Decision> d =
      client.SendWhenAllowed(Request("+447700910000"), start + absl::Seconds(30));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->allowed());
  EXPECT_EQ(server.service().checks(), 2);
  // To the end of the engine's (rounded down) millisecond.
  EXPECT_EQ(clock.Now(), absl::FromUnixMillis(retry_ms + 1));
  EXPECT_EQ(client.stats().rechecks, 1);

  absl::StatusOr<v1::Decision> held =
      client.SendWhenAllowed(Request("+447700910009"), clock.Now() + absl::Seconds(30));
  ASSERT_TRUE(held.ok());
  EXPECT_FALSE(held->allowed());
  EXPECT_EQ(held->reason(), v1::FREQUENCY_CAPPED);
  EXPECT_EQ(clock.Sleeps().size(), 1u);  // Nothing more slept.
  EXPECT_EQ(client.stats().rechecks, 1);
}

TEST(PolicyClientTest, NextPacingStep) {
  const absl::Time now = absl::FromUnixMillis(1767225600000);
  v1::Decision d;
  d.set_allowed(true);
  EXPECT_EQ(NextPacingStep(d, now).kind, PacingStep::kSendNow);
  d.set_send_at_unix_ms(1767225600000);  // Now: go.
  EXPECT_EQ(NextPacingStep(d, now).kind, PacingStep::kSendNow);
  d.set_send_at_unix_ms(1767225600125);
  EXPECT_EQ(NextPacingStep(d, now).kind, PacingStep::kSendAt);
  EXPECT_EQ(NextPacingStep(d, now).at, now + absl::Milliseconds(125));
  d.Clear();
  d.set_reason(v1::OPTED_OUT);
  EXPECT_EQ(NextPacingStep(d, now).kind, PacingStep::kHeld);
  d.set_reason(v1::PAIR_RATE_LIMITED);
  d.set_retry_after_unix_ms(1767225606000);
  EXPECT_EQ(NextPacingStep(d, now).kind, PacingStep::kRecheckAt);
  EXPECT_EQ(NextPacingStep(d, now).at, now + absl::Milliseconds(6001));
}

}  // namespace
}  // namespace wapolicy
