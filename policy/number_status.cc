#include "policy/number_status.h"

namespace wapolicy {

absl::string_view NumberStatusName(NumberStatus s) {
  switch (s) {
    case NumberStatus::kConnected:
      return "CONNECTED";
    case NumberStatus::kFlagged:
      return "FLAGGED";
    case NumberStatus::kRestricted:
      return "RESTRICTED";
  }
  return "UNKNOWN";
}

}  // namespace wapolicy
