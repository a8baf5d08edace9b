// Group commit for one engine shard: a caller appends its changes to the
// journal while it holds the shard's lock, then waits outside the lock until
// they are durable, together with every change appended before them (an
// answer never reads state that is not yet durable, even another caller's).
//
// Appends happen under the shard's lock, so tickets reach the committer in
// order; Await is called without it, by many callers at once.
//
//   MutexLock lock(&mu);
//   const uint64_t ticket = commit.Append(changes);  // Under the lock.
//   lock.Unlock();
//   absl::Status s = commit.Await(ticket);           // Outside it.
#ifndef WAPOLICY_POLICY_INTERNAL_SHARD_COMMIT_H_
#define WAPOLICY_POLICY_INTERNAL_SHARD_COMMIT_H_

#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "policy/state_journal.h"

namespace wapolicy {
namespace internal {

class ShardCommit;

// The waits a thread has put off (DurableBatch, policy/durable_batch.h):
// while one is open on a thread, ShardCommit::Await records its ticket
// instead of waiting, and AwaitAll waits once per shard, for the newest.
class DeferredAwaits {
 public:
  // The open one on this thread, or null.
  static DeferredAwaits*& Current() {
    thread_local DeferredAwaits* current = nullptr;
    return current;
  }
  void Defer(ShardCommit* commit, uint64_t ticket) {
    for (auto& [c, t] : waits_) {
      if (c == commit) {
        if (ticket > t) t = ticket;
        return;
      }
    }
    waits_.emplace_back(commit, ticket);
  }
  // Waits for every deferred ticket; the first failure, if any.
  absl::Status AwaitAll();

 private:
  std::vector<std::pair<ShardCommit*, uint64_t>> waits_;  // Few: one per shard touched.
};

class ShardCommit {
 public:
  // `journal` may be null (no durability): then nothing is appended or awaited.
  explicit ShardCommit(StateJournal* journal) : journal_(journal) {}

  // Appends `changes` (if any; it is left empty) and returns the ticket to
  // wait for: the newest append of the shard, this one's or an earlier one's.
  // Call with the shard's lock held.
  uint64_t Append(StateChanges& changes) {
    if (journal_ != nullptr && !changes.empty()) {
      last_ticket_.store(journal_->Append(std::move(changes)), std::memory_order_relaxed);
    }
    changes.clear();
    return last_ticket_.load(std::memory_order_relaxed);
  }

  // Waits until `ticket` is durable. Known durable already (the usual case
  // for a check that writes nothing): no call into the journal, whose Await
  // takes its own lock.
  absl::Status Await(uint64_t ticket) {
    if (ticket <= durable_ticket_.load(std::memory_order_acquire)) return absl::OkStatus();
    if (DeferredAwaits* d = DeferredAwaits::Current(); d != nullptr) {
      d->Defer(this, ticket);  // The batch's owner waits, once, before it answers.
      return absl::OkStatus();
    }
    return AwaitNow(ticket);
  }
  absl::Status AwaitNow(uint64_t ticket) {
    if (ticket <= durable_ticket_.load(std::memory_order_acquire)) return absl::OkStatus();
    absl::Status s = journal_->Await(ticket);
    if (!s.ok()) return s;
    uint64_t seen = durable_ticket_.load(std::memory_order_relaxed);
    while (seen < ticket &&
           !durable_ticket_.compare_exchange_weak(seen, ticket, std::memory_order_release)) {
    }
    return s;
  }

 private:
  StateJournal* const journal_;
  // The newest append; written only under the shard's lock (atomic so that
  // readers need no annotation of a lock this class does not own).
  std::atomic<uint64_t> last_ticket_{0};
  // Every ticket up to this one is durable (journal tickets only grow).
  std::atomic<uint64_t> durable_ticket_{0};
};

inline absl::Status DeferredAwaits::AwaitAll() {
  absl::Status first;
  for (auto& [commit, ticket] : waits_) {
    absl::Status s = commit->AwaitNow(ticket);
    if (first.ok()) first = s;
  }
  waits_.clear();
  return first;
}

}  // namespace internal
}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_INTERNAL_SHARD_COMMIT_H_
