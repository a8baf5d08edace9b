// PolicyClient: how a send pipeline asks the policy engine before each message.
//
// - Coalescing. Check() is thread-safe; checks made at about the same time by
//   any number of threads go to the engine together in one CheckBatch call,
//   sent when `max_batch` checks are waiting or the oldest has waited
//   `max_wait` (1 ms), whichever comes first. Each caller gets its own answer.
//   One call is in flight at a time; the next batch gathers meanwhile.
// - Retries. A call that fails with UNAVAILABLE, RESOURCE_EXHAUSTED (the
//   server's in-flight bound) or an attempt timeout (DEADLINE_EXCEEDED while
//   callers still have time) is sent again after a jittered exponential
//   back-off (`backoff_base` doubling to `backoff_max`, each wait drawn from
//   [b/2, b]), for as long as any of its callers' deadlines allows. An entry
//   the engine answers UNAVAILABLE (its journal write failed) is retried the
//   same way. Other errors (INVALID_ARGUMENT naming the field, NOT_FOUND,
//   PERMISSION_DENIED, UNAUTHENTICATED...) go back to their caller at once.
// - Failure mode. A check with no answer by its deadline is resolved by
//   `failure_mode`: kFailClosed (the default) returns UNAVAILABLE, so the
//   message is not sent; kFailOpen returns an allowed Decision with an empty
//   decision_id and a detail starting "fail-open:" (IsFailOpen()), so the
//   message goes without the engine's word. Each is counted in stats().
//   Errors that are the caller's (a bad token, a bad request) never fail open.
// - Pacing. SendWhenAllowed() returns once the message may go: for a paced
//   check (CheckRequest.pace) it sleeps until the decision's send_at (the
//   engine keeps that slot, so it does not check again); for a hold with a
//   retry_after (throughput, pair rate, ...) it sleeps until then and checks
//   again; all within the caller's deadline. The clock and the sleep are
//   injectable (`now`, `sleep`), so tests need not sleep.
//
//   wapolicy::PolicyClientOptions options;
//   options.token = "...";                       // authorization: Bearer <token>
//   options.business = "acme";                   // x-wapolicy-business: acme
//   std::unique_ptr<wapolicy::PolicyClient> client =
//       wapolicy::PolicyClient::Connect("127.0.0.1:50051", options);
//   wapolicy::v1::CheckRequest req;              // business_number, customer, template...
//   req.set_pace(true);                          // A campaign: answer with a time to send.
//   absl::StatusOr<wapolicy::v1::Decision> d =
//       client->SendWhenAllowed(req, absl::Now() + absl::Minutes(5));
//   if (d.ok() && d->allowed()) Send(req, d->decision_id());  // Its send_at has passed.
//
// A retried call may have been decided once already (a connection lost after
// the server answered): the engine counts a customer's conversation once
// whatever the repeats, but a repeated paced check keeps a second slot.
#ifndef WAPOLICY_CLIENT_POLICY_CLIENT_H_
#define WAPOLICY_CLIENT_POLICY_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/wapolicy/v1/policy.grpc.pb.h"

namespace wapolicy {

enum class FailureMode {
  kFailClosed,  // No answer by the deadline: UNAVAILABLE (do not send).
  kFailOpen,    // No answer by the deadline: an allowed Decision (send anyway).
};

struct PolicyClientOptions {
  std::string token;  // Sent as "authorization: Bearer <token>"; empty: no header.
  // The business every check is for, sent as "x-wapolicy-business: <id>"
  // (empty: no header). A server checks it against each check's number
  // (a check of another business's number fails the whole batch with
  // INVALID_ARGUMENT) and a cluster's router routes by it, so a client
  // serves one business: make one per business. Needed by servers started
  // with --require_business_header.
  std::string business;
  // Checks per CheckBatch call; at most the server's --max_batch (10,000).
  int max_batch = 256;
  // How long a check waits for others to share its call.
  absl::Duration max_wait = absl::Milliseconds(1);
  FailureMode failure_mode = FailureMode::kFailClosed;
  absl::Duration backoff_base = absl::Milliseconds(10);
  absl::Duration backoff_max = absl::Seconds(1);
  // One CheckBatch call's own deadline (also bounded by its callers' latest).
  absl::Duration attempt_timeout = absl::Seconds(5);
  // Where deadlines, send_at and retry_after are read against, and how
  // SendWhenAllowed waits. Defaults: absl::Now and absl::SleepFor.
  std::function<absl::Time()> now;
  std::function<void(absl::Duration)> sleep;
};

struct PolicyClientStats {
  int64_t checks = 0;       // Check() calls (SendWhenAllowed's re-checks included).
  int64_t batches = 0;      // CheckBatch calls made (retries included).
  int64_t retries = 0;      // Calls whose checks (all, or the entries the engine could not
                            // write) went back to be sent again after UNAVAILABLE and the like.
  int64_t fail_closed = 0;  // Checks refused for want of an answer (kFailClosed).
  int64_t fail_open = 0;    // Checks allowed for want of an answer (kFailOpen).
  int64_t paced_waits = 0;  // SendWhenAllowed sleeps until a send_at.
  int64_t rechecks = 0;     // SendWhenAllowed checks again after a retry_after.
};

// What a sender does next with a decision at `now` (SendWhenAllowed's rule).
struct PacingStep {
  enum Kind {
    kSendNow,    // Allowed, and its send_at (if any) has passed.
    kSendAt,     // Allowed at `at`: sleep until then and send, without checking again.
    kRecheckAt,  // Held until `at` (retry_after): sleep, then check again.
    kHeld,       // Held with no time to retry: waiting does not help.
  };
  Kind kind;
  absl::Time at;  // For kSendAt and kRecheckAt.
};
PacingStep NextPacingStep(const v1::Decision& decision, absl::Time now);

class PolicyClient {
 public:
  // Uses `channel` (its credentials are the caller's choice).
  PolicyClient(std::shared_ptr<grpc::ChannelInterface> channel, PolicyClientOptions options);
  // A channel to `target` ("host:port"), reconnecting within the back-off's
  // bounds. Plaintext unless `credentials` say otherwise.
  static std::unique_ptr<PolicyClient> Connect(
      const std::string& target, PolicyClientOptions options,
      std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);
  // Answers every waiting check CANCELLED and stops. No call may be running.
  ~PolicyClient();
  PolicyClient(const PolicyClient&) = delete;
  PolicyClient& operator=(const PolicyClient&) = delete;

  // The engine's decision on one message, through a shared CheckBatch call.
  // Returns the entry's own error (INVALID_ARGUMENT, NOT_FOUND...) or the
  // call's (UNAUTHENTICATED...), and, with no answer by `deadline`, what
  // `failure_mode` says. Thread-safe.
  absl::StatusOr<v1::Decision> Check(const v1::CheckRequest& request, absl::Time deadline);

  // Check(), then wait as the decision says (NextPacingStep): returns an
  // allowed decision once the message may go now; a held decision when it
  // may not and waiting until its retry_after would pass `deadline` (or it
  // has none); DEADLINE_EXCEEDED when it is allowed only at a send_at after
  // `deadline` (the engine keeps that slot: the message must not go before
  // it); or Check()'s error. Thread-safe.
  absl::StatusOr<v1::Decision> SendWhenAllowed(const v1::CheckRequest& request,
                                               absl::Time deadline);

  PolicyClientStats stats() const;

  // True for the allowed decisions kFailOpen makes (no engine behind them).
  static bool IsFailOpen(const v1::Decision& decision);

 private:
  struct Pending;
  using PendingPtr = std::shared_ptr<Pending>;

  void FlushLoop();
  // Sends `batch` once and answers what can be answered; the rest (to retry)
  // goes back to the front of the queue. False if anything went back.
  bool SendOnce(std::vector<PendingPtr>& batch);
  absl::Duration Backoff(int failures);
  // Answers `p` unless its caller already did (its deadline passed).
  static void Answer(const PendingPtr& p, absl::StatusOr<v1::Decision> result);
  absl::StatusOr<v1::Decision> Unanswered(absl::Status last);
  absl::Time Now() const;

  PolicyClientOptions options_;
  std::shared_ptr<grpc::ChannelInterface> channel_;
  std::unique_ptr<v1::PolicyService::Stub> stub_;

  mutable absl::Mutex mu_;
  std::deque<PendingPtr> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The call in flight, so the destructor can cancel it.
  grpc::ClientContext* in_flight_ ABSL_GUARDED_BY(mu_) = nullptr;
  // The last failure of a call or entry, for the message of an unanswered check.
  absl::Status last_failure_ ABSL_GUARDED_BY(mu_);

  std::atomic<int64_t> checks_{0}, batches_{0}, retries_{0}, fail_closed_{0}, fail_open_{0},
      paced_waits_{0}, rechecks_{0};

  std::thread flusher_;
};

}  // namespace wapolicy

#endif  // WAPOLICY_CLIENT_POLICY_CLIENT_H_
