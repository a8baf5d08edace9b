// The dashboard in a real browser: the real server with a fake clock and two
// businesses' tokens, numbers driven into FLAGGED (blocks) and RESTRICTED (the
// limit used up), the page at GET / loaded in headless Chromium (Debian's
// `chromium`; tools/test.sh installs it) and the rendered DOM (--dump-dom)
// and a screenshot checked. Loopback only.
//
// WAPOLICY_DASHBOARD_PNG=docs/dashboard.png bazel run //tests:dashboard_test
// also keeps the admin's screenshot there (the README's picture); a relative
// path is taken from the workspace.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "proto/wapolicy/v1/policy.pb.h"
#include "server/token_authority.h"
#include "tests/http_client.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kFlagged[] = "+14155550100";     // acme: ten spam blocks and a report.
constexpr char kRestricted[] = "+14155550101";  // acme: onboarded at 250, all 250 taken.
constexpr char kBusy[] = "+14155550102";        // acme: 120 conversations of 1,000.
constexpr char kGlobex[] = "+14155550200";      // globex: the platform's word on it.
constexpr char kAdminToken[] = "root-token";
constexpr char kAcmeToken[] = "acme-token";
constexpr char kGlobexToken[] = "globex-token";

std::string Customer(int i) { return absl::StrCat("+4477009", 10000 + i); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Debian's chromium; the suite's setup installs it (tools/test.sh).
std::string FindChromium() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("CHROMIUM")) candidates.push_back(env);
  candidates.insert(candidates.end(), {"/usr/bin/chromium", "/usr/bin/chromium-browser"});
  for (const std::string& c : candidates) {
    if (access(c.c_str(), X_OK) == 0) return c;
  }
  return "";
}

struct BrowserRun {
  bool ok = false;
  std::string out;     // stdout: the DOM with --dump-dom.
  std::string errors;  // Why it failed, with the end of chromium's stderr.
};

// Runs headless chromium on `url` with `extra` flags, in its own process
// group with its own HOME and profile, for at most 90 s; the whole group is
// killed afterwards so no renderer or helper outlives the test.
BrowserRun RunChromium(const std::string& url, const std::vector<std::string>& extra) {
  BrowserRun run;
  const std::string chromium = FindChromium();
  if (chromium.empty()) {
    run.errors =
        "chromium is not installed: the dashboard test needs Debian's chromium "
        "(apt-get install chromium; ./tools/test.sh installs it)";
    return run;
  }
  const std::string home = MakeTempDir("chromium_home");
  const std::string out_file = home + "/stdout", err_file = home + "/stderr";
  std::vector<std::string> argv = {chromium,
                                   "--headless",
                                   "--no-sandbox",  // The test may run as root.
                                   "--disable-gpu",
                                   "--disable-dev-shm-usage",
                                   "--user-data-dir=" + home + "/profile",
                                   "--no-first-run",
                                   "--no-default-browser-check",
                                   "--disable-extensions",
                                   "--disable-sync",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-crash-reporter",
                                   "--virtual-time-budget=10000"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    const int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0) _exit(126);
    dup2(out, 1);
    dup2(err, 2);
    setenv("HOME", home.c_str(), 1);
    setenv("XDG_CONFIG_HOME", (home + "/config").c_str(), 1);
    setenv("XDG_CACHE_HOME", (home + "/cache").c_str(), 1);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  if (pid < 0) {
    run.errors = "fork failed";
    return run;
  }
  setpgid(pid, pid);  // Also here: whichever runs first, the group exists.
  int status = 0;
  bool exited = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(-pid, SIGKILL);
  if (!exited) waitpid(pid, &status, 0);
  run.out = ReadFile(out_file);
  std::string err = ReadFile(err_file);
  if (err.size() > 3000) err = err.substr(err.size() - 3000);
  if (!exited) {
    run.errors = "chromium did not finish in 90 s (killed)\n" + err;
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    run.errors = absl::StrCat("chromium failed (wait status ", status, ")\n", err);
  } else {
    run.ok = true;
  }
  return run;
}

// The <tr> whose data-number is `number`, or "" if the DOM has none.
std::string Row(const std::string& dom, const std::string& number) {
  const size_t at = dom.find(absl::StrCat("data-number=\"", number, "\""));
  if (at == std::string::npos) return "";
  const size_t start = dom.rfind("<tr", at);
  const size_t end = dom.find("</tr>", at);
  if (start == std::string::npos || end == std::string::npos) return "";
  return dom.substr(start, end + 5 - start);
}

// The element with this id through the end of its first closing tag of that
// kind (enough for the flat elements asked about).
std::string ById(const std::string& dom, const std::string& id, const std::string& tag) {
  const size_t at = dom.find(absl::StrCat("id=\"", id, "\""));
  if (at == std::string::npos) return "";
  const size_t start = dom.rfind("<" + tag, at);
  const size_t end = dom.find("</" + tag + ">", at);
  if (start == std::string::npos || end == std::string::npos) return "";
  return dom.substr(start, end + tag.size() + 3 - start);
}

// As the page writes a time: "2026-01-01 01:15 UTC".
std::string PageTime(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::FromUnixMillis(unix_ms), absl::UTCTimeZone());
}

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = MakeTempDir("dashboard");
    std::ofstream(dir + ".tokens")
        << TokenAuthority::HashToken(kAdminToken) << " admin\n"
        << TokenAuthority::HashToken(kAcmeToken) << " business acme\n"
        << TokenAuthority::HashToken(kGlobexToken) << " business globex\n";
    server_ = std::make_unique<ServerProcess>(
        dir, std::vector<std::string>{"--fake_clock=2026-01-01T00:00:00Z",
                                      "--tokens_file=" + dir + ".tokens",
                                      "--state_events_interval=50ms"});
    ASSERT_TRUE(server_->Start());
    base_ = "http://127.0.0.1:" + std::to_string(server_->http_port());
    http_ = std::make_unique<HttpClient>(base_);
    DriveNumbers();
    AwaitStateEvents();
  }

  // Until the observer has recorded the FLAGGED and RESTRICTED events (it
  // looks every 50 ms), so the page has them to show.
  void AwaitStateEvents() {
    for (int i = 0; i < 400; ++i) {
      const HttpClient::Response r = Get("/v1/state-events?limit=100", kAdminToken);
      if (absl::StrContains(r.body, "\"FLAGGED\"") && absl::StrContains(r.body, "\"RESTRICTED\"")) {
        return;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "no FLAGGED and RESTRICTED state events";
  }

  HttpClient::Response Get(const std::string& path, const std::string& token) {
    return http_->Get(path, {"Authorization: Bearer " + token});
  }
  // An admin call through the JSON API; fails the test unless it answers 200.
  void Post(const std::string& path, const std::string& body) {
    HttpClient::Response r =
        http_->Post(path, body, {std::string("Authorization: Bearer ") + kAdminToken});
    ASSERT_EQ(r.status, 200) << path << " " << body.substr(0, 200) << " -> " << r.body;
  }
  // Opts customers [from, from + n) in, admits a template to each (paced:
  // past 80 a second they get a later send time, not a refusal) and, if
  // `deliver`, reports each delivered.
  void Send(const std::string& number, int from, int n, bool deliver) {
    std::vector<std::string> opt_ins, checks, deliveries;
    for (int i = from; i < from + n; ++i) {
      const std::string who =
          absl::StrCat(R"({"businessNumber":")", number, R"(","customer":")", Customer(i), "\"");
      opt_ins.push_back(who + R"(,"optIn":{"source":"WEBSITE"}})");
      checks.push_back(who + R"(,"templateMessage":{"name":"order_update","language":"en"},)" +
                       R"("pace":true})");
      deliveries.push_back(who + R"(,"delivered":{}})");
    }
    Post("/v1/events:batch", "{\"events\":[" + absl::StrJoin(opt_ins, ",") + "]}");
    HttpClient::Response r =
        http_->Post("/v1/checkBatch", "{\"checks\":[" + absl::StrJoin(checks, ",") + "]}",
                    {std::string("Authorization: Bearer ") + kAdminToken});
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    ASSERT_EQ(absl::StrContains(r.body, "\"allowed\":false"), false) << r.body.substr(0, 600);
    if (deliver) Post("/v1/events:batch", "{\"events\":[" + absl::StrJoin(deliveries, ",") + "]}");
  }

  void DriveNumbers() {
    Post("/v1/admin/upsertBusiness", R"({"businessId":"acme","verified":true})");
    Post("/v1/admin/upsertBusiness", R"({"businessId":"globex"})");  // Unverified: 250.
    Post("/v1/admin/registerNumber",
         absl::StrCat(R"({"businessId":"acme","businessNumber":")", kFlagged, "\"}"));
    Post("/v1/admin/registerNumber", absl::StrCat(R"({"businessId":"acme","businessNumber":")",
                                                  kRestricted, R"(","currentLimit":"250"})"));
    Post("/v1/admin/registerNumber",
         absl::StrCat(R"({"businessId":"acme","businessNumber":")", kBusy, "\"}"));
    Post("/v1/admin/registerNumber",
         absl::StrCat(R"({"businessId":"globex","businessNumber":")", kGlobex, "\"}"));
    for (const char* name : {"order_update", "shipping_notice"}) {
      Post("/v1/admin/putTemplate",
           absl::StrCat(R"({"businessId":"acme","name":")", name,
                        R"(","language":"en","category":"UTILITY","status":"APPROVED"})"));
    }
    Send(kBusy, 0, 120, /*deliver=*/true);
    Post("/v1/admin/advanceClock", R"({"seconds":"3600"})");
    // 01:00. A RED rating pauses acme's shipping_notice for 3 hours.
    Post("/v1/admin/updateTemplateQuality",
         R"({"businessId":"acme","name":"shipping_notice","language":"en","quality":"RED"})");
    std::vector<std::string> blocks;
    for (int i = 0; i < 10; ++i) {
      blocks.push_back(absl::StrCat(R"({"businessNumber":")", kFlagged, R"(","customer":")",
                                    Customer(1000 + i), R"(","blocked":{"reason":"SPAM"}})"));
    }
    blocks.push_back(absl::StrCat(R"({"businessNumber":")", kFlagged, R"(","customer":")",
                                  Customer(1010), R"(","reported":{}})"));
    Post("/v1/events:batch", "{\"events\":[" + absl::StrJoin(blocks, ",") + "]}");
    Send(kRestricted, 2000, 250, /*deliver=*/false);  // Held for 15 minutes each.
    Post("/v1/admin/syncNumber", absl::StrCat(R"({"businessNumber":")", kGlobex,
                                              R"(","quality":"MEDIUM","throughputMps":1000})"));
  }

  // The number as GET /v1/numbers/{n} answers an admin.
  v1::NumberState State(const std::string& number) {
    HttpClient::Response r = Get("/v1/numbers/" + number.substr(1), kAdminToken);
    EXPECT_EQ(r.status, 200) << r.body;
    v1::NumberState s;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.body, &s).ok()) << r.body;
    return s;
  }

  // The page as `token` sees it; an empty token opens it without one.
  std::string Dom(const std::string& token) {
    BrowserRun run =
        RunChromium(base_ + "/" + (token.empty() ? "" : "#token=" + token), {"--dump-dom"});
    EXPECT_TRUE(run.ok) << run.errors;
    return run.out;
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> http_;
  std::string base_;
};

TEST_F(DashboardTest, TheNumbersCallListsWhatEachTokenMaySee) {
  HttpClient::Response r = Get("/v1/numbers", kAdminToken);
  ASSERT_EQ(r.status, 200) << r.body;
  // By business, then number.
  const size_t a = r.body.find(kFlagged), b = r.body.find(kRestricted), c = r.body.find(kBusy),
               g = r.body.find(kGlobex);
  ASSERT_NE(g, std::string::npos) << r.body;
  EXPECT_TRUE(a < b && b < c && c < g) << r.body;

  r = Get("/v1/numbers", kAcmeToken);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, kFlagged));
  EXPECT_FALSE(absl::StrContains(r.body, kGlobex)) << "acme's token sees globex's number";
  EXPECT_FALSE(absl::StrContains(r.body, "globex")) << r.body;

  r = Get("/v1/numbers", kGlobexToken);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(absl::StrContains(r.body, kGlobex));
  EXPECT_FALSE(absl::StrContains(r.body, "acme")) << r.body;

  EXPECT_EQ(Get("/v1/numbers", "nobody").status, 401);
  EXPECT_EQ(http_->Get("/v1/numbers").status, 401);
  EXPECT_EQ(http_->Post("/v1/numbers", "{}", {std::string("Authorization: Bearer ") + kAdminToken})
                .status,
            405);
  // Only "/" is the page: other unknown paths stay 404.
  EXPECT_EQ(http_->Get("/").status, 200);
  EXPECT_EQ(http_->Get("/index.html").status, 404);
  EXPECT_EQ(http_->Get("//v1/numbers").status, 404);
}

TEST_F(DashboardTest, TheAdminSeesFlaggedAndRestrictedNumbersWithTheirValues) {
  const v1::NumberState flagged = State(kFlagged), restricted = State(kRestricted),
                        busy = State(kBusy);
  // What the engine says, before looking at the page.
  ASSERT_EQ(flagged.status(), v1::FLAGGED);
  ASSERT_EQ(flagged.estimated_quality(), v1::LOW);
  ASSERT_EQ(restricted.status(), v1::RESTRICTED);
  ASSERT_EQ(restricted.used(), 250);
  ASSERT_EQ(busy.status(), v1::CONNECTED);
  ASSERT_EQ(busy.used(), 120);
  ASSERT_EQ(busy.unique_customers_7d(), 120);
  ASSERT_NE(restricted.next_slot_free_unix_ms(), 0);

  const std::string dom = Dom(kAdminToken);
  EXPECT_TRUE(absl::StrContains(dom, "data-business=\"acme\"")) << dom;
  EXPECT_TRUE(absl::StrContains(dom, "data-business=\"globex\"")) << dom;
  EXPECT_FALSE(absl::StrContains(ById(dom, "error", "div"), "display: block"))
      << ById(dom, "error", "div");

  const std::string f = Row(dom, kFlagged);
  ASSERT_FALSE(f.empty()) << dom;
  EXPECT_TRUE(absl::StrContains(f, R"(<td class="status" data-status="FLAGGED">)")) << f;
  EXPECT_TRUE(absl::StrContains(f, ">FLAGGED</span>")) << f;
  EXPECT_TRUE(absl::StrContains(f, "settles " + PageTime(flagged.flag_settles_at_unix_ms()))) << f;
  // Quality: the platform has not spoken; the estimate is Low, from the blocks
  // counted by reason in the cell's hover text.
  EXPECT_TRUE(absl::StrContains(f, R"(data-quality="LOW")")) << f;
  EXPECT_TRUE(absl::StrContains(f, R"(data-platform="not said")")) << f;
  EXPECT_TRUE(absl::StrContains(f, R"(data-estimate="LOW")")) << f;
  EXPECT_TRUE(absl::StrContains(f, "blocked, spam: 10\n")) << f;
  EXPECT_TRUE(absl::StrContains(f, "blocked, no reason: 0\n")) << f;
  EXPECT_TRUE(absl::StrContains(f, "reports: 1\n")) << f;
  EXPECT_TRUE(absl::StrContains(f, "10 blocks, 1 report in 7 d")) << f;
  // acme's RED template is paused until 04:00 on every acme row.
  EXPECT_TRUE(absl::StrContains(f, "shipping_notice (en)")) << f;
  EXPECT_TRUE(absl::StrContains(f, "until 2026-01-01 04:00 UTC")) << f;

  const std::string r = Row(dom, kRestricted);
  ASSERT_FALSE(r.empty()) << dom;
  EXPECT_TRUE(absl::StrContains(r, R"(<td class="status" data-status="RESTRICTED">)")) << r;
  EXPECT_TRUE(absl::StrContains(r, "limit used up")) << r;
  EXPECT_TRUE(absl::StrContains(r, R"(data-tier="TIER_250" data-limit="250" data-used="250")"))
      << r;
  EXPECT_TRUE(absl::StrContains(r, "250 of 250 used (250 pending)")) << r;
  EXPECT_TRUE(absl::StrContains(r, R"(<div class="bar full"><div style="width:100.0%">)")) << r;
  EXPECT_TRUE(absl::StrContains(r, "platform: 250")) << r;
  EXPECT_TRUE(
      absl::StrContains(r, absl::StrCat(R"(<td class="next-slot">)",
                                        PageTime(restricted.next_slot_free_unix_ms()), "</td>")))
      << r;
  EXPECT_EQ(PageTime(restricted.next_slot_free_unix_ms()), "2026-01-01 01:15 UTC");
  EXPECT_TRUE(absl::StrContains(r, R"(<td class="quality")")) << r;
  EXPECT_TRUE(absl::StrContains(r, R"(data-estimate="HIGH")")) << r;

  const std::string b = Row(dom, kBusy);
  ASSERT_FALSE(b.empty()) << dom;
  EXPECT_TRUE(absl::StrContains(b, R"(data-status="CONNECTED")")) << b;
  EXPECT_TRUE(absl::StrContains(b, R"(data-tier="TIER_1K" data-limit="1000" data-used="120")"))
      << b;
  EXPECT_TRUE(absl::StrContains(b, R"(<div style="width:12.0%">)")) << b;
  // Upgrade progress: 120 unique customers in 7 days against 1,000 / 2.
  EXPECT_TRUE(absl::StrContains(b, R"(data-unique="120" data-target="500")")) << b;
  EXPECT_TRUE(absl::StrContains(b, "120 of 500 unique")) << b;
  EXPECT_TRUE(absl::StrContains(b, R"(data-mps="80")")) << b;
  EXPECT_TRUE(absl::StrContains(b, "profile's")) << b;

  const std::string g = Row(dom, kGlobex);
  ASSERT_FALSE(g.empty()) << dom;
  EXPECT_TRUE(absl::StrContains(g, R"(data-quality="MEDIUM" data-platform="MEDIUM")")) << g;
  EXPECT_TRUE(absl::StrContains(g, R"(data-mps="1000")")) << g;
  EXPECT_TRUE(absl::StrContains(g, "1,000 msg/s")) << g;
  EXPECT_TRUE(absl::StrContains(g, "platform's")) << g;
  EXPECT_TRUE(absl::StrContains(g, R"(<td class="paused" data-paused="0">)")) << g;

  EXPECT_TRUE(absl::StrContains(dom, "4 numbers · 1 flagged · 1 restricted")) << dom;
  // It refreshes itself: 10 s of the browser's (virtual) time read it again.
  const size_t at = dom.find("data-refreshes=\"");
  ASSERT_NE(at, std::string::npos) << dom.substr(0, 400);
  EXPECT_GE(std::atoi(dom.c_str() + at + 16), 2) << dom.substr(at, 40);

  // Recent events: the state changes the numbers went through, newest first.
  const std::string panel = dom.substr(dom.find("id=\"events\""));
  EXPECT_TRUE(absl::StrContains(panel, "data-kind=\"FLAGGED\"")) << panel;
  EXPECT_TRUE(absl::StrContains(panel, "data-kind=\"RESTRICTED\"")) << panel;
  EXPECT_TRUE(absl::StrContains(panel, kFlagged)) << panel;
  EXPECT_TRUE(absl::StrContains(panel, "HIGH → LOW")) << panel;
  EXPECT_LT(panel.find("data-kind=\"RESTRICTED\""), panel.find("data-kind=\"FLAGGED\""))
      << "newest first: the restriction came after the flag";
}

TEST_F(DashboardTest, ABusinessTokenShowsOnlyThatBusinessesNumbers) {
  const std::string acme = Dom(kAcmeToken);
  EXPECT_FALSE(Row(acme, kFlagged).empty()) << acme;
  EXPECT_FALSE(Row(acme, kRestricted).empty()) << acme;
  EXPECT_FALSE(Row(acme, kBusy).empty()) << acme;
  EXPECT_TRUE(Row(acme, kGlobex).empty()) << "acme's page shows globex's number";
  EXPECT_FALSE(absl::StrContains(acme, "data-business=\"globex\"")) << acme;
  const std::string acme_events = acme.substr(acme.find("id=\"events\""));
  EXPECT_TRUE(absl::StrContains(acme_events, "data-kind=\"FLAGGED\"")) << acme_events;
  EXPECT_FALSE(absl::StrContains(acme_events, kGlobex)) << acme_events;
  EXPECT_TRUE(absl::StrContains(acme, "3 numbers · 1 flagged · 1 restricted")) << acme;

  const std::string globex = Dom(kGlobexToken);
  EXPECT_FALSE(Row(globex, kGlobex).empty()) << globex;
  for (const char* n : {kFlagged, kRestricted, kBusy}) {
    EXPECT_TRUE(Row(globex, n).empty()) << "globex's page shows " << n;
  }
  EXPECT_FALSE(absl::StrContains(globex, "data-business=\"acme\"")) << globex;
}

TEST_F(DashboardTest, WithoutAValidTokenThePageAsksForOneAndShowsNothing) {
  for (const std::string token : {"", "not-a-token"}) {
    const std::string dom = Dom(token);
    const std::string error = ById(dom, "error", "div");
    EXPECT_TRUE(absl::StrContains(error, "This server wants a token")) << token << ": " << error;
    EXPECT_TRUE(absl::StrContains(error, "display: block")) << error;
    EXPECT_FALSE(absl::StrContains(dom, "data-number=")) << dom;
  }
}

TEST_F(DashboardTest, TheScreenshotIsAFullSizeNonBlankPng) {
  const std::string png = MakeTempDir("screenshot") + "/dashboard.png";
  BrowserRun run =
      RunChromium(base_ + "/#token=" + kAdminToken,
                  {"--screenshot=" + png, "--window-size=1280,900", "--hide-scrollbars"});
  ASSERT_TRUE(run.ok) << run.errors;
  const std::string bytes = ReadFile(png);
  ASSERT_GT(bytes.size(), 24u) << "no screenshot written";
  ASSERT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  ASSERT_EQ(bytes.substr(12, 4), "IHDR");
  auto be32 = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])) << 24) |
           (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 3]));
  };
  EXPECT_EQ(be32(16), 1280u);
  EXPECT_EQ(be32(20), 900u);
  // A blank 1280x900 page compresses to a few KB; tables of numbers do not.
  EXPECT_GT(bytes.size(), 40u * 1024) << "the screenshot looks blank";

  if (const char* keep = std::getenv("WAPOLICY_DASHBOARD_PNG")) {
    std::string to = keep;
    const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");  // bazel run.
    if (!to.empty() && to[0] != '/' && workspace != nullptr) to = std::string(workspace) + "/" + to;
    std::ofstream(to, std::ios::binary) << bytes;
    ASSERT_EQ(ReadFile(to), bytes) << "cannot write " << to;
  }
}

}  // namespace
}  // namespace wapolicy
