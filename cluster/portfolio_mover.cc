#include "cluster/portfolio_mover.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"

namespace wapolicy::cluster {
namespace {

absl::Status FromGrpc(const grpc::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

const char* StateName(v1::PortfolioPin::State s) {
  return s == v1::PortfolioPin::MOVING ? "MOVING" : "SERVING";
}

// How many times a move re-reads its pin after losing a guarded transaction
// to another writer before giving up.
constexpr int kMaxRounds = 8;

}  // namespace

absl::StatusOr<std::unique_ptr<PortfolioMover>> PortfolioMover::Create(Options options) {
  if (options.etcd_endpoint.empty()) return absl::InvalidArgumentError("etcd: required");
  if (options.stop_after_step < 0 || options.stop_after_step > 4) {
    return absl::InvalidArgumentError("stop_after_step: 0 (off) or 1..4");
  }
  return std::unique_ptr<PortfolioMover>(new PortfolioMover(std::move(options)));
}

PortfolioMover::PortfolioMover(Options options)
    : options_(std::move(options)),
      layout_(options_.prefix),
      etcd_(options_.etcd_endpoint, EtcdClient::Options{options_.etcd_timeout}) {}

void PortfolioMover::Log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

absl::Status PortfolioMover::StopAfter(int step) {
  if (stopped_ || options_.stop_after_step != step) return absl::OkStatus();
  stopped_ = true;
  return absl::AbortedError(absl::StrCat("stop_after_step: stopped after step ", step,
                                         " (a test hook standing for a crash)"));
}

void PortfolioMover::Prepare(grpc::ClientContext* ctx) const {
  if (!options_.token.empty()) ctx->AddMetadata("authorization", "Bearer " + options_.token);
  ctx->set_deadline(std::chrono::system_clock::now() +
                    absl::ToChronoMicroseconds(options_.node_timeout));
}

absl::StatusOr<Assignment> PortfolioMover::Read() {
  absl::StatusOr<EtcdRange> all = etcd_.GetPrefix(layout_.Root());
  if (!all.ok()) return all.status();
  std::vector<std::pair<std::string, std::string>> kvs;
  kvs.reserve(all->kvs.size());
  for (EtcdKeyValue& kv : all->kvs) kvs.emplace_back(std::move(kv.key), std::move(kv.value));
  return Assignment::Build(layout_, kvs, all->revision);
}

absl::StatusOr<PortfolioMover::PinRead> PortfolioMover::ReadPin(absl::string_view business) {
  absl::StatusOr<EtcdRange> got = etcd_.Get(layout_.PortfolioKey(business));
  if (!got.ok()) return got.status();
  PinRead out;
  if (got->kvs.empty()) {
    // Not pinned: its owner is the ring's.
    absl::StatusOr<Assignment> a = Read();
    if (!a.ok()) return a.status();
    absl::StatusOr<std::string> owner = a->ring().RingOwner(business);
    if (!owner.ok()) return owner.status();
    out.pin.set_owner(*owner);
    out.pin.set_state(v1::PortfolioPin::SERVING);
    return out;
  }
  if (absl::Status s = DecodeValue(got->kvs[0].value, &out.pin); !s.ok()) {
    return absl::DataLossError(absl::StrCat(layout_.PortfolioKey(business), ": ", s.message()));
  }
  out.mod_revision = got->kvs[0].mod_revision;
  return out;
}

absl::StatusOr<std::unique_ptr<v1::PolicyCluster::Stub>> PortfolioMover::NodeStub(
    const Assignment& a, absl::string_view node) {
  auto m = a.members().find(std::string(node));
  if (m == a.members().end()) {
    return absl::UnavailableError(
        absl::StrCat("node ", node, " is not live (no member key): start it, then run again"));
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(m->second.grpc_address(),
                                           grpc::InsecureChannelCredentials(), args);
  return v1::PolicyCluster::NewStub(channel);
}

absl::StatusOr<v1::ListPortfoliosResponse> PortfolioMover::List(const Assignment& a,
                                                                absl::string_view node_id) {
  absl::StatusOr<std::unique_ptr<v1::PolicyCluster::Stub>> stub = NodeStub(a, node_id);
  if (!stub.ok()) return stub.status();
  grpc::ClientContext ctx;
  Prepare(&ctx);
  v1::ListPortfoliosResponse out;
  if (absl::Status s = FromGrpc((*stub)->ListPortfolios(&ctx, {}, &out),
                                absl::StrCat("ListPortfolios on ", node_id));
      !s.ok()) {
    return s;
  }
  return out;
}

absl::StatusOr<int64_t> PortfolioMover::Transfer(const Assignment& a, absl::string_view business,
                                                 absl::string_view from, absl::string_view to,
                                                 int64_t pin_revision) {
  absl::StatusOr<std::unique_ptr<v1::PolicyCluster::Stub>> old_stub = NodeStub(a, from);
  if (!old_stub.ok()) return old_stub.status();
  absl::StatusOr<std::unique_ptr<v1::PolicyCluster::Stub>> new_stub = NodeStub(a, to);
  if (!new_stub.ok()) return new_stub.status();

  // Step 2: the export, read as it comes.
  grpc::ClientContext export_ctx;
  Prepare(&export_ctx);
  v1::ExportPortfolioRequest request;
  request.set_business_id(std::string(business));
  request.set_pin_revision(pin_revision);
  std::unique_ptr<grpc::ClientReader<v1::PortfolioChunk>> exported =
      (*old_stub)->ExportPortfolio(&export_ctx, request);
  v1::PortfolioChunk chunk;
  if (!exported->Read(&chunk)) {
    grpc::Status s = exported->Finish();
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      Log(absl::StrCat(business, ": step 2: ", from, " holds nothing of it: nothing to ingest"));
      return 0;
    }
    if (s.ok()) s = grpc::Status(grpc::StatusCode::INTERNAL, "empty export");
    return FromGrpc(s, absl::StrCat("ExportPortfolio on ", from));
  }
  if (!chunk.has_manifest()) {
    return absl::InternalError(absl::StrCat("ExportPortfolio on ", from, ": no manifest first"));
  }
  const int64_t records = chunk.manifest().records();

  if (options_.stop_after_step == 2 && !stopped_) {
    // As if the mover died with the export read: nothing reaches `to`.
    while (exported->Read(&chunk)) {
    }
    if (absl::Status s = FromGrpc(exported->Finish(), absl::StrCat("ExportPortfolio on ", from));
        !s.ok()) {
      return s;
    }
    Log(absl::StrCat(business, ": step 2: exported ", records, " records from ", from));
    if (absl::Status s = StopAfter(2); !s.ok()) return s;
  }

  // Step 3: streamed on into the ingest.
  grpc::ClientContext ingest_ctx;
  Prepare(&ingest_ctx);
  v1::IngestPortfolioResponse ingested;
  std::unique_ptr<grpc::ClientWriter<v1::PortfolioChunk>> ingest =
      (*new_stub)->IngestPortfolio(&ingest_ctx, &ingested);
  bool writing = ingest->Write(chunk);
  while (writing && exported->Read(&chunk)) writing = ingest->Write(chunk);
  if (!writing) {
    export_ctx.TryCancel();
    (void)exported->Finish();
    return FromGrpc(ingest->Finish(), absl::StrCat("IngestPortfolio on ", to));
  }
  if (absl::Status s = FromGrpc(exported->Finish(), absl::StrCat("ExportPortfolio on ", from));
      !s.ok()) {
    ingest_ctx.TryCancel();
    (void)ingest->Finish();
    return s;
  }
  Log(absl::StrCat(business, ": step 2: exported ", records, " records from ", from));
  ingest->WritesDone();
  if (absl::Status s = FromGrpc(ingest->Finish(), absl::StrCat("IngestPortfolio on ", to));
      !s.ok()) {
    return s;
  }
  Log(absl::StrCat(business, ": step 3: ", to, " ingested ", ingested.records(), " records",
                   ingested.replaced() ? " (replacing an earlier attempt's copy)" : ""));
  return ingested.records();
}

absl::StatusOr<bool> PortfolioMover::DropOn(const Assignment& a, absl::string_view node,
                                            absl::string_view business, int64_t pin_revision) {
  absl::StatusOr<std::unique_ptr<v1::PolicyCluster::Stub>> stub = NodeStub(a, node);
  if (!stub.ok()) return stub.status();
  grpc::ClientContext ctx;
  Prepare(&ctx);
  v1::DropPortfolioRequest request;
  request.set_business_id(std::string(business));
  request.set_pin_revision(pin_revision);
  v1::DropPortfolioResponse out;
  if (absl::Status s = FromGrpc((*stub)->DropPortfolio(&ctx, request, &out),
                                absl::StrCat("DropPortfolio on ", node));
      !s.ok()) {
    return s;
  }
  return out.dropped();
}

absl::StatusOr<MoveReport> PortfolioMover::Move(absl::string_view business,
                                                absl::string_view to) {
  if (business.empty()) return absl::InvalidArgumentError("business: required");
  if (to.empty()) return absl::InvalidArgumentError("to: required");
  MoveReport report;
  report.business_id = std::string(business);
  report.to = std::string(to);
  const std::string key = layout_.PortfolioKey(business);
  absl::Time moving_since = absl::InfiniteFuture();  // Step 1 by this call.
  for (int round = 0; round < kMaxRounds; ++round) {
    absl::StatusOr<PinRead> read = ReadPin(business);
    if (!read.ok()) return read.status();
    v1::PortfolioPin pin = read->pin;
    int64_t pin_revision = read->mod_revision;
    absl::StatusOr<Assignment> a = Read();
    if (!a.ok()) return a.status();

    if (pin.state() == v1::PortfolioPin::SERVING && pin.owner() == to) {
      // Done, or step 5 left to do: drop the copy of every other live node
      // (the old owner if this run knows it, else any that holds it).
      std::vector<std::string> holders;
      if (!report.from.empty()) {
        holders.push_back(report.from);
      } else {
        for (const auto& [id, member] : a->members()) {
          if (id == to) continue;
          absl::StatusOr<v1::ListPortfoliosResponse> held = List(*a, id);
          if (!held.ok()) return held.status();
          for (const auto& h : held->portfolios()) {
            if (h.business_id() == business) holders.push_back(id);
          }
        }
      }
      for (const std::string& node : holders) {
        absl::StatusOr<bool> dropped = DropOn(*a, node, business, pin_revision);
        if (!dropped.ok()) return dropped.status();
        if (*dropped) report.dropped_from.push_back(node);
        Log(absl::StrCat(business, ": step 5: ", *dropped ? "dropped" : "nothing left", " on ",
                         node));
      }
      report.already_there = report.from.empty() && report.dropped_from.empty();
      return report;
    }

    if (pin.state() == v1::PortfolioPin::SERVING) {
      // Step 1.
      if (a->members().find(std::string(to)) == a->members().end()) {
        return absl::UnavailableError(absl::StrCat("to: node ", to, " is not live"));
      }
      v1::PortfolioPin moving;
      moving.set_owner(pin.owner());
      moving.set_state(v1::PortfolioPin::MOVING);
      moving.set_target(std::string(to));
      absl::StatusOr<EtcdTxnResult> t = etcd_.PutIf(key, EncodeValue(moving), pin_revision);
      if (!t.ok()) return t.status();
      if (!t->succeeded) continue;  // Changed under us: read again.
      Log(absl::StrCat(business, ": step 1: MOVING from ", pin.owner(), " to ", to,
                       " at revision ", t->revision));
      pin = moving;
      pin_revision = t->revision;
      moving_since = absl::Now();
      if (absl::Status s = StopAfter(1); !s.ok()) return s;
    } else if (pin.target() != to) {
      Log(absl::StrCat(business, ": MOVING from ", pin.owner(), " to ", pin.target(),
                       ": finishing that move first"));
    } else {
      Log(absl::StrCat(business, ": resuming the move from ", pin.owner(), " to ", to,
                       " (pin MOVING since revision ", pin_revision, ")"));
    }

    // Steps 2 and 3, to the pin's target.
    const std::string from = pin.owner();
    const std::string target = pin.target();
    absl::StatusOr<int64_t> records = Transfer(*a, business, from, target, pin_revision);
    if (!records.ok()) return records.status();
    if (absl::Status s = StopAfter(3); !s.ok()) return s;

    // Step 4: the flip, guarded by the MOVING pin.
    v1::PortfolioPin serving;
    serving.set_owner(target);
    serving.set_state(v1::PortfolioPin::SERVING);
    absl::StatusOr<EtcdTxnResult> t = etcd_.PutIf(key, EncodeValue(serving), pin_revision);
    if (!t.ok()) return t.status();
    if (!t->succeeded) continue;  // Another mover finished it: read again.
    const absl::Duration unavailable = absl::Now() - moving_since;
    Log(absl::StrCat(business, ": step 4: SERVING at ", target, " at revision ", t->revision,
                     unavailable > absl::ZeroDuration()
                         ? absl::StrCat(", ", absl::FormatDuration(unavailable), " after step 1")
                         : ""));
    if (absl::Status s = StopAfter(4); !s.ok()) return s;

    // Step 5.
    absl::StatusOr<Assignment> after = Read();
    if (!after.ok()) return after.status();
    absl::StatusOr<bool> dropped = DropOn(*after, from, business, t->revision);
    if (!dropped.ok()) return dropped.status();
    Log(absl::StrCat(business, ": step 5: ", *dropped ? "dropped" : "nothing left", " on ", from));
    if (target == to) {
      report.from = from;
      report.records = *records;
      report.unavailable = std::max(absl::ZeroDuration(), unavailable);
      if (*dropped) report.dropped_from.push_back(from);
      return report;
    }
    // That was another move's target: now ours.
  }
  return absl::AbortedError(absl::StrCat("business: the pin of '", business, "' kept changing ",
                                         "under the mover (", kMaxRounds, " rounds)"));
}

absl::StatusOr<std::vector<MoveReport>> PortfolioMover::AddNode(absl::string_view node_id,
                                                                absl::string_view address) {
  if (node_id.empty()) return absl::InvalidArgumentError("node: required");
  absl::StatusOr<Assignment> a = Read();
  if (!a.ok()) return a.status();
  auto member = a->members().find(std::string(node_id));
  if (member == a->members().end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("node: ", node_id,
                     " is not live: start it (--cluster_join_ring=false) first"));
  }
  const std::string ring_address =
      address.empty() ? member->second.grpc_address() : std::string(address);
  auto on_ring = a->ring_nodes().find(std::string(node_id));
  if (on_ring == a->ring_nodes().end()) {
    v1::RingNode node;
    node.set_node_id(std::string(node_id));
    node.set_address(ring_address);
    absl::StatusOr<EtcdTxnResult> t =
        etcd_.PutIf(layout_.RingNodeKey(node_id), EncodeValue(node), 0);
    if (!t.ok()) return t.status();
    if (!t->succeeded) {
      return absl::AbortedError(absl::StrCat("node: ", node_id, " was put on the ring meanwhile"));
    }
    Log(absl::StrCat("ring: ", node_id, " (", ring_address, ") added at revision ", t->revision));
  } else if (on_ring->second.address() != ring_address) {
    return absl::FailedPreconditionError(
        absl::StrCat("address: ", node_id, " is on the ring as ", on_ring->second.address()));
  }
  a = Read();
  if (!a.ok()) return a.status();
  std::vector<std::string> to_move;
  for (const auto& [business, pin] : a->pins()) {
    absl::StatusOr<std::string> ring_owner = a->ring().RingOwner(business);
    if (!ring_owner.ok()) return ring_owner.status();
    const bool there = pin.state() == v1::PortfolioPin::SERVING && pin.owner() == node_id;
    if (*ring_owner == node_id && !there) to_move.push_back(business);
  }
  std::sort(to_move.begin(), to_move.end());
  Log(absl::StrCat("add-node ", node_id, ": ", to_move.size(), " of ", a->pins().size(),
                   " portfolios move to it"));
  std::vector<MoveReport> out;
  for (const std::string& b : to_move) {
    absl::StatusOr<MoveReport> r = Move(b, node_id);
    if (!r.ok()) return r.status();
    out.push_back(*std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<MoveReport>> PortfolioMover::Drain(absl::string_view node_id) {
  if (node_id.empty()) return absl::InvalidArgumentError("node: required");
  absl::StatusOr<EtcdRange> ring_key = etcd_.Get(layout_.RingNodeKey(node_id));
  if (!ring_key.ok()) return ring_key.status();
  if (!ring_key->kvs.empty()) {
    absl::StatusOr<Assignment> a = Read();
    if (!a.ok()) return a.status();
    if (a->ring_nodes().size() <= 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("node: ", node_id, " is the last ring node; add another first"));
    }
    absl::StatusOr<EtcdTxnResult> t =
        etcd_.DeleteIf(layout_.RingNodeKey(node_id), ring_key->kvs[0].mod_revision);
    if (!t.ok()) return t.status();
    if (!t->succeeded) {
      return absl::AbortedError(absl::StrCat("node: ", node_id, "'s ring entry changed meanwhile"));
    }
    Log(absl::StrCat("ring: ", node_id, " removed at revision ", t->revision));
  }
  std::vector<MoveReport> out;
  // Portfolios created on it before its watch saw the ring change may
  // still appear: go round until none is left.
  for (int round = 0; round < kMaxRounds; ++round) {
    absl::StatusOr<Assignment> a = Read();
    if (!a.ok()) return a.status();
    if (a->ring_nodes().contains(std::string(node_id))) {
      return absl::AbortedError(absl::StrCat("node: ", node_id, " was put back on the ring"));
    }
    std::vector<std::pair<std::string, std::string>> to_move;  // business, to
    for (const auto& [business, pin] : a->pins()) {
      if (pin.owner() != node_id && pin.target() != node_id) continue;
      absl::StatusOr<std::string> ring_owner = a->ring().RingOwner(business);
      if (!ring_owner.ok()) return ring_owner.status();
      to_move.emplace_back(business, *ring_owner);
    }
    if (to_move.empty()) {
      Log(absl::StrCat("drain ", node_id, ": no portfolio left on it"));
      return out;
    }
    std::sort(to_move.begin(), to_move.end());
    Log(absl::StrCat("drain ", node_id, ": ", to_move.size(), " portfolios to move"));
    for (const auto& [b, to] : to_move) {
      absl::StatusOr<MoveReport> r = Move(b, to);
      if (!r.ok()) return r.status();
      out.push_back(*std::move(r));
    }
  }
  return absl::AbortedError(absl::StrCat("node: portfolios kept appearing on ", node_id));
}

}  // namespace wapolicy::cluster
