// The gRPC services of policy_server, translating protos to PolicyEngine
// calls:
//  - PolicyServiceImpl, the send pipelines' API (Check, CheckBatch, the Decide
//    stream, ReportEvent(s), GetNumberState), on gRPC's callback API so that
//    decisions run on gRPC's own threads. Every call is admitted first: past
//    the in-flight bound it gets RESOURCE_EXHAUSTED, and once its deadline
//    has passed DEADLINE_EXCEEDED, with nothing applied.
//  - PolicyAdminImpl, the operators' API (businesses, numbers, templates, the
//    fake clock); admin tokens only when authentication is on.
//
//   PolicyServiceImpl service(&engine, /*max_batch=*/10000, auth.get(), /*max_inflight=*/256);
//   PolicyAdminImpl admin(&engine, fake_clock.get(), auth.get());
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&service);
//   builder.RegisterService(&admin);
#ifndef WAPOLICY_SERVER_POLICY_SERVICE_H_
#define WAPOLICY_SERVER_POLICY_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/repeated_field.h"
#include "grpcpp/support/message_allocator.h"
#include "policy/clock.h"
#include "policy/policy_engine.h"
#include "proto/wapolicy/v1/policy.grpc.pb.h"
#include "server/business_route.h"
#include "server/decision_log.h"
#include "server/server_metrics.h"
#include "server/token_authority.h"

namespace wapolicy {

// Hands out unique decision ids: a per-boot prefix and a counter.
class DecisionIds {
 public:
  DecisionIds();
  // Writes the next id into `out` (a response field, often on an arena).
  void Next(std::string* out) { Format(Reserve(1), out); }
  // Takes `n` consecutive ids and returns the first: a batch takes its ids
  // with one atomic add rather than one per decision (the counter's cache
  // line then stays put instead of moving between the serving threads).
  uint64_t Reserve(uint64_t n) { return next_.fetch_add(n, std::memory_order_relaxed); }
  // Writes id `id` (from Reserve) into `out`.
  void Format(uint64_t id, std::string* out) const;

 private:
  std::string prefix_;  // "<boot in hex>-"
  std::atomic<uint64_t> next_{1};
};

// A call's arena: a 100-check batch parses into ~30 KB of small objects, so
// the first block is 16 KiB rather than protobuf's 256 bytes doubling (3–10%
// less parse time in //bench:wire_cost_bench).
inline google::protobuf::ArenaOptions CallArenaOptions() {
  google::protobuf::ArenaOptions o;
  o.start_block_size = 16 << 10;
  o.max_block_size = 64 << 10;
  return o;
}

// Puts a unary call's request and response on one protobuf Arena, freed in one
// go when the call ends: a batch of checks is hundreds of small objects.
template <typename Request, typename Response>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(CallArenaOptions()) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    google::protobuf::Arena arena_;
  };
};

// Counts calls being worked on; refuses new ones past a bound, so a flood
// gets RESOURCE_EXHAUSTED instead of queueing without end.
class InflightLimiter {
 public:
  explicit InflightLimiter(int max) : max_(max) {}
  // A slot, or null if the server is at its bound (the caller answers RESOURCE_EXHAUSTED).
  class Slot {
   public:
    explicit Slot(std::atomic<int>* n) : n_(n) {}
    Slot(Slot&& o) noexcept : n_(o.n_) { o.n_ = nullptr; }
    Slot& operator=(Slot&& o) noexcept {
      if (this != &o) {
        Release();
        n_ = o.n_;
        o.n_ = nullptr;
      }
      return *this;
    }
    ~Slot() { Release(); }
    explicit operator bool() const { return n_ != nullptr; }

   private:
    void Release() {
      if (n_ != nullptr) n_->fetch_sub(1, std::memory_order_relaxed);
      n_ = nullptr;
    }
    std::atomic<int>* n_;
  };
  Slot Acquire() {
    if (inflight_.fetch_add(1, std::memory_order_relaxed) >= max_) {
      inflight_.fetch_sub(1, std::memory_order_relaxed);
      return Slot(nullptr);
    }
    return Slot(&inflight_);
  }
  int max() const { return max_; }
  int inflight() const { return inflight_.load(std::memory_order_relaxed); }

 private:
  const int max_;
  std::atomic<int> inflight_{0};
};

class PhoneNumberCache;  // server/proto_convert.h

// The send pipelines' API: translates protos to policy calls. Callback API:
// decisions run on gRPC's own threads with no hand-off.
class PolicyServiceImpl final : public v1::PolicyService::CallbackService {
 public:
  // `auth` may be null: every caller is then an admin (loopback development).
  // `test_delay_before_admit`, for tests only: every call sleeps this long in
  // Admit before its deadline is checked (zero: no sleep), so a test can make a
  // call's deadline pass on the server after the call arrived.
  PolicyServiceImpl(PolicyEngine* engine, int max_batch, const TokenAuthority* auth = nullptr,
                    int max_inflight = 1 << 20,
                    absl::Duration test_delay_before_admit = absl::ZeroDuration())
      : engine_(engine),
        max_batch_(max_batch),
        auth_(auth),
        limiter_(max_inflight),
        test_delay_before_admit_(test_delay_before_admit),
        default_route_(engine) {
    SetMessageAllocatorFor_CheckBatch(&batch_allocator_);
    SetMessageAllocatorFor_ReportEvents(&events_allocator_);
  }

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx, const v1::CheckRequest* req,
                                  v1::Decision* out) override;
  grpc::ServerUnaryReactor* CheckBatch(grpc::CallbackServerContext* ctx,
                                       const v1::CheckBatchRequest* req,
                                       v1::CheckBatchResponse* out) override;
  grpc::ServerBidiReactor<v1::DecideRequest, v1::DecideResponse>* Decide(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* ReportEvent(grpc::CallbackServerContext* ctx,
                                        const v1::EventRequest* req,
                                        v1::EventResponse* out) override;
  grpc::ServerUnaryReactor* ReportEvents(grpc::CallbackServerContext* ctx,
                                         const v1::EventBatchRequest* req,
                                         v1::EventBatchResponse* out) override;
  grpc::ServerUnaryReactor* GetNumberState(grpc::CallbackServerContext* ctx,
                                           const v1::GetNumberStateRequest* req,
                                           v1::NumberState* out) override;
  grpc::ServerUnaryReactor* GetDecision(grpc::CallbackServerContext* ctx,
                                        const v1::GetDecisionRequest* req,
                                        v1::LoggedDecision* out) override;

  // The calls without gRPC around them, for the other doors (the HTTP face):
  // the caller is known and the call admitted (TryAdmit) by the door.
  grpc::Status CheckFor(const Caller& caller, const v1::CheckRequest& req, v1::Decision* out);
  grpc::Status ReportEventFor(const Caller& caller, const v1::EventRequest& req,
                              v1::EventResponse* out) {
    return ApplyEvent(caller, req, out);
  }
  grpc::Status ReportEventsFor(const Caller& caller, const v1::EventBatchRequest& req,
                               v1::EventBatchResponse* out);
  grpc::Status NumberStateFor(const Caller& caller, const v1::GetNumberStateRequest& req,
                              v1::NumberState* out);
  // Every number the caller may see (all for an admin, its own for a
  // business), by business then number: the dashboard's list.
  grpc::Status NumberStatesFor(const Caller& caller,
                               google::protobuf::RepeatedPtrField<v1::NumberState>* out);
  grpc::Status GetDecisionFor(const Caller& caller, const v1::GetDecisionRequest& req,
                              v1::LoggedDecision* out);
  // A slot under the same in-flight bound as gRPC calls; empty when full.
  InflightLimiter::Slot TryAdmit() {
    InflightLimiter::Slot slot = limiter_.Acquire();
    if (!slot && metrics_ != nullptr) metrics_->resource_exhausted()->Add();
    return slot;
  }
  // Counts decisions, events and refusals there from now on (may be null).
  void set_metrics(ServerMetrics* metrics) { metrics_ = metrics; }
  // Logs decisions there from now on, and decision ids become its ids (may
  // be null: ids then have a per-boot prefix and GetDecision is refused).
  void set_decision_log(DecisionLog* log) { decision_log_ = log; }
  // Checks every call's x-wapolicy-business and consults its portfolio gate
  // (server/business_route.h) from now on; set before serving. Until then:
  // no header required, every business this node's. The campaign, JSON
  // and webhook doors use it too.
  void set_route(const BusinessRoute* route) { route_ = route; }
  const BusinessRoute& route() const { return *route_; }
  int inflight() const { return limiter_.inflight(); }
  const TokenAuthority* auth() const { return auth_; }
  PolicyEngine* engine() const { return engine_; }
  // MayUse for the other services (campaigns): the rule stays here.
  absl::Status MayUseNumber(const Caller& caller, PhoneNumber number) const {
    return MayUse(caller, number);
  }

  // Decides a batch in order (invalid or forbidden entries answered with
  // their error); INVALID_ARGUMENT if it is larger than max_batch. `brief`:
  // CheckBatchRequest.brief.
  grpc::Status DecideBatch(const Caller& caller,
                           const google::protobuf::RepeatedPtrField<v1::CheckRequest>& checks,
                           google::protobuf::RepeatedPtrField<v1::CheckResult>* results,
                           bool brief = false);
  // The caller behind a call's metadata (an admin when auth is off), with
  // the business its x-wapolicy-business names (BusinessRoute::Name).
  absl::StatusOr<Caller> Who(const grpc::CallbackServerContext* ctx) const;
  // Admits a call: RESOURCE_EXHAUSTED past the in-flight bound, DEADLINE_EXCEEDED
  // if its deadline passed while it waited.
  grpc::Status Admit(const grpc::CallbackServerContext* ctx, InflightLimiter::Slot* slot);
  // The door of every unary call that concerns a business: admitted (`slot`
  // held until it answers), its caller known (Who), and the request's
  // business routed here (BusinessRoute::Check). Sets `caller`; otherwise the
  // status to answer with.
  grpc::Status Enter(grpc::CallbackServerContext* ctx, const google::protobuf::Message& req,
                     InflightLimiter::Slot* slot, Caller* caller);

 private:
  // PERMISSION_DENIED unless the caller may act for this number's business.
  // Unknown numbers are refused the same way, so tokens learn nothing.
  absl::Status MayUse(const Caller& caller, PhoneNumber number) const;
  // `numbers` may be null (a single event).
  grpc::Status ApplyEvent(const Caller& caller, const v1::EventRequest& req, v1::EventResponse* out,
                          PhoneNumberCache* numbers = nullptr);
  grpc::Status ApplyEventUncounted(const Caller& caller, const v1::EventRequest& req,
                                   v1::EventResponse* out, PhoneNumberCache* numbers);
  // Writes a batch entry's decision (with decision id `id`) or its error.
  void Fill(const absl::StatusOr<Decision>& d, uint64_t id, bool brief, v1::CheckResult* out);
  PolicyEngine* engine_;
  const int max_batch_;
  const TokenAuthority* auth_;
  InflightLimiter limiter_;
  const absl::Duration test_delay_before_admit_;  // Tests only; zero in production.
  DecisionIds ids_;  // Without a decision log.
  DecisionLog* decision_log_ = nullptr;
  ServerMetrics* metrics_ = nullptr;
  ArenaMessageAllocator<v1::CheckBatchRequest, v1::CheckBatchResponse> batch_allocator_;
  ArenaMessageAllocator<v1::EventBatchRequest, v1::EventBatchResponse> events_allocator_;
  BusinessRoute default_route_;  // Single node, no header required.
  const BusinessRoute* route_ = &default_route_;
};

// The operators' API. AdvanceClock works only with a fake clock.
class PolicyAdminImpl final : public v1::PolicyAdmin::Service {
 public:
  PolicyAdminImpl(PolicyEngine* engine, ManualClock* fake_clock,
                  const TokenAuthority* auth = nullptr)
      : engine_(engine), fake_clock_(fake_clock), auth_(auth), default_route_(engine) {}

  grpc::Status UpsertBusiness(grpc::ServerContext*, const v1::UpsertBusinessRequest* req,
                              v1::UpsertBusinessResponse*) override;
  grpc::Status RegisterNumber(grpc::ServerContext*, const v1::RegisterNumberRequest* req,
                              v1::RegisterNumberResponse*) override;
  grpc::Status SyncNumber(grpc::ServerContext*, const v1::SyncNumberRequest* req,
                          v1::SyncNumberResponse*) override;
  grpc::Status PutTemplate(grpc::ServerContext*, const v1::Template* req,
                           v1::PutTemplateResponse*) override;
  grpc::Status RemoveTemplate(grpc::ServerContext*, const v1::RemoveTemplateRequest* req,
                              v1::RemoveTemplateResponse*) override;
  grpc::Status GetTemplate(grpc::ServerContext*, const v1::GetTemplateRequest* req,
                           v1::Template* out) override;
  grpc::Status UpdateTemplateQuality(grpc::ServerContext*,
                                     const v1::UpdateTemplateQualityRequest* req,
                                     v1::UpdateTemplateQualityResponse*) override;
  grpc::Status AdvanceClock(grpc::ServerContext*, const v1::AdvanceClockRequest* req,
                            v1::AdvanceClockResponse* out) override;
  grpc::Status GetServerInfo(grpc::ServerContext*, const v1::GetServerInfoRequest*,
                             v1::GetServerInfoResponse* out) override;
  // Called with each number registered, after the engine took it (the state
  // events' observer takes its first sight then: server/state_events.h).
  void set_on_registered(std::function<void(PhoneNumber)> f) { on_registered_ = std::move(f); }
  // As PolicyServiceImpl::set_route (the same route, in the server).
  void set_route(const BusinessRoute* route) { route_ = route; }

 private:
  // UNAUTHENTICATED / PERMISSION_DENIED unless an admin token was presented;
  // then, for a call on a business or its numbers (`req` set; null for the
  // node-wide AdvanceClock and GetServerInfo), the route's check of its
  // x-wapolicy-business. The methods above may be called with a null
  // context by another door (HTTP, webhooks) that has done both itself.
  grpc::Status Enter(grpc::ServerContext* ctx, const google::protobuf::Message* req) const;
  PolicyEngine* engine_;
  ManualClock* fake_clock_;  // Null on the wall clock.
  const TokenAuthority* auth_;
  std::function<void(PhoneNumber)> on_registered_;
  BusinessRoute default_route_;
  const BusinessRoute* route_ = &default_route_;
};

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_POLICY_SERVICE_H_
