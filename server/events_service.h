// The gRPC face of the state-change events (server/state_events.h): the
// PolicyEvents service, WatchEvents (a stream that sends what is stored from
// a position on and then each new event as it is observed) and
// ListStateEvents (a page, or the latest). A business token sees its own
// numbers' events; an admin sees all. Sync API: a watch holds one of gRPC's
// sync threads while it waits, which suits a handful of operators' watches.
//
//   EventsServiceImpl events_service(&state_events, auth.get());
//   builder.RegisterService(&events_service);
//   ...
//   events_service.Stop();  // Before server->Shutdown: watches end now.
#ifndef WAPOLICY_SERVER_EVENTS_SERVICE_H_
#define WAPOLICY_SERVER_EVENTS_SERVICE_H_

#include <atomic>

#include "proto/wapolicy/v1/policy.grpc.pb.h"
#include "server/business_route.h"
#include "server/state_events.h"
#include "server/token_authority.h"

namespace wapolicy {

class EventsServiceImpl final : public v1::PolicyEvents::Service {
 public:
  // `events` must outlive it; `auth` may be null (every caller an admin).
  EventsServiceImpl(StateEventLog* events, const TokenAuthority* auth)
      : events_(events), auth_(auth) {}

  grpc::Status WatchEvents(grpc::ServerContext* ctx, const v1::WatchEventsRequest* req,
                           grpc::ServerWriter<v1::StateEvent>* out) override;
  grpc::Status ListStateEvents(grpc::ServerContext* ctx, const v1::ListStateEventsRequest* req,
                               v1::ListStateEventsResponse* out) override;

  // ListStateEvents for a caller another door (HTTP) already identified.
  grpc::Status ListFor(const Caller& caller, const v1::ListStateEventsRequest& req,
                       v1::ListStateEventsResponse* out);
  // Ends every watch (they return OK) and refuses new ones.
  void Stop() { stopping_.store(true); }
  // Reads each call's x-wapolicy-business with `route` from now on: a watch
  // or list that names a business sees that business's events only (the
  // gate consulted); one that names none sees what it saw before (the
  // node's, for an admin) even with --require_business_header. Unset: the
  // header is ignored.
  void set_route(const BusinessRoute* route) { route_ = route; }

 private:
  // The caller, and what it may read (BusinessRoute::ListScope).
  absl::StatusOr<Caller> Who(grpc::ServerContext* ctx) const;
  StateEventLog* const events_;
  const TokenAuthority* const auth_;
  const BusinessRoute* route_ = nullptr;
  std::atomic<bool> stopping_{false};
};

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_EVENTS_SERVICE_H_
