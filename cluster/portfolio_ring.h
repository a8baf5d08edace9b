// Who owns a business portfolio: the same node the router's nginx picks.
//
// The router is nginx 1.22 with `hash $http_x_wapolicy_business consistent;`
// over one `server host:port;` line per node. PortfolioRing reproduces that
// upstream's ketama ring point for point (ngx_http_upstream_init_chash and
// ngx_http_upstream_get_chash_peer: 160 points per server at weight 1, each
// crc32(HOST "\0" PORT PREV_HASH); a key goes to the first point at or after
// crc32(key), wrapping), so a call routed by business id lands straight on
// the node that owns it. Pins (portfolios moved off their ring node) override
// the ring; nginx does not know them, and a node that gets a pinned
// portfolio's call by the ring answers with the owner's address instead.
//
//   PortfolioRing ring({{"n1", "10.0.0.1:50051"}, {"n2", "10.0.0.2:50051"}});
//   ring.Pin("acme", "n2");
//   absl::StatusOr<std::string> owner = ring.Owner("acme");   // "n2"
//   absl::StatusOr<std::string> by_ring = ring.RingOwner("acme");
#ifndef WAPOLICY_CLUSTER_PORTFOLIO_RING_H_
#define WAPOLICY_CLUSTER_PORTFOLIO_RING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wapolicy::cluster {

// A node on the ring. `address` is spelled exactly as in nginx's `server`
// line ("127.0.0.1:50051", "node-3.internal:50051"): nginx hashes the text,
// not the resolved address.
struct RingMember {
  std::string node_id;
  std::string address;
};

class PortfolioRing {
 public:
  // Members in any order (nginx's ring does not depend on the order of the
  // server lines except for crc32 collisions between two servers' points,
  // where the earlier line wins; Create() sorts by node id so every node
  // builds the same ring). Fails on an empty or duplicate node id or address.
  static absl::StatusOr<PortfolioRing> Create(std::vector<RingMember> members);

  PortfolioRing() = default;  // No members: every lookup fails.

  // The node nginx picks for `business` when every server is up.
  // FAILED_PRECONDITION without members; INVALID_ARGUMENT for an empty id
  // (nginx falls back to round robin on an empty key).
  absl::StatusOr<std::string> RingOwner(absl::string_view business) const;

  // The pin for `business` if there is one, else RingOwner().
  absl::StatusOr<std::string> Owner(absl::string_view business) const;

  // Pins `business` to `node_id` (which need not be a ring member: a pinned
  // portfolio stays with its node while that node is away).
  void Pin(std::string business, std::string node_id);
  void Unpin(absl::string_view business);

  const std::vector<RingMember>& members() const { return members_; }
  const absl::flat_hash_map<std::string, std::string>& pins() const { return pins_; }

  // The nginx ring points of one `server` string, in generation order
  // (exposed for tests).
  static std::vector<uint32_t> PointsOf(absl::string_view address);

 private:
  struct Point {
    uint32_t hash;
    uint32_t member;  // Index into members_.
  };

  std::vector<RingMember> members_;
  std::vector<Point> points_;  // Sorted by hash, no two equal.
  absl::flat_hash_map<std::string, std::string> pins_;  // business -> node id
};

}  // namespace wapolicy::cluster

#endif  // WAPOLICY_CLUSTER_PORTFOLIO_RING_H_
