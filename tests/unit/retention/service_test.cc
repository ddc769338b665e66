// The retention runner on a real store: dry run changes nothing and logs
// what would go, a real run deletes exactly that, cron fires on a FakeClock.
#include <gtest/gtest.h>

#include "cache/retention/service.h"
#include "tests/unit/cache/test_util.h"

namespace pier::retention {
namespace {

using pier::testing::PushImage;

class RetentionServiceTest : public pier::testing::StoreTest {
 protected:
  RetentionServiceTest() { clock_ = &fake_; }

  void SetUp() override {
    StoreTest::SetUp();
    // shared_ptr that does not own: the fixture keeps the store
    shared_ = std::shared_ptr<Store>(store_.get(), [](Store*) {});
    for (int i = 0; i < 5; ++i) {
      digests_.push_back(PushImage(*store_, "proj/app", "t" + std::to_string(i), "config-" + std::to_string(i)));
      fake_.Advance(std::chrono::seconds(60));
    }
    store_->NotePull("proj/app", digests_[0]);
    auto quota = store_->SetQuota("proj", -1);
    ASSERT_TRUE(quota.ok());
    project_id_ = quota->id;
    auto svc = Service::Create(shared_, fake_);
    ASSERT_TRUE(svc.ok()) << svc.status().ToString();
    svc_ = *svc;
  }

  void TearDown() override {
    svc_.reset();
    StoreTest::TearDown();
  }

  Policy MakePolicy(std::string cron = "") {
    nlohmann::json j = {
        {"algorithm", "or"},
        {"rules",
         {{{"template", "latestPushedK"},
           {"params", {{"latestPushedK", 2}}},
           {"tag_selectors", {{{"kind", "doublestar"}, {"decoration", "matches"}, {"pattern", "**"}}}},
           {"scope_selectors", {{"repository", {{{"kind", "doublestar"}, {"decoration", "repoMatches"}, {"pattern", "**"}}}}}}},
          {{"template", "latestPulledN"},
           {"params", {{"latestPulledN", 1}}},
           {"tag_selectors", {{{"kind", "doublestar"}, {"decoration", "matches"}, {"pattern", "**"}}}},
           {"scope_selectors", {{"repository", {{{"kind", "doublestar"}, {"decoration", "repoMatches"}, {"pattern", "**"}}}}}}}}},
        {"trigger", {{"kind", "Schedule"}, {"settings", {{"cron", cron}}}}},
        {"scope", {{"level", "project"}, {"ref", project_id_}}}};
    auto p = ParsePolicy(j);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return *p;
  }

  std::vector<std::string> Tags() { return store_->ListTags("proj/app", "", 0)->items; }

  std::string OnlyLog(int64_t exec_id) {
    auto tasks = svc_->records().ListTasks(exec_id);
    EXPECT_TRUE(tasks.ok());
    EXPECT_EQ(tasks->size(), 1u);
    if (tasks->size() != 1) return "";
    EXPECT_EQ((*tasks)[0].repository, "proj/app");
    EXPECT_EQ((*tasks)[0].total, 5);
    EXPECT_EQ((*tasks)[0].retained, 3);
    return *svc_->records().GetLog((*tasks)[0].id);
  }

  FakeClock fake_;
  std::shared_ptr<Store> shared_;
  std::shared_ptr<Service> svc_;
  std::vector<Digest> digests_;
  int64_t project_id_ = 0;
};

TEST_F(RetentionServiceTest, OnePolicyPerProject) {
  ASSERT_TRUE(svc_->records().CreatePolicy(MakePolicy()).ok());
  auto second = svc_->records().CreatePolicy(MakePolicy());
  EXPECT_EQ(second.status().code(), Code::kInvalidArgument);
  EXPECT_NE(second.status().message().find("scope.ref"), std::string::npos);
}

TEST_F(RetentionServiceTest, DryRunChangesNothingAndLogsWhatWouldGo) {
  auto id = svc_->records().CreatePolicy(MakePolicy());
  ASSERT_TRUE(id.ok());
  auto e = svc_->Execute(*id, true, "MANUAL");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  svc_->WaitIdle();
  EXPECT_EQ(svc_->records().GetExecution(*id, e->id)->status, "Succeed");
  EXPECT_EQ(Tags(), (std::vector<std::string>{"t0", "t1", "t2", "t3", "t4"}));
  const std::string log = OnlyLog(e->id);
  EXPECT_NE(log.find("| t1 |"), std::string::npos);
  EXPECT_NE(log.find("DEL (dry run)"), std::string::npos);
  size_t dels = 0;
  for (size_t p = log.find("DEL (dry run)"); p != std::string::npos; p = log.find("DEL (dry run)", p + 1)) ++dels;
  EXPECT_EQ(dels, 2u) << log;
}

TEST_F(RetentionServiceTest, RealRunDeletesExactlyTheOthers) {
  auto id = svc_->records().CreatePolicy(MakePolicy());
  ASSERT_TRUE(id.ok());
  auto e = svc_->Execute(*id, false, "MANUAL");
  ASSERT_TRUE(e.ok());
  svc_->WaitIdle();
  EXPECT_EQ(svc_->records().GetExecution(*id, e->id)->status, "Succeed");
  EXPECT_EQ(Tags(), (std::vector<std::string>{"t0", "t3", "t4"}));
  EXPECT_FALSE(store_->GetManifest("proj/app", digests_[1].str()).ok());
  EXPECT_TRUE(store_->GetManifest("proj/app", digests_[0].str()).ok());
  const std::string log = OnlyLog(e->id);
  EXPECT_NE(log.find("RETAIN (rule 1: latestPulledN)"), std::string::npos) << log;
  auto execs = svc_->records().ListExecutions(*id);
  ASSERT_EQ(execs->size(), 1u);
}

TEST_F(RetentionServiceTest, CronFiresOnTheFakeClock) {
  auto id = svc_->records().CreatePolicy(MakePolicy("0 0 * * * *"));  // hourly
  ASSERT_TRUE(id.ok());
  svc_->Tick();  // learns the schedule
  EXPECT_TRUE(svc_->records().ListExecutions(*id)->empty());
  fake_.Advance(std::chrono::minutes(10));
  svc_->Tick();
  EXPECT_TRUE(svc_->records().ListExecutions(*id)->empty());
  fake_.Advance(std::chrono::hours(1));
  svc_->Tick();
  svc_->WaitIdle();
  auto execs = svc_->records().ListExecutions(*id);
  ASSERT_EQ(execs->size(), 1u);
  EXPECT_EQ((*execs)[0].trigger, "SCHEDULE");
  EXPECT_FALSE((*execs)[0].dry_run);
  EXPECT_EQ(Tags(), (std::vector<std::string>{"t0", "t3", "t4"}));
  svc_->Tick();  // not again within the same hour
  svc_->WaitIdle();
  EXPECT_EQ(svc_->records().ListExecutions(*id)->size(), 1u);
}

TEST_F(RetentionServiceTest, AnExecutionACrashLeftRunningIsMarkedFailed) {
  auto id = svc_->records().CreatePolicy(MakePolicy());
  ASSERT_TRUE(id.ok());
  Execution e;
  e.policy_id = *id;
  e.status = "Running";
  auto added = svc_->records().AddExecution(e);
  ASSERT_TRUE(added.ok());
  svc_.reset();
  auto again = Service::Create(shared_, fake_);
  ASSERT_TRUE(again.ok());
  svc_ = *again;
  EXPECT_EQ(svc_->records().GetExecution(*id, added->id)->status, "Failed");
  // and the policy runs again
  ASSERT_TRUE(svc_->Execute(*id, true, "MANUAL").ok());
  svc_->WaitIdle();
  EXPECT_EQ(svc_->records().ListExecutions(*id)->front().status, "Succeed");
}

TEST_F(RetentionServiceTest, UnknownPolicyAndProject) {
  EXPECT_EQ(svc_->Execute(99, false, "MANUAL").status().code(), Code::kNotFound);
  EXPECT_EQ(svc_->ProjectName(12345).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace pier::retention
