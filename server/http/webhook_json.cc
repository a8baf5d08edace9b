#include "server/http/webhook_json.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/struct.pb.h"
#include "simdjson.h"

namespace wapolicy {
namespace {

namespace dom = simdjson::dom;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// simdjson speaks std::string_view; this Abseil has its own string_view.
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// As protobuf's JSON parser: deeper documents are refused, which also
// bounds this parser's recursion.
constexpr int kMaxDepth = 100;

// Errors are built leaf first, as ": why"; each level on the way up puts its
// field name or [index] in front, so the final message reads
// "entry[0].changes[1].value.statuses[0].id: expected a string".
absl::Status Why(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(": ", why));
}
absl::Status Under(absl::string_view segment, const absl::Status& s) {
  const absl::string_view rest = s.message();
  const bool joined = absl::StartsWith(rest, ": ") || absl::StartsWith(rest, "[");
  return absl::InvalidArgumentError(absl::StrCat(segment, joined ? "" : ".", rest));
}
absl::Status UnderIndex(size_t i, const absl::Status& s) {
  return Under(absl::StrCat("[", i, "]"), s);
}

// An integer from a JSON number with an integral value or a string of one,
// within [min, max] (as a signed value, or as unsigned above INT64_MAX when
// max is). Returns the value in `*neg`/`*mag` form folded into int64/uint64.
struct Integer {
  bool negative = false;
  uint64_t magnitude = 0;
};

absl::Status IntegerOf(dom::element v, Integer* out) {
  switch (v.type()) {
    case dom::element_type::INT64: {
      const int64_t i = int64_t(v);
      out->negative = i < 0;
      out->magnitude = i < 0 ? uint64_t{0} - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
      return absl::OkStatus();
    }
    case dom::element_type::UINT64:
      out->negative = false;
      out->magnitude = uint64_t(v);
      return absl::OkStatus();
    case dom::element_type::DOUBLE: {
      const double d = double(v);
      // 2^64 is the first double past uint64; -2^63 is the last in int64.
      if (std::floor(d) != d || d >= 18446744073709551616.0 || d < -9223372036854775808.0) {
        return Why("not an integer in range");
      }
      out->negative = d < 0;
      out->magnitude = d < 0 ? uint64_t{0} - static_cast<uint64_t>(static_cast<int64_t>(d))
                             : static_cast<uint64_t>(d);
      return absl::OkStatus();
    }
    case dom::element_type::STRING: {
      const absl::string_view s = Sv(std::string_view(v));
      int64_t i = 0;
      uint64_t u = 0;
      if (absl::SimpleAtoi(s, &i)) {
        out->negative = i < 0;
        out->magnitude = i < 0 ? uint64_t{0} - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
        return absl::OkStatus();
      }
      if (absl::SimpleAtoi(s, &u)) {
        out->negative = false;
        out->magnitude = u;
        return absl::OkStatus();
      }
      return Why("expected an integer");
    }
    default:
      return Why("expected an integer");
  }
}

absl::Status DoubleOf(dom::element v, double* out) {
  switch (v.type()) {
    case dom::element_type::INT64:
      *out = static_cast<double>(int64_t(v));
      return absl::OkStatus();
    case dom::element_type::UINT64:
      *out = static_cast<double>(uint64_t(v));
      return absl::OkStatus();
    case dom::element_type::DOUBLE:
      *out = double(v);
      return absl::OkStatus();
    case dom::element_type::STRING: {
      const absl::string_view s = Sv(std::string_view(v));
      if (s == "NaN") {
        *out = std::numeric_limits<double>::quiet_NaN();
      } else if (s == "Infinity") {
        *out = std::numeric_limits<double>::infinity();
      } else if (s == "-Infinity") {
        *out = -std::numeric_limits<double>::infinity();
      } else if (!absl::SimpleAtod(s, out) || !std::isfinite(*out)) {
        return Why("expected a number");
      }
      return absl::OkStatus();
    }
    default:
      return Why("expected a number");
  }
}

absl::Status FillMessage(dom::element el, Message* msg, int depth);

// Any JSON as a google.protobuf.Value.
absl::Status FillValue(dom::element el, google::protobuf::Value* v, int depth) {
  if (depth > kMaxDepth) return Why("nested too deeply");
  switch (el.type()) {
    case dom::element_type::NULL_VALUE:
      v->set_null_value(google::protobuf::NULL_VALUE);
      return absl::OkStatus();
    case dom::element_type::BOOL:
      v->set_bool_value(bool(el));
      return absl::OkStatus();
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE: {
      double d = 0;
      absl::Status s = DoubleOf(el, &d);
      if (s.ok()) v->set_number_value(d);
      return s;
    }
    case dom::element_type::STRING:
      v->set_string_value(std::string(std::string_view(el)));
      return absl::OkStatus();
    case dom::element_type::ARRAY: {
      google::protobuf::ListValue* list = v->mutable_list_value();
      size_t i = 0;
      for (dom::element item : dom::array(el)) {
        if (absl::Status s = FillValue(item, list->add_values(), depth + 1); !s.ok()) {
          return UnderIndex(i, s);
        }
        ++i;
      }
      return absl::OkStatus();
    }
    case dom::element_type::OBJECT: {
      google::protobuf::Struct* st = v->mutable_struct_value();
      for (dom::key_value_pair kv : dom::object(el)) {
        google::protobuf::Value& field = (*st->mutable_fields())[std::string(kv.key)];
        field.Clear();  // A repeated key: the last one stands.
        if (absl::Status s = FillValue(kv.value, &field, depth + 1); !s.ok()) {
          return Under(Sv(kv.key), s);
        }
      }
      return absl::OkStatus();
    }
  }
  return Why("unexpected JSON");
}

// One value of `field` (one element when it is repeated) into `msg`.
absl::Status FillOne(dom::element v, Message* msg, const FieldDescriptor* field, int depth) {
  const Reflection* r = msg->GetReflection();
  const bool rep = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      Integer n;
      if (absl::Status s = IntegerOf(v, &n); !s.ok()) return s;
      const auto type = field->cpp_type();
      const bool is_unsigned =
          type == FieldDescriptor::CPPTYPE_UINT32 || type == FieldDescriptor::CPPTYPE_UINT64;
      const uint64_t max = type == FieldDescriptor::CPPTYPE_INT32    ? 0x7fffffffu
                           : type == FieldDescriptor::CPPTYPE_UINT32 ? 0xffffffffu
                           : type == FieldDescriptor::CPPTYPE_INT64  ? 0x7fffffffffffffffu
                                                                     : ~uint64_t{0};
      const uint64_t min_magnitude = is_unsigned                              ? 0
                                     : type == FieldDescriptor::CPPTYPE_INT32 ? 0x80000000u
                                                                              : 0x8000000000000000u;
      if (n.negative ? n.magnitude > min_magnitude : n.magnitude > max) {
        return Why("integer out of range");
      }
      const int64_t signed_value = n.negative ? static_cast<int64_t>(uint64_t{0} - n.magnitude)
                                              : static_cast<int64_t>(n.magnitude);
      switch (type) {
        case FieldDescriptor::CPPTYPE_INT32:
          rep ? r->AddInt32(msg, field, static_cast<int32_t>(signed_value))
              : r->SetInt32(msg, field, static_cast<int32_t>(signed_value));
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          rep ? r->AddInt64(msg, field, signed_value) : r->SetInt64(msg, field, signed_value);
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          rep ? r->AddUInt32(msg, field, static_cast<uint32_t>(n.magnitude))
              : r->SetUInt32(msg, field, static_cast<uint32_t>(n.magnitude));
          break;
        default:
          rep ? r->AddUInt64(msg, field, n.magnitude) : r->SetUInt64(msg, field, n.magnitude);
          break;
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double d = 0;
      if (absl::Status s = DoubleOf(v, &d); !s.ok()) return s;
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        rep ? r->AddDouble(msg, field, d) : r->SetDouble(msg, field, d);
      } else {
        if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max()) {
          return Why("number out of range");
        }
        rep ? r->AddFloat(msg, field, static_cast<float>(d))
            : r->SetFloat(msg, field, static_cast<float>(d));
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool b = false;
      if (v.type() == dom::element_type::BOOL) {
        b = bool(v);
      } else if (v.type() == dom::element_type::STRING &&
                 absl::SimpleAtob(Sv(std::string_view(v)), &b)) {
        // As protobuf: a word as a string too (true/t/yes/y/1, false/f/no/n/0).
      } else {
        return Why("expected true or false");
      }
      rep ? r->AddBool(msg, field, b) : r->SetBool(msg, field, b);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      if (field->type() == FieldDescriptor::TYPE_BYTES) return Why("bytes are not supported");
      if (v.type() != dom::element_type::STRING) return Why("expected a string");
      std::string s{std::string_view(v)};
      rep ? r->AddString(msg, field, std::move(s)) : r->SetString(msg, field, std::move(s));
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      if (v.type() == dom::element_type::STRING) {
        const auto* e = field->enum_type()->FindValueByName(std::string(std::string_view(v)));
        if (e == nullptr) return absl::OkStatus();  // Unknown names are skipped.
        rep ? r->AddEnumValue(msg, field, e->number()) : r->SetEnumValue(msg, field, e->number());
        return absl::OkStatus();
      }
      Integer n;
      if (!IntegerOf(v, &n).ok() || n.magnitude > (n.negative ? 0x80000000u : 0x7fffffffu)) {
        return Why("expected an enum name or number");
      }
      const int value =
          n.negative ? -static_cast<int>(n.magnitude - 1) - 1 : static_cast<int>(n.magnitude);
      rep ? r->AddEnumValue(msg, field, value) : r->SetEnumValue(msg, field, value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message* sub = rep ? r->AddMessage(msg, field) : r->MutableMessage(msg, field);
      return FillMessage(v, sub, depth + 1);
    }
  }
  return Why("unsupported field type");
}

bool IsValue(const Descriptor* d) { return d->full_name() == "google.protobuf.Value"; }

absl::Status FillField(dom::element v, Message* msg, const FieldDescriptor* field, int depth) {
  if (field->is_map()) return Why("map fields are not supported");
  const bool value_field =
      field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && IsValue(field->message_type());
  if (v.type() == dom::element_type::NULL_VALUE) {
    // null: unset, except a Value, which holds it.
    if (value_field && !field->is_repeated()) {
      auto* value =
          dynamic_cast<google::protobuf::Value*>(msg->GetReflection()->MutableMessage(msg, field));
      if (value == nullptr) return Why("unsupported Value");
      value->set_null_value(google::protobuf::NULL_VALUE);
    }
    return absl::OkStatus();
  }
  if (!field->is_repeated()) return FillOne(v, msg, field, depth);
  if (v.type() != dom::element_type::ARRAY) return FillOne(v, msg, field, depth);  // One value.
  size_t i = 0;
  for (dom::element item : dom::array(v)) {
    absl::Status s;
    if (item.type() == dom::element_type::NULL_VALUE && !value_field) {
      s = Why("null in a list");
    } else {
      s = FillOne(item, msg, field, depth);
    }
    if (!s.ok()) return UnderIndex(i, s);
    ++i;
  }
  return absl::OkStatus();
}

absl::Status FillMessage(dom::element el, Message* msg, int depth) {
  if (depth > kMaxDepth) return Why("nested too deeply");
  const Descriptor* d = msg->GetDescriptor();
  if (d->file()->name() == "google/protobuf/struct.proto") {
    if (auto* v = dynamic_cast<google::protobuf::Value*>(msg)) return FillValue(el, v, depth);
    if (auto* st = dynamic_cast<google::protobuf::Struct*>(msg)) {
      if (el.type() != dom::element_type::OBJECT) return Why("expected an object");
      google::protobuf::Value v;
      if (absl::Status s = FillValue(el, &v, depth); !s.ok()) return s;
      st->MergeFrom(v.struct_value());
      return absl::OkStatus();
    }
    if (auto* list = dynamic_cast<google::protobuf::ListValue*>(msg)) {
      if (el.type() != dom::element_type::ARRAY) return Why("expected an array");
      google::protobuf::Value v;
      if (absl::Status s = FillValue(el, &v, depth); !s.ok()) return s;
      list->MergeFrom(v.list_value());
      return absl::OkStatus();
    }
  }
  if (absl::StartsWith(d->full_name(), "google.protobuf.")) {
    return Why(absl::StrCat(d->full_name(), " is not supported"));
  }
  if (el.type() != dom::element_type::OBJECT) return Why("expected an object");
  // As protobuf: one object may set one member of a oneof, once.
  uint64_t oneofs_set = 0;  // By index (a message has far fewer than 64).
  for (dom::key_value_pair kv : dom::object(el)) {
    const std::string key(kv.key);
    const FieldDescriptor* field = d->FindFieldByName(key);
    if (field == nullptr) {
      // The JSON (lowerCamel) name. protobuf 3.21 finds fields by their
      // camel-case name only; it equals the JSON name but for odd names
      // (leading underscores, digits), which the check keeps out.
      field = d->FindFieldByCamelcaseName(key);
      if (field != nullptr && field->json_name() != key) field = nullptr;
    }
    if (field == nullptr) continue;  // Unknown: skipped.
    if (const auto* oneof = field->real_containing_oneof();
        oneof != nullptr && kv.value.type() != dom::element_type::NULL_VALUE) {
      const uint64_t bit = uint64_t{1} << (oneof->index() % 64);
      if ((oneofs_set & bit) != 0) {
        return Under(field->name(), Why(absl::StrCat("oneof ", oneof->name(), " already set")));
      }
      oneofs_set |= bit;
    }
    if (absl::Status s = FillField(kv.value, msg, field, depth); !s.ok()) {
      return Under(field->name(), s);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status JsonToProto(absl::string_view json, google::protobuf::Message* out) {
  // One parser per thread: it keeps its buffers (sized to the largest body
  // seen) from one body to the next.
  thread_local dom::parser parser;
  dom::element root;
  if (const simdjson::error_code err = parser.parse(json.data(), json.size()).get(root)) {
    return absl::InvalidArgumentError(absl::StrCat("not JSON: ", simdjson::error_message(err)));
  }
  absl::Status s = FillMessage(root, out, 0);
  if (s.ok()) return s;
  absl::string_view m = s.message();
  if (absl::StartsWith(m, ": ")) m.remove_prefix(2);  // At the root: no field to name.
  return absl::InvalidArgumentError(m);
}

}  // namespace wapolicy
