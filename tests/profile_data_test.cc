// The profile stored with the data, through the real server: a data directory
// written under one profile is refused by a server running another (with a
// message saying what differs) unless started with --migrate_profile.

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

// Runs the server to its exit (it refuses to start); returns its exit code
// and what it wrote to stderr.
int RunToExit(const std::string& dir, const std::string& flags, std::string* err) {
  const std::string err_file = dir + ".stderr";
  const std::string cmd =
      "server/policy_server --listen=127.0.0.1:0 --http_listen= --data_dir=" + dir + " " + flags +
      " 2>" + err_file + " </dev/null";
  const int status = std::system(cmd.c_str());
  std::ifstream in(err_file);
  std::stringstream text;
  text << in.rdbuf();
  *err = text.str();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int LevelOf(ServerProcess& server) {
  grpc::ClientContext c;
  v1::GetNumberStateRequest r;
  r.set_business_number("+14155550100");
  v1::NumberState s;
  EXPECT_TRUE(server.service().GetNumberState(&c, r, &s).ok());
  return s.tier_level();
}

TEST(ProfileDataTest, AnotherProfileIsRefusedAndTheSameOneStarts) {
  const std::string dir = MakeTempDir("profile");
  {
    ServerProcess server(dir, {"--profile=brief-2023"});
    ASSERT_TRUE(server.Start());
    ASSERT_TRUE(SetUpBusiness(server, "acme", {"+14155550100"}).ok());
    server.Kill(SIGTERM);
  }
  std::string err;
  EXPECT_EQ(RunToExit(dir, "--profile=platform-2025-10", &err), 2);
  EXPECT_NE(err.find("data directory was written under profile brief-2023 rev 1 ladder "
                     "[250,1000,10000,100000,unlimited] per number; this server runs "
                     "platform-2025-10 rev 1 ladder [250,2000,10000,100000,unlimited] per "
                     "portfolio: differs in name, ladder, limit scope; restart with "
                     "--migrate_profile"),
            std::string::npos)
      << err;
  // A config that changes the ladder under the same name is another profile too.
  const std::string config = dir + ".config";
  std::ofstream(config) << "ladder: [250, 1000, 20000, 100000, -1]\n";
  EXPECT_EQ(RunToExit(dir, "--config=" + config, &err), 2);
  EXPECT_NE(err.find("differs in ladder;"), std::string::npos) << err;

  // The profile it was written under still starts, with the state intact.
  ServerProcess server(dir, {"--profile=brief-2023"});
  ASSERT_TRUE(server.Start());
  EXPECT_EQ(LevelOf(server), 1);  // A verified business's start level.
}

TEST(ProfileDataTest, MigrateProfileRecordsTheNewProfile) {
  // A directory with only its profile recorded (no records: until the engine
  // writes the codec's layouts, migration reads only those).
  const std::string dir = MakeTempDir("profile");
  {
    ServerProcess server(dir, {"--profile=brief-2023"});
    ASSERT_TRUE(server.Start());
    server.Kill(SIGTERM);
  }
  std::string err;
  ASSERT_EQ(RunToExit(dir, "--profile=platform-2025-10", &err), 2) << err;
  {
    ServerProcess server(dir, {"--profile=platform-2025-10", "--migrate_profile"});
    ASSERT_TRUE(server.Start());
    server.Kill(SIGTERM);
  }
  // Recorded: no flag needed now, and the old profile is the one refused.
  {
    ServerProcess server(dir, {"--profile=platform-2025-10"});
    ASSERT_TRUE(server.Start());
  }
  EXPECT_EQ(RunToExit(dir, "--profile=brief-2023", &err), 2);
  EXPECT_NE(err.find("written under profile platform-2025-10"), std::string::npos) << err;
}

}  // namespace
}  // namespace wapolicy
