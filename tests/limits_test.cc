// Load and limits through the real server: bounded request sizes, a flood
// answered with RESOURCE_EXHAUSTED (and the server still serving), deadlines.

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

v1::CheckBatchRequest BigBatch(int n) {
  v1::CheckBatchRequest b;
  for (int i = 0; i < n; ++i) {
    v1::CheckRequest* r = b.add_checks();
    r->set_business_number("+14155550100");
    r->set_customer(absl::StrCat("+4477009", 10000 + i % 80000));
    r->mutable_session()->set_type(v1::TEXT);
  }
  return b;
}

void RegisterAcme(ServerProcess& s) {
  ASSERT_TRUE(SetUpBusiness(s, "acme", {"+14155550100"}, /*template_name=*/"").ok());
}

bool StillServing(ServerProcess& s) {
  grpc::ClientContext c;
  v1::GetNumberStateRequest r;
  r.set_business_number("+14155550100");
  v1::NumberState st;
  return s.service().GetNumberState(&c, r, &st).ok();
}

TEST(LimitsTest, OversizedRequestsAreRefused) {
  ServerProcess server(MakeTempDir("limits"), {"--max_message_bytes=100000"});
  ASSERT_TRUE(server.Start());
  RegisterAcme(server);
  grpc::ClientContext c;
  v1::CheckBatchResponse out;
  grpc::Status s = server.service().CheckBatch(&c, BigBatch(5000), &out);  // ~200 KB.
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_TRUE(StillServing(server));
}

TEST(LimitsTest, AFloodGetsResourceExhaustedAndTheServerStaysUp) {
  ServerProcess server(MakeTempDir("limits"), {"--max_inflight=1"});
  ASSERT_TRUE(server.Start());
  RegisterAcme(server);
  const v1::CheckBatchRequest batch = BigBatch(10000);
  std::atomic<int> ok{0}, exhausted{0}, other{0};
  std::vector<std::thread> flood;
  for (int t = 0; t < 6; ++t) {
    flood.emplace_back([&] {
      for (int i = 0; i < 15; ++i) {
        grpc::ClientContext c;
        v1::CheckBatchResponse out;
        grpc::Status s = server.service().CheckBatch(&c, batch, &out);
        if (s.ok()) {
          ok++;
        } else if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          exhausted++;
        } else {
          other++;
        }
      }
    });
  }
  for (auto& t : flood) t.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(exhausted.load(), 0) << "no call was refused under a flood with --max_inflight=1";
  EXPECT_EQ(other.load(), 0);
  EXPECT_TRUE(StillServing(server));
}

TEST(LimitsTest, NumbersPastMaxNumbersAreRefused) {
  ServerProcess server(MakeTempDir("limits"), {"--max_numbers=1"});
  ASSERT_TRUE(server.Start());
  RegisterAcme(server);  // The one number.
  grpc::ClientContext c;
  v1::RegisterNumberRequest r;
  r.set_business_number("+14155550101");
  r.set_business_id("acme");
  v1::RegisterNumberResponse rr;
  grpc::Status s = server.admin().RegisterNumber(&c, r, &rr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(s.error_message().find("max_numbers"), std::string::npos) << s.error_message();
  EXPECT_TRUE(StillServing(server));
}

// A call whose deadline passes on the server before it runs is refused and
// changes nothing. The server is started with --test_delay_before_admit_ms, so
// each call reaches the server in time and then waits there; its deadline
// passes during the wait, before Admit's deadline check. gRPC still runs the
// handler after the client gave up, so without that check the delivery below
// would be applied after the client saw DEADLINE_EXCEEDED.
TEST(LimitsTest, DeadlinesAreHonoured) {
  constexpr auto kServerDelay = std::chrono::milliseconds(300);
  ServerProcess server(MakeTempDir("limits"),
                       {absl::StrCat("--test_delay_before_admit_ms=", kServerDelay.count())});
  ASSERT_TRUE(server.Start());
  RegisterAcme(server);
  v1::EventRequest delivered;
  delivered.set_business_number("+14155550100");
  delivered.set_customer("+447700910001");
  delivered.mutable_delivered();
  auto state = [&server] {
    grpc::ClientContext c;
    v1::GetNumberStateRequest r;
    r.set_business_number("+14155550100");
    v1::NumberState st;
    grpc::Status s = server.service().GetNumberState(&c, r, &st);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return st;
  };

  // 100 ms: the call is sent and arrives at once, then its deadline passes
  // while it waits on the server.
  {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
    v1::EventResponse out;
    const auto sent = std::chrono::steady_clock::now();
    grpc::Status s = server.service().ReportEvent(&c, delivered, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
    // The client waited for its deadline: the call did not expire before it was sent.
    EXPECT_GE(std::chrono::steady_clock::now() - sent, std::chrono::milliseconds(90));
  }
  // Wait until the server's handler has surely finished: had it applied the
  // delivery, the conversation would show now.
  std::this_thread::sleep_for(2 * kServerDelay);
  v1::NumberState st = state();
  EXPECT_EQ(st.used(), 0) << "a call past its deadline opened a conversation";
  EXPECT_EQ(st.unique_customers_7d(), 0);

  // Control: the same delivery with a deadline that outlasts the wait is
  // applied, as the first conversation with this customer.
  {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::EventResponse out;
    grpc::Status s = server.service().ReportEvent(&c, delivered, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.delivery_outcome(), v1::STARTED_UNADMITTED);
  }
  st = state();
  EXPECT_EQ(st.used(), 1);
  EXPECT_EQ(st.unique_customers_7d(), 1);
}

}  // namespace
}  // namespace wapolicy
