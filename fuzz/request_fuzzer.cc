// Fuzzes request validation: arbitrary bytes as each request the server
// accepts, through the same translation the server does, and into an engine.
// The first byte picks the request type. Must never crash, leak or trip UBSan.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "policy/policy_engine.h"
#include "proto/wapolicy/v1/policy.pb.h"
#include "server/proto_convert.h"

namespace {

using namespace wapolicy;

struct Env {
  Env() : clock(absl::FromUnixSeconds(1767225600)), engine(DefaultProfile(), &clock, nullptr) {
    (void)engine.UpsertBusiness("acme", true, false);
    (void)engine.RegisterNumber(PhoneNumber::Parse("+14155550100").value(), "acme");
    (void)engine.PutTemplate("acme",
                             {"t", "en", TemplateCategory::kUtility, TemplateStatus::kApproved});
  }
  ManualClock clock;
  PolicyEngine engine;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Env* env = new Env();
  if (size < 1) return 0;
  const uint8_t kind = data[0] % 4;
  const void* body = data + 1;
  const int len = static_cast<int>(size - 1);
  switch (kind) {
    case 0: {
      v1::CheckRequest req;
      if (!req.ParseFromArray(body, len)) return 0;
      absl::StatusOr<OutgoingMessage> m = FromProto(req);
      if (!m.ok()) return 0;
      m->dry_run = true;  // Keep the shared engine from filling up.
      (void)env->engine.Check(*m);
      return 0;
    }
    case 1: {
      v1::EventRequest req;
      if (!req.ParseFromArray(body, len)) return 0;
      auto n = ParsePhoneField("business_number", req.business_number());
      auto c = ParsePhoneField("customer", req.customer());
      if (!n.ok() || !c.ok()) return 0;
      if (req.has_blocked()) (void)FromProto(req.blocked().reason());
      if (req.has_opt_in()) (void)FromProto(req.opt_in().source());
      if (req.has_inbound()) (void)env->engine.RecordInbound(*n, *c, req.inbound().text());
      return 0;
    }
    case 2: {
      v1::Template req;
      if (!req.ParseFromArray(body, len)) return 0;
      absl::StatusOr<MessageTemplate> t = FromProto(req);
      if (t.ok()) (void)ValidateTemplate(*t, MessageLimits(), {"stop"});
      return 0;
    }
    default: {
      v1::CheckBatchRequest req;
      if (!req.ParseFromArray(body, len)) return 0;
      std::vector<OutgoingMessage> ms;
      for (const auto& r : req.checks()) {
        auto m = FromProto(r);
        if (m.ok()) {
          m->dry_run = true;
          ms.push_back(*m);
        }
        if (ms.size() >= 64) break;
      }
      (void)env->engine.CheckBatch(ms);
      return 0;
    }
  }
}
