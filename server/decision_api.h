// The decision log's API face, shared by every door (gRPC GetDecision, the
// JSON GET /v1/decisions/{id}): parses the id, looks the decision up, lets a
// business see only its own numbers' decisions, and translates the record
// to the proto. Also the form of the ids the decision path hands out.
//
//   v1::LoggedDecision out;
//   grpc::Status s = GetDecisionFor(log, engine, caller, request, &out);
//   // NOT_FOUND for another business's decision, exactly as for a missing one.
#ifndef WAPOLICY_SERVER_DECISION_API_H_
#define WAPOLICY_SERVER_DECISION_API_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "policy/policy_engine.h"
#include "proto/wapolicy/v1/policy.pb.h"
#include "server/business_route.h"
#include "server/decision_log.h"
#include "server/token_authority.h"

namespace wapolicy {

// A decision log id as Decision.decision_id carries it: its decimal digits.
void FormatDecisionId(uint64_t id, std::string* out);
// INVALID_ARGUMENT naming decision_id unless it is 1 to 20 digits within uint64.
absl::StatusOr<uint64_t> ParseDecisionId(absl::string_view text);

// `log` null: FAILED_PRECONDITION (the server runs with --decision_log=false).
// With `route` and a caller whose x-wapolicy-business names a business, a
// decision of another business's number is INVALID_ARGUMENT naming it
// (BusinessRoute::MatchNumber).
grpc::Status GetDecisionFor(const DecisionLog* log, PolicyEngine* engine, const Caller& caller,
                            const v1::GetDecisionRequest& req, v1::LoggedDecision* out,
                            const BusinessRoute* route = nullptr);

void ToProto(const DecisionRecord& r, PolicyEngine* engine, v1::LoggedDecision* out);

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_DECISION_API_H_
