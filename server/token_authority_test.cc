#include "server/token_authority.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace wapolicy {
namespace {

TEST(TokenAuthorityTest, HashesWithSha256) {
  EXPECT_EQ(TokenAuthority::HashToken("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokenAuthorityTest, KnowsAdminsAndBusinessesByHashOnly) {
  const std::string text = absl::StrCat("# comment\n", TokenAuthority::HashToken("root-secret"),
                                        " admin\n", TokenAuthority::HashToken("acme-secret"),
                                        " business acme  # trailing comment\n\n");
  auto auth = TokenAuthority::Parse(text);
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ((*auth)->size(), 2u);
  EXPECT_TRUE((*auth)->AuthenticateToken("root-secret")->admin);
  auto acme = (*auth)->AuthenticateToken("acme-secret");
  ASSERT_TRUE(acme.ok());
  EXPECT_FALSE(acme->admin);
  EXPECT_EQ(acme->business_id, "acme");
  EXPECT_EQ((*auth)->AuthenticateToken("nope").status().code(), absl::StatusCode::kUnauthenticated);
  // The hash itself is not a token.
  EXPECT_FALSE((*auth)->AuthenticateToken(TokenAuthority::HashToken("root-secret")).ok());
}

TEST(TokenAuthorityTest, ReadsBearerMetadata) {
  auto auth = TokenAuthority::Parse(TokenAuthority::HashToken("t") + " admin");
  ASSERT_TRUE(auth.ok());
  std::multimap<grpc::string_ref, grpc::string_ref> md;
  EXPECT_EQ((*auth)->Authenticate(md).status().code(), absl::StatusCode::kUnauthenticated);
  md.emplace("authorization", "t");
  EXPECT_EQ((*auth)->Authenticate(md).status().code(), absl::StatusCode::kUnauthenticated);
  md.clear();
  md.emplace("authorization", "Bearer t");
  EXPECT_TRUE((*auth)->Authenticate(md).ok());
}

TEST(TokenAuthorityTest, RejectsMalformedFilesNamingTheLine) {
  const std::string h = TokenAuthority::HashToken("x");
  for (const std::string& bad : {std::string("secret admin"), h + " root", h + " business",
                                 h + " business bad id!", h + " admin\n" + h + " admin"}) {
    auto a = TokenAuthority::Parse(bad);
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(a.status().message().find("line"), std::string::npos);
  }
}

}  // namespace
}  // namespace wapolicy
