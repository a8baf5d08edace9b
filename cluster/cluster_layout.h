// Where the cluster keeps its state in etcd, and how the values are spelled.
//
// Under one prefix (default "/wapolicy"):
//   <prefix>/members/<node_id>      ClusterMember JSON, under the node's lease
//   <prefix>/ring/<node_id>         RingNode JSON, durable
//   <prefix>/portfolios/<business>  PortfolioPin JSON, durable
// Values are protobuf JSON (proto/wapolicy/v1/cluster.proto) so that
// `etcdctl get --prefix /wapolicy/` reads as it is.
//
//   ClusterLayout layout;                       // "/wapolicy"
//   etcd.Put(layout.MemberKey("n1"), EncodeValue(member), lease.id);
//   ClusterKey k = layout.Parse("/wapolicy/portfolios/acme");  // {kPortfolio, "acme"}
//   absl::StatusOr<v1::PortfolioPin> pin = DecodeValue<v1::PortfolioPin>(value);
#ifndef WAPOLICY_CLUSTER_CLUSTER_LAYOUT_H_
#define WAPOLICY_CLUSTER_CLUSTER_LAYOUT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "proto/wapolicy/v1/cluster.pb.h"

namespace wapolicy::cluster {

inline constexpr char kDefaultClusterPrefix[] = "/wapolicy";

struct ClusterKey {
  enum Kind { kOther, kMember, kRingNode, kPortfolio };
  Kind kind = kOther;
  std::string id;  // The node id or the business id.
};

class ClusterLayout {
 public:
  // `prefix` without a trailing '/', e.g. "/wapolicy" or "/wapolicy/prod".
  explicit ClusterLayout(std::string prefix = kDefaultClusterPrefix);

  // Everything the cluster keeps: "<prefix>/".
  std::string Root() const { return prefix_ + "/"; }
  std::string MembersPrefix() const { return prefix_ + "/members/"; }
  std::string RingPrefix() const { return prefix_ + "/ring/"; }
  std::string PortfoliosPrefix() const { return prefix_ + "/portfolios/"; }

  std::string MemberKey(absl::string_view node_id) const;
  std::string RingNodeKey(absl::string_view node_id) const;
  std::string PortfolioKey(absl::string_view business) const;

  // What a key under Root() names; kOther for anything else (including an
  // empty id).
  ClusterKey Parse(absl::string_view key) const;

  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
};

// A value as stored: protobuf JSON.
std::string EncodeValue(const google::protobuf::Message& value);

// Parses a stored value into `out`; unknown fields are an error (a newer
// writer's value is not silently half-read).
absl::Status DecodeValue(absl::string_view json, google::protobuf::Message* out);

template <typename T>
absl::StatusOr<T> DecodeValue(absl::string_view json) {
  T out;
  if (absl::Status s = DecodeValue(json, &out); !s.ok()) return s;
  return out;
}

}  // namespace wapolicy::cluster

#endif  // WAPOLICY_CLUSTER_CLUSTER_LAYOUT_H_
