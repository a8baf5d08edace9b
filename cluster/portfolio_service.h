// PortfolioService: a cluster node's PolicyCluster service
// (proto/wapolicy/v1/cluster.proto), the node's half of moving a portfolio
// (the mover, cluster/portfolio_mover.h, drives it through etcd and these
// calls). Every call needs an admin token (as PolicyAdmin does) and checks
// the node's own watched assignment first: it waits (up to
// Options::revision_timeout) until the assignment includes the request's
// pin revision, then insists on the pin state its step needs, so a mover
// with a stale view, a retried call or two movers at once cannot make a node
// export, take or drop a portfolio it should not:
//
//   ExportPortfolio  pin MOVING from this node. FreezeBusiness (the engine
//                    refuses the business from now on, and every change
//                    applied before is durable), ExportPortfolio (SST files
//                    from one snapshot), streamed: the manifest, then the
//                    files' bytes in chunks of Options::chunk_bytes.
//   IngestPortfolio  pin MOVING to this node. Files written under
//                    <work_dir>/ingest-..., checked against the manifest,
//                    ingested (durable on return). A copy left by an earlier
//                    attempt (in the engine after a restart, or in storage)
//                    is replaced: the node has never served it, the pin
//                    being MOVING.
//   DropPortfolio    pin SERVING at another node. Drops the business here
//                    (engine, then storage); OK if it is already gone.
//   ListPortfolios   the businesses the engine holds.
//
// Calls for one business are serialized on the node. The membership is
// attached once the node has joined (the service is registered before the
// listeners start); until then every call is UNAVAILABLE.
//
//   PortfolioService::Options o;
//   o.work_dir = data_dir + "/moving";
//   PortfolioService moves(&engine, store.get(), auth.get(), o);
//   builder.RegisterService(&moves);
//   ... Membership::Join ...
//   moves.Attach(membership.get());
#ifndef WAPOLICY_CLUSTER_PORTFOLIO_SERVICE_H_
#define WAPOLICY_CLUSTER_PORTFOLIO_SERVICE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cluster/assignment.h"
#include "cluster/membership.h"
#include "grpcpp/grpcpp.h"
#include "policy/policy_engine.h"
#include "proto/wapolicy/v1/cluster.grpc.pb.h"
#include "server/token_authority.h"
#include "storage/state_store.h"

namespace wapolicy::cluster {

class PortfolioService final : public v1::PolicyCluster::Service {
 public:
  struct Options {
    // Where exports and ingests keep their files while they run (created
    // if missing; each call uses and removes a directory of its own).
    std::string work_dir;
    // How long a call waits for the node's assignment to reach its revision.
    absl::Duration revision_timeout = absl::Seconds(10);
    // The file bytes in one streamed chunk.
    size_t chunk_bytes = size_t{1} << 20;
  };

  // `engine`, `store` and `auth` (null: every caller is an admin) must
  // outlive the service.
  PortfolioService(PolicyEngine* engine, RocksStateStore* store, const TokenAuthority* auth,
                   Options options);

  // From now on the calls answer from `membership`, which must outlive the
  // service. Once only.
  void Attach(Membership* membership) { membership_.store(membership, std::memory_order_release); }

  grpc::Status ExportPortfolio(grpc::ServerContext* ctx, const v1::ExportPortfolioRequest* request,
                               grpc::ServerWriter<v1::PortfolioChunk>* writer) override;
  grpc::Status IngestPortfolio(grpc::ServerContext* ctx,
                               grpc::ServerReader<v1::PortfolioChunk>* reader,
                               v1::IngestPortfolioResponse* response) override;
  grpc::Status DropPortfolio(grpc::ServerContext* ctx, const v1::DropPortfolioRequest* request,
                             v1::DropPortfolioResponse* response) override;
  grpc::Status ListPortfolios(grpc::ServerContext* ctx, const v1::ListPortfoliosRequest* request,
                              v1::ListPortfoliosResponse* response) override;

 private:
  // Holds one business's calls apart (see the banner).
  class BusyGuard;

  absl::Status Authorize(const grpc::ServerContext& ctx) const;
  // The membership, or UNAVAILABLE before Attach.
  absl::StatusOr<Membership*> Joined() const;
  // `business`'s owner in the node's assignment once it includes
  // `revision`; `field` names the revision in errors.
  absl::StatusOr<Ownership> OwnerAt(Membership& m, absl::string_view business, int64_t revision,
                                    absl::string_view field) const;
  absl::Status Export(const v1::ExportPortfolioRequest& request,
                      grpc::ServerWriter<v1::PortfolioChunk>* writer);
  absl::Status Ingest(grpc::ServerReader<v1::PortfolioChunk>* reader,
                      v1::IngestPortfolioResponse* response);
  absl::Status Drop(const v1::DropPortfolioRequest& request, v1::DropPortfolioResponse* response);
  // A fresh directory under work_dir for one call.
  absl::StatusOr<std::string> MakeWorkDir(absl::string_view kind, absl::string_view business);

  PolicyEngine* const engine_;
  RocksStateStore* const store_;
  const TokenAuthority* const auth_;
  const Options options_;
  std::atomic<Membership*> membership_{nullptr};
  std::atomic<int64_t> next_dir_{0};

  absl::Mutex mu_;
  absl::flat_hash_set<std::string> busy_ ABSL_GUARDED_BY(mu_);  // Businesses in a call.
};

}  // namespace wapolicy::cluster

#endif  // WAPOLICY_CLUSTER_PORTFOLIO_SERVICE_H_
