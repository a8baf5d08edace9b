// PortfolioMover: moves business portfolios between the nodes of a cluster
// (issue 17, point 4), for `policyctl cluster move|add-node|drain`. It talks
// to etcd (guarded transactions on the pin <prefix>/portfolios/<business>)
// and to the nodes' PolicyCluster service (cluster/portfolio_service.h):
//
//   1. pin {owner: old, MOVING, target: new}, guarded by the pin's
//      mod_revision as read: the old owner's gate refuses the portfolio
//      (UNAVAILABLE with a retry time), the new one does not serve it yet;
//   2. ExportPortfolio on old (it waits for its watch to reach step 1's
//      revision, freezes the business: nothing of it is still applied);
//   3. the chunks streamed into new's IngestPortfolio (durable on answer);
//   4. pin {owner: new, SERVING}, guarded by step 1's revision: the one
//      moment ownership changes, so there are never two deciding owners;
//   5. DropPortfolio on old (it waits to see step 4's revision).
//
// Every step is safe to redo, and Move() starts from the pin it reads, so
// re-running it after a crash (of the mover, or of either node) finishes
// the move: MOVING -> steps 2-5; SERVING at the target -> step 5, dropping
// any copy another live node still holds. A move MOVING to another target
// is finished first. Until a move finishes, its portfolio answers
// UNAVAILABLE; the old owner restarted meanwhile still refuses it (the pin
// is MOVING), and the new owner restarted after step 3 keeps what it
// ingested and serves it once the pin flips.
//
//   PortfolioMover::Options o;
//   o.etcd_endpoint = "127.0.0.1:2379";
//   absl::StatusOr<std::unique_ptr<PortfolioMover>> mover = PortfolioMover::Create(o);
//   absl::StatusOr<MoveReport> r = (*mover)->Move("acme", "n4");
//   absl::StatusOr<std::vector<MoveReport>> added = (*mover)->AddNode("n4", "");
//   absl::StatusOr<std::vector<MoveReport>> drained = (*mover)->Drain("n2");
//
// Not thread-safe: one operation at a time per mover. Two movers at once
// are safe (the guarded transactions let one win each step) but wasteful.
#ifndef WAPOLICY_CLUSTER_PORTFOLIO_MOVER_H_
#define WAPOLICY_CLUSTER_PORTFOLIO_MOVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cluster/assignment.h"
#include "cluster/cluster_layout.h"
#include "cluster/etcd_client.h"
#include "proto/wapolicy/v1/cluster.grpc.pb.h"

namespace wapolicy::cluster {

struct MoveReport {
  std::string business_id;
  std::string from;  // The old owner (empty if not known: a resumed step 5).
  std::string to;
  int64_t records = 0;        // Ingested by `to` (0 if nothing was exported).
  bool already_there = false;  // Nothing to do: SERVING at `to`, no copy elsewhere.
  std::vector<std::string> dropped_from;  // Nodes whose copy was dropped.
  // From step 1's transaction to step 4's, as the mover saw them: how long
  // the portfolio answered UNAVAILABLE (0 for a resumed move).
  absl::Duration unavailable;
};

class PortfolioMover {
 public:
  struct Options {
    std::string etcd_endpoint;  // "host:port"
    std::string prefix = kDefaultClusterPrefix;
    // Sent to the nodes as "authorization: Bearer <token>" (an admin's).
    std::string token;
    // Deadline of each node call (an export or ingest of a large portfolio
    // takes longer than a check).
    absl::Duration node_timeout = absl::Seconds(60);
    absl::Duration etcd_timeout = absl::Seconds(5);
    // Test hook (--stop_after_step): return after step N (1..4) of the first
    // move as if the mover had crashed there. 0: off.
    int stop_after_step = 0;
    // Progress lines (may be null).
    std::function<void(const std::string&)> log;
  };

  static absl::StatusOr<std::unique_ptr<PortfolioMover>> Create(Options options);

  // Everything under the prefix now.
  absl::StatusOr<Assignment> Read();

  // Moves `business` to node `to` (see the banner). ABORTED when the stop
  // hook fired; UNAVAILABLE when a node it needs is down (re-run later).
  absl::StatusOr<MoveReport> Move(absl::string_view business, absl::string_view to);

  // Puts `node_id` on the ring (`address`: as the router's server line; empty:
  // the live member's gRPC address) in a transaction guarded by its key's
  // absence, then moves every pinned portfolio whose ring owner is now
  // `node_id` to it. The node must be live. Re-run, it skips the ring step.
  absl::StatusOr<std::vector<MoveReport>> AddNode(absl::string_view node_id,
                                                  absl::string_view address);

  // Takes `node_id` off the ring (guarded by its key's mod_revision), so no
  // new portfolio is created there, then moves every portfolio pinned to it
  // to its ring owner without it, until none is left. Re-run, it skips the
  // ring step.
  absl::StatusOr<std::vector<MoveReport>> Drain(absl::string_view node_id);

  // The businesses node `node_id` holds (its ListPortfolios).
  absl::StatusOr<v1::ListPortfoliosResponse> List(const Assignment& a, absl::string_view node_id);

 private:
  explicit PortfolioMover(Options options);
  void Log(const std::string& line) const;
  // The stop hook: ABORTED after step `step` if it is the one.
  absl::Status StopAfter(int step);
  // The pin of `business` as etcd holds it (the ring owner, SERVING, with
  // mod_revision 0 if there is none).
  struct PinRead {
    v1::PortfolioPin pin;
    int64_t mod_revision = 0;
  };
  absl::StatusOr<PinRead> ReadPin(absl::string_view business);
  // Steps 2 and 3; the records ingested (0: the old owner held nothing).
  absl::StatusOr<int64_t> Transfer(const Assignment& a, absl::string_view business,
                                   absl::string_view from, absl::string_view to,
                                   int64_t pin_revision);
  // Step 5 on `node`.
  absl::StatusOr<bool> DropOn(const Assignment& a, absl::string_view node,
                              absl::string_view business, int64_t pin_revision);
  // A stub for a live member's PolicyCluster; UNAVAILABLE naming it if down.
  absl::StatusOr<std::unique_ptr<v1::PolicyCluster::Stub>> NodeStub(const Assignment& a,
                                                                    absl::string_view node);
  void Prepare(grpc::ClientContext* ctx) const;

  const Options options_;
  const ClusterLayout layout_;
  EtcdClient etcd_;
  bool stopped_ = false;  // The stop hook fired once.
};

}  // namespace wapolicy::cluster

#endif  // WAPOLICY_CLUSTER_PORTFOLIO_MOVER_H_
