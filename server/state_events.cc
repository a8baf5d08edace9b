#include "server/state_events.h"

#include <deque>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wapolicy {
namespace {

constexpr absl::string_view kBaselinePrefix = "base/";

std::string BaselineKey(PhoneNumber n) { return absl::StrCat(kBaselinePrefix, n.value()); }

bool Visible(const v1::StateEvent& e, const Caller& caller) {
  return caller.admin || e.business_id() == caller.business_id;
}

}  // namespace

absl::Status StateEventLog::Load() {
  absl::MutexLock lock(&mu_);
  absl::Status bad = absl::OkStatus();
  absl::Status s = log_->ForEachMark(kBaselinePrefix, [&](absl::string_view key,
                                                          absl::string_view value) {
    uint64_t number = 0;
    absl::StatusOr<WatchedNumber> w = DecodeWatched(value);
    if (!absl::SimpleAtoi(key.substr(kBaselinePrefix.size()), &number) || !w.ok()) {
      bad = absl::DataLossError(absl::StrCat("state events: baseline ", key, " is malformed"));
      return;
    }
    baselines_[number] = *std::move(w);
  });
  return s.ok() ? bad : s;
}

absl::StatusOr<int> StateEventLog::Observe() { return ObserveNumbers(engine_->Numbers()); }

absl::StatusOr<int> StateEventLog::ObserveNumber(PhoneNumber number) {
  return ObserveNumbers({number});
}

absl::StatusOr<int> StateEventLog::ObserveNumbers(const std::vector<PhoneNumber>& numbers) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> values;
  std::vector<StateEventKind> kinds;
  RecordLog::Marks marks;
  std::vector<std::pair<uint64_t, WatchedNumber>> changed;
  const absl::Time now = engine_->Now();
  const int64_t now_us = absl::ToUnixMicros(now);
  for (const PhoneNumber& number : numbers) {
    absl::StatusOr<NumberSnapshot> s = engine_->GetNumberState(number, SnapshotDetail::kWatched);
    if (!s.ok()) continue;  // Removed since listed, or the engine refuses work.
    WatchedNumber w = WatchOf(*s, now_us);
    auto it = baselines_.find(number.value());
    const WatchedNumber before = it == baselines_.end() ? FreshWatch(*s) : it->second;
    if (it != baselines_.end() && before == w) continue;
    for (const StateEvent& e : DiffWatched(before, w, *s)) {
      v1::StateEvent p;
      p.set_business_number(number.E164());
      p.set_business_id(s->business_id);
      p.set_kind(std::string(StateEventKindName(e.kind)));
      p.set_old_value(e.old_value);
      p.set_new_value(e.new_value);
      p.set_reason(e.reason);
      p.set_time_unix_ms(absl::ToUnixMillis(now));
      values.push_back(p.SerializeAsString());
      kinds.push_back(e.kind);
    }
    marks.emplace_back(BaselineKey(number), EncodeWatched(w));
    changed.emplace_back(number.value(), std::move(w));
  }
  if (marks.empty()) return 0;
  // Events and baselines in one write: a crash keeps both or neither.
  absl::StatusOr<uint64_t> first = log_->Append(values, now, marks);
  if (!first.ok()) return first.status();
  for (auto& [n, w] : changed) baselines_[n] = std::move(w);
  for (StateEventKind k : kinds) {
    appended_[static_cast<int>(k)].fetch_add(1, std::memory_order_relaxed);
  }
  return static_cast<int>(values.size());
}

absl::StatusOr<StateEventLog::Page> StateEventLog::Read(uint64_t from, size_t max,
                                                        const Caller& caller) const {
  absl::StatusOr<std::vector<RecordLog::Entry>> entries = log_->Read(from, max);
  if (!entries.ok()) return entries.status();
  Page page;
  page.next = from;
  for (const RecordLog::Entry& entry : *entries) {
    page.next = entry.position + 1;
    v1::StateEvent e;
    if (!e.ParseFromString(entry.value)) {
      return absl::DataLossError(absl::StrCat("state event ", entry.position, " is malformed"));
    }
    if (!Visible(e, caller)) continue;
    e.set_position(entry.position);
    page.events.push_back(std::move(e));
  }
  if (entries->size() < max) page.next = std::max(page.next, log_->next_position());
  return page;
}

absl::StatusOr<StateEventLog::Page> StateEventLog::Latest(size_t n, const Caller& caller,
                                                          size_t scan) const {
  const uint64_t end = log_->next_position();
  const uint64_t from = end > scan ? end - scan : 1;
  absl::StatusOr<Page> all = Read(from, scan, caller);
  if (!all.ok()) return all.status();
  if (all->events.size() > n) {
    all->events.erase(all->events.begin(), all->events.end() - static_cast<ptrdiff_t>(n));
  }
  return all;
}

}  // namespace wapolicy
