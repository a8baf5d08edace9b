// Who owns which business portfolio, as read from etcd at one revision: the
// live members, the ring nodes, the pins, and the answer to "who decides for
// this business?". Built from the keys under ClusterLayout::Root() and kept
// current from a watch (cluster/membership.h does both).
//
//   Assignment a = Assignment::Build(layout, kvs, range.revision);
//   absl::StatusOr<Ownership> o = a.Owner("acme");
//   if (o.ok() && o->node_id == self && o->state == PortfolioState::kServing) { decide }
//
// A pin overrides the ring. Ownership does not depend on liveness: when a
// ring node's lease lapses its portfolios stay its own (Ownership::live says
// it is away), because its data is on its disk and nobody else may decide
// for them. Entries etcd holds but that cannot be read (a corrupt ring node
// or pin) make the portfolios they could govern answer an error rather than
// a guess.
#ifndef WAPOLICY_CLUSTER_ASSIGNMENT_H_
#define WAPOLICY_CLUSTER_ASSIGNMENT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cluster/cluster_layout.h"
#include "cluster/portfolio_ring.h"
#include "proto/wapolicy/v1/cluster.pb.h"

namespace wapolicy::cluster {

enum class PortfolioState {
  kServing,  // The owner decides for it.
  kMoving,   // Nobody decides for it until the move finishes.
};

struct Ownership {
  std::string node_id;  // The owner.
  PortfolioState state = PortfolioState::kServing;
  std::string target;   // kMoving: the node it is moving to.
  bool pinned = false;  // Set by a pin rather than by the ring.
  bool live = false;    // The owner has a member key (its lease is alive).
  // The owner's addresses: from its member key when live, else the ring's
  // address for gRPC and nothing for HTTP.
  std::string grpc_address;
  std::string http_address;
};

class Assignment {
 public:
  explicit Assignment(ClusterLayout layout = ClusterLayout());

  // Everything under layout.Root() as read at `revision`.
  static Assignment Build(const ClusterLayout& layout,
                          const std::vector<std::pair<std::string, std::string>>& kvs,
                          int64_t revision);

  // A key put / deleted (from a watch). Keys outside the layout are ignored.
  // Put returns the decoding error of a bad value, which is then remembered
  // as unreadable (see the banner).
  absl::Status Put(absl::string_view key, absl::string_view value);
  void Delete(absl::string_view key);
  // Drops everything (before replaying a snapshot).
  void Clear();

  void set_revision(int64_t revision) { revision_ = revision; }
  // The etcd revision this view includes every change up to.
  int64_t revision() const { return revision_; }

  // The owner of `business`. FAILED_PRECONDITION with no ring nodes,
  // DATA_LOSS if an entry that could decide it is unreadable.
  absl::StatusOr<Ownership> Owner(absl::string_view business) const;

  const absl::btree_map<std::string, v1::ClusterMember>& members() const { return members_; }
  const absl::btree_map<std::string, v1::RingNode>& ring_nodes() const { return ring_nodes_; }
  const absl::flat_hash_map<std::string, v1::PortfolioPin>& pins() const { return pins_; }
  const PortfolioRing& ring() const { return ring_; }
  const ClusterLayout& layout() const { return layout_; }

 private:
  void RebuildRing();

  ClusterLayout layout_;
  int64_t revision_ = 0;
  absl::btree_map<std::string, v1::ClusterMember> members_;  // By node id.
  absl::btree_map<std::string, v1::RingNode> ring_nodes_;    // By node id.
  absl::flat_hash_map<std::string, v1::PortfolioPin> pins_;  // By business.
  absl::btree_set<std::string> bad_ring_nodes_;              // Unreadable.
  absl::flat_hash_set<std::string> bad_pins_;                // Unreadable.
  PortfolioRing ring_;
  absl::Status ring_error_;  // Why ring_ could not be built from ring_nodes_.
};

}  // namespace wapolicy::cluster

#endif  // WAPOLICY_CLUSTER_ASSIGNMENT_H_
