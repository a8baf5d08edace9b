#include "cluster/etcd_client.h"

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cluster/testing/etcd_process.h"
#include "cluster/testing/loopback.h"
#include "gtest/gtest.h"

namespace wapolicy::cluster {
namespace {

using testing::EtcdProcess;
using testing::MakeTempDir;

// Polls `done` until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

class EtcdClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status s = etcd_.Start();
    ASSERT_TRUE(s.ok()) << s;
  }

  EtcdProcess etcd_{MakeTempDir("etcd")};
};

TEST_F(EtcdClientTest, PutGetAndRevisions) {
  EtcdClient client(etcd_.endpoint());
  absl::StatusOr<int64_t> r1 = client.Put("/p/a", "1");
  ASSERT_TRUE(r1.ok()) << r1.status();
  absl::StatusOr<int64_t> r2 = client.Put("/p/b", "2");
  ASSERT_TRUE(r2.ok());
  ASSERT_TRUE(client.Put("/q", "x").ok());
  EXPECT_EQ(*r2, *r1 + 1);

  absl::StatusOr<EtcdRange> a = client.Get("/p/a");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->kvs.size(), 1u);
  EXPECT_EQ(a->kvs[0].value, "1");
  EXPECT_EQ(a->kvs[0].create_revision, *r1);
  EXPECT_EQ(a->kvs[0].mod_revision, *r1);
  EXPECT_EQ(a->revision, *r2 + 1);

  absl::StatusOr<EtcdRange> p = client.GetPrefix("/p/");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->kvs.size(), 2u);
  EXPECT_EQ(p->kvs[1].key, "/p/b");

  ASSERT_TRUE(client.Delete("/p/a").ok());
  EXPECT_TRUE(client.Get("/p/a")->kvs.empty());
  EXPECT_EQ(EtcdClient::PrefixEnd("/p/"), "/p0");
  EXPECT_EQ(EtcdClient::PrefixEnd("a\xff"), "b");
}

TEST_F(EtcdClientTest, GuardedTransactions) {
  EtcdClient client(etcd_.endpoint());
  // 0 guards "absent": the first create wins, the second is stale.
  absl::StatusOr<EtcdTxnResult> created = client.PutIf("/k", "v1", 0);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->succeeded);
  EXPECT_FALSE(client.PutIf("/k", "v2", 0)->succeeded);
  const int64_t rev = client.Get("/k")->kvs[0].mod_revision;
  EXPECT_EQ(rev, created->revision);
  EXPECT_TRUE(client.PutIf("/k", "v2", rev)->succeeded);
  EXPECT_FALSE(client.PutIf("/k", "v3", rev)->succeeded);  // Stale now.
  EXPECT_EQ(client.Get("/k")->kvs[0].value, "v2");
  EXPECT_FALSE(client.DeleteIf("/k", rev)->succeeded);
  EXPECT_TRUE(client.DeleteIf("/k", client.Get("/k")->kvs[0].mod_revision)->succeeded);
  EXPECT_TRUE(client.Get("/k")->kvs.empty());

  // Several guards and writes in one transaction: all or nothing.
  ASSERT_TRUE(client.Put("/a", "1").ok());
  const int64_t a_rev = client.Get("/a")->kvs[0].mod_revision;
  EXPECT_FALSE(client.Txn({{"/a", a_rev}, {"/b", 5}},
                          {EtcdWrite::Put("/b", "x"), EtcdWrite::Delete("/a")})
                   ->succeeded);
  EXPECT_EQ(client.GetPrefix("/a")->kvs.size(), 1u);
  EXPECT_TRUE(client.Txn({{"/a", a_rev}, {"/b", 0}},
                         {EtcdWrite::Put("/b", "x"), EtcdWrite::Delete("/a")})
                  ->succeeded);
  EXPECT_TRUE(client.Get("/a")->kvs.empty());
  EXPECT_EQ(client.Get("/b")->kvs[0].value, "x");
}

TEST_F(EtcdClientTest, CallsFailWithinTheirDeadlineWhenEtcdIsDown) {
  EtcdClient client(etcd_.endpoint(), {.call_timeout = absl::Milliseconds(500)});
  etcd_.Stop();
  const absl::Time start = absl::Now();
  EXPECT_FALSE(client.Get("/x").ok());
  EXPECT_FALSE(client.Put("/x", "1").ok());
  EXPECT_FALSE(client.GrantLease(absl::Seconds(2)).ok());
  // Generous bound: these fail fast or at their deadline, never hang.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(EtcdClientTest, KeepAliveHoldsTheLeaseAndItsKeys) {
  EtcdClient client(etcd_.endpoint());
  absl::StatusOr<EtcdLease> lease = client.GrantLease(absl::Seconds(2));
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(lease->ttl, absl::Seconds(2));
  ASSERT_TRUE(client.Put("/leased", "x", lease->id).ok());
  std::atomic<bool> lost{false};
  auto keeper = client.KeepAlive(*lease, [&](absl::Status) { lost = true; });
  // Twice the ttl: without the refreshes etcd would have dropped the key.
  absl::SleepFor(absl::Seconds(4));
  EXPECT_TRUE(keeper->alive());
  EXPECT_FALSE(lost);
  ASSERT_EQ(client.Get("/leased")->kvs.size(), 1u);
  EXPECT_EQ(client.Get("/leased")->kvs[0].lease, lease->id);
  // Without the keeper, the key goes with the lease.
  keeper.reset();
  EXPECT_TRUE(Eventually([&] { return client.Get("/leased")->kvs.empty(); }));
}

TEST_F(EtcdClientTest, KeepAliveReportsARevokedLease) {
  EtcdClient client(etcd_.endpoint());
  absl::StatusOr<EtcdLease> lease = client.GrantLease(absl::Seconds(2));
  ASSERT_TRUE(lease.ok());
  absl::Mutex mu;
  absl::Status why;
  bool lost = false;
  auto keeper = client.KeepAlive(*lease, [&](absl::Status s) {
    absl::MutexLock lock(&mu);
    why = s;
    lost = true;
  });
  ASSERT_TRUE(client.RevokeLease(lease->id).ok());
  absl::MutexLock lock(&mu);
  EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&lost), absl::Seconds(10)));
  EXPECT_EQ(why.code(), absl::StatusCode::kNotFound) << why;
  EXPECT_FALSE(keeper->alive());
}

TEST_F(EtcdClientTest, KeepAliveReportsLossWithinTheTtlWhenEtcdIsDown) {
  EtcdClient client(etcd_.endpoint());
  absl::StatusOr<EtcdLease> lease = client.GrantLease(absl::Seconds(2));
  ASSERT_TRUE(lease.ok());
  std::atomic<bool> lost{false};
  auto keeper = client.KeepAlive(*lease, [&](absl::Status) { lost = true; });
  ASSERT_TRUE(Eventually([&] { return keeper->alive(); }));
  etcd_.Stop();
  const absl::Time stopped = absl::Now();
  // alive() turns false by the clock, at the latest a ttl after the last
  // confirmed refresh, which was before the stop.
  ASSERT_TRUE(Eventually([&] { return !keeper->alive(); }, absl::Seconds(10)));
  EXPECT_LE(absl::Now() - stopped, absl::Seconds(2) + absl::Milliseconds(500));
  EXPECT_TRUE(Eventually([&] { return lost.load(); }));
}

// Collects a watch's updates.
class Recorder {
 public:
  void operator()(const EtcdWatchUpdate& u) {
    absl::MutexLock lock(&mu_);
    if (u.reset) {
      ++resets_;
      for (const EtcdKeyValue& kv : u.snapshot) seen_.push_back("=" + kv.key + ":" + kv.value);
    }
    for (const EtcdEvent& e : u.events) {
      seen_.push_back((e.is_delete ? "-" : "+") + e.kv.key + (e.is_delete ? "" : ":" + e.kv.value));
    }
    revision_ = u.revision;
  }
  std::vector<std::string> seen() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  bool WaitForCount(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return seen_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(15));
  }
  int resets() const {
    absl::MutexLock lock(&mu_);
    return resets_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> seen_ ABSL_GUARDED_BY(mu_);
  int resets_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t revision_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(EtcdClientTest, WatchDeliversChangesFromARevisionAndAcrossRestarts) {
  EtcdClient client(etcd_.endpoint());
  ASSERT_TRUE(client.Put("/w/a", "1").ok());
  const int64_t from = *client.Put("/w/b", "2");
  ASSERT_TRUE(client.Put("/other", "x").ok());
  ASSERT_TRUE(client.Delete("/w/a").ok());
  Recorder recorder;
  auto watch = client.Watch("/w/", from, std::ref(recorder));
  ASSERT_TRUE(recorder.WaitForCount(2));
  EXPECT_EQ(recorder.seen(), (std::vector<std::string>{"+/w/b:2", "-/w/a"}));

  // etcd goes away and comes back: the watch resumes after the last revision
  // it delivered, nothing repeated, nothing lost.
  etcd_.Stop();
  ASSERT_TRUE(etcd_.Start().ok()) << etcd_.Log();
  ASSERT_TRUE(Eventually([&] { return client.Put("/w/c", "3").ok(); }));
  ASSERT_TRUE(recorder.WaitForCount(3));
  ASSERT_TRUE(client.Put("/w/d", "4").ok());
  ASSERT_TRUE(recorder.WaitForCount(4));
  EXPECT_EQ(recorder.seen(), (std::vector<std::string>{"+/w/b:2", "-/w/a", "+/w/c:3", "+/w/d:4"}));
  EXPECT_EQ(watch->revision(), client.Get("/w/d")->kvs[0].mod_revision);
}

TEST_F(EtcdClientTest, WatchFromACompactedRevisionDeliversASnapshot) {
  EtcdClient client(etcd_.endpoint());
  const int64_t first = *client.Put("/w/a", "1");
  ASSERT_TRUE(client.Put("/w/a", "2").ok());
  const int64_t last = *client.Put("/w/b", "3");
  ASSERT_TRUE(client.Compact(last).ok());
  Recorder recorder;
  auto watch = client.Watch("/w/", first, std::ref(recorder));
  ASSERT_TRUE(recorder.WaitForCount(2));
  EXPECT_EQ(recorder.resets(), 1);
  EXPECT_EQ(recorder.seen(), (std::vector<std::string>{"=/w/a:2", "=/w/b:3"}));
  ASSERT_TRUE(client.Put("/w/c", "4").ok());
  ASSERT_TRUE(recorder.WaitForCount(3));
  EXPECT_EQ(recorder.seen().back(), "+/w/c:4");
}

}  // namespace
}  // namespace wapolicy::cluster
