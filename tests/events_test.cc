// Events as the platform reports them, through the real server: their own
// time (late, out of order), their own id (repeated in a batch, across
// batches and across a SIGKILL).

#include <signal.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kBiz[] = "+14155550100";
constexpr char kCustomer[] = "+447700900001";
const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

int64_t Ms(absl::Time t) { return absl::ToUnixMillis(t); }

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(
        MakeTempDir("events"), std::vector<std::string>{"--fake_clock=2026-01-01T00:00:00Z"});
    ASSERT_TRUE(server_->Start());
    ASSERT_TRUE(SetUpBusiness(*server_, "acme", {kBiz}).ok());
    v1::EventRequest opt_in = Event();
    opt_in.mutable_opt_in()->set_source(v1::OptInSource::WEBSITE);
    ASSERT_TRUE(Report(opt_in).ok());
  }
  v1::EventRequest Event(int64_t at_ms = 0, const std::string& id = "") {
    v1::EventRequest e;
    e.set_business_number(kBiz);
    e.set_customer(kCustomer);
    e.set_occurred_at_unix_ms(at_ms);
    e.set_event_id(id);
    return e;
  }
  v1::EventRequest Blocked(const std::string& id) {
    v1::EventRequest e = Event(0, id);
    e.mutable_blocked()->set_reason(v1::BlockReason::SPAM);
    return e;
  }
  grpc::Status Report(const v1::EventRequest& e, v1::EventResponse* out = nullptr) {
    grpc::ClientContext c;
    v1::EventResponse ignored;
    return server_->service().ReportEvent(&c, e, out ? out : &ignored);
  }
  v1::Decision Check(bool session = false) {
    grpc::ClientContext c;
    v1::CheckRequest r;
    r.set_business_number(kBiz);
    r.set_customer(kCustomer);
    if (session) {
      r.mutable_session()->set_type(v1::TEXT);
    } else {
      r.mutable_template_message()->set_name("t");
      r.mutable_template_message()->set_language("en");
    }
    v1::Decision d;
    EXPECT_TRUE(server_->service().Check(&c, r, &d).ok());
    return d;
  }
  v1::NumberState State() {
    v1::NumberState st;
    EXPECT_TRUE(NumberStateOf(*server_, kBiz, &st).ok());
    return st;
  }
  void Advance(absl::Duration d) {
    grpc::ClientContext c;
    v1::AdvanceClockRequest r;
    r.set_seconds(absl::ToInt64Seconds(d));
    v1::AdvanceClockResponse out;
    ASSERT_TRUE(server_->admin().AdvanceClock(&c, r, &out).ok());
  }

  std::unique_ptr<ServerProcess> server_;
};

TEST_F(EventsTest, TheSameEventIdTwiceInOneBatchAndAcrossBatchesCountsOnce) {
  v1::EventBatchRequest batch;
  *batch.add_events() = Blocked("wamid.A:blocked");
  *batch.add_events() = Blocked("wamid.A:blocked");
  for (int round = 0; round < 2; ++round) {
    grpc::ClientContext c;
    v1::EventBatchResponse out;
    ASSERT_TRUE(server_->service().ReportEvents(&c, batch, &out).ok());
    for (const v1::EventResult& r : out.results()) EXPECT_TRUE(r.has_response()) << round;
  }
  EXPECT_EQ(State().signals_7d().spam(), 1);
  ASSERT_TRUE(Report(Blocked("wamid.B:blocked")).ok());  // Another id counts.
  EXPECT_EQ(State().signals_7d().spam(), 2);
}

TEST_F(EventsTest, TheSameEventIdAfterASigkillCountsOnce) {
  ASSERT_TRUE(Report(Blocked("wamid.A:blocked")).ok());
  server_->Kill(SIGKILL);
  ASSERT_TRUE(server_->Start());
  ASSERT_TRUE(Report(Blocked("wamid.A:blocked")).ok());
  EXPECT_EQ(State().signals_7d().spam(), 1);
}

TEST_F(EventsTest, ALateDeliveryStartsTheConversationAtTheDeliverysTime) {
  ASSERT_TRUE(Check().allowed());
  Advance(absl::Minutes(10));  // The report arrives 9 minutes after the delivery.
  v1::EventRequest delivered = Event(Ms(kT0 + absl::Minutes(1)), "wamid.A:delivered");
  delivered.mutable_delivered();
  v1::EventResponse r;
  ASSERT_TRUE(Report(delivered, &r).ok());
  EXPECT_EQ(r.delivery_outcome(), v1::STARTED_CONVERSATION);
  Advance(absl::Hours(24) - absl::Minutes(8));  // 24 h + 2 min after the delivery.
  EXPECT_EQ(Check().effect(), v1::OPENS_BUSINESS_INITIATED)
      << "the platform's conversation ended 24 h after the delivery";
}

TEST_F(EventsTest, ALateCustomerMessageOpensTheWindowFromItsOwnTime) {
  v1::EventRequest inbound = Event(Ms(kT0 - absl::Hours(23) - absl::Minutes(50)));
  inbound.mutable_inbound()->set_text("hello");
  ASSERT_TRUE(Report(inbound).ok());
  EXPECT_TRUE(Check(/*session=*/true).allowed());
  Advance(absl::Minutes(11));
  v1::Decision d = Check(/*session=*/true);
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.platform_error_code(), 131047);
}

TEST_F(EventsTest, AReadWithoutDeliveredConfirmsTheAdmissionOnce) {
  ASSERT_TRUE(Check().allowed());
  v1::EventRequest read = Event(0, "wamid.A:read");  // Maps to delivered.
  read.mutable_delivered();
  v1::EventResponse r;
  ASSERT_TRUE(Report(read, &r).ok());
  EXPECT_EQ(r.delivery_outcome(), v1::STARTED_CONVERSATION);
  v1::EventRequest delivered = Event(Ms(kT0) - 1000, "wamid.A:delivered");  // Arrives after.
  delivered.mutable_delivered();
  ASSERT_TRUE(Report(delivered, &r).ok());
  EXPECT_EQ(r.delivery_outcome(), v1::IN_OPEN_CONVERSATION);
  v1::NumberState st = State();
  EXPECT_EQ(st.used(), 1);
  EXPECT_EQ(st.pending(), 0);
  EXPECT_EQ(st.unique_customers_7d(), 1);
}

TEST_F(EventsTest, AFailureOfAnotherMessageLeavesTheSlotToTheMessageThatTookIt) {
  auto check = [&](const std::string& message_id) {
    grpc::ClientContext c;
    v1::CheckRequest r;
    r.set_business_number(kBiz);
    r.set_customer(kCustomer);
    r.mutable_template_message()->set_name("t");
    r.mutable_template_message()->set_language("en");
    r.set_message_id(message_id);
    v1::Decision d;
    EXPECT_TRUE(server_->service().Check(&c, r, &d).ok());
    return d;
  };
  ASSERT_EQ(check("order-1").effect(), v1::OPENS_BUSINESS_INITIATED);
  ASSERT_EQ(check("order-2").effect(), v1::REUSES_BUSINESS_INITIATED);
  v1::EventRequest failed = Event(0, "wamid.B:failed");
  failed.mutable_delivery_failed();
  failed.set_message_id("order-2");
  ASSERT_TRUE(Report(failed).ok());
  EXPECT_EQ(State().pending(), 1) << "order-1 keeps its slot";
  failed.set_event_id("wamid.A:failed");
  failed.set_message_id("order-1");
  ASSERT_TRUE(Report(failed).ok());
  EXPECT_EQ(State().used(), 0);
}

TEST_F(EventsTest, AnEventTooFarAheadIsRefusedNamingTheField) {
  v1::EventRequest e = Blocked("wamid.F:blocked");
  e.set_occurred_at_unix_ms(Ms(kT0 + absl::Minutes(6)));
  grpc::Status s = Report(e);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("occurred_at"), std::string::npos) << s.error_message();
  EXPECT_EQ(State().signals_7d().spam(), 0);
  e.set_occurred_at_unix_ms(int64_t{1} << 62);  // No overflow either.
  EXPECT_EQ(Report(e).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace wapolicy
