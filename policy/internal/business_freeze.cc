// FreezeBusiness and the rest of business_freeze.h: the engine's part of a
// portfolio leaving the node.
#include "policy/internal/business_freeze.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "policy/internal/engine_shard.h"
#include "policy/policy_engine.h"

namespace wapolicy {
namespace internal {

absl::Status FrozenError(absl::string_view business_id) {
  return absl::UnavailableError(
      absl::StrCat("business '", business_id,
                   "' is frozen: its portfolio is moving to another node; retry after ",
                   kFrozenRetryAfterMs, " ms"));
}

absl::Status EngineShard::FreezeBusiness(absl::string_view business_id) {
  MutexLock lock(&mu_);
  Business* b = state_.FindBusiness(business_id);
  if (b == nullptr) {
    return absl::NotFoundError(absl::StrCat("business_id '", business_id, "' is not registered"));
  }
  b->frozen = true;
  // Every operation that held the lock before has appended its changes;
  // wait until they are durable (nothing of its own to append).
  StateChanges none;
  return Commit(none, lock);
}

absl::Status EngineShard::ThawBusiness(absl::string_view business_id) {
  MutexLock lock(&mu_);
  Business* b = state_.FindBusiness(business_id);
  if (b == nullptr) {
    return absl::NotFoundError(absl::StrCat("business_id '", business_id, "' is not registered"));
  }
  b->frozen = false;
  return absl::OkStatus();
}

bool EngineShard::IsFrozen(absl::string_view business_id) const {
  MutexLock lock(&mu_);
  auto it = state_.businesses.find(business_id);
  return it != state_.businesses.end() && it->second->frozen;
}

std::vector<std::string> EngineShard::BusinessIds() const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  out.reserve(state_.businesses.size());
  for (const auto& [id, b] : state_.businesses) out.push_back(id);
  return out;
}

}  // namespace internal

absl::Status PolicyEngine::FreezeBusiness(absl::string_view business_id) {
  if (absl::Status s = ValidateBusinessId(business_id); !s.ok()) return s;
  return ShardOfBusiness(business_id).FreezeBusiness(business_id);
}

absl::Status PolicyEngine::ThawBusiness(absl::string_view business_id) {
  if (absl::Status s = ValidateBusinessId(business_id); !s.ok()) return s;
  return ShardOfBusiness(business_id).ThawBusiness(business_id);
}

bool PolicyEngine::IsFrozen(absl::string_view business_id) const {
  return ShardOfBusiness(business_id).IsFrozen(business_id);
}

std::vector<std::string> PolicyEngine::BusinessIds() const {
  std::vector<std::string> out;
  for (const auto& shard : shards_) {
    std::vector<std::string> ids = shard->BusinessIds();
    out.insert(out.end(), ids.begin(), ids.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace wapolicy
