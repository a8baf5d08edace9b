// The JSON face of the API: the same calls as gRPC, in the proto3 JSON
// mapping, with the same bearer tokens and the same errors (HTTP statuses as
// grpc-gateway maps gRPC codes).
//
//   POST /v1/check            CheckRequest        -> Decision
//   POST /v1/checkBatch       CheckBatchRequest   -> CheckBatchResponse
//   POST /v1/events           EventRequest        -> EventResponse
//   POST /v1/events:batch     EventBatchRequest   -> EventBatchResponse
//   GET  /v1/numbers/{number} (E.164, '+' optional) -> NumberState
//   GET  /v1/state-events?from=&limit=             -> ListStateEventsResponse
//   GET  /v1/numbers          {"numbers": [NumberState...]}: the caller's (all
//                             for an admin), by business then number
//   POST /v1/planCampaign     PlanCampaignRequest (one message, at most
//                             10,000 customers) -> PlannedCampaign
//   POST /v1/reserveCampaign  ReserveCampaignRequest -> ReserveCampaignResponse
//   GET  /v1/decisions/{id}   (Decision.decisionId) -> LoggedDecision
//   POST /v1/admin/{upsertBusiness, registerNumber, syncNumber, putTemplate,
//        removeTemplate, updateTemplateQuality, getTemplate, advanceClock,
//        serverInfo}          the PolicyAdmin calls (admin token)
//
//   JsonApi api(&service, &admin);
//   HttpServer::Start(options, {{"/v1", [&](const HttpRequest& r) { return api.Handle(r); }}});
//
// Unknown request fields are refused (400 naming the field): a misspelt
// field must not pass as unset. Responses print every field, defaults too.
// The `X-Wapolicy-Business` header is checked as gRPC's x-wapolicy-business
// (server/business_route.h): against the request's numbers and business
// ids, required with --require_business_header, the portfolio gate
// consulted (its refusals: 421 / 503, server/http/http_errors.h); the lists
// (/v1/numbers, /v1/state-events) are narrowed to its business.
#ifndef WAPOLICY_SERVER_HTTP_JSON_API_H_
#define WAPOLICY_SERVER_HTTP_JSON_API_H_

#include "absl/status/statusor.h"
#include "server/campaign_service.h"
#include "server/events_service.h"
#include "server/http/http_server.h"
#include "server/policy_service.h"
#include "server/token_authority.h"

namespace wapolicy {

class JsonApi {
 public:
  // Both must outlive the JsonApi.
  JsonApi(PolicyServiceImpl* service, PolicyAdminImpl* admin) : service_(service), admin_(admin) {}

  HttpResponse Handle(const HttpRequest& req);
  // Serves /v1/state-events from `events` (may stay unset: no such path).
  void set_events(EventsServiceImpl* events) { events_ = events; }
  // Serves /v1/planCampaign and /v1/reserveCampaign (may stay unset).
  void set_campaigns(CampaignServiceImpl* campaigns) { campaigns_ = campaigns; }
  static constexpr int64_t kMaxPlanCustomers = 10000;

  // The caller behind `Authorization: Bearer <token>` (an admin when the
  // server runs without tokens); for the listener's other routes too.
  absl::StatusOr<Caller> Who(const HttpRequest& req) const;

 private:
  // `caller`: named by the route (its x-wapolicy-business checked per call).
  HttpResponse Admin(absl::string_view method, const HttpRequest& req, const Caller& caller);
  HttpResponse StateEvents(const Caller& caller, const HttpRequest& req);

  PolicyServiceImpl* service_;
  PolicyAdminImpl* admin_;
  EventsServiceImpl* events_ = nullptr;
  CampaignServiceImpl* campaigns_ = nullptr;
};

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_HTTP_JSON_API_H_
