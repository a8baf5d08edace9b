// BusinessRoute: every call names its business (the partition key), in gRPC
// metadata or an HTTP header `x-wapolicy-business`, and is checked in this
// one place, by every door (PolicyService, PolicyAdmin, PolicyCampaigns,
// PolicyEvents, GetDecision, the JSON API, the webhooks by path):
//  - Name(): with the caller, at each door: reads the header. A value that
//    is not a business id is INVALID_ARGUMENT; a business token naming
//    another business than its own is PERMISSION_DENIED (the token's limit
//    to its own numbers, server/token_authority.h, stays as it was).
//  - Check(): before a call that concerns a business touches the engine.
//    With the header: the portfolio gate (server/portfolio_gate.h) is
//    consulted with it, then every business_id and business_number in the
//    request (nested and repeated ones too: checks[3].business_number,
//    campaign.business_number) must be that business's: else
//    INVALID_ARGUMENT naming the field ("x-wapolicy-business: 'acme' but
//    business_number +14155550100 belongs to 'globex'"), so a batch or a
//    stream names one business. A number this node does not know, or that
//    is not a number, is left to the call (NOT_FOUND, INVALID_ARGUMENT as
//    before). Without the header: INVALID_ARGUMENT under
//    `require_header` (--require_business_header); otherwise the call goes
//    on as on a single node, the gate consulted with each business its
//    request names (none looked up with SingleNodeGate).
//  - Refuse(): the refusal for a gRPC door, with the owner's address or the
//    retry time as trailing metadata (x-wapolicy-owner,
//    x-wapolicy-retry-after-ms). HTTP doors use ErrorResponse
//    (server/http/http_errors.h): 421 with X-Wapolicy-Owner, 503 with
//    Retry-After.
// A refused call changes nothing. Node-wide calls (GetServerInfo,
// AdvanceClock, /metrics) are not checked; lists (state events, the
// dashboard's numbers) are narrowed to the header's business when one is
// named (ListScope) and consult the gate with it.
//
//   BusinessRoute::Options options;
//   options.require_header = absl::GetFlag(FLAGS_require_business_header);
//   BusinessRoute route(&engine, options);  // Gate: SingleNodeGate.
//   absl::StatusOr<Caller> caller = auth->Authenticate(ctx->client_metadata());
//   if (absl::Status s = route.Name(*ctx, &*caller); !s.ok()) return Refuse(ctx, s);
//   if (absl::Status s = route.Check(*caller, *request); !s.ok()) return Refuse(ctx, s);
//   ...  // The engine.
#ifndef WAPOLICY_SERVER_BUSINESS_ROUTE_H_
#define WAPOLICY_SERVER_BUSINESS_ROUTE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "policy/phone_number.h"
#include "policy/policy_engine.h"
#include "server/portfolio_gate.h"
#include "server/token_authority.h"

namespace wapolicy {

// The header (gRPC metadata keys are lower case; HTTP's is matched in any case).
inline constexpr char kBusinessHeader[] = "x-wapolicy-business";
// Trailing metadata of a gate's refusal: the owner's host:port
// (FAILED_PRECONDITION), and the milliseconds to wait (UNAVAILABLE).
inline constexpr char kOwnerTrailer[] = "x-wapolicy-owner";
inline constexpr char kRetryAfterTrailer[] = "x-wapolicy-retry-after-ms";

class BusinessRoute {
 public:
  struct Options {
    // --require_business_header: a call that concerns a business and names
    // none is INVALID_ARGUMENT (a cluster's node: the router routes by it).
    bool require_header = false;
    // Consulted with the business of every call; null: SingleNodeGate.
    // Must outlive the route.
    const PortfolioGate* gate = nullptr;
  };

  // `engine` (may be null: numbers are then not matched) finds the business
  // a number belongs to; it must outlive the route.
  explicit BusinessRoute(const PolicyEngine* engine, Options options);
  explicit BusinessRoute(const PolicyEngine* engine) : BusinessRoute(engine, Options()) {}
  ~BusinessRoute();
  BusinessRoute(const BusinessRoute&) = delete;
  BusinessRoute& operator=(const BusinessRoute&) = delete;

  // Sets caller->routed_business from the header (nullopt: not sent; an
  // HTTP door passes its header, a gRPC door its context).
  absl::Status Name(std::optional<absl::string_view> header, Caller* caller) const;
  absl::Status Name(const grpc::ServerContextBase& ctx, Caller* caller) const;

  // The rule above for a call whose request is `request`.
  absl::Status Check(const Caller& caller, const google::protobuf::Message& request) const;
  // For a call whose business is known another way (a webhook's path, a
  // list narrowed by the header): the gate's word on it.
  absl::Status Gate(absl::string_view business) const { return gate_->MayServe(business); }
  // The header against a number found only once the call has looked
  // something up (GetDecision's decision): OK without a header, for a
  // business token (its own rule answers), or for an unknown number.
  absl::Status MatchNumber(const Caller& caller, absl::string_view field, PhoneNumber number) const;

  bool require_header() const { return options_.require_header; }
  const PortfolioGate& gate() const { return *gate_; }

  // The caller a list call (state events, the dashboard's numbers) reads
  // as: with a header, the gate consulted and that business's only (as a
  // business token sees); without, the caller's usual view, unchecked.
  absl::StatusOr<Caller> ListScope(const Caller& caller) const;

  // `s` for a gRPC door: a gate's refusal also sets the trailing metadata
  // (x-wapolicy-owner, x-wapolicy-retry-after-ms) on `ctx` (may be null).
  static grpc::Status Refuse(grpc::ServerContextBase* ctx, const absl::Status& s);

  // Which fields of a message type hold a business (cached per type). An
  // implementation detail (public for the walker in the .cc file).
  struct Plan;

 private:
  const Plan& PlanOf(const google::protobuf::Descriptor* d) const;
  const Plan* BuildLocked(const google::protobuf::Descriptor* d) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PolicyEngine* const engine_;
  const Options options_;
  const PortfolioGate* const gate_;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<const google::protobuf::Descriptor*, std::unique_ptr<Plan>> plans_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_BUSINESS_ROUTE_H_
