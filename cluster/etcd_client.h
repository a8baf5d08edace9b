// A small client for etcd's v3 gRPC API (the stubs generated in
// //third_party/etcd from Debian's protos): reads, writes, transactions
// guarded by a key's mod revision, leases kept alive in the background, and
// watches that survive etcd restarts. Every unary call carries a deadline.
//
//   EtcdClient etcd("127.0.0.1:2379");
//   absl::StatusOr<EtcdLease> lease = etcd.GrantLease(absl::Seconds(10));
//   etcd.Put("/wapolicy/members/n1", "...", lease->id);
//   auto keeper = etcd.KeepAlive(*lease, [](absl::Status why) { /* stop deciding */ });
//   absl::StatusOr<EtcdRange> pins = etcd.GetPrefix("/wapolicy/portfolios/");
//   absl::StatusOr<EtcdTxnResult> r = etcd.PutIf("/wapolicy/portfolios/acme", "...", 0);
//   auto watch = etcd.Watch("/wapolicy/", pins->revision + 1,
//                           [](const EtcdWatchUpdate& u) { /* apply u.events */ });
//
// One client talks to one endpoint. The handles KeepAlive() and Watch()
// return run a thread each and stop it when destroyed; they must not outlive
// the client.
#ifndef WAPOLICY_CLUSTER_ETCD_CLIENT_H_
#define WAPOLICY_CLUSTER_ETCD_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace wapolicy::cluster {

struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

// What a read saw, and the store's revision it saw it at.
struct EtcdRange {
  std::vector<EtcdKeyValue> kvs;
  int64_t revision = 0;
};

struct EtcdTxnResult {
  bool succeeded = false;  // Every guard held and the writes were applied.
  int64_t revision = 0;    // The store's revision after the transaction.
};

// A transaction guard: `key`'s mod_revision equals `mod_revision`; 0 means
// the key does not exist.
struct EtcdGuard {
  std::string key;
  int64_t mod_revision = 0;
};

struct EtcdWrite {
  static EtcdWrite Put(std::string key, std::string value, int64_t lease = 0) {
    return {false, std::move(key), std::move(value), lease};
  }
  static EtcdWrite Delete(std::string key) { return {true, std::move(key), {}, 0}; }
  bool is_delete = false;
  std::string key;
  std::string value;
  int64_t lease = 0;
};

struct EtcdLease {
  int64_t id = 0;
  absl::Duration ttl;
  // When the grant was sent: the lease lives in etcd at least until
  // granted_at + ttl, so a holder that counts from here never believes in it
  // longer than etcd does.
  std::chrono::steady_clock::time_point granted_at;
};

struct EtcdEvent {
  bool is_delete = false;
  EtcdKeyValue kv;  // For a delete: the key and the deletion's mod_revision.
};

// One batch of a watch, in revision order.
struct EtcdWatchUpdate {
  // The watch could not resume where it was (the revisions it needed were
  // compacted): `snapshot` is everything under the prefix at `revision` and
  // replaces what the watcher knew; `events` is empty.
  bool reset = false;
  std::vector<EtcdKeyValue> snapshot;
  std::vector<EtcdEvent> events;
  // The watcher has now seen every change under the prefix up to here.
  int64_t revision = 0;
};

// Keeps a lease alive until destroyed (it does not revoke it). See
// EtcdClient::KeepAlive().
class EtcdLeaseKeeper {
 public:
  ~EtcdLeaseKeeper();
  EtcdLeaseKeeper(const EtcdLeaseKeeper&) = delete;
  EtcdLeaseKeeper& operator=(const EtcdLeaseKeeper&) = delete;

  // True while the lease is known to be alive in etcd: the last refresh
  // etcd confirmed, counted from when it was sent, has not run out. False for
  // good once lost (etcd said the lease is gone, or did not answer for a
  // whole ttl).
  bool alive() const ABSL_LOCKS_EXCLUDED(mu_);
  int64_t lease_id() const { return lease_.id; }

 private:
  friend class EtcdClient;
  EtcdLeaseKeeper(etcdserverpb::Lease::Stub* stub, EtcdLease lease, absl::Duration call_timeout,
                  std::function<void(absl::Status)> on_lost);
  void Run();
  // One refresh on a LeaseKeepAlive stream: the TTL etcd granted (<= 0: the
  // lease is gone).
  absl::StatusOr<int64_t> RefreshOnce(std::chrono::steady_clock::time_point deadline);

  etcdserverpb::Lease::Stub* const stub_;
  const EtcdLease lease_;
  const absl::Duration call_timeout_;
  const std::function<void(absl::Status)> on_lost_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool lost_ ABSL_GUARDED_BY(mu_) = false;
  std::chrono::steady_clock::time_point expires_ ABSL_GUARDED_BY(mu_);
  // The call in flight, so the destructor can cancel it.
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

// Watches a prefix until destroyed. See EtcdClient::Watch().
class EtcdWatch {
 public:
  ~EtcdWatch();
  EtcdWatch(const EtcdWatch&) = delete;
  EtcdWatch& operator=(const EtcdWatch&) = delete;

  // The last revision delivered to the callback (0 before the first).
  int64_t revision() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class EtcdClient;
  EtcdWatch(class EtcdClient* client, std::string prefix, int64_t from_revision,
            std::function<void(const EtcdWatchUpdate&)> callback);
  void Run();
  // One stream, from open to failure; false when stopping.
  void WatchOnce(int64_t* next_revision);
  bool Stopping() const ABSL_LOCKS_EXCLUDED(mu_);

  EtcdClient* const client_;
  const std::string prefix_;
  const std::function<void(const EtcdWatchUpdate&)> callback_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
  int64_t from_revision_;  // Only the watch thread touches it after start.
  std::thread thread_;
};

class EtcdClient {
 public:
  struct Options {
    // Deadline of every unary call, and the longest a lease refresh waits.
    absl::Duration call_timeout = absl::Seconds(2);
  };

  // `endpoint` is "host:port" of etcd's client URL (plain HTTP/2).
  explicit EtcdClient(const std::string& endpoint);
  EtcdClient(const std::string& endpoint, Options options);

  absl::StatusOr<EtcdRange> Get(absl::string_view key);
  absl::StatusOr<EtcdRange> GetPrefix(absl::string_view prefix);

  // The store's revision after the write.
  absl::StatusOr<int64_t> Put(absl::string_view key, absl::string_view value, int64_t lease = 0);
  absl::StatusOr<int64_t> Delete(absl::string_view key);

  // Applies `writes` atomically if every guard holds (nothing otherwise).
  absl::StatusOr<EtcdTxnResult> Txn(const std::vector<EtcdGuard>& guards,
                                    const std::vector<EtcdWrite>& writes);
  // Puts if `key`'s mod_revision is `expected_mod_revision` (0: absent).
  absl::StatusOr<EtcdTxnResult> PutIf(absl::string_view key, absl::string_view value,
                                      int64_t expected_mod_revision, int64_t lease = 0);
  // Deletes if `key`'s mod_revision is `expected_mod_revision`.
  absl::StatusOr<EtcdTxnResult> DeleteIf(absl::string_view key, int64_t expected_mod_revision);

  // Discards the history before `revision` (watches from earlier revisions
  // then get a reset snapshot).
  absl::Status Compact(int64_t revision);

  // etcd rounds the TTL to whole seconds (at least 1).
  absl::StatusOr<EtcdLease> GrantLease(absl::Duration ttl);
  // Deletes every key attached to the lease.
  absl::Status RevokeLease(int64_t lease_id);

  // Refreshes `lease` every ttl/3 (sooner after a failed refresh) on a
  // background thread. `on_lost` runs once, on that thread, when the lease is
  // lost: etcd says it no longer exists, or no refresh succeeded for a whole
  // ttl (etcd unreachable). A lost lease is never refreshed again: grant a
  // new one.
  std::unique_ptr<EtcdLeaseKeeper> KeepAlive(const EtcdLease& lease,
                                             std::function<void(absl::Status)> on_lost = nullptr);

  // Calls `callback` (on a background thread, never two at once) with every
  // change under `prefix` from `from_revision` (0: from now) on. When the
  // stream breaks (etcd restarts, the connection drops) it reconnects and
  // resumes after the last revision delivered, so no change is missed or
  // repeated; if etcd compacted those revisions away it delivers a reset
  // snapshot instead. The callback must not destroy the watch.
  std::unique_ptr<EtcdWatch> Watch(absl::string_view prefix, int64_t from_revision,
                                   std::function<void(const EtcdWatchUpdate&)> callback);

  // The key just past every key starting with `prefix` (etcd's range_end).
  static std::string PrefixEnd(absl::string_view prefix);

  const Options& options() const { return options_; }

 private:
  friend class EtcdWatch;
  void SetDeadline(grpc::ClientContext* context) const;
  absl::StatusOr<EtcdRange> Range(absl::string_view key, absl::string_view range_end);

  const Options options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
};

}  // namespace wapolicy::cluster

#endif  // WAPOLICY_CLUSTER_ETCD_CLIENT_H_
