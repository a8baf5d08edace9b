#include "client/policy_client.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace wapolicy {

namespace {

constexpr char kFailOpenPrefix[] = "fail-open: ";

// A whole call that failed this way may be sent again.
bool RetryableCall(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::RESOURCE_EXHAUSTED ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// One entry of an answered call: only the engine's own "try again" (its
// journal write failed) is retried.
bool RetryableEntry(int code) { return code == static_cast<int>(absl::StatusCode::kUnavailable); }

}  // namespace

// One caller's check, shared by the caller and the flusher. Whoever sets
// `claimed` first answers it: the flusher with the engine's result, or the
// caller, by its failure mode, when its deadline passes first.
struct PolicyClient::Pending {
  v1::CheckRequest request;
  absl::Time deadline;  // On the wall clock (absl::Now), for waiting.
  absl::Time enqueued;  // Ditto.
  std::atomic<bool> claimed{false};
  absl::Notification done;
  absl::StatusOr<v1::Decision> result;  // Set before `done` by the flusher.
};

PacingStep NextPacingStep(const v1::Decision& decision, absl::Time now) {
  if (decision.allowed()) {
    const absl::Time at = absl::FromUnixMillis(decision.send_at_unix_ms());
    if (decision.send_at_unix_ms() > 0 && at > now) return {PacingStep::kSendAt, at};
    return {PacingStep::kSendNow, now};
  }
  if (decision.retry_after_unix_ms() > 0) {
    // The engine gives the millisecond rounded down: ask again once it is over,
    // or the hold may still stand.
    return {PacingStep::kRecheckAt,
            std::max(now,
                     absl::FromUnixMillis(decision.retry_after_unix_ms()) + absl::Milliseconds(1))};
  }
  return {PacingStep::kHeld, now};
}

PolicyClient::PolicyClient(std::shared_ptr<grpc::ChannelInterface> channel,
                           PolicyClientOptions options)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::PolicyService::NewStub(channel_)) {
  if (!options_.now) options_.now = [] { return absl::Now(); };
  if (!options_.sleep) options_.sleep = [](absl::Duration d) { absl::SleepFor(d); };
  options_.max_batch = std::max(1, options_.max_batch);
  flusher_ = std::thread([this] { FlushLoop(); });
}

std::unique_ptr<PolicyClient> PolicyClient::Connect(
    const std::string& target, PolicyClientOptions options,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  // Reconnect about as often as the retries come (gRPC's own back-off starts
  // at 1 s and grows to 2 minutes, which would outlast most deadlines). Not
  // GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: that is each connection attempt's own
  // time limit (20 s), which a slow link needs.
  const int initial_ms =
      static_cast<int>(std::max<int64_t>(10, absl::ToInt64Milliseconds(options.backoff_base)));
  const int max_ms = static_cast<int>(
      std::max<int64_t>(initial_ms, absl::ToInt64Milliseconds(options.backoff_max)));
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, initial_ms);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_ms);
  return std::make_unique<PolicyClient>(grpc::CreateCustomChannel(target, credentials, args),
                                        std::move(options));
}

PolicyClient::~PolicyClient() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (in_flight_ != nullptr) in_flight_->TryCancel();
  }
  flusher_.join();
}

absl::Time PolicyClient::Now() const { return options_.now(); }

void PolicyClient::Answer(const PendingPtr& p, absl::StatusOr<v1::Decision> result) {
  if (p->claimed.exchange(true)) return;  // Its caller gave up and answered it.
  p->result = std::move(result);
  p->done.Notify();
}

absl::StatusOr<v1::Decision> PolicyClient::Check(const v1::CheckRequest& request,
                                                 absl::Time deadline) {
  checks_.fetch_add(1, std::memory_order_relaxed);
  auto p = std::make_shared<Pending>();
  p->request = request;
  const absl::Time wall = absl::Now();
  p->enqueued = wall;
  p->deadline = wall + (deadline - Now());  // The injected clock's deadline, on the wall clock.
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("PolicyClient is shutting down");
    queue_.push_back(p);
  }
  if (!p->done.WaitForNotificationWithDeadline(p->deadline)) {
    if (!p->claimed.exchange(true)) {
      absl::Status last;
      {
        absl::MutexLock lock(&mu_);
        last = last_failure_;
      }
      return Unanswered(last);
    }
    p->done.WaitForNotification();  // The flusher is answering it now.
  }
  return std::move(p->result);
}

absl::StatusOr<v1::Decision> PolicyClient::Unanswered(absl::Status last) {
  const std::string why =
      last.ok()
          ? std::string("policy engine gave no answer by the deadline")
          : absl::StrCat("policy engine not reached by the deadline (last: ", last.ToString(), ")");
  if (options_.failure_mode == FailureMode::kFailOpen) {
    fail_open_.fetch_add(1, std::memory_order_relaxed);
    v1::Decision d;
    d.set_allowed(true);
    d.set_reason(v1::ALLOWED);
    d.set_detail(absl::StrCat(kFailOpenPrefix, why));
    return d;
  }
  fail_closed_.fetch_add(1, std::memory_order_relaxed);
  return absl::UnavailableError(absl::StrCat("fail-closed: ", why));
}

bool PolicyClient::IsFailOpen(const v1::Decision& decision) {
  return decision.allowed() && decision.decision_id().empty() &&
         decision.detail().rfind(kFailOpenPrefix, 0) == 0;
}

absl::StatusOr<v1::Decision> PolicyClient::SendWhenAllowed(const v1::CheckRequest& request,
                                                           absl::Time deadline) {
  while (true) {
    absl::StatusOr<v1::Decision> d = Check(request, deadline);
    if (!d.ok()) return d;
    const absl::Time now = Now();
    const PacingStep step = NextPacingStep(*d, now);
    switch (step.kind) {
      case PacingStep::kSendNow:
      case PacingStep::kHeld:
        return d;
      case PacingStep::kSendAt:
        if (step.at > deadline) {
          return absl::DeadlineExceededError(absl::StrCat(
              "allowed to send at ", absl::FormatTime(step.at, absl::UTCTimeZone()),
              ", after the deadline; the engine keeps that slot: do not send before it (decision ",
              d->decision_id(), ")"));
        }
        paced_waits_.fetch_add(1, std::memory_order_relaxed);
        options_.sleep(step.at - now);  // The slot is ours: no second check.
        return d;
      case PacingStep::kRecheckAt:
        if (step.at > deadline) return d;  // Held: the caller may try after retry_after.
        if (step.at > now) options_.sleep(step.at - now);
        rechecks_.fetch_add(1, std::memory_order_relaxed);
        break;
    }
  }
}

PolicyClientStats PolicyClient::stats() const {
  PolicyClientStats s;
  s.checks = checks_.load(std::memory_order_relaxed);
  s.batches = batches_.load(std::memory_order_relaxed);
  s.retries = retries_.load(std::memory_order_relaxed);
  s.fail_closed = fail_closed_.load(std::memory_order_relaxed);
  s.fail_open = fail_open_.load(std::memory_order_relaxed);
  s.paced_waits = paced_waits_.load(std::memory_order_relaxed);
  s.rechecks = rechecks_.load(std::memory_order_relaxed);
  return s;
}

absl::Duration PolicyClient::Backoff(int failures) {
  absl::Duration b = options_.backoff_base;
  for (int i = 1; i < failures && b < options_.backoff_max; ++i) b *= 2;
  b = std::min(b, options_.backoff_max);
  // The flusher thread is the only caller.
  static thread_local absl::BitGen rng;
  return b * absl::Uniform(rng, 0.5, 1.0);
}

void PolicyClient::FlushLoop() {
  int failures = 0;  // Calls failed in a row (the back-off's exponent).
  while (true) {
    std::vector<PendingPtr> batch;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&has_work));
      if (stopping_) break;
      if (failures == 0) {
        // Coalesce: until a batch is full, or the oldest has waited max_wait.
        auto full = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || queue_.size() >= static_cast<size_t>(options_.max_batch);
        };
        mu_.AwaitWithDeadline(absl::Condition(&full), queue_.front()->enqueued + options_.max_wait);
        if (stopping_) break;
      }
      while (!queue_.empty() && batch.size() < static_cast<size_t>(options_.max_batch)) {
        PendingPtr p = std::move(queue_.front());
        queue_.pop_front();
        if (!p->claimed.load()) batch.push_back(std::move(p));  // Else its caller gave up.
      }
    }
    if (batch.empty()) continue;
    if (SendOnce(batch)) {
      failures = 0;
      continue;
    }
    ++failures;
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), Backoff(failures));
  }
  std::deque<PendingPtr> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(queue_);
  }
  for (const PendingPtr& p : left) {
    Answer(p, absl::CancelledError("PolicyClient is shutting down"));
  }
}

bool PolicyClient::SendOnce(std::vector<PendingPtr>& batch) {
  v1::CheckBatchRequest request;
  request.mutable_checks()->Reserve(static_cast<int>(batch.size()));
  absl::Time latest = absl::InfinitePast();
  for (const PendingPtr& p : batch) {
    *request.add_checks() = p->request;
    latest = std::max(latest, p->deadline);
  }
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(std::min(latest, absl::Now() + options_.attempt_timeout)));
  if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
  if (!options_.business.empty()) context.AddMetadata("x-wapolicy-business", options_.business);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      for (const PendingPtr& p : batch) queue_.push_back(p);  // Answered CANCELLED on the way out.
      return true;
    }
    in_flight_ = &context;
  }
  batches_.fetch_add(1, std::memory_order_relaxed);
  v1::CheckBatchResponse response;
  const grpc::Status status = stub_->CheckBatch(&context, request, &response);
  {
    absl::MutexLock lock(&mu_);
    in_flight_ = nullptr;
  }

  std::vector<PendingPtr> again;
  absl::Status failure;
  if (status.ok() && response.results_size() != static_cast<int>(batch.size())) {
    const absl::Status wrong = absl::InternalError(absl::StrCat(
        "CheckBatch answered ", response.results_size(), " results for ", batch.size(), " checks"));
    for (const PendingPtr& p : batch) Answer(p, wrong);
  } else if (status.ok()) {
    for (size_t i = 0; i < batch.size(); ++i) {
      v1::CheckResult* r = response.mutable_results(static_cast<int>(i));
      if (r->has_decision()) {
        Answer(batch[i], std::move(*r->mutable_decision()));
        continue;
      }
      absl::Status error(static_cast<absl::StatusCode>(r->error().code()), r->error().message());
      if (error.ok()) error = absl::InternalError("CheckBatch answered an empty result");
      if (RetryableEntry(r->error().code())) {
        failure = error;
        again.push_back(batch[i]);
      } else {
        Answer(batch[i], error);
      }
    }
  } else {
    const absl::Status error(static_cast<absl::StatusCode>(status.error_code()),
                             status.error_message());
    if (RetryableCall(status.error_code())) {
      failure = error;
      again = batch;
    } else {
      for (const PendingPtr& p : batch) Answer(p, error);
    }
  }

  absl::MutexLock lock(&mu_);
  last_failure_ = failure;
  if (again.empty()) return true;
  retries_.fetch_add(1, std::memory_order_relaxed);
  // Back to the front, in their order, ahead of checks that came later.
  for (auto it = again.rbegin(); it != again.rend(); ++it) {
    if (!(*it)->claimed.load()) queue_.push_front(*it);
  }
  return false;
}

}  // namespace wapolicy
