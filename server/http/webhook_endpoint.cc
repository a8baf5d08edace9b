#include "server/http/webhook_endpoint.h"

#include <optional>
#include <string>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "policy/durable_batch.h"
#include "server/http/http_errors.h"
#include "server/http/webhook_signature.h"
#include "server/proto_convert.h"

namespace wapolicy {

absl::string_view WebhookOutcomeName(WebhookOutcome o) {
  switch (o) {
    case WebhookOutcome::kApplied:
      return "applied";
    case WebhookOutcome::kUnknownNumber:
      return "unknown_number";
    case WebhookOutcome::kForeignNumber:
      return "foreign_number";
    case WebhookOutcome::kForeignWaba:
      return "foreign_waba";
    case WebhookOutcome::kUnknownTemplate:
      return "unknown_template";
    case WebhookOutcome::kRejected:
      return "rejected";
  }
  return "unknown";
}

namespace {

HttpResponse Unauthorized(absl::string_view why) {
  return ErrorResponse(absl::UnauthenticatedError(why));
}

// What an engine call's status means for one update: an outcome to count,
// or (nullopt) a failure the platform must retry (storage, overload).
std::optional<WebhookOutcome> OutcomeOf(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
      return WebhookOutcome::kApplied;
    case grpc::StatusCode::NOT_FOUND:
      return WebhookOutcome::kUnknownNumber;
    case grpc::StatusCode::PERMISSION_DENIED:
      return WebhookOutcome::kForeignNumber;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return WebhookOutcome::kRejected;
    default:
      return std::nullopt;
  }
}

// "14155550100", "+1 415-555-0100" -> "+14155550100".
std::string E164OfDisplay(absl::string_view display) {
  std::string out = "+";
  for (char c : display) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) out.push_back(c);
  }
  return out.size() > 1 ? out : "";
}

}  // namespace

HttpResponse WebhookEndpoint::Handle(const HttpRequest& req) {
  // /webhooks/whatsapp or /webhooks/whatsapp/{business} (the platform's
  // callback URL override per WABA: a cluster's router routes by it).
  absl::string_view rest = req.path;
  absl::ConsumePrefix(&rest, kWebhookPath);
  absl::ConsumePrefix(&rest, "/");
  std::optional<std::string> business;
  if (!rest.empty()) {
    if (!ValidateBusinessId(rest).ok()) {
      return ErrorResponse(absl::NotFoundError(
          absl::StrCat("path: want ", kWebhookPath, " or ", kWebhookPath,
                       "/{business} (a business id: 1 to 64 of A-Z a-z 0-9 _ - .)")));
    }
    business = std::string(rest);
  }
  if (req.method == "GET") return Handshake(req);
  if (req.method == "POST") return Notify(req, business);
  HttpResponse r = ErrorResponse(absl::UnimplementedError("method: use GET or POST"));
  r.status = 405;
  r.headers.emplace_back("Allow", "GET, POST");
  return r;
}

HttpResponse WebhookEndpoint::Handshake(const HttpRequest& req) const {
  if (req.QueryParam("hub.mode") != "subscribe") {
    return ErrorResponse(absl::InvalidArgumentError("hub.mode: want subscribe"));
  }
  if (apps_ == nullptr || apps_->FindByVerifyToken(req.QueryParam("hub.verify_token")) == nullptr) {
    return ErrorResponse(absl::PermissionDeniedError("hub.verify_token: not an app's token"));
  }
  return HttpResponse::Text(200, std::string(req.QueryParam("hub.challenge")));
}

HttpResponse WebhookEndpoint::Notify(const HttpRequest& req,
                                     const std::optional<std::string>& path_business) {
  InflightLimiter::Slot slot = service_->TryAdmit();
  if (!slot) {
    HttpResponse r = ErrorResponse(absl::UnavailableError("server busy: retry later"));
    r.status = 503;  // The platform retries 503s with back-off.
    return r;
  }
  if (apps_ == nullptr) return Unauthorized("no webhook apps configured (--webhook_apps)");
  const absl::string_view signature = req.Header(kWebhookSignatureHeader);
  if (signature.empty()) return Unauthorized("X-Hub-Signature-256: missing");
  absl::StatusOr<const WebhookAppEntry*> app = apps_->FindBySignature(req.body, signature);
  if (!app.ok()) return Unauthorized(app.status().message());
  const BusinessRoute& route = service_->route();
  if (path_business) {
    // The gate's word before anything is applied (421 / 503: nothing is).
    if (absl::Status s = route.Gate(*path_business); !s.ok()) return ErrorResponse(s);
  } else if (route.require_header()) {
    return ErrorResponse(absl::InvalidArgumentError(
        absl::StrCat("path: this server needs each business's webhooks at ", kWebhookPath,
                     "/{business} (--require_business_header)")));
  }
  absl::StatusOr<ParsedWebhook> parsed = ParseWhatsAppWebhook(req.body);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  if (!path_business && !route.gate().ServesAll()) {
    // No path: the gate's word on every business the POST reaches, first.
    absl::flat_hash_set<std::string> gated;
    for (const WebhookUpdate& u : parsed->updates) {
      absl::StatusOr<std::string> b = apps_->BusinessOfWaba(**app, u.waba_id);
      if (!b.ok() || !gated.insert(*b).second) continue;
      if (absl::Status s = route.Gate(*b); !s.ok()) return ErrorResponse(s);
    }
  }
  for (int k = 0; k < kWebhookIgnoredKinds; ++k) {
    if (parsed->ignored[k] != 0)
      ignored_[k].fetch_add(parsed->ignored[k], std::memory_order_relaxed);
  }

  PolicyEngine* engine = service_->engine();
  std::array<int64_t, kWebhookOutcomes> tally{};
  auto count = [&](WebhookOutcome o) { ++tally[static_cast<int>(o)]; };
  // A POST names few numbers many times: each display number resolved once.
  absl::flat_hash_map<std::string, std::pair<std::string, WebhookOutcome>> numbers;
  auto resolve = [&](const WebhookUpdate& u, const std::string& business,
                     std::string* e164) -> WebhookOutcome {
    auto [it, fresh] = numbers.try_emplace(u.display_phone_number);
    if (fresh) {
      it->second = {"", WebhookOutcome::kUnknownNumber};
      const std::string text = E164OfDisplay(u.display_phone_number);
      absl::StatusOr<PhoneNumber> n = ParsePhoneField("business_number", text);
      if (n.ok()) {
        absl::StatusOr<std::string> owner = engine->BusinessOf(*n);
        if (owner.ok()) {
          it->second = {n->E164(), *owner == business ? WebhookOutcome::kApplied
                                                      : WebhookOutcome::kForeignNumber};
        }
      }
    }
    *e164 = it->second.first;
    return it->second.second;
  };
  grpc::Status failed = grpc::Status::OK;  // The first failure the platform must retry.
  DurableBatch batch;                      // One durable write for the whole POST, awaited below.
  auto apply = [&](const grpc::Status& s) {
    std::optional<WebhookOutcome> o = OutcomeOf(s);
    if (o) {
      count(*o);
    } else if (failed.ok()) {
      failed = s;
    }
  };

  // The caller for events whose number resolve() found to be the WABA's
  // business's (once per number per POST): the service need not look the
  // number's business up again for every status.
  const Caller ownership_checked{/*admin=*/true, ""};
  for (WebhookUpdate& u : parsed->updates) {
    if (!failed.ok()) break;
    if (auto* pref = std::get_if<MarketingPreference>(&u.request)) {
      // An event like the others, with the platform's time and id.
      v1::EventRequest e;
      e.set_customer(pref->customer);
      e.mutable_marketing_preference()->set_stopped(pref->stop);
      e.set_occurred_at_unix_ms(pref->occurred_at_unix_ms);
      e.set_event_id(pref->event_id);
      u.request = std::move(e);
    }
    absl::StatusOr<std::string> business = apps_->BusinessOfWaba(**app, u.waba_id);
    if (!business.ok() || (path_business && *business != *path_business)) {
      // The app does not deliver this WABA, or (by path) not for this business.
      count(WebhookOutcome::kForeignWaba);
      continue;
    }
    if (auto* t = std::get_if<v1::UpdateTemplateQualityRequest>(&u.request)) {
      t->set_business_id(*business);
      v1::UpdateTemplateQualityResponse out;
      const grpc::Status s = admin_->UpdateTemplateQuality(nullptr, t, &out);
      if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
        count(WebhookOutcome::kUnknownTemplate);
      } else {
        apply(s);
      }
      continue;
    }
    if (auto* sync = std::get_if<v1::SyncNumberRequest>(&u.request)) {
      v1::SyncNumberResponse out;
      if (u.scope == WebhookScope::kBusiness) {
        absl::StatusOr<std::vector<PhoneNumber>> all = engine->NumbersOf(*business);
        if (!all.ok()) {
          apply(ToGrpc(all.status()));
          continue;
        }
        if (all->empty()) count(WebhookOutcome::kUnknownNumber);
        for (const PhoneNumber& n : *all) {
          sync->set_business_number(n.E164());
          apply(admin_->SyncNumber(nullptr, sync, &out));
        }
        continue;
      }
      std::string e164;
      if (WebhookOutcome o = resolve(u, *business, &e164); o != WebhookOutcome::kApplied) {
        count(o);
        continue;
      }
      sync->set_business_number(e164);
      apply(admin_->SyncNumber(nullptr, sync, &out));
      continue;
    }
    auto& event = std::get<v1::EventRequest>(u.request);
    std::string e164;
    if (WebhookOutcome o = resolve(u, *business, &e164); o != WebhookOutcome::kApplied) {
      count(o);
      continue;
    }
    event.set_business_number(e164);
    v1::EventResponse out;
    apply(service_->ReportEventFor(ownership_checked, event, &out));
  }
  if (absl::Status durable = batch.Finish(); !durable.ok() && failed.ok()) {
    failed = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("state journal write failed: ", durable.message()));
  }
  for (int o = 0; o < kWebhookOutcomes; ++o) {
    if (tally[o] != 0) outcomes_[o].fetch_add(tally[o], std::memory_order_relaxed);
  }
  if (!failed.ok()) {
    // Nothing of this POST is known durable; on the platform's retry, what did
    // land is answered by its event id and applied once.
    HttpResponse r = ErrorResponse(failed);
    r.status = 503;
    if (r.headers.empty()) r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  std::string body = "{";
  for (int o = 0; o < kWebhookOutcomes; ++o) {
    absl::StrAppend(&body, o == 0 ? "" : ",", "\"", WebhookOutcomeName(WebhookOutcome(o)),
                    "\":", tally[o]);
  }
  absl::StrAppend(&body, ",\"ignored\":", parsed->ignored_total(), "}");
  return HttpResponse::Json(200, std::move(body));
}

}  // namespace wapolicy
