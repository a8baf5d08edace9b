// What the wire format alone costs per decision in a 100-check CheckBatch,
// in-process: parsing the request, turning it into the engine's messages,
// building and serializing the 100 answers, each as the server does it, and
// beside them the batched floor's work (one bytes field of the same size,
// parsed and serialized). Issue 18 compares the server's CPU per decision
// with the batched floor server's CPU per record; these figures say how much
// of that ratio the protobuf API spends before any rule runs.
//
//   bazel run -c opt //bench:wire_cost_bench
//
// Requests are compare.sh's (bench/make_requests: a business number, a
// customer, a template name and language); answers are an allowed decision
// on an open conversation, as CheckBatch answers repeats.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/wrappers.pb.h"
#include "policy/decision.h"
#include "policy/policy_profile.h"
#include "proto/wapolicy/v1/policy.pb.h"
#include "server/decision_api.h"
#include "server/policy_service.h"
#include "server/proto_convert.h"

namespace wapolicy {
namespace {

constexpr int kBatch = 100;

// bench/make_requests' request k.
v1::CheckRequest Request(uint64_t k) {
  v1::CheckRequest r;
  r.set_business_number(absl::StrCat("+1415555", 1000 + k % 100));
  r.set_customer(absl::StrCat("+44770", 1000000 + (k * 2654435761ULL) % 100000));
  r.mutable_template_message()->set_name("bench_update");
  r.mutable_template_message()->set_language("en");
  return r;
}

std::string BatchBytes() {
  v1::CheckBatchRequest b;
  for (int i = 0; i < kBatch; ++i) *b.add_checks() = Request(i);
  return b.SerializeAsString();
}

// An allowed check on an open conversation, as the engine answers it.
Decision OpenConversationDecision() {
  Decision d;
  d.allowed = true;
  d.reason = ReasonCode::kAllowed;
  d.effect = ConversationEffect::kReusesBusinessInitiated;
  d.limit = 100000;
  d.used = 64123;
  const absl::Time now = absl::FromUnixSeconds(1796000000);
  d.next_slot_free = now + absl::Hours(3);
  d.conversation_ends = now + absl::Hours(20);
  return d;
}

// The batched floor's work per call: one bytes field of the request's size in, the same out.
void BM_FloorBlobEcho(benchmark::State& state) {
  google::protobuf::BytesValue in;
  in.set_value(std::string(BatchBytes().size(), 'x'));
  const std::string bytes = in.SerializeAsString();
  std::string out;
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* req = google::protobuf::Arena::CreateMessage<google::protobuf::BytesValue>(&arena);
    req->ParseFromString(bytes);
    auto* resp = google::protobuf::Arena::CreateMessage<google::protobuf::BytesValue>(&arena);
    *resp->mutable_value() = req->value();
    resp->SerializeToString(&out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_FloorBlobEcho);

// Parsing the 100 checks on an arena, as the server's CheckBatch allocator
// does (Arg(1): its CallArenaOptions; Arg(0): protobuf's defaults).
void BM_ParseCheckBatch(benchmark::State& state) {
  const std::string bytes = BatchBytes();
  const google::protobuf::ArenaOptions o =
      state.range(0) != 0 ? CallArenaOptions() : google::protobuf::ArenaOptions();
  for (auto _ : state) {
    google::protobuf::Arena arena(o);
    auto* req = google::protobuf::Arena::CreateMessage<v1::CheckBatchRequest>(&arena);
    benchmark::DoNotOptimize(req->ParseFromString(bytes));
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_ParseCheckBatch)->Arg(0)->Arg(1);

// Validating them into the engine's messages (numbers parsed, strings copied).
void BM_FromProtoBatch(benchmark::State& state) {
  v1::CheckBatchRequest req;
  req.ParseFromString(BatchBytes());
  std::vector<OutgoingMessage> valid;
  valid.reserve(kBatch);
  for (auto _ : state) {
    valid.clear();
    PhoneNumberCache numbers;
    for (const v1::CheckRequest& c : req.checks()) {
      absl::StatusOr<OutgoingMessage> m = FromProto(c, "", &numbers);
      valid.push_back(*std::move(m));
    }
    benchmark::DoNotOptimize(valid.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_FromProtoBatch);

// Building the 100 answers (with the decision log's ids) and serializing them;
// Arg(1): brief answers (CheckBatchRequest.brief).
void BM_BuildAndSerializeAnswers(benchmark::State& state) {
  const bool brief = state.range(0) != 0;
  const Decision d = OpenConversationDecision();
  const PolicyProfile profile;  // The default, "brief-2023".
  std::string out;
  uint64_t id = 1;
  for (auto _ : state) {
    google::protobuf::Arena arena(CallArenaOptions());
    auto* resp = google::protobuf::Arena::CreateMessage<v1::CheckBatchResponse>(&arena);
    resp->mutable_results()->Reserve(kBatch);
    for (int i = 0; i < kBatch; ++i) {
      v1::Decision* p = resp->add_results()->mutable_decision();
      ToProto(d, profile, p, brief);
      FormatDecisionId(id++, p->mutable_decision_id());
    }
    resp->SerializeToString(&out);
    benchmark::DoNotOptimize(out);
  }
  state.counters["bytes_per_decision"] = static_cast<double>(out.size()) / kBatch;
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_BuildAndSerializeAnswers)->Arg(0)->Arg(1);

}  // namespace
}  // namespace wapolicy
