#include "policy/consent.h"

namespace wapolicy {

const std::vector<int64_t>& SendHistory::Empty() {
  static const std::vector<int64_t>* const empty = new std::vector<int64_t>();
  return *empty;
}

absl::string_view OptInSourceName(OptInSource s) {
  switch (s) {
    case OptInSource::kUnspecified: return "UNSPECIFIED";
    case OptInSource::kSms: return "SMS";
    case OptInSource::kMissedCall: return "MISSED_CALL";
    case OptInSource::kWebsite: return "WEBSITE";
    case OptInSource::kInApp: return "IN_APP";
    case OptInSource::kIvr: return "IVR";
    case OptInSource::kEmail: return "EMAIL";
    case OptInSource::kWhatsAppThread: return "WHATSAPP_THREAD";
  }
  return "UNKNOWN";
}

}  // namespace wapolicy
