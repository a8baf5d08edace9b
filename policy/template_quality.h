// Template quality and pausing, as the platform applies them: a template
// whose quality rating reaches RED is paused for 3 hours the first time, 6
// hours the second, and disabled the third. Sends while it is paused are
// refused (TEMPLATE_PAUSED, 132015, retry_after: the unpause time; they take
// no slot), and while disabled (TEMPLATE_DISABLED, 132016). The platform's
// UNPAUSE lifts a pause; REINSTATED also lifts a disable.
//
//   OnTemplateQuality(t, TemplateQuality::kRed, now);  // First RED: paused 3 h.
//   if (PausedAt(t, now)) Hold(kTemplatePaused, t.paused_until_us);
#ifndef WAPOLICY_POLICY_TEMPLATE_QUALITY_H_
#define WAPOLICY_POLICY_TEMPLATE_QUALITY_H_

#include <cstdint>
#include <optional>

#include "policy/templates.h"

namespace wapolicy {

inline constexpr int64_t kFirstPauseUs = int64_t{3} * 3600 * 1000000;
inline constexpr int64_t kSecondPauseUs = int64_t{6} * 3600 * 1000000;

// The platform rated `t` `q` at `at`. Reaching RED from another rating
// pauses or disables it (a repeated RED changes nothing). Returns whether `t`
// changed.
bool OnTemplateQuality(MessageTemplate& t, TemplateQuality q, int64_t at);

// The platform lifted a pause (UNPAUSE), or reinstated the template
// (REINSTATED: a disabled one is APPROVED again). Returns whether `t` changed.
bool LiftPause(MessageTemplate& t, bool reinstate);

// Everything the platform may say about a template at once (the admin call,
// or its template status / quality webhooks).
struct TemplateWord {
  std::optional<TemplateQuality> quality;
  bool lift_pause = false;  // UNPAUSE.
  bool reinstate = false;   // REINSTATED.
  // Its review status (APPROVED, REJECTED, DISABLED, PENDING): taken as said.
  // A status other than APPROVED ends a pause (the template cannot be sent
  // anyway); the RED count is kept.
  std::optional<TemplateStatus> status;

  bool empty() const { return !quality && !lift_pause && !reinstate && !status; }
};

// Applies `w` to `t` at `at`: the status first, then the quality, then a
// lift. Returns whether `t` changed.
bool ApplyTemplateWord(MessageTemplate& t, const TemplateWord& w, int64_t at);

inline bool PausedAt(const MessageTemplate& t, int64_t now) { return t.paused_until_us > now; }

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_TEMPLATE_QUALITY_H_
