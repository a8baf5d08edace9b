#include "server/decision_api.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/proto_convert.h"

namespace wapolicy {

void FormatDecisionId(uint64_t id, std::string* out) {
  const absl::AlphaNum digits(id);  // Formats in place.
  out->assign(digits.data(), digits.size());
}

absl::StatusOr<uint64_t> ParseDecisionId(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("decision_id: required");
  uint64_t id = 0;
  bool digits = text.size() <= 20;
  for (char c : text) digits = digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  if (!digits || !absl::SimpleAtoi(text, &id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "decision_id: not a decision log id (the digits Decision.decision_id carries when the "
        "server logs decisions): '",
        absl::CEscape(text.substr(0, 64)), "'"));
  }
  return id;
}

void ToProto(const DecisionRecord& r, PolicyEngine* engine, v1::LoggedDecision* out) {
  v1::Decision* d = out->mutable_decision();
  ToProto(r.decision, engine->profile(), d);
  FormatDecisionId(r.id, d->mutable_decision_id());
  d->set_profile_name(r.profile_name);  // The profile that decided, not today's.
  d->set_profile_revision(r.profile_revision);
  out->set_decided_at_unix_ms(absl::ToUnixMillis(r.time));
  out->set_business_number(r.business_number.E164());
  out->set_customer(r.customer.E164());
  if (r.kind == MessageKind::kTemplate) {
    out->set_template_name(r.template_name);
    out->set_template_language(r.template_language);
    absl::StatusOr<std::string> business = engine->BusinessOf(r.business_number);
    if (business.ok()) {
      absl::StatusOr<MessageTemplate> t =
          engine->GetTemplate(*business, r.template_name, r.template_language);
      if (t.ok()) {
        out->set_template_category(
            static_cast<v1::TemplateCategory>(static_cast<int>(t->category) + 1));
      }
    }
  } else {
    out->set_session_type(static_cast<v1::SessionType>(static_cast<int>(r.session_type) + 1));
  }
  out->set_marketing(r.marketing);
  out->set_dry_run(r.dry_run);
  out->set_pace(r.pace);
  out->set_message_id(r.message_id);
  out->set_written(r.written);
}

grpc::Status GetDecisionFor(const DecisionLog* log, PolicyEngine* engine, const Caller& caller,
                            const v1::GetDecisionRequest& req, v1::LoggedDecision* out,
                            const BusinessRoute* route) {
  absl::StatusOr<uint64_t> id = ParseDecisionId(req.decision_id());
  if (!id.ok()) return ToGrpc(id.status());
  if (log == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "the decision log is off on this server (--decision_log=false)");
  }
  absl::StatusOr<DecisionRecord> r = log->Lookup(*id);
  if (!caller.admin) {
    // A business learns nothing of other businesses' decisions: theirs, and
    // every other NOT_FOUND, get one answer.
    bool theirs = false;
    if (r.ok()) {
      absl::StatusOr<std::string> business = engine->BusinessOf(r->business_number);
      theirs = business.ok() && *business == caller.business_id;
    }
    if ((r.ok() && !theirs) || absl::IsNotFound(r.status())) {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("decision_id ", *id,
                       ": no decision of business ", caller.business_id,
                       "'s numbers with this id in the log (not logged, past the retention, or "
                       "never given)"));
    }
  }
  if (!r.ok()) return ToGrpc(r.status());
  if (route != nullptr) {
    const std::string field = absl::StrCat("decision_id ", *id, "'s business_number");
    if (absl::Status s = route->MatchNumber(caller, field, r->business_number); !s.ok()) {
      return ToGrpc(s);
    }
  }
  ToProto(*r, engine, out);
  return grpc::Status::OK;
}

}  // namespace wapolicy
