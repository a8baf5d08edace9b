#include "server/proto_convert.h"

#include "absl/strings/str_cat.h"

namespace wapolicy {

absl::StatusOr<PhoneNumber> ParsePhoneField(absl::string_view field, absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  absl::StatusOr<PhoneNumber> n = PhoneNumber::Parse(text);
  if (!n.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ": ", n.status().message()));
  return n;
}

absl::StatusOr<OutgoingMessage> FromProto(const v1::CheckRequest& req, absl::string_view prefix) {
  OutgoingMessage m;
  auto bn = ParsePhoneField(absl::StrCat(prefix, "business_number"), req.business_number());
  if (!bn.ok()) return bn.status();
  auto c = ParsePhoneField(absl::StrCat(prefix, "customer"), req.customer());
  if (!c.ok()) return c.status();
  m.business_number = *bn;
  m.customer = *c;
  m.dry_run = req.dry_run();
  switch (req.message_case()) {
    case v1::CheckRequest::kTemplateMessage: {
      const v1::TemplateRef& t = req.template_message();
      if (t.name().empty() || t.name().size() > 512) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, "template_message.name must be 1 to 512 characters"));
      }
      if (t.language().empty() || t.language().size() > 16) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, "template_message.language must be 1 to 16 characters"));
      }
      m.kind = MessageKind::kTemplate;
      m.template_name = t.name();
      m.template_language = t.language();
      break;
    }
    case v1::CheckRequest::kSession: {
      const int type = req.session().type();
      if (type <= v1::SESSION_TYPE_UNSPECIFIED || type > v1::MULTI_PRODUCT) {
        return absl::InvalidArgumentError(absl::StrCat(prefix, "session.type: unknown value ", type));
      }
      m.kind = MessageKind::kSession;
      m.session_type = static_cast<SessionType>(type - 1);
      break;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "message: set template_message or session"));
  }
  return m;
}

absl::StatusOr<SignalKind> FromProto(v1::BlockReason r) {
  switch (r) {
    case v1::NO_LONGER_NEEDED: return SignalKind::kBlockNoLongerNeeded;
    case v1::DIDNT_SIGN_UP: return SignalKind::kBlockDidntSignUp;
    case v1::SPAM: return SignalKind::kBlockSpam;
    case v1::OFFENSIVE_MESSAGES: return SignalKind::kBlockOffensive;
    case v1::NO_REASON: return SignalKind::kBlockNoReason;
    default:
      return absl::InvalidArgumentError(absl::StrCat("blocked.reason: unknown value ", static_cast<int>(r)));
  }
}

absl::StatusOr<OptInSource> FromProto(v1::OptInSource s) {
  const int v = static_cast<int>(s);
  if (v < 0 || v >= kOptInSourceCount) {
    return absl::InvalidArgumentError(absl::StrCat("opt_in.source: unknown value ", v));
  }
  return static_cast<OptInSource>(v);
}

absl::StatusOr<MessageTemplate> FromProto(const v1::Template& t) {
  MessageTemplate out;
  if (t.name().empty() || t.name().size() > 512) {
    return absl::InvalidArgumentError("name must be 1 to 512 characters");
  }
  if (t.language().empty() || t.language().size() > 16) {
    return absl::InvalidArgumentError("language must be 1 to 16 characters");
  }
  out.name = t.name();
  out.language = t.language();
  const int cat = t.category(), st = t.status();
  if (cat < v1::MARKETING || cat > v1::AUTHENTICATION) {
    return absl::InvalidArgumentError(absl::StrCat("category: unknown or unset value ", cat));
  }
  if (st < v1::APPROVED || st > v1::DISABLED) {
    return absl::InvalidArgumentError(absl::StrCat("status: unknown or unset value ", st));
  }
  out.category = static_cast<TemplateCategory>(cat - 1);
  out.status = static_cast<TemplateStatus>(st - 1);
  return out;
}

int64_t UnixMillisOrZero(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return 0;
  return absl::ToUnixMillis(t);
}

void ToProto(const Decision& d, const PolicyProfile& profile, v1::Decision* out) {
  out->set_allowed(d.allowed);
  out->set_reason(static_cast<v1::ReasonCode>(static_cast<int>(d.reason) + 1));
  out->set_platform_error_code(PlatformErrorCode(d.reason));
  out->set_detail(d.detail);
  out->set_effect(static_cast<v1::ConversationEffect>(static_cast<int>(d.effect) + 1));
  out->set_limit(d.limit);
  out->set_used(d.used);
  out->set_next_slot_free_unix_ms(UnixMillisOrZero(d.next_slot_free));
  out->set_service_window_ends_unix_ms(UnixMillisOrZero(d.service_window_ends));
  out->set_conversation_ends_unix_ms(UnixMillisOrZero(d.conversation_ends));
  out->set_profile_name(profile.name);
  out->set_profile_revision(profile.revision);
}

void ToProto(const NumberSnapshot& s, const PolicyProfile& profile, v1::NumberState* out) {
  out->set_business_number(s.number.E164());
  out->set_business_id(s.business_id);
  out->set_verified(s.verified);
  out->set_official_business_account(s.official);
  out->set_status(static_cast<v1::NumberStatus>(static_cast<int>(s.status) + 1));
  out->set_flagged(s.flagged);
  out->set_restricted(s.restricted);
  out->set_quality(static_cast<v1::QualityRating>(static_cast<int>(s.quality) + 1));
  out->set_quality_score(s.quality_score);
  v1::SignalCounts* c = out->mutable_signals_7d();
  c->set_no_longer_needed(s.signals_7d[0]);
  c->set_didnt_sign_up(s.signals_7d[1]);
  c->set_spam(s.signals_7d[2]);
  c->set_offensive_messages(s.signals_7d[3]);
  c->set_no_reason(s.signals_7d[4]);
  c->set_reports(s.signals_7d[5]);
  out->set_tier_level(s.level);
  out->set_limit(s.limit);
  out->set_used(s.used);
  out->set_pending(s.pending);
  out->set_unique_customers_7d(s.recent_unique);
  out->set_upgrade_pending(s.pending_level >= 0);
  if (s.pending_level >= 0) {
    out->set_upgrade_limit(s.pending_limit);
    out->set_upgrade_at_unix_ms(UnixMillisOrZero(s.pending_at));
  }
  out->set_flagged_since_unix_ms(UnixMillisOrZero(s.flagged_since));
  out->set_flag_settles_at_unix_ms(UnixMillisOrZero(s.flag_settles_at));
  out->set_next_slot_free_unix_ms(UnixMillisOrZero(s.next_slot_free));
  out->set_per_portfolio_limit(s.limit_scope == LimitScope::kPerPortfolio);
  out->set_profile_name(profile.name);
  out->set_profile_revision(profile.revision);
}

v1::DeliveryOutcome ToProto(DeliveryOutcome o) {
  return static_cast<v1::DeliveryOutcome>(static_cast<int>(o) + 1);
}

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace wapolicy
