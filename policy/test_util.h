#ifndef WAPOLICY_POLICY_TEST_UTIL_H_
#define WAPOLICY_POLICY_TEST_UTIL_H_

#include <map>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "policy/phone_number.h"
#include "policy/state_journal.h"

namespace wapolicy {

// Parses a number known to be valid (tests only).
inline PhoneNumber Num(absl::string_view s) { return PhoneNumber::Parse(s).value(); }

// A StateJournal held in memory: the latest value of every record, and a
// switch to make commits fail.
class MemoryJournal : public StateJournal {
 public:
  uint64_t Append(StateChanges changes) override {
    if (fail_) {
      failed_ = true;
      return ++appended_;
    }
    ++commits_;
    for (const StateChange& c : changes) {
      auto key = std::make_pair(static_cast<int>(c.family), std::string(View(c.key)));
      if (c.erase) {
        records_.erase(key);
      } else {
        records_[key] = std::string(View(c.value));
      }
    }
    return ++appended_;
  }
  absl::Status Await(uint64_t) override {
    return failed_ ? absl::InternalError("disk full (simulated)") : absl::OkStatus();
  }
  // Every record, in StateFamily order (the order Restore needs).
  const std::map<std::pair<int, std::string>, std::string>& records() const { return records_; }
  void set_fail(bool f) { fail_ = f; }
  int commits() const { return commits_; }

 private:
  std::map<std::pair<int, std::string>, std::string> records_;
  bool fail_ = false;
  bool failed_ = false;  // Sticky, like a real journal.
  uint64_t appended_ = 0;
  int commits_ = 0;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_TEST_UTIL_H_
