// Load and limits through the real server: bounded request sizes, a flood
// answered with RESOURCE_EXHAUSTED (and the server still serving), deadlines.

#include <atomic>
#include <thread>

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

TEST(LimitsTest, DeadlinesAreHonoured) {
  ServerProcess server(MakeTempDir("limits"), {});
  ASSERT_TRUE(server.Start());
  RegisterAcme(server);
  grpc::ClientContext c;
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::microseconds(100));
  v1::CheckBatchResponse out;
  EXPECT_EQ(server.service().CheckBatch(&c, BigBatch(10000), &out).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(StillServing(server));
}

}  // namespace
}  // namespace wapolicy
