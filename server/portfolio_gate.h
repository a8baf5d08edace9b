// PortfolioGate: whether this node may serve a business's portfolio now.
//
// Every call that concerns one business (a check, an event, a number's
// state, a campaign, an admin call on a business or its numbers, a webhook
// POST by path) consults the gate with that business before it touches the
// engine (server/business_route.h does it, for every door). The gate answers
// OK, or the status the call is answered with, and the call changes nothing:
//  - FAILED_PRECONDITION made by NotOwnerError: another node owns the
//    portfolio. Its addresses travel with the status; the gRPC doors send
//    its gRPC address as trailing metadata `x-wapolicy-owner`, the HTTP
//    doors answer 421 Misdirected Request with its HTTP address (its gRPC
//    one if the gate gave none) in an `X-Wapolicy-Owner` header.
//  - UNAVAILABLE made by PortfolioMovingError: the portfolio is moving (or
//    its owner is not known now); retry after the given time. gRPC: trailing
//    metadata `x-wapolicy-retry-after-ms`; HTTP: 503 with `Retry-After`
//    (seconds, rounded up) and `X-Wapolicy-Retry-After-Ms`.
//  - any other status, answered as it is.
//
// A single node (no cluster) uses SingleNodeGate: everything is its own.
//
//   class RingGate : public PortfolioGate {
//    public:
//     absl::Status MayServe(absl::string_view business) const override {
//       const Owner o = ring_.OwnerOf(business);       // Thread-safe lookup.
//       if (o.moving) return PortfolioMovingError(business, absl::Milliseconds(200));
//       if (o.address != self_) return NotOwnerError(business, o.address);
//       return absl::OkStatus();
//     }
//   };
//   BusinessRoute::Options options;
//   options.gate = &ring_gate;  // Must outlive the services.
#ifndef WAPOLICY_SERVER_PORTFOLIO_GATE_H_
#define WAPOLICY_SERVER_PORTFOLIO_GATE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wapolicy {

class PortfolioGate {
 public:
  virtual ~PortfolioGate() = default;

  // OK if this node may serve `business` (a valid business id) now; else the
  // status to answer the call with (see above). Called on every call, from
  // many threads at once: thread-safe and cheap (no I/O).
  virtual absl::Status MayServe(absl::string_view business) const = 0;

  // True if MayServe is OK for every business, always: a call that names no
  // business (no x-wapolicy-business) then need not have its request's
  // businesses looked up for the gate. Only SingleNodeGate says so.
  virtual bool ServesAll() const { return false; }

  // Called by UpsertBusiness before it creates or changes a business: OK if
  // this node may hold `business` from now on. A cluster's gate records the
  // claim (an etcd pin created only if absent, so one node wins) and may
  // do I/O; the default is MayServe's answer.
  virtual absl::Status Claim(absl::string_view business) const { return MayServe(business); }
};

// Every business is this node's: the single-node server's gate.
class SingleNodeGate final : public PortfolioGate {
 public:
  absl::Status MayServe(absl::string_view) const override { return absl::OkStatus(); }
  bool ServesAll() const override { return true; }
  // One shared instance.
  static const SingleNodeGate* Get();
};

// FAILED_PRECONDITION: `owner_address` (host:port of the owning node's
// gRPC listener) serves `business`; the address rides in the status
// (OwnerAddressOf) and its message.
absl::Status NotOwnerError(absl::string_view business, absl::string_view owner_address);
// The same with the owner's HTTP address too (host:port of its HTTP
// listener), which the HTTP doors send instead (OwnerHttpAddressOf).
absl::Status NotOwnerError(absl::string_view business, absl::string_view owner_address,
                           absl::string_view owner_http_address);
// UNAVAILABLE: `business` cannot be served for `retry_after` (a move under
// way); the time rides in the status (RetryAfterOf) and its message.
absl::Status PortfolioMovingError(absl::string_view business, absl::Duration retry_after);
// UNAVAILABLE: this node decides for no portfolio now (a cluster node that
// lost its etcd lease); `why` says so, the retry time rides as above.
absl::Status NodeNotServingError(absl::string_view why, absl::Duration retry_after);

// What NotOwnerError / PortfolioMovingError put in a status, if it has it.
std::optional<std::string> OwnerAddressOf(const absl::Status& s);
std::optional<std::string> OwnerHttpAddressOf(const absl::Status& s);
std::optional<absl::Duration> RetryAfterOf(const absl::Status& s);

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_PORTFOLIO_GATE_H_
