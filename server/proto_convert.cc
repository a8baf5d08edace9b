#include "server/proto_convert.h"

#include "absl/strings/str_cat.h"

namespace wapolicy {

absl::StatusOr<PhoneNumber> PhoneNumberCache::Parse(absl::string_view text) {
  // Canonical strings (the usual case) cost less to parse than to look up,
  // and would fill the map with one entry per customer.
  if (std::optional<PhoneNumber> n = PhoneNumber::ParseCanonical(text)) return *n;
  if (auto it = parsed_.find(text); it != parsed_.end()) return it->second;
  absl::StatusOr<PhoneNumber> n = PhoneNumber::Parse(text);
  if (n.ok()) parsed_.emplace(text, *n);
  return n;
}

absl::StatusOr<PhoneNumber> ParsePhoneField(absl::string_view field, absl::string_view text,
                                            absl::string_view prefix, PhoneNumberCache* cache) {
  // The field's name is only put together on the (rare) error path.
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat(prefix, field, " is empty"));
  absl::StatusOr<PhoneNumber> n = cache != nullptr ? cache->Parse(text) : PhoneNumber::Parse(text);
  if (!n.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, field, ": ", n.status().message()));
  }
  return n;
}

absl::StatusOr<OutgoingMessage> FromProto(const v1::CheckRequest& req, absl::string_view prefix,
                                          PhoneNumberCache* cache) {
  OutgoingMessage m;
  auto bn = ParsePhoneField("business_number", req.business_number(), prefix, cache);
  if (!bn.ok()) return bn.status();
  auto c = ParsePhoneField("customer", req.customer(), prefix, cache);
  if (!c.ok()) return c.status();
  m.business_number = *bn;
  m.customer = *c;
  m.dry_run = req.dry_run();
  m.pace = req.pace();
  if (req.message_id().size() > kMaxEventIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "message_id: at most ", kMaxEventIdBytes, " bytes"));
  }
  m.message_id = req.message_id();
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
      if (t.parameters_size() > 100) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, "template_message.parameters: at most 100"));
      }
      for (int i = 0; i < t.parameters_size(); ++i) {
        if (t.parameters(i).size() > 32768) {
          return absl::InvalidArgumentError(
              absl::StrCat(prefix, "template_message.parameters[", i, "]: at most 32 KiB"));
        }
      }
      m.kind = MessageKind::kTemplate;
      m.template_name = t.name();
      m.template_language = t.language();
      m.template_parameters.assign(t.parameters().begin(), t.parameters().end());
      break;
    }
    case v1::CheckRequest::kSession: {
      const v1::SessionRef& ses = req.session();
      int type = ses.type();
      if (ses.content_case() != v1::SessionRef::CONTENT_NOT_SET) {
        m.content = std::make_shared<const SessionContent>(FromProto(ses));
        const int content_type = static_cast<int>(TypeOf(*m.content)) + 1;
        if (type == v1::SESSION_TYPE_UNSPECIFIED) type = content_type;
      }
      if (type <= v1::SESSION_TYPE_UNSPECIFIED || type > v1::MULTI_PRODUCT) {
        return absl::InvalidArgumentError(
            absl::StrCat(prefix, "session.type: unknown value ", type));
      }
      m.kind = MessageKind::kSession;
      m.session_type = static_cast<SessionType>(type - 1);
      m.marketing = ses.marketing();
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
    case v1::NO_LONGER_NEEDED:
      return SignalKind::kBlockNoLongerNeeded;
    case v1::DIDNT_SIGN_UP:
      return SignalKind::kBlockDidntSignUp;
    case v1::SPAM:
      return SignalKind::kBlockSpam;
    case v1::OFFENSIVE_MESSAGES:
      return SignalKind::kBlockOffensive;
    case v1::NO_REASON:
      return SignalKind::kBlockNoReason;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("blocked.reason: unknown value ", static_cast<int>(r)));
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
  out.name = t.name();
  out.language = t.language();
  const int cat = t.category(), st = t.status();
  if (cat < v1::MARKETING || cat > v1::AUTHENTICATION) {
    return absl::InvalidArgumentError(absl::StrCat("category: unknown or unset value ", cat));
  }
  if (st < v1::APPROVED || st > v1::DISABLED) {
    return absl::InvalidArgumentError(absl::StrCat("status: unknown or unset value ", st));
  }
  if (t.header_format() < v1::HEADER_NONE || t.header_format() > v1::HEADER_DOCUMENT) {
    return absl::InvalidArgumentError("header_format: unknown value");
  }
  out.category = static_cast<TemplateCategory>(cat - 1);
  out.status = static_cast<TemplateStatus>(st - 1);
  out.topic = t.topic();
  out.header_format = static_cast<HeaderFormat>(t.header_format());
  out.header_text = t.header_text();
  out.body = t.body();
  out.footer = t.footer();
  if (t.buttons_size() > 64) return absl::InvalidArgumentError("buttons: far too many");
  for (int i = 0; i < t.buttons_size(); ++i) {
    const v1::TemplateButton& b = t.buttons(i);
    if (b.kind() < v1::TemplateButton::QUICK_REPLY || b.kind() > v1::TemplateButton::COPY_CODE) {
      return absl::InvalidArgumentError(absl::StrCat("buttons[", i, "].kind: unknown or unset"));
    }
    out.buttons.push_back(
        {static_cast<TemplateButton::Kind>(b.kind() - 1), b.text(), b.url(), b.phone_number()});
  }
  return out;
}

void ToProto(const MessageTemplate& t, absl::string_view business_id, v1::Template* out) {
  out->set_business_id(std::string(business_id));
  out->set_name(t.name);
  out->set_language(t.language);
  out->set_category(static_cast<v1::TemplateCategory>(static_cast<int>(t.category) + 1));
  out->set_status(static_cast<v1::TemplateStatus>(static_cast<int>(t.status) + 1));
  out->set_topic(t.topic);
  out->set_header_format(static_cast<v1::HeaderFormat>(t.header_format));
  out->set_header_text(t.header_text);
  out->set_body(t.body);
  out->set_footer(t.footer);
  out->set_quality(static_cast<v1::TemplateQuality>(t.quality));
  out->set_red_pauses(t.red_pauses);
  out->set_paused_until_unix_ms(t.paused_until_us / 1000);
  for (const TemplateButton& b : t.buttons) {
    v1::TemplateButton* p = out->add_buttons();
    p->set_kind(static_cast<v1::TemplateButton::Kind>(static_cast<int>(b.kind) + 1));
    p->set_text(b.text);
    p->set_url(b.url);
    p->set_phone_number(b.phone_number);
  }
}

SessionContent FromProto(const v1::SessionRef& s) {
  switch (s.content_case()) {
    case v1::SessionRef::kText:
      return TextContent{s.text().body()};
    case v1::SessionRef::kMedia: {
      const v1::MediaContent& m = s.media();
      const int type = m.type();
      MediaContent out;
      // An unknown media type maps to TEXT, which ValidateMedia refuses by name.
      out.type = type >= v1::IMAGE && type <= v1::STICKER ? static_cast<SessionType>(type - 1)
                                                          : SessionType::kText;
      out.mime_type = m.mime_type();
      out.bytes = m.bytes();
      out.animated = m.animated();
      out.caption = m.caption();
      return out;
    }
    case v1::SessionRef::kList: {
      const v1::ListContent& l = s.list();
      ListMessage out{l.header(), l.body(), l.footer(), l.button(), {}};
      for (const v1::ListSection& sec : l.sections()) {
        ListSection o{sec.title(), {}};
        for (const v1::ListRow& r : sec.rows())
          o.rows.push_back({r.id(), r.title(), r.description()});
        out.sections.push_back(std::move(o));
      }
      return out;
    }
    case v1::SessionRef::kReplyButtons: {
      const v1::ReplyButtonsContent& r = s.reply_buttons();
      ReplyButtonsMessage out;
      const int h = r.header();
      out.header = h >= 0 && h <= 4 ? static_cast<ButtonsHeader>(h) : ButtonsHeader::kOther;
      out.body = r.body();
      out.footer = r.footer();
      for (const v1::ReplyButton& b : r.buttons()) out.buttons.push_back({b.id(), b.label()});
      return out;
    }
    case v1::SessionRef::kProduct:
      return ProductMessage{s.product().catalog_id(), s.product().product_id(), s.product().body()};
    case v1::SessionRef::kMultiProduct: {
      const v1::MultiProductContent& mp = s.multi_product();
      MultiProductMessage out{mp.header(), mp.body(), {}};
      for (const v1::ProductSection& sec : mp.sections()) {
        out.sections.push_back({sec.title(), {sec.product_ids().begin(), sec.product_ids().end()}});
      }
      return out;
    }
    case v1::SessionRef::kContacts:
      return ContactsMessage{s.contacts().contacts()};
    case v1::SessionRef::kLocation:
      return LocationMessage{s.location().latitude(), s.location().longitude()};
    default:
      return TextContent{};
  }
}

int64_t UnixMillisOrZero(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return 0;
  return absl::ToUnixMillis(t);
}

void ToProto(const Decision& d, const PolicyProfile& profile, v1::Decision* out, bool brief) {
  out->set_allowed(d.allowed);
  out->set_reason(static_cast<v1::ReasonCode>(static_cast<int>(d.reason) + 1));
  out->set_platform_error_code(PlatformErrorCode(d.reason));
  // Set only when there is one: an empty string set on an arena still
  // allocates one (with its destructor to run), ~18 ns an answer.
  if (!d.detail.empty()) {
    out->set_detail(d.detail);
  } else {
    out->clear_detail();
  }
  out->set_retry_after_unix_ms(UnixMillisOrZero(d.retry_after));
  out->set_send_at_unix_ms(UnixMillisOrZero(d.send_at));
  if (d.shadow_reason != ReasonCode::kAllowed) {
    out->set_shadow_reason(static_cast<v1::ReasonCode>(static_cast<int>(d.shadow_reason) + 1));
    out->set_shadow_detail(d.shadow_detail);
  }
  if (brief) return;
  out->set_effect(static_cast<v1::ConversationEffect>(static_cast<int>(d.effect) + 1));
  out->set_limit(d.limit);
  out->set_used(d.used);
  out->set_next_slot_free_unix_ms(UnixMillisOrZero(d.next_slot_free));
  out->set_service_window_ends_unix_ms(UnixMillisOrZero(d.service_window_ends));
  out->set_conversation_ends_unix_ms(UnixMillisOrZero(d.conversation_ends));
  out->set_profile_name(profile.name);
  out->set_profile_revision(profile.revision);
}

v1::MessagingTier TierOf(int64_t limit) {
  switch (limit) {
    case 250:
      return v1::TIER_250;
    case 1000:
      return v1::TIER_1K;
    case 2000:
      return v1::TIER_2K;
    case 10000:
      return v1::TIER_10K;
    case 100000:
      return v1::TIER_100K;
    case kUnlimited:
      return v1::TIER_UNLIMITED;
    default:
      return v1::TIER_CUSTOM;
  }
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
  out->set_tier(TierOf(s.limit));
  out->set_used(s.used);
  out->set_pending(s.pending);
  out->set_unique_customers_7d(s.recent_unique);
  out->set_upgrade_pending(s.pending_level >= 0);
  if (s.pending_level >= 0) {
    out->set_upgrade_limit(s.pending_limit);
    out->set_upgrade_tier(TierOf(s.pending_limit));
    out->set_upgrade_at_unix_ms(UnixMillisOrZero(s.pending_at));
  }
  out->set_flagged_since_unix_ms(UnixMillisOrZero(s.flagged_since));
  out->set_flag_settles_at_unix_ms(UnixMillisOrZero(s.flag_settles_at));
  out->set_next_slot_free_unix_ms(UnixMillisOrZero(s.next_slot_free));
  out->set_per_portfolio_limit(s.limit_scope == LimitScope::kPerPortfolio);
  out->set_profile_name(profile.name);
  out->set_profile_revision(profile.revision);
  out->set_estimated_quality(
      static_cast<v1::QualityRating>(static_cast<int>(s.estimated_quality) + 1));
  out->set_estimated_limit(s.estimated_limit);
  if (s.platform.has_quality()) {
    out->set_platform_quality(static_cast<v1::QualityRating>(s.platform.quality + 1));
    out->set_platform_quality_at_unix_ms(s.platform.quality_at_us / 1000);
  }
  if (s.platform_limit.set) {
    out->set_platform_limit(s.platform_limit.limit);
    out->set_platform_limit_at_unix_ms(s.platform_limit.at_us / 1000);
  }
  out->set_throughput_mps(s.platform.throughput_mps);
  out->set_restricted_until_unix_ms(s.platform.restricted_until_us / 1000);
  out->set_disabled(s.platform.disabled);
  out->set_volume_path_customers(s.volume_path_customers);
  out->set_reached_by_volume(s.volume_unlocked);
  out->set_throughput_limit_mps(s.throughput_limit_mps);
  out->set_throughput_used(s.throughput_used);
  out->set_throughput_free_at_unix_ms(UnixMillisOrZero(s.throughput_free_at));
  out->set_pairs_in_burst(s.pairs_in_burst);
  out->set_pairs_held(s.pairs_held);
  out->set_marketing_holds(s.marketing_holds);
  for (const NumberSnapshot::Hold& h : s.first_marketing_holds) {
    v1::MarketingHold* m = out->add_first_marketing_holds();
    m->set_customer(h.customer.E164());
    m->set_until_unix_ms(UnixMillisOrZero(h.until));
  }
  for (const NumberSnapshot::PausedTemplate& t : s.paused_templates) {
    v1::PausedTemplate* p = out->add_paused_templates();
    p->set_name(t.name);
    p->set_language(t.language);
    p->set_until_unix_ms(UnixMillisOrZero(t.until));
    p->set_disabled(t.disabled);
  }
}

absl::StatusOr<EventMeta> EventMetaOf(int64_t occurred_at_unix_ms, const std::string& event_id,
                                      const std::string& message_id) {
  if (occurred_at_unix_ms < 0 || occurred_at_unix_ms > 253402300799999) {
    return absl::InvalidArgumentError("occurred_at_unix_ms: must be a time between 1970 and 9999");
  }
  if (message_id.size() > kMaxEventIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("message_id: at most ", kMaxEventIdBytes, " bytes"));
  }
  return EventMeta{occurred_at_unix_ms * 1000, event_id, message_id};
}

absl::StatusOr<PlatformReport> FromProto(const v1::SyncNumberRequest& r) {
  PlatformReport out;
  if (r.has_messaging_limit()) out.messaging_limit = r.messaging_limit();
  switch (r.quality()) {
    case v1::QUALITY_RATING_UNSPECIFIED:
      break;
    case v1::HIGH:
    case v1::MEDIUM:
    case v1::LOW:
      out.quality = static_cast<QualityRating>(static_cast<int>(r.quality()) - 1);
      break;
    default:
      return absl::InvalidArgumentError("quality: unknown rating");
  }
  if (r.has_flagged()) out.flagged = r.flagged();
  if (r.has_throughput_mps()) out.throughput_mps = r.throughput_mps();
  if (r.has_restricted_until_unix_ms()) {
    if (r.restricted_until_unix_ms() < 0 || r.restricted_until_unix_ms() > 253402300799999) {
      return absl::InvalidArgumentError(
          "restricted_until_unix_ms: must be a time between 1970 and 9999, or 0 to lift");
    }
    out.restricted_until_us = r.restricted_until_unix_ms() * 1000;
  }
  if (r.has_disabled()) out.disabled = r.disabled();
  if (absl::Status s = ValidatePlatformReport(out); !s.ok()) return s;
  return out;
}

v1::DeliveryOutcome ToProto(DeliveryOutcome o) {
  return static_cast<v1::DeliveryOutcome>(static_cast<int>(o) + 1);
}

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace wapolicy
