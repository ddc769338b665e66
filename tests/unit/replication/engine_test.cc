// The engine end to end against the in-memory registry: events replicate the
// pushed digest, one upload per digest across tasks, stop interrupts a blob
// in flight. Waits are on conditions with deadlines.
#include "replication/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "../cache/test_util.h"
#include "base/manifest.h"
#include "tests/unit/replication/fake_client.h"

namespace pier::replication {
namespace {

using json = nlohmann::json;
using pier::testing::PushBlob;
using testing::FakeClientFactory;
using testing::FakeRegistry;

constexpr auto kDeadline = std::chrono::seconds(60);

class EngineTest : public pier::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto repl = ReplicationStore::Open(*store_);
    auto execs = ExecutionStore::Open(*store_);
    auto progress = ProgressStore::Open(*store_);
    ASSERT_TRUE(repl.ok() && execs.ok() && progress.ok());
    repl_ = std::move(*repl);
    executions_ = std::move(*execs);
    progress_ = std::move(*progress);
    Endpoint e;
    e.name = "fake";
    e.url = "http://fake:5000";
    e.type = std::string(kTypeDockerRegistry);
    auto created = repl_->CreateEndpoint(e);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    dest_ = *created;
  }

  void TearDown() override {
    engine_.reset();
    StoreTest::TearDown();
  }

  void StartEngine(uint64_t chunk_size = 8 << 20) {
    EngineOptions o;
    o.chunk_size = chunk_size;
    o.workers_per_destination = 4;
    o.image_overlap_bytes = o_overlap_;
    o.retry.initial = std::chrono::milliseconds(1);
    o.retry.max = std::chrono::milliseconds(1);
    o.clients = std::make_shared<FakeClientFactory>(reg_);
    // The store is owned by the fixture: a non-owning shared_ptr.
    engine_ = std::make_unique<Engine>(std::shared_ptr<Store>(store_.get(), [](Store*) {}), repl_, executions_,
                                       progress_, nullptr, o);
  }

  Policy AddPolicy(const std::string& name, std::string_view trigger) {
    Policy p;
    p.name = name;
    p.dest_registry_id = dest_.id;
    p.trigger.type = std::string(trigger);
    auto created = repl_->CreatePolicy(p);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return *created;
  }

  // A local image: its own config, plus `layers`; returns the manifest digest.
  Digest PushImage(const std::string& repo, const std::string& tag, const std::string& config,
                   const std::vector<std::string>& layers = {}) {
    return pier::testing::PushImage(*store_, repo, tag, config, layers);
  }

  // The policy's only execution, once it has ended.
  Execution WaitEnded(int64_t policy_id) {
    auto until = std::chrono::steady_clock::now() + kDeadline;
    while (std::chrono::steady_clock::now() < until) {
      ExecutionFilter f;
      f.policy_id = policy_id;
      auto list = executions_->ListExecutions(f);
      if (list.ok() && list->size() == 1 && IsFinalStatus((*list)[0].status)) return (*list)[0];
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling interval, not a guess
    }
    ADD_FAILURE() << "the execution did not end within the deadline";
    return Execution{};
  }

  std::shared_ptr<FakeRegistry> reg_ = std::make_shared<FakeRegistry>();
  std::shared_ptr<ReplicationStore> repl_;
  std::shared_ptr<ExecutionStore> executions_;
  std::shared_ptr<ProgressStore> progress_;
  Endpoint dest_;
  std::unique_ptr<Engine> engine_;
  uint64_t o_overlap_ = uint64_t{1} << 30;  // every image on the link at once unless a test says
};

TEST_F(EngineTest, APushEventReplicatesThePushedDigestNotWhatTheTagBecame) {
  Digest a = PushImage("app", "v1", "config a", {"layer a"});
  Digest b = PushImage("app", "v1", "config b", {"layer b"});  // v1 moved to B before planning
  ASSERT_NE(a.str(), b.str());
  Policy p = AddPolicy("on-push", kTriggerEventBased);
  StartEngine();
  engine_->OnPush("app", "v1", a.str());
  Execution e = WaitEnded(p.id);
  EXPECT_EQ(e.status, kStatusSucceed) << e.status_text;
  EXPECT_EQ(reg_->ManifestDigest("app", "v1"), a.str());
  EXPECT_TRUE(reg_->HasBlob("app", Sha256Of("layer a").str()));
  EXPECT_FALSE(reg_->HasBlob("app", Sha256Of("layer b").str()));
}

TEST_F(EngineTest, TwoTasksNeedingOneBlobUploadItOnce) {
  const std::string shared = "a base layer both images have";
  const std::string digest = Sha256Of(shared).str();
  PushImage("one", "v1", "config one", {shared});
  PushImage("two", "v1", "config two", {shared});
  // The first upload of the shared layer is held until a second upload of
  // any blob besides the two configs shows up (single-flight broken), or
  // for two seconds (it works: the other task waits for this one instead).
  std::mutex mu;
  std::condition_variable cv;
  int shared_bodies = 0;
  reg_->on_body = [&](std::string_view, std::string_view d, const std::stop_token&) {
    if (d != digest) return;
    std::unique_lock lock(mu);
    if (++shared_bodies == 1) {
      cv.wait_for(lock, std::chrono::seconds(2), [&] { return shared_bodies > 1; });
    } else {
      cv.notify_all();
    }
  };
  Policy p = AddPolicy("both", kTriggerManual);
  StartEngine();
  ASSERT_TRUE(engine_->Start(p.id, kTriggerManual).ok());
  Execution e = WaitEnded(p.id);
  EXPECT_EQ(e.status, kStatusSucceed) << e.status_text;
  EXPECT_EQ(reg_->uploads(digest), 1);
  EXPECT_TRUE(reg_->HasBlob("one", digest));
  EXPECT_TRUE(reg_->HasBlob("two", digest));
  EXPECT_EQ(reg_->calls("MountBlob"), 1);  // the waiting task mounted it
  EXPECT_FALSE(reg_->ManifestDigest("two", "v1").empty());
}

// Issue 10 §6: what a kill -9 leaves (four event executions recorded
// InProgress, in push order) continued by a new engine over the same store.
// img2 and img3 have every blob at the destination already: checked and
// finished at once, while img0's layer upload is held, not queued behind it.
// img0 (pushed first) still goes onto the link before img1, even when its
// check is slower. Task logs say the task was resumed and what was there.
TEST_F(EngineTest, AfterARestartTheOrderHoldsAndCheapChecksGoFirst) {
  std::vector<Digest> pushed;
  for (int i = 0; i < 4; ++i) {
    std::string n = std::to_string(i);
    pushed.push_back(PushImage("img" + n, "v1", "config " + n, {"layer " + n}));
  }
  for (std::string n : {"2", "3"}) {
    reg_->AddBlob("img" + n, "config " + n);
    reg_->AddBlob("img" + n, "layer " + n);
  }
  Policy p = AddPolicy("on-push", kTriggerEventBased);
  std::vector<int64_t> ids;
  for (int i = 0; i < 4; ++i) {
    Execution e;
    e.policy_id = p.id;
    e.trigger = std::string(kTriggerEventBased);
    e.status = std::string(kStatusInProgress);
    e.start_time = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    e.event_repository = "img" + std::to_string(i);
    e.event_reference = "v1";
    e.event_digest = pushed[i].str();
    auto created = executions_->CreateExecution(e);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    ids.push_back(created->id);
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> manifests;  // repositories, in the order their manifests were pushed
  bool img1_checked = false;
  auto done = [&](const std::string& repo) {
    return std::find(manifests.begin(), manifests.end(), repo) != manifests.end();
  };
  reg_->fail = [&](std::string_view op, std::string_view repo) -> std::optional<testing::Failure> {
    std::unique_lock lock(mu);
    if (op == "HeadManifest" && repo == "img1") {
      img1_checked = true;
      cv.notify_all();
    }
    // img0's check is slow; img1 checked meanwhile means the executions raced.
    if (op == "HeadManifest" && repo == "img0") {
      cv.wait_for(lock, std::chrono::milliseconds(300), [&] { return img1_checked; });
    }
    if (op == "PutManifest") {
      manifests.emplace_back(repo);
      cv.notify_all();
    }
    return std::nullopt;
  };
  const std::string layer0 = Sha256Of("layer 0").str();
  std::map<std::string, std::string> image_of;  // blob digest → image
  for (std::string n : {"0", "1"}) {
    image_of[Sha256Of("config " + n).str()] = "img" + n;
    image_of[Sha256Of("layer " + n).str()] = "img" + n;
  }
  std::vector<std::string> on_link;  // images in the order their first blob body went out
  bool cheap_first = false;
  reg_->on_body = [&](std::string_view, std::string_view digest, const std::stop_token&) {
    std::unique_lock lock(mu);
    auto img = image_of.find(std::string(digest));
    if (img != image_of.end() && std::find(on_link.begin(), on_link.end(), img->second) == on_link.end()) {
      on_link.push_back(img->second);
    }
    if (digest != layer0) return;
    cheap_first = cv.wait_for(lock, kDeadline / 4, [&] { return done("img2") && done("img3"); });
  };
  o_overlap_ = 1;  // one image on the link at a time
  StartEngine();
  engine_->ResumeUnfinished();
  for (int64_t id : ids) {
    auto until = std::chrono::steady_clock::now() + kDeadline;
    for (;;) {
      auto e = executions_->GetExecution(id);
      ASSERT_TRUE(e.ok());
      if (IsFinalStatus(e->status)) {
        EXPECT_EQ(e->status, kStatusSucceed) << e->status_text;
        break;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), until) << "execution " << id << " did not end";
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling interval, not a guess
    }
  }
  EXPECT_TRUE(cheap_first) << "img2/img3 waited behind img0's upload";
  std::lock_guard lock(mu);
  ASSERT_TRUE(done("img0") && done("img1"));
  ASSERT_EQ(on_link.size(), 2u);
  EXPECT_EQ(on_link[0], "img0") << "the first-pushed image went onto the link after img1";
  auto logs = [&](int64_t exec_id) {
    std::string all;
    auto tasks = executions_->ListTasks(exec_id);
    EXPECT_TRUE(tasks.ok() && tasks->size() == 1u);
    if (!tasks.ok() || tasks->empty()) return all;
    auto lines = executions_->ReadLog((*tasks)[0].id);
    EXPECT_TRUE(lines.ok());
    if (lines.ok()) all = *lines;
    return all;
  };
  std::string log2 = logs(ids[2]);
  EXPECT_NE(log2.find("resumed after a restart"), std::string::npos) << log2;
  EXPECT_NE(log2.find("2 of 2 blobs already at the destination"), std::string::npos) << log2;
  std::string log0 = logs(ids[0]);
  EXPECT_NE(log0.find("resumed after a restart"), std::string::npos) << log0;
}

TEST_F(EngineTest, StopInterruptsABlobInFlight) {
  PushImage("app", "v1", "config", {"a layer that never finishes"});
  std::mutex mu;
  std::condition_variable_any cv;
  bool in_flight = false;
  reg_->on_body = [&](std::string_view, std::string_view, const std::stop_token& stop) {
    std::unique_lock lock(mu);
    in_flight = true;
    cv.notify_all();
    // Held until the engine stops the call (the deadline only bounds a broken test).
    cv.wait_for(lock, stop, kDeadline, [] { return false; });
  };
  Policy p = AddPolicy("stoppable", kTriggerManual);
  StartEngine();
  auto started = engine_->Start(p.id, kTriggerManual);
  ASSERT_TRUE(started.ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kDeadline, [&] { return in_flight; }));
  }
  ASSERT_TRUE(engine_->Stop(started->id).ok());
  Execution e = WaitEnded(p.id);
  EXPECT_EQ(e.status, kStatusStopped);
  auto tasks = executions_->ListTasks(e.id);
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].status, kStatusStopped);
  EXPECT_TRUE(reg_->ManifestDigest("app", "v1").empty());
  // The end as it was: the layer never arrived, so it is still pending.
  ASSERT_TRUE(e.final_progress.has_value());
  EXPECT_GT(e.final_progress->bytes_pending, 0u);
  EXPECT_LT(e.final_progress->bytes_sent, e.final_progress->bytes_total);
  EXPECT_EQ(e.final_progress->bytes_sent + e.final_progress->bytes_skipped + e.final_progress->bytes_pending,
            e.final_progress->bytes_total);
}

// "Sent" is what the destination acknowledged, counted once per digest:
// five images sharing a base count it once in bytes_total; a PATCH cut
// mid-body counts only the bytes the upload's Range then reports; and at
// every moment sent + skipped + pending == total.
TEST_F(EngineTest, ByteCountsAreAcknowledgedDeduplicatedAndAddUp) {
  constexpr uint64_t kChunk = 256 << 10;  // the engine's smallest chunk
  std::string base(4 * kChunk + 1234, '\0');
  for (size_t i = 0; i < base.size(); ++i) base[i] = static_cast<char>('a' + (i * 7919) % 26);
  const std::string base_digest = Sha256Of(base).str();
  uint64_t distinct = base.size();
  for (int i = 0; i < 5; ++i) {
    std::string config = "config " + std::to_string(i), layer = "own layer " + std::to_string(i);
    PushImage("img" + std::to_string(i), "v1", config, {base, layer});
    distinct += config.size() + layer.size();
  }
  // The second chunk's PATCH breaks after 100000 bytes; the fake keeps
  // them (as a spec-following registry does), so the retry's Range shows them.
  std::atomic<int> chunks{0};
  reg_->fail = [&](std::string_view op, std::string_view) -> std::optional<testing::Failure> {
    if (op == "UploadChunk" && ++chunks == 2) return testing::Failure(client::ErrorKind::kNetwork, 0, std::nullopt, 100000);
    return std::nullopt;
  };
  std::atomic<int64_t> exec_id{0};
  std::mutex mu;
  std::vector<LiveProgress> seen;
  uint64_t max_sent_mid_base = 0;  // while a later chunk of the base starts (the other blobs are tiny)
  reg_->on_body = [&](std::string_view op, std::string_view, const std::stop_token&) {
    if (int64_t id = exec_id.load()) {
      if (auto p = engine_->Progress(id)) {
        std::lock_guard lock(mu);
        seen.push_back(*p);
        if (op == "UploadChunk") max_sent_mid_base = std::max(max_sent_mid_base, p->bytes_sent);
      }
    }
  };
  Policy p = AddPolicy("shared-base", kTriggerManual);
  StartEngine(kChunk);
  auto started = engine_->Start(p.id, kTriggerManual);
  ASSERT_TRUE(started.ok());
  exec_id = started->id;
  Execution e = WaitEnded(p.id);
  ASSERT_EQ(e.status, kStatusSucceed) << e.status_text;
  EXPECT_EQ(reg_->uploads(base_digest), 1);
  EXPECT_GE(reg_->calls("GetUploadStatus"), 1);  // the cut upload resumed
  ASSERT_TRUE(e.final_progress.has_value());
  const TransferProgress& f = *e.final_progress;
  EXPECT_EQ(f.bytes_total, distinct);  // the base once, not five times
  EXPECT_EQ(f.bytes_sent, reg_->body_bytes());  // every byte that arrived, none twice
  EXPECT_EQ(f.bytes_sent, distinct);
  EXPECT_EQ(f.bytes_skipped, 0u);
  EXPECT_EQ(f.bytes_pending, 0u);
  EXPECT_EQ(f.blobs_pending, 0u);
  std::lock_guard lock(mu);
  ASSERT_FALSE(seen.empty());
  for (const LiveProgress& l : seen) {
    EXPECT_EQ(l.bytes_sent + l.bytes_skipped + l.bytes_pending, l.bytes_total);
    EXPECT_LE(l.bytes_sent, reg_->body_bytes());
  }
  // Chunks of the base counted as they were acknowledged, not when it completed.
  EXPECT_GE(max_sent_mid_base, 2 * kChunk);
}

TEST_F(EngineTest, APullPolicyStoresTheRemoteImageHere) {
  auto desc = [](std::string_view mt, const std::string& c) {
    return json{{"mediaType", mt}, {"digest", Sha256Of(c).str()}, {"size", c.size()}};
  };
  reg_->AddBlob("lib/app", "remote config");
  reg_->AddBlob("lib/app", "remote layer");
  const std::string bytes = json{{"schemaVersion", 2},
                                 {"mediaType", media::kOciManifest},
                                 {"config", desc("application/vnd.oci.image.config.v1+json", "remote config")},
                                 {"layers", json::array({desc("application/vnd.oci.image.layer.v1.tar", "remote layer")})}}
                                .dump();
  std::string digest = reg_->AddManifest("lib/app", "v1", std::string(media::kOciManifest), bytes);
  Policy p;
  p.name = "pull";
  p.src_registry_id = dest_.id;
  p.dest_registry_id = 0;
  auto created = repl_->CreatePolicy(p);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  StartEngine();
  ASSERT_TRUE(engine_->Start(created->id, kTriggerManual).ok());
  Execution e = WaitEnded(created->id);
  EXPECT_EQ(e.status, kStatusSucceed) << e.status_text;
  auto here = store_->GetManifest("lib/app", "v1");
  ASSERT_TRUE(here.ok()) << here.status().ToString();
  EXPECT_EQ(here->digest.str(), digest);
  EXPECT_TRUE(store_->StatBlob("lib/app", Sha256Of("remote layer")).ok());
  EXPECT_EQ(reg_->calls("UploadBlob") + reg_->calls("StartUpload"), 0);  // nothing went the other way
}

}  // namespace
}  // namespace pier::replication
