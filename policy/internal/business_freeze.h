// Freezing a business whose portfolio is leaving the node (issue 17, point
// 4): the engine-level half of the cluster's "stop deciding, then export".
//
// The node's gate (cluster/cluster_gate.h) refuses a MOVING portfolio's
// calls, but a call that passed the gate just before the node saw the move
// may still be on its way into the engine. FreezeBusiness closes that gap:
//
//   engine.FreezeBusiness("acme");   // under acme's shard lock
//   // Every operation that took the lock before has appended its changes,
//   // and they are durable now; every later operation on acme (a check, an
//   // event, a query or an administration call naming it or one of its
//   // numbers) answers FrozenError: UNAVAILABLE, nothing changed.
//   ExportPortfolio(store, "acme", ...);   // storage/portfolio_transfer.h
//
// The flag lives on the business (ShardState::Business::frozen), checked by
// ShardState::FindNumber and EngineShard::OnBusiness, so a frozen business
// costs other businesses nothing. DropBusiness forgets it with the business;
// a restart forgets it too (the gate still refuses while the pin is MOVING,
// and an export freezes again).
#ifndef WAPOLICY_POLICY_INTERNAL_BUSINESS_FREEZE_H_
#define WAPOLICY_POLICY_INTERNAL_BUSINESS_FREEZE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wapolicy {
namespace internal {

// How long a caller is told to wait before retrying a frozen business (a
// move usually finishes within a second or two).
inline constexpr int kFrozenRetryAfterMs = 500;

// UNAVAILABLE: `business_id`'s portfolio is moving to another node.
absl::Status FrozenError(absl::string_view business_id);

}  // namespace internal
}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_INTERNAL_BUSINESS_FREEZE_H_
