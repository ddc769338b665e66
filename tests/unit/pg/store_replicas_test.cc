// Two Stores sharing one PostgreSQL database and one blob folder: what one
// replica writes the other reads at once, an upload session continues on
// the other replica, a session has one writer across both, and the
// database locks exclude across processes and die with their holder.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/digest.h"
#include "cache/leadership.h"
#include "cache/store.h"
#include "tests/unit/cache/test_util.h"
#include "tests/unit/common/test_metadata.h"
#include "tests/unit/common/wait.h"

namespace pier::testing {
namespace {

class StoreReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    metadata_ = FreshPostgresMetadata(&why);
    if (!metadata_ && !PostgresServer::Get().missing().empty()) PIER_MISSING_PEER(why);
    ASSERT_TRUE(static_cast<bool>(metadata_)) << why;
    a_ = Open();
    b_ = Open();
    ASSERT_TRUE(a_ && b_);
  }

  // A replica: the shared records, and blob files in one shared folder (as
  // on a network file system; local files are where an upload's bytes are
  // written, so the folder is the replicas' data folder too).
  std::unique_ptr<Store> Open() {
    Store::Options o;
    o.root = shared_.path();
    o.warm_upload_bytes = 0;
    o.metadata = metadata_;
    auto s = Store::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  TempDir shared_{"pier-shared-blobs"};
  DbOpener metadata_;
  std::unique_ptr<Store> a_, b_;
};

TEST_F(StoreReplicasTest, PushedOnOneReplicaPullsFromTheOther) {
  const Digest m = PushImage(*a_, "team/app", "v1", "config-1", {"layer-one"});
  auto got = b_->GetManifest("team/app", "v1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->digest, m);
  BlobInfo info;
  auto reader = b_->OpenBlobReader("team/app", Sha256Of("layer-one"), &info);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(info.size, std::string("layer-one").size());
  auto tags = b_->ListTags("team/app", "", 10);
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->items, std::vector<std::string>{"v1"});

  // A delete on B is seen by A; the blob stays while another repo links it.
  ASSERT_TRUE(b_->DeleteManifest("team/app", m).ok());
  EXPECT_EQ(a_->GetManifest("team/app", "v1").status().code(), Code::kNotFound);
}

uint64_t UsedBy(Store& s, const std::string& project) {
  auto all = s.ListQuotas();
  EXPECT_TRUE(all.ok()) << all.status().ToString();
  if (!all.ok()) return 0;
  for (const auto& q : *all) {
    if (q.project == project) return q.used;
  }
  return 0;
}

// Project usage and the blob counts are the cluster's, not each replica's:
// both replicas report the same after pushes through either, a limit holds
// against what the other replica pushed, and deletes on one are seen by the
// other.
TEST_F(StoreReplicasTest, UsageAndCountsAreTheClustersAndLimitsHoldAcrossReplicas) {
  ASSERT_TRUE(PushBlob(*a_, "team/one", std::string(1000, 'a')).ok());
  ASSERT_TRUE(PushBlob(*b_, "team/two", std::string(2000, 'b')).ok());
  ASSERT_TRUE(PushBlob(*b_, "team/three", std::string(1000, 'a')).ok());  // the project holds it already
  const Digest m = PushImage(*a_, "team/app", "v1", "config-x", {"layer-x"});
  for (Store* s : {a_.get(), b_.get()}) {
    EXPECT_EQ(UsedBy(*s, "team"), 3000u + 8 + 7 + ImageBytes("config-x", {"layer-x"}).size());
    EXPECT_EQ(s->GetStats().blobs, 4u);
    EXPECT_EQ(s->GetStats().blob_bytes, 3000u + 8 + 7);
  }
  // A limit set through A refuses on B what would pass it, counting A's pushes.
  const uint64_t used = UsedBy(*b_, "team");
  ASSERT_TRUE(a_->SetQuota("team", static_cast<int64_t>(used + 500)).ok());
  // A listing reads the limits afresh (a commit's check uses them up to 5 s
  // old: QuotaBook).
  ASSERT_EQ(UsedBy(*b_, "team"), used);
  auto refused = PushBlob(*b_, "team/two", std::string(600, 'c'));
  EXPECT_EQ(refused.status().code(), Code::kQuotaExceeded) << refused.status().ToString();
  EXPECT_TRUE(PushBlob(*b_, "team/two", std::string(400, 'c')).ok());
  EXPECT_EQ(UsedBy(*a_, "team"), used + 400);
  // Deletes through either replica take the bytes back for both.
  ASSERT_TRUE(b_->DeleteManifest("team/app", m).ok());
  ASSERT_TRUE(a_->DeleteBlob("team/one", Sha256Of(std::string(1000, 'a'))).ok());
  EXPECT_EQ(UsedBy(*b_, "team"), used + 400 - ImageBytes("config-x", {"layer-x"}).size());  // team/three holds 'a'
  ASSERT_TRUE(b_->DeleteBlob("team/three", Sha256Of(std::string(1000, 'a'))).ok());
  EXPECT_EQ(UsedBy(*a_, "team"), used + 400 - ImageBytes("config-x", {"layer-x"}).size() - 1000);
  EXPECT_EQ(a_->GetStats().blobs, 4u);  // 'a' went; config-x, layer-x, 'b', 'c' stay
  EXPECT_EQ(b_->GetStats().blob_bytes, 2000u + 400 + 8 + 7);
}

// Pushes on both replicas at once into one project: the usage both report
// is the exact sum (no lost update between replicas or threads).
TEST_F(StoreReplicasTest, ConcurrentPushesOnBothReplicasAddUpExactly) {
  constexpr int kPerThread = 6;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    Store* s = t % 2 == 0 ? a_.get() : b_.get();
    threads.emplace_back([&, s, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Each blob twice, in two repositories of the project: counted once.
        const std::string blob = "blob-" + std::to_string(t) + "-" + std::to_string(i);
        if (!PushBlob(*s, "team/r" + std::to_string(t), blob).ok()) failures.fetch_add(1);
        if (!PushBlob(*s, "team/shared", blob).ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  uint64_t want = 0;
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < kPerThread; ++i) want += ("blob-" + std::to_string(t) + "-" + std::to_string(i)).size();
  EXPECT_EQ(UsedBy(*a_, "team"), want);
  EXPECT_EQ(UsedBy(*b_, "team"), want);
  EXPECT_EQ(a_->GetStats().blobs, 4u * kPerThread);
  EXPECT_EQ(b_->GetStats().blob_bytes, want);
}

// A database written before the counts were kept (no "counts" rows): the
// first replica to start derives them once from the records.
TEST_F(StoreReplicasTest, CountsAreDerivedOnceForRecordsWrittenWithoutThem) {
  PushImage(*a_, "team/app", "v1", "config-y", {"layer-y", "layer-z"});
  ASSERT_TRUE(PushBlob(*b_, "other/x", "layer-y").ok());
  const uint64_t team = UsedBy(*a_, "team"), other = UsedBy(*a_, "other");
  const Store::Stats before = a_->GetStats();
  ASSERT_GT(team, 0u);
  a_.reset();
  b_.reset();
  {
    auto db = metadata_();
    ASSERT_TRUE(db.ok());
    auto counts = (*db)->ExtraFamily("counts");
    ASSERT_TRUE(counts.ok());
    WriteBatch wipe;
    ASSERT_TRUE((*db)->Scan(*counts, "", "", [&](std::string_view k, std::string_view) {
                       wipe.Delete(*counts, k);
                       return true;
                     }).ok());
    ASSERT_FALSE(wipe.empty());
    ASSERT_TRUE((*db)->Write(wipe).ok());
  }
  a_ = Open();
  ASSERT_TRUE(a_);
  EXPECT_EQ(UsedBy(*a_, "team"), team);
  EXPECT_EQ(UsedBy(*a_, "other"), other);
  EXPECT_EQ(a_->GetStats().blobs, before.blobs);
  EXPECT_EQ(a_->GetStats().blob_bytes, before.blob_bytes);
  // And they are kept from there on.
  ASSERT_TRUE(a_->DeleteBlob("other/x", Sha256Of("layer-y")).ok());
  EXPECT_EQ(UsedBy(*a_, "other"), 0u);
}

// Two GC requests on two replicas at the same moment: one runs, the other
// is refused while it does (and runs once it is over). A's run is held in
// its first log line until B's request has been answered.
TEST_F(StoreReplicasTest, GcRequestsOnTwoReplicasAtOnceGetOneRun) {
  ASSERT_TRUE(PushBlob(*a_, "team/loose", "unreferenced-layer").ok());  // a link nothing references
  std::mutex mu;
  std::condition_variable cv;
  bool a_running = false, b_answered = false;
  GcOptions ga;
  ga.grace_seconds = 0;
  ga.log = [&](const std::string&) {
    std::unique_lock lock(mu);
    a_running = true;
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(20), [&] { return b_answered; });
  };
  Result<GcReport> ra = Status::Internal("not run");
  std::thread ta([&] { ra = a_->CollectGarbage(ga); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return a_running; }));
  }
  GcOptions gb;
  gb.grace_seconds = 0;
  auto rb = b_->CollectGarbage(gb);
  {
    std::lock_guard lock(mu);
    b_answered = true;
    cv.notify_all();
  }
  ta.join();
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  EXPECT_EQ(ra->links_deleted, 1u);
  EXPECT_EQ(ra->blobs_deleted, 1u);
  EXPECT_EQ(rb.status().code(), Code::kFailedPrecondition) << rb.status().ToString();
  // Once A's run is over, B may run (nothing left to collect).
  auto again = b_->CollectGarbage(gb);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->blobs_deleted, 0u);
}

// GC's grace for reads is the cluster's: a blob read through replica B
// within the grace is kept by a GC on replica A (docker HEADs a layer on one
// replica and PUTs the manifest naming it on another), and once the grace
// is past it goes, its read row with it.
TEST_F(StoreReplicasTest, AReadOnOneReplicaProtectsFromGcOnAnother) {
  FakeClock clock;
  auto open = [&] {
    Store::Options o;
    o.root = shared_.path();
    o.warm_upload_bytes = 0;
    o.metadata = metadata_;
    o.clock = &clock;
    o.reads_at_open = false;
    auto s = Store::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  };
  a_.reset();
  b_.reset();
  auto a = open(), b = open();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(PushBlob(*a, "team/x", "read-layer").ok());
  ASSERT_TRUE(PushBlob(*a, "team/y", "unread-layer").ok());
  clock.Advance(std::chrono::seconds(100));
  ASSERT_TRUE(b->StatBlob("team/x", Sha256Of("read-layer")).ok());  // a read on B
  clock.Advance(std::chrono::seconds(10));
  GcOptions gc;
  gc.grace_seconds = 50;  // both links are older; only the read protects
  auto first = a->CollectGarbage(gc);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->blobs_deleted, 1u);
  EXPECT_TRUE(a->BlobStored(Sha256Of("read-layer")));
  EXPECT_FALSE(a->BlobStored(Sha256Of("unread-layer")));
  clock.Advance(std::chrono::seconds(100));
  auto second = a->CollectGarbage(gc);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->blobs_deleted, 1u);
  EXPECT_FALSE(b->BlobStored(Sha256Of("read-layer")));
  auto db = metadata_();
  ASSERT_TRUE(db.ok());
  auto touches = (*db)->ExtraFamily("touches");
  ASSERT_TRUE(touches.ok());
  size_t rows = 0;
  ASSERT_TRUE((*db)->Scan(*touches, "", "", [&](std::string_view, std::string_view) {
                     ++rows;
                     return true;
                   }).ok());
  EXPECT_EQ(rows, 0u);  // GC forgot the read once it protected nothing
}

TEST_F(StoreReplicasTest, AChunkedUploadContinuesOnTheOtherReplica) {
  const std::string first(300 * 1024, 'x'), second(200 * 1024, 'y');
  auto up = a_->StartUpload("team/app");
  ASSERT_TRUE(up.ok());
  {
    auto w = a_->OpenWriter("team/app", up->uuid, 0);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Append(Bytes(first)).ok());
    ASSERT_TRUE((*w)->Flush().ok());
  }
  auto state = b_->GetUpload("team/app", up->uuid);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->offset, first.size());
  auto w = b_->OpenWriter("team/app", up->uuid, first.size());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Append(Bytes(second)).ok());
  auto info = (*w)->Commit(Sha256Of(first + second));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, first.size() + second.size());
  EXPECT_TRUE(a_->StatBlob("team/app", Sha256Of(first + second)).ok());
}

TEST_F(StoreReplicasTest, ASessionHasOneWriterAcrossReplicas) {
  auto up = a_->StartUpload("team/app");
  ASSERT_TRUE(up.ok());
  auto w = a_->OpenWriter("team/app", up->uuid, 0);
  ASSERT_TRUE(w.ok());
  auto other = b_->OpenWriter("team/app", up->uuid, 0);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), Code::kFailedPrecondition) << other.status().ToString();
  EXPECT_EQ(b_->CancelUpload("team/app", up->uuid).code(), Code::kFailedPrecondition);
  w->reset();  // the writer goes: the other replica may write now
  auto again = b_->OpenWriter("team/app", up->uuid, 0);
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

TEST_F(StoreReplicasTest, DatabaseLocksExcludeAcrossProcessesAndDieWithTheirHolder) {
  auto db1 = metadata_();
  auto db2 = metadata_();
  ASSERT_TRUE(db1.ok() && db2.ok());
  EXPECT_TRUE((*db1)->shared());
  auto held = (*db1)->Lock("manifest", "team/app", /*wait=*/false);
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  ASSERT_NE(*held, nullptr);
  EXPECT_EQ((*db2)->Lock("manifest", "team/app", false).status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE((*db2)->Lock("manifest", "team/other", false).ok());  // another key is free
  EXPECT_TRUE((*db2)->Lock("blob", "team/app", false).ok());        // so is another space
  held->reset();
  auto next = (*db2)->Lock("manifest", "team/app", false);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  next->reset();

  // A replica killed while holding a lock (kill -9: no cleanup) releases it:
  // the server ends its session when the socket closes.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto db = metadata_();
    auto lock = db.ok() ? (*db)->Lock("manifest", "team/app", false) : Result<std::unique_ptr<HeldLock>>(db.status());
    const char ok = lock.ok() ? '1' : '0';
    (void)!::write(ready[1], &ok, 1);
    ::pause();  // until killed
    ::_exit(0);
  }
  ::close(ready[1]);
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(ok, '1');
  EXPECT_EQ((*db1)->Lock("manifest", "team/app", false).status().code(), Code::kFailedPrecondition);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  auto after = (*db1)->Lock("manifest", "team/app", /*wait=*/true);
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

// One leader among replicas; a leader that goes (Stop releases its lease)
// or stalls (its lease runs out) is replaced; callbacks say so in order.
TEST_F(StoreReplicasTest, OneReplicaLeadsAndAnotherTakesOver) {
  std::shared_ptr<Store> a(std::move(a_)), b(std::move(b_));
  struct Seen {
    std::mutex mu;
    std::vector<std::string> events;
    void Add(std::string e) {
      std::lock_guard lock(mu);
      events.push_back(std::move(e));
    }
    size_t Count(const std::string& e) {
      std::lock_guard lock(mu);
      return static_cast<size_t>(std::count(events.begin(), events.end(), e));
    }
  };
  auto seen = std::make_shared<Seen>();
  auto options = [&](const std::string& who) {
    Leadership::Options o;
    o.holder = who;
    o.ttl = std::chrono::milliseconds(1500);
    o.tick = std::chrono::milliseconds(100);
    o.on_gain = [seen, who] { seen->Add(who + " gain"); };
    o.on_lose = [seen, who] { seen->Add(who + " lose"); };
    return o;
  };
  Leadership la(a, options("a")), lb(b, options("b"));
  la.Start();
  ASSERT_TRUE(WaitUntil([&] { return la.leader(); }, std::chrono::seconds(10)));
  lb.Start();
  // A window of more than a TTL in which b asks every tick: it never leads
  // while a renews (a negative check: the sleep can only hide a failure).
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_FALSE(lb.leader());
  EXPECT_TRUE(la.leader());
  la.Stop();  // releases the lease: b takes it on its next tick
  EXPECT_FALSE(la.leader());
  ASSERT_TRUE(WaitUntil([&] { return lb.leader(); }, std::chrono::seconds(5)));
  EXPECT_EQ(seen->Count("a gain"), 1u);
  EXPECT_EQ(seen->Count("a lose"), 1u);
  ASSERT_TRUE(WaitUntil([&] { return seen->Count("b gain") == 1; }, std::chrono::seconds(5)));
  lb.Stop();
  EXPECT_EQ(seen->Count("b lose"), 1u);
}

TEST(SingleNodeLeadership, LeadsAtOnceWithoutADatabase) {
  TempDir dir("pier-single");
  Store::Options o;
  o.root = dir.path();
  o.warm_upload_bytes = 0;
  auto opened = Store::Open(o);
  ASSERT_TRUE(opened.ok());
  std::shared_ptr<Store> store(std::move(opened).value());
  EXPECT_FALSE(store->shared_metadata());
  int gained = 0;
  Leadership::Options lo;
  lo.holder = "only";
  lo.on_gain = [&] { ++gained; };
  Leadership l(store, lo);
  l.Start();
  EXPECT_TRUE(l.leader());
  EXPECT_EQ(gained, 1);
}

}  // namespace
}  // namespace pier::testing
