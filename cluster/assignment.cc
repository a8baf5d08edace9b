#include "cluster/assignment.h"

#include "absl/strings/str_cat.h"

namespace wapolicy::cluster {

Assignment::Assignment(ClusterLayout layout) : layout_(std::move(layout)) {}

Assignment Assignment::Build(const ClusterLayout& layout,
                             const std::vector<std::pair<std::string, std::string>>& kvs,
                             int64_t revision) {
  Assignment a(layout);
  for (const auto& [key, value] : kvs) (void)a.Put(key, value);
  a.set_revision(revision);
  return a;
}

absl::Status Assignment::Put(absl::string_view key, absl::string_view value) {
  const ClusterKey k = layout_.Parse(key);
  switch (k.kind) {
    case ClusterKey::kOther:
      return absl::OkStatus();
    case ClusterKey::kMember: {
      absl::StatusOr<v1::ClusterMember> m = DecodeValue<v1::ClusterMember>(value);
      // An unreadable member only hides the node's addresses; ownership
      // does not depend on it.
      if (!m.ok()) {
        members_.erase(k.id);
        return m.status();
      }
      m->set_node_id(k.id);  // The key is authoritative.
      members_[k.id] = *std::move(m);
      return absl::OkStatus();
    }
    case ClusterKey::kRingNode: {
      absl::StatusOr<v1::RingNode> n = DecodeValue<v1::RingNode>(value);
      if (!n.ok()) {
        ring_nodes_.erase(k.id);
        bad_ring_nodes_.insert(k.id);
      } else {
        n->set_node_id(k.id);
        ring_nodes_[k.id] = *std::move(n);
        bad_ring_nodes_.erase(k.id);
      }
      RebuildRing();
      return n.status();
    }
    case ClusterKey::kPortfolio: {
      absl::StatusOr<v1::PortfolioPin> p = DecodeValue<v1::PortfolioPin>(value);
      if (p.ok() && (p->owner().empty() || p->state() == v1::PortfolioPin::STATE_UNSPECIFIED ||
                     (p->state() == v1::PortfolioPin::MOVING && p->target().empty()))) {
        p = absl::DataLossError(absl::StrCat("incomplete pin for ", k.id, ": ", value));
      }
      if (!p.ok()) {
        pins_.erase(k.id);
        bad_pins_.insert(k.id);
        return p.status();
      }
      pins_[k.id] = *std::move(p);
      bad_pins_.erase(k.id);
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

void Assignment::Delete(absl::string_view key) {
  const ClusterKey k = layout_.Parse(key);
  switch (k.kind) {
    case ClusterKey::kOther:
      return;
    case ClusterKey::kMember:
      members_.erase(k.id);
      return;
    case ClusterKey::kRingNode:
      ring_nodes_.erase(k.id);
      bad_ring_nodes_.erase(k.id);
      RebuildRing();
      return;
    case ClusterKey::kPortfolio:
      pins_.erase(k.id);
      bad_pins_.erase(k.id);
      return;
  }
}

void Assignment::Clear() {
  members_.clear();
  ring_nodes_.clear();
  pins_.clear();
  bad_ring_nodes_.clear();
  bad_pins_.clear();
  RebuildRing();
}

void Assignment::RebuildRing() {
  std::vector<RingMember> members;
  members.reserve(ring_nodes_.size());
  for (const auto& [id, node] : ring_nodes_) members.push_back({id, node.address()});
  absl::StatusOr<PortfolioRing> ring = PortfolioRing::Create(std::move(members));
  if (ring.ok()) {
    ring_ = *std::move(ring);
    ring_error_ = absl::OkStatus();
  } else {
    ring_ = PortfolioRing();
    ring_error_ = absl::DataLossError(absl::StrCat("bad portfolio ring: ", ring.status().message()));
  }
}

absl::StatusOr<Ownership> Assignment::Owner(absl::string_view business) const {
  if (bad_pins_.contains(business)) {
    return absl::DataLossError(absl::StrCat("the pin of ", business, " is unreadable"));
  }
  Ownership o;
  if (auto it = pins_.find(business); it != pins_.end()) {
    o.node_id = it->second.owner();
    o.pinned = true;
    if (it->second.state() == v1::PortfolioPin::MOVING) {
      o.state = PortfolioState::kMoving;
      o.target = it->second.target();
    }
  } else {
    // A ring that misses an unreadable node would hand its portfolios to
    // others.
    if (!bad_ring_nodes_.empty()) {
      return absl::DataLossError(
          absl::StrCat("ring node ", *bad_ring_nodes_.begin(), " is unreadable"));
    }
    if (!ring_error_.ok()) return ring_error_;
    absl::StatusOr<std::string> owner = ring_.RingOwner(business);
    if (!owner.ok()) return owner.status();
    o.node_id = *std::move(owner);
  }
  if (auto m = members_.find(o.node_id); m != members_.end()) {
    o.live = true;
    o.grpc_address = m->second.grpc_address();
    o.http_address = m->second.http_address();
  } else if (auto r = ring_nodes_.find(o.node_id); r != ring_nodes_.end()) {
    o.grpc_address = r->second.address();
  }
  return o;
}

}  // namespace wapolicy::cluster
