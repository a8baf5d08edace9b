// The per-second limits through the real server: throughput per number with
// retry_after to the millisecond, a paced batch of 10,000 in one call, the
// pair rate's burst, and policyctl --pace.

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kBiz[] = "+14155550100";
constexpr int64_t kT0Ms = 1767225600000;  // 2026-01-01T00:00:00Z, the fake clock's start.
std::string Customer(int i) { return absl::StrCat("+4477009", 10000 + i); }

class RatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = MakeTempDir("rates");
    std::ofstream(dir + ".config") << "frequency_cap_per_day: 0";
    server_ = std::make_unique<ServerProcess>(
        dir, std::vector<std::string>{"--fake_clock=2026-01-01T00:00:00Z",
                                      "--config=" + dir + ".config"});
    ASSERT_TRUE(server_->Start());
    ASSERT_TRUE(SetUpBusiness(*server_, "acme", {}).ok());
    grpc::ClientContext c;
    v1::RegisterNumberRequest r;
    r.set_business_number(kBiz);
    r.set_business_id("acme");
    r.set_current_limit(100000);
    v1::RegisterNumberResponse out;
    ASSERT_TRUE(server_->admin().RegisterNumber(&c, r, &out).ok());
  }
  void Event(const std::string& customer, bool inbound) {
    grpc::ClientContext c;
    v1::EventRequest e;
    e.set_business_number(kBiz);
    e.set_customer(customer);
    if (inbound) {
      e.mutable_inbound()->set_text("hi");
    } else {
      e.mutable_opt_in()->set_source(v1::WEBSITE);
    }
    v1::EventResponse out;
    ASSERT_TRUE(server_->service().ReportEvent(&c, e, &out).ok());
  }
  v1::CheckRequest Template(int i) {
    v1::CheckRequest r;
    r.set_business_number(kBiz);
    r.set_customer(Customer(i));
    r.mutable_template_message()->set_name("t");
    r.mutable_template_message()->set_language("en");
    return r;
  }
  v1::CheckBatchResponse Batch(int from, int n, bool pace) {
    v1::CheckBatchRequest batch;
    for (int i = from; i < from + n; ++i) {
      *batch.add_checks() = Template(i);
      batch.mutable_checks()->rbegin()->set_pace(pace);
    }
    grpc::ClientContext c;
    v1::CheckBatchResponse out;
    EXPECT_TRUE(server_->service().CheckBatch(&c, batch, &out).ok());
    return out;
  }
  void OptIn(int from, int n) {
    v1::EventBatchRequest batch;
    for (int i = from; i < from + n; ++i) {
      v1::EventRequest* e = batch.add_events();
      e->set_business_number(kBiz);
      e->set_customer(Customer(i));
      e->mutable_opt_in()->set_source(v1::WEBSITE);
    }
    grpc::ClientContext c;
    v1::EventBatchResponse out;
    ASSERT_TRUE(server_->service().ReportEvents(&c, batch, &out).ok());
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(RatesTest, The81stMessageInASecondIsHeldWithTheMillisecondToRetry) {
  OptIn(0, 81);
  v1::CheckBatchResponse out = Batch(0, 81, /*pace=*/false);
  for (int i = 0; i < 80; ++i) ASSERT_TRUE(out.results(i).decision().allowed()) << i;
  const v1::Decision& d = out.results(80).decision();
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason(), v1::THROUGHPUT_LIMITED);
  EXPECT_EQ(d.platform_error_code(), 130429);
  EXPECT_EQ(d.retry_after_unix_ms(), kT0Ms + 12);  // 12.5 ms, in whole milliseconds.
}

TEST_F(RatesTest, APacedBatchOfTenThousandIsAnsweredInOneCall) {
  OptIn(0, 10000);
  v1::CheckBatchResponse out = Batch(0, 10000, /*pace=*/true);
  ASSERT_EQ(out.results_size(), 10000);
  int64_t last = 0;
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(out.results(i).decision().allowed()) << i;
    last = std::max(last, out.results(i).decision().send_at_unix_ms());
  }
  EXPECT_EQ(out.results(79).decision().send_at_unix_ms(), 0);  // Now.
  EXPECT_EQ(last, kT0Ms + (9999 - 79) * 125 / 10);             // At 80 a second.
}

TEST_F(RatesTest, AFortySixthMessageToOneCustomerWaitsForTheBorrowedTime) {
  Event(Customer(1), /*inbound=*/true);
  v1::CheckBatchRequest batch;
  for (int i = 0; i < 46; ++i) {
    v1::CheckRequest* r = batch.add_checks();
    r->set_business_number(kBiz);
    r->set_customer(Customer(1));
    r->mutable_session()->set_type(v1::TEXT);
  }
  grpc::ClientContext c;
  v1::CheckBatchResponse out;
  ASSERT_TRUE(server_->service().CheckBatch(&c, batch, &out).ok());
  for (int i = 0; i < 45; ++i) ASSERT_TRUE(out.results(i).decision().allowed()) << i;
  const v1::Decision& d = out.results(45).decision();
  EXPECT_EQ(d.reason(), v1::PAIR_RATE_LIMITED);
  EXPECT_EQ(d.platform_error_code(), 131056);
  EXPECT_EQ(d.retry_after_unix_ms(), kT0Ms + 45 * 6000);
}

TEST_F(RatesTest, PolicyctlPacesACheckAndShowsWhenToSend) {
  OptIn(0, 81);
  Batch(0, 80, /*pace=*/false);
  FILE* p = popen(("cli/policyctl --server=" + server_->address() +
                   " check --name=t --language=en --pace --number=" + kBiz +
                   " --customer=" + Customer(80) + " 2>&1")
                      .c_str(),
                  "r");
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  pclose(p);
  EXPECT_NE(text.find("ALLOW"), std::string::npos) << text;
  EXPECT_NE(text.find("send at:    2026-01-01 00:00:00.012 UTC"), std::string::npos) << text;
}

std::string Policyctl(const std::string& args) {
  FILE* p = popen(("cli/policyctl " + args + " 2>&1").c_str(), "r");
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  pclose(p);
  return text;
}

TEST_F(RatesTest, StateShowsThroughputPairsHoldsAndPausedTemplates) {
  OptIn(0, 80);
  Batch(0, 80, /*pace=*/false);                      // The second's 80 messages.
  Event(Customer(1), /*inbound=*/true);              // An inbound one counts too,
  v1::CheckBatchResponse held = Batch(0, 1, false);  // so this one waits.
  ASSERT_EQ(held.results(0).decision().reason(), v1::THROUGHPUT_LIMITED);
  for (int i = 0; i < 3; ++i) {  // Three customers held for 131049 (Canadian numbers).
    grpc::ClientContext c;
    v1::EventRequest e;
    e.set_business_number(kBiz);
    e.set_customer(absl::StrCat("+1416555010", i));
    e.set_occurred_at_unix_ms(kT0Ms - (3 - i) * 3600 * 1000);
    e.mutable_delivery_failed()->set_error_code(131049);
    v1::EventResponse out;
    ASSERT_TRUE(server_->service().ReportEvent(&c, e, &out).ok());
  }
  const std::string s = "--server=" + server_->address() + " ";
  ASSERT_NE(Policyctl(s + "template-quality --business=acme --name=t --language=en "
                          "--template_quality=red")
                .find("ok"),
            std::string::npos);

  grpc::ClientContext c;
  v1::GetNumberStateRequest r;
  r.set_business_number(kBiz);
  v1::NumberState st;
  ASSERT_TRUE(server_->service().GetNumberState(&c, r, &st).ok());
  EXPECT_EQ(st.throughput_limit_mps(), 80);
  EXPECT_EQ(st.throughput_used(), 81);
  EXPECT_EQ(st.throughput_free_at_unix_ms(), kT0Ms + 25);  // 12.5 ms per message over 80.
  EXPECT_EQ(st.pairs_in_burst(), 80);
  EXPECT_EQ(st.pairs_held(), 0);
  EXPECT_EQ(st.marketing_holds(), 3);
  ASSERT_EQ(st.first_marketing_holds_size(), 3);
  EXPECT_EQ(st.first_marketing_holds(0).customer(), "+14165550100");
  EXPECT_EQ(st.first_marketing_holds(0).until_unix_ms(), kT0Ms + 21 * 3600 * 1000);
  ASSERT_EQ(st.paused_templates_size(), 1);
  EXPECT_EQ(st.paused_templates(0).name(), "t");
  EXPECT_EQ(st.paused_templates(0).until_unix_ms(), kT0Ms + 3 * 3600 * 1000);

  const std::string out = Policyctl(s + "state --number=" + kBiz);
  EXPECT_NE(out.find("throughput: 80/s, 81 used this second, next at 2026-01-01 00:00:00"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("pair rate:  80 customers in a burst, 0 held"), std::string::npos) << out;
  EXPECT_NE(out.find("marketing:  3 customers held (131049)"), std::string::npos) << out;
  EXPECT_NE(out.find("+14165550100 until 2026-01-01 21:00:00 UTC"), std::string::npos) << out;
  EXPECT_NE(out.find("template:   t (en) paused until 2026-01-01 03:00:00 UTC"), std::string::npos)
      << out;
}

}  // namespace
}  // namespace wapolicy
