#include "server/server_metrics.h"

#include "google/protobuf/descriptor.h"

namespace wapolicy {

namespace {
// 50 µs .. 5 s: a decision, a batch of 10,000, a webhook POST.
const std::vector<double> kLatencyBounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                            0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                            0.5,     1,      2.5,     5};
}  // namespace

ServerMetrics::ServerMetrics(MetricsRegistry* registry, const std::string& profile_name)
    : registry_(registry) {
  const google::protobuf::EnumDescriptor* reasons = v1::ReasonCode_descriptor();
  int max_reason = 0;
  for (int i = 0; i < reasons->value_count(); ++i) {
    max_reason = std::max(max_reason, reasons->value(i)->number());
  }
  decisions_.resize(max_reason + 1);
  shadow_held_.resize(max_reason + 1);
  for (int i = 0; i < reasons->value_count(); ++i) {
    const auto* v = reasons->value(i);
    decisions_[v->number()] = registry->AddCounter(
        "wapolicy_decisions_total", "Decisions answered, by reason and policy profile.",
        {{"reason", v->name()}, {"profile", profile_name}});
    if (v->number() > 1) {  // Holds only (not UNSPECIFIED, ALLOWED).
      shadow_held_[v->number()] = registry->AddCounter(
          "wapolicy_shadow_held_total",
          "Messages answered allowed in shadow mode that would have been held, by reason.",
          {{"reason", v->name()}, {"profile", profile_name}});
    }
  }
  const google::protobuf::OneofDescriptor* kinds =
      v1::EventRequest::descriptor()->FindOneofByName("event");
  int max_case = 0;
  for (int i = 0; i < kinds->field_count(); ++i) {
    max_case = std::max(max_case, kinds->field(i)->number());
  }
  events_.assign(max_case + 1, nullptr);
  for (int i = 0; i < kinds->field_count(); ++i) {
    const auto* f = kinds->field(i);
    events_[f->number()] = registry->AddCounter("wapolicy_events_total",
                                                "Events applied (not repeats refused), by kind.",
                                                {{"kind", f->name()}});
  }
  check_seconds_ = registry->AddHistogram("wapolicy_decision_seconds",
                                          "Time to answer a call that decides, by call.",
                                          kLatencyBounds, {{"call", "Check"}});
  batch_seconds_ = registry->AddHistogram("wapolicy_decision_seconds",
                                          "Time to answer a call that decides, by call.",
                                          kLatencyBounds, {{"call", "batch"}});
  resource_exhausted_ = registry->AddCounter(
      "wapolicy_resource_exhausted_total",
      "Calls refused at the in-flight bound (RESOURCE_EXHAUSTED, HTTP 429 or 503).", {});
}

}  // namespace wapolicy
