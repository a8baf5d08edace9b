// The client library (client/policy_client.h) against the real server on the
// wall clock, a number limited to 10 messages a second: a paced campaign of 40
// concurrent senders goes out in a few CheckBatch calls and each sender
// returns no earlier than its send_at, the slots 100 ms apart, with no second
// check; an unpaced sender held by the throughput waits for retry_after (about
// 2 s) and checks again; with the server gone, fail-closed and fail-open are counted.

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/policy_client.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kBiz[] = "+14155550100";
constexpr int kMps = 10;
std::string Customer(int i) { return absl::StrCat("+4477009", 10000 + i); }

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = MakeTempDir("client");
    std::ofstream(dir + ".config") << "throughput_mps: " << kMps;
    server_ = std::make_unique<ServerProcess>(
        dir, std::vector<std::string>{"--config=" + dir + ".config"});
    ASSERT_TRUE(server_->Start());
    ASSERT_TRUE(SetUpBusiness(*server_, "acme", {kBiz}).ok());
    v1::EventBatchRequest opt_ins;
    for (int i = 0; i < 100; ++i) {
      v1::EventRequest* e = opt_ins.add_events();
      e->set_business_number(kBiz);
      e->set_customer(Customer(i));
      e->mutable_opt_in()->set_source(v1::WEBSITE);
    }
    grpc::ClientContext c;
    v1::EventBatchResponse out;
    ASSERT_TRUE(server_->service().ReportEvents(&c, opt_ins, &out).ok());
  }

  v1::CheckRequest Template(int i, bool pace) {
    v1::CheckRequest r;
    r.set_business_number(kBiz);
    r.set_customer(Customer(i));
    r.mutable_template_message()->set_name("t");
    r.mutable_template_message()->set_language("en");
    r.set_pace(pace);
    return r;
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ClientTest, APacedCampaignIsBatchedAndEachSenderSleepsUntilItsSlot) {
  PolicyClientOptions options;
  options.max_wait = absl::Milliseconds(50);  // Room for 40 threads to line up on a busy box.
  std::unique_ptr<PolicyClient> client = PolicyClient::Connect(server_->address(), options);
  constexpr int kSenders = 40;
  struct Sent {
    absl::StatusOr<v1::Decision> decision;
    absl::Time returned;
  };
  std::vector<Sent> sent(kSenders);
  absl::Notification go;
  std::vector<std::thread> senders;
  for (int i = 0; i < kSenders; ++i) {
    senders.emplace_back([&, i] {
      go.WaitForNotification();
      sent[i].decision =
          client->SendWhenAllowed(Template(i, /*pace=*/true), absl::Now() + absl::Seconds(60));
      sent[i].returned = absl::Now();
    });
  }
  const absl::Time start = absl::Now();
  go.Notify();
  for (std::thread& t : senders) t.join();
  const absl::Duration took = absl::Now() - start;

  std::vector<int64_t> slots;  // The paced ones' send_at.
  for (int i = 0; i < kSenders; ++i) {
    ASSERT_TRUE(sent[i].decision.ok()) << i << ": " << sent[i].decision.status();
    const v1::Decision& d = *sent[i].decision;
    ASSERT_TRUE(d.allowed()) << i << ": " << d.DebugString();
    EXPECT_FALSE(d.decision_id().empty());
    if (d.send_at_unix_ms() == 0) continue;
    slots.push_back(d.send_at_unix_ms());
    // Returned no earlier than its slot (whole milliseconds, rounded down).
    EXPECT_GE(absl::ToUnixMillis(sent[i].returned), d.send_at_unix_ms()) << i;
  }
  // The first second's 10 go at once, the other 30 one every 100 ms.
  ASSERT_EQ(slots.size(), static_cast<size_t>(kSenders - kMps));
  std::sort(slots.begin(), slots.end());
  for (size_t k = 1; k < slots.size(); ++k) EXPECT_EQ(slots[k] - slots[k - 1], 1000 / kMps) << k;
  EXPECT_GE(took, absl::Milliseconds((kSenders - kMps) * 1000 / kMps - 100));

  const PolicyClientStats s = client->stats();
  EXPECT_EQ(s.checks, kSenders);  // No sender checked twice,
  EXPECT_EQ(s.paced_waits, kSenders - kMps);
  EXPECT_EQ(s.rechecks, 0);
  EXPECT_EQ(s.retries, 0);
  EXPECT_LE(s.batches, kSenders / 4) << "the campaign's checks were not coalesced";
}

TEST_F(ClientTest, AnUnpacedSenderHeldByTheThroughputWaitsForRetryAfterAndChecksAgain) {
  std::unique_ptr<PolicyClient> client = PolicyClient::Connect(server_->address(), {});
  // A paced batch takes the next two seconds' slots (send_at up to +1.9 s),
  // so an unpaced check is held until after them, even on a stalling box.
  v1::CheckBatchRequest batch;
  for (int i = 0; i < 2 * kMps + kMps; ++i) *batch.add_checks() = Template(i, /*pace=*/true);
  grpc::ClientContext c;
  v1::CheckBatchResponse out;
  ASSERT_TRUE(server_->service().CheckBatch(&c, batch, &out).ok());
  for (const v1::CheckResult& r : out.results()) ASSERT_TRUE(r.decision().allowed());

  absl::StatusOr<v1::Decision> held =
      client->Check(Template(50, false), absl::Now() + absl::Seconds(30));
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_FALSE(held->allowed());
  EXPECT_EQ(held->reason(), v1::THROUGHPUT_LIMITED);
  ASSERT_GT(held->retry_after_unix_ms(), absl::ToUnixMillis(absl::Now()));

  absl::StatusOr<v1::Decision> d =
      client->SendWhenAllowed(Template(51, false), absl::Now() + absl::Seconds(30));
  const absl::Time returned = absl::Now();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->allowed()) << d->DebugString();
  EXPECT_GE(client->stats().rechecks, 1);
  EXPECT_GT(absl::ToUnixMillis(returned), held->retry_after_unix_ms());
}

TEST_F(ClientTest, WithTheServerGoneChecksFailClosedOrOpenAndAreCounted) {
  PolicyClientOptions closed;
  closed.backoff_base = absl::Milliseconds(5);
  closed.backoff_max = absl::Milliseconds(50);
  std::unique_ptr<PolicyClient> client = PolicyClient::Connect(server_->address(), closed);
  ASSERT_TRUE(client->Check(Template(0, false), absl::Now() + absl::Seconds(30)).ok());
  server_->Kill(SIGKILL);

  absl::StatusOr<v1::Decision> d =
      client->Check(Template(1, false), absl::Now() + absl::Milliseconds(500));
  EXPECT_EQ(d.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(d.status().message(), "fail-closed")) << d.status();
  EXPECT_EQ(client->stats().fail_closed, 1);
  EXPECT_GE(client->stats().retries, 1);

  PolicyClientOptions open = closed;
  open.failure_mode = FailureMode::kFailOpen;
  std::unique_ptr<PolicyClient> open_client = PolicyClient::Connect(server_->address(), open);
  d = open_client->Check(Template(1, false), absl::Now() + absl::Milliseconds(500));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(PolicyClient::IsFailOpen(*d));
  EXPECT_EQ(open_client->stats().fail_open, 1);
  EXPECT_EQ(open_client->stats().fail_closed, 0);
}

}  // namespace
}  // namespace wapolicy
