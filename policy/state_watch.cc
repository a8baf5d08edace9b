#include "policy/state_watch.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "policy/messaging_tier.h"
#include "policy/policy_profile.h"
#include "proto/wapolicy/state/v1/records.pb.h"

namespace wapolicy {
namespace {

constexpr uint32_t kWatchedFormat = 1;

std::string LimitText(int64_t limit) {
  return limit == kUnlimited ? "unlimited" : absl::StrCat(limit);
}
std::string UsageText(const NumberSnapshot& s) {
  return absl::StrCat(s.used, "/", LimitText(s.limit));
}
std::string TimeText(int64_t us) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMicros(us), absl::UTCTimeZone());
}
std::string TimeText(absl::Time t) { return TimeText(absl::ToUnixMicros(t)); }
absl::string_view QualityText(int q) { return QualityRatingName(static_cast<QualityRating>(q)); }

// The 7-day signals behind an estimate, e.g. "7-day signals: 3 spam, 1 report".
std::string SignalsText(const NumberSnapshot& s) {
  std::vector<std::string> parts;
  for (int k = 0; k < kSignalKindCount; ++k) {
    if (s.signals_7d[k] > 0) {
      parts.push_back(absl::StrCat(s.signals_7d[k], " ", SignalKindName(static_cast<SignalKind>(k))));
    }
  }
  return parts.empty() ? "no blocks or reports in 7 days"
                       : absl::StrCat("7-day signals: ", absl::StrJoin(parts, ", "));
}

int UsageBand(const NumberSnapshot& s) {
  if (s.limit == kUnlimited || s.limit <= 0) return 0;
  if (s.used >= s.limit) return 2;
  return 10 * s.used >= 8 * s.limit ? 1 : 0;
}

}  // namespace

absl::string_view StateEventKindName(StateEventKind k) {
  switch (k) {
    case StateEventKind::kQualityChanged: return "QUALITY_CHANGED";
    case StateEventKind::kFlagged: return "FLAGGED";
    case StateEventKind::kFlagSettled: return "FLAG_SETTLED";
    case StateEventKind::kRestricted: return "RESTRICTED";
    case StateEventKind::kRestrictionLifted: return "RESTRICTION_LIFTED";
    case StateEventKind::kTierChanged: return "TIER_CHANGED";
    case StateEventKind::kUpgradeScheduled: return "UPGRADE_SCHEDULED";
    case StateEventKind::kLimitNearlyUsed: return "LIMIT_80_PERCENT";
    case StateEventKind::kTemplatePaused: return "TEMPLATE_PAUSED";
    case StateEventKind::kTemplateDisabled: return "TEMPLATE_DISABLED";
    case StateEventKind::kTemplateResumed: return "TEMPLATE_RESUMED";
    case StateEventKind::kMarketingHoldStarted: return "MARKETING_HOLD_STARTED";
    case StateEventKind::kMarketingHoldEnded: return "MARKETING_HOLD_ENDED";
    case StateEventKind::kAccountRestricted: return "ACCOUNT_RESTRICTED";
    case StateEventKind::kAccountRestrictionLifted: return "ACCOUNT_RESTRICTION_LIFTED";
  }
  return "UNKNOWN";
}

bool WatchedNumber::operator==(const WatchedNumber& o) const {
  auto tie = [](const WatchedNumber& w) {
    return std::tie(w.status, w.flagged, w.restricted, w.quality, w.level, w.limit,
                    w.pending_level, w.pending_at_us, w.usage_band, w.marketing_held,
                    w.account_restricted, w.account_disabled, w.paused_templates);
  };
  return tie(*this) == tie(o);
}

WatchedNumber WatchOf(const NumberSnapshot& s, int64_t now_us) {
  WatchedNumber w;
  w.status = static_cast<int>(s.status);
  w.flagged = s.flagged;
  w.restricted = s.restricted;
  w.quality = static_cast<int>(s.quality);
  w.level = s.level;
  w.limit = s.limit;
  w.pending_level = s.pending_level;
  w.pending_at_us = s.pending_level >= 0 ? absl::ToUnixMicros(s.pending_at) : 0;
  w.usage_band = UsageBand(s);
  w.marketing_held = s.marketing_holds > 0;
  w.account_restricted = s.platform.restricted_until_us > now_us;
  w.account_disabled = s.platform.disabled;
  for (const NumberSnapshot::PausedTemplate& t : s.paused_templates) {
    w.paused_templates.push_back(absl::StrCat(t.name, "/", t.language, t.disabled ? "|D" : "|P"));
  }
  std::sort(w.paused_templates.begin(), w.paused_templates.end());
  return w;
}

WatchedNumber FreshWatch(const NumberSnapshot& s) {
  WatchedNumber w;
  w.status = static_cast<int>(NumberStatus::kConnected);
  w.quality = static_cast<int>(QualityRating::kHigh);
  w.level = s.level;
  w.limit = s.estimated_limit;
  return w;
}

std::vector<StateEvent> DiffWatched(const WatchedNumber& before, const WatchedNumber& now,
                                    const NumberSnapshot& s) {
  std::vector<StateEvent> out;
  auto add = [&out](StateEventKind k, std::string o, std::string n, std::string reason) {
    out.push_back({k, std::move(o), std::move(n), std::move(reason)});
  };
  const bool platform_rated = s.platform.has_quality() && s.platform.quality == now.quality;
  if (before.quality != now.quality) {
    add(StateEventKind::kQualityChanged, std::string(QualityText(before.quality)),
        std::string(QualityText(now.quality)),
        platform_rated ? absl::StrCat("the platform's rating; ", SignalsText(s)) : SignalsText(s));
  }
  if (!before.flagged && now.flagged) {
    add(StateEventKind::kFlagged, "", "FLAGGED",
        absl::StrCat("quality ", QualityText(now.quality), "; settles by ",
                     TimeText(s.flag_settles_at), "; ", SignalsText(s)));
  } else if (before.flagged && !now.flagged) {
    add(StateEventKind::kFlagSettled, "FLAGGED", "",
        now.level < before.level ? "7 days Flagged: moved down a tier"
                                 : absl::StrCat("quality ", QualityText(now.quality)));
  }
  if (before.limit != now.limit || before.level != now.level) {
    std::string why = now.level > before.level   ? "upgrade"
                      : now.level < before.level ? "downgrade"
                                                 : "the platform's limit";
    if (s.platform_limit.set && s.platform_limit.limit == now.limit) why = "the platform's limit";
    add(StateEventKind::kTierChanged, LimitText(before.limit), LimitText(now.limit), why);
  }
  if (now.pending_level >= 0 &&
      (before.pending_level != now.pending_level || before.pending_at_us != now.pending_at_us)) {
    add(StateEventKind::kUpgradeScheduled, LimitText(now.limit), LimitText(s.pending_limit),
        absl::StrCat(s.recent_unique, " unique customers in 7 days, half the limit; at ",
                     TimeText(now.pending_at_us)));
  }
  if (now.usage_band >= 1 && before.usage_band < 1) {
    add(StateEventKind::kLimitNearlyUsed, "", UsageText(s), "80% of the messaging limit used");
  }
  if (!before.restricted && now.restricted) {
    add(StateEventKind::kRestricted, "", UsageText(s),
        s.next_slot_free == absl::InfiniteFuture()
            ? std::string("100% of the messaging limit used")
            : absl::StrCat("100% of the messaging limit used; next slot frees at ",
                           TimeText(s.next_slot_free)));
  } else if (before.restricted && !now.restricted) {
    add(StateEventKind::kRestrictionLifted, "", UsageText(s),
        now.limit != before.limit ? "a higher limit" : "conversations ended");
  }
  // Templates: by "name/language", paused or disabled.
  auto key = [](const std::string& t) { return t.substr(0, t.size() - 2); };
  auto find = [&key](const std::vector<std::string>& v, const std::string& k) -> const std::string* {
    for (const std::string& t : v) {
      if (key(t) == k) return &t;
    }
    return nullptr;
  };
  for (const std::string& t : now.paused_templates) {
    const std::string* was = find(before.paused_templates, key(t));
    if (was != nullptr && *was == t) continue;
    const bool disabled = t.back() == 'D';
    std::string until;
    for (const NumberSnapshot::PausedTemplate& p : s.paused_templates) {
      if (absl::StrCat(p.name, "/", p.language) == key(t) && p.until != absl::InfinitePast()) {
        until = absl::StrCat("RED rating: paused until ", TimeText(p.until));
      }
    }
    add(disabled ? StateEventKind::kTemplateDisabled : StateEventKind::kTemplatePaused, key(t),
        disabled ? "DISABLED" : "PAUSED",
        until.empty() ? (disabled ? "disabled" : "the platform paused it") : until);
  }
  for (const std::string& t : before.paused_templates) {
    if (find(now.paused_templates, key(t)) == nullptr) {
      add(StateEventKind::kTemplateResumed, key(t), "SENDABLE", "pause ended or lifted");
    }
  }
  if (!before.marketing_held && now.marketing_held) {
    add(StateEventKind::kMarketingHoldStarted, "", absl::StrCat(s.marketing_holds),
        "the platform held marketing to a customer (131049)");
  } else if (before.marketing_held && !now.marketing_held) {
    add(StateEventKind::kMarketingHoldEnded, "", "0", "holds ended");
  }
  const bool was_held = before.account_restricted || before.account_disabled;
  const bool is_held = now.account_restricted || now.account_disabled;
  if (is_held && (!was_held || before.account_disabled != now.account_disabled)) {
    add(StateEventKind::kAccountRestricted, "",
        now.account_disabled ? "DISABLED" : "RESTRICTED",
        now.account_disabled
            ? std::string("the platform disabled the account")
            : absl::StrCat("business-initiated messaging held until ",
                           TimeText(s.platform.restricted_until_us)));
  } else if (was_held && !is_held) {
    add(StateEventKind::kAccountRestrictionLifted, before.account_disabled ? "DISABLED" : "RESTRICTED",
        "", "the platform's restriction ended");
  }
  return out;
}

std::string EncodeWatched(const WatchedNumber& w) {
  state::v1::WatchedNumberValue v;
  v.set_format_version(kWatchedFormat);
  v.set_status(w.status);
  v.set_flagged(w.flagged);
  v.set_restricted(w.restricted);
  v.set_quality(w.quality);
  v.set_level(w.level);
  v.set_limit(w.limit);
  v.set_pending_level(w.pending_level);
  v.set_pending_at_us(w.pending_at_us);
  v.set_usage_band(w.usage_band);
  v.set_marketing_held(w.marketing_held);
  v.set_account_restricted(w.account_restricted);
  v.set_account_disabled(w.account_disabled);
  for (const std::string& t : w.paused_templates) v.add_paused_templates(t);
  return v.SerializeAsString();
}

absl::StatusOr<WatchedNumber> DecodeWatched(absl::string_view bytes) {
  state::v1::WatchedNumberValue v;
  if (!v.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("a watched-number baseline does not parse");
  }
  if (v.format_version() > kWatchedFormat) {
    return absl::DataLossError("a watched-number baseline is of a newer format");
  }
  WatchedNumber w;
  w.status = v.status();
  w.flagged = v.flagged();
  w.restricted = v.restricted();
  w.quality = v.quality();
  w.level = v.level();
  w.limit = v.limit();
  w.pending_level = v.pending_level();
  w.pending_at_us = v.pending_at_us();
  w.usage_band = v.usage_band();
  w.marketing_held = v.marketing_held();
  w.account_restricted = v.account_restricted();
  w.account_disabled = v.account_disabled();
  for (const std::string& t : v.paused_templates()) w.paused_templates.push_back(t);
  return w;
}

}  // namespace wapolicy
