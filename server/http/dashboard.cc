#include "server/http/dashboard.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/http/http_errors.h"

namespace wapolicy {
namespace {

// dashboard.html as a raw string literal, written by the :dashboard_html genrule.
constexpr char kPage[] =
#include "server/http/dashboard_html.inc"
    ;

// Inline script and style are the page's own; the only place it may connect
// to is this server.
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

}  // namespace

absl::string_view DashboardHtml() { return absl::string_view(kPage, sizeof(kPage) - 1); }

HttpResponse ServeDashboard(const HttpRequest& req) {
  if (req.path != "/") {
    return ErrorResponse(absl::NotFoundError(absl::StrCat("path: no such page: ", req.path)));
  }
  if (req.method != "GET" && req.method != "HEAD") {
    HttpResponse r = ErrorResponse(absl::UnimplementedError("method: use GET"));
    r.status = 405;
    r.headers.emplace_back("Allow", "GET");
    return r;
  }
  HttpResponse r;
  r.status = 200;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::string(DashboardHtml());
  r.headers = {{"Content-Security-Policy", kContentSecurityPolicy},
               {"Cache-Control", "no-store"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"}};
  return r;
}

}  // namespace wapolicy
