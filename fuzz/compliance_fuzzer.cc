// Fuzzes message compliance: arbitrary session content and templates through
// the content rules. Must never crash; a valid verdict must be stable.

#include <cstddef>
#include <cstdint>

#include "policy/message_compliance.h"
#include "proto/wapolicy/v1/policy.pb.h"
#include "server/proto_convert.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wapolicy;
  if (size < 1) return 0;
  const MessageLimits limits;
  if (data[0] & 1) {
    v1::SessionRef s;
    if (!s.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
    if (s.content_case() == v1::SessionRef::CONTENT_NOT_SET) return 0;
    const SessionContent c = FromProto(s);
    const bool first = ValidateSessionContent(c, limits).ok();
    if (first != ValidateSessionContent(c, limits).ok()) __builtin_trap();
    (void)TypeOf(c);
  } else {
    v1::Template t;
    if (!t.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
    absl::StatusOr<MessageTemplate> mt = FromProto(t);
    if (!mt.ok()) return 0;
    (void)ValidateTemplate(*mt, limits, {"stop", "unsubscribe"});
    (void)CountVariables(mt->body);
  }
  (void)CharacterCount(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
