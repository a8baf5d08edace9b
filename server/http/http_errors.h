// Errors at the HTTP door: a gRPC status becomes the HTTP status grpc-gateway
// gives it, with a JSON body in google.rpc.Status's shape, so a JSON client
// sees the same code and message a gRPC client would.
//
//   grpc::Status s = service->CheckFor(caller, req, &out);
//   if (!s.ok()) return ErrorResponse(s);  // INVALID_ARGUMENT -> 400 {"code":3,...}
#ifndef WAPOLICY_SERVER_HTTP_HTTP_ERRORS_H_
#define WAPOLICY_SERVER_HTTP_HTTP_ERRORS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "server/http/http_server.h"

namespace wapolicy {

// As grpc-gateway maps them: INVALID_ARGUMENT 400, UNAUTHENTICATED 401,
// PERMISSION_DENIED 403, NOT_FOUND 404, RESOURCE_EXHAUSTED 429, ...
int HttpStatusFor(grpc::StatusCode code);

// {"code": <gRPC code>, "status": "<its name>", "message": "..."}.
HttpResponse ErrorResponse(const grpc::Status& s);
// The same; a portfolio gate's refusal (server/portfolio_gate.h) also gets
// its HTTP form: not this node's business, 421 Misdirected Request with
// `X-Wapolicy-Owner: <host:port>`; a portfolio moving, 503 with
// `Retry-After` (seconds, rounded up) and `X-Wapolicy-Retry-After-Ms`.
HttpResponse ErrorResponse(const absl::Status& s);

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_HTTP_HTTP_ERRORS_H_
