// GcService: history, the log cap, one run at a time, stop, restart, and the
// schedule fired by a FakeClock.
#include "cache/gc/gc_service.h"

#include <gtest/gtest.h>

#include <chrono>

#include "tests/unit/cache/test_util.h"
#include "tests/unit/common/gc_gate.h"

namespace pier::gc {
namespace {

using namespace std::chrono_literals;
using testing::PushImage;

class GcServiceTest : public pier::testing::StoreTest {
 protected:
  GcServiceTest() { clock_ = &fake_; }

  void SetUp() override {
    StoreTest::SetUp();
    store_shared_ = std::shared_ptr<Store>(store_.release());
  }
  void TearDown() override {
    svc_.reset();
    store_shared_.reset();
  }

  void OpenService(GcServiceOptions o = {}) {
    svc_.reset();
    o.clock = &fake_;
    o.grace_seconds = 0;
    auto s = GcService::Open(store_shared_, std::move(o));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    svc_ = std::move(*s);
  }
  // Deletes the tag of an image so its own blobs become garbage.
  Digest Garbage(const std::string& repo, const std::string& config, const std::vector<std::string>& layers) {
    Digest d = PushImage(*store_shared_, repo, "gone", config, layers);
    EXPECT_TRUE(store_shared_->DeleteManifest(repo, d).ok());
    return d;
  }
  GcRun RunAndWait(GcParameters p = {}) {
    auto r = svc_->StartRun(kKindManual, p);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    svc_->Wait();
    auto done = svc_->Get(r.ok() ? r->id : 0);
    EXPECT_TRUE(done.ok());
    return done.ok() ? *done : GcRun{};
  }

  FakeClock fake_;
  std::shared_ptr<Store> store_shared_;
  std::unique_ptr<GcService> svc_;
};

TEST_F(GcServiceTest, RunRecordsHistoryLogAndReport) {
  OpenService();
  Garbage("app", "config-a", {"layer-a"});
  fake_.Advance(1s);
  GcRun dry = RunAndWait({false, true, 1});
  EXPECT_EQ(dry.status, kSuccess);
  EXPECT_EQ(dry.kind, kKindManual);
  ASSERT_TRUE(dry.report);
  EXPECT_EQ(dry.report->blobs_deleted, 2u);
  EXPECT_TRUE(store_shared_->BlobStored(Sha256Of("layer-a")));  // a dry run changes nothing
  auto log = svc_->Log(dry.id);
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find(Sha256Of("layer-a").str()), std::string::npos) << *log;
  EXPECT_NE(log->find("totals: would free "), std::string::npos) << *log;

  GcRun real = RunAndWait();
  EXPECT_EQ(real.status, kSuccess);
  EXPECT_EQ(real.id, dry.id + 1);
  EXPECT_FALSE(store_shared_->BlobStored(Sha256Of("layer-a")));
  auto list = svc_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, real.id);  // newest first
  EXPECT_EQ(ParametersJson((*list)[1].parameters), R"({"delete_untagged":false,"dry_run":true,"workers":1})");
  EXPECT_EQ(ReportJson(*real.report)["freed_bytes"], std::string("layer-a").size() + std::string("config-a").size());
}

TEST_F(GcServiceTest, LogIsCappedAndTheRestCounted) {
  GcServiceOptions o;
  o.max_log_lines = 2;
  OpenService(std::move(o));
  Garbage("app", "config-b", {"l1", "l2", "l3"});
  fake_.Advance(1s);
  GcRun r = RunAndWait();
  ASSERT_EQ(r.status, kSuccess);
  EXPECT_GT(r.log_lines_dropped, 0u);
  auto log = svc_->Log(r.id);
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("more lines not kept"), std::string::npos) << *log;
  EXPECT_NE(log->find("totals:"), std::string::npos) << *log;  // kept past the cap
}

TEST_F(GcServiceTest, KeepsOnlyTheNewestRuns) {
  GcServiceOptions o;
  o.keep_runs = 3;
  OpenService(std::move(o));
  for (int i = 0; i < 5; ++i) RunAndWait();
  auto list = svc_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, 5);
  EXPECT_EQ((*list)[2].id, 3);
  EXPECT_EQ(svc_->Log(1).status().code(), Code::kNotFound);
}

TEST_F(GcServiceTest, OneRunAtATimeAndStop) {
  pier::testing::GcGate gate;
  GcServiceOptions o;
  o.pins = gate.Hook();
  OpenService(std::move(o));
  auto first = svc_->StartRun(kKindManual, {});
  ASSERT_TRUE(first.ok());
  gate.WaitEntered();
  auto second = svc_->StartRun(kKindManual, {});
  EXPECT_EQ(second.status().code(), Code::kAlreadyExists);
  EXPECT_NE(second.status().message().find("already running"), std::string::npos);
  EXPECT_EQ(svc_->Get(first->id)->status, kRunning);
  EXPECT_TRUE(svc_->Stop(first->id).ok());
  EXPECT_EQ(svc_->Stop(99).code(), Code::kNotFound);
  gate.Open();
  svc_->Wait();
  EXPECT_EQ(svc_->Get(first->id)->status, kStopped);
  EXPECT_EQ(svc_->Stop(first->id).code(), Code::kFailedPrecondition);
}

TEST_F(GcServiceTest, BadParametersNameTheField) {
  OpenService();
  auto r = svc_->StartRun(kKindManual, {false, false, 11});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("parameters.workers"), std::string::npos);
  EXPECT_NE(NormalizeSchedule("Sometimes", "").status().message().find("schedule.type"), std::string::npos);
  EXPECT_NE(NormalizeSchedule("Custom", "0 0 25 * * *").status().message().find("schedule.cron"), std::string::npos);
  EXPECT_NE(NormalizeSchedule("Custom", "").status().message().find("schedule.cron"), std::string::npos);
  EXPECT_EQ(NormalizeSchedule("Daily", "")->cron, "0 0 0 * * *");
  EXPECT_FALSE(svc_->SetSchedule({"Manual", ""}, {}).ok());
}

TEST_F(GcServiceTest, RestartMarksARunningRunInterrupted) {
  OpenService();
  // What a process that died mid-run leaves: a Running record.
  auto kv = store_shared_->OpenKeySpace("gc");
  ASSERT_TRUE(kv.ok());
  ASSERT_TRUE((*kv)->Write({{"next_id", "7"},
                            {"run/00000000000000000007",
                             R"({"id":7,"kind":"SCHEDULE","status":"Running","parameters":{"workers":2}})"}})
                  .ok());
  OpenService();
  auto r = svc_->Get(7);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, kError);
  EXPECT_EQ(r->error, "interrupted");
  EXPECT_EQ(r->parameters.workers, 2);
  EXPECT_EQ(RunAndWait().id, 8);
}

TEST_F(GcServiceTest, ScheduleFiresOncePerDueTime) {
  GcServiceOptions o;
  o.initial_cron = "0 0 * * * *";  // hourly; the FakeClock starts on a whole hour
  OpenService(std::move(o));
  svc_->Tick();  // plans from now
  EXPECT_TRUE(svc_->List()->empty());
  fake_.Advance(30min);
  svc_->Tick();
  EXPECT_TRUE(svc_->List()->empty());
  fake_.Advance(30min);
  svc_->Tick();
  svc_->Wait();
  svc_->Tick();  // the same due time: no second run
  svc_->Wait();
  auto list = svc_->List();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].kind, kKindSchedule);
  EXPECT_EQ((*list)[0].status, kSuccess);
  fake_.Advance(1h);
  svc_->Tick();
  svc_->Wait();
  EXPECT_EQ(svc_->List()->size(), 2u);
}

TEST_F(GcServiceTest, ScheduleSetThroughTheApiWinsAfterRestart) {
  GcServiceOptions o;
  o.initial_cron = "0 0 3 * * *";
  OpenService(o);
  EXPECT_EQ(svc_->Schedule().schedule.type, "Custom");
  EXPECT_FALSE(svc_->Schedule().from_api);
  ASSERT_TRUE(svc_->SetSchedule({"Hourly", ""}, {true, false, 3}).ok());
  OpenService(o);
  auto s = svc_->Schedule();
  EXPECT_TRUE(s.from_api);
  EXPECT_EQ(s.schedule.type, "Hourly");
  EXPECT_EQ(s.schedule.cron, "0 0 * * * *");
  EXPECT_TRUE(s.parameters.delete_untagged);
  EXPECT_EQ(s.parameters.workers, 3);
  ASSERT_TRUE(s.next);
  EXPECT_EQ(*s.next, fake_.Now() + 1h);
  ASSERT_TRUE(svc_->SetSchedule({"None", ""}, {}).ok());
  EXPECT_FALSE(svc_->Schedule().next);
}

TEST_F(GcServiceTest, BadConfigCronNamesTheKey) {
  GcServiceOptions o;
  o.initial_cron = "every day";
  o.clock = &fake_;
  auto s = GcService::Open(store_shared_, o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("gc.schedule"), std::string::npos);
}

}  // namespace
}  // namespace pier::gc
