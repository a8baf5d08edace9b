#include "cli/campaign_commands.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "proto/wapolicy/v1/campaign.grpc.pb.h"

ABSL_DECLARE_FLAG(std::string, number);
ABSL_DECLARE_FLAG(std::string, template_name);
ABSL_DECLARE_FLAG(std::string, name);
ABSL_DECLARE_FLAG(std::string, language);
ABSL_DECLARE_FLAG(bool, json);
ABSL_FLAG(std::string, customers, "",
          "File of customers, one E.164 number a line (plan, reserve).");
ABSL_FLAG(absl::Time, start, absl::InfinitePast(),
          "When the campaign starts, RFC 3339 (plan; default now).");
ABSL_FLAG(absl::Duration, step, absl::Minutes(1),
          "The schedule's resolution: admissions less than this after a step's first join it "
          "(plan).");
ABSL_FLAG(bool, per_customer, false, "Print each customer's outcome too (plan).");

namespace wapolicy {
namespace {

constexpr int kBatch = 10000;  // Customers per stream message.

std::string When(int64_t ms) {
  return ms == 0 ? "-"
                 : absl::FormatTime("%Y-%m-%d %H:%M:%E3S UTC", absl::FromUnixMillis(ms),
                                    absl::UTCTimeZone());
}
std::string Limit(int64_t limit) { return limit < 0 ? "unlimited" : absl::StrCat(limit); }

int Fail(const std::string& why) {
  std::fprintf(stderr, "policyctl: %s\n", why.c_str());
  return 2;
}

int Report(const grpc::Status& s) {
  if (s.ok()) return 0;
  std::fprintf(stderr, "policyctl: %s: %s\n",
               absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())).c_str(),
               s.error_message().c_str());
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ? 3 : 1;
}

void PrintJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  std::printf("%s\n", out.c_str());
}

// The file's numbers, one a line; false (with `error`) if it cannot be read.
bool ReadCustomers(const std::string& path, std::vector<std::string>* out, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = absl::StrCat("--customers: cannot read ", path);
    return false;
  }
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view v = absl::StripAsciiWhitespace(line);
    if (v.empty() || v[0] == '#') continue;
    out->emplace_back(v);
  }
  return true;
}

v1::TemplateRef TemplateOf() {
  v1::TemplateRef t;
  t.set_name(absl::GetFlag(FLAGS_template_name).empty() ? absl::GetFlag(FLAGS_name)
                                                        : absl::GetFlag(FLAGS_template_name));
  t.set_language(absl::GetFlag(FLAGS_language));
  return t;
}

void PrintOutcomes(const v1::CustomerOutcomes& o) {
  for (int i = 0; i < o.digits_size(); ++i) {
    std::printf("  +%llu  %s  %s  admit %s  send %s\n",
                static_cast<unsigned long long>(o.digits(i)),
                v1::CampaignOutcome_Name(o.outcome(i)).c_str(),
                v1::ReasonCode_Name(o.reason(i)).c_str(), When(o.admit_at_unix_ms(i)).c_str(),
                When(o.send_at_unix_ms(i)).c_str());
  }
}

void PrintPlan(const v1::CampaignPlan& p) {
  std::printf("campaign from %s: %lld customers listed, %lld listed twice\n",
              When(p.start_unix_ms()).c_str(), (long long)p.customers(),
              (long long)p.duplicates());
  std::printf("  limit:           %s, %lld used at the start; throughput %s\n",
              Limit(p.limit()).c_str(), (long long)p.used(),
              p.throughput_mps() ? absl::StrCat(p.throughput_mps(), "/s").c_str() : "off");
  std::printf("  send now:        %lld\n", (long long)p.send_now());
  std::printf("  in conversation: %lld\n", (long long)p.in_conversation());
  std::printf("  wait:            %lld%s\n", (long long)p.wait(),
              p.unscheduled() ? absl::StrCat(" (", p.unscheduled(), " never get a slot)").c_str()
                              : "");
  const std::pair<const char*, int64_t> excluded[] = {
      {"not opted in", p.not_opted_in()},
      {"opted out", p.opted_out()},
      {"topic not consented", p.topic_not_consented()},
      {"marketing held", p.marketing_held()},
      {"US marketing", p.us_marketing()},
      {"frequency capped", p.frequency_capped()},
      {"template not sendable", p.template_not_sendable()},
      {"account disabled", p.account_disabled()},
      {"other", p.other()}};
  std::string ex;
  int64_t total = 0;
  for (const auto& [what, n] : excluded) {
    if (n == 0) continue;
    total += n;
    absl::StrAppend(&ex, ex.empty() ? "" : ", ", what, " ", n);
  }
  std::printf("  excluded:        %lld%s\n", (long long)total,
              ex.empty() ? "" : absl::StrCat(" (", ex, ")").c_str());
  std::printf("schedule:\n");
  for (const v1::CampaignStep& s : p.schedule()) {
    std::printf("  %s  %8lld  (last goes %s; limit %s)\n", When(s.at_unix_ms()).c_str(),
                (long long)s.count(), When(s.last_send_at_unix_ms()).c_str(),
                Limit(s.limit()).c_str());
  }
  if (p.schedule_truncated()) std::printf("  (later steps folded into the last)\n");
  std::printf("last goes:         %s\n", When(p.last_send_at_unix_ms()).c_str());
  if (p.upgrades_size() == 0) std::printf("upgrade:           none in the forecast\n");
  for (const v1::CampaignUpgrade& u : p.upgrades()) {
    std::printf("upgrade:           %s -> %s at %s (%s)%s\n", Limit(u.limit_before()).c_str(),
                Limit(u.limit_after()).c_str(), When(u.applies_at_unix_ms()).c_str(),
                u.earned_at_unix_ms() ? absl::StrCat("threshold reached ",
                                                     When(u.earned_at_unix_ms()))
                                            .c_str()
                                      : "scheduled before the campaign",
                u.raises_enforced_limit() ? "" : "; the platform's limit stays enforced");
  }
}

int Plan(v1::PolicyCampaigns::Stub& stub, grpc::ClientContext* ctx,
         const std::vector<std::string>& customers) {
  v1::PlanCampaignRequest first;
  v1::CampaignSpec* spec = first.mutable_campaign();
  spec->set_business_number(absl::GetFlag(FLAGS_number));
  *spec->mutable_template_message() = TemplateOf();
  if (absl::GetFlag(FLAGS_start) != absl::InfinitePast()) {
    spec->set_start_unix_ms(absl::ToUnixMillis(absl::GetFlag(FLAGS_start)));
  }
  first.set_per_customer(absl::GetFlag(FLAGS_per_customer));
  first.set_step_ms(std::max<int64_t>(1, absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_step))));
  auto stream = stub.PlanCampaign(ctx);
  size_t next = 0;
  v1::PlanCampaignRequest msg = first;
  do {
    for (int k = 0; k < kBatch && next < customers.size(); ++k) {
      msg.mutable_customers()->add_e164(customers[next++]);
    }
    if (!stream->Write(msg)) break;  // The server answered early (an error): read it below.
    msg.Clear();
  } while (next < customers.size());
  stream->WritesDone();
  v1::PlanCampaignResponse resp;
  v1::CampaignPlan plan;
  while (stream->Read(&resp)) {
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
    } else if (resp.has_outcomes()) {
      PrintOutcomes(resp.outcomes());
    } else if (resp.has_plan()) {
      plan = resp.plan();
    }
  }
  grpc::Status s = stream->Finish();
  if (!s.ok()) return Report(s);
  if (!absl::GetFlag(FLAGS_json)) PrintPlan(plan);
  return 0;
}

int Reserve(v1::PolicyCampaigns::Stub& stub, grpc::ClientContext* ctx,
            const std::vector<std::string>& customers) {
  v1::ReserveCampaignRequest req;
  req.set_business_number(absl::GetFlag(FLAGS_number));
  *req.mutable_template_message() = TemplateOf();
  for (const std::string& c : customers) req.mutable_customers()->add_e164(c);
  v1::ReserveCampaignResponse out;
  grpc::Status s = stub.ReserveCampaign(ctx, req, &out);
  if (!s.ok()) return Report(s);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(out);
    return 0;
  }
  int64_t last = 0;
  for (int64_t at : out.send_at_unix_ms()) last = std::max(last, at);
  std::printf("reserved %lld new conversations, %lld inside open ones; %lld used of %s\n",
              (long long)out.reserved(), (long long)out.in_conversation(), (long long)out.used(),
              Limit(out.limit()).c_str());
  std::printf("  last goes:   %s\n", When(last).c_str());
  std::printf("  slots held until %s unless delivered\n",
              When(out.slots_held_until_unix_ms()).c_str());
  return 0;
}

}  // namespace

int RunCampaignCommand(const std::string& cmd, const std::shared_ptr<grpc::Channel>& channel,
                       grpc::ClientContext* ctx) {
  if (absl::GetFlag(FLAGS_customers).empty()) return Fail(cmd + " needs --customers=FILE");
  std::vector<std::string> customers;
  std::string error;
  if (!ReadCustomers(absl::GetFlag(FLAGS_customers), &customers, &error)) return Fail(error);
  auto stub = v1::PolicyCampaigns::NewStub(channel);
  return cmd == "plan" ? Plan(*stub, ctx, customers) : Reserve(*stub, ctx, customers);
}

}  // namespace wapolicy
