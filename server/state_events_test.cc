#include "server/state_events.h"

#include <stdlib.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

std::string TempDir() {
  std::string tmpl = ::testing::TempDir() + "/state_events_XXXXXX";
  return mkdtemp(tmpl.data());
}

class StateEventLogTest : public ::testing::Test {
 protected:
  StateEventLogTest()
      : dir_(TempDir()),
        clock_(absl::FromUnixSeconds(1'800'000'000)),
        engine_(DefaultProfile(), &clock_) {
    EXPECT_TRUE(engine_.UpsertBusiness("acme", true, false).ok());
    EXPECT_TRUE(engine_.UpsertBusiness("other", true, false).ok());
    EXPECT_TRUE(engine_.RegisterNumber(Num("+14155550001"), "acme").ok());
    EXPECT_TRUE(engine_.RegisterNumber(Num("+14155550002"), "other").ok());
    Reopen();
  }
  void Reopen() {
    events_.reset();
    log_.reset();
    log_ = *RecordLog::Open(dir_, {});
    events_ = std::make_unique<StateEventLog>(&engine_, log_.get());
    ASSERT_TRUE(events_->Load().ok());
  }
  std::vector<std::string> KindsFor(const Caller& c) {
    std::vector<std::string> kinds;
    absl::StatusOr<StateEventLog::Page> page = events_->Read(1, 100, c);
    EXPECT_TRUE(page.ok());
    for (const v1::StateEvent& e : page->events) kinds.push_back(e.kind());
    return kinds;
  }

  const std::string dir_;
  ManualClock clock_;
  PolicyEngine engine_;
  std::unique_ptr<RecordLog> log_;
  std::unique_ptr<StateEventLog> events_;
};

TEST_F(StateEventLogTest, HealthyNumbersMakeNoEventsAndAChangeMakesItsEventsOnce) {
  EXPECT_EQ(*events_->Observe(), 0);
  PlatformReport red;
  red.quality = QualityRating::kLow;
  red.flagged = true;
  ASSERT_TRUE(engine_.SyncNumber(Num("+14155550001"), red).ok());
  EXPECT_EQ(*events_->Observe(), 2);
  EXPECT_EQ(*events_->Observe(), 0);  // Told once.
  const Caller admin{true, ""};
  ASSERT_EQ(KindsFor(admin), (std::vector<std::string>{"QUALITY_CHANGED", "FLAGGED"}));
  const v1::StateEvent first = events_->Read(1, 1, admin)->events.at(0);
  EXPECT_EQ(first.position(), 1u);
  EXPECT_EQ(first.business_number(), "+14155550001");
  EXPECT_EQ(first.business_id(), "acme");
  EXPECT_EQ(first.old_value(), "HIGH");
  EXPECT_EQ(first.new_value(), "LOW");
  EXPECT_EQ(first.time_unix_ms(), absl::ToUnixMillis(clock_.Now()));
  EXPECT_EQ(events_->appended(StateEventKind::kFlagged), 1);
}

TEST_F(StateEventLogTest, ABusinessReadsOnlyItsOwnNumbersEvents) {
  PlatformReport restricted;
  restricted.restricted_until_us = absl::ToUnixMicros(clock_.Now() + absl::Hours(2));
  ASSERT_TRUE(engine_.SyncNumber(Num("+14155550002"), restricted).ok());
  ASSERT_EQ(*events_->Observe(), 1);
  EXPECT_EQ(KindsFor({false, "acme"}), std::vector<std::string>{});
  EXPECT_EQ(KindsFor({false, "other"}), std::vector<std::string>{"ACCOUNT_RESTRICTED"});
  // The clock alone lifts it.
  clock_.Advance(absl::Hours(3));
  ASSERT_EQ(*events_->Observe(), 1);
  EXPECT_EQ(KindsFor({false, "other"}),
            (std::vector<std::string>{"ACCOUNT_RESTRICTED", "ACCOUNT_RESTRICTION_LIFTED"}));
}

TEST_F(StateEventLogTest, BaselinesSurviveARestartSoNothingIsRepeated) {
  ASSERT_EQ(*events_->Observe(), 0);  // The first sight: the starting tier is no event.
  PlatformReport limit;
  limit.messaging_limit = 10000;
  ASSERT_TRUE(engine_.SyncNumber(Num("+14155550001"), limit).ok());
  ASSERT_EQ(*events_->Observe(), 1);
  Reopen();
  EXPECT_EQ(*events_->Observe(), 0);
  EXPECT_EQ(events_->next_position(), 2u);
  const auto latest = events_->Latest(10, {true, ""});
  ASSERT_EQ(latest->events.size(), 1u);
  EXPECT_EQ(latest->events[0].kind(), "TIER_CHANGED");
  EXPECT_EQ(latest->events[0].new_value(), "10000");
}

TEST_F(StateEventLogTest, LatestKeepsTheLastN) {
  ASSERT_EQ(*events_->Observe(), 0);
  for (int i = 0; i < 3; ++i) {
    PlatformReport r;
    r.messaging_limit = 10000 * (i + 1);
    ASSERT_TRUE(engine_.SyncNumber(Num("+14155550001"), r, {}).ok());
    clock_.Advance(absl::Seconds(1));
    ASSERT_EQ(*events_->Observe(), 1);
  }
  const auto latest = events_->Latest(2, {true, ""});
  ASSERT_EQ(latest->events.size(), 2u);
  EXPECT_EQ(latest->events[0].new_value(), "20000");
  EXPECT_EQ(latest->events[1].new_value(), "30000");
}

}  // namespace
}  // namespace wapolicy
