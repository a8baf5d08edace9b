#include "cluster/portfolio_ring.h"

#include <zlib.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace wapolicy::cluster {
namespace {

// nginx gives every server weight * 160 points; the nodes all have weight 1.
constexpr int kPointsPerServer = 160;

uint32_t Crc32(uint32_t crc, const void* data, size_t len) {
  // zlib's crc32 is the IEEE CRC-32 with nginx's init and final xor, and
  // chains: crc32(crc32(0, a), b) == crc32(0, a b).
  return static_cast<uint32_t>(
      crc32(crc, static_cast<const Bytef*>(data), static_cast<uInt>(len)));
}

}  // namespace

std::vector<uint32_t> PortfolioRing::PointsOf(absl::string_view server) {
  // ngx_http_upstream_init_chash: split "host:port" at the last ':' followed
  // only by digits; "unix:path" and names without a port hash with no port.
  absl::string_view host = server;
  absl::string_view port;
  if (server.size() >= 5 && absl::EqualsIgnoreCase(server.substr(0, 5), "unix:")) {
    host = server.substr(5);
  } else {
    for (size_t j = 0; j < server.size(); ++j) {
      const char c = server[server.size() - j - 1];
      if (c == ':') {
        host = server.substr(0, server.size() - j - 1);
        port = server.substr(server.size() - j);
        break;
      }
      if (c < '0' || c > '9') break;
    }
  }
  uint32_t base = Crc32(0, host.data(), host.size());
  base = Crc32(base, "", 1);
  base = Crc32(base, port.data(), port.size());

  std::vector<uint32_t> points;
  points.reserve(kPointsPerServer);
  uint32_t prev = 0;
  for (int j = 0; j < kPointsPerServer; ++j) {
    // nginx feeds the previous hash's bytes in little-endian order on every
    // platform.
    const unsigned char bytes[4] = {
        static_cast<unsigned char>(prev), static_cast<unsigned char>(prev >> 8),
        static_cast<unsigned char>(prev >> 16), static_cast<unsigned char>(prev >> 24)};
    const uint32_t hash = Crc32(base, bytes, 4);
    points.push_back(hash);
    prev = hash;
  }
  return points;
}

absl::StatusOr<PortfolioRing> PortfolioRing::Create(std::vector<RingMember> members) {
  std::sort(members.begin(), members.end(),
            [](const RingMember& a, const RingMember& b) { return a.node_id < b.node_id; });
  absl::flat_hash_set<std::string> ids, addresses;
  for (const RingMember& m : members) {
    if (m.node_id.empty() || m.address.empty()) {
      return absl::InvalidArgumentError("ring member with an empty node id or address");
    }
    if (!ids.insert(m.node_id).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate ring node id ", m.node_id));
    }
    // nginx matches a point to its server by the server's text: two nodes
    // with one address would be one server.
    if (!addresses.insert(m.address).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate ring address ", m.address));
    }
  }
  PortfolioRing ring;
  ring.members_ = std::move(members);
  for (uint32_t i = 0; i < ring.members_.size(); ++i) {
    for (uint32_t hash : PointsOf(ring.members_[i].address)) ring.points_.push_back({hash, i});
  }
  // nginx qsorts by hash and keeps the first of equal hashes. glibc's qsort
  // is a stable merge sort for arrays this small, so "first" is the earlier
  // server line; the config generator writes servers in node id order, as
  // members_ is here.
  std::stable_sort(ring.points_.begin(), ring.points_.end(),
                   [](const Point& a, const Point& b) { return a.hash < b.hash; });
  ring.points_.erase(std::unique(ring.points_.begin(), ring.points_.end(),
                                 [](const Point& a, const Point& b) { return a.hash == b.hash; }),
                     ring.points_.end());
  return ring;
}

absl::StatusOr<std::string> PortfolioRing::RingOwner(absl::string_view business) const {
  if (members_.empty()) return absl::FailedPreconditionError("the portfolio ring has no members");
  if (business.empty()) return absl::InvalidArgumentError("empty business id");
  if (members_.size() == 1) return members_[0].node_id;  // nginx: peers->single.
  // ngx_http_upstream_find_chash_point: the first point >= crc32(key),
  // wrapping past the last to the first.
  const uint32_t hash = Crc32(0, business.data(), business.size());
  auto it = std::lower_bound(points_.begin(), points_.end(), hash,
                             [](const Point& p, uint32_t h) { return p.hash < h; });
  const size_t index = static_cast<size_t>(it - points_.begin()) % points_.size();
  return members_[points_[index].member].node_id;
}

absl::StatusOr<std::string> PortfolioRing::Owner(absl::string_view business) const {
  if (auto it = pins_.find(business); it != pins_.end()) return it->second;
  return RingOwner(business);
}

void PortfolioRing::Pin(std::string business, std::string node_id) {
  pins_[std::move(business)] = std::move(node_id);
}

void PortfolioRing::Unpin(absl::string_view business) { pins_.erase(business); }

}  // namespace wapolicy::cluster
