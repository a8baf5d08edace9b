#include "cluster/cluster_gate.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "proto/wapolicy/v1/cluster.pb.h"

namespace wapolicy::cluster {

ClusterGate::ClusterGate() : ClusterGate(Options()) {}
ClusterGate::ClusterGate(Options options) : options_(options) {}
ClusterGate::ClusterGate(Membership* membership) : ClusterGate(membership, Options()) {}
ClusterGate::ClusterGate(Membership* membership, Options options) : options_(options) {
  Attach(membership);
}

absl::Status ClusterGate::MayServe(absl::string_view business) const {
  Membership* const m = membership_.load(std::memory_order_acquire);
  if (m == nullptr) {
    return NodeNotServingError("the node is still joining the cluster", options_.retry_after);
  }
  if (!m->Serving()) {
    return NodeNotServingError(
        absl::StrCat("node ", m->node_id(),
                     " has no live etcd lease (etcd unreachable or the lease expired)"),
        options_.retry_after);
  }
  const std::shared_ptr<const Assignment> a = m->current();
  absl::StatusOr<Ownership> o = a->Owner(business);
  if (!o.ok()) {
    // No ring yet, or an unreadable entry: nobody can say who decides.
    return NodeNotServingError(
        absl::StrCat("the owner of business '", business, "' is unknown: ", o.status().message()),
        options_.retry_after);
  }
  if (o->node_id != m->node_id()) {
    return NotOwnerError(business, o->grpc_address, o->http_address);
  }
  if (o->state == PortfolioState::kMoving) {
    return PortfolioMovingError(business, options_.retry_after);
  }
  return absl::OkStatus();
}

absl::StatusOr<EtcdTxnResult> ClusterGate::CreatePin(Membership& m,
                                                     absl::string_view business) const {
  v1::PortfolioPin pin;
  pin.set_owner(m.node_id());
  pin.set_state(v1::PortfolioPin::SERVING);
  return m.etcd().PutIf(m.layout().PortfolioKey(business), EncodeValue(pin),
                        /*expected_mod_revision=*/0);
}

absl::Status ClusterGate::Claim(absl::string_view business) const {
  if (absl::Status s = MayServe(business); !s.ok()) return s;
  Membership& m = *membership_.load(std::memory_order_acquire);  // MayServe: attached.
  if (m.current()->pins().contains(business)) return absl::OkStatus();
  // Unpinned and this node is its ring owner: claim it in etcd.
  absl::StatusOr<EtcdTxnResult> r = CreatePin(m, business);
  if (!r.ok()) {
    return absl::UnavailableError(
        absl::StrCat("claiming business '", business, "' in etcd: ", r.status().message()));
  }
  if (!m.AwaitRevision(r->revision, options_.claim_timeout)) {
    return absl::UnavailableError(
        absl::StrCat("claiming business '", business, "': the pin did not come back from etcd"));
  }
  // Whoever won, the assignment now has the pin: MayServe answers for it.
  return MayServe(business);
}

absl::StatusOr<ClusterGate::PinReport> ClusterGate::PinHeld(
    const std::vector<std::string>& businesses) const {
  Membership* const m = membership_.load(std::memory_order_acquire);
  if (m == nullptr) return absl::FailedPreconditionError("PinHeld before Attach");
  PinReport report;
  int64_t last = 0;
  for (const std::string& b : businesses) {
    if (m->current()->pins().contains(b)) continue;  // Judged below.
    absl::StatusOr<EtcdTxnResult> r = CreatePin(*m, b);
    if (!r.ok()) return r.status();
    if (r->succeeded) ++report.pinned;
    last = std::max(last, r->revision);
  }
  if (last > 0 && !m->AwaitRevision(last, options_.claim_timeout)) {
    return absl::DeadlineExceededError("pinning held businesses: the pins did not come back");
  }
  const std::shared_ptr<const Assignment> a = m->current();
  for (const std::string& b : businesses) {
    auto it = a->pins().find(b);
    if (it == a->pins().end()) {
      return absl::InternalError(absl::StrCat("business '", b, "' is still not pinned"));
    }
    if (it->second.owner() != m->node_id()) report.elsewhere.push_back(b);
  }
  report.already_own =
      static_cast<int>(businesses.size() - report.elsewhere.size()) - report.pinned;
  return report;
}

}  // namespace wapolicy::cluster
