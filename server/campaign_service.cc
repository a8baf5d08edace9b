#include "server/campaign_service.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/proto_convert.h"

namespace wapolicy {
namespace {

int64_t Ms(int64_t us) { return us == 0 ? 0 : us / 1000; }

grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

// A customer given as its digits: read as the same digits written with a
// '+' (the canonical fast path; another form is canonicalised as Check's).
absl::StatusOr<PhoneNumber> FromDigits(uint64_t digits) {
  const absl::AlphaNum text(digits);  // Formatted in place.
  if (std::optional<PhoneNumber> n = PhoneNumber::ParseCanonical(text.Piece())) return *n;
  return PhoneNumber::Parse(text.Piece());
}

v1::CampaignOutcome ToProto(CampaignOutcome o) {
  // The proto's values are the core's plus one (0 is UNSPECIFIED there).
  return static_cast<v1::CampaignOutcome>(static_cast<int>(o) + 1);
}

}  // namespace

absl::Status AppendCustomers(const v1::CustomerList& list, int64_t max,
                             std::vector<PhoneNumber>* out) {
  const int64_t total = static_cast<int64_t>(out->size()) + list.digits_size() + list.e164_size();
  if (total > max) {
    return absl::InvalidArgumentError(absl::StrCat("customers: at most ", max, ", got ", total));
  }
  if (static_cast<int64_t>(out->capacity()) < total) {
    out->reserve(std::max<size_t>(total, 2 * out->capacity()));
  }
  for (uint64_t d : list.digits()) {
    absl::StatusOr<PhoneNumber> n = FromDigits(d);
    if (!n.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("customers[", out->size(), "]: ", n.status().message()));
    }
    out->push_back(*n);
  }
  for (const std::string& s : list.e164()) {
    absl::StatusOr<PhoneNumber> n = PhoneNumber::Parse(s);
    if (!n.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("customers[", out->size(), "]: ", n.status().message()));
    }
    out->push_back(*n);
  }
  return absl::OkStatus();
}

void ToProto(const CampaignPlan& plan, v1::CampaignPlan* out) {
  out->set_start_unix_ms(Ms(plan.start_us));
  out->set_limit(plan.limit);
  out->set_used(plan.used);
  out->set_throughput_mps(plan.throughput_mps);
  out->set_customers(plan.customers);
  out->set_duplicates(plan.count(CampaignOutcome::kDuplicate));
  out->set_send_now(plan.count(CampaignOutcome::kSendNow));
  out->set_in_conversation(plan.count(CampaignOutcome::kInConversation));
  out->set_wait(plan.count(CampaignOutcome::kWait));
  out->set_not_opted_in(plan.count(CampaignOutcome::kNotOptedIn));
  out->set_opted_out(plan.count(CampaignOutcome::kOptedOut));
  out->set_topic_not_consented(plan.count(CampaignOutcome::kTopic));
  out->set_marketing_held(plan.count(CampaignOutcome::kMarketingHeld));
  out->set_us_marketing(plan.count(CampaignOutcome::kUsMarketing));
  out->set_frequency_capped(plan.count(CampaignOutcome::kFrequencyCapped));
  out->set_template_not_sendable(plan.count(CampaignOutcome::kTemplate));
  out->set_account_disabled(plan.count(CampaignOutcome::kAccountDisabled));
  out->set_other(plan.count(CampaignOutcome::kOther));
  for (const CampaignStep& s : plan.schedule) {
    v1::CampaignStep* p = out->add_schedule();
    p->set_at_unix_ms(Ms(s.at_us));
    p->set_count(s.count);
    p->set_last_send_at_unix_ms(Ms(s.last_send_at_us));
    p->set_limit(s.limit);
  }
  out->set_schedule_truncated(plan.schedule_truncated);
  out->set_last_send_at_unix_ms(Ms(plan.last_send_at_us));
  out->set_unscheduled(plan.unscheduled);
  out->set_reaches_upgrade_threshold(plan.reaches_upgrade_threshold());
  if (!plan.upgrades.empty()) {
    out->set_next_tier_at_unix_ms(Ms(plan.upgrades.front().applies_at_us));
    out->set_next_limit(plan.upgrades.front().limit_after);
  }
  for (const CampaignUpgrade& u : plan.upgrades) {
    v1::CampaignUpgrade* p = out->add_upgrades();
    p->set_earned_at_unix_ms(Ms(u.earned_at_us));
    p->set_applies_at_unix_ms(Ms(u.applies_at_us));
    p->set_limit_before(u.limit_before);
    p->set_limit_after(u.limit_after);
    p->set_raises_enforced_limit(u.raises_enforced_limit);
  }
}

void ToProto(const CampaignPlan& plan, size_t begin, size_t end, v1::CustomerOutcomes* out) {
  end = std::min(end, plan.customer_plans.size());
  const int n = static_cast<int>(end - begin);
  out->set_first_index(begin);
  out->mutable_digits()->Reserve(n);
  out->mutable_outcome()->Reserve(n);
  out->mutable_reason()->Reserve(n);
  out->mutable_admit_at_unix_ms()->Reserve(n);
  out->mutable_send_at_unix_ms()->Reserve(n);
  for (size_t i = begin; i < end; ++i) {
    const CampaignCustomer& c = plan.customer_plans[i];
    out->add_digits(c.customer);
    out->add_outcome(ToProto(c.outcome));
    out->add_reason(c.outcome == CampaignOutcome::kDuplicate  // Not decided.
                        ? v1::REASON_CODE_UNSPECIFIED
                        : static_cast<v1::ReasonCode>(static_cast<int>(c.reason) + 1));
    out->add_admit_at_unix_ms(Ms(c.admit_at_us));
    out->add_send_at_unix_ms(Ms(c.send_at_us));
  }
}

absl::StatusOr<Caller> CampaignServiceImpl::Who(const grpc::ServerContext* ctx) const {
  absl::StatusOr<Caller> caller = Caller{true, ""};
  if (policy_->auth() != nullptr) caller = policy_->auth()->Authenticate(ctx->client_metadata());
  if (!caller.ok()) return caller;
  if (absl::Status s = policy_->route().Name(*ctx, &*caller); !s.ok()) return s;
  return caller;
}

absl::StatusOr<CampaignRequest> CampaignServiceImpl::SpecOf(const Caller& caller,
                                                            const v1::PlanCampaignRequest& req) {
  if (!req.has_campaign()) {
    return absl::InvalidArgumentError("campaign: the first message must name the campaign");
  }
  const v1::CampaignSpec& spec = req.campaign();
  CampaignRequest r;
  absl::StatusOr<PhoneNumber> number =
      ParsePhoneField("business_number", spec.business_number(), "campaign.");
  if (!number.ok()) return number.status();
  if (spec.template_message().name().empty()) {
    return absl::InvalidArgumentError("campaign.template_message.name: required");
  }
  if (spec.template_message().language().empty()) {
    return absl::InvalidArgumentError("campaign.template_message.language: required");
  }
  constexpr int64_t kMaxMs = 253402300799999;  // 9999-12-31: no overflow in microseconds.
  if (spec.start_unix_ms() < 0 || spec.start_unix_ms() > kMaxMs) {
    return absl::InvalidArgumentError("campaign.start_unix_ms: at most a year from now");
  }
  if (req.step_ms() < 0 || req.step_ms() > kMaxMs) {
    return absl::InvalidArgumentError("step_ms: must not be negative");
  }
  if (absl::Status s = policy_->MayUseNumber(caller, *number); !s.ok()) return s;
  r.business_number = *number;
  r.template_name = spec.template_message().name();
  r.template_language = spec.template_message().language();
  r.start_us = spec.start_unix_ms() * 1000;
  r.per_customer = req.per_customer();
  r.step_us = req.step_ms() == 0 ? 1000000 : req.step_ms() * 1000;
  return r;
}

namespace {

// The engine's refusals of a campaign's fields, named as the API names them.
grpc::Status CampaignError(const absl::Status& s) {
  absl::string_view m = s.message();
  if (s.code() == absl::StatusCode::kInvalidArgument && absl::StartsWith(m, "start:")) {
    return Invalid(absl::StrCat("campaign.start_unix_ms:", m.substr(6)));
  }
  return ToGrpc(s);
}

}  // namespace

grpc::Status CampaignServiceImpl::PlanCampaign(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<v1::PlanCampaignResponse, v1::PlanCampaignRequest>* stream) {
  InflightLimiter::Slot slot = policy_->TryAdmit();
  if (!slot) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "server busy: too many calls in flight; retry with backoff");
  }
  absl::StatusOr<Caller> caller = Who(ctx);
  if (!caller.ok()) return ToGrpc(caller.status());
  v1::PlanCampaignRequest msg;
  if (!stream->Read(&msg)) return Invalid("campaign: the first message must name the campaign");
  if (absl::Status s = policy_->route().Check(*caller, msg); !s.ok()) {
    return BusinessRoute::Refuse(ctx, s);
  }
  absl::StatusOr<CampaignRequest> req = SpecOf(*caller, msg);
  if (!req.ok()) return ToGrpc(req.status());
  std::vector<PhoneNumber> customers;
  if (absl::Status s = AppendCustomers(msg.customers(), max_customers_, &customers); !s.ok()) {
    return ToGrpc(s);
  }
  while (stream->Read(&msg)) {
    if (msg.has_campaign()) return Invalid("campaign: only in the first message");
    if (absl::Status s = AppendCustomers(msg.customers(), max_customers_, &customers); !s.ok()) {
      return ToGrpc(s);
    }
  }
  if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  absl::StatusOr<CampaignPlan> plan = policy_->engine()->PlanCampaign(*req, customers);
  if (!plan.ok()) return CampaignError(plan.status());
  v1::PlanCampaignResponse out;
  for (size_t i = 0; i < plan->customer_plans.size(); i += kOutcomesPerMessage) {
    out.Clear();
    ToProto(*plan, i, i + kOutcomesPerMessage, out.mutable_outcomes());
    if (!stream->Write(out)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  }
  out.Clear();
  ToProto(*plan, out.mutable_plan());
  stream->Write(out);
  return grpc::Status::OK;
}

grpc::Status CampaignServiceImpl::PlanFor(const Caller& caller,
                                          const v1::PlanCampaignRequest& req,
                                          int64_t max_customers, v1::PlannedCampaign* out) {
  absl::StatusOr<CampaignRequest> r = SpecOf(caller, req);
  if (!r.ok()) return ToGrpc(r.status());
  std::vector<PhoneNumber> customers;
  if (absl::Status s = AppendCustomers(req.customers(), max_customers, &customers); !s.ok()) {
    return ToGrpc(s);
  }
  absl::StatusOr<CampaignPlan> plan = policy_->engine()->PlanCampaign(*r, customers);
  if (!plan.ok()) return CampaignError(plan.status());
  ToProto(*plan, out->mutable_plan());
  if (r->per_customer) ToProto(*plan, 0, plan->customer_plans.size(), out->mutable_outcomes());
  return grpc::Status::OK;
}

grpc::Status CampaignServiceImpl::ReserveCampaign(grpc::ServerContext* ctx,
                                                  const v1::ReserveCampaignRequest* req,
                                                  v1::ReserveCampaignResponse* out) {
  InflightLimiter::Slot slot = policy_->TryAdmit();
  if (!slot) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "server busy: too many calls in flight; retry with backoff");
  }
  absl::StatusOr<Caller> caller = Who(ctx);
  if (!caller.ok()) return ToGrpc(caller.status());
  if (absl::Status s = policy_->route().Check(*caller, *req); !s.ok()) {
    return BusinessRoute::Refuse(ctx, s);
  }
  return ReserveFor(*caller, *req, out);
}

grpc::Status CampaignServiceImpl::ReserveFor(const Caller& caller,
                                             const v1::ReserveCampaignRequest& req,
                                             v1::ReserveCampaignResponse* out) {
  v1::PlanCampaignRequest as_plan;  // The same fields, checked the same way.
  v1::CampaignSpec* spec = as_plan.mutable_campaign();
  spec->set_business_number(req.business_number());
  *spec->mutable_template_message() = req.template_message();
  absl::StatusOr<CampaignRequest> r = SpecOf(caller, as_plan);
  if (!r.ok()) {  // Named as this request names them.
    std::string m(r.status().message());
    if (absl::StartsWith(m, "campaign.")) m.erase(0, 9);
    return grpc::Status(static_cast<grpc::StatusCode>(r.status().code()), m);
  }
  std::vector<PhoneNumber> customers;
  if (absl::Status s = AppendCustomers(req.customers(), kMaxReservation, &customers); !s.ok()) {
    return ToGrpc(s);
  }
  absl::StatusOr<CampaignReservation> res = policy_->engine()->ReserveCampaign(*r, customers);
  if (!res.ok()) return ToGrpc(res.status());
  out->set_reserved(res->reserved);
  out->set_in_conversation(res->in_conversation);
  out->mutable_send_at_unix_ms()->Reserve(static_cast<int>(res->send_at_us.size()));
  for (int64_t at : res->send_at_us) out->add_send_at_unix_ms(Ms(at));
  out->set_limit(res->limit);
  out->set_used(res->used);
  out->set_slots_held_until_unix_ms(Ms(res->slots_held_until_us));
  return grpc::Status::OK;
}

}  // namespace wapolicy
