// Campaign plans and reservations through the real server
// (proto/wapolicy/v1/campaign.proto): a plan streamed over gRPC, then the
// campaign run through Check on the fake clock as the plan assumes, step by
// step; tokens; bad input; the JSON door; policyctl plan; reservations
// racing over gRPC.

#include <atomic>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "proto/wapolicy/v1/campaign.grpc.pb.h"
#include "server/token_authority.h"
#include "tests/http_client.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kNumber[] = "+14155550100";
constexpr char kGlobexNumber[] = "+14155550200";
constexpr int64_t kStartMs = 1767225600000;  // 2026-01-01T00:00:00Z, the fake clock's start.
constexpr int64_t kHourMs = 3600 * 1000;

uint64_t Digits(int i) { return 919800000000ULL + i; }
std::string E164(int i) { return absl::StrCat("+", Digits(i)); }

struct PlanResult {
  grpc::Status status;
  v1::CampaignPlan plan;
  std::vector<v1::CustomerOutcomes> outcomes;
};

class CampaignTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> flags = {}) {
    flags.push_back("--fake_clock=2026-01-01T00:00:00Z");
    server_ = std::make_unique<ServerProcess>(MakeTempDir("campaign"), flags);
    ASSERT_TRUE(server_->Start());
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    campaigns_ = v1::PolicyCampaigns::NewStub(channel_);
  }
  void SetUpAcme(std::optional<int64_t> limit = std::nullopt) {
    grpc::ClientContext c, r;
    v1::UpsertBusinessRequest b;
    b.set_business_id("acme");
    b.set_verified(true);
    v1::UpsertBusinessResponse br;
    As(&c);
    ASSERT_TRUE(server_->admin().UpsertBusiness(&c, b, &br).ok());
    v1::RegisterNumberRequest n;
    n.set_business_number(kNumber);
    n.set_business_id("acme");
    if (limit) n.set_current_limit(*limit);
    v1::RegisterNumberResponse nr;
    As(&r);
    ASSERT_TRUE(server_->admin().RegisterNumber(&r, n, &nr).ok());
    grpc::ClientContext tc;
    v1::Template t;
    t.set_business_id("acme");
    t.set_name("t");
    t.set_language("en");
    t.set_category(v1::UTILITY);
    t.set_status(v1::APPROVED);
    v1::PutTemplateResponse tr;
    As(&tc);
    ASSERT_TRUE(server_->admin().PutTemplate(&tc, t, &tr).ok());
  }
  void As(grpc::ClientContext* c, const std::string& token = "") {
    const std::string& t = token.empty() ? admin_token_ : token;
    if (!t.empty()) c->AddMetadata("authorization", "Bearer " + t);
  }
  void Event(const std::string& customer, void (*set)(v1::EventRequest*),
             const std::string& number = kNumber) {
    grpc::ClientContext c;
    As(&c);
    v1::EventRequest e;
    e.set_business_number(number);
    e.set_customer(customer);
    set(&e);
    v1::EventResponse out;
    grpc::Status s = server_->service().ReportEvent(&c, e, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  void OptIn(const std::string& customer, const std::string& number = kNumber) {
    Event(customer, [](v1::EventRequest* e) { e->mutable_opt_in()->set_source(v1::WEBSITE); },
          number);
  }
  void Deliver(const std::string& customer) {
    Event(customer, [](v1::EventRequest* e) { e->mutable_delivered(); });
  }
  v1::Decision Check(const std::string& customer) {
    grpc::ClientContext c;
    As(&c);
    v1::CheckRequest r;
    r.set_business_number(kNumber);
    r.set_customer(customer);
    r.mutable_template_message()->set_name("t");
    r.mutable_template_message()->set_language("en");
    r.set_pace(true);
    v1::Decision d;
    grpc::Status s = server_->service().Check(&c, r, &d);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return d;
  }
  int64_t AdvanceTo(int64_t ms) {
    grpc::ClientContext c;
    As(&c);
    v1::AdvanceClockRequest r;
    r.set_seconds((ms - now_ms_) / 1000);
    v1::AdvanceClockResponse out;
    EXPECT_TRUE(server_->admin().AdvanceClock(&c, r, &out).ok());
    now_ms_ = out.now_unix_ms();
    return now_ms_;
  }
  static v1::PlanCampaignRequest First(const std::string& number = kNumber) {
    v1::PlanCampaignRequest r;
    r.mutable_campaign()->set_business_number(number);
    r.mutable_campaign()->mutable_template_message()->set_name("t");
    r.mutable_campaign()->mutable_template_message()->set_language("en");
    return r;
  }
  PlanResult Plan(const std::vector<v1::PlanCampaignRequest>& messages,
                  const std::string& token = "") {
    PlanResult out;
    grpc::ClientContext c;
    As(&c, token);
    auto stream = campaigns_->PlanCampaign(&c);
    for (const auto& m : messages) {
      if (!stream->Write(m)) break;
    }
    stream->WritesDone();
    v1::PlanCampaignResponse resp;
    while (stream->Read(&resp)) {
      if (resp.has_outcomes()) out.outcomes.push_back(resp.outcomes());
      if (resp.has_plan()) out.plan = resp.plan();
    }
    out.status = stream->Finish();
    return out;
  }

  std::unique_ptr<ServerProcess> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PolicyCampaigns::Stub> campaigns_;
  std::string admin_token_;
  int64_t now_ms_ = kStartMs;
};

// The plan over gRPC, then the campaign through Check on the fake clock: a
// platform limit of 30 with 5 earlier conversations, so the campaign's own
// slots come back day after day.
TEST_F(CampaignTest, APlanOverGrpcIsWhatCheckAnswersStepByStep) {
  Start();
  SetUpAcme(30);
  for (int i = 0; i < 5; ++i) {  // Earlier traffic, ending at +18 h.
    OptIn(E164(1000 + i));
    ASSERT_TRUE(Check(E164(1000 + i)).allowed());
    Deliver(E164(1000 + i));
  }
  AdvanceTo(kStartMs + 6 * kHourMs);
  const int64_t start = now_ms_;
  for (int i = 0; i < 90; ++i) OptIn(E164(i));  // 90-99 never opted in.
  // Half as digits in the first message, half as strings after, one twice.
  std::vector<v1::PlanCampaignRequest> msgs(2);
  msgs[0] = First();
  msgs[0].set_per_customer(true);
  for (int i = 0; i < 50; ++i) msgs[0].mutable_customers()->add_digits(Digits(i));
  for (int i = 50; i < 100; ++i) msgs[1].mutable_customers()->add_e164(E164(i));
  msgs[1].mutable_customers()->add_e164("+91 98000 00003");  // Listed twice, formatted.
  const PlanResult r = Plan(msgs);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  const v1::CampaignPlan& p = r.plan;
  EXPECT_EQ(p.customers(), 101);
  EXPECT_EQ(p.duplicates(), 1);
  EXPECT_EQ(p.limit(), 30);
  EXPECT_EQ(p.used(), 5);
  EXPECT_EQ(p.send_now(), 25);
  EXPECT_EQ(p.wait(), 65);
  EXPECT_EQ(p.not_opted_in(), 10);
  EXPECT_EQ(p.start_unix_ms(), start);
  const std::vector<std::pair<int64_t, int64_t>> want = {{0, 25},  {18, 5}, {24, 25},
                                                         {42, 5}, {48, 25}, {66, 5}};
  ASSERT_EQ(p.schedule_size(), static_cast<int>(want.size()));
  for (size_t s = 0; s < want.size(); ++s) {
    EXPECT_EQ(p.schedule(s).at_unix_ms(), start + want[s].first * kHourMs) << s;
    EXPECT_EQ(p.schedule(s).count(), want[s].second) << s;
  }
  EXPECT_EQ(p.last_send_at_unix_ms(), start + 66 * kHourMs);
  ASSERT_EQ(r.outcomes.size(), 1u);
  const v1::CustomerOutcomes& o = r.outcomes[0];
  ASSERT_EQ(o.digits_size(), 101);
  EXPECT_EQ(o.outcome(100), v1::DUPLICATE);

  // At the start each customer's decision is the plan's.
  std::vector<int> waiters;
  for (int i = 0; i < 100; ++i) {
    const v1::Decision d = Check(E164(i));
    ASSERT_EQ(o.digits(i), Digits(i));
    EXPECT_EQ(d.reason(), o.reason(i)) << i;
    if (o.outcome(i) == v1::SEND_NOW) {
      EXPECT_TRUE(d.allowed()) << i;
      EXPECT_EQ(d.effect(), v1::OPENS_BUSINESS_INITIATED);
      EXPECT_EQ(std::max(d.send_at_unix_ms(), start), o.send_at_unix_ms(i));
      Deliver(E164(i));
    } else if (o.outcome(i) == v1::WAIT) {
      EXPECT_EQ(d.reason(), v1::LIMIT_REACHED);
      waiters.push_back(i);
    } else {
      EXPECT_EQ(o.outcome(i), v1::EXCLUDED_NOT_OPTED_IN) << i;
    }
  }
  // At each later step: exactly that many more are admitted.
  size_t next = 0;
  for (int s = 1; s < p.schedule_size(); ++s) {
    ASSERT_EQ(AdvanceTo(p.schedule(s).at_unix_ms()), p.schedule(s).at_unix_ms());
    for (int k = 0; k < p.schedule(s).count(); ++k, ++next) {
      ASSERT_LT(next, waiters.size());
      const int i = waiters[next];
      EXPECT_EQ(o.admit_at_unix_ms(i), p.schedule(s).at_unix_ms()) << i;
      const v1::Decision d = Check(E164(i));
      EXPECT_TRUE(d.allowed()) << "customers[" << i << "] at step " << s << ": " << d.detail();
      Deliver(E164(i));
    }
    if (next < waiters.size()) {
      const v1::Decision d = Check(E164(waiters[next]));
      EXPECT_FALSE(d.allowed()) << "customers[" << waiters[next] << "] admitted early";
      EXPECT_EQ(d.reason(), v1::LIMIT_REACHED);
    }
  }
  EXPECT_EQ(next, waiters.size());
}

TEST_F(CampaignTest, ATokenPlansAndReservesOnItsOwnNumbersOnly) {
  const std::string dir = MakeTempDir("campaign_tokens");
  std::ofstream(dir + "/tokens") << TokenAuthority::HashToken("root-token") << " admin\n"
                                 << TokenAuthority::HashToken("acme-token") << " business acme\n";
  admin_token_ = "root-token";
  Start({"--tokens_file=" + dir + "/tokens"});
  SetUpAcme();
  {
    grpc::ClientContext c, r;
    As(&c);
    v1::UpsertBusinessRequest b;
    b.set_business_id("globex");
    v1::UpsertBusinessResponse br;
    ASSERT_TRUE(server_->admin().UpsertBusiness(&c, b, &br).ok());
    v1::RegisterNumberRequest n;
    n.set_business_number(kGlobexNumber);
    n.set_business_id("globex");
    v1::RegisterNumberResponse nr;
    As(&r);
    ASSERT_TRUE(server_->admin().RegisterNumber(&r, n, &nr).ok());
  }
  OptIn(E164(1));
  v1::PlanCampaignRequest mine = First();
  mine.mutable_customers()->add_digits(Digits(1));
  PlanResult r = Plan({mine}, "acme-token");
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.plan.send_now(), 1);
  v1::PlanCampaignRequest theirs = First(kGlobexNumber);
  theirs.mutable_customers()->add_digits(Digits(1));
  r = Plan({theirs}, "acme-token");
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << r.status.error_message();
  r = Plan({mine}, "no-such-token");
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  v1::ReserveCampaignRequest reserve;
  reserve.set_business_number(kGlobexNumber);
  reserve.mutable_template_message()->set_name("t");
  reserve.mutable_template_message()->set_language("en");
  reserve.mutable_customers()->add_digits(Digits(1));
  grpc::ClientContext c;
  As(&c, "acme-token");
  v1::ReserveCampaignResponse out;
  EXPECT_EQ(campaigns_->ReserveCampaign(&c, reserve, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  reserve.set_business_number(kNumber);
  grpc::ClientContext c2;
  As(&c2, "acme-token");
  grpc::Status s = campaigns_->ReserveCampaign(&c2, reserve, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.reserved(), 1);
}

TEST_F(CampaignTest, BadInputIsRefusedNamingTheFieldAndTheServerStaysUp) {
  Start();
  SetUpAcme(3);
  auto expect = [&](const std::vector<v1::PlanCampaignRequest>& msgs, const std::string& field) {
    const PlanResult r = Plan(msgs);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_NE(r.status.error_message().find(field), std::string::npos)
        << field << ": " << r.status.error_message();
  };
  v1::PlanCampaignRequest no_campaign;
  no_campaign.mutable_customers()->add_digits(Digits(1));
  expect({no_campaign}, "campaign");
  expect({}, "campaign");
  v1::PlanCampaignRequest m = First();
  m.mutable_customers()->add_digits(Digits(1));
  m.mutable_customers()->add_digits(12);  // Too short for any country.
  expect({m}, "customers[1]");
  m = First();
  v1::PlanCampaignRequest later;
  later.mutable_customers()->add_digits(Digits(1));
  later.mutable_customers()->add_e164("not a number");
  expect({m, later}, "customers[1]");
  expect({m, First()}, "campaign: only in the first message");
  m = First();
  m.mutable_campaign()->mutable_template_message()->clear_name();
  expect({m}, "campaign.template_message.name");
  m = First();
  m.mutable_campaign()->set_business_number("12x");
  expect({m}, "campaign.business_number");
  m = First();
  m.mutable_campaign()->set_start_unix_ms(kStartMs + 400LL * 24 * kHourMs);
  expect({m}, "campaign.start_unix_ms");
  m = First();
  m.set_step_ms(-1);
  expect({m}, "step_ms");
  m = First("+14155550199");
  EXPECT_EQ(Plan({m}).status.error_code(), grpc::StatusCode::NOT_FOUND);

  // Reservations: listed twice is bad input; more than the limit admits none.
  for (int i = 0; i < 5; ++i) OptIn(E164(i));
  v1::ReserveCampaignRequest reserve;
  reserve.set_business_number(kNumber);
  reserve.mutable_template_message()->set_name("t");
  reserve.mutable_template_message()->set_language("en");
  for (int i : {0, 1, 0}) reserve.mutable_customers()->add_digits(Digits(i));
  grpc::ClientContext c1;
  v1::ReserveCampaignResponse out;
  grpc::Status s = campaigns_->ReserveCampaign(&c1, reserve, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("customers[2]"), std::string::npos) << s.error_message();
  reserve.mutable_customers()->Clear();
  for (int i = 0; i < 5; ++i) reserve.mutable_customers()->add_digits(Digits(i));
  grpc::ClientContext c2;
  s = campaigns_->ReserveCampaign(&c2, reserve, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find(absl::StrCat("customers[3] ", E164(3), ": LIMIT_REACHED")),
            std::string::npos)
      << s.error_message();
  v1::NumberState st;
  ASSERT_TRUE(NumberStateOf(*server_, kNumber, &st).ok());
  EXPECT_EQ(st.used(), 0) << "a refused reservation took slots";
}

TEST_F(CampaignTest, JsonDoorAndPolicyctlGiveTheSamePlan) {
  Start();
  SetUpAcme(10);
  const std::string file = MakeTempDir("campaign_ctl") + "/customers.txt";
  std::ofstream f(file);
  f << "# spring sale\n";
  std::string json_customers;
  for (int i = 0; i < 25; ++i) {
    if (i < 20) OptIn(E164(i));
    f << E164(i) << "\n";
    absl::StrAppend(&json_customers, i ? "," : "", "\"", E164(i), "\"");
  }
  f.close();
  HttpClient http("http://127.0.0.1:" + std::to_string(server_->http_port()));
  HttpClient::Response h = http.Post(
      "/v1/planCampaign",
      absl::StrCat(R"({"campaign":{"businessNumber":")", kNumber,
                   R"(","templateMessage":{"name":"t","language":"en"}},"perCustomer":true,)",
                   R"("customers":{"e164":[)", json_customers, "]}}"));
  ASSERT_EQ(h.status, 200) << h.body;
  v1::PlannedCampaign planned;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(h.body, &planned).ok()) << h.body;
  EXPECT_EQ(planned.plan().send_now(), 10);
  EXPECT_EQ(planned.plan().wait(), 10);
  EXPECT_EQ(planned.plan().not_opted_in(), 5);
  EXPECT_EQ(planned.outcomes().digits_size(), 25);
  ASSERT_EQ(planned.plan().schedule_size(), 2);
  EXPECT_EQ(planned.plan().schedule(1).at_unix_ms(), kStartMs + 24 * kHourMs);
  // Bounded: more than 10,000 customers is refused.
  std::string many;
  for (int i = 0; i < 10001; ++i) absl::StrAppend(&many, i ? "," : "", Digits(i % 90) + i);
  h = http.Post("/v1/planCampaign",
                absl::StrCat(R"({"campaign":{"businessNumber":")", kNumber,
                             R"(","templateMessage":{"name":"t","language":"en"}},)",
                             R"("customers":{"digits":[)", many, "]}}"));
  EXPECT_EQ(h.status, 400) << h.body;
  EXPECT_NE(h.body.find("customers: at most 10000"), std::string::npos) << h.body;

  // policyctl plan prints the same figures.
  const std::string cmd = "cli/policyctl --server=" + server_->address() +
                          " plan --number=" + kNumber +
                          " --template_name=t --language=en --customers=" + file + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ASSERT_EQ(pclose(p), 0) << out;
  EXPECT_NE(out.find("send now:        10\n"), std::string::npos) << out;
  EXPECT_NE(out.find("wait:            10\n"), std::string::npos) << out;
  EXPECT_NE(out.find("excluded:        5 (not opted in 5)"), std::string::npos) << out;
  EXPECT_NE(out.find("2026-01-02 00:00:00.000 UTC        10"), std::string::npos) << out;

  // The JSON door reserves too: the first ten of the plan.
  std::string first_ten;
  for (int i = 0; i < 10; ++i) absl::StrAppend(&first_ten, i ? "," : "", "\"", E164(i), "\"");
  h = http.Post("/v1/reserveCampaign",
                absl::StrCat(R"({"businessNumber":")", kNumber,
                             R"(","templateMessage":{"name":"t","language":"en"},)",
                             R"("customers":{"e164":[)", first_ten, "]}}"));
  ASSERT_EQ(h.status, 200) << h.body;
  v1::NumberState st;
  ASSERT_TRUE(NumberStateOf(*server_, kNumber, &st).ok());
  EXPECT_EQ(st.used(), 10);
  EXPECT_EQ(st.pending(), 10);
}

// Reservations over gRPC from 8 threads, two campaigns wanting more than
// the limit together: never over it, each all or nothing.
TEST_F(CampaignTest, ReservationsRacingOverGrpcNeverPassTheLimit) {
  Start();
  SetUpAcme(100);
  for (int i = 0; i < 160; ++i) OptIn(E164(i));
  // Campaign A: customers 0-89, B: 70-159 (20 shared), in chunks of 10.
  std::vector<std::vector<int>> chunks;
  for (int k = 0; k < 9; ++k) {
    std::vector<int> a, b;
    for (int j = 0; j < 10; ++j) {
      a.push_back(k * 10 + j);
      b.push_back(70 + k * 10 + j);
    }
    chunks.push_back(a);
    chunks.push_back(b);
  }
  std::vector<int> result(chunks.size(), -1);
  std::atomic<size_t> next{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto stub = v1::PolicyCampaigns::NewStub(channel_);
      for (size_t k = next++; k < chunks.size(); k = next++) {
        v1::ReserveCampaignRequest r;
        r.set_business_number(kNumber);
        r.mutable_template_message()->set_name("t");
        r.mutable_template_message()->set_language("en");
        for (int i : chunks[k]) r.mutable_customers()->add_digits(Digits(i));
        grpc::ClientContext c;
        v1::ReserveCampaignResponse out;
        grpc::Status s = stub->ReserveCampaign(&c, r, &out);
        if (s.ok()) {
          result[k] = 1;
        } else if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
          result[k] = 0;
        } else {
          errors++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  std::set<int> holding;
  for (size_t k = 0; k < chunks.size(); ++k) {
    if (result[k] == 1) holding.insert(chunks[k].begin(), chunks[k].end());
  }
  v1::NumberState st;
  ASSERT_TRUE(NumberStateOf(*server_, kNumber, &st).ok());
  EXPECT_LE(st.used(), 100);
  EXPECT_EQ(st.used(), static_cast<int64_t>(holding.size()));
}

}  // namespace
}  // namespace wapolicy
