// One durable write for many engine calls on one thread, for a caller that
// answers once for all of them (a webhook POST of 1,000 updates, a batch of
// events): inside a DurableBatch, each call returns once its changes are
// appended to the journal, without waiting for them to be durable, and
// Finish waits until everything they appended is. Answer nothing about these
// calls before Finish has returned OK: until then they may be lost by a crash.
// Other threads are unaffected (an answer of theirs that reads this batch's
// changes still waits for them to be durable).
//
//   DurableBatch batch;
//   for (const Event& e : events) engine.RecordDelivered(e.number, e.customer, e.meta);
//   if (absl::Status s = batch.Finish(); !s.ok()) return Unavailable(s);  // Retry it all.
//   return Ok();
#ifndef WAPOLICY_POLICY_DURABLE_BATCH_H_
#define WAPOLICY_POLICY_DURABLE_BATCH_H_

#include "absl/status/status.h"
#include "policy/internal/shard_commit.h"

namespace wapolicy {

class DurableBatch {
 public:
  // Batches nest: an inner one leaves the waiting to the outermost.
  DurableBatch() : outer_(internal::DeferredAwaits::Current()) {
    if (outer_ == nullptr) internal::DeferredAwaits::Current() = &awaits_;
  }
  ~DurableBatch() { (void)Finish(); }
  DurableBatch(const DurableBatch&) = delete;
  DurableBatch& operator=(const DurableBatch&) = delete;

  // Waits until every change appended inside the batch is durable (on this
  // thread, calls after Finish wait as usual). The first write failure, if any.
  absl::Status Finish() {
    if (outer_ != nullptr || finished_) return absl::OkStatus();
    finished_ = true;
    internal::DeferredAwaits::Current() = nullptr;
    return awaits_.AwaitAll();
  }

 private:
  internal::DeferredAwaits* const outer_;
  internal::DeferredAwaits awaits_;
  bool finished_ = false;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_DURABLE_BATCH_H_
