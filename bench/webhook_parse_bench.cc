// Cost of reading one webhook POST (Google Benchmark): a batch of 1,000
// statuses (~250 KB, the platform's largest batch) read into webhook.proto's
// message by simdjson (what the endpoint uses) and by protobuf's own
// JsonStringToMessage (the reference), translated to engine requests, and
// its signature checked.
// Run: bazel run -c opt //bench:webhook_parse_bench

#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "server/http/webhook_payload.h"
#include "server/http/webhook_signature.h"

namespace wapolicy {
namespace {

// `n` statuses of distinct messages to distinct customers, as v24 sends them
// (pricing, no conversation): sent, delivered and read in turn.
std::string StatusBatch(int n) {
  static constexpr const char* kStatus[] = {"sent", "delivered", "read"};
  std::string body =
      absl::StrCat(R"({"object":"whatsapp_business_account","entry":[{"id":"300000000000001",)",
                   R"("changes":[{"field":"messages","value":{"messaging_product":"whatsapp",)",
                   R"("metadata":{"display_phone_number":"14155550100",)",
                   R"("phone_number_id":"200000000000001"},"statuses":[)");
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(
        &body, i == 0 ? "" : ",", R"({"id":"wamid.HBgLNDQ3NzAwOTAwMDAxFQIAERgSQjE)", 100000 + i,
        R"(RkE1NkQ3QTlCMjdFAA==","status":")", kStatus[i % 3], R"(","timestamp":")", 1767225600 + i,
        R"(","recipient_id":"4477009)", 10000 + i, R"(","biz_opaque_callback_data":"c7-)", i,
        R"(","pricing":{"pricing_model":"PMP","type":"regular",)", R"("category":"marketing"}})");
  }
  absl::StrAppend(&body, "]}}]}]}");
  return body;
}

const std::string& Body() {
  static const std::string* const kBody = new std::string(StatusBatch(1000));
  return *kBody;
}

// JSON to the payload's message: simdjson.
void BM_ParseWebhookJson(benchmark::State& state) {
  const std::string& body = Body();
  for (auto _ : state) {
    absl::StatusOr<v1::WebhookEnvelope> e = ParseWebhookJson(body);
    if (!e.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(e);
  }
  state.SetBytesProcessed(state.iterations() * body.size());
  state.counters["body_bytes"] = body.size();
}
BENCHMARK(BM_ParseWebhookJson)->Unit(benchmark::kMillisecond);

// The same with protobuf's JsonStringToMessage.
void BM_ParseWebhookJsonWithProtobuf(benchmark::State& state) {
  const std::string& body = Body();
  for (auto _ : state) {
    absl::StatusOr<v1::WebhookEnvelope> e = ParseWebhookJsonWithProtobuf(body);
    if (!e.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(e);
  }
  state.SetBytesProcessed(state.iterations() * body.size());
}
BENCHMARK(BM_ParseWebhookJsonWithProtobuf)->Unit(benchmark::kMillisecond);

// The message to 1,000 EventRequests.
void BM_TranslateWebhook(benchmark::State& state) {
  const v1::WebhookEnvelope envelope = *ParseWebhookJson(Body());
  for (auto _ : state) {
    ParsedWebhook p = TranslateWebhook(envelope);
    if (p.updates.size() != 1000) state.SkipWithError("not 1000 updates");
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_TranslateWebhook)->Unit(benchmark::kMillisecond);

// The whole of ParseWhatsAppWebhook: what the endpoint pays per body.
void BM_ParseWhatsAppWebhook(benchmark::State& state) {
  const std::string& body = Body();
  for (auto _ : state) {
    absl::StatusOr<ParsedWebhook> p = ParseWhatsAppWebhook(body);
    if (!p.ok() || p->updates.size() != 1000) state.SkipWithError("not 1000 updates");
    benchmark::DoNotOptimize(p);
  }
  state.SetBytesProcessed(state.iterations() * body.size());
}
BENCHMARK(BM_ParseWhatsAppWebhook)->Unit(benchmark::kMillisecond);

// HMAC-SHA256 of the same body.
void BM_VerifyWebhookSignature(benchmark::State& state) {
  const std::string& body = Body();
  const std::string header = SignWebhookBody("app-secret-0123456789abcdef", body);
  for (auto _ : state) {
    absl::Status s = VerifyWebhookSignature("app-secret-0123456789abcdef", body, header);
    if (!s.ok()) state.SkipWithError("signature refused");
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(state.iterations() * body.size());
}
BENCHMARK(BM_VerifyWebhookSignature)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace wapolicy
