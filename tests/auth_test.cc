// Credentials and TLS through the real server: tokens scoped to one business
// or admin, every refusal, and a TLS listener.

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "server/token_authority.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kAcmeNumber[] = "+14155550100";
constexpr char kGlobexNumber[] = "+14155550200";

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("auth");
    tokens_ = dir_ + ".tokens";
    std::ofstream(tokens_) << "# operators\n"
                           << TokenAuthority::HashToken("root-token") << " admin\n"
                           << TokenAuthority::HashToken("acme-token") << " business acme\n"
                           << TokenAuthority::HashToken("globex-token") << " business globex\n";
    server_ =
        std::make_unique<ServerProcess>(dir_, std::vector<std::string>{"--tokens_file=" + tokens_});
    ASSERT_TRUE(server_->Start());
    for (auto [business, number] : {std::pair{"acme", kAcmeNumber}, std::pair{"globex", kGlobexNumber}}) {
      ASSERT_TRUE(SetUpBusiness(*server_, business, {number}, "", "root-token").ok());
    }
  }
  static void As(grpc::ClientContext* c, const std::string& token) {
    if (!token.empty()) c->AddMetadata("authorization", "Bearer " + token);
  }
  grpc::Status State(const std::string& token, const std::string& number) {
    grpc::ClientContext c;
    As(&c, token);
    v1::GetNumberStateRequest r;
    r.set_business_number(number);
    v1::NumberState s;
    return server_->service().GetNumberState(&c, r, &s);
  }
  static v1::CheckRequest Check(const std::string& number) {
    v1::CheckRequest r;
    r.set_business_number(number);
    r.set_customer("+447700900001");
    r.mutable_session()->set_type(v1::TEXT);
    return r;
  }

  std::string dir_, tokens_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(AuthTest, TokensFileHoldsOnlyHashes) {
  std::ifstream in(tokens_);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find("acme-token"), std::string::npos);
}

TEST_F(AuthTest, NoOrUnknownTokenIsUnauthenticated) {
  EXPECT_EQ(State("", kAcmeNumber).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(State("guess", kAcmeNumber).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // The hash from the file is not a token.
  EXPECT_EQ(State(TokenAuthority::HashToken("acme-token"), kAcmeNumber).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext c;
  v1::GetServerInfoResponse info;
  EXPECT_EQ(server_->admin().GetServerInfo(&c, v1::GetServerInfoRequest(), &info).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthTest, BusinessTokensReachOnlyTheirOwnNumbers) {
  EXPECT_TRUE(State("acme-token", kAcmeNumber).ok());
  EXPECT_TRUE(State("root-token", kGlobexNumber).ok());
  grpc::Status s = State("acme-token", kGlobexNumber);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("business_number"), std::string::npos);
  // Unknown numbers look the same as other businesses' numbers.
  EXPECT_EQ(State("acme-token", "+14155550999").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  {
    grpc::ClientContext c;
    As(&c, "acme-token");
    v1::Decision d;
    EXPECT_EQ(server_->service().Check(&c, Check(kGlobexNumber), &d).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext c;
    As(&c, "acme-token");
    v1::EventRequest e;
    e.set_business_number(kGlobexNumber);
    e.set_customer("+447700900001");
    e.mutable_opt_out();
    v1::EventResponse r;
    EXPECT_EQ(server_->service().ReportEvent(&c, e, &r).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    // Batches: each entry is judged on its own.
    grpc::ClientContext c;
    As(&c, "acme-token");
    v1::CheckBatchRequest b;
    *b.add_checks() = Check(kAcmeNumber);
    *b.add_checks() = Check(kGlobexNumber);
    v1::CheckBatchResponse r;
    ASSERT_TRUE(server_->service().CheckBatch(&c, b, &r).ok());
    EXPECT_TRUE(r.results(0).has_decision());
    EXPECT_EQ(r.results(1).error().code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext c;
    As(&c, "globex-token");
    auto stream = server_->service().Decide(&c);
    v1::DecideRequest req;
    *req.add_checks() = Check(kAcmeNumber);
    ASSERT_TRUE(stream->Write(req));
    v1::DecideResponse resp;
    ASSERT_TRUE(stream->Read(&resp));
    EXPECT_EQ(resp.results(0).error().code(), grpc::StatusCode::PERMISSION_DENIED);
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
  }
  {
    grpc::ClientContext c;  // No token: the stream itself is refused.
    auto stream = server_->service().Decide(&c);
    v1::DecideResponse resp;
    EXPECT_FALSE(stream->Read(&resp));
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
}

TEST_F(AuthTest, AdminCallsNeedAnAdminToken) {
  grpc::ClientContext c;
  As(&c, "acme-token");
  v1::UpsertBusinessRequest b;
  b.set_business_id("acme");
  b.set_verified(true);
  b.set_official_business_account(true);
  v1::UpsertBusinessResponse r;
  grpc::Status s = server_->admin().UpsertBusiness(&c, b, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("admin"), std::string::npos);
  grpc::ClientContext c2;
  As(&c2, "root-token");
  EXPECT_TRUE(server_->admin().UpsertBusiness(&c2, b, &r).ok());
}

TEST(TlsTest, ServesTlsWithTheGivenCertificate) {
  const std::string dir = MakeTempDir("tls");
  std::string cert, key;
  ASSERT_TRUE(MakeTestCertificate(dir, &cert, &key));
  ServerProcess server(dir, {"--tls_cert_file=" + cert, "--tls_key_file=" + key});
  ASSERT_TRUE(server.Start());
  std::ifstream in(cert);
  std::stringstream pem;
  pem << in.rdbuf();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pem.str();
  auto tls = v1::PolicyAdmin::NewStub(
      grpc::CreateChannel(server.address(), grpc::SslCredentials(options)));
  grpc::ClientContext c;
  v1::GetServerInfoResponse info;
  EXPECT_TRUE(tls->GetServerInfo(&c, v1::GetServerInfoRequest(), &info).ok());
  // A plaintext client cannot talk to it.
  grpc::ClientContext c2;
  c2.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  EXPECT_FALSE(server.admin().GetServerInfo(&c2, v1::GetServerInfoRequest(), &info).ok());
}

}  // namespace
}  // namespace wapolicy
