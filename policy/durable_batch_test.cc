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

// Holds AwaitAsync's callbacks until Release says the writes are done.
class HeldJournal : public MemoryJournal {
 public:
  void AwaitAsync(uint64_t ticket, absl::AnyInvocable<void(absl::Status) &&> done) override {
    std::lock_guard<std::mutex> lock(mu_);
    held_.push_back(std::move(done));
    last_ticket_ = ticket;
  }
  void Release(const absl::Status& s) {
    std::vector<absl::AnyInvocable<void(absl::Status) &&>> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    for (auto& d : held) std::move(d)(s);
  }
  size_t held() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }

 private:
  std::mutex mu_;
  std::vector<absl::AnyInvocable<void(absl::Status) &&>> held_;
  uint64_t last_ticket_ = 0;
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

class DurableBatchAsyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(engine_.UpsertBusiness("acme", true, false).ok());
    ASSERT_TRUE(engine_.RegisterNumber(kBiz, "acme").ok());
    ASSERT_TRUE(engine_
                    .PutTemplate("acme", {"t", "en", TemplateCategory::kUtility,
                                          TemplateStatus::kApproved})
                    .ok());
    ASSERT_TRUE(engine_.RecordOptIn(kBiz, Customer(1), OptInSource::kSms).ok());
  }
  ManualClock clock_{absl::FromUnixSeconds(1767225600)};
  HeldJournal journal_;
  PolicyEngine engine_{DefaultProfile(), &clock_, &journal_, 4};
};

TEST_F(DurableBatchAsyncTest, FinishAsyncAnswersOnlyOnceTheAdmissionIsDurable) {
  int answered = 0;
  absl::Status got = absl::UnknownError("not yet");
  {
    DurableBatch batch;
    absl::StatusOr<Decision> d =
        engine_.Check(OutgoingMessage{kBiz, Customer(1), MessageKind::kTemplate, "t", "en"});
    ASSERT_TRUE(d.ok() && d->allowed);
    batch.FinishAsync([&](absl::Status s) {
      ++answered;
      got = s;
    });
  }  // The batch's end does not wait either.
  EXPECT_EQ(answered, 0) << "the admission's write is not durable yet";
  EXPECT_EQ(journal_.held(), 1u);
  journal_.Release(absl::OkStatus());
  EXPECT_EQ(answered, 1);
  EXPECT_TRUE(got.ok()) << got;
  // A question that writes nothing (a dry run) reads only durable state:
  // answered before FinishAsync returns.
  DurableBatch again;
  OutgoingMessage question{kBiz, Customer(1), MessageKind::kTemplate, "t", "en"};
  question.dry_run = true;
  ASSERT_TRUE(engine_.Check(question)->allowed);
  again.FinishAsync([&](absl::Status s) { answered += s.ok() ? 1 : 100; });
  EXPECT_EQ(answered, 2);
  EXPECT_EQ(journal_.held(), 0u);
}

TEST_F(DurableBatchAsyncTest, AFailedAsyncWriteIsReportedAndTheEngineRefusesAfterIt) {
  absl::Status got;
  {
    DurableBatch batch;
    ASSERT_TRUE(
        engine_.Check(OutgoingMessage{kBiz, Customer(1), MessageKind::kTemplate, "t", "en"})->allowed);
    batch.FinishAsync([&](absl::Status s) { got = s; });
  }
  journal_.Release(absl::InternalError("disk full (simulated)"));
  EXPECT_FALSE(got.ok());
  // The engine holds a change that was never recorded: a repeat that writes
  // nothing must not be answered from it.
  absl::StatusOr<Decision> after =
      engine_.Check(OutgoingMessage{kBiz, Customer(1), MessageKind::kTemplate, "t", "en"});
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable) << after.status();
}

TEST_F(DurableBatchAsyncTest, AnInnerBatchAnswersAtOnceAndLeavesTheWaitToTheOuter) {
  DurableBatch outer;
  bool inner_answered = false;
  {
    DurableBatch inner;
    ASSERT_TRUE(
        engine_.Check(OutgoingMessage{kBiz, Customer(1), MessageKind::kTemplate, "t", "en"})->allowed);
    inner.FinishAsync([&](absl::Status s) { inner_answered = s.ok(); });
  }
  EXPECT_TRUE(inner_answered);
  EXPECT_EQ(journal_.held(), 0u);
  bool outer_answered = false;
  outer.FinishAsync([&](absl::Status s) { outer_answered = s.ok(); });
  EXPECT_FALSE(outer_answered);
  journal_.Release(absl::OkStatus());
  EXPECT_TRUE(outer_answered);
}

}  // namespace
}  // namespace wapolicy
