#include "cli/cluster_commands.h"

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "cluster/assignment.h"
#include "cluster/cluster_layout.h"
#include "cluster/portfolio_mover.h"

ABSL_FLAG(std::string, etcd, "127.0.0.1:2379", "cluster: etcd's client URL, host:port.");
ABSL_FLAG(std::string, cluster_prefix, "/wapolicy", "cluster: the cluster's etcd key prefix.");
ABSL_FLAG(std::string, to, "", "cluster move: the node to move the portfolio to.");
ABSL_FLAG(std::string, node, "", "cluster add-node, drain: the node id.");
ABSL_FLAG(std::string, address, "",
          "cluster add-node: the node's ring address (the router's server line); default: its "
          "advertised gRPC address.");
ABSL_FLAG(int, stop_after_step, 0,
          "cluster move (a test hook): stop after step 1..4 as if the mover crashed there.");
ABSL_FLAG(absl::Duration, node_timeout, absl::Seconds(60),
          "cluster: deadline of each call to a node (exports and ingests).");

namespace wapolicy {
namespace {

using cluster::MoveReport;
using cluster::PortfolioMover;

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "policyctl cluster: %s: %s\n",
               absl::StatusCodeToString(s.code()).c_str(), std::string(s.message()).c_str());
  return s.code() == absl::StatusCode::kUnavailable ? 3 : 1;
}

void PrintMove(const MoveReport& r) {
  if (r.already_there) {
    std::printf("%s: already at %s\n", r.business_id.c_str(), r.to.c_str());
    return;
  }
  std::printf("%s: %s -> %s, %lld records, unavailable %s%s\n", r.business_id.c_str(),
              r.from.empty() ? "?" : r.from.c_str(), r.to.c_str(),
              static_cast<long long>(r.records), absl::FormatDuration(r.unavailable).c_str(),
              r.dropped_from.empty()
                  ? ""
                  : absl::StrCat(", dropped on ", absl::StrJoin(r.dropped_from, ",")).c_str());
}

int Status(PortfolioMover& mover) {
  absl::StatusOr<cluster::Assignment> a = mover.Read();
  if (!a.ok()) return Fail(a.status());
  std::printf("revision %lld\n", static_cast<long long>(a->revision()));
  // Nodes: members and ring nodes.
  std::map<std::string, std::string> nodes;
  for (const auto& [id, m] : a->members()) nodes[id] = m.grpc_address();
  for (const auto& [id, r] : a->ring_nodes()) nodes.emplace(id, r.address());
  std::map<std::string, int> serving, moving_out, moving_in;
  for (const auto& [b, pin] : a->pins()) {
    if (pin.state() == v1::PortfolioPin::MOVING) {
      ++moving_out[pin.owner()];
      ++moving_in[pin.target()];
    } else {
      ++serving[pin.owner()];
    }
    nodes.emplace(pin.owner(), "");
  }
  std::printf("nodes:\n");
  for (const auto& [id, address] : nodes) {
    const bool live = a->members().contains(id);
    std::string held = "-";
    if (live) {
      absl::StatusOr<v1::ListPortfoliosResponse> l = mover.List(*a, id);
      held = l.ok() ? absl::StrCat(l->portfolios_size()) : "?";
    }
    std::printf("  %-12s %-22s %-5s %-7s pinned %d serving, %d moving out, %d moving in; "
                "holds %s\n",
                id.c_str(), address.c_str(), live ? "live" : "AWAY",
                a->ring_nodes().contains(id) ? "ring" : "no-ring", serving[id], moving_out[id],
                moving_in[id], held.c_str());
  }
  std::printf("pins (%zu):\n", a->pins().size());
  std::map<std::string, v1::PortfolioPin> sorted(a->pins().begin(), a->pins().end());
  for (const auto& [b, pin] : sorted) {
    if (pin.state() == v1::PortfolioPin::MOVING) {
      std::printf("  %-20s MOVING  %s -> %s\n", b.c_str(), pin.owner().c_str(),
                  pin.target().c_str());
    } else {
      std::printf("  %-20s SERVING %s\n", b.c_str(), pin.owner().c_str());
    }
  }
  // Copies held where the pin does not put them (a move's step 5 to re-run).
  for (const auto& [id, m] : a->members()) {
    absl::StatusOr<v1::ListPortfoliosResponse> l = mover.List(*a, id);
    if (!l.ok()) continue;
    for (const auto& h : l->portfolios()) {
      auto pin = a->pins().find(h.business_id());
      if (pin != a->pins().end() && pin->second.owner() != id) {
        std::printf("  stale copy: %s on %s (pinned %s at %s)%s\n", h.business_id().c_str(),
                    id.c_str(),
                    pin->second.state() == v1::PortfolioPin::MOVING ? "MOVING" : "SERVING",
                    pin->second.owner().c_str(), h.frozen() ? ", frozen" : "");
      }
    }
  }
  return 0;
}

}  // namespace

int RunClusterCommand(const std::string& sub, const std::string& business,
                      const std::string& token) {
  PortfolioMover::Options o;
  o.etcd_endpoint = absl::GetFlag(FLAGS_etcd);
  o.prefix = absl::GetFlag(FLAGS_cluster_prefix);
  o.token = token;
  o.node_timeout = absl::GetFlag(FLAGS_node_timeout);
  o.stop_after_step = absl::GetFlag(FLAGS_stop_after_step);
  o.log = [](const std::string& line) {
    std::fprintf(stderr, "policyctl cluster: %s\n", line.c_str());
  };
  absl::StatusOr<std::unique_ptr<PortfolioMover>> mover = PortfolioMover::Create(o);
  if (!mover.ok()) return Fail(mover.status());
  if (sub == "status") return Status(**mover);
  if (sub == "move") {
    if (business.empty() || absl::GetFlag(FLAGS_to).empty()) {
      return Fail(absl::InvalidArgumentError("move needs --business and --to"));
    }
    absl::StatusOr<MoveReport> r = (*mover)->Move(business, absl::GetFlag(FLAGS_to));
    if (!r.ok()) return Fail(r.status());
    PrintMove(*r);
    return 0;
  }
  if (sub == "add-node" || sub == "drain") {
    if (absl::GetFlag(FLAGS_node).empty()) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(sub, " needs --node")));
    }
    absl::StatusOr<std::vector<MoveReport>> moved =
        sub == "drain" ? (*mover)->Drain(absl::GetFlag(FLAGS_node))
                       : (*mover)->AddNode(absl::GetFlag(FLAGS_node), absl::GetFlag(FLAGS_address));
    if (!moved.ok()) return Fail(moved.status());
    for (const MoveReport& r : *moved) PrintMove(r);
    std::printf("%s %s: %zu portfolios moved\n", sub.c_str(), absl::GetFlag(FLAGS_node).c_str(),
                moved->size());
    return 0;
  }
  return Fail(absl::InvalidArgumentError(
      absl::StrCat("cluster: unknown command '", sub, "' (status, move, add-node, drain)")));
}

}  // namespace wapolicy
