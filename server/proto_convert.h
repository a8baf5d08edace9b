// Translation between the wire API (proto/wapolicy/v1/policy.proto) and the
// policy core. Every function that reads a request validates it and names
// the offending field (after a prefix such as "checks[3]." in a batch);
// ToGrpc carries an absl::Status's code and message to the client.
//
//   absl::StatusOr<OutgoingMessage> m = FromProto(request);
//   if (!m.ok()) return ToGrpc(m.status());  // INVALID_ARGUMENT naming the field.
//   absl::StatusOr<Decision> d = engine->Check(*m);
//   if (d.ok()) ToProto(*d, engine->profile(), &response);
#ifndef WAPOLICY_SERVER_PROTO_CONVERT_H_
#define WAPOLICY_SERVER_PROTO_CONVERT_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "policy/policy_engine.h"
#include "proto/wapolicy/v1/policy.pb.h"

namespace wapolicy {

// Parses each distinct formatted number string of a batch once: a batch
// repeats its business number in every entry, and often its customers.
// Canonical E.164 strings take the fast path and are not kept. Keys are views of
// the request's strings, so a cache lives no longer than its batch. Only
// numbers that parse are kept; an error is parsed again (rarely) to the
// same answer.
class PhoneNumberCache {
 public:
  absl::StatusOr<PhoneNumber> Parse(absl::string_view text);

 private:
  absl::flat_hash_map<absl::string_view, PhoneNumber> parsed_;
};

// `cache` may be null (a single request).
absl::StatusOr<PhoneNumber> ParsePhoneField(absl::string_view field, absl::string_view text,
                                            absl::string_view prefix = "",
                                            PhoneNumberCache* cache = nullptr);
absl::StatusOr<OutgoingMessage> FromProto(const v1::CheckRequest& req,
                                          absl::string_view prefix = "",
                                          PhoneNumberCache* cache = nullptr);
absl::StatusOr<SignalKind> FromProto(v1::BlockReason r);
absl::StatusOr<OptInSource> FromProto(v1::OptInSource s);
absl::StatusOr<MessageTemplate> FromProto(const v1::Template& t);
SessionContent FromProto(const v1::SessionRef& s);  // The content (caller checks it is set).
void ToProto(const MessageTemplate& t, absl::string_view business_id, v1::Template* out);

// `brief` (CheckBatchRequest.brief): only what a send pipeline acts on; the
// rest of the Decision is left unset.
void ToProto(const Decision& d, const PolicyProfile& profile, v1::Decision* out,
             bool brief = false);
void ToProto(const NumberSnapshot& s, const PolicyProfile& profile, v1::NumberState* out);
v1::DeliveryOutcome ToProto(DeliveryOutcome o);
// An event's time and id (INVALID_ARGUMENT naming occurred_at_unix_ms for a
// time outside 1970..9999, which no platform sends and would overflow).
absl::StatusOr<EventMeta> EventMetaOf(int64_t occurred_at_unix_ms, const std::string& event_id,
                                      const std::string& message_id = "");
// A SyncNumberRequest's fields (the number aside); INVALID_ARGUMENT naming
// the field for a bad value.
absl::StatusOr<PlatformReport> FromProto(const v1::SyncNumberRequest& r);
v1::MessagingTier TierOf(int64_t limit);

grpc::Status ToGrpc(const absl::Status& s);
int64_t UnixMillisOrZero(absl::Time t);  // 0 for infinite past/future.

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_PROTO_CONVERT_H_
