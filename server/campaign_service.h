// The gRPC face of campaign plans and reservations (policy/campaign_plan.h):
// the PolicyCampaigns service (proto/wapolicy/v1/campaign.proto).
//  - PlanCampaign, a bidirectional stream: the first message names the
//    campaign, customers come in batches (packed digits, or strings), and
//    once the client half-closes the server plans them in one engine call
//    and streams back the per-customer outcomes (if asked) and the plan.
//    Customers are collected before the engine is asked, so the shard's
//    lock is held for the plan's work only, never while the network is read.
//  - ReserveCampaign, unary: all or nothing (FAILED_PRECONDITION naming the
//    first refused).
// A business token may plan and reserve on its own numbers only (the rule
// of PolicyServiceImpl::MayUse); calls count against the same in-flight
// bound; x-wapolicy-business is checked by the policy service's route
// (server/business_route.h; the plan's first message names the number).
// Sync API: a plan holds one of gRPC's sync threads while it reads.
//
//   CampaignServiceImpl campaigns(&service);
//   builder.RegisterService(&campaigns);
#ifndef WAPOLICY_SERVER_CAMPAIGN_SERVICE_H_
#define WAPOLICY_SERVER_CAMPAIGN_SERVICE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "policy/campaign_plan.h"
#include "proto/wapolicy/v1/campaign.grpc.pb.h"
#include "server/policy_service.h"

namespace wapolicy {

class CampaignServiceImpl final : public v1::PolicyCampaigns::Service {
 public:
  // Outcomes streamed back per message.
  static constexpr int kOutcomesPerMessage = 32768;
  static constexpr int kMaxReservation = 100000;

  // `policy` must outlive it (its engine, tokens and in-flight bound are
  // used). `max_customers` bounds one plan's customers.
  explicit CampaignServiceImpl(PolicyServiceImpl* policy, int64_t max_customers = 10000000)
      : policy_(policy), max_customers_(max_customers) {}

  grpc::Status PlanCampaign(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::PlanCampaignResponse, v1::PlanCampaignRequest>* stream)
      override;
  grpc::Status ReserveCampaign(grpc::ServerContext* ctx, const v1::ReserveCampaignRequest* req,
                               v1::ReserveCampaignResponse* out) override;

  // The calls for a caller another door (HTTP) identified and admitted: a
  // plan from one message (customers at most `max_customers`).
  grpc::Status PlanFor(const Caller& caller, const v1::PlanCampaignRequest& req,
                       int64_t max_customers, v1::PlannedCampaign* out);
  grpc::Status ReserveFor(const Caller& caller, const v1::ReserveCampaignRequest& req,
                          v1::ReserveCampaignResponse* out);

 private:
  absl::StatusOr<Caller> Who(const grpc::ServerContext* ctx) const;
  // The campaign of a first message, checked (fields named "campaign.*").
  absl::StatusOr<CampaignRequest> SpecOf(const Caller& caller, const v1::PlanCampaignRequest& req);
  PolicyServiceImpl* const policy_;
  const int64_t max_customers_;
};

// Appends `list`'s customers (digits, then strings) to `out`; INVALID_ARGUMENT
// naming customers[i] (i counted from the first customer of the plan) for a
// number that is not E.164, or `customers` past `max`.
absl::Status AppendCustomers(const v1::CustomerList& list, int64_t max,
                             std::vector<PhoneNumber>* out);
void ToProto(const CampaignPlan& plan, v1::CampaignPlan* out);
// Customers [begin, end) of plan.customer_plans.
void ToProto(const CampaignPlan& plan, size_t begin, size_t end, v1::CustomerOutcomes* out);

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_CAMPAIGN_SERVICE_H_
