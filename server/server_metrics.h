// What policy_server counts for /metrics (metrics_registry.h): decisions by
// reason and profile, shadow-mode holds by reason, decision latency by call, events by kind, calls refused
// at the in-flight bound; gauges and the webhook endpoint's counters are read
// when scraped. No per-customer or per-number labels.
//
//   MetricsRegistry registry;
//   ServerMetrics metrics(&registry, engine.profile().name);
//   service.set_metrics(&metrics);
//   metrics.Decided(decision);
#ifndef WAPOLICY_SERVER_SERVER_METRICS_H_
#define WAPOLICY_SERVER_SERVER_METRICS_H_

#include <string>
#include <vector>

#include "proto/wapolicy/v1/policy.pb.h"
#include "server/metrics_registry.h"

namespace wapolicy {

class ServerMetrics {
 public:
  ServerMetrics(MetricsRegistry* registry, const std::string& profile_name);

  void Decided(const v1::Decision& d) {
    const int reason = d.reason();
    if (reason >= 0 && reason < static_cast<int>(decisions_.size())) decisions_[reason]->Add();
    const int shadow = d.shadow_reason();
    if (shadow > 0 && shadow < static_cast<int>(shadow_held_.size())) shadow_held_[shadow]->Add();
  }
  void EventApplied(int event_case) {
    if (event_case >= 0 && event_case < static_cast<int>(events_.size()) &&
        events_[event_case] != nullptr) {
      events_[event_case]->Add();
    }
  }
  Histogram* check_seconds() const { return check_seconds_; }
  Histogram* batch_seconds() const { return batch_seconds_; }
  Counter* resource_exhausted() const { return resource_exhausted_; }
  MetricsRegistry* registry() const { return registry_; }

 private:
  MetricsRegistry* registry_;
  std::vector<Counter*> decisions_;    // By ReasonCode value.
  std::vector<Counter*> shadow_held_;  // By ReasonCode value: allowed in shadow mode.
  std::vector<Counter*> events_;     // By EventRequest::EventCase value.
  Histogram* check_seconds_;
  Histogram* batch_seconds_;
  Counter* resource_exhausted_;
};

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_SERVER_METRICS_H_
