// A campaign plan over gRPC (PolicyCampaigns.PlanCampaign), timed from the
// stream's opening to its status: customers streamed in as packed digits, the
// plan, and (second round) every customer's outcome streamed back. Issue 16,
// point 5: at least 500,000 customers a second.
//
//   campaign_stream_load ADDR [CUSTOMERS] [REPS] [BATCH]
//
// Seeds the server first (business "campaign_load", number +14155550900, a
// marketing template, opt-ins for 29 of every 30 customers), which is
// idempotent, so a server can be reused. Start the server with a large
// enough --max_message_bytes for BATCH (default 10,000 customers a message,
// ~90 KB) and --max_batch for the seeding (10,000).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "proto/wapolicy/v1/campaign.grpc.pb.h"
#include "proto/wapolicy/v1/policy.grpc.pb.h"

using namespace wapolicy;
using Clock = std::chrono::steady_clock;

namespace {

constexpr char kNumber[] = "+14155550900";
uint64_t Customer(int i) { return 919700000000ULL + i; }

bool Ok(const grpc::Status& s, const char* what) {
  if (s.ok() || s.error_code() == grpc::StatusCode::ALREADY_EXISTS) return true;
  std::fprintf(stderr, "campaign_stream_load: %s: %s\n", what, s.error_message().c_str());
  return false;
}

bool Seed(const std::shared_ptr<grpc::Channel>& ch, int n) {
  auto admin = v1::PolicyAdmin::NewStub(ch);
  auto svc = v1::PolicyService::NewStub(ch);
  {
    grpc::ClientContext c;
    v1::UpsertBusinessRequest b;
    b.set_business_id("campaign_load");
    b.set_verified(true);
    v1::UpsertBusinessResponse out;
    if (!Ok(admin->UpsertBusiness(&c, b, &out), "UpsertBusiness")) return false;
  }
  {
    grpc::ClientContext c;
    v1::RegisterNumberRequest r;
    r.set_business_number(kNumber);
    r.set_business_id("campaign_load");
    v1::RegisterNumberResponse out;
    if (!Ok(admin->RegisterNumber(&c, r, &out), "RegisterNumber")) return false;
  }
  {
    grpc::ClientContext c;
    v1::Template t;
    t.set_business_id("campaign_load");
    t.set_name("promo");
    t.set_language("en_US");
    t.set_category(v1::MARKETING);
    t.set_status(v1::APPROVED);
    t.set_body("Spring sale");
    t.set_footer("Reply STOP to opt out");
    v1::PutTemplateResponse out;
    if (!Ok(admin->PutTemplate(&c, t, &out), "PutTemplate")) return false;
  }
  for (int i = 0; i < n;) {
    v1::EventBatchRequest batch;
    for (; i < n && batch.events_size() < 10000; ++i) {
      if (i % 30 == 0) continue;  // Not opted in.
      v1::EventRequest* e = batch.add_events();
      e->set_business_number(kNumber);
      e->set_customer("+" + std::to_string(Customer(i)));
      e->mutable_opt_in()->set_source(v1::WEBSITE);
    }
    grpc::ClientContext c;
    v1::EventBatchResponse out;
    if (!Ok(svc->ReportEvents(&c, batch, &out), "ReportEvents")) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: campaign_stream_load ADDR [CUSTOMERS] [REPS] [BATCH]\n");
    return 2;
  }
  const int n = argc > 2 ? std::atoi(argv[2]) : 1000000;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 3;
  const int batch = argc > 4 ? std::atoi(argv[4]) : 10000;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  auto ch = grpc::CreateCustomChannel(argv[1], grpc::InsecureChannelCredentials(), args);
  const auto seed_start = Clock::now();
  if (!Seed(ch, n)) return 1;
  std::printf("seeded %d customers in %.1f s\n", n,
              std::chrono::duration<double>(Clock::now() - seed_start).count());
  // The messages, built before the clock starts (a pipeline has its list).
  std::vector<v1::PlanCampaignRequest> msgs((n + batch - 1) / batch + 1);
  v1::CampaignSpec* spec = msgs[0].mutable_campaign();
  spec->set_business_number(kNumber);
  spec->mutable_template_message()->set_name("promo");
  spec->mutable_template_message()->set_language("en_US");
  msgs[0].set_step_ms(60000);
  for (int i = 0; i < n; ++i) msgs[1 + i / batch].mutable_customers()->add_digits(Customer(i));
  auto stub = v1::PolicyCampaigns::NewStub(ch);
  for (bool per_customer : {false, true}) {
    msgs[0].set_per_customer(per_customer);
    double best = 1e9;
    for (int r = 0; r < reps; ++r) {
      const auto start = Clock::now();
      grpc::ClientContext c;
      auto stream = stub->PlanCampaign(&c);
      for (const auto& m : msgs) {
        if (!stream->Write(m)) break;
      }
      stream->WritesDone();
      v1::PlanCampaignResponse resp;
      v1::CampaignPlan plan;
      int64_t outcomes = 0;
      while (stream->Read(&resp)) {
        if (resp.has_outcomes()) outcomes += resp.outcomes().digits_size();
        if (resp.has_plan()) plan = resp.plan();
      }
      grpc::Status s = stream->Finish();
      const double secs = std::chrono::duration<double>(Clock::now() - start).count();
      if (!Ok(s, "PlanCampaign")) return 1;
      best = std::min(best, secs);
      std::printf("plan of %d customers over gRPC%s: %.3f s, %.0f customers/s "
                  "(send now %lld, wait %lld, not opted in %lld; %lld outcomes back)\n",
                  n, per_customer ? " with per-customer outcomes" : "", secs, n / secs,
                  static_cast<long long>(plan.send_now()), static_cast<long long>(plan.wait()),
                  static_cast<long long>(plan.not_opted_in()), static_cast<long long>(outcomes));
    }
    std::printf("best: %.3f s, %.0f customers/s\n", best, n / best);
  }
  return 0;
}
