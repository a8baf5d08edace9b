// The operator dashboard: one page (HTML, CSS and JS from dashboard.html,
// embedded at build time) served at exactly GET /. The page itself holds no
// data and needs no token; its script reads the state from the JSON API
// (GET /v1/numbers, GET /v1/state-events) with the token the operator gives
// in the URL fragment (/#token=...), so a business token shows only that
// business's numbers. Nothing is fetched from anywhere else (the
// Content-Security-Policy header says so to the browser too).
//
//   HttpServer::Start(options, {{"/v1", ...}, {"/", ServeDashboard}});
//   // Browser: http://127.0.0.1:8080/#token=<token>
#ifndef WAPOLICY_SERVER_HTTP_DASHBOARD_H_
#define WAPOLICY_SERVER_HTTP_DASHBOARD_H_

#include "absl/strings/string_view.h"
#include "server/http/http_server.h"

namespace wapolicy {

// The page for GET (and HEAD) of "/"; 404 for any other path the route
// hands over ("//x"), 405 for other methods.
HttpResponse ServeDashboard(const HttpRequest& req);

// The page's text (dashboard.html).
absl::string_view DashboardHtml();

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_HTTP_DASHBOARD_H_
