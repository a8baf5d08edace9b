// policyctl against a real server: human and --json output, and clear errors.

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

struct CliRun {
  int exit_code;
  std::string out;  // stdout and stderr.
};

CliRun Policyctl(const std::string& args) {
  const std::string cmd = "cli/policyctl " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(PolicyctlTest, DrivesTheServerAndExplainsNo) {
  ServerProcess server(MakeTempDir("ctl"), {"--fake_clock=2026-01-01T00:00:00Z"});
  ASSERT_TRUE(server.Start());
  const std::string s = "--server=" + server.address() + " ";
  const std::string n = " --number=+14155550100 --customer=+447700900001";
  EXPECT_EQ(Policyctl(s + "business --business=acme").exit_code, 0);
  EXPECT_EQ(Policyctl(s + "register --number=+14155550100 --business=acme").exit_code, 0);
  EXPECT_EQ(
      Policyctl(s + "template --business=acme --name=hello --category=utility --body='Hi {{1}}'")
          .exit_code,
      0);
  CliRun r = Policyctl(s + "check --name=hello" + n);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("HOLD  NOT_OPTED_IN"), std::string::npos) << r.out;
  EXPECT_EQ(Policyctl(s + "event --type=opt_in --source=sms" + n).exit_code, 0);
  r = Policyctl(s + "--json check --name=hello --params=Ann" + n);
  EXPECT_NE(r.out.find("\"allowed\":true"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"effect\":\"OPENS_BUSINESS_INITIATED\""), std::string::npos) << r.out;
  r = Policyctl(s + "event --type=delivered" + n);
  EXPECT_NE(r.out.find("STARTED_CONVERSATION"), std::string::npos) << r.out;
  r = Policyctl(s + "state --number=+14155550100");
  EXPECT_NE(r.out.find("used 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CONNECTED"), std::string::npos) << r.out;
  r = Policyctl(s + "advance --seconds=86400");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // Wrong input: the server names the field; the exit code says it failed.
  r = Policyctl(s + "check --name=hello --number=+1-415 --customer=+447700900001");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("INVALID_ARGUMENT: business_number"), std::string::npos) << r.out;
  r = Policyctl(s + "frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("unknown command"), std::string::npos) << r.out;
  server.Kill(SIGKILL);
  // Server down.
  r = Policyctl(s + "--timeout=2s state --number=+14155550100");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.out.find("not reachable"), std::string::npos) << r.out;
}

TEST(PolicyctlTest, EventsTakeTheirTimeAndIdAndARepeatCountsOnce) {
  ServerProcess server(MakeTempDir("ctl"), {"--fake_clock=2026-01-01T00:00:00Z"});
  ASSERT_TRUE(server.Start());
  const std::string s = "--server=" + server.address() + " ";
  const std::string n = " --number=+14155550100 --customer=+447700900001";
  ASSERT_EQ(Policyctl(s + "business --business=acme").exit_code, 0);
  ASSERT_EQ(Policyctl(s + "register --number=+14155550100 --business=acme").exit_code, 0);
  for (int i = 0; i < 2; ++i) {
    CliRun r = Policyctl(s + "event --type=blocked --reason=spam --event_id=wamid.X:blocked" +
                         " --at=2025-12-31T23:00:00Z" + n);
    EXPECT_EQ(r.exit_code, 0) << r.out;
  }
  CliRun r = Policyctl(s + "--json state --number=+14155550100");
  EXPECT_NE(r.out.find("\"spam\":\"1\""), std::string::npos) << r.out;
  // A customer message from 30 hours ago opens no window.
  r = Policyctl(s + "event --type=inbound --text=hi --at=2025-12-30T18:00:00Z" + n);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  r = Policyctl(s + "check --session=text" + n);
  EXPECT_NE(r.out.find("OUTSIDE_SERVICE_WINDOW"), std::string::npos) << r.out;
  r = Policyctl(s + "event --type=reported --at=2026-01-01T01:00:00Z" + n);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("occurred_at"), std::string::npos) << r.out;
}

TEST(PolicyctlTest, ShowsWhenAFrequencyCapLetsTheNextOneThrough) {
  const std::string dir = MakeTempDir("ctl_cap");
  const std::string config = dir + ".config";
  std::ofstream(config) << "frequency_cap_per_day: 1";
  ServerProcess server(dir, {"--fake_clock=2026-01-01T00:00:00Z", "--config=" + config});
  ASSERT_TRUE(server.Start());
  const std::string s = "--server=" + server.address() + " ";
  const std::string n = " --number=+14155550100 --customer=+447700900001";
  EXPECT_EQ(Policyctl(s + "business --business=acme").exit_code, 0);
  EXPECT_EQ(Policyctl(s + "register --number=+14155550100 --business=acme").exit_code, 0);
  EXPECT_EQ(
      Policyctl(s + "template --business=acme --name=hello --category=utility --body=Hi").exit_code,
      0);
  EXPECT_EQ(Policyctl(s + "event --type=opt_in --source=sms" + n).exit_code, 0);
  CliRun r = Policyctl(s + "check --name=hello" + n);
  EXPECT_NE(r.out.find("ALLOW"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("retry after:"), std::string::npos) << r.out;
  r = Policyctl(s + "check --name=hello" + n);
  EXPECT_NE(r.out.find("HOLD  FREQUENCY_CAPPED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  retry after: 2026-01-02 00:00:00.000 UTC\n"), std::string::npos) << r.out;
  r = Policyctl(s + "--json check --name=hello" + n);
  EXPECT_NE(r.out.find("\"retryAfterUnixMs\":\"1767312000000\""), std::string::npos) << r.out;
}

TEST(PolicyctlTest, HashesTokensForTheTokensFile) {
  CliRun r = Policyctl("hash-token --token=abc");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n");
}

TEST(PolicyctlTest, PrintsClickToChatLinksWithoutAServer) {
  CliRun r = Policyctl("link --number=+917834811114 --text='Hi there'");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out,
            "https://wa.me/917834811114?text=Hi%20there\nwhatsapp://"
            "send?phone=917834811114&text=Hi%20there\n");
  r = Policyctl("link --number='+91 78348 11114' --text=x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--number"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace wapolicy
