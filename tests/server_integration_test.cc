// Integration tests: the real policy_server binary over gRPC.

#include <atomic>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kBiz[] = "+14155550100";
std::string Customer(int i) { return absl::StrCat("+4477009", 10000 + i); }

class ServerTest : public ::testing::Test {
 protected:
  // Starts a server with a fake clock and a config (text-format ProfileConfig).
  void StartServer(const std::string& config = "", bool fake_clock = true) {
    dir_ = MakeTempDir("server");
    std::vector<std::string> flags;
    if (fake_clock) flags.push_back("--fake_clock=2026-01-01T00:00:00Z");
    if (!config.empty()) {
      const std::string path = dir_ + ".config";
      std::ofstream(path) << config;
      flags.push_back("--config=" + path);
    }
    server_ = std::make_unique<ServerProcess>(dir_, flags);
    ASSERT_TRUE(server_->Start());
  }
  void Restart() {
    server_->Kill(SIGTERM);
    ASSERT_TRUE(server_->Start());
  }
  grpc::Status Setup(const std::string& number = kBiz) {
    grpc::ClientContext c1, c2, c3;
    v1::UpsertBusinessRequest b;
    b.set_business_id("acme");
    b.set_verified(true);
    v1::UpsertBusinessResponse br;
    grpc::Status s = server_->admin().UpsertBusiness(&c1, b, &br);
    if (!s.ok()) return s;
    v1::RegisterNumberRequest r;
    r.set_business_number(number);
    r.set_business_id("acme");
    v1::RegisterNumberResponse rr;
    s = server_->admin().RegisterNumber(&c2, r, &rr);
    if (!s.ok()) return s;
    v1::Template t;
    t.set_business_id("acme");
    t.set_name("order_update");
    t.set_language("en_US");
    t.set_category(v1::UTILITY);
    t.set_status(v1::APPROVED);
    v1::PutTemplateResponse tr;
    return server_->admin().PutTemplate(&c3, t, &tr);
  }
  v1::CheckRequest TemplateCheck(const std::string& customer, const std::string& number = kBiz) {
    v1::CheckRequest r;
    r.set_business_number(number);
    r.set_customer(customer);
    r.mutable_template_message()->set_name("order_update");
    r.mutable_template_message()->set_language("en_US");
    return r;
  }
  v1::CheckRequest SessionCheck(const std::string& customer) {
    v1::CheckRequest r;
    r.set_business_number(kBiz);
    r.set_customer(customer);
    r.mutable_session()->set_type(v1::TEXT);
    return r;
  }
  grpc::Status Check(const v1::CheckRequest& r, v1::Decision* d) {
    grpc::ClientContext c;
    return server_->service().Check(&c, r, d);
  }
  v1::Decision MustCheck(const v1::CheckRequest& r) {
    v1::Decision d;
    grpc::Status s = Check(r, &d);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return d;
  }
  grpc::Status Event(const std::string& customer, const std::function<void(v1::EventRequest*)>& set,
                     v1::EventResponse* out = nullptr, const std::string& number = kBiz) {
    v1::EventRequest e;
    e.set_business_number(number);
    e.set_customer(customer);
    set(&e);
    v1::EventResponse r;
    grpc::ClientContext c;
    return server_->service().ReportEvent(&c, e, out ? out : &r);
  }
  grpc::Status OptIn(const std::string& customer) {
    return Event(customer,
                 [](v1::EventRequest* e) { e->mutable_opt_in()->set_source(v1::WEBSITE); });
  }
  v1::NumberState State(const std::string& number = kBiz) {
    v1::GetNumberStateRequest r;
    r.set_business_number(number);
    v1::NumberState s;
    grpc::ClientContext c;
    grpc::Status st = server_->service().GetNumberState(&c, r, &s);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return s;
  }
  void Advance(int64_t seconds) {
    v1::AdvanceClockRequest r;
    r.set_seconds(seconds);
    v1::AdvanceClockResponse out;
    grpc::ClientContext c;
    ASSERT_TRUE(server_->admin().AdvanceClock(&c, r, &out).ok());
  }

  std::string dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ServerTest, ConversationsOptInAndServiceWindowScenario) {
  StartServer();
  ASSERT_TRUE(Setup().ok());
  const std::string c = Customer(1);
  v1::Decision d = MustCheck(TemplateCheck(c));
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason(), v1::NOT_OPTED_IN);
  EXPECT_FALSE(d.decision_id().empty());
  EXPECT_EQ(d.profile_name(), "brief-2023");
  ASSERT_TRUE(OptIn(c).ok());
  const std::string first_id = d.decision_id();
  d = MustCheck(TemplateCheck(c));
  // Unique and increasing: the decision log's ids (tests/decision_log_test.cc).
  EXPECT_GT(std::stoull(d.decision_id()), std::stoull(first_id));
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.effect(), v1::OPENS_BUSINESS_INITIATED);
  EXPECT_EQ(d.limit(), 1000);
  EXPECT_EQ(d.used(), 1);
  v1::EventResponse er;
  ASSERT_TRUE(Event(
                  c, [](v1::EventRequest* e) { e->mutable_delivered(); }, &er)
                  .ok());
  EXPECT_EQ(er.delivery_outcome(), v1::STARTED_CONVERSATION);
  EXPECT_EQ(MustCheck(TemplateCheck(c)).effect(), v1::REUSES_BUSINESS_INITIATED);

  d = MustCheck(SessionCheck(c));
  EXPECT_EQ(d.reason(), v1::OUTSIDE_SERVICE_WINDOW);
  EXPECT_EQ(d.platform_error_code(), 131047);
  ASSERT_TRUE(Event(c, [](v1::EventRequest* e) { e->mutable_inbound(); }).ok());
  EXPECT_TRUE(MustCheck(SessionCheck(c)).allowed());
  Advance(24 * 3600);
  EXPECT_EQ(MustCheck(SessionCheck(c)).reason(), v1::OUTSIDE_SERVICE_WINDOW);
  EXPECT_EQ(State().used(), 0);  // The conversation ended too.

  ASSERT_TRUE(Event(c, [](v1::EventRequest* e) { e->mutable_opt_out(); }).ok());
  d = MustCheck(TemplateCheck(c));
  EXPECT_EQ(d.reason(), v1::OPTED_OUT);
  EXPECT_EQ(d.platform_error_code(), 131050);
}

TEST_F(ServerTest, LimitRestrictedAndRollingWindow) {
  StartServer("ladder: [2, 4, -1] verified_start_level: 0 name: 'small' revision: 3");
  ASSERT_TRUE(Setup().ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(OptIn(Customer(i)).ok());
  EXPECT_TRUE(MustCheck(TemplateCheck(Customer(0))).allowed());
  EXPECT_TRUE(MustCheck(TemplateCheck(Customer(1))).allowed());
  v1::Decision d = MustCheck(TemplateCheck(Customer(2)));
  EXPECT_EQ(d.reason(), v1::LIMIT_REACHED);
  EXPECT_EQ(d.profile_name(), "small");
  EXPECT_EQ(d.profile_revision(), 3);
  EXPECT_NE(d.next_slot_free_unix_ms(), 0);
  EXPECT_EQ(State().status(), v1::RESTRICTED);
  // A failed delivery gives its slot back at once.
  ASSERT_TRUE(Event(Customer(0), [](v1::EventRequest* e) { e->mutable_delivery_failed(); }).ok());
  EXPECT_TRUE(MustCheck(TemplateCheck(Customer(2))).allowed());
  // Reservations time out after 15 minutes.
  Advance(15 * 60);
  EXPECT_EQ(State().used(), 0);
}

TEST_F(ServerTest, QualitySignalsFlagTheNumberAndItSettlesOnDaySeven) {
  StartServer();
  ASSERT_TRUE(Setup().ok());
  // Climb to 10,000 first (500 unique customers, the upgrade 24h later): at
  // the verified floor (1,000) a wrong drop on day 7 would not show.
  v1::EventBatchRequest deliveries;
  for (int i = 0; i < 500; ++i) {
    v1::EventRequest* e = deliveries.add_events();
    e->set_business_number(kBiz);
    e->set_customer(Customer(100 + i));
    e->mutable_delivered();  // Counted even without an admission.
  }
  v1::EventBatchResponse delivered;
  grpc::ClientContext dc;
  ASSERT_TRUE(server_->service().ReportEvents(&dc, deliveries, &delivered).ok());
  Advance(24 * 3600);
  ASSERT_EQ(State().limit(), 10000);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Event(Customer(i), [](v1::EventRequest* e) {
                  e->mutable_blocked()->set_reason(v1::SPAM);
                }).ok());
  }
  ASSERT_TRUE(Event(Customer(11), [](v1::EventRequest* e) { e->mutable_reported(); }).ok());
  v1::NumberState s = State();
  EXPECT_EQ(s.quality(), v1::LOW);
  EXPECT_EQ(s.status(), v1::FLAGGED);
  EXPECT_EQ(s.signals_7d().spam(), 10);
  EXPECT_EQ(s.signals_7d().reports(), 1);
  EXPECT_GT(s.flag_settles_at_unix_ms(), s.flagged_since_unix_ms());
  Advance(7 * 24 * 3600 - 1);
  EXPECT_EQ(State().status(), v1::FLAGGED);
  EXPECT_NE(State().quality(), v1::LOW);
  Advance(1);
  s = State();
  EXPECT_EQ(s.status(), v1::CONNECTED);
  EXPECT_EQ(s.limit(), 10000);  // Recovered by decay: tier kept.
  EXPECT_EQ(s.tier(), v1::TIER_10K);
}

TEST_F(ServerTest, BatchAndStreamAnswerLikeSingleCalls) {
  StartServer("ladder: [3, 6, -1] verified_start_level: 0");
  const std::string numbers[] = {"+14155550100", "+14155550101", "+14155550102"};
  ASSERT_TRUE(Setup(numbers[0]).ok());
  ASSERT_TRUE(Setup(numbers[1]).ok());
  ASSERT_TRUE(Setup(numbers[2]).ok());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(OptIn(Customer(i)).ok());  // Per business: all numbers.
  // The same sequence (repeats, new customers past the limit, a bad entry) three ways.
  const int sequence[] = {0, 1, 0, 2, 3, 4, 1, -1, 5};
  auto request = [&](int number, int c) {
    v1::CheckRequest r = TemplateCheck(c < 0 ? "bad" : Customer(c), numbers[number]);
    return r;
  };
  std::vector<v1::CheckResult> single, batch, stream;
  for (int c : sequence) {
    v1::CheckResult r;
    grpc::Status s = Check(request(0, c), r.mutable_decision());
    if (!s.ok()) {
      r.mutable_error()->set_code(s.error_code());
      r.mutable_error()->set_message(s.error_message());
    }
    single.push_back(r);
  }
  v1::CheckBatchRequest br;
  for (int c : sequence) *br.add_checks() = request(1, c);
  v1::CheckBatchResponse bresp;
  grpc::ClientContext bc;
  ASSERT_TRUE(server_->service().CheckBatch(&bc, br, &bresp).ok());
  batch.assign(bresp.results().begin(), bresp.results().end());
  grpc::ClientContext sc;
  auto rw = server_->service().Decide(&sc);
  // The first four checks as one stream message, the rest one per message.
  v1::DecideRequest first;
  for (int i = 0; i < 4; ++i) *first.add_checks() = request(2, sequence[i]);
  ASSERT_TRUE(rw->Write(first));
  v1::DecideResponse answer;
  ASSERT_TRUE(rw->Read(&answer));
  ASSERT_EQ(answer.results_size(), 4);
  stream.assign(answer.results().begin(), answer.results().end());
  for (size_t i = 4; i < std::size(sequence); ++i) {
    v1::DecideRequest one;
    *one.add_checks() = request(2, sequence[i]);
    ASSERT_TRUE(rw->Write(one));
    ASSERT_TRUE(rw->Read(&answer));
    ASSERT_EQ(answer.results_size(), 1);
    stream.push_back(answer.results(0));
  }
  rw->WritesDone();
  ASSERT_TRUE(rw->Finish().ok());
  ASSERT_EQ(batch.size(), single.size());
  ASSERT_EQ(stream.size(), single.size());
  // Batches take their ids as a block: still one distinct id per decision.
  std::set<std::string> ids;
  size_t decisions = 0;
  for (const auto* list : {&single, &batch, &stream}) {
    for (const v1::CheckResult& r : *list) {
      if (!r.has_decision()) continue;
      ++decisions;
      ids.insert(r.decision().decision_id());
    }
  }
  EXPECT_EQ(ids.size(), decisions);
  for (size_t i = 0; i < single.size(); ++i) {
    for (auto* r : {&single[i], &batch[i], &stream[i]}) {
      if (r->has_decision()) {
        r->mutable_decision()->clear_decision_id();
      } else {
        // Only the field path prefix differs between the batch and the others.
        std::string m = r->error().message();
        if (m.rfind("checks[", 0) == 0) m = m.substr(m.find("].") + 2);
        r->mutable_error()->set_message(m);
      }
    }
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(single[i], batch[i]))
        << i << "\n"
        << single[i].DebugString() << "vs batch\n"
        << batch[i].DebugString();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(single[i], stream[i]))
        << i << "\n"
        << single[i].DebugString() << "vs stream\n"
        << stream[i].DebugString();
  }
  EXPECT_EQ(single[7].error().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(single[7].error().message().find("customer"), std::string::npos);
  EXPECT_EQ(single[5].decision().reason(), v1::LIMIT_REACHED);
}

TEST_F(ServerTest, BriefBatchAndStreamGiveTheSameDecisionsWithoutTheExtras) {
  StartServer("ladder: [3, 6, -1] verified_start_level: 0");
  const std::string numbers[] = {"+14155550100", "+14155550101", "+14155550102"};
  for (const std::string& n : numbers) ASSERT_TRUE(Setup(n).ok());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(OptIn(Customer(i)).ok());
  // Repeats, new customers past the limit (LIMIT_REACHED with its detail), a bad entry.
  const int sequence[] = {0, 1, 0, 2, 3, 4, 1, -1, 5};
  auto batch_on = [&](int number, bool brief) {
    v1::CheckBatchRequest br;
    br.set_brief(brief);
    for (int c : sequence) *br.add_checks() = TemplateCheck(c < 0 ? "bad" : Customer(c), numbers[number]);
    v1::CheckBatchResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(server_->service().CheckBatch(&ctx, br, &resp).ok());
    return resp;
  };
  const v1::CheckBatchResponse full = batch_on(0, false);
  const v1::CheckBatchResponse brief = batch_on(1, true);
  v1::DecideResponse streamed;
  {
    grpc::ClientContext sc;
    auto rw = server_->service().Decide(&sc);
    v1::DecideRequest req;
    req.set_brief(true);
    for (int c : sequence) *req.add_checks() = TemplateCheck(c < 0 ? "bad" : Customer(c), numbers[2]);
    ASSERT_TRUE(rw->Write(req));
    ASSERT_TRUE(rw->Read(&streamed));
    rw->WritesDone();
    ASSERT_TRUE(rw->Finish().ok());
  }
  ASSERT_EQ(full.results_size(), static_cast<int>(std::size(sequence)));
  ASSERT_EQ(brief.results_size(), full.results_size());
  ASSERT_EQ(streamed.results_size(), full.results_size());
  for (int i = 0; i < full.results_size(); ++i) {
    v1::CheckResult expected = full.results(i);
    if (expected.has_decision()) {
      EXPECT_NE(full.results(i).decision().limit(), 0) << i;  // The full answer has it.
      v1::Decision* d = expected.mutable_decision();
      d->clear_decision_id();
      d->clear_effect();
      d->clear_limit();
      d->clear_used();
      d->clear_next_slot_free_unix_ms();
      d->clear_service_window_ends_unix_ms();
      d->clear_conversation_ends_unix_ms();
      d->clear_profile_name();
      d->clear_profile_revision();
    } else {
      EXPECT_EQ(expected.error().code(), grpc::StatusCode::INVALID_ARGUMENT) << i;
    }
    for (v1::CheckResult got : {brief.results(i), streamed.results(i)}) {
      if (got.has_decision()) {
        EXPECT_FALSE(got.decision().decision_id().empty()) << i;
        got.mutable_decision()->clear_decision_id();
      }
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(expected, got))
          << i << "\n"
          << expected.DebugString() << "vs brief\n"
          << got.DebugString();
    }
  }
  EXPECT_EQ(brief.results(5).decision().reason(), v1::LIMIT_REACHED);
  EXPECT_FALSE(brief.results(5).decision().detail().empty());
}

TEST_F(ServerTest, RestartKeepsEverything) {
  StartServer("ladder: [2, 4, -1] verified_start_level: 0");
  ASSERT_TRUE(Setup().ok());
  ASSERT_TRUE(OptIn(Customer(1)).ok());
  ASSERT_TRUE(OptIn(Customer(2)).ok());
  ASSERT_TRUE(MustCheck(TemplateCheck(Customer(1))).allowed());
  ASSERT_TRUE(Event(Customer(1), [](v1::EventRequest* e) { e->mutable_delivered(); }).ok());
  ASSERT_TRUE(MustCheck(TemplateCheck(Customer(2))).allowed());  // Pending.
  ASSERT_TRUE(Event(Customer(3), [](v1::EventRequest* e) { e->mutable_opt_out(); }).ok());
  ASSERT_TRUE(Event(Customer(4), [](v1::EventRequest* e) { e->mutable_inbound(); }).ok());
  ASSERT_TRUE(Event(Customer(5), [](v1::EventRequest* e) {
                e->mutable_blocked()->set_reason(v1::DIDNT_SIGN_UP);
              }).ok());
  v1::NumberState before = State();
  EXPECT_EQ(before.pairs_in_burst(), 2);
  Restart();
  const v1::NumberState after = State();
  // The per-second limits' state is not stored (rate_limits.h): it starts empty.
  EXPECT_EQ(after.throughput_used(), 0);
  EXPECT_EQ(after.pairs_in_burst(), 0);
  before.clear_throughput_used();
  before.clear_throughput_free_at_unix_ms();
  before.clear_pairs_in_burst();
  before.clear_pairs_held();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(before, after))
      << before.DebugString() << "vs\n"
      << after.DebugString();
  EXPECT_EQ(after.used(), 2);
  EXPECT_EQ(after.pending(), 1);
  EXPECT_EQ(MustCheck(TemplateCheck(Customer(3))).reason(), v1::OPTED_OUT);
  EXPECT_TRUE(MustCheck(SessionCheck(Customer(4))).allowed());
  v1::EventResponse er;
  ASSERT_TRUE(Event(
                  Customer(2), [](v1::EventRequest* e) { e->mutable_delivered(); }, &er)
                  .ok());
  EXPECT_EQ(er.delivery_outcome(), v1::STARTED_CONVERSATION);
}

TEST_F(ServerTest, BadInputIsRejectedWithTheFieldNamedAndChangesNothing) {
  StartServer();
  ASSERT_TRUE(Setup().ok());
  ASSERT_TRUE(OptIn(Customer(1)).ok());
  const v1::NumberState before = State();
  auto expect = [](grpc::Status s, grpc::StatusCode code, const std::string& field) {
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    EXPECT_NE(s.error_message().find(field), std::string::npos) << s.error_message();
  };
  v1::Decision d;
  v1::CheckRequest r = TemplateCheck(Customer(1));
  r.set_business_number("+1 415 555 010");  // One digit short. (Spaces are fine.)
  expect(Check(r, &d), grpc::StatusCode::INVALID_ARGUMENT, "business_number");
  r = TemplateCheck("");
  expect(Check(r, &d), grpc::StatusCode::INVALID_ARGUMENT, "customer");
  r = TemplateCheck(Customer(1));
  r.clear_template_message();
  expect(Check(r, &d), grpc::StatusCode::INVALID_ARGUMENT, "message");
  r = TemplateCheck(Customer(1));
  r.mutable_template_message()->set_name(std::string(600, 'x'));
  expect(Check(r, &d), grpc::StatusCode::INVALID_ARGUMENT, "template_message.name");
  r = SessionCheck(Customer(1));
  r.mutable_session()->set_type(static_cast<v1::SessionType>(99));
  expect(Check(r, &d), grpc::StatusCode::INVALID_ARGUMENT, "session.type");
  r = TemplateCheck(Customer(1), "+14155550199");
  expect(Check(r, &d), grpc::StatusCode::NOT_FOUND, "business_number");

  v1::CheckBatchRequest big;
  for (int i = 0; i < 10001; ++i) *big.add_checks() = TemplateCheck(Customer(1));
  v1::CheckBatchResponse bresp;
  grpc::ClientContext bc;
  expect(server_->service().CheckBatch(&bc, big, &bresp), grpc::StatusCode::INVALID_ARGUMENT,
         "checks");

  expect(Event(Customer(1), [](v1::EventRequest*) {}), grpc::StatusCode::INVALID_ARGUMENT, "event");
  {
    v1::EventBatchRequest eb;
    eb.add_events()->set_business_number("x");
    v1::EventRequest* no_event = eb.add_events();
    no_event->set_business_number(kBiz);
    no_event->set_customer(Customer(9));
    v1::EventBatchResponse ebr;
    grpc::ClientContext ec;
    ASSERT_TRUE(server_->service().ReportEvents(&ec, eb, &ebr).ok());
    ASSERT_EQ(ebr.results_size(), 2);
    EXPECT_EQ(ebr.results(0).error().code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(ebr.results(0).error().message().find("events[0].business_number"),
              std::string::npos);
    EXPECT_NE(ebr.results(1).error().message().find("events[1].event"), std::string::npos);
  }
  expect(Event(Customer(1),
               [](v1::EventRequest* e) {
                 e->mutable_blocked()->set_reason(static_cast<v1::BlockReason>(42));
               }),
         grpc::StatusCode::INVALID_ARGUMENT, "blocked.reason");
  expect(Event(Customer(1),
               [](v1::EventRequest* e) {
                 e->mutable_opt_in()->set_source(static_cast<v1::OptInSource>(42));
               }),
         grpc::StatusCode::INVALID_ARGUMENT, "opt_in.source");
  expect(Event(Customer(1), [](v1::EventRequest* e) { e->mutable_delivery_failed(); }),
         grpc::StatusCode::FAILED_PRECONDITION, "customer");
  expect(Event("12", [](v1::EventRequest* e) { e->mutable_inbound(); }),
         grpc::StatusCode::INVALID_ARGUMENT, "customer");

  v1::GetNumberStateRequest gs;
  gs.set_business_number("");
  v1::NumberState ns;
  grpc::ClientContext gc;
  expect(server_->service().GetNumberState(&gc, gs, &ns), grpc::StatusCode::INVALID_ARGUMENT,
         "business_number");

  grpc::ClientContext a1, a2, a3, a4;
  v1::UpsertBusinessRequest ub;
  ub.set_business_id("no spaces");
  v1::UpsertBusinessResponse ubr;
  expect(server_->admin().UpsertBusiness(&a1, ub, &ubr), grpc::StatusCode::INVALID_ARGUMENT,
         "business_id");
  v1::RegisterNumberRequest rn;
  rn.set_business_number("+14155550111");
  rn.set_business_id("ghost");
  v1::RegisterNumberResponse rnr;
  expect(server_->admin().RegisterNumber(&a2, rn, &rnr), grpc::StatusCode::NOT_FOUND,
         "business_id");
  v1::Template t;
  t.set_business_id("acme");
  t.set_name("x");
  t.set_language("en");
  t.set_category(static_cast<v1::TemplateCategory>(9));
  t.set_status(v1::APPROVED);
  v1::PutTemplateResponse tr;
  expect(server_->admin().PutTemplate(&a3, t, &tr), grpc::StatusCode::INVALID_ARGUMENT, "category");
  v1::AdvanceClockRequest ac;
  ac.set_seconds(-5);
  v1::AdvanceClockResponse acr;
  expect(server_->admin().AdvanceClock(&a4, ac, &acr), grpc::StatusCode::INVALID_ARGUMENT,
         "seconds");

  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(before, State()));
  EXPECT_TRUE(MustCheck(TemplateCheck(Customer(1))).allowed());  // Still serving.
}

TEST_F(ServerTest, ComplianceRulesThroughTheServer) {
  StartServer();
  ASSERT_TRUE(Setup().ok());
  // A marketing template without a way to opt out is refused at registration.
  v1::Template offer;
  offer.set_business_id("acme");
  offer.set_name("offer");
  offer.set_language("en_US");
  offer.set_category(v1::MARKETING);
  offer.set_status(v1::APPROVED);
  offer.set_body("Hello {{1}}, 20% off today");
  v1::PutTemplateResponse tr;
  {
    grpc::ClientContext c;
    grpc::Status s = server_->admin().PutTemplate(&c, offer, &tr);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("opt out"), std::string::npos) << s.error_message();
  }
  v1::TemplateButton* stop = offer.add_buttons();
  stop->set_kind(v1::TemplateButton::QUICK_REPLY);
  stop->set_text("Stop promotions");
  {
    grpc::ClientContext c;
    ASSERT_TRUE(server_->admin().PutTemplate(&c, offer, &tr).ok());
  }
  // Scoped opt-in: order updates only.
  const std::string c1 = Customer(1);
  ASSERT_TRUE(Event(c1, [](v1::EventRequest* e) {
                e->mutable_opt_in()->set_source(v1::WEBSITE);
                e->mutable_opt_in()->add_topics("utility");
              }).ok());
  EXPECT_TRUE(MustCheck(TemplateCheck(c1)).allowed());
  v1::CheckRequest promo = TemplateCheck(c1);
  promo.mutable_template_message()->set_name("offer");
  EXPECT_EQ(MustCheck(promo).reason(), v1::TOPIC_NOT_CONSENTED);
  // Parameters must match the body's variables.
  ASSERT_TRUE(
      Event(c1, [](v1::EventRequest* e) { e->mutable_opt_in()->set_source(v1::WEBSITE); }).ok());
  promo.mutable_template_message()->add_parameters("Ann");
  promo.mutable_template_message()->add_parameters("extra");
  EXPECT_EQ(MustCheck(promo).reason(), v1::MESSAGE_INVALID);
  promo.mutable_template_message()->mutable_parameters()->RemoveLast();
  EXPECT_TRUE(MustCheck(promo).allowed());
  // Session content rules: a list with 11 rows is refused with the rule.
  ASSERT_TRUE(Event(c1, [](v1::EventRequest* e) { e->mutable_inbound()->set_text("menu?"); }).ok());
  v1::CheckRequest list = SessionCheck(c1);
  list.mutable_session()->clear_type();
  v1::ListContent* l = list.mutable_session()->mutable_list();
  l->set_body("Pick");
  l->set_button("Options");
  v1::ListSection* sec = l->add_sections();
  for (int i = 0; i < 11; ++i) {
    v1::ListRow* r = sec->add_rows();
    r->set_id(absl::StrCat("r", i));
    r->set_title("Row");
  }
  v1::Decision d = MustCheck(list);
  EXPECT_EQ(d.reason(), v1::MESSAGE_INVALID);
  EXPECT_NE(d.detail().find("rows"), std::string::npos) << d.detail();
  sec->mutable_rows()->RemoveLast();
  EXPECT_TRUE(MustCheck(list).allowed());
  // An inbound STOP opts the customer out.
  v1::EventResponse er;
  ASSERT_TRUE(Event(
                  c1, [](v1::EventRequest* e) { e->mutable_inbound()->set_text("STOP"); }, &er)
                  .ok());
  EXPECT_TRUE(er.opted_out());
  EXPECT_EQ(MustCheck(TemplateCheck(c1)).reason(), v1::OPTED_OUT);
  // Templates keep their components across a restart.
  Restart();
  v1::GetTemplateRequest g;
  g.set_business_id("acme");
  g.set_name("offer");
  g.set_language("en_US");
  v1::Template got;
  grpc::ClientContext gc;
  ASSERT_TRUE(server_->admin().GetTemplate(&gc, g, &got).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, offer))
      << got.DebugString() << "vs\n"
      << offer.DebugString();
  EXPECT_EQ(MustCheck(TemplateCheck(c1)).reason(), v1::OPTED_OUT);
}

TEST_F(ServerTest, FrequencyCapAnswersCarryRetryAfter) {
  // Default profile: 10 business-initiated messages per customer in a
  // rolling 24h. The fake clock starts at 2026-01-01T00:00:00Z.
  constexpr int64_t kT0Ms = 1767225600000;
  StartServer();
  ASSERT_TRUE(Setup().ok());
  const std::string c = Customer(1);
  ASSERT_TRUE(OptIn(c).ok());
  v1::Decision d = MustCheck(TemplateCheck(c));  // The oldest counted send, at T0.
  ASSERT_TRUE(d.allowed());
  EXPECT_EQ(d.retry_after_unix_ms(), 0);
  Advance(3600);
  for (int i = 2; i <= 10; ++i) ASSERT_TRUE(MustCheck(TemplateCheck(c)).allowed()) << i;
  Advance(3600);
  d = MustCheck(TemplateCheck(c));  // The 11th, at T0 + 2h.
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason(), v1::FREQUENCY_CAPPED);
  EXPECT_EQ(d.platform_error_code(), 131049);
  EXPECT_EQ(d.retry_after_unix_ms(), kT0Ms + 24 * 3600 * 1000);
  // A batch answers the same.
  v1::CheckBatchRequest batch;
  *batch.add_checks() = TemplateCheck(c);
  *batch.add_checks() = TemplateCheck(Customer(2));  // No opt-in: not capped, no retry_after.
  v1::CheckBatchResponse resp;
  grpc::ClientContext bc;
  ASSERT_TRUE(server_->service().CheckBatch(&bc, batch, &resp).ok());
  ASSERT_EQ(resp.results_size(), 2);
  EXPECT_EQ(resp.results(0).decision().reason(), v1::FREQUENCY_CAPPED);
  EXPECT_EQ(resp.results(0).decision().retry_after_unix_ms(), kT0Ms + 24 * 3600 * 1000);
  EXPECT_EQ(resp.results(1).decision().reason(), v1::NOT_OPTED_IN);
  EXPECT_EQ(resp.results(1).decision().retry_after_unix_ms(), 0);
  // At retry_after the T0 send has left the window: one more is admitted.
  Advance(22 * 3600);
  d = MustCheck(TemplateCheck(c));
  EXPECT_TRUE(d.allowed()) << d.detail();
  EXPECT_EQ(d.retry_after_unix_ms(), 0);
}

TEST_F(ServerTest, ReportEventsAppliesEachEventInOrder) {
  StartServer();
  ASSERT_TRUE(Setup().ok());
  v1::EventBatchRequest eb;
  auto add = [&](const std::function<void(v1::EventRequest*)>& set) {
    v1::EventRequest* e = eb.add_events();
    e->set_business_number(kBiz);
    e->set_customer(Customer(1));
    set(e);
  };
  add([](v1::EventRequest* e) { e->mutable_opt_in()->set_source(v1::SMS); });
  add([](v1::EventRequest* e) { e->mutable_delivery_failed(); });  // Nothing pending: error.
  add([](v1::EventRequest* e) { e->mutable_blocked()->set_reason(v1::SPAM); });
  add([](v1::EventRequest* e) { e->mutable_inbound()->set_text("stop"); });
  v1::EventBatchResponse ebr;
  grpc::ClientContext ec;
  ASSERT_TRUE(server_->service().ReportEvents(&ec, eb, &ebr).ok());
  ASSERT_EQ(ebr.results_size(), 4);
  EXPECT_TRUE(ebr.results(0).has_response());
  EXPECT_EQ(ebr.results(1).error().code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(ebr.results(3).response().opted_out());
  EXPECT_EQ(State().signals_7d().spam(), 1);
  EXPECT_EQ(MustCheck(TemplateCheck(Customer(1))).reason(), v1::OPTED_OUT);
}

TEST_F(ServerTest, HealthServiceAnswersServing) {
  StartServer();
  // grpc.health.v1.Health/Check with an empty HealthCheckRequest, as raw bytes.
  grpc::GenericStub stub(
      grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(s); });
  ASSERT_TRUE(done.get_future().get().ok());
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& sl : slices)
    bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // status: SERVING
}

TEST_F(ServerTest, AdvanceClockIsRefusedOnTheWallClock) {
  StartServer("", /*fake_clock=*/false);
  v1::AdvanceClockRequest ac;
  ac.set_seconds(60);
  v1::AdvanceClockResponse acr;
  grpc::ClientContext c;
  EXPECT_EQ(server_->admin().AdvanceClock(&c, ac, &acr).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// Kills the server with SIGKILL in the middle of a load of admissions,
// restarts it, and checks that every admission answered "allow" is still
// counted and that the number never went past its limit.
TEST_F(ServerTest, CrashDuringAdmissionsLosesNoAnsweredAdmission) {
  StartServer("ladder: [300, 600, -1] verified_start_level: 0 reservation_timeout_seconds: 86400");
  ASSERT_TRUE(Setup().ok());
  constexpr int kCustomers = 500;
  for (int i = 0; i < kCustomers; ++i) ASSERT_TRUE(OptIn(Customer(i)).ok());
  for (int round = 0; round < 3; ++round) {
    std::mutex mu;
    std::set<int> allowed;
    std::atomic<int> next{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
      clients.emplace_back([&] {
        while (!stop) {
          const int c = next.fetch_add(1) % kCustomers;
          v1::Decision d;
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
          if (server_->service().Check(&ctx, TemplateCheck(Customer(c)), &d).ok() && d.allowed() &&
              d.effect() == v1::OPENS_BUSINESS_INITIATED) {
            std::lock_guard<std::mutex> l(mu);
            allowed.insert(c);
          }
        }
      });
    }
    std::mt19937 rng(round);
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 150));
    server_->Kill(SIGKILL);
    stop = true;
    for (auto& t : clients) t.join();
    ASSERT_TRUE(server_->Start());
    if (round == 0) EXPECT_FALSE(allowed.empty()) << "the load admitted nothing before the kill";
    v1::NumberState s = State();
    EXPECT_LE(s.used(), 300);
    EXPECT_GE(s.used(), static_cast<int64_t>(allowed.size()));
    for (int c : allowed) {
      v1::CheckRequest r = TemplateCheck(Customer(c));
      r.set_dry_run(true);
      EXPECT_EQ(MustCheck(r).effect(), v1::REUSES_BUSINESS_INITIATED) << "admission lost: " << c;
    }
  }
}

}  // namespace
}  // namespace wapolicy
