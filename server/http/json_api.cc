#include "server/http/json_api.h"

#include <algorithm>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "server/http/http_errors.h"

namespace wapolicy {
namespace {

namespace pbu = google::protobuf::util;

grpc::Status BadRequest(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

// The body as `msg` (an empty body is an empty message).
grpc::Status Parse(const HttpRequest& req, google::protobuf::Message* msg) {
  if (req.body.empty()) return grpc::Status::OK;
  pbu::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto s = pbu::JsonStringToMessage({req.body.data(), req.body.size()}, msg, options);
  if (!s.ok()) {
    return BadRequest(
        absl::StrCat("body: not a ", msg->GetTypeName(), ": ", s.message().ToString()));
  }
  return grpc::Status::OK;
}

HttpResponse Reply(const grpc::Status& s, const google::protobuf::Message& out) {
  if (!s.ok()) return ErrorResponse(s);
  pbu::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  if (const auto p = pbu::MessageToJsonString(out, &json, options); !p.ok()) {
    return ErrorResponse(
        absl::InternalError(absl::StrCat("printing the answer: ", p.message().ToString())));
  }
  return HttpResponse::Json(200, std::move(json));
}

// {"numbers": [NumberState, ...]}: each printed as Reply prints one (no
// wrapper message in the proto, so the gRPC API is unchanged).
HttpResponse ReplyNumbers(const grpc::Status& s,
                          const google::protobuf::RepeatedPtrField<v1::NumberState>& numbers) {
  if (!s.ok()) return ErrorResponse(s);
  pbu::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json = "{\"numbers\":[";
  for (int i = 0; i < numbers.size(); ++i) {
    if (i > 0) json += ',';
    std::string one;
    if (const auto p = pbu::MessageToJsonString(numbers.Get(i), &one, options); !p.ok()) {
      return ErrorResponse(
          absl::InternalError(absl::StrCat("printing the answer: ", p.message().ToString())));
    }
    json += one;
  }
  json += "]}";
  return HttpResponse::Json(200, std::move(json));
}

HttpResponse MethodNotAllowed(absl::string_view want) {
  HttpResponse r = ErrorResponse(
      grpc::Status(grpc::StatusCode::UNIMPLEMENTED, absl::StrCat("method: use ", want)));
  r.status = 405;
  r.headers.emplace_back("Allow", std::string(want));
  return r;
}

HttpResponse NotFound(const HttpRequest& req) {
  return ErrorResponse(
      grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("path: no such call: ", req.path)));
}

// What a call concerning a business is checked with before it runs (the
// route's x-wapolicy-business rule and gate); null for node-wide calls.
struct Routed {
  const BusinessRoute& route;
  const Caller& caller;
};

// Parses the body into Req, checks it with `routed` (if any), runs `call`,
// prints Resp.
template <typename Req, typename Resp, typename Call>
HttpResponse Unary(const HttpRequest& req, const Routed* routed, Call call) {
  Req in;
  Resp out;
  if (grpc::Status s = Parse(req, &in); !s.ok()) return ErrorResponse(s);
  if (routed != nullptr) {
    if (absl::Status s = routed->route.Check(routed->caller, in); !s.ok()) {
      return ErrorResponse(s);
    }
  }
  return Reply(call(in, &out), out);
}

// The x-wapolicy-business header, if sent (any case; an empty value is sent).
std::optional<absl::string_view> BusinessHeader(const HttpRequest& req) {
  for (const auto& [k, v] : req.headers) {
    if (absl::EqualsIgnoreCase(k, kBusinessHeader)) return absl::string_view(v);
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<Caller> JsonApi::Who(const HttpRequest& req) const {
  const TokenAuthority* auth = service_->auth();
  if (auth == nullptr) return Caller{true, ""};
  absl::string_view header = req.Header("Authorization");
  if (header.empty()) {
    return absl::UnauthenticatedError("authorization: send 'Authorization: Bearer <token>'");
  }
  absl::string_view token = header;
  if (!absl::ConsumePrefix(&token, "Bearer ") && !absl::ConsumePrefix(&token, "bearer ")) {
    return absl::UnauthenticatedError("authorization: want 'Bearer <token>'");
  }
  return auth->AuthenticateToken(token);
}

HttpResponse JsonApi::Handle(const HttpRequest& req) {
  absl::string_view path = req.path;
  InflightLimiter::Slot slot = service_->TryAdmit();
  if (!slot) {
    return ErrorResponse(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                      "server busy: too many calls in flight; retry with backoff"));
  }
  absl::StatusOr<Caller> caller = Who(req);
  if (!caller.ok()) return ErrorResponse(caller.status());
  const BusinessRoute& route = service_->route();
  if (absl::Status s = route.Name(BusinessHeader(req), &*caller); !s.ok()) {
    return ErrorResponse(s);
  }
  const Routed routed{route, *caller};
  const bool post = req.method == "POST";

  if (path == "/v1/state-events" && events_ != nullptr) {
    if (req.method != "GET") return MethodNotAllowed("GET");
    absl::StatusOr<Caller> scope = route.ListScope(*caller);
    if (!scope.ok()) return ErrorResponse(scope.status());
    return StateEvents(*scope, req);
  }
  if (path == "/v1/numbers") {
    if (req.method != "GET") return MethodNotAllowed("GET");
    absl::StatusOr<Caller> scope = route.ListScope(*caller);
    if (!scope.ok()) return ErrorResponse(scope.status());
    google::protobuf::RepeatedPtrField<v1::NumberState> numbers;
    return ReplyNumbers(service_->NumberStatesFor(*scope, &numbers), numbers);
  }
  if (absl::ConsumePrefix(&path, "/v1/numbers/")) {
    if (req.method != "GET") return MethodNotAllowed("GET");
    v1::GetNumberStateRequest in;
    std::string number(path);
    if (!number.empty() && number[0] != '+') number.insert(0, "+");
    in.set_business_number(number);
    if (absl::Status s = route.Check(*caller, in); !s.ok()) return ErrorResponse(s);
    v1::NumberState out;
    return Reply(service_->NumberStateFor(*caller, in, &out), out);
  }
  if (absl::ConsumePrefix(&path, "/v1/decisions/")) {
    if (req.method != "GET") return MethodNotAllowed("GET");
    v1::GetDecisionRequest in;
    in.set_decision_id(std::string(path));
    if (absl::Status s = route.Check(*caller, in); !s.ok()) return ErrorResponse(s);
    v1::LoggedDecision out;
    return Reply(service_->GetDecisionFor(*caller, in, &out), out);
  }
  if (absl::ConsumePrefix(&path, "/v1/admin/")) {
    if (!caller->admin) {
      return ErrorResponse(
          grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                       absl::StrCat("admin calls need an admin token; this token is business ",
                                    caller->business_id, "'s")));
    }
    return Admin(path, req, *caller);
  }
  if (path == "/v1/check") {
    if (!post) return MethodNotAllowed("POST");
    return Unary<v1::CheckRequest, v1::Decision>(req, &routed, [&](const auto& in, auto* out) {
      return service_->CheckFor(*caller, in, out);
    });
  }
  if (path == "/v1/checkBatch") {
    if (!post) return MethodNotAllowed("POST");
    return Unary<v1::CheckBatchRequest, v1::CheckBatchResponse>(
        req, &routed, [&](const auto& in, auto* out) {
          return service_->DecideBatch(*caller, in.checks(), out->mutable_results(), in.brief());
        });
  }
  if (path == "/v1/events") {
    if (!post) return MethodNotAllowed("POST");
    return Unary<v1::EventRequest, v1::EventResponse>(req, &routed, [&](const auto& in, auto* out) {
      return service_->ReportEventFor(*caller, in, out);
    });
  }
  if (path == "/v1/events:batch") {
    if (!post) return MethodNotAllowed("POST");
    return Unary<v1::EventBatchRequest, v1::EventBatchResponse>(
        req, &routed,
        [&](const auto& in, auto* out) { return service_->ReportEventsFor(*caller, in, out); });
  }
  if (campaigns_ != nullptr && (path == "/v1/planCampaign" || path == "/v1/reserveCampaign")) {
    if (!post) return MethodNotAllowed("POST");
    if (path == "/v1/planCampaign") {
      return Unary<v1::PlanCampaignRequest, v1::PlannedCampaign>(
          req, &routed, [&](const auto& in, auto* out) {
            return campaigns_->PlanFor(*caller, in, kMaxPlanCustomers, out);
          });
    }
    return Unary<v1::ReserveCampaignRequest, v1::ReserveCampaignResponse>(
        req, &routed,
        [&](const auto& in, auto* out) { return campaigns_->ReserveFor(*caller, in, out); });
  }
  return NotFound(req);
}

HttpResponse JsonApi::Admin(absl::string_view method, const HttpRequest& req,
                            const Caller& caller) {
  const Routed routed{service_->route(), caller};
  // A null context: this door has required the admin itself.
  grpc::ServerContext* const ctx = nullptr;
  if (method == "serverInfo") {
    v1::GetServerInfoRequest in;
    v1::GetServerInfoResponse out;
    return Reply(admin_->GetServerInfo(ctx, &in, &out), out);
  }
  if (req.method != "POST") return MethodNotAllowed("POST");
#define WAPOLICY_ADMIN_CALL(name, Method, Req, Resp)                              \
  if (method == name) {                                                           \
    return Unary<Req, Resp>(                                                      \
        req, method == "advanceClock" ? nullptr : &routed,                        \
        [&](const Req& in, Resp* out) { return admin_->Method(ctx, &in, out); }); \
  }
  WAPOLICY_ADMIN_CALL("upsertBusiness", UpsertBusiness, v1::UpsertBusinessRequest,
                      v1::UpsertBusinessResponse)
  WAPOLICY_ADMIN_CALL("registerNumber", RegisterNumber, v1::RegisterNumberRequest,
                      v1::RegisterNumberResponse)
  WAPOLICY_ADMIN_CALL("syncNumber", SyncNumber, v1::SyncNumberRequest, v1::SyncNumberResponse)
  WAPOLICY_ADMIN_CALL("putTemplate", PutTemplate, v1::Template, v1::PutTemplateResponse)
  WAPOLICY_ADMIN_CALL("removeTemplate", RemoveTemplate, v1::RemoveTemplateRequest,
                      v1::RemoveTemplateResponse)
  WAPOLICY_ADMIN_CALL("updateTemplateQuality", UpdateTemplateQuality,
                      v1::UpdateTemplateQualityRequest, v1::UpdateTemplateQualityResponse)
  WAPOLICY_ADMIN_CALL("getTemplate", GetTemplate, v1::GetTemplateRequest, v1::Template)
  WAPOLICY_ADMIN_CALL("advanceClock", AdvanceClock, v1::AdvanceClockRequest,
                      v1::AdvanceClockResponse)
#undef WAPOLICY_ADMIN_CALL
  return NotFound(req);
}

HttpResponse JsonApi::StateEvents(const Caller& caller, const HttpRequest& req) {
  // ?from=<position>&limit=<n>: as ListStateEvents (from 0 or absent: the latest).
  v1::ListStateEventsRequest in;
  for (const char* name : {"from", "limit"}) {
    const absl::string_view v = req.QueryParam(name);
    if (v.empty()) continue;
    int64_t n = 0;
    if (!absl::SimpleAtoi(v, &n) || n < 0) {
      return ErrorResponse(BadRequest(absl::StrCat(name, ": '", v, "' is not a whole number")));
    }
    if (name[0] == 'f') {
      in.set_from_position(static_cast<uint64_t>(n));
    } else {
      in.set_limit(static_cast<int32_t>(std::min<int64_t>(n, 1 << 30)));
    }
  }
  v1::ListStateEventsResponse out;
  return Reply(events_->ListFor(caller, in, &out), out);
}

}  // namespace wapolicy
