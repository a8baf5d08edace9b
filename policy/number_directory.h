// Which engine shard holds each business phone number: read on every
// decision without a lock, written on registration.
//
//   NumberDirectory directory(1 << 17);
//   directory.Insert(number.value(), shard_index);
//   std::optional<uint32_t> shard = directory.Find(number.value());
#ifndef WAPOLICY_POLICY_NUMBER_DIRECTORY_H_
#define WAPOLICY_POLICY_NUMBER_DIRECTORY_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace wapolicy {

// Which engine shard holds a business phone number. Written rarely (number
// registration, serialised by the caller) and read on every decision without
// a lock: open addressing over atomics, a key published only after its value.
// Fixed capacity; numbers are never removed.
class NumberDirectory {
 public:
  // Holds up to capacity / 2 numbers (capacity is rounded up to a power of two).
  explicit NumberDirectory(size_t capacity = size_t{1} << 17);

  // Records `number` in `shard`. Callers serialise Insert. False if full.
  bool Insert(uint64_t number, uint32_t shard);
  std::optional<uint32_t> Find(uint64_t number) const;
  size_t size() const { return size_; }

 private:
  struct Slot {
    std::atomic<uint64_t> key{0};  // 0: empty (no phone number is 0).
    std::atomic<uint32_t> shard{0};
  };
  size_t Home(uint64_t number) const;

  std::unique_ptr<Slot[]> slots_;
  size_t mask_;
  size_t size_ = 0;
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_NUMBER_DIRECTORY_H_
