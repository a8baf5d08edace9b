#include "policy/consent.h"

namespace wapolicy {

const std::vector<int64_t>& SendHistory::Empty() {
  static const std::vector<int64_t>* const empty = new std::vector<int64_t>();
  return *empty;
}

bool OptIn(Consent& c, OptInSource source, TopicSet topics, int64_t at_us) {
  if (at_us < c.changed_at_us) return false;
  c.state = Consent::State::kOptedIn;
  c.source = source;
  c.topics = topics;
  c.changed_at_us = at_us;
  return true;
}

bool OptOut(Consent& c, int64_t at_us) {
  if (at_us < c.changed_at_us) return false;
  c.state = Consent::State::kOptedOut;
  c.changed_at_us = at_us;
  return true;
}

bool SetMarketingPreference(Consent& c, bool stopped, int64_t at_us) {
  if (at_us < c.recent.marketing_preference_at()) return false;
  if (c.recent.marketing_preference_at() != 0 && c.recent.marketing_stopped() == stopped) {
    return false;  // Said again.
  }
  c.recent.set_marketing_preference(stopped, at_us);
  return true;
}

absl::string_view OptInSourceName(OptInSource s) {
  switch (s) {
    case OptInSource::kUnspecified:
      return "UNSPECIFIED";
    case OptInSource::kSms:
      return "SMS";
    case OptInSource::kMissedCall:
      return "MISSED_CALL";
    case OptInSource::kWebsite:
      return "WEBSITE";
    case OptInSource::kInApp:
      return "IN_APP";
    case OptInSource::kIvr:
      return "IVR";
    case OptInSource::kEmail:
      return "EMAIL";
    case OptInSource::kWhatsAppThread:
      return "WHATSAPP_THREAD";
  }
  return "UNKNOWN";
}

}  // namespace wapolicy
