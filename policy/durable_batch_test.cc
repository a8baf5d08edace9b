#include "policy/durable_batch.h"

#include <atomic>

#include "gtest/gtest.h"
#include "policy/policy_engine.h"
#include "policy/test_util.h"

namespace wapolicy {
namespace {

const PhoneNumber kBiz = Num("+14155550100");
PhoneNumber Customer(int i) { return PhoneNumber::FromDigitsValue(447700000000ULL + i); }

// Counts the waits for durability.
class CountingJournal : public MemoryJournal {
 public:
  absl::Status Await(uint64_t ticket) override {
    ++awaits;
    return MemoryJournal::Await(ticket);
  }
  std::atomic<int> awaits{0};
};

class DurableBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(engine_.UpsertBusiness("acme", true, false).ok());
    ASSERT_TRUE(engine_.RegisterNumber(kBiz, "acme").ok());
    journal_.awaits = 0;
  }
  ManualClock clock_{absl::FromUnixSeconds(1767225600)};
  CountingJournal journal_;
  PolicyEngine engine_{DefaultProfile(), &clock_, &journal_, 4};
};

TEST_F(DurableBatchTest, CallsInsideWaitOnceAtFinishInsteadOfEach) {
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(engine_.RecordOptIn(kBiz, Customer(i), OptInSource::kSms).ok());
  EXPECT_EQ(journal_.awaits, 3) << "outside a batch each call waits";
  journal_.awaits = 0;
  {
    DurableBatch batch;
    for (int i = 10; i < 20; ++i) {
      ASSERT_TRUE(engine_.RecordOptIn(kBiz, Customer(i), OptInSource::kSms).ok());
    }
    EXPECT_EQ(journal_.awaits, 0) << "inside, nothing waits";
    EXPECT_TRUE(batch.Finish().ok());
    EXPECT_EQ(journal_.awaits, 1) << "one wait, for the shard's newest append";
    EXPECT_TRUE(batch.Finish().ok());
    EXPECT_EQ(journal_.awaits, 1);
  }
  // Everything inside was journaled.
  EXPECT_TRUE(engine_.RecordOptIn(kBiz, Customer(99), OptInSource::kSms).ok());
  EXPECT_EQ(journal_.awaits, 2) << "after the batch, calls wait again";
}

TEST_F(DurableBatchTest, AWriteFailureInsideIsReportedByFinish) {
  DurableBatch batch;
  journal_.set_fail(true);
  EXPECT_TRUE(engine_.RecordOptIn(kBiz, Customer(1), OptInSource::kSms).ok())
      << "the call itself does not wait";
  absl::Status s = batch.Finish();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("disk full"), absl::string_view::npos) << s;
}

TEST_F(DurableBatchTest, AnInnerBatchLeavesTheWaitToTheOuter) {
  DurableBatch outer;
  {
    DurableBatch inner;
    ASSERT_TRUE(engine_.RecordOptIn(kBiz, Customer(1), OptInSource::kSms).ok());
    EXPECT_TRUE(inner.Finish().ok());
    EXPECT_EQ(journal_.awaits, 0);
  }
  ASSERT_TRUE(engine_.RecordOptIn(kBiz, Customer(2), OptInSource::kSms).ok());
  EXPECT_EQ(journal_.awaits, 0);
  EXPECT_TRUE(outer.Finish().ok());
  EXPECT_EQ(journal_.awaits, 1);
}

}  // namespace
}  // namespace wapolicy
