// /webhooks/whatsapp: the platform's webhooks straight into the engine.
// Also at /webhooks/whatsapp/{business} (the platform's callback URL
// override per WABA, so a cluster's router finds the owner by path): there,
// every update must be that business's (an update for a WABA the signing
// app has for another business is counted foreign_waba and skipped, a
// number of another business foreign_number, as without the path), and the
// portfolio gate (server/portfolio_gate.h) is consulted with the business
// before anything is applied (421 / 503 with Retry-After, nothing applied).
// Without a path the gate is consulted with every business the POST
// reaches; with --require_business_header a POST without one is 400.
//
//   GET  ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C  (both paths)
//        200 with C if some app's verify token is T, else 403.
//   POST the platform's notifications, signed (X-Hub-Signature-256 with an
//        app's secret; bad or missing: 401, nothing applied). The body is
//        parsed (webhook_payload.h; malformed: 400 naming the reason, nothing
//        applied); each update goes to the engine as its business, the one
//        the signing app is configured for with that WABA, so one app's
//        secret reaches only its own businesses' numbers. Numbers are found
//        by their display number. 200 once every change is durable (the
//        engine commits before it answers); a duplicate (the event ids are
//        the platform's message ids and statuses) changes nothing; an update
//        for a number that is not registered (or not that business's) is
//        counted and skipped, not an error; over the in-flight bound: 503
//        with Retry-After (the platform retries). A storage failure: 503, and
//        the platform's retry applies what was not applied, once.
//
//   WebhookEndpoint hooks(&service, &admin, apps.get());
//   HttpServer::Start(options, {{"/webhooks/whatsapp",
//                               [&](const HttpRequest& r) { return hooks.Handle(r); }}});
#ifndef WAPOLICY_SERVER_HTTP_WEBHOOK_ENDPOINT_H_
#define WAPOLICY_SERVER_HTTP_WEBHOOK_ENDPOINT_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "server/http/http_server.h"
#include "server/http/webhook_apps.h"
#include "server/http/webhook_payload.h"
#include "server/policy_service.h"

namespace wapolicy {

// What happened to the updates of POSTs, for metrics and the answer's body.
enum class WebhookOutcome : int {
  kApplied = 0,      // The engine took it (a repeat of an applied event included).
  kUnknownNumber,    // No registered number by that display number, or none given.
  kForeignNumber,    // The number belongs to another business than the WABA's.
  kForeignWaba,      // The signing app is not configured for this WABA (by path: for its business).
  kUnknownTemplate,  // A template update for a template the engine does not know.
  kRejected,         // The engine refused it as invalid (counted; the POST still succeeds).
};
inline constexpr int kWebhookOutcomes = static_cast<int>(WebhookOutcome::kRejected) + 1;
inline constexpr char kWebhookPath[] = "/webhooks/whatsapp";
absl::string_view WebhookOutcomeName(WebhookOutcome o);

class WebhookEndpoint {
 public:
  // All must outlive the endpoint. `apps` may be null: then every POST is
  // 401 and every handshake 403 (no app configured).
  WebhookEndpoint(PolicyServiceImpl* service, PolicyAdminImpl* admin, const WebhookApps* apps)
      : service_(service), admin_(admin), apps_(apps) {}

  HttpResponse Handle(const HttpRequest& req);

  // Totals since start, by outcome and by what the parser left out.
  int64_t outcome_count(WebhookOutcome o) const {
    return outcomes_[static_cast<int>(o)].load(std::memory_order_relaxed);
  }
  int64_t ignored_count(WebhookIgnored k) const {
    return ignored_[static_cast<int>(k)].load(std::memory_order_relaxed);
  }

 private:
  HttpResponse Handshake(const HttpRequest& req) const;
  // `path_business`: the {business} of the path, if given.
  HttpResponse Notify(const HttpRequest& req, const std::optional<std::string>& path_business);

  PolicyServiceImpl* service_;
  PolicyAdminImpl* admin_;
  const WebhookApps* apps_;
  std::array<std::atomic<int64_t>, kWebhookOutcomes> outcomes_{};
  std::array<std::atomic<int64_t>, kWebhookIgnoredKinds> ignored_{};
};

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_HTTP_WEBHOOK_ENDPOINT_H_
