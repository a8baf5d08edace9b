#include "policy/template_quality.h"

namespace wapolicy {

bool OnTemplateQuality(MessageTemplate& t, TemplateQuality q, int64_t at) {
  if (q == t.quality) return false;
  t.quality = q;
  if (q != TemplateQuality::kRed) return true;
  ++t.red_pauses;
  if (t.red_pauses == 1) {
    t.paused_until_us = at + kFirstPauseUs;
  } else if (t.red_pauses == 2) {
    t.paused_until_us = at + kSecondPauseUs;
  } else {
    t.status = TemplateStatus::kDisabled;  // The third time.
    t.paused_until_us = 0;
  }
  return true;
}

bool LiftPause(MessageTemplate& t, bool reinstate) {
  bool changed = t.paused_until_us != 0;
  t.paused_until_us = 0;
  if (reinstate && t.status == TemplateStatus::kDisabled) {
    t.status = TemplateStatus::kApproved;
    t.red_pauses = 0;
    changed = true;
  }
  return changed;
}

bool ApplyTemplateWord(MessageTemplate& t, const TemplateWord& w, int64_t at) {
  bool changed = false;
  if (w.status && *w.status != t.status) {
    t.status = *w.status;
    if (t.status != TemplateStatus::kApproved) t.paused_until_us = 0;
    changed = true;
  }
  if (w.quality) changed |= OnTemplateQuality(t, *w.quality, at);
  if (w.lift_pause || w.reinstate) changed |= LiftPause(t, w.reinstate);
  return changed;
}

}  // namespace wapolicy
