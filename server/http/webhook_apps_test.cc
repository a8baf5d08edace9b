#include "server/http/webhook_apps.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/webhook_signature.h"

namespace wapolicy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kApps[] = R"pb(
  app {
    name: "main"
    app_secret: "main-secret-0123456789"
    verify_token: "main-token"
    business { business_id: "acme" waba_id: "300000000000001" }
    business { business_id: "acme" waba_id: "300000000000002" }
    business { business_id: "globex" waba_id: "300000000000003" }
  }
  app {
    name: "partner"
    app_secret: "partner-secret-9876543210"
    verify_token: "partner-token"
    business { business_id: "initech" waba_id: "300000000000004" }
    # Several apps may deliver one WABA.
    business { business_id: "acme" waba_id: "300000000000001" }
  }
)pb";

std::unique_ptr<WebhookApps> ParseOk(absl::string_view text) {
  absl::StatusOr<std::unique_ptr<WebhookApps>> apps = WebhookApps::Parse(text);
  EXPECT_TRUE(apps.ok()) << apps.status();
  return apps.ok() ? *std::move(apps) : nullptr;
}

// Writes `text` to a fresh file with `mode` and returns its path.
std::string WriteFile(const std::string& name, absl::string_view text, mode_t mode) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  unlink(path.c_str());
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  EXPECT_EQ(chmod(path.c_str(), mode), 0);
  return path;
}

TEST(WebhookAppsTest, LoadsAFileOnlyItsOwnerMayRead) {
  for (mode_t mode : {0600, 0400}) {
    const std::string path = WriteFile("apps_ok.textproto", kApps, mode);
    absl::StatusOr<std::unique_ptr<WebhookApps>> apps = WebhookApps::LoadFile(path);
    ASSERT_TRUE(apps.ok()) << apps.status();
    EXPECT_EQ((*apps)->apps().size(), 2u);
  }
}

TEST(WebhookAppsTest, RefusesAFileGroupOrOthersMayOpen) {
  for (mode_t mode : {0644, 0640, 0604, 0610, 0601, 0660, 0666}) {
    const std::string path = WriteFile("apps_open.textproto", kApps, mode);
    absl::StatusOr<std::unique_ptr<WebhookApps>> apps = WebhookApps::LoadFile(path);
    ASSERT_FALSE(apps.ok()) << std::oct << mode;
    EXPECT_EQ(apps.status().code(), absl::StatusCode::kFailedPrecondition);
    char octal[8];
    std::snprintf(octal, sizeof(octal), "%04o", mode);
    EXPECT_EQ(apps.status().message(),
              absl::StrCat(path, ": mode ", octal,
                           " lets group or others in; it holds app secrets: chmod 600 it"));
  }
}

TEST(WebhookAppsTest, RefusesAFileAnotherUserOwns) {
  if (geteuid() != 0) GTEST_SKIP() << "only root can give a file away";
  const std::string path = WriteFile("apps_theirs.textproto", kApps, 0600);
  if (chown(path.c_str(), 65534, 65534) != 0) {
    GTEST_SKIP() << "cannot give a file away here (a sandbox's user namespace)";
  }
  absl::StatusOr<std::unique_ptr<WebhookApps>> apps = WebhookApps::LoadFile(path);
  ASSERT_FALSE(apps.ok());
  EXPECT_EQ(apps.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(apps.status().message(),
            absl::StrCat(path, ": owned by uid 65534, not by this server's uid 0"));
}

TEST(WebhookAppsTest, MissingFileAndDirectory) {
  const std::string missing = absl::StrCat(::testing::TempDir(), "/no_such_apps.textproto");
  absl::StatusOr<std::unique_ptr<WebhookApps>> apps = WebhookApps::LoadFile(missing);
  EXPECT_EQ(apps.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(apps.status().message()), HasSubstr(missing));
  const std::string dir = absl::StrCat(::testing::TempDir(), "/apps_dir");
  mkdir(dir.c_str(), 0700);
  apps = WebhookApps::LoadFile(dir);
  EXPECT_EQ(apps.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(apps.status().message(), absl::StrCat(dir, ": not a regular file"));
}

TEST(WebhookAppsTest, FileErrorsNameThePathAndTheLine) {
  const std::string path =
      WriteFile("apps_bad.textproto", "app {\n  name: \"main\"\n  app_secret: hunter2\n}\n", 0600);
  absl::StatusOr<std::unique_ptr<WebhookApps>> apps = WebhookApps::LoadFile(path);
  ASSERT_FALSE(apps.ok());
  EXPECT_EQ(apps.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(apps.status().message(),
            absl::StrCat(path, ": line 3, column 15: not a WebhookAppsConfig in text format"));
  // Never the secret, even where it broke the syntax.
  EXPECT_THAT(std::string(apps.status().message()), Not(HasSubstr("hunter2")));
}

TEST(WebhookAppsTest, FieldsAreValidatedByName) {
  const struct {
    const char* text;
    const char* error;
  } kCases[] = {
      {"", "app: at least one app"},
      {R"(app { app_secret: "s" verify_token: "t" business { business_id: "a" waba_id: "1" } })",
       "app[0].name: empty"},
      {R"(app { name: "m" verify_token: "t" business { business_id: "a" waba_id: "1" } })",
       "app[0].app_secret: empty"},
      {R"(app { name: "m" app_secret: "s" business { business_id: "a" waba_id: "1" } })",
       "app[0].verify_token: empty"},
      {R"(app { name: "m" app_secret: "s" verify_token: "t" })",
       "app[0].business: at least one business"},
      {R"(app { name: "m" app_secret: "s" verify_token: "t" business { waba_id: "1" } })",
       "app[0].business[0].business_id must be 1 to 64 characters"},
      {R"(app { name: "m" app_secret: "s" verify_token: "t"
                business { business_id: "a b" waba_id: "1" } })",
       "app[0].business[0].business_id may hold only A-Z a-z 0-9 _ - ."},
      {R"(app { name: "m" app_secret: "s" verify_token: "t"
                business { business_id: "a" waba_id: "" } })",
       "app[0].business[0].waba_id: must be 1 to 32 digits"},
      {R"(app { name: "m" app_secret: "s" verify_token: "t"
                business { business_id: "a" waba_id: "WABA-1" } })",
       "app[0].business[0].waba_id: must be 1 to 32 digits"},
      {R"(app { name: "m" app_secret: "s" verify_token: "t"
                business { business_id: "a" waba_id: "1" }
                business { business_id: "b" waba_id: "1" } })",
       "app[0].business[1].waba_id: 1 is listed twice in this app"},
      {R"(app { name: "m" app_secret: "s" verify_token: "t"
                business { business_id: "a" waba_id: "1" } }
          app { name: "m" app_secret: "s2" verify_token: "t2"
                business { business_id: "a" waba_id: "1" } })",
       R"(app[1].name: "m" is also app[0]'s)"},
      {R"(app { name: "m" app_secret: "same-secret" verify_token: "t"
                business { business_id: "a" waba_id: "1" } }
          app { name: "n" app_secret: "same-secret" verify_token: "t2"
                business { business_id: "a" waba_id: "1" } })",
       "app[1].app_secret: the same as app[0]'s"},
      {R"(app { name: "m" app_secret: "s" verify_token: "same-token"
                business { business_id: "a" waba_id: "1" } }
          app { name: "n" app_secret: "s2" verify_token: "same-token"
                business { business_id: "a" waba_id: "1" } })",
       "app[1].verify_token: the same as app[0]'s"},
      {R"(app { name: "m" app_secret: "s" verify_token: "t"
                business { business_id: "a" waba_id: "1" } }
          app { name: "n" app_secret: "s2" verify_token: "t2"
                business { business_id: "b" waba_id: "1" } })",
       R"(app[1].business[0].waba_id: 1 is business "a"'s in another app, not "b"'s)"},
      {R"(app { name: "m" secret: "s" })",
       "line 1, column 23: not a WebhookAppsConfig in text format"},
  };
  for (const auto& c : kCases) {
    absl::StatusOr<std::unique_ptr<WebhookApps>> apps = WebhookApps::Parse(c.text);
    ASSERT_FALSE(apps.ok()) << c.text;
    EXPECT_EQ(apps.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(apps.status().message(), c.error) << c.text;
  }
}

TEST(WebhookAppsTest, FindsTheAppByVerifyToken) {
  std::unique_ptr<WebhookApps> apps = ParseOk(kApps);
  ASSERT_NE(apps, nullptr);
  ASSERT_NE(apps->FindByVerifyToken("partner-token"), nullptr);
  EXPECT_EQ(apps->FindByVerifyToken("partner-token")->name, "partner");
  EXPECT_EQ(apps->FindByVerifyToken("main-token")->name, "main");
  EXPECT_EQ(apps->FindByVerifyToken("main-token "), nullptr);
  EXPECT_EQ(apps->FindByVerifyToken("main-toke"), nullptr);
  EXPECT_EQ(apps->FindByVerifyToken(""), nullptr);
}

TEST(WebhookAppsTest, FindsTheAppWhoseSecretSignedTheBody) {
  std::unique_ptr<WebhookApps> apps = ParseOk(kApps);
  ASSERT_NE(apps, nullptr);
  const std::string body = R"({"object":"whatsapp_business_account","entry":[]})";
  absl::StatusOr<const WebhookAppEntry*> app =
      apps->FindBySignature(body, SignWebhookBody("partner-secret-9876543210", body));
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_EQ((*app)->name, "partner");
  app = apps->FindBySignature(body, SignWebhookBody("main-secret-0123456789", body));
  ASSERT_TRUE(app.ok()) << app.status();
  EXPECT_EQ((*app)->name, "main");
  app = apps->FindBySignature(body, SignWebhookBody("someone-else", body));
  EXPECT_EQ(app.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(app.status().message(), "X-Hub-Signature-256: no app's secret signed this body");
  app = apps->FindBySignature(body, "sha256=nope");
  EXPECT_EQ(app.status().code(), absl::StatusCode::kInvalidArgument);
  app = apps->FindBySignature(body, "");
  EXPECT_EQ(app.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WebhookAppsTest, WabasAndBusinessesOfAnApp) {
  std::unique_ptr<WebhookApps> apps = ParseOk(kApps);
  ASSERT_NE(apps, nullptr);
  const WebhookAppEntry& main = apps->apps()[0];
  const WebhookAppEntry& partner = apps->apps()[1];
  EXPECT_EQ(apps->BusinessOfWaba(main, "300000000000001").value(), "acme");
  EXPECT_EQ(apps->BusinessOfWaba(main, "300000000000002").value(), "acme");
  EXPECT_EQ(apps->BusinessOfWaba(main, "300000000000003").value(), "globex");
  EXPECT_EQ(apps->BusinessOfWaba(partner, "300000000000001").value(), "acme");
  absl::StatusOr<std::string> b = apps->BusinessOfWaba(main, "300000000000004");
  EXPECT_EQ(b.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(b.status().message(), R"(WABA 300000000000004 is not listed for app "main")");
  EXPECT_TRUE(apps->AppHasBusiness(main, "acme"));
  EXPECT_TRUE(apps->AppHasBusiness(main, "globex"));
  EXPECT_FALSE(apps->AppHasBusiness(main, "initech"));
  EXPECT_TRUE(apps->AppHasBusiness(partner, "initech"));
  EXPECT_TRUE(apps->AppHasBusiness(partner, "acme"));
  EXPECT_FALSE(apps->AppHasBusiness(partner, "globex"));
}

}  // namespace
}  // namespace wapolicy
