// The dashboard route alone: the whole page at exactly "/", with headers that
// keep it to this server; other paths and methods refused. (The page in a
// browser against a real server: tests/dashboard_test.cc.)

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "server/http/dashboard.h"

namespace wapolicy {
namespace {

HttpRequest Request(const std::string& method, const std::string& path) {
  HttpRequest r;
  r.method = method;
  r.path = path;
  return r;
}

std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(DashboardPageTest, ServesTheWholeEmbeddedPageAtSlash) {
  HttpResponse r = ServeDashboard(Request("GET", "/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body, std::string(DashboardHtml()));
  EXPECT_TRUE(absl::StartsWith(r.body, "<!DOCTYPE html>")) << r.body.substr(0, 40);
  EXPECT_TRUE(absl::EndsWith(r.body, "</html>\n")) << "the embedding cut the page short";
  EXPECT_TRUE(absl::StrContains(r.body, "/v1/numbers"));
  EXPECT_EQ(ServeDashboard(Request("HEAD", "/")).status, 200);
}

TEST(DashboardPageTest, FetchesNothingFromElsewhere) {
  const std::string page(DashboardHtml());
  for (const char* outside : {"http://", "https://", "src=\"//", "@import"}) {
    EXPECT_FALSE(absl::StrContains(page, outside)) << outside;
  }
  HttpResponse r = ServeDashboard(Request("GET", "/"));
  const std::string csp = HeaderOf(r, "Content-Security-Policy");
  EXPECT_TRUE(absl::StrContains(csp, "default-src 'none'")) << csp;
  EXPECT_TRUE(absl::StrContains(csp, "connect-src 'self'")) << csp;
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-store");
}

TEST(DashboardPageTest, OtherPathsAre404AndOtherMethods405) {
  HttpResponse r = ServeDashboard(Request("GET", "//v1/numbers"));
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(absl::StrContains(r.body, "\"code\":5")) << r.body;
  r = ServeDashboard(Request("POST", "/"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(HeaderOf(r, "Allow"), "GET");
}

}  // namespace
}  // namespace wapolicy
