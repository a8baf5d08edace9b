// The JSON/HTTP face through the real server: the same calls, tokens and
// errors as gRPC, in the proto3 JSON mapping; HTTP statuses as grpc-gateway
// maps gRPC codes; bodies over 3 MB refused; TLS with the server's certificate.

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "server/token_authority.h"
#include "tests/http_client.h"
#include "tests/server_process.h"

namespace wapolicy {
namespace {

constexpr char kNumber[] = "+14155550100";
constexpr char kGlobexNumber[] = "+14155550200";

template <typename M>
M FromJson(const std::string& json) {
  M m;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = false;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &m, o).ok()) << json;
  return m;
}

std::string CheckJson(const std::string& customer, bool dry_run = false) {
  return std::string(R"({"businessNumber":")") + kNumber + R"(","customer":")" + customer +
         R"(","templateMessage":{"name":"t","language":"en"})" +
         (dry_run ? R"(,"dryRun":true)" : "") + "}";
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(MakeTempDir("http_api"), std::vector<std::string>{});
    ASSERT_TRUE(server_->Start());
    ASSERT_GT(server_->http_port(), 0);
    ASSERT_TRUE(SetUpBusiness(*server_, "acme", {kNumber}).ok());
    http_ =
        std::make_unique<HttpClient>("http://127.0.0.1:" + std::to_string(server_->http_port()));
  }
  // The customer opts in, through the JSON events call.
  void OptIn(const std::string& customer) {
    HttpClient::Response r = http_->Post(
        "/v1/events", std::string(R"({"businessNumber":")") + kNumber + R"(","customer":")" +
                          customer + R"(","optIn":{"source":"WEBSITE"}})");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> http_;
};

TEST_F(HttpApiTest, JsonCheckTakesTheSlotThatGrpcStateShows) {
  OptIn("+447700900001");
  HttpClient::Response r = http_->Post("/v1/check", CheckJson("+447700900001"));
  ASSERT_EQ(r.status, 200) << r.body;
  v1::Decision d = FromJson<v1::Decision>(r.body);
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.effect(), v1::OPENS_BUSINESS_INITIATED);
  EXPECT_FALSE(d.decision_id().empty());
  // Defaults are printed too: a JSON client sees "allowed": false, not nothing.
  EXPECT_TRUE(absl::StrContains(r.body, "\"retryAfterUnixMs\"")) << r.body;

  v1::NumberState grpc_state;
  ASSERT_TRUE(NumberStateOf(*server_, kNumber, &grpc_state).ok());
  EXPECT_EQ(grpc_state.used(), 1);
  // GET /v1/numbers/{number}, with or without the '+' (URL-encoded or not).
  for (const char* path : {"/v1/numbers/%2B14155550100", "/v1/numbers/14155550100"}) {
    HttpClient::Response s = http_->Get(path);
    ASSERT_EQ(s.status, 200) << path << " " << s.body;
    EXPECT_EQ(FromJson<v1::NumberState>(s.body).used(), 1) << path;
  }
}

TEST_F(HttpApiTest, BatchesAnswerInOrderAndEventsApply) {
  OptIn("+447700900001");
  HttpClient::Response r = http_->Post(
      "/v1/checkBatch", "{\"checks\":[" + CheckJson("+447700900001") + "," +
                            R"({"businessNumber":"nope","customer":"+447700900002"})" + "]}");
  ASSERT_EQ(r.status, 200) << r.body;
  v1::CheckBatchResponse b = FromJson<v1::CheckBatchResponse>(r.body);
  ASSERT_EQ(b.results_size(), 2);
  EXPECT_TRUE(b.results(0).decision().allowed());
  EXPECT_EQ(b.results(1).error().code(), 3);
  EXPECT_TRUE(absl::StrContains(b.results(1).error().message(), "business_number"));
  EXPECT_NE(b.results(0).decision().limit(), 0);  // A full answer.

  // "brief": the same decision without the extras.
  r = http_->Post("/v1/checkBatch",
                  "{\"brief\":true,\"checks\":[" + CheckJson("+447700900001") + "]}");
  ASSERT_EQ(r.status, 200) << r.body;
  v1::CheckBatchResponse brief = FromJson<v1::CheckBatchResponse>(r.body);
  ASSERT_EQ(brief.results_size(), 1);
  EXPECT_TRUE(brief.results(0).decision().allowed());
  EXPECT_FALSE(brief.results(0).decision().decision_id().empty());
  EXPECT_EQ(brief.results(0).decision().limit(), 0);
  EXPECT_TRUE(brief.results(0).decision().profile_name().empty());

  r = http_->Post("/v1/events:batch",
                  std::string(R"({"events":[{"businessNumber":")") + kNumber +
                      R"(","customer":"+447700900001","delivered":{}},{"businessNumber":")" +
                      kNumber + R"(","customer":"+447700900003","inbound":{"text":"hi"}}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  v1::EventBatchResponse e = FromJson<v1::EventBatchResponse>(r.body);
  ASSERT_EQ(e.results_size(), 2);
  EXPECT_EQ(e.results(0).response().delivery_outcome(), v1::STARTED_CONVERSATION);

  r = http_->Post("/v1/events", std::string(R"({"businessNumber":")") + kNumber +
                                    R"(","customer":"+447700900003","inbound":{"text":"STOP"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(FromJson<v1::EventResponse>(r.body).opted_out());
}

TEST_F(HttpApiTest, BadRequestsGetTheGrpcCodeAsHttpStatusNamingTheField) {
  // A misspelt field is refused, not taken as unset.
  HttpClient::Response r =
      http_->Post("/v1/check", R"({"businessNumber":"+14155550100","custmer":"+447700900001"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, "custmer")) << r.body;
  r = http_->Post("/v1/check", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, "\"code\":3")) << r.body;
  // Valid JSON, invalid value: the engine's INVALID_ARGUMENT names the field.
  r = http_->Post("/v1/check", R"({"businessNumber":"+14155550100","customer":"12"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(absl::StrContains(r.body, "customer")) << r.body;
  // An unknown number: NOT_FOUND -> 404.
  r = http_->Get("/v1/numbers/+14155559999");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(http_->Get("/v1/nope").status, 404);
  r = http_->Get("/v1/check");
  EXPECT_EQ(r.status, 405);
  EXPECT_TRUE(absl::StrContains(r.headers, "Allow: POST")) << r.headers;
  // Nothing above changed the number.
  v1::NumberState s;
  ASSERT_TRUE(NumberStateOf(*server_, kNumber, &s).ok());
  EXPECT_EQ(s.used(), 0);
}

TEST_F(HttpApiTest, BodyOverThreeMegabytesIs413AndChangesNothing) {
  std::string big = "{\"checks\":[";
  while (big.size() < (3u << 20) + 1024) big += CheckJson("+447700900001") + ",";
  big += CheckJson("+447700900001") + "]}";
  HttpClient::Response r = http_->Post("/v1/checkBatch", big);
  EXPECT_EQ(r.status, 413) << r.error;
  v1::NumberState s;
  ASSERT_TRUE(NumberStateOf(*server_, kNumber, &s).ok());
  EXPECT_EQ(s.used(), 0);
}

TEST_F(HttpApiTest, AdminCallsWorkOverJson) {
  HttpClient::Response r =
      http_->Post("/v1/admin/upsertBusiness", R"({"businessId":"globex","verified":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = http_->Post(
      "/v1/admin/registerNumber",
      std::string(R"({"businessId":"globex","businessNumber":")") + kGlobexNumber + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = http_->Post("/v1/admin/syncNumber", std::string(R"({"businessNumber":")") + kGlobexNumber +
                                              R"(","messagingLimit":"250"})");
  ASSERT_EQ(r.status, 200) << r.body;
  v1::NumberState s;
  ASSERT_TRUE(NumberStateOf(*server_, kGlobexNumber, &s).ok());
  EXPECT_EQ(s.limit(), 250);
  r = http_->Get("/v1/admin/serverInfo");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(FromJson<v1::GetServerInfoResponse>(r.body).numbers(), 2);
  // A request the admin service refuses keeps its gRPC code.
  r = http_->Post("/v1/admin/advanceClock", R"({"seconds":"60"})");
  EXPECT_EQ(r.status, 400) << r.body;  // FAILED_PRECONDITION: no fake clock.
  EXPECT_TRUE(absl::StrContains(r.body, "FAILED_PRECONDITION")) << r.body;
}

TEST(HttpAuthTest, TokensReachOnlyTheirOwnBusinessOverHttp) {
  const std::string dir = MakeTempDir("http_auth");
  const std::string tokens = dir + ".tokens";
  std::ofstream(tokens) << TokenAuthority::HashToken("root-token") << " admin\n"
                        << TokenAuthority::HashToken("acme-token") << " business acme\n"
                        << TokenAuthority::HashToken("globex-token") << " business globex\n";
  ServerProcess server(dir, {"--tokens_file=" + tokens});
  ASSERT_TRUE(server.Start());
  HttpClient http("http://127.0.0.1:" + std::to_string(server.http_port()));
  const std::vector<std::string> root = {"Authorization: Bearer root-token"};
  const std::vector<std::string> acme = {"Authorization: Bearer acme-token"};
  const std::vector<std::string> globex = {"Authorization: Bearer globex-token"};
  ASSERT_EQ(http.Post("/v1/admin/upsertBusiness", R"({"businessId":"acme"})", root).status, 200);
  ASSERT_EQ(http.Post("/v1/admin/registerNumber",
                      R"({"businessId":"acme","businessNumber":"+14155550100"})", root)
                .status,
            200);
  // No token, an unknown token: 401.
  EXPECT_EQ(http.Get("/v1/numbers/+14155550100").status, 401);
  EXPECT_EQ(http.Get("/v1/numbers/+14155550100", {"Authorization: Bearer nope"}).status, 401);
  // Another business's token: 403, and nothing learnt.
  EXPECT_EQ(http.Get("/v1/numbers/+14155550100", globex).status, 403);
  EXPECT_EQ(http.Post("/v1/check", CheckJson("+447700900001", /*dry_run=*/true), globex).status,
            403);
  // A business token cannot make admin calls.
  HttpClient::Response r =
      http.Post("/v1/admin/upsertBusiness", R"({"businessId":"acme","verified":true})", acme);
  EXPECT_EQ(r.status, 403);
  EXPECT_TRUE(absl::StrContains(r.body, "admin")) << r.body;
  // Its own number: fine.
  EXPECT_EQ(http.Get("/v1/numbers/+14155550100", acme).status, 200);
}

TEST(HttpTlsTest, ServesHttpsWithTheServersCertificate) {
  const std::string dir = MakeTempDir("http_tls");
  std::string cert, key;
  ASSERT_TRUE(MakeTestCertificate(dir, &cert, &key));
  ServerProcess server(dir, {"--tls_cert_file=" + cert, "--tls_key_file=" + key});
  ASSERT_TRUE(server.Start());
  const std::string port = std::to_string(server.http_port());
  HttpClient https("https://127.0.0.1:" + port, cert);
  HttpClient::Response r = https.Get("/v1/admin/serverInfo");
  EXPECT_EQ(r.status, 200) << r.error << r.body;
  // Plain HTTP to the TLS port gets no answer.
  HttpClient plain("http://127.0.0.1:" + port);
  EXPECT_NE(plain.Get("/v1/admin/serverInfo").status, 200);
}

}  // namespace
}  // namespace wapolicy
