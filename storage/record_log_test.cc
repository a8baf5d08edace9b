#include "storage/record_log.h"

#include <stdlib.h>

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace wapolicy {
namespace {

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/record_log_XXXXXX";
  return mkdtemp(tmpl.data());
}

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

TEST(RecordLogTest, AppendGivesConsecutivePositionsReadReturnsThemInOrder) {
  auto log = RecordLog::Open(TempDir(), {});
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->next_position(), 1u);
  ASSERT_EQ(*(*log)->Append({"a", "b"}, kT0), 1u);
  ASSERT_EQ(*(*log)->Append({"c"}, kT0 + absl::Seconds(1)), 3u);
  auto page = (*log)->Read(2, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].position, 2u);
  EXPECT_EQ((*page)[0].value, "b");
  EXPECT_EQ((*page)[1].value, "c");
  EXPECT_EQ((*page)[1].time, kT0 + absl::Seconds(1));
  EXPECT_EQ((*(*log)->Read(1, 1)).size(), 1u);
  auto got = (*log)->Get(3);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "c");
  EXPECT_FALSE((*(*log)->Get(4)).has_value());
}

TEST(RecordLogTest, PositionsAndMarksSurviveReopening) {
  const std::string dir = TempDir();
  {
    auto log = RecordLog::Open(dir, {});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append({"a", "b", "c"}, kT0, {{"cursor/x", "2"}, {"base/1", "v"}}).ok());
    ASSERT_TRUE((*log)->Append({}, kT0, {{"base/1", ""}}).ok());  // Erased.
  }
  auto log = RecordLog::Open(dir, {});
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->next_position(), 4u);
  EXPECT_EQ(**(*log)->GetMark("cursor/x"), "2");
  EXPECT_FALSE((*(*log)->GetMark("base/1")).has_value());
  int marks = 0;
  ASSERT_TRUE((*log)->ForEachMark("cursor/", [&](absl::string_view, absl::string_view) {
                       ++marks;
                     }).ok());
  EXPECT_EQ(marks, 1);
}

TEST(RecordLogTest, SkipToLeavesAGapThatIsNeverGiven) {
  auto log = RecordLog::Open(TempDir(), {});
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append({"a"}, kT0).ok());
  (*log)->SkipTo(100);
  EXPECT_EQ(*(*log)->Append({"b"}, kT0), 100u);
  (*log)->SkipTo(50);  // Never back.
  EXPECT_EQ((*log)->next_position(), 101u);
  auto page = (*log)->Read(2, 10);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].position, 100u);
}

TEST(RecordLogTest, TrimDropsRecordsPastRetentionAndBeyondTheCount) {
  RecordLog::Options o;
  o.retention = absl::Hours(1);
  o.max_records = 3;
  auto log = RecordLog::Open(TempDir(), o);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append({"old1", "old2"}, kT0).ok());
  ASSERT_TRUE((*log)->Append({"new1", "new2"}, kT0 + absl::Minutes(50)).ok());
  // At kT0 + 30 min nothing is old; the count bound drops the first.
  EXPECT_EQ(*(*log)->Trim(kT0 + absl::Minutes(30)), 1);
  EXPECT_EQ((*(*log)->Read(1, 10)).front().value, "old2");
  // Past an hour the first two are old; the later two stay.
  EXPECT_EQ(*(*log)->Trim(kT0 + absl::Minutes(61)), 1);
  auto page = (*log)->Read(1, 10);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].value, "new1");
  EXPECT_EQ(*(*log)->Trim(kT0 + absl::Minutes(61)), 0);
  EXPECT_EQ((*log)->next_position(), 5u);  // Trimming never gives positions again.
}

TEST(RecordLogTest, WaitForWakesWhenARecordIsAppended) {
  auto log = RecordLog::Open(TempDir(), {});
  ASSERT_TRUE(log.ok());
  EXPECT_FALSE((*log)->WaitFor(1, absl::Now() + absl::Milliseconds(10)));
  std::thread writer([&] { ASSERT_TRUE((*log)->Append({"a"}, kT0).ok()); });
  EXPECT_TRUE((*log)->WaitFor(1, absl::Now() + absl::Seconds(30)));
  writer.join();
}

TEST(RecordLogTest, OpenRefusesNonPositiveRetention) {
  RecordLog::Options o;
  o.retention = absl::ZeroDuration();
  EXPECT_EQ(RecordLog::Open(TempDir(), o).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace wapolicy
