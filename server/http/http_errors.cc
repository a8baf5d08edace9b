#include "server/http/http_errors.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
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
  google::protobuf::Struct body;
  auto& fields = *body.mutable_fields();
  fields["code"].set_number_value(static_cast<int>(s.error_code()));
  fields["status"].set_string_value(
      absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())));
  fields["message"].set_string_value(s.error_message());
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(body, &json);
  HttpResponse r = HttpResponse::Json(HttpStatusFor(s.error_code()), std::move(json));
  if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
      s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    r.headers.emplace_back("Retry-After", "1");
  }
  return r;
}

HttpResponse ErrorResponse(const absl::Status& s) { return ErrorResponse(ToGrpc(s)); }

}  // namespace wapolicy
