// A node's place in the cluster: it joins (a lease, its member key under the
// lease, kept alive), watches everything under the cluster's prefix, and
// keeps the latest Assignment. Serving() says whether the node may decide
// at all: only while its lease is known to be alive and its assignment has
// caught up with its own join. When the lease is lost (etcd unreachable past
// the ttl, or the lease expired) Serving() turns false and the node rejoins
// with a new lease as soon as etcd answers again.
//
//   Membership::Options o;
//   o.etcd_endpoint = "127.0.0.1:2379";
//   o.self.set_node_id("n1");
//   o.self.set_grpc_address("10.0.0.1:50051");
//   absl::StatusOr<std::unique_ptr<Membership>> m = Membership::Join(o);
//   ...
//   std::shared_ptr<const Assignment> a = (*m)->current();
//   if ((*m)->Serving() && a->Owner(business)->node_id == "n1") { decide }
//
// Deciding safely needs both checks at the moment of the decision; the
// assignment alone can be stale when the node is cut off from etcd.
#ifndef WAPOLICY_CLUSTER_MEMBERSHIP_H_
#define WAPOLICY_CLUSTER_MEMBERSHIP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cluster/assignment.h"
#include "cluster/cluster_layout.h"
#include "cluster/etcd_client.h"
#include "proto/wapolicy/v1/cluster.pb.h"

namespace wapolicy::cluster {

class Membership {
 public:
  struct Options {
    std::string etcd_endpoint;  // "host:port"
    std::string prefix = kDefaultClusterPrefix;
    v1::ClusterMember self;  // node_id is required.
    absl::Duration lease_ttl = absl::Seconds(10);
    absl::Duration call_timeout = absl::Seconds(2);
    // Bootstrap only: also put <prefix>/ring/<node_id> (address: the
    // self.grpc_address) if it is absent. In a running cluster a node enters
    // the ring when its portfolios have been moved to it, not when it starts.
    bool add_to_ring = false;
    // Called after the assignment or Serving() may have changed, on a
    // background thread, one call at a time. It may call current() and
    // Serving(); it must not destroy the Membership.
    std::function<void(const Membership&)> on_change;
  };

  // Joins (error if etcd cannot be reached) and starts the background
  // threads. The member key fences the node id: while another live process
  // holds it (its lease alive) Join waits, up to a ttl, then fails with
  // FAILED_PRECONDITION; a node restarting in place gets in once its
  // previous incarnation's lease lapses.
  static absl::StatusOr<std::unique_ptr<Membership>> Join(Options options);

  // Stops the threads. The lease is not revoked: the member key lapses after
  // the ttl, as when the process dies. Call Leave() first to go at once.
  ~Membership();
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  // Revokes the lease (the member key goes now) and stops serving for good.
  absl::Status Leave() ABSL_LOCKS_EXCLUDED(mu_);

  // True while the node may decide: its lease is known alive, and the
  // assignment includes the node's own (latest) join.
  bool Serving() const ABSL_LOCKS_EXCLUDED(mu_);

  // The latest assignment seen (never null).
  std::shared_ptr<const Assignment> current() const ABSL_LOCKS_EXCLUDED(mu_);

  // Waits until current() includes every change up to `revision` (e.g. a
  // transaction this node made); false at the timeout.
  bool AwaitRevision(int64_t revision, absl::Duration timeout) const ABSL_LOCKS_EXCLUDED(mu_);

  const std::string& node_id() const { return options_.self.node_id(); }
  const ClusterLayout& layout() const { return layout_; }
  // The client this node uses (for the mover's guarded transactions).
  EtcdClient& etcd() { return client_; }

 private:
  explicit Membership(Options options);
  // Grants a lease, puts the member key under it and starts keeping it.
  // `previous_lease`: this process's lost lease (0 if none), whose member
  // key may be taken over.
  absl::Status JoinOnce(int64_t previous_lease) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status PutMemberKey(const EtcdLease& lease, int64_t previous_lease);
  // Rejoins whenever the lease is lost, until stopping.
  void Supervise() ABSL_LOCKS_EXCLUDED(mu_);
  void OnWatch(const EtcdWatchUpdate& update) ABSL_LOCKS_EXCLUDED(mu_);
  void Notify() ABSL_LOCKS_EXCLUDED(mu_, callback_mu_);

  const Options options_;
  const ClusterLayout layout_;
  EtcdClient client_;  // Outlives the keeper and the watch below.

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool left_ ABSL_GUARDED_BY(mu_) = false;
  bool lease_lost_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<EtcdLeaseKeeper> keeper_ ABSL_GUARDED_BY(mu_);
  int64_t lease_id_ ABSL_GUARDED_BY(mu_) = 0;
  // The revision of the put of this node's member key under its lease.
  int64_t join_revision_ ABSL_GUARDED_BY(mu_) = 0;
  Assignment working_ ABSL_GUARDED_BY(mu_);  // What the watch has applied.
  std::shared_ptr<const Assignment> published_ ABSL_GUARDED_BY(mu_);  // Its last copy.

  // Serializes on_change calls.
  absl::Mutex callback_mu_ ABSL_ACQUIRED_BEFORE(mu_);

  // Only the thread joining (Join(), then the supervisor) touches it.
  int64_t last_put_revision_ = 0;
  std::unique_ptr<EtcdWatch> watch_;  // Set once in Join().
  std::thread supervisor_;
};

}  // namespace wapolicy::cluster

#endif  // WAPOLICY_CLUSTER_MEMBERSHIP_H_
