// Garbage collection leaves alone what an unfinished replication still has
// to copy, and takes it once the task is final.
#include "replication/gc_pins.h"

#include <gtest/gtest.h>

#include "tests/unit/cache/test_util.h"

namespace pier::replication {
namespace {

using pier::testing::PushImage;
using pier::testing::StoreTest;

class GcPinsTest : public StoreTest {
 protected:
  GcReport CollectUntagged(const ReplicationPins& pins) {
    GcOptions o;
    o.grace_seconds = 0;
    o.delete_untagged = true;
    o.pinned = pins.Predicate();
    auto r = store_->CollectGarbage(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : GcReport{};
  }
};

TEST_F(GcPinsTest, PendingCopyTasksAndUnplannedEventsPinTheirArtifacts) {
  auto execs = ExecutionStore::Open(*store_);
  ASSERT_TRUE(execs.ok());
  const Digest task_digest = PushImage(*store_, "team/app", "v1", "cfg-1", {"layer-1"});
  const Digest event_digest = PushImage(*store_, "team/app", "v2", "cfg-2", {"layer-2"});
  const Digest done_digest = PushImage(*store_, "team/app", "v3", "cfg-3", {"layer-3"});
  for (const char* tag : {"v1", "v2", "v3"}) ASSERT_TRUE(store_->DeleteTag("team/app", tag).ok());

  Execution planned;
  planned.planned = true;
  auto e1 = (*execs)->CreateExecution(planned);
  ASSERT_TRUE(e1.ok());
  Task pending;
  pending.src_repo = "team/app";
  pending.digest = task_digest.str();
  Task finished = pending;
  finished.digest = done_digest.str();
  finished.status = std::string(kStatusSucceed);
  auto tasks = (*execs)->CreateTasks(*e1, {pending, finished});
  ASSERT_TRUE(tasks.ok());
  Execution event;
  event.trigger = "event_based";
  event.event_repository = "team/app";
  event.event_digest = event_digest.str();
  ASSERT_TRUE((*execs)->CreateExecution(event).ok());

  auto pins = ReplicationPins::Load(**execs);
  ASSERT_TRUE(pins.ok());
  EXPECT_EQ(pins->size(), 2u);
  GcReport r = CollectUntagged(*pins);
  EXPECT_EQ(r.manifests_deleted, 1u);  // the finished task's
  EXPECT_TRUE(store_->BlobStored(Sha256Of("layer-1")));
  EXPECT_TRUE(store_->BlobStored(Sha256Of("layer-2")));
  EXPECT_FALSE(store_->BlobStored(Sha256Of("layer-3")));

  // Once the task is final its artifact is no longer pinned.
  Task now_done = (*tasks)[0];
  now_done.status = std::string(kStatusFailed);
  ASSERT_TRUE((*execs)->UpdateTask(now_done).ok());
  pins = ReplicationPins::Load(**execs);
  ASSERT_TRUE(pins.ok());
  EXPECT_EQ(CollectUntagged(*pins).manifests_deleted, 1u);
  EXPECT_FALSE(store_->BlobStored(Sha256Of("layer-1")));
  EXPECT_TRUE(store_->BlobStored(Sha256Of("layer-2")));
}

TEST_F(GcPinsTest, TheHookPinsTheZstdCopiesAReplicationHolds) {
  auto execs = ExecutionStore::Open(*store_);
  ASSERT_TRUE(execs.ok());
  std::shared_ptr<Store> shared(store_.get(), [](Store*) {});
  auto t = transcode::Transcoder::Open(shared);
  ASSERT_TRUE(t.ok());
  auto hook = PinsHook(std::shared_ptr<ExecutionStore>(std::move(*execs)), *t);
  const Digest held = Sha256Of("held copy");
  const Digest other = Sha256Of("other copy");
  auto lease = (*t)->Hold(held);
  auto pinned = hook();
  EXPECT_TRUE(pinned("", held));
  EXPECT_FALSE(pinned("", other));
  EXPECT_FALSE(pinned("team/app", held)) << "a lease pins the derived blob, not a repository's link";
  lease.Reset();
  EXPECT_FALSE(hook()("", held));
}

}  // namespace
}  // namespace pier::replication
