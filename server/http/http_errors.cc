#include "server/http/http_errors.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "server/portfolio_gate.h"
#include "server/proto_convert.h"

namespace wapolicy {

int HttpStatusFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    default:  // UNKNOWN, INTERNAL, DATA_LOSS.
      return 500;
  }
}

HttpResponse ErrorResponse(const grpc::Status& s) {
  // The message as a JSON string (protobuf's escaping); fields in a fixed order.
  google::protobuf::Value message;
  message.set_string_value(s.error_message());
  std::string quoted;
  (void)google::protobuf::util::MessageToJsonString(message, &quoted);
  std::string json =
      absl::StrCat(R"({"code":)", static_cast<int>(s.error_code()), R"(,"status":")",
                   absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())),
                   R"(","message":)", quoted, "}");
  HttpResponse r = HttpResponse::Json(HttpStatusFor(s.error_code()), std::move(json));
  if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
      s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    r.headers.emplace_back("Retry-After", "1");
  }
  return r;
}

HttpResponse ErrorResponse(const absl::Status& s) {
  HttpResponse r = ErrorResponse(ToGrpc(s));
  // A portfolio gate's refusal (server/portfolio_gate.h).
  if (std::optional<std::string> owner = OwnerAddressOf(s)) {
    r.status = 421;  // Misdirected Request: another node answers for this business.
    // The owner's HTTP listener when the gate knows it, else its gRPC one.
    r.headers.emplace_back("X-Wapolicy-Owner", OwnerHttpAddressOf(s).value_or(*owner));
  }
  if (std::optional<absl::Duration> wait = RetryAfterOf(s)) {
    const int64_t ms = absl::ToInt64Milliseconds(*wait);
    for (auto& [name, value] : r.headers) {
      if (name == "Retry-After") value = absl::StrCat(std::max<int64_t>(1, (ms + 999) / 1000));
    }
    r.headers.emplace_back("X-Wapolicy-Retry-After-Ms", absl::StrCat(ms));
  }
  return r;
}

}  // namespace wapolicy
