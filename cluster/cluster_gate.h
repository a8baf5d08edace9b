// ClusterGate: a cluster node's PortfolioGate (server/portfolio_gate.h), the
// answer to "may this node decide for this business now?" read from the
// node's Membership (cluster/membership.h).
//
//   MayServe(b), on every call, from memory (a lock and a shared_ptr copy of
//   the current Assignment; no etcd round trip):
//    - the node is not Serving() (its lease is lost, etcd unreachable past
//      the ttl): UNAVAILABLE for every business, with a retry time: the node
//      stops deciding until it has a lease again;
//    - b's owner (its pin, else the ring) is this node: OK if SERVING,
//      UNAVAILABLE with a retry time if MOVING;
//    - otherwise FAILED_PRECONDITION naming the owner's gRPC and HTTP
//      addresses (x-wapolicy-owner on gRPC, X-Wapolicy-Owner on HTTP 421).
//   Claim(b), from UpsertBusiness before a business is created or changed:
//    - pinned to this node and SERVING: OK; pinned elsewhere: as MayServe;
//    - not pinned: only the ring owner may claim it; it creates the pin
//      <prefix>/portfolios/<b> = {owner: self, SERVING} in a transaction
//      guarded by the key's absence, so of two nodes that both believe they
//      own b (during a ring change) exactly one wins, and waits until its
//      assignment has the pin.
//   PinHeld(businesses), once at start before serving: pins the businesses
//   this node holds data for that have no pin yet (create-if-absent). One
//   pinned elsewhere means this node's copy is stale (it was moved away or
//   recreated elsewhere): MayServe refuses it like any other business.
//
// Placement (README "Scaling out"): every portfolio gets a pin when it is
// created, so the router can list every portfolio explicitly for gRPC and
// HTTP alike (nginx's consistent hash picks by the server line's text, so
// the gRPC and HTTP upstreams would disagree), and the ring only decides
// where a new business is created. Adding a node to the ring then moves no
// existing portfolio; moves change pins.
//
// Until Attach() (the node is still joining) every call is UNAVAILABLE, so
// the gate can be handed to the services before the listeners' ports (which
// the node advertises) are known.
//
//   ClusterGate gate;
//   BusinessRoute::Options route_options;
//   route_options.gate = &gate;
//   ... start the listeners ...
//   absl::StatusOr<std::unique_ptr<Membership>> m = Membership::Join(options);
//   gate.Attach(m->get());
//   absl::StatusOr<ClusterGate::PinReport> r = gate.PinHeld({"acme", "globex"});
#ifndef WAPOLICY_CLUSTER_CLUSTER_GATE_H_
#define WAPOLICY_CLUSTER_CLUSTER_GATE_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cluster/membership.h"
#include "server/portfolio_gate.h"

namespace wapolicy::cluster {

class ClusterGate final : public PortfolioGate {
 public:
  struct Options {
    // The retry time sent with UNAVAILABLE (moving, or not serving).
    absl::Duration retry_after = absl::Milliseconds(500);
    // How long Claim waits for its own pin to reach the assignment.
    absl::Duration claim_timeout = absl::Seconds(5);
  };

  ClusterGate();
  explicit ClusterGate(Options options);
  // Attached at once.
  explicit ClusterGate(Membership* membership);
  ClusterGate(Membership* membership, Options options);

  // From now on the gate answers from `membership`, which must outlive it.
  // Once only.
  void Attach(Membership* membership) { membership_.store(membership, std::memory_order_release); }

  absl::Status MayServe(absl::string_view business) const override;
  absl::Status Claim(absl::string_view business) const override;

  struct PinReport {
    int pinned = 0;        // Pins created now.
    int already_own = 0;   // Already pinned to this node.
    std::vector<std::string> elsewhere;  // Pinned to another node: stale here.
  };
  // See the banner. Errors: etcd unreachable (the node should not serve).
  absl::StatusOr<PinReport> PinHeld(const std::vector<std::string>& businesses) const;

 private:
  // Creates b's pin naming this node if there is none (succeeded: it did).
  absl::StatusOr<EtcdTxnResult> CreatePin(Membership& m, absl::string_view business) const;

  std::atomic<Membership*> membership_{nullptr};
  const Options options_;
};

}  // namespace wapolicy::cluster

#endif  // WAPOLICY_CLUSTER_CLUSTER_GATE_H_
