#include "policy/event_ids.h"

#include <algorithm>

#include "absl/base/internal/endian.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

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

std::string EventIdLog::Key(uint64_t number, absl::string_view id) {
  std::string key(8 + id.size(), '\0');
  absl::big_endian::Store64(key.data(), number);
  std::copy(id.begin(), id.end(), key.begin() + 8);
  return key;
}

const EventIdLog::Entry* EventIdLog::Find(const std::string& key) const {
  if (ids_.empty()) return nullptr;
  auto it = ids_.find(key);
  return it == ids_.end() ? nullptr : &it->second;
}

void EventIdLog::Remember(std::string key, int64_t seen_at_us, uint32_t answer) {
  auto [it, added] = ids_.try_emplace(std::move(key), Entry{seen_at_us, answer});
  if (added) by_age_.emplace_back(seen_at_us, &it->first);
}

void EventIdLog::Expire(int64_t now, int64_t retention_us, size_t max_ids,
                        absl::FunctionRef<void(uint64_t, absl::string_view)> dropped) {
  while (!by_age_.empty() &&
         (by_age_.front().first <= now - retention_us || by_age_.size() > max_ids)) {
    const std::string& key = *by_age_.front().second;
    dropped(absl::big_endian::Load64(key.data()), absl::string_view(key).substr(8));
    ids_.erase(key);
    by_age_.pop_front();
  }
}

void EventIdLog::Restore(uint64_t number, absl::string_view id, Entry e) {
  auto [it, added] = ids_.try_emplace(Key(number, id), e);
  if (added) by_age_.emplace_back(e.seen_at_us, &it->first);
}

void EventIdLog::FinishRestore() {
  // Stored records come back in key order; expiry needs them by age.
  std::stable_sort(by_age_.begin(), by_age_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

}  // namespace wapolicy
