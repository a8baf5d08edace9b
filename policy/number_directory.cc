#include "policy/number_directory.h"

#include "absl/hash/hash.h"

namespace wapolicy {

NumberDirectory::NumberDirectory(size_t capacity) {
  size_t n = 16;
  while (n < capacity) n <<= 1;
  slots_ = std::make_unique<Slot[]>(n);
  mask_ = n - 1;
}

size_t NumberDirectory::Home(uint64_t number) const {
  return absl::Hash<uint64_t>()(number) & mask_;
}

bool NumberDirectory::Insert(uint64_t number, uint32_t shard) {
  Slot* reuse = nullptr;  // The first tombstone on the probe path.
  for (size_t i = Home(number);; i = (i + 1) & mask_) {
    const uint64_t k = slots_[i].key.load(std::memory_order_relaxed);
    if (k == number) {
      slots_[i].shard.store(shard, std::memory_order_release);
      return true;
    }
    if (k == kTombstone && reuse == nullptr) reuse = &slots_[i];
    if (k == 0) {
      Slot* slot = reuse;
      if (slot == nullptr) {
        if (2 * (used_ + 1) > mask_ + 1) return false;  // Keep probes short.
        slot = &slots_[i];
        ++used_;
      }
      slot->shard.store(shard, std::memory_order_relaxed);
      slot->key.store(number, std::memory_order_release);  // Publishes the shard.
      ++size_;
      return true;
    }
  }
}

bool NumberDirectory::Erase(uint64_t number) {
  for (size_t i = Home(number);; i = (i + 1) & mask_) {
    const uint64_t k = slots_[i].key.load(std::memory_order_relaxed);
    if (k == number) {
      slots_[i].key.store(kTombstone, std::memory_order_release);
      --size_;
      return true;
    }
    if (k == 0) return false;
  }
}

std::optional<uint32_t> NumberDirectory::Find(uint64_t number) const {
  for (size_t i = Home(number);; i = (i + 1) & mask_) {
    const uint64_t k = slots_[i].key.load(std::memory_order_acquire);
    if (k == number) return slots_[i].shard.load(std::memory_order_acquire);
    if (k == 0) return std::nullopt;
  }
}

}  // namespace wapolicy
