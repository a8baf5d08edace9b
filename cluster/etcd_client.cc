#include "cluster/etcd_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace wapolicy::cluster {
namespace {

using SteadyClock = std::chrono::steady_clock;

absl::Status FromGrpc(const grpc::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  // gRPC's and Abseil's codes share their numbers.
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat("etcd ", what, ": ", s.error_message()));
}

EtcdKeyValue FromProto(const mvccpb::KeyValue& kv) {
  return {kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.version(), kv.lease()};
}

SteadyClock::duration ToSteady(absl::Duration d) {
  return std::chrono::duration_cast<SteadyClock::duration>(absl::ToChronoNanoseconds(d));
}

void SetSteadyDeadline(grpc::ClientContext* context, SteadyClock::time_point deadline) {
  const auto left = std::max(deadline - SteadyClock::now(), SteadyClock::duration::zero());
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::duration_cast<std::chrono::system_clock::duration>(left));
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& endpoint) {
  grpc::ChannelArguments args;
  // Reconnect quickly after etcd comes back: gRPC's default backoff grows to
  // two minutes, longer than any lease. The "min" also bounds one connection
  // attempt (20 s by default): one made while etcd is still starting can
  // hang, and must give way to the next attempt well within a lease.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Notice a dead connection under a long-lived watch. etcd refuses pings
  // more often than every 5 s (--grpc-keepalive-min-time).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

// ---------------------------------------------------------------- EtcdClient

EtcdClient::EtcdClient(const std::string& endpoint) : EtcdClient(endpoint, Options()) {}

EtcdClient::EtcdClient(const std::string& endpoint, Options options)
    : options_(options),
      channel_(MakeChannel(endpoint)),
      kv_(etcdserverpb::KV::NewStub(channel_)),
      lease_(etcdserverpb::Lease::NewStub(channel_)),
      watch_(etcdserverpb::Watch::NewStub(channel_)) {}

void EtcdClient::SetDeadline(grpc::ClientContext* context) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
}

std::string EtcdClient::PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  // Drop trailing 0xff bytes and increment the last other one; with none
  // left the range is open-ended ("\0" in etcd's convention).
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

absl::StatusOr<EtcdRange> EtcdClient::Range(absl::string_view key, absl::string_view range_end) {
  etcdserverpb::RangeRequest request;
  request.set_key(std::string(key));
  if (!range_end.empty()) request.set_range_end(std::string(range_end));
  etcdserverpb::RangeResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (absl::Status s = FromGrpc(kv_->Range(&context, request, &response), "Range"); !s.ok()) {
    return s;
  }
  EtcdRange range;
  range.revision = response.header().revision();
  range.kvs.reserve(response.kvs_size());
  for (const mvccpb::KeyValue& kv : response.kvs()) range.kvs.push_back(FromProto(kv));
  return range;
}

absl::StatusOr<EtcdRange> EtcdClient::Get(absl::string_view key) { return Range(key, ""); }

absl::StatusOr<EtcdRange> EtcdClient::GetPrefix(absl::string_view prefix) {
  return Range(prefix, PrefixEnd(prefix));
}

absl::StatusOr<int64_t> EtcdClient::Put(absl::string_view key, absl::string_view value,
                                        int64_t lease) {
  etcdserverpb::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  request.set_lease(lease);
  etcdserverpb::PutResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (absl::Status s = FromGrpc(kv_->Put(&context, request, &response), "Put"); !s.ok()) return s;
  return response.header().revision();
}

absl::StatusOr<int64_t> EtcdClient::Delete(absl::string_view key) {
  etcdserverpb::DeleteRangeRequest request;
  request.set_key(std::string(key));
  etcdserverpb::DeleteRangeResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (absl::Status s = FromGrpc(kv_->DeleteRange(&context, request, &response), "DeleteRange");
      !s.ok()) {
    return s;
  }
  return response.header().revision();
}

absl::StatusOr<EtcdTxnResult> EtcdClient::Txn(const std::vector<EtcdGuard>& guards,
                                              const std::vector<EtcdWrite>& writes) {
  etcdserverpb::TxnRequest request;
  for (const EtcdGuard& g : guards) {
    etcdserverpb::Compare* c = request.add_compare();
    c->set_key(g.key);
    c->set_target(etcdserverpb::Compare::MOD);
    c->set_result(etcdserverpb::Compare::EQUAL);
    // An absent key compares as mod_revision 0, so 0 guards "absent".
    c->set_mod_revision(g.mod_revision);
  }
  for (const EtcdWrite& w : writes) {
    etcdserverpb::RequestOp* op = request.add_success();
    if (w.is_delete) {
      op->mutable_request_delete_range()->set_key(w.key);
    } else {
      etcdserverpb::PutRequest* put = op->mutable_request_put();
      put->set_key(w.key);
      put->set_value(w.value);
      put->set_lease(w.lease);
    }
  }
  etcdserverpb::TxnResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  if (absl::Status s = FromGrpc(kv_->Txn(&context, request, &response), "Txn"); !s.ok()) return s;
  return EtcdTxnResult{response.succeeded(), response.header().revision()};
}

absl::StatusOr<EtcdTxnResult> EtcdClient::PutIf(absl::string_view key, absl::string_view value,
                                                int64_t expected_mod_revision, int64_t lease) {
  return Txn({{std::string(key), expected_mod_revision}},
             {EtcdWrite::Put(std::string(key), std::string(value), lease)});
}

absl::StatusOr<EtcdTxnResult> EtcdClient::DeleteIf(absl::string_view key,
                                                   int64_t expected_mod_revision) {
  return Txn({{std::string(key), expected_mod_revision}}, {EtcdWrite::Delete(std::string(key))});
}

absl::Status EtcdClient::Compact(int64_t revision) {
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  request.set_physical(true);
  etcdserverpb::CompactionResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  return FromGrpc(kv_->Compact(&context, request, &response), "Compact");
}

absl::StatusOr<EtcdLease> EtcdClient::GrantLease(absl::Duration ttl) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(std::max<int64_t>(1, absl::ToInt64Seconds(ttl + absl::Milliseconds(500))));
  etcdserverpb::LeaseGrantResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  const SteadyClock::time_point sent = SteadyClock::now();
  if (absl::Status s = FromGrpc(lease_->LeaseGrant(&context, request, &response), "LeaseGrant");
      !s.ok()) {
    return s;
  }
  if (!response.error().empty()) return absl::UnavailableError("etcd LeaseGrant: " + response.error());
  return EtcdLease{response.id(), absl::Seconds(response.ttl()), sent};
}

absl::Status EtcdClient::RevokeLease(int64_t lease_id) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease_id);
  etcdserverpb::LeaseRevokeResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  return FromGrpc(lease_->LeaseRevoke(&context, request, &response), "LeaseRevoke");
}

std::unique_ptr<EtcdLeaseKeeper> EtcdClient::KeepAlive(const EtcdLease& lease,
                                                       std::function<void(absl::Status)> on_lost) {
  return std::unique_ptr<EtcdLeaseKeeper>(
      new EtcdLeaseKeeper(lease_.get(), lease, options_.call_timeout, std::move(on_lost)));
}

std::unique_ptr<EtcdWatch> EtcdClient::Watch(absl::string_view prefix, int64_t from_revision,
                                             std::function<void(const EtcdWatchUpdate&)> callback) {
  return std::unique_ptr<EtcdWatch>(
      new EtcdWatch(this, std::string(prefix), from_revision, std::move(callback)));
}

// ----------------------------------------------------------- EtcdLeaseKeeper

EtcdLeaseKeeper::EtcdLeaseKeeper(etcdserverpb::Lease::Stub* stub, EtcdLease lease,
                                 absl::Duration call_timeout,
                                 std::function<void(absl::Status)> on_lost)
    : stub_(stub), lease_(lease), call_timeout_(call_timeout), on_lost_(std::move(on_lost)) {
  {
    absl::MutexLock lock(&mu_);
    expires_ = lease_.granted_at + ToSteady(lease_.ttl);
  }
  thread_ = std::thread([this] { Run(); });
}

EtcdLeaseKeeper::~EtcdLeaseKeeper() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  thread_.join();
}

bool EtcdLeaseKeeper::alive() const {
  absl::MutexLock lock(&mu_);
  return !lost_ && SteadyClock::now() < expires_;
}

absl::StatusOr<int64_t> EtcdLeaseKeeper::RefreshOnce(SteadyClock::time_point deadline) {
  // A short stream per refresh rather than one for the lease's life: each
  // refresh then has its own deadline, so an etcd that stops answering
  // cannot hold the thread past the lease's expiry. One stream every ttl/3
  // costs nothing that matters.
  grpc::ClientContext context;
  SetSteadyDeadline(&context, deadline);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    active_ = &context;
  }
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease_.id);
  etcdserverpb::LeaseKeepAliveResponse response;
  auto stream = stub_->LeaseKeepAlive(&context);
  const bool answered = stream->Write(request) && stream->Read(&response);
  stream->WritesDone();
  if (answered) context.TryCancel();  // Finish() would wait for etcd to close its side.
  const grpc::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
  }
  if (!answered) {
    return FromGrpc(status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream closed")
                                : status,
                    "LeaseKeepAlive");
  }
  return response.ttl();
}

void EtcdLeaseKeeper::Run() {
  const SteadyClock::duration ttl = ToSteady(lease_.ttl);
  // After a failed refresh, retry often enough to land several attempts
  // inside what is left of the lease.
  const SteadyClock::duration retry =
      std::min<SteadyClock::duration>(ttl / 10, std::chrono::milliseconds(500));
  SteadyClock::time_point next = SteadyClock::now();
  absl::Status lost;
  while (true) {
    SteadyClock::time_point expires;
    {
      absl::MutexLock lock(&mu_);
      const auto wait = std::max(next - SteadyClock::now(), SteadyClock::duration::zero());
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(wait));
      if (stopping_) return;
      expires = expires_;
    }
    const SteadyClock::time_point sent = SteadyClock::now();
    if (sent >= expires) {
      lost = absl::UnavailableError(absl::StrCat("etcd lease ", lease_.id,
                                                 ": no refresh confirmed within its ttl"));
      break;
    }
    const absl::StatusOr<int64_t> granted =
        RefreshOnce(std::min(expires, sent + ToSteady(call_timeout_)));
    if (granted.ok() && *granted <= 0) {
      lost = absl::NotFoundError(absl::StrCat("etcd lease ", lease_.id, " expired or was revoked"));
      break;
    }
    if (granted.ok()) {
      absl::MutexLock lock(&mu_);
      // Counted from when the refresh was sent, not answered: etcd's expiry
      // is at least this late.
      expires_ = sent + std::chrono::seconds(*granted);
      next = sent + ttl / 3;
    } else {
      next = SteadyClock::now() + retry;
    }
  }
  {
    absl::MutexLock lock(&mu_);
    lost_ = true;
  }
  if (on_lost_) on_lost_(lost);
}

// ----------------------------------------------------------------- EtcdWatch

EtcdWatch::EtcdWatch(EtcdClient* client, std::string prefix, int64_t from_revision,
                     std::function<void(const EtcdWatchUpdate&)> callback)
    : client_(client),
      prefix_(std::move(prefix)),
      callback_(std::move(callback)),
      from_revision_(from_revision) {
  thread_ = std::thread([this] { Run(); });
}

EtcdWatch::~EtcdWatch() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  thread_.join();
}

int64_t EtcdWatch::revision() const {
  absl::MutexLock lock(&mu_);
  return revision_;
}

bool EtcdWatch::Stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void EtcdWatch::Run() {
  int64_t next_revision = from_revision_;
  absl::Duration backoff = absl::Milliseconds(50);
  while (true) {
    const int64_t before = next_revision;
    WatchOnce(&next_revision);
    // Back off only while nothing gets through, so a restarted etcd is
    // picked up within a second.
    backoff = next_revision != before ? absl::Milliseconds(50)
                                      : std::min(backoff * 2, absl::Seconds(1));
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
    if (stopping_) return;
  }
}

void EtcdWatch::WatchOnce(int64_t* next_revision) {
  // No deadline: the stream lives as long as the watch. Stopping cancels it
  // and channel keepalive pings break it if the connection dies silently.
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    active_ = &context;
  }
  auto stream = client_->watch_->Watch(&context);
  etcdserverpb::WatchRequest request;
  etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
  create->set_key(prefix_);
  create->set_range_end(EtcdClient::PrefixEnd(prefix_));
  create->set_start_revision(*next_revision);
  etcdserverpb::WatchResponse response;
  bool compacted = false;
  if (stream->Write(request)) {
    while (stream->Read(&response)) {
      if (response.compact_revision() > 0) {
        compacted = true;
        break;
      }
      if (response.canceled()) break;
      if (*next_revision == 0) {
        // Watching "from now": later resumes start after what now was.
        *next_revision = response.header().revision() + 1;
      }
      if (response.events_size() == 0) continue;  // Created, or progress.
      EtcdWatchUpdate update;
      update.events.reserve(response.events_size());
      for (const mvccpb::Event& e : response.events()) {
        update.events.push_back({e.type() == mvccpb::Event::DELETE, FromProto(e.kv())});
      }
      update.revision = update.events.back().kv.mod_revision;
      *next_revision = update.revision + 1;
      {
        absl::MutexLock lock(&mu_);
        revision_ = update.revision;
      }
      callback_(update);
    }
  }
  context.TryCancel();
  stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
  }
  if (compacted && !Stopping()) {
    // The revisions the watch needed are gone: hand over the whole prefix as
    // it is now and go on from there.
    absl::StatusOr<EtcdRange> range = client_->GetPrefix(prefix_);
    if (!range.ok()) return;  // Retried with the same compacted revision.
    EtcdWatchUpdate update;
    update.reset = true;
    update.snapshot = std::move(range->kvs);
    update.revision = range->revision;
    *next_revision = range->revision + 1;
    {
      absl::MutexLock lock(&mu_);
      revision_ = update.revision;
    }
    callback_(update);
  }
}

}  // namespace wapolicy::cluster
