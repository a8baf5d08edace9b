// Which engine shard holds each business phone number: read on every
// decision without a lock, written on registration (and when a business
// portfolio moves in or out of the node).
//
//   NumberDirectory directory(1 << 17);
//   directory.Insert(number.value(), shard_index);
//   std::optional<uint32_t> shard = directory.Find(number.value());
//   directory.Erase(number.value());  // Its business moved to another node.
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
// Fixed capacity. An erased number leaves a tombstone (probes pass over it);
// a later insert reuses the first tombstone on its probe path, so numbers
// moving out and back in take no new slots. A reader racing an erase may
// still find the number, or see the shard of the number that reused its slot:
// the shard looks the number up in its own state, so either answer is safe.
class NumberDirectory {
 public:
  // Holds up to capacity / 2 numbers (capacity is rounded up to a power of two).
  explicit NumberDirectory(size_t capacity = size_t{1} << 17);

  // Records `number` in `shard`. Callers serialise Insert. False if full.
  bool Insert(uint64_t number, uint32_t shard);
  // Forgets `number`. Callers serialise Erase with Insert. False if absent.
  bool Erase(uint64_t number);
  std::optional<uint32_t> Find(uint64_t number) const;
  size_t size() const { return size_; }  // Numbers held (not tombstones).

 private:
  struct Slot {
    std::atomic<uint64_t> key{0};  // 0: empty (no phone number is 0); kTombstone: erased.
    std::atomic<uint32_t> shard{0};
  };
  size_t Home(uint64_t number) const;
  // Not a phone number (E.164 has at most 15 digits).
  static constexpr uint64_t kTombstone = ~uint64_t{0};

  std::unique_ptr<Slot[]> slots_;
  size_t mask_;
  size_t size_ = 0;
  size_t used_ = 0;  // Slots ever taken: numbers and tombstones (bounds probes).
};

}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_NUMBER_DIRECTORY_H_
