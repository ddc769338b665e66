#include "replication/execution_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "cache/store.h"
#include "replication/progress_store.h"

namespace pier::replication {
namespace {

class ExecutionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pier-exec-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Reopen();
  }
  void TearDown() override {
    execs_.reset();
    progress_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void Reopen(size_t keep = 50) {
    execs_.reset();
    progress_.reset();
    store_.reset();
    Store::Options o;
    o.root = dir_;
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    auto e = ExecutionStore::Open(*store_, keep);
    ASSERT_TRUE(e.ok());
    execs_ = std::move(*e);
    auto p = ProgressStore::Open(*store_);
    ASSERT_TRUE(p.ok());
    progress_ = std::move(*p);
  }
  Task MakeTask(const std::string& repo, const std::string& status) {
    Task t;
    t.src_repo = repo;
    t.dst_repo = "ns/" + repo;
    t.digest = "sha256:" + std::string(64, 'a');
    t.tags = {"v1", "v2"};
    t.status = status;
    return t;
  }
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ExecutionStore> execs_;
  std::unique_ptr<ProgressStore> progress_;
};

TEST_F(ExecutionStoreTest, ExecutionsAndTasksSurviveReopenWithCounts) {
  Execution e;
  e.policy_id = 7;
  e.trigger = "event_based";
  e.event_repository = "team/app";
  e.event_reference = "v1";
  auto created = execs_->CreateExecution(e);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->id, 1);
  created->planned = true;
  auto tasks = execs_->CreateTasks(*created, {MakeTask("a", "Pending"), MakeTask("b", "Failed"),
                                              MakeTask("c", "Succeed")});
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 3u);
  EXPECT_EQ((*tasks)[0].id, 1);
  EXPECT_EQ((*tasks)[2].job_id, "1-3");
  execs_->AppendLog((*tasks)[0].id, "first line");
  execs_->AppendLog((*tasks)[0].id, "second line");

  Reopen();
  auto got = execs_->GetExecution(1);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->planned);
  EXPECT_EQ(got->event_repository, "team/app");
  EXPECT_EQ(got->total, 3);
  EXPECT_EQ(got->failed, 1);
  EXPECT_EQ(got->succeed, 1);
  EXPECT_EQ(got->in_progress, 1);
  auto t = execs_->GetTask(1, 1);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->tags, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(t->dst_repo, "ns/a");
  auto log = execs_->ReadLog(1);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(*log, "first line\nsecond line\n");
  TaskFilter f;
  f.status = "Failed";
  auto failed = execs_->ListTasks(1, f);
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].src_repo, "b");
  // Ids are never reused after a restart.
  auto next = execs_->CreateExecution(Execution{});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->id, 2);
  EXPECT_EQ(execs_->GetExecution(99).status().code(), Code::kNotFound);
}

TEST_F(ExecutionStoreTest, FiltersUnfinishedAndNewestFirst) {
  for (int i = 0; i < 3; ++i) {
    Execution e;
    e.policy_id = i == 2 ? 2 : 1;
    e.status = i == 0 ? "Succeed" : "InProgress";
    e.trigger = i == 1 ? "scheduled" : "manual";
    ASSERT_TRUE(execs_->CreateExecution(e).ok());
  }
  ExecutionFilter f;
  f.policy_id = 1;
  auto l = execs_->ListExecutions(f);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].id, 2);  // newest first
  f = {};
  f.trigger = "scheduled";
  EXPECT_EQ(execs_->ListExecutions(f)->size(), 1u);
  auto u = execs_->Unfinished();
  ASSERT_TRUE(u.ok());
  ASSERT_EQ(u->size(), 2u);
  EXPECT_EQ((*u)[0].id, 2);  // oldest first
}

TEST_F(ExecutionStoreTest, KeepsOnlyTheNewestFinishedPerPolicy) {
  Reopen(/*keep=*/2);
  for (int i = 0; i < 4; ++i) {
    Execution e;
    e.policy_id = 5;
    e.status = "Succeed";
    auto c = execs_->CreateExecution(e);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(execs_->CreateTasks(*c, {MakeTask("r", "Succeed")}).ok());
    execs_->AppendLog(c->id, "x");
  }
  ExecutionFilter f;
  f.policy_id = 5;
  auto l = execs_->ListExecutions(f);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].id, 4);
  EXPECT_EQ((*l)[1].id, 3);
  EXPECT_TRUE(execs_->ListTasks(1)->empty());
}

// The new (running) execution counts toward the limit: 2 kept means 2 listed.
TEST_F(ExecutionStoreTest, TheRunningExecutionCountsTowardTheLimit) {
  Reopen(/*keep=*/2);
  for (int i = 0; i < 3; ++i) {
    Execution e;
    e.policy_id = 7;
    e.status = "Succeed";
    ASSERT_TRUE(execs_->CreateExecution(e).ok());
  }
  Execution running;
  running.policy_id = 7;
  running.status = "InProgress";
  auto r = execs_->CreateExecution(running);
  ASSERT_TRUE(r.ok());
  ExecutionFilter f;
  f.policy_id = 7;
  auto l = execs_->ListExecutions(f);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].id, r->id);
  EXPECT_EQ((*l)[1].id, r->id - 1);
}

TEST_F(ExecutionStoreTest, ProgressAndKnownBlobs) {
  std::string d = "sha256:" + std::string(64, 'b');
  EXPECT_FALSE(progress_->GetUpload(3, d));
  ASSERT_TRUE(progress_->PutUpload(3, d, UploadProgress{"ns/app", "http://x/v2/ns/app/blobs/uploads/u?_state=1", 42}).ok());
  ASSERT_TRUE(progress_->AddKnown(3, d, "ns/base").ok());
  Reopen();
  auto p = progress_->GetUpload(3, d);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->offset, 42u);
  EXPECT_EQ(p->repo, "ns/app");
  EXPECT_EQ(progress_->KnownRepos(3, d), (std::vector<std::string>{"ns/base"}));
  EXPECT_TRUE(progress_->KnownRepos(4, d).empty());  // per destination
  ASSERT_TRUE(progress_->AddKnown(3, d, "ns/app", /*upload_done=*/true).ok());
  EXPECT_FALSE(progress_->GetUpload(3, d));
  EXPECT_TRUE(progress_->IsKnown(3, d, "ns/app"));
  ASSERT_TRUE(progress_->ForgetDestination(3).ok());
  EXPECT_TRUE(progress_->KnownRepos(3, d).empty());
}

}  // namespace
}  // namespace pier::replication
