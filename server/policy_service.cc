#include "server/policy_service.h"

#include <algorithm>
#include <chrono>
#include <tuple>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "policy/durable_batch.h"
#include "server/decision_api.h"
#include "server/proto_convert.h"

namespace wapolicy {

DecisionIds::DecisionIds()
    : prefix_(absl::StrCat(absl::Hex(absl::BitGen()(), absl::kZeroPad16), "-")) {}

void DecisionIds::Format(uint64_t id, std::string* out) const {
  // "<boot in hex>-<counter>": unique across restarts; no temporary string.
  const absl::AlphaNum counter(id);  // Formats in place.
  out->reserve(prefix_.size() + counter.size());
  out->assign(prefix_);
  out->append(counter.data(), counter.size());
}

void PolicyServiceImpl::Fill(const absl::StatusOr<Decision>& d, uint64_t id, bool brief,
                             v1::CheckResult* out) {
  if (!d.ok()) {
    out->mutable_error()->set_code(static_cast<int>(d.status().code()));
    out->mutable_error()->set_message(std::string(d.status().message()));
    return;
  }
  v1::Decision* p = out->mutable_decision();
  ToProto(*d, engine_->profile(), p, brief);
  if (decision_log_ != nullptr) {
    FormatDecisionId(id, p->mutable_decision_id());
  } else {
    ids_.Format(id, p->mutable_decision_id());
  }
  if (metrics_ != nullptr) metrics_->Decided(*p);
}

namespace {

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, const grpc::Status& s) {
  grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
  r->Finish(s);
  return r;
}

}  // namespace

grpc::Status PolicyServiceImpl::Admit(const grpc::CallbackServerContext* ctx,
                                      InflightLimiter::Slot* slot) {
  if (test_delay_before_admit_ > absl::ZeroDuration()) {
    // Tests only (--test_delay_before_admit_ms): the call arrived in time but
    // waits here, so its deadline can pass before the check below.
    absl::SleepFor(test_delay_before_admit_);
  }
  *slot = limiter_.Acquire();
  if (!*slot) {
    if (metrics_ != nullptr) metrics_->resource_exhausted()->Add();
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("server busy: ", limiter_.max(), " calls in flight; retry with backoff"));
  }
  if (ctx->deadline() < std::chrono::system_clock::now()) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed before the call ran");
  }
  return grpc::Status::OK;
}

absl::StatusOr<Caller> PolicyServiceImpl::Who(const grpc::CallbackServerContext* ctx) const {
  absl::StatusOr<Caller> caller = Caller{true, ""};
  if (auth_ != nullptr) caller = auth_->Authenticate(ctx->client_metadata());
  if (!caller.ok()) return caller;
  if (absl::Status s = route_->Name(*ctx, &*caller); !s.ok()) return s;
  return caller;
}

absl::Status PolicyServiceImpl::MayUse(const Caller& caller, PhoneNumber number) const {
  if (caller.admin) return absl::OkStatus();
  absl::StatusOr<std::string> business = engine_->BusinessOf(number);
  if (!business.ok() || *business != caller.business_id) {
    return absl::PermissionDeniedError(absl::StrCat(
        "business_number ", number.E164(), " is not a number of business ", caller.business_id));
  }
  return absl::OkStatus();
}

grpc::Status PolicyServiceImpl::Enter(grpc::CallbackServerContext* ctx,
                                     const google::protobuf::Message& req,
                                     InflightLimiter::Slot* slot, Caller* caller) {
  if (grpc::Status admitted = Admit(ctx, slot); !admitted.ok()) return admitted;
  absl::StatusOr<Caller> who = Who(ctx);
  if (!who.ok()) return ToGrpc(who.status());
  if (absl::Status s = route_->Check(*who, req); !s.ok()) return BusinessRoute::Refuse(ctx, s);
  *caller = *std::move(who);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* PolicyServiceImpl::Check(grpc::CallbackServerContext* ctx,
                                                   const v1::CheckRequest* req, v1::Decision* out) {
  InflightLimiter::Slot slot(nullptr);
  Caller caller;
  if (grpc::Status s = Enter(ctx, *req, &slot, &caller); !s.ok()) return Done(ctx, s);
  return Done(ctx, CheckFor(caller, *req, out));
}

grpc::Status PolicyServiceImpl::CheckFor(const Caller& caller, const v1::CheckRequest& req,
                                         v1::Decision* out) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<OutgoingMessage> m = FromProto(req);
  if (!m.ok()) return ToGrpc(m.status());
  if (absl::Status s = MayUse(caller, m->business_number); !s.ok()) return ToGrpc(s);
  absl::StatusOr<Decision> d = engine_->Check(*m);
  if (!d.ok()) return ToGrpc(d.status());
  ToProto(*d, engine_->profile(), out);
  if (decision_log_ != nullptr) {
    FormatDecisionId(decision_log_->RecordOne(*m, *d), out->mutable_decision_id());
  } else {
    ids_.Next(out->mutable_decision_id());
  }
  if (metrics_ != nullptr) {
    metrics_->Decided(*out);
    metrics_->check_seconds()->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return grpc::Status::OK;
}

grpc::Status PolicyServiceImpl::DecideBatch(
    const Caller& caller, const google::protobuf::RepeatedPtrField<v1::CheckRequest>& checks,
    google::protobuf::RepeatedPtrField<v1::CheckResult>* results, bool brief) {
  if (checks.size() > max_batch_) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("checks: at most ", max_batch_, " per batch, got ", checks.size()));
  }
  // Invalid entries are answered with their error; the rest are decided in
  // one engine call (one lock, one durable write).
  std::vector<OutgoingMessage> valid;
  std::vector<int> index(checks.size(), -1);
  std::vector<absl::Status> errors(checks.size());
  valid.reserve(checks.size());
  PhoneNumberCache numbers;  // Each distinct number string parsed once.
  for (int i = 0; i < checks.size(); ++i) {
    absl::StatusOr<OutgoingMessage> m = FromProto(checks.Get(i), "", &numbers);
    if (m.ok()) {
      if (absl::Status s = MayUse(caller, m->business_number); !s.ok()) m = s;
    }
    if (m.ok()) {
      index[i] = static_cast<int>(valid.size());
      valid.push_back(*std::move(m));
    } else {
      // Name the entry only on the (rare) error path.
      errors[i] =
          absl::Status(m.status().code(), absl::StrCat("checks[", i, "].", m.status().message()));
    }
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<absl::StatusOr<Decision>> decided = engine_->CheckBatch(valid);
  results->Reserve(checks.size());
  // Ids: the decision log's (one lock for the batch, which also logs it), or a block of boot ids.
  std::vector<uint64_t> logged_ids;
  uint64_t first_id = 0;
  if (decision_log_ != nullptr) {
    logged_ids.resize(valid.size());
    decision_log_->Record(valid, decided, absl::MakeSpan(logged_ids));
  } else {
    first_id = ids_.Reserve(checks.size());
  }
  for (int i = 0; i < checks.size(); ++i) {
    v1::CheckResult* r = results->Add();
    if (index[i] < 0) {
      Fill(errors[i], first_id + i, brief, r);
    } else {
      Fill(decided[index[i]], decision_log_ != nullptr ? logged_ids[index[i]] : first_id + i, brief,
           r);
    }
  }
  if (metrics_ != nullptr) {
    metrics_->batch_seconds()->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* PolicyServiceImpl::CheckBatch(grpc::CallbackServerContext* ctx,
                                                        const v1::CheckBatchRequest* req,
                                                        v1::CheckBatchResponse* out) {
  InflightLimiter::Slot slot(nullptr);
  Caller caller;
  if (grpc::Status s = Enter(ctx, *req, &slot, &caller); !s.ok()) return Done(ctx, s);
  return Done(ctx, DecideBatch(caller, req->checks(), out->mutable_results(), req->brief()));
}

namespace {

// One Decide stream: read a batch, decide it, write the answers, read the next.
class DecideReactor final : public grpc::ServerBidiReactor<v1::DecideRequest, v1::DecideResponse> {
 public:
  DecideReactor(PolicyServiceImpl* service, grpc::CallbackServerContext* ctx, Caller caller)
      : service_(service), ctx_(ctx), caller_(std::move(caller)) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);  // The client closed its side.
      return;
    }
    response_.Clear();
    InflightLimiter::Slot slot(nullptr);
    grpc::Status s = service_->Admit(ctx_, &slot);
    if (s.ok()) {
      // Each message: one business (the stream's header), and the gate's
      // word now (a portfolio may move while the stream is open).
      if (absl::Status r = service_->route().Check(caller_, request_); !r.ok()) {
        s = BusinessRoute::Refuse(ctx_, r);
      }
    }
    if (s.ok()) {
      s = service_->DecideBatch(caller_, request_.checks(), response_.mutable_results(),
                                request_.brief());
    }
    if (!s.ok()) {
      Finish(s);
      return;
    }
    StartWrite(&response_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream broken"));
      return;
    }
    request_.Clear();
    StartRead(&request_);
  }
  void OnDone() override { delete this; }

 private:
  PolicyServiceImpl* service_;
  grpc::CallbackServerContext* ctx_;
  const Caller caller_;
  v1::DecideRequest request_;
  v1::DecideResponse response_;
};

}  // namespace

// Refuses a stream whose caller is unknown.
class RefusedStream final : public grpc::ServerBidiReactor<v1::DecideRequest, v1::DecideResponse> {
 public:
  explicit RefusedStream(const grpc::Status& s) { Finish(s); }
  void OnDone() override { delete this; }
};

grpc::ServerBidiReactor<v1::DecideRequest, v1::DecideResponse>* PolicyServiceImpl::Decide(
    grpc::CallbackServerContext* ctx) {
  absl::StatusOr<Caller> caller = Who(ctx);
  if (!caller.ok()) return new RefusedStream(ToGrpc(caller.status()));
  return new DecideReactor(this, ctx, *std::move(caller));
}

grpc::Status PolicyServiceImpl::ApplyEvent(const Caller& caller, const v1::EventRequest& req,
                                           v1::EventResponse* out, PhoneNumberCache* numbers) {
  grpc::Status s = ApplyEventUncounted(caller, req, out, numbers);
  if (s.ok() && metrics_ != nullptr) metrics_->EventApplied(req.event_case());
  return s;
}

grpc::Status PolicyServiceImpl::ApplyEventUncounted(const Caller& caller,
                                                    const v1::EventRequest& req,
                                                    v1::EventResponse* out,
                                                    PhoneNumberCache* numbers) {
  auto bn = ParsePhoneField("business_number", req.business_number(), "", numbers);
  if (!bn.ok()) return ToGrpc(bn.status());
  if (absl::Status s = MayUse(caller, *bn); !s.ok()) return ToGrpc(s);
  auto c = ParsePhoneField("customer", req.customer(), "", numbers);
  if (!c.ok()) return ToGrpc(c.status());
  absl::StatusOr<EventMeta> meta_or =
      EventMetaOf(req.occurred_at_unix_ms(), req.event_id(), req.message_id());
  if (!meta_or.ok()) return ToGrpc(meta_or.status());
  const EventMeta& meta = *meta_or;
  switch (req.event_case()) {
    case v1::EventRequest::kInbound: {
      absl::StatusOr<bool> opted_out = engine_->RecordInbound(*bn, *c, req.inbound().text(), meta);
      if (!opted_out.ok()) return ToGrpc(opted_out.status());
      out->set_opted_out(*opted_out);
      return grpc::Status::OK;
    }
    case v1::EventRequest::kDelivered: {
      absl::StatusOr<DeliveryOutcome> o = engine_->RecordDelivered(*bn, *c, meta);
      if (!o.ok()) return ToGrpc(o.status());
      out->set_delivery_outcome(ToProto(*o));
      return grpc::Status::OK;
    }
    case v1::EventRequest::kDeliveryFailed:
      return ToGrpc(
          engine_->RecordDeliveryFailed(*bn, *c, meta, req.delivery_failed().error_code()));
    case v1::EventRequest::kBlocked: {
      absl::StatusOr<SignalKind> k = FromProto(req.blocked().reason());
      if (!k.ok()) return ToGrpc(k.status());
      return ToGrpc(engine_->RecordSignal(*bn, *c, *k, meta));
    }
    case v1::EventRequest::kReported:
      return ToGrpc(engine_->RecordSignal(*bn, *c, SignalKind::kReport, meta));
    case v1::EventRequest::kOptIn: {
      absl::StatusOr<OptInSource> s = FromProto(req.opt_in().source());
      if (!s.ok()) return ToGrpc(s.status());
      std::vector<std::string> topics(req.opt_in().topics().begin(), req.opt_in().topics().end());
      return ToGrpc(engine_->RecordOptIn(*bn, *c, *s, topics, meta));
    }
    case v1::EventRequest::kOptOut:
      return ToGrpc(engine_->RecordOptOut(*bn, *c, meta));
    case v1::EventRequest::kMarketingPreference:
      return ToGrpc(
          engine_->RecordMarketingPreference(*bn, *c, req.marketing_preference().stopped(), meta));
    default:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "event: set one of inbound, delivered, delivery_failed, blocked, "
                          "reported, opt_in, opt_out, marketing_preference");
  }
}

grpc::ServerUnaryReactor* PolicyServiceImpl::ReportEvent(grpc::CallbackServerContext* ctx,
                                                         const v1::EventRequest* req,
                                                         v1::EventResponse* out) {
  InflightLimiter::Slot slot(nullptr);
  Caller caller;
  if (grpc::Status s = Enter(ctx, *req, &slot, &caller); !s.ok()) return Done(ctx, s);
  return Done(ctx, ApplyEvent(caller, *req, out));
}

grpc::ServerUnaryReactor* PolicyServiceImpl::ReportEvents(grpc::CallbackServerContext* ctx,
                                                          const v1::EventBatchRequest* req,
                                                          v1::EventBatchResponse* out) {
  InflightLimiter::Slot slot(nullptr);
  Caller caller;
  if (grpc::Status s = Enter(ctx, *req, &slot, &caller); !s.ok()) return Done(ctx, s);
  return Done(ctx, ReportEventsFor(caller, *req, out));
}

grpc::Status PolicyServiceImpl::ReportEventsFor(const Caller& caller,
                                                const v1::EventBatchRequest& req,
                                                v1::EventBatchResponse* out) {
  if (req.events_size() > max_batch_) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("events: at most ", max_batch_, " per batch, got ", req.events_size()));
  }
  PhoneNumberCache numbers;  // Each distinct number string parsed once.
  DurableBatch batch;        // One durable write for the batch, awaited before the answer.
  for (int i = 0; i < req.events_size(); ++i) {
    v1::EventResult* r = out->add_results();
    grpc::Status s = ApplyEvent(caller, req.events(i), r->mutable_response(), &numbers);
    if (!s.ok()) {
      r->mutable_error()->set_code(static_cast<int>(s.error_code()));
      r->mutable_error()->set_message(absl::StrCat("events[", i, "].", s.error_message()));
    }
  }
  if (absl::Status s = batch.Finish(); !s.ok()) {
    // Nothing of the batch is known durable: the caller retries it all (its
    // event ids keep what did land from applying twice).
    out->Clear();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("state journal write failed: ", s.message()));
  }
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* PolicyServiceImpl::GetNumberState(grpc::CallbackServerContext* ctx,
                                                            const v1::GetNumberStateRequest* req,
                                                            v1::NumberState* out) {
  InflightLimiter::Slot slot(nullptr);
  Caller caller;
  if (grpc::Status s = Enter(ctx, *req, &slot, &caller); !s.ok()) return Done(ctx, s);
  return Done(ctx, NumberStateFor(caller, *req, out));
}

grpc::Status PolicyServiceImpl::NumberStateFor(const Caller& caller,
                                               const v1::GetNumberStateRequest& req,
                                               v1::NumberState* out) {
  auto bn = ParsePhoneField("business_number", req.business_number());
  if (!bn.ok()) return ToGrpc(bn.status());
  if (absl::Status st = MayUse(caller, *bn); !st.ok()) return ToGrpc(st);
  absl::StatusOr<NumberSnapshot> s = engine_->GetNumberState(*bn);
  if (!s.ok()) return ToGrpc(s.status());
  ToProto(*s, engine_->profile(), out);
  return grpc::Status::OK;
}

grpc::Status PolicyServiceImpl::NumberStatesFor(
    const Caller& caller, google::protobuf::RepeatedPtrField<v1::NumberState>* out) {
  std::vector<PhoneNumber> numbers;
  if (caller.admin) {
    numbers = engine_->Numbers();
  } else {
    absl::StatusOr<std::vector<PhoneNumber>> mine = engine_->NumbersOf(caller.business_id);
    if (!mine.ok()) return ToGrpc(mine.status());
    numbers = *std::move(mine);
  }
  std::vector<NumberSnapshot> states;
  states.reserve(numbers.size());
  for (const PhoneNumber& n : numbers) {
    absl::StatusOr<NumberSnapshot> s = engine_->GetNumberState(n);
    if (absl::IsNotFound(s.status())) continue;  // Gone since it was listed.
    if (!s.ok()) return ToGrpc(s.status());
    states.push_back(*std::move(s));
  }
  std::sort(states.begin(), states.end(), [](const NumberSnapshot& a, const NumberSnapshot& b) {
    return std::tie(a.business_id, a.number) < std::tie(b.business_id, b.number);
  });
  out->Reserve(static_cast<int>(states.size()));
  for (const NumberSnapshot& s : states) ToProto(s, engine_->profile(), out->Add());
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* PolicyServiceImpl::GetDecision(grpc::CallbackServerContext* ctx,
                                                         const v1::GetDecisionRequest* req,
                                                         v1::LoggedDecision* out) {
  InflightLimiter::Slot slot(nullptr);
  Caller caller;
  if (grpc::Status s = Enter(ctx, *req, &slot, &caller); !s.ok()) return Done(ctx, s);
  return Done(ctx, GetDecisionFor(caller, *req, out));
}

grpc::Status PolicyServiceImpl::GetDecisionFor(const Caller& caller,
                                               const v1::GetDecisionRequest& req,
                                               v1::LoggedDecision* out) {
  return wapolicy::GetDecisionFor(decision_log_, engine_, caller, req, out, route_);
}

grpc::Status PolicyAdminImpl::Enter(grpc::ServerContext* ctx,
                                    const google::protobuf::Message* req) const {
  // No context: a call from another door (HTTP, webhooks) that has already
  // required an admin and checked the route.
  if (ctx == nullptr) return grpc::Status::OK;
  absl::StatusOr<Caller> caller = Caller{true, ""};
  if (auth_ != nullptr) caller = auth_->Authenticate(ctx->client_metadata());
  if (!caller.ok()) return ToGrpc(caller.status());
  if (!caller->admin) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat("PolicyAdmin needs an admin token; this token is business ",
                                     caller->business_id, "'s"));
  }
  if (req == nullptr) return grpc::Status::OK;  // Node-wide: no business.
  absl::Status s = route_->Name(*ctx, &*caller);
  if (s.ok()) s = route_->Check(*caller, *req);
  if (!s.ok()) return BusinessRoute::Refuse(ctx, s);
  return grpc::Status::OK;
}

#define WAPOLICY_ENTER(ctx, req)                             \
  do {                                                       \
    if (grpc::Status s = Enter(ctx, req); !s.ok()) return s; \
  } while (0)

grpc::Status PolicyAdminImpl::UpsertBusiness(grpc::ServerContext* ctx,
                                             const v1::UpsertBusinessRequest* req,
                                             v1::UpsertBusinessResponse*) {
  WAPOLICY_ENTER(ctx, req);
  absl::StatusOr<ShadowSet> shadow = ParseShadowSet(req->shadow());
  if (!shadow.ok()) return ToGrpc(shadow.status());
  // A cluster's node claims the portfolio first (server/portfolio_gate.h).
  if (route_ != nullptr) {
    if (absl::Status s = route_->gate().Claim(req->business_id()); !s.ok()) {
      return BusinessRoute::Refuse(ctx, s);
    }
  }
  return ToGrpc(engine_->UpsertBusiness(req->business_id(), req->verified(),
                                        req->official_business_account(), *shadow));
}

grpc::Status PolicyAdminImpl::RegisterNumber(grpc::ServerContext* ctx,
                                             const v1::RegisterNumberRequest* req,
                                             v1::RegisterNumberResponse*) {
  WAPOLICY_ENTER(ctx, req);
  auto bn = ParsePhoneField("business_number", req->business_number());
  if (!bn.ok()) return ToGrpc(bn.status());
  if (absl::Status s = ValidateBusinessId(req->business_id()); !s.ok()) return ToGrpc(s);
  std::optional<int64_t> current_limit;
  if (req->has_current_limit()) current_limit = req->current_limit();
  absl::Status s = engine_->RegisterNumber(*bn, req->business_id(), current_limit);
  if (s.ok() && on_registered_) on_registered_(*bn);
  return ToGrpc(s);
}

grpc::Status PolicyAdminImpl::SyncNumber(grpc::ServerContext* ctx, const v1::SyncNumberRequest* req,
                                         v1::SyncNumberResponse*) {
  WAPOLICY_ENTER(ctx, req);
  auto bn = ParsePhoneField("business_number", req->business_number());
  if (!bn.ok()) return ToGrpc(bn.status());
  absl::StatusOr<PlatformReport> report = FromProto(*req);
  if (!report.ok()) return ToGrpc(report.status());
  if (report->empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "set at least one of messaging_limit, quality, flagged, throughput_mps, "
                        "restricted_until_unix_ms, disabled");
  }
  absl::StatusOr<EventMeta> meta = EventMetaOf(req->occurred_at_unix_ms(), "");
  if (!meta.ok()) return ToGrpc(meta.status());
  return ToGrpc(engine_->SyncNumber(*bn, *report, *meta));
}

grpc::Status PolicyAdminImpl::PutTemplate(grpc::ServerContext* ctx, const v1::Template* req,
                                          v1::PutTemplateResponse*) {
  WAPOLICY_ENTER(ctx, req);
  if (absl::Status s = ValidateBusinessId(req->business_id()); !s.ok()) return ToGrpc(s);
  absl::StatusOr<MessageTemplate> t = FromProto(*req);
  if (!t.ok()) return ToGrpc(t.status());
  return ToGrpc(engine_->PutTemplate(req->business_id(), *t));
}

grpc::Status PolicyAdminImpl::RemoveTemplate(grpc::ServerContext* ctx,
                                             const v1::RemoveTemplateRequest* req,
                                             v1::RemoveTemplateResponse*) {
  WAPOLICY_ENTER(ctx, req);
  if (absl::Status s = ValidateBusinessId(req->business_id()); !s.ok()) return ToGrpc(s);
  return ToGrpc(engine_->RemoveTemplate(req->business_id(), req->name(), req->language()));
}

grpc::Status PolicyAdminImpl::UpdateTemplateQuality(grpc::ServerContext* ctx,
                                                    const v1::UpdateTemplateQualityRequest* req,
                                                    v1::UpdateTemplateQualityResponse*) {
  WAPOLICY_ENTER(ctx, req);
  if (absl::Status s = ValidateBusinessId(req->business_id()); !s.ok()) return ToGrpc(s);
  TemplateWord word;
  if (req->has_quality()) {
    if (!v1::TemplateQuality_IsValid(req->quality())) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "quality: unknown rating");
    }
    word.quality = static_cast<TemplateQuality>(req->quality());
  }
  if (req->status() != v1::TEMPLATE_STATUS_UNSPECIFIED) {
    // PAUSED is not a status the platform sets by itself here: it pauses
    // through a RED rating (quality), which also counts toward disabling.
    if (req->status() < v1::APPROVED || req->status() > v1::DISABLED ||
        req->status() == v1::PAUSED) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "status: one of APPROVED, PENDING, REJECTED, DISABLED");
    }
    word.status = static_cast<TemplateStatus>(req->status() - 1);
  }
  word.lift_pause = req->unpause();
  word.reinstate = req->reinstate();
  if (word.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "set quality, status, unpause or reinstate");
  }
  return ToGrpc(engine_->UpdateTemplate(req->business_id(), req->name(), req->language(), word));
}

grpc::Status PolicyAdminImpl::GetTemplate(grpc::ServerContext* ctx,
                                          const v1::GetTemplateRequest* req, v1::Template* out) {
  WAPOLICY_ENTER(ctx, req);
  if (absl::Status s = ValidateBusinessId(req->business_id()); !s.ok()) return ToGrpc(s);
  absl::StatusOr<MessageTemplate> t =
      engine_->GetTemplate(req->business_id(), req->name(), req->language());
  if (!t.ok()) return ToGrpc(t.status());
  ToProto(*t, req->business_id(), out);
  return grpc::Status::OK;
}

grpc::Status PolicyAdminImpl::AdvanceClock(grpc::ServerContext* ctx,
                                           const v1::AdvanceClockRequest* req,
                                           v1::AdvanceClockResponse* out) {
  WAPOLICY_ENTER(ctx, nullptr);
  if (fake_clock_ == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "AdvanceClock needs a server started with --fake_clock");
  }
  if (req->seconds() <= 0 || req->seconds() > 366LL * 24 * 3600) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "seconds must be between 1 and one year");
  }
  fake_clock_->Advance(absl::Seconds(req->seconds()));
  out->set_now_unix_ms(absl::ToUnixMillis(fake_clock_->Now()));
  return grpc::Status::OK;
}

grpc::Status PolicyAdminImpl::GetServerInfo(grpc::ServerContext* ctx,
                                            const v1::GetServerInfoRequest*,
                                            v1::GetServerInfoResponse* out) {
  WAPOLICY_ENTER(ctx, nullptr);
  out->set_profile_name(engine_->profile().name);
  out->set_profile_revision(engine_->profile().revision);
  out->set_now_unix_ms(absl::ToUnixMillis(engine_->Now()));
  out->set_fake_clock(fake_clock_ != nullptr);
  const EngineStats s = engine_->stats();
  out->set_numbers(static_cast<int64_t>(s.numbers));
  out->set_tracked_conversations(static_cast<int64_t>(s.ledger_entries));
  return grpc::Status::OK;
}

}  // namespace wapolicy
