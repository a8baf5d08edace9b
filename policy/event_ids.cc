#include "policy/event_ids.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "policy/stable_hash.h"

namespace wapolicy {

absl::StatusOr<int64_t> EventTimeOf(const EventMeta& meta, int64_t now, int64_t skew_us) {
  if (meta.event_id.size() > kMaxEventIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("event_id: at most ", kMaxEventIdBytes, " bytes"));
  }
  if (meta.occurred_at_us == 0) return now;
  if (meta.occurred_at_us < 0) {
    return absl::InvalidArgumentError("occurred_at: must be after 1970-01-01");
  }
  if (meta.occurred_at_us > now + skew_us) {
    return absl::InvalidArgumentError(
        absl::StrCat("occurred_at: ", absl::FormatTime(absl::FromUnixMicros(meta.occurred_at_us)),
                     " is in the future (server time ", absl::FormatTime(absl::FromUnixMicros(now)),
                     ", allowed skew ", absl::FormatDuration(absl::Microseconds(skew_us)), ")"));
  }
  return std::min(meta.occurred_at_us, now);
}

EventKey EventKey::Of(uint64_t number, absl::string_view id) {
  // Two FNV-1a passes with different offsets, the second over the bytes in
  // reverse order and seeded with the length.
  uint64_t h2 = 0x84222325cbf29ce4ULL ^ (id.size() * 0x9e3779b97f4a7c15ULL);
  for (auto it = id.rbegin(); it != id.rend(); ++it) {
    h2 = (h2 ^ static_cast<unsigned char>(*it)) * 1099511628211ULL;
  }
  return {number, StableHash64(id), h2};
}

const EventIdLog::Entry* EventIdLog::Find(const EventKey& key) const {
  if (ids_.empty()) return nullptr;
  auto it = ids_.find(key);
  return it == ids_.end() ? nullptr : &it->second;
}

void EventIdLog::Remember(const EventKey& key, int64_t seen_at_us, uint32_t answer) {
  if (ids_.try_emplace(key, Entry{seen_at_us, answer}).second) {
    by_age_.emplace_back(seen_at_us, key);
    Count(1);
  }
}

void EventIdLog::Expire(int64_t now, int64_t retention_us, size_t max_ids,
                        absl::FunctionRef<void(int64_t, const EventKey&)> dropped) {
  while (!by_age_.empty() &&
         (by_age_.front().first <= now - retention_us || OverBound(max_ids))) {
    const EventKey& key = by_age_.front().second;
    dropped(by_age_.front().first, key);
    ids_.erase(key);
    by_age_.pop_front();
    Count(-1);
  }
}

void EventIdLog::Restore(const EventKey& key, Entry e) {
  if (ids_.try_emplace(key, e).second) {
    by_age_.emplace_back(e.seen_at_us, key);
    Count(1);
  }
}

void EventIdLog::FinishRestore() {
  // Stored records come back in key order; expiry needs them by age.
  std::stable_sort(by_age_.begin(), by_age_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

void EventIdLog::ForEach(absl::FunctionRef<void(const EventKey&, const Entry&)> f) const {
  for (const auto& [at, key] : by_age_) f(key, ids_.find(key)->second);
}

size_t EventIdLog::EraseIf(absl::FunctionRef<bool(const EventKey&)> drop) {
  const size_t before = by_age_.size();
  std::deque<std::pair<int64_t, EventKey>> kept;
  for (auto& entry : by_age_) {
    if (drop(entry.second)) {
      ids_.erase(entry.second);
    } else {
      kept.push_back(std::move(entry));
    }
  }
  by_age_ = std::move(kept);
  const size_t erased = before - by_age_.size();
  Count(-static_cast<int64_t>(erased));
  return erased;
}

}  // namespace wapolicy
