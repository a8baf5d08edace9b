// A std::mutex that Clang's thread-safety analysis can reason about.
//
// The policy core guards its state with `Mutex` and annotates what each one
// guards (`ABSL_GUARDED_BY(mu_)`), in the manner of LevelDB's `port::Mutex`.
// It wraps std::mutex (pthread) rather than using absl::Mutex because Debian's
// prebuilt Abseil is not ThreadSanitizer-instrumented: TSan sees pthread's
// happens-before edges but would not see absl::Mutex's.
//
//   Mutex mu_;
//   int count_ ABSL_GUARDED_BY(mu_);
//   void Add() { MutexLock lock(&mu_); ++count_; }
//
// `MutexLock` may be released early (Unlock) and taken again (Lock), which is
// how the engine leaves its lock before it waits for durability.
#ifndef WAPOLICY_POLICY_INTERNAL_MUTEX_H_
#define WAPOLICY_POLICY_INTERNAL_MUTEX_H_

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace wapolicy {
namespace internal {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // For documentation and the analysis; std::mutex cannot check ownership.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  std::mutex mu_;
};

// Holds `mu` for its scope unless released early.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() {
    if (held_) mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() ABSL_UNLOCK_FUNCTION() {
    held_ = false;
    mu_->Unlock();
  }
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mu_->Lock();
    held_ = true;
  }

 private:
  Mutex* const mu_;
  bool held_ = true;
};

}  // namespace internal
}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_INTERNAL_MUTEX_H_
