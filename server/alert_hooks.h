// Outgoing alerts: the state-change events (server/state_events.h) POSTed to
// URLs configured per business, in the form alerting systems take — a JSON
// body (ListStateEventsResponse), signed with HMAC-SHA256 the way the
// platform signs its webhooks (X-Hub-Signature-256: sha256=<hex>), retried
// with jittered exponential back-off until the receiver answers 2xx. Each
// hook has its own thread and its own place in the event log (a mark,
// written after each delivery), so a decision never waits for an alert and
// a restart resumes where delivery stopped: at least once, in order. A hook
// seen for the first time starts with the events from then on.
//
//   absl::StatusOr<std::vector<AlertHook>> hooks = LoadAlertHooks(path);
//   AlertSender sender(&state_events, event_log.get(), *hooks);
//   sender.Start();
//   ...
//   sender.Stop();
#ifndef WAPOLICY_SERVER_ALERT_HOOKS_H_
#define WAPOLICY_SERVER_ALERT_HOOKS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/state_events.h"
#include "storage/record_log.h"

namespace wapolicy {

struct AlertHook {
  std::string name;
  std::string business_id;  // Empty: every business's events.
  std::string url;
  std::string secret;
  absl::flat_hash_set<std::string> kinds;  // Empty: all.
};

// Parses an AlertHooksConfig in text format (proto/wapolicy/v1/config.proto):
// INVALID_ARGUMENT naming the hook and field for a missing or duplicate
// name, a bad business id, a URL that is not http(s), an empty secret, an
// unknown kind.
absl::StatusOr<std::vector<AlertHook>> ParseAlertHooks(absl::string_view text);
// Reads the file (mode 0600, owned by this user: server/private_file.h) and parses it.
absl::StatusOr<std::vector<AlertHook>> LoadAlertHooks(const std::string& path);

class AlertSender {
 public:
  struct Options {
    absl::Duration first_backoff = absl::Milliseconds(500);
    absl::Duration max_backoff = absl::Minutes(5);
    absl::Duration timeout = absl::Seconds(10);  // Per POST.
    size_t max_events = 100;                     // Per POST.
  };
  // `events` and `log` (the events' RecordLog, for the hooks' marks) must outlive it.
  AlertSender(StateEventLog* events, RecordLog* log, std::vector<AlertHook> hooks,
              Options options);
  ~AlertSender() { Stop(); }

  void Start();
  void Stop();

  const std::vector<AlertHook>& hooks() const { return hooks_; }
  // Per hook, in hooks() order: POSTs answered 2xx, events they carried, POSTs that failed.
  int64_t posts_delivered(size_t hook) const { return stats_[hook]->delivered.load(); }
  int64_t events_delivered(size_t hook) const { return stats_[hook]->events.load(); }
  int64_t posts_failed(size_t hook) const { return stats_[hook]->failed.load(); }

 private:
  struct Stats {
    std::atomic<int64_t> delivered{0}, events{0}, failed{0};
  };
  void Run(size_t hook);

  StateEventLog* const events_;
  RecordLog* const log_;
  const std::vector<AlertHook> hooks_;
  const Options options_;
  std::vector<std::unique_ptr<Stats>> stats_;
  std::vector<std::thread> threads_;
  absl::Notification stop_;
};

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_ALERT_HOOKS_H_
