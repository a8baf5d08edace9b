// JSON into a protobuf message, fast: simdjson's DOM parser, then the
// message filled through reflection, following protobuf's JSON mapping for
// what webhook.proto uses. protobuf's own JsonStringToMessage reads the
// platform's largest webhook body (1,000 statuses, 256 KB) in 4.4 ms of CPU;
// this in 1.1 ms (bench/webhook_parse_bench.cc, -c opt). Tests and the
// fuzzer hold the two to the same message.
//
//   v1::WebhookEnvelope envelope;
//   absl::Status s = JsonToProto(body, &envelope);
//   if (!s.ok()) return s;  // INVALID_ARGUMENT: "entry[0].id: expected a string".
//
// The mapping, as protobuf's with ignore_unknown_fields:
// - keys are a field's proto name or its JSON (lowerCamel) name; unknown
//   keys are skipped, whatever their value;
// - null leaves a field unset (a google.protobuf.Value becomes null_value);
// - integers take a JSON number with an integral value (1767225600,
//   1.5e9) or a string of one ("1767225600"); out of the field's range is an
//   error; floating point takes a number or a numeric string; bool true or
//   false (or, as strings, true/t/yes/y/1, false/f/no/n/0); strings only a JSON string; enums a
//   value's name (unknown names are skipped) or number;
// - a repeated field takes an array, or one value as an array of one; an
//   object sets at most one member of a oneof;
// - google.protobuf.Value, Struct and ListValue take any JSON;
// - at most 100 levels of nesting; the document must be one JSON value
//   (whitespace around it), valid UTF-8.
// Not supported (webhook.proto has none): map fields, bytes, and the
// well-known types other than Value, Struct and ListValue: INVALID_ARGUMENT.
#ifndef WAPOLICY_SERVER_HTTP_WEBHOOK_JSON_H_
#define WAPOLICY_SERVER_HTTP_WEBHOOK_JSON_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace wapolicy {

// Parses `json` into `out` (merged into what it holds). INVALID_ARGUMENT
// naming the field (and where JSON itself is malformed, simdjson's reason);
// `out` may be partly filled then.
absl::Status JsonToProto(absl::string_view json, google::protobuf::Message* out);

}  // namespace wapolicy

#endif  // WAPOLICY_SERVER_HTTP_WEBHOOK_JSON_H_
