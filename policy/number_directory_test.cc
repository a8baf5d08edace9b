#include "policy/number_directory.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace wapolicy {
namespace {

TEST(NumberDirectoryTest, FindsWhatWasInserted) {
  NumberDirectory d(64);
  EXPECT_FALSE(d.Find(14155550100ULL).has_value());
  EXPECT_TRUE(d.Insert(14155550100ULL, 3));
  EXPECT_TRUE(d.Insert(14155550101ULL, 5));
  EXPECT_EQ(d.Find(14155550100ULL), 3u);
  EXPECT_EQ(d.Find(14155550101ULL), 5u);
  EXPECT_FALSE(d.Find(14155550102ULL).has_value());
  EXPECT_EQ(d.size(), 2u);
}

TEST(NumberDirectoryTest, RefusesPastHalfItsCapacity) {
  NumberDirectory d(16);
  int inserted = 0;
  for (uint64_t n = 1; n <= 20; ++n) inserted += d.Insert(10000000000ULL + n, 0);
  EXPECT_EQ(inserted, 8);
  for (uint64_t n = 1; n <= 8; ++n) EXPECT_TRUE(d.Find(10000000000ULL + n).has_value());
}

TEST(NumberDirectoryTest, ErasedNumbersAreGoneAndOthersStayFound) {
  NumberDirectory d(16);
  for (uint64_t n = 1; n <= 8; ++n) ASSERT_TRUE(d.Insert(10000000000ULL + n, n));
  EXPECT_TRUE(d.Erase(10000000003ULL));
  EXPECT_FALSE(d.Erase(10000000003ULL));
  EXPECT_FALSE(d.Erase(10000000099ULL));
  EXPECT_EQ(d.size(), 7u);
  EXPECT_FALSE(d.Find(10000000003ULL).has_value());
  // Probes pass over the tombstone.
  for (uint64_t n = 1; n <= 8; ++n) {
    if (n != 3) EXPECT_EQ(d.Find(10000000000ULL + n), n);
  }
  // The full table takes the number back in its tombstone, again and again.
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(d.Insert(10000000003ULL, 9));
    EXPECT_EQ(d.Find(10000000003ULL), 9u);
    ASSERT_TRUE(d.Erase(10000000003ULL));
  }
  EXPECT_FALSE(d.Insert(10000000050ULL, 1) && d.Insert(10000000051ULL, 1));
}

// Readers never lock; run under --config=tsan too.
TEST(NumberDirectoryTest, ReadersSeeEitherNothingOrTheFinalValue) {
  NumberDirectory d(1 << 12);
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!done) {
      for (uint64_t n = 1; n <= 1000; ++n) {
        auto s = d.Find(20000000000ULL + n);
        if (s.has_value() && *s != n % 7) bad++;
      }
    }
  });
  for (uint64_t n = 1; n <= 1000; ++n) ASSERT_TRUE(d.Insert(20000000000ULL + n, n % 7));
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace wapolicy
