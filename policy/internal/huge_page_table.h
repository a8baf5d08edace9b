// The engine's large per-customer tables (consents, conversations, service
// windows, pair rates) as hash maps whose storage, where it spans whole 2 MiB
// pages, is advised into transparent huge pages.
//
// Why: at 10M customers a check's look-ups land on random pages of tables
// of hundreds of MiB. With 4 KiB pages each one also misses the TLB, and the
// page walk's own loads miss the cache; with 2 MiB pages the walk is mostly
// cached. BM_CheckInOpenConversation/10000000 ran ~25% faster (README,
// Performance). Small tables, the common case for a business, are allocated
// as usual, and on a kernel with THP off (or "never") the advice is ignored.
//
//   HugePageTable<uint64_t, Consent> consents;  // An absl::flat_hash_map.
#ifndef WAPOLICY_POLICY_INTERNAL_HUGE_PAGE_TABLE_H_
#define WAPOLICY_POLICY_INTERNAL_HUGE_PAGE_TABLE_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"

namespace wapolicy {
namespace internal {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// The 2 MiB pages wholly inside [p, p + bytes): where huge pages can go
// without backing memory the block does not use (empty if none).
struct HugePageSpan {
  uintptr_t begin = 0, end = 0;
  size_t size() const { return end - begin; }
};
inline HugePageSpan InteriorHugePages(const void* p, size_t bytes) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  const uintptr_t begin = (a + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  const uintptr_t end = (a + bytes) & ~(kHugePageBytes - 1);
  return begin < end ? HugePageSpan{begin, end} : HugePageSpan{};
}

// std::allocator, plus the advice: a block's whole 2 MiB pages are advised
// MADV_HUGEPAGE while the table holds it and given back to the default when
// it is freed (so the allocator's later small objects there do not sit on
// huge pages). Only whole pages inside the block: rounding a 4.1 MiB table
// up to 6 MiB of huge pages would back memory it never uses.
template <typename T>
class HugePageAllocator {
 public:
  using value_type = T;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding.

  T* allocate(size_t n) {
    T* p = std::allocator<T>().allocate(n);
    Advise(p, n * sizeof(T), MADV_HUGEPAGE);
    return p;
  }
  void deallocate(T* p, size_t n) {
    Advise(p, n * sizeof(T), MADV_NOHUGEPAGE);
    std::allocator<T>().deallocate(p, n);
  }

  friend bool operator==(const HugePageAllocator&, const HugePageAllocator&) { return true; }
  friend bool operator!=(const HugePageAllocator&, const HugePageAllocator&) { return false; }

 private:
  static void Advise(const void* p, size_t bytes, int advice) {
    if (bytes < kHugePageBytes) return;
    const HugePageSpan span = InteriorHugePages(p, bytes);
    // Advice only: fails harmlessly where THP is unavailable.
    if (span.size() > 0) (void)madvise(reinterpret_cast<void*>(span.begin), span.size(), advice);
  }
};

template <typename K, typename V>
using HugePageTable = absl::flat_hash_map<K, V, absl::Hash<K>, std::equal_to<K>,
                                          HugePageAllocator<std::pair<const K, V>>>;

}  // namespace internal
}  // namespace wapolicy

#endif  // WAPOLICY_POLICY_INTERNAL_HUGE_PAGE_TABLE_H_
