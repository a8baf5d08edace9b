#include "server/business_route.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/proto_convert.h"

namespace wapolicy {

namespace pb = google::protobuf;

// The business-bearing fields of one message type, in field order.
struct BusinessRoute::Plan {
  enum Kind { kBusinessId, kBusinessNumber, kMessage };
  struct Step {
    const pb::FieldDescriptor* field;
    Kind kind;
    const Plan* sub;  // kMessage: the nested type's plan.
  };
  std::vector<Step> steps;
};

namespace {

// A field's name as the API's messages name it: "checks[3].business_number".
using Path = std::vector<std::pair<const pb::FieldDescriptor*, int>>;  // Index -1: singular.

std::string FieldName(const Path& path, const pb::FieldDescriptor* leaf) {
  std::string out;
  for (const auto& [f, i] : path) {
    absl::StrAppend(&out, f->name());
    if (i >= 0) absl::StrAppend(&out, "[", i, "]");
    out += '.';
  }
  absl::StrAppend(&out, leaf->name());
  return out;
}

// Walks `m` along `plan`, calling visit(path, leaf field, value) for every
// business_id and business_number set; stops at the first non-OK.
template <typename Visit>
absl::Status Walk(const pb::Message& m, const BusinessRoute::Plan& plan, Path* path, Visit& visit) {
  const pb::Reflection* r = m.GetReflection();
  std::string scratch;
  for (const auto& step : plan.steps) {
    if (step.kind != BusinessRoute::Plan::kMessage) {
      const std::string& v = r->GetStringReference(m, step.field, &scratch);
      if (v.empty()) continue;  // Unset: the call names it missing, as before.
      if (absl::Status s = visit(*path, step, v); !s.ok()) return s;
      continue;
    }
    if (step.field->is_repeated()) {
      const int n = r->FieldSize(m, step.field);
      for (int i = 0; i < n; ++i) {
        path->emplace_back(step.field, i);
        absl::Status s = Walk(r->GetRepeatedMessage(m, step.field, i), *step.sub, path, visit);
        path->pop_back();
        if (!s.ok()) return s;
      }
    } else if (r->HasField(m, step.field)) {
      path->emplace_back(step.field, -1);
      absl::Status s = Walk(r->GetMessage(m, step.field), *step.sub, path, visit);
      path->pop_back();
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

BusinessRoute::BusinessRoute(const PolicyEngine* engine, Options options)
    : engine_(engine),
      options_(options),
      gate_(options.gate != nullptr ? options.gate : SingleNodeGate::Get()) {}

BusinessRoute::~BusinessRoute() = default;

absl::Status BusinessRoute::Name(std::optional<absl::string_view> header, Caller* caller) const {
  caller->routed_business.clear();
  if (!header) return absl::OkStatus();
  if (absl::Status s = ValidateBusinessId(*header); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kBusinessHeader, ": '", header->substr(0, 80),
                     "' is not a business id (1 to 64 of A-Z a-z 0-9 _ - .)"));
  }
  if (!caller->admin && *header != caller->business_id) {
    return absl::PermissionDeniedError(absl::StrCat(kBusinessHeader, ": '", *header,
                                                    "' but this token is business ",
                                                    caller->business_id, "'s"));
  }
  caller->routed_business = std::string(*header);
  return absl::OkStatus();
}

absl::Status BusinessRoute::Name(const grpc::ServerContextBase& ctx, Caller* caller) const {
  const auto& md = ctx.client_metadata();
  auto [it, end] = md.equal_range(kBusinessHeader);
  if (it == end) return Name(std::nullopt, caller);
  const absl::string_view first(it->second.data(), it->second.size());
  for (auto j = std::next(it); j != end; ++j) {
    if (absl::string_view(j->second.data(), j->second.size()) != first) {
      return absl::InvalidArgumentError(
          absl::StrCat(kBusinessHeader, ": sent twice with different businesses"));
    }
  }
  return Name(first, caller);
}

const BusinessRoute::Plan* BusinessRoute::BuildLocked(const pb::Descriptor* d) const {
  auto [it, fresh] = plans_.try_emplace(d);
  if (!fresh) return it->second.get();  // Built, or being built (a recursive type).
  it->second = std::make_unique<Plan>();
  Plan* plan = it->second.get();  // Stable: the map holds pointers.
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->type() == pb::FieldDescriptor::TYPE_STRING && !f->is_repeated()) {
      if (f->name() == "business_id") plan->steps.push_back({f, Plan::kBusinessId, nullptr});
      if (f->name() == "business_number") {
        plan->steps.push_back({f, Plan::kBusinessNumber, nullptr});
      }
    } else if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE && !f->is_map()) {
      const Plan* sub = BuildLocked(f->message_type());
      if (!sub->steps.empty()) plan->steps.push_back({f, Plan::kMessage, sub});
    }
  }
  return plan;
}

const BusinessRoute::Plan& BusinessRoute::PlanOf(const pb::Descriptor* d) const {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = plans_.find(d);
    if (it != plans_.end()) return *it->second;
  }
  absl::MutexLock lock(&mu_);
  return *BuildLocked(d);
}

absl::Status BusinessRoute::Check(const Caller& caller, const pb::Message& request) const {
  const std::string& named = caller.routed_business;
  if (named.empty()) {
    if (options_.require_header) {
      return absl::InvalidArgumentError(absl::StrCat(
          kBusinessHeader,
          ": required by this server (--require_business_header): name the business the call "
          "is for"));
    }
    if (gate_->ServesAll()) return absl::OkStatus();  // A single node: nothing to look up.
  } else if (absl::Status s = gate_->MayServe(named); !s.ok()) {
    return s;
  }
  const Plan& plan = PlanOf(request.GetDescriptor());
  if (plan.steps.empty()) return absl::OkStatus();
  // A batch names few numbers many times: each looked up once.
  absl::flat_hash_map<std::string, std::string> owners;  // Number text -> business ("": none).
  absl::flat_hash_set<std::string> gated;                // Without a header: consulted.
  auto owner_of = [&](const std::string& text) -> const std::string& {
    auto [it, fresh] = owners.try_emplace(text);
    if (fresh && engine_ != nullptr) {
      absl::StatusOr<PhoneNumber> n = PhoneNumber::Parse(text);
      if (n.ok()) {
        absl::StatusOr<std::string> b = engine_->BusinessOf(*n);
        if (b.ok()) it->second = *std::move(b);
      }
    }
    return it->second;
  };
  auto visit = [&](const Path& path, const Plan::Step& step,
                   const std::string& value) -> absl::Status {
    const bool is_number = step.kind == Plan::kBusinessNumber;
    if (named.empty()) {  // No header: the gate's word on each business named.
      const std::string& business = is_number ? owner_of(value) : value;
      if (business.empty() || !gated.insert(business).second) return absl::OkStatus();
      return gate_->MayServe(business);
    }
    if (!is_number) {
      if (value == named) return absl::OkStatus();
      return absl::InvalidArgumentError(absl::StrCat(kBusinessHeader, ": '", named, "' but ",
                                                     FieldName(path, step.field), " is '",
                                                     value.substr(0, 80), "'"));
    }
    // A business token's numbers are judged by its own rule (PERMISSION_DENIED,
    // naming no other business); unknown numbers by the call.
    if (!caller.admin) return absl::OkStatus();
    const std::string& owner = owner_of(value);
    if (owner.empty() || owner == named) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(kBusinessHeader, ": '", named, "' but ",
                                                   FieldName(path, step.field), " ", value,
                                                   " belongs to '", owner, "'"));
  };
  Path path;
  return Walk(request, plan, &path, visit);
}

absl::Status BusinessRoute::MatchNumber(const Caller& caller, absl::string_view field,
                                        PhoneNumber number) const {
  if (caller.routed_business.empty() || !caller.admin || engine_ == nullptr) {
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> owner = engine_->BusinessOf(number);
  if (!owner.ok() || *owner == caller.routed_business) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(kBusinessHeader, ": '", caller.routed_business,
                                                 "' but ", field, " ", number.E164(),
                                                 " belongs to '", *owner, "'"));
}

absl::StatusOr<Caller> BusinessRoute::ListScope(const Caller& caller) const {
  if (caller.routed_business.empty()) return caller;
  if (absl::Status s = gate_->MayServe(caller.routed_business); !s.ok()) return s;
  Caller c;
  c.admin = false;
  c.business_id = caller.routed_business;
  c.routed_business = caller.routed_business;
  return c;
}

grpc::Status BusinessRoute::Refuse(grpc::ServerContextBase* ctx, const absl::Status& s) {
  if (ctx != nullptr) {
    if (std::optional<std::string> owner = OwnerAddressOf(s)) {
      ctx->AddTrailingMetadata(kOwnerTrailer, *owner);
    }
    if (std::optional<absl::Duration> wait = RetryAfterOf(s)) {
      ctx->AddTrailingMetadata(kRetryAfterTrailer, absl::StrCat(absl::ToInt64Milliseconds(*wait)));
    }
  }
  return ToGrpc(s);
}

}  // namespace wapolicy
