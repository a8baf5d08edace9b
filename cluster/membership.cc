#include "cluster/membership.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace wapolicy::cluster {

Membership::Membership(Options options)
    : options_(std::move(options)),
      layout_(options_.prefix),
      client_(options_.etcd_endpoint, EtcdClient::Options{options_.call_timeout}),
      working_(layout_),
      published_(std::make_shared<const Assignment>(layout_)) {}

absl::StatusOr<std::unique_ptr<Membership>> Membership::Join(Options options) {
  if (options.self.node_id().empty()) return absl::InvalidArgumentError("no node id");
  if (options.add_to_ring && options.self.grpc_address().empty()) {
    return absl::InvalidArgumentError("add_to_ring without a grpc address");
  }
  std::unique_ptr<Membership> m(new Membership(std::move(options)));
  // A node restarting in place finds its previous incarnation's member key
  // until that lease lapses: wait for it, a ttl at most.
  const absl::Time deadline =
      absl::Now() + m->options_.lease_ttl + m->options_.call_timeout + absl::Seconds(1);
  while (true) {
    absl::Status s = m->JoinOnce(/*previous_lease=*/0);
    if (s.ok()) break;
    if ((s.code() != absl::StatusCode::kFailedPrecondition &&
         s.code() != absl::StatusCode::kAborted) ||
        absl::Now() > deadline) {
      return s;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  // Read after the join, so the first assignment already includes it.
  absl::StatusOr<EtcdRange> range = m->client_.GetPrefix(m->layout_.Root());
  if (!range.ok()) return range.status();
  {
    absl::MutexLock lock(&m->mu_);
    for (const EtcdKeyValue& kv : range->kvs) (void)m->working_.Put(kv.key, kv.value);
    m->working_.set_revision(range->revision);
    m->published_ = std::make_shared<const Assignment>(m->working_);
  }
  Membership* self = m.get();
  m->watch_ = m->client_.Watch(m->layout_.Root(), range->revision + 1,
                               [self](const EtcdWatchUpdate& u) { self->OnWatch(u); });
  m->supervisor_ = std::thread([self] { self->Supervise(); });
  return m;
}

Membership::~Membership() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (supervisor_.joinable()) supervisor_.join();
  watch_.reset();
  std::unique_ptr<EtcdLeaseKeeper> keeper;
  {
    absl::MutexLock lock(&mu_);
    keeper = std::move(keeper_);
  }
  // Destroyed outside mu_: its thread may be waiting for mu_ in on_lost.
  keeper.reset();
}

absl::Status Membership::JoinOnce(int64_t previous_lease) {
  absl::StatusOr<EtcdLease> lease = client_.GrantLease(options_.lease_ttl);
  if (!lease.ok()) return lease.status();
  absl::Status s = PutMemberKey(*lease, previous_lease);
  if (!s.ok()) {
    (void)client_.RevokeLease(lease->id);
    return s;
  }
  const int64_t id = lease->id;
  const int64_t joined_at = last_put_revision_;
  std::unique_ptr<EtcdLeaseKeeper> old;  // Destroyed after the lock, as in ~Membership.
  absl::MutexLock lock(&mu_);
  old = std::move(keeper_);
  lease_id_ = id;
  join_revision_ = joined_at;
  lease_lost_ = false;
  // Started under mu_, so a loss it reports at once finds lease_id_ set.
  keeper_ = client_.KeepAlive(*lease, [this, id](absl::Status) {
    absl::MutexLock lock(&mu_);
    // Only the current lease's loss counts.
    if (lease_id_ == id) lease_lost_ = true;
  });
  return absl::OkStatus();
}

absl::Status Membership::PutMemberKey(const EtcdLease& lease, int64_t previous_lease) {
  if (options_.add_to_ring) {
    v1::RingNode node;
    node.set_node_id(node_id());
    node.set_address(options_.self.grpc_address());
    // Only if absent: the ring is changed by guarded transactions, and a
    // restarting node must not overwrite what a drain or move wrote.
    absl::StatusOr<EtcdTxnResult> r =
        client_.PutIf(layout_.RingNodeKey(node_id()), EncodeValue(node), 0);
    if (!r.ok()) return r.status();
  }
  // The member key fences the node id: a second process with the same id
  // must not join while the first one's lease lives, or both would decide
  // for the same portfolios. Only an absent key, or one under this
  // process's previous lease (which etcd may have extended on restart), is
  // taken over.
  const std::string key = layout_.MemberKey(node_id());
  absl::StatusOr<EtcdRange> current = client_.Get(key);
  if (!current.ok()) return current.status();
  int64_t guard = 0;
  if (!current->kvs.empty()) {
    const EtcdKeyValue& held = current->kvs[0];
    if (previous_lease == 0 || held.lease != previous_lease) {
      return absl::FailedPreconditionError(
          absl::StrCat("node id ", node_id(), " is held by another process (lease ", held.lease,
                       "); it lapses within its ttl if that process is gone"));
    }
    guard = held.mod_revision;
  }
  absl::StatusOr<EtcdTxnResult> put = client_.PutIf(key, EncodeValue(options_.self), guard, lease.id);
  if (!put.ok()) return put.status();
  if (!put->succeeded) return absl::AbortedError("the member key changed while joining");
  last_put_revision_ = put->revision;
  return absl::OkStatus();
}

void Membership::Supervise() {
  while (true) {
    std::unique_ptr<EtcdLeaseKeeper> lost;
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || (lease_lost_ && !left_);
      };
      mu_.Await(absl::Condition(&woken));
      if (stopping_) return;
      lost = std::move(keeper_);
    }
    const int64_t old_lease = lost ? lost->lease_id() : 0;
    lost.reset();
    Notify();  // Serving() is false now.
    absl::Duration backoff = absl::Milliseconds(100);
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        if (stopping_ || left_) break;
      }
      if (JoinOnce(old_lease).ok()) {
        // The old lease may have survived (etcd extends leases when it
        // restarts); its keys already moved to the new one, so revoking it
        // removes nothing but the lease.
        if (old_lease != 0) (void)client_.RevokeLease(old_lease);
        Notify();
        break;
      }
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
      backoff = std::min(backoff * 2, absl::Seconds(1));
    }
  }
}

void Membership::OnWatch(const EtcdWatchUpdate& update) {
  {
    absl::MutexLock lock(&mu_);
    if (update.reset) {
      working_.Clear();
      for (const EtcdKeyValue& kv : update.snapshot) (void)working_.Put(kv.key, kv.value);
    }
    for (const EtcdEvent& e : update.events) {
      if (e.is_delete) {
        working_.Delete(e.kv.key);
      } else {
        (void)working_.Put(e.kv.key, e.kv.value);
      }
    }
    working_.set_revision(update.revision);
    // Readers hold their own copy; a new one per batch keeps current()
    // cheap and lock-free for them after the pointer copy.
    published_ = std::make_shared<const Assignment>(working_);
  }
  Notify();
}

void Membership::Notify() {
  if (!options_.on_change) return;
  absl::MutexLock lock(&callback_mu_);
  options_.on_change(*this);
}

absl::Status Membership::Leave() {
  std::unique_ptr<EtcdLeaseKeeper> keeper;
  int64_t lease_id;
  {
    absl::MutexLock lock(&mu_);
    left_ = true;
    keeper = std::move(keeper_);
    lease_id = lease_id_;
  }
  keeper.reset();
  absl::Status s = client_.RevokeLease(lease_id);
  Notify();
  return s;
}

bool Membership::Serving() const {
  absl::MutexLock lock(&mu_);
  return !left_ && !stopping_ && !lease_lost_ && keeper_ != nullptr && keeper_->alive() &&
         published_->revision() >= join_revision_;
}

std::shared_ptr<const Assignment> Membership::current() const {
  absl::MutexLock lock(&mu_);
  return published_;
}

bool Membership::AwaitRevision(int64_t revision, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto reached = [this, revision]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return published_->revision() >= revision;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

}  // namespace wapolicy::cluster
