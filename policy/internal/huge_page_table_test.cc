#include "policy/internal/huge_page_table.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace wapolicy {
namespace internal {
namespace {

TEST(HugePageAllocatorTest, AdvisesOnlyTheWholeHugePagesInsideABlock) {
  const uintptr_t page = kHugePageBytes;
  // A block from 1 MiB past a page boundary, 8.5 MiB long: pages 11 to 13 are whole inside.
  HugePageSpan s = InteriorHugePages(reinterpret_cast<void*>(10 * page + page / 2), 4 * page + page / 4);
  EXPECT_EQ(s.begin, 11 * page);
  EXPECT_EQ(s.end, 14 * page);
  // Aligned at both ends: all of it.
  s = InteriorHugePages(reinterpret_cast<void*>(4 * page), 2 * page);
  EXPECT_EQ(s.begin, 4 * page);
  EXPECT_EQ(s.size(), 2 * page);
  // Under a page, or straddling a boundary without a whole page: nothing.
  EXPECT_EQ(InteriorHugePages(reinterpret_cast<void*>(4 * page + 4096), page).size(), 0u);
  EXPECT_EQ(InteriorHugePages(reinterpret_cast<void*>(4 * page + page / 2), page).size(), 0u);
}

TEST(HugePageAllocatorTest, LargeAndSmallBlocksAreUsableAndFreed) {
  HugePageAllocator<uint64_t> alloc;
  const size_t large = 3 * kHugePageBytes / sizeof(uint64_t) + 3;
  uint64_t* p = alloc.allocate(large);
  for (size_t i = 0; i < large; i += 512) p[i] = i;
  p[large - 1] = 2;
  EXPECT_EQ(p[512], 512u);
  alloc.deallocate(p, large);
  uint64_t* small = alloc.allocate(16);
  small[15] = 3;
  alloc.deallocate(small, 16);
}

TEST(HugePageTableTest, AMapThatOutgrowsOnePageKeepsEveryEntry) {
  HugePageTable<uint64_t, uint64_t> table;
  constexpr uint64_t kEntries = 300000;  // Its slots pass 2 MiB as it grows.
  for (uint64_t i = 0; i < kEntries; ++i) table[i * 7919] = i;
  ASSERT_EQ(table.size(), kEntries);
  for (uint64_t i = 0; i < kEntries; ++i) {
    auto it = table.find(i * 7919);
    ASSERT_NE(it, table.end()) << i;
    EXPECT_EQ(it->second, i);
  }
  for (uint64_t i = 0; i < kEntries; i += 2) table.erase(i * 7919);
  EXPECT_EQ(table.size(), kEntries / 2);
  EXPECT_EQ(table.count(7919), 1u);
  EXPECT_EQ(table.count(0), 0u);
}

}  // namespace
}  // namespace internal
}  // namespace wapolicy
