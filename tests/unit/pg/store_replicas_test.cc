// Two Stores sharing one PostgreSQL database and one blob folder: what one
// replica writes the other reads at once, an upload session continues on
// the other replica, a session has one writer across both, and the
// database locks exclude across processes and die with their holder.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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
