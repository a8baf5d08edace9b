#include "server/events_service.h"

#include "absl/strings/str_cat.h"

namespace wapolicy {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// Events sent per read while catching up, and how long a caught-up watch
// sleeps before it checks for cancellation again.
constexpr size_t kWatchPage = 256;
constexpr absl::Duration kWatchPoll = absl::Milliseconds(200);

}  // namespace

absl::StatusOr<Caller> EventsServiceImpl::Who(grpc::ServerContext* ctx) const {
  absl::StatusOr<Caller> caller = Caller{true, ""};
  if (auth_ != nullptr) caller = auth_->Authenticate(ctx->client_metadata());
  if (!caller.ok() || route_ == nullptr) return caller;
  if (absl::Status s = route_->Name(*ctx, &*caller); !s.ok()) return s;
  return route_->ListScope(*caller);
}

grpc::Status EventsServiceImpl::WatchEvents(grpc::ServerContext* ctx,
                                            const v1::WatchEventsRequest* req,
                                            grpc::ServerWriter<v1::StateEvent>* out) {
  absl::StatusOr<Caller> caller = Who(ctx);
  if (!caller.ok()) return BusinessRoute::Refuse(ctx, caller.status());
  uint64_t position = req->from_position() == 0 ? events_->next_position() : req->from_position();
  while (!ctx->IsCancelled() && !stopping_.load()) {
    absl::StatusOr<StateEventLog::Page> page = events_->Read(position, kWatchPage, *caller);
    if (!page.ok()) return ToGrpc(page.status());
    for (const v1::StateEvent& e : page->events) {
      if (!out->Write(e)) return grpc::Status::OK;  // The client went away.
    }
    const bool caught_up = page->next >= events_->next_position();
    position = page->next;
    if (caught_up) events_->WaitFor(position, absl::Now() + kWatchPoll);
  }
  return grpc::Status::OK;
}

grpc::Status EventsServiceImpl::ListStateEvents(grpc::ServerContext* ctx,
                                                const v1::ListStateEventsRequest* req,
                                                v1::ListStateEventsResponse* out) {
  absl::StatusOr<Caller> caller = Who(ctx);
  if (!caller.ok()) return BusinessRoute::Refuse(ctx, caller.status());
  return ListFor(*caller, *req, out);
}

grpc::Status EventsServiceImpl::ListFor(const Caller& caller,
                                        const v1::ListStateEventsRequest& req,
                                        v1::ListStateEventsResponse* out) {
  if (req.limit() < 0 || req.limit() > 1000) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("limit: ", req.limit(), " is not between 0 and 1000"));
  }
  const size_t limit = req.limit() == 0 ? 100 : static_cast<size_t>(req.limit());
  absl::StatusOr<StateEventLog::Page> page =
      req.from_position() == 0 ? events_->Latest(limit, caller)
                               : events_->Read(req.from_position(), limit, caller);
  if (!page.ok()) return ToGrpc(page.status());
  for (v1::StateEvent& e : page->events) *out->add_events() = std::move(e);
  out->set_next_position(events_->next_position());
  return grpc::Status::OK;
}

}  // namespace wapolicy
