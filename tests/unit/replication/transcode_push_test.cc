// Push with "compression": {"format": "zstd"} end to end against the
// in-memory registry: gzip layers arrive as zstd copies that decompress to
// the same tar, Docker schema2 becomes OCI with the same config, other
// layers and images without gzip layers pass unchanged, a second run
// transcodes nothing and finds the image there, a corrupt gzip layer fails
// its task with the reason.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "../cache/test_util.h"
#include "base/manifest.h"
#include "replication/engine.h"
#include "replication/zstd_manifest.h"
#include "tests/unit/replication/fake_client.h"
#include "tests/unit/transcode/gzip_util.h"

namespace pier::replication {
namespace {

using json = nlohmann::json;
using pier::testing::DocBytes;
using pier::testing::Gzip;
using pier::testing::PushBlob;
using pier::testing::Unzstd;
using testing::FakeClientFactory;
using testing::FakeRegistry;

constexpr auto kDeadline = std::chrono::seconds(60);
constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
constexpr std::string_view kDockerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
constexpr std::string_view kDockerTar = "application/vnd.docker.image.rootfs.diff.tar";

class TranscodePushTest : public pier::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    shared_ = std::shared_ptr<Store>(store_.get(), [](Store*) {});
    auto repl = ReplicationStore::Open(*store_);
    auto execs = ExecutionStore::Open(*store_);
    auto progress = ProgressStore::Open(*store_);
    transcode::Transcoder::Options topt;
    topt.on_output = [this](const Digest& source, uint64_t readable) {
      if (on_output_) on_output_(source, readable);
    };
    auto t = transcode::Transcoder::Open(shared_, topt);
    ASSERT_TRUE(repl.ok() && execs.ok() && progress.ok() && t.ok());
    repl_ = std::move(*repl);
    executions_ = std::move(*execs);
    progress_ = std::move(*progress);
    transcoder_ = *t;
    Endpoint e;
    e.name = "fake";
    e.url = "http://fake:5000";
    e.type = std::string(kTypeDockerRegistry);
    auto created = repl_->CreateEndpoint(e);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    dest_ = *created;
    StartEngine(8 << 20);
  }
  void StartEngine(uint64_t chunk_size) {
    engine_.reset();
    EngineOptions o;
    o.workers_per_destination = 2;
    o.retry.initial = std::chrono::milliseconds(1);
    o.retry.max = std::chrono::milliseconds(1);
    o.chunk_size = chunk_size;
    o.clients = std::make_shared<FakeClientFactory>(reg_);
    o.transcoder = transcoder_;
    engine_ = std::make_unique<Engine>(shared_, repl_, executions_, progress_, observer_, o);
  }
  void TearDown() override {
    engine_.reset();
    transcoder_.reset();
    shared_.reset();
    StoreTest::TearDown();
  }

  Policy AddPolicy(int level = 0) {
    Policy p;
    p.name = "zstd";
    p.dest_registry_id = dest_.id;
    p.compression.format = std::string(kCompressionZstd);
    p.compression.level = level;
    auto created = repl_->CreatePolicy(p);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return *created;
  }

  // A Docker schema2 image of `layers` (media type, bytes) under repo:tag.
  Digest PushDockerImage(const std::string& repo, const std::string& tag, const std::string& config,
                         const std::vector<std::pair<std::string_view, std::string>>& layers) {
    auto desc = [](std::string_view mt, const std::string& c) {
      return json{{"mediaType", mt}, {"digest", Sha256Of(c).str()}, {"size", c.size()}};
    };
    EXPECT_TRUE(PushBlob(*store_, repo, config).ok());
    json l = json::array();
    for (const auto& [mt, bytes] : layers) {
      EXPECT_TRUE(PushBlob(*store_, repo, bytes).ok());
      l.push_back(desc(mt, bytes));
    }
    const std::string bytes = json{{"schemaVersion", 2},
                                   {"mediaType", media::kDockerManifest},
                                   {"config", desc(kDockerConfig, config)},
                                   {"layers", l}}
                                  .dump();
    auto parsed = ParseManifest(media::kDockerManifest, bytes);
    EXPECT_TRUE(parsed.ok());
    auto d = store_->PutManifest(repo, tag, parsed->media_type, bytes, *parsed);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : Digest();
  }

  Execution RunOnce(int64_t policy_id) {
    auto started = engine_->Start(policy_id, "manual");
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    auto until = std::chrono::steady_clock::now() + kDeadline;
    while (started.ok() && std::chrono::steady_clock::now() < until) {
      auto e = executions_->GetExecution(started->id);
      if (e.ok() && IsFinalStatus(e->status)) return *e;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling interval, not a guess
    }
    ADD_FAILURE() << "the execution did not end within the deadline";
    return Execution{};
  }

  std::vector<Task> Tasks(int64_t execution_id) {
    auto t = executions_->ListTasks(execution_id);
    EXPECT_TRUE(t.ok());
    return t.ok() ? *t : std::vector<Task>{};
  }

  // Counts what the transcoding push reports.
  struct Observer final : NullObserver {
    void OnTranscodeSaved(std::string_view, uint64_t bytes) override { saved += bytes; }
    void OnResume(std::string_view, uint64_t bytes) override { resumed += bytes; }
    std::atomic<uint64_t> saved{0};
    std::atomic<uint64_t> resumed{0};
  };

  // The stored zstd copy's bytes.
  std::string StoredCopy(const Digest& d) {
    BlobInfo info;
    auto fd = store_->OpenStoredBlob(d, &info);
    EXPECT_TRUE(fd.ok()) << fd.status().ToString();
    if (!fd.ok()) return "";
    std::string out(info.size, '\0');
    EXPECT_EQ(::pread(fd->get(), out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
    return out;
  }

  // Waits (up to the deadline) until `done` holds; false when it never did.
  static bool WaitFor(const std::function<bool()>& done) {
    auto until = std::chrono::steady_clock::now() + kDeadline;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling interval, not a guess
    }
    return true;
  }

  bool TranscoderIdle() {
    return WaitFor([&] {
      auto st = transcoder_->Stats();
      return st.active == 0 && st.queued == 0;
    });
  }

  std::shared_ptr<Observer> observer_ = std::make_shared<Observer>();
  // Transcoder::Options::on_output, set by a test before its first run.
  std::function<void(const Digest&, uint64_t)> on_output_;
  std::shared_ptr<Store> shared_;
  std::shared_ptr<FakeRegistry> reg_ = std::make_shared<FakeRegistry>();
  std::shared_ptr<ReplicationStore> repl_;
  std::shared_ptr<ExecutionStore> executions_;
  std::shared_ptr<ProgressStore> progress_;
  std::shared_ptr<transcode::Transcoder> transcoder_;
  Endpoint dest_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(TranscodePushTest, GzipLayersArriveAsZstdInAnOciManifestWithTheSameConfig) {
  const std::string tar1 = DocBytes(3 << 20);
  const std::string tar2 = DocBytes(1 << 20) + "another layer";
  const std::string plain = "an uncompressed layer";
  const std::string gz1 = Gzip(tar1), gz2 = Gzip(tar2);
  const std::string config = R"({"rootfs":{"type":"layers","diff_ids":[]}})";
  Digest src = PushDockerImage("team/app", "v1", config, {{kDockerGzip, gz1}, {kDockerGzip, gz2}, {kDockerTar, plain}});
  Policy p = AddPolicy();
  Execution e = RunOnce(p.id);
  ASSERT_EQ(e.status, kStatusSucceed) << e.status_text;

  auto [mt, bytes] = reg_->ManifestOf("team/app", "v1");
  ASSERT_FALSE(bytes.empty());
  auto m = ParseManifest(mt, bytes);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, media::kOciManifest);
  EXPECT_NE(Sha256Of(bytes), src);
  ASSERT_EQ(m->blobs.size(), 4u);  // config + 3 layers
  EXPECT_EQ(m->blobs[0].digest, Sha256Of(config)) << "the config is unchanged";
  EXPECT_EQ(m->blobs[0].media_type, "application/vnd.oci.image.config.v1+json");
  for (int i : {1, 2}) {
    const Descriptor& l = m->blobs[static_cast<size_t>(i)];
    EXPECT_EQ(l.media_type, kOciLayerZstdType);
    const std::string z = reg_->BlobBytes(l.digest.str());
    ASSERT_FALSE(z.empty()) << "the zstd blob is at the destination";
    EXPECT_EQ(static_cast<int64_t>(z.size()), l.size);
    EXPECT_EQ(Sha256Of(Unzstd(z)), Sha256Of(i == 1 ? tar1 : tar2)) << "decompresses to the diff_id's tar";
  }
  EXPECT_EQ(m->blobs[3].digest, Sha256Of(plain));
  EXPECT_EQ(m->blobs[3].media_type, "application/vnd.oci.image.layer.v1.tar");
  EXPECT_FALSE(reg_->HasBlob("team/app", Sha256Of(gz1).str())) << "gzip layers are not sent";
  EXPECT_FALSE(reg_->HasBlob("team/app", Sha256Of(gz2).str()));
  EXPECT_EQ(transcoder_->Stats().transcodes, 2u);
  // Eviction asks about the source digest: recorded as held.
  EXPECT_TRUE(progress_->IsKnownManifest(dest_.id, src.str(), "team/app"));

  // A second run: nothing transcoded again, the image is found there.
  const uint64_t body = reg_->body_bytes();
  Execution again = RunOnce(p.id);
  ASSERT_EQ(again.status, kStatusSucceed) << again.status_text;
  EXPECT_EQ(transcoder_->Stats().transcodes, 2u);
  EXPECT_EQ(reg_->body_bytes(), body);
  auto tasks = Tasks(again.id);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].status_text, "already at the destination");
}

TEST_F(TranscodePushTest, ALayerWhoseZstdCopySavesUnderOnePercentStaysGzip) {
  std::string noise(1 << 20, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : noise) {  // xorshift: incompressible
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  const std::string text = Gzip(DocBytes(1 << 20));
  const std::string random = Gzip(noise);
  PushDockerImage("team/mixed", "v1", "{}", {{kDockerGzip, text}, {kDockerGzip, random}});
  Policy p = AddPolicy();
  Execution e = RunOnce(p.id);
  ASSERT_EQ(e.status, kStatusSucceed) << e.status_text;
  auto [mt, bytes] = reg_->ManifestOf("team/mixed", "v1");
  auto m = ParseManifest(mt, bytes);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->blobs.size(), 3u);
  EXPECT_EQ(m->blobs[1].media_type, kOciLayerZstdType);
  EXPECT_EQ(m->blobs[2].digest, Sha256Of(random)) << "the gzip layer is kept";
  EXPECT_EQ(m->blobs[2].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
  EXPECT_TRUE(reg_->HasBlob("team/mixed", Sha256Of(random).str()));
  EXPECT_EQ(transcoder_->Stats().transcodes, 2u) << "both were tried once";
}

TEST_F(TranscodePushTest, ADestinationThatRefusesZstdFailsTheTaskBeforeAnyUploadAndIsNotAskedTwice) {
  reg_->fail = [](std::string_view op, std::string_view) -> std::optional<testing::Failure> {
    if (op == "PutManifest") return testing::Failure(client::ErrorKind::kRemote4xx, 400);
    return std::nullopt;
  };
  const std::string gz = Gzip(DocBytes(1 << 20));
  PushDockerImage("team/app", "v1", "{}", {{kDockerGzip, gz}});
  Policy p = AddPolicy();
  Execution e = RunOnce(p.id);
  EXPECT_EQ(e.status, kStatusFailed);
  auto tasks = Tasks(e.id);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_NE(tasks[0].status_text.find("does not take zstd images"), std::string::npos) << tasks[0].status_text;
  // A transcode started beside the probe finishes on its own (kept for later).
  auto until = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < until) {
    auto s = transcoder_->Stats();
    if (s.active == 0 && s.queued == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling interval, not a guess
  }
  const uint64_t made = transcoder_->Stats().transcodes;
  EXPECT_LE(made, 1u) << "transcoding ran beside the probe at most";
  EXPECT_FALSE(reg_->HasBlob("team/app", Sha256Of(gz).str()));
  const int puts = reg_->calls("PutManifest");
  EXPECT_EQ(puts, 1) << "the probe's manifest";
  // The verdict is remembered: no second probe.
  Execution again = RunOnce(p.id);
  EXPECT_EQ(again.status, kStatusFailed);
  EXPECT_EQ(reg_->calls("PutManifest"), puts);
  EXPECT_EQ(transcoder_->Stats().transcodes, made) << "nothing transcoded for a destination known to refuse";
  auto t2 = Tasks(again.id);
  ASSERT_EQ(t2.size(), 1u);
  EXPECT_NE(t2[0].status_text.find("does not take zstd images"), std::string::npos) << t2[0].status_text;
}

TEST_F(TranscodePushTest, AnImageWithoutGzipLayersIsSentByteIdentical) {
  Digest src = pier::testing::PushImage(*store_, "team/plain", "v1", "config", {"tar layer"});
  Policy p = AddPolicy();
  Execution e = RunOnce(p.id);
  ASSERT_EQ(e.status, kStatusSucceed) << e.status_text;
  EXPECT_EQ(reg_->ManifestDigest("team/plain", "v1"), src.str());
  EXPECT_EQ(transcoder_->Stats().transcodes, 0u);
}

TEST_F(TranscodePushTest, ACorruptGzipLayerFailsItsTaskWithTheReason) {
  std::string bad = Gzip(DocBytes(1 << 20));
  for (size_t i = bad.size() / 2; i < bad.size() / 2 + 64; ++i) bad[i] = static_cast<char>(bad[i] ^ 0x21);
  PushDockerImage("team/bad", "v1", "{}", {{kDockerGzip, bad}});
  Policy p = AddPolicy(1);
  Execution e = RunOnce(p.id);
  EXPECT_EQ(e.status, kStatusFailed);
  auto tasks = Tasks(e.id);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].status, kStatusFailed);
  EXPECT_NE(tasks[0].status_text.find("gzip stream is corrupt"), std::string::npos) << tasks[0].status_text;
  EXPECT_EQ(reg_->ManifestDigest("team/bad", "v1"), "") << "no manifest naming a missing layer";
}

// Opens once; waited for with the deadline.
class Latch {
 public:
  void Open() {
    if (!open_.exchange(true)) p_.set_value();
  }
  bool Wait() const { return f_.wait_for(kDeadline) == std::future_status::ready; }

 private:
  std::atomic<bool> open_{false};
  std::promise<void> p_;
  std::shared_future<void> f_ = p_.get_future().share();
};

TEST_F(TranscodePushTest, ACopyIsStreamedWhileItIsMadeAndTheDestinationGetsTheFinishedCopy) {
  const std::string tar = DocBytes(6 << 20);
  const std::string gz = Gzip(tar);
  Latch body;
  reg_->on_body = [&](std::string_view op, std::string_view, const std::stop_token&) {
    if (op == "UploadChunk") body.Open();
  };
  // The transcode stops after its first output until bytes of it reached
  // the destination.
  std::atomic<int> pieces{0};
  std::atomic<bool> body_before_end{false};
  on_output_ = [&](const Digest&, uint64_t readable) {
    if (readable > 0 && pieces++ == 0) body_before_end = body.Wait();
  };
  PushDockerImage("team/app", "v1", "{}", {{kDockerGzip, gz}});
  Policy p = AddPolicy(3);
  Execution e = RunOnce(p.id);
  ASSERT_EQ(e.status, kStatusSucceed) << e.status_text;
  EXPECT_TRUE(body_before_end) << "bytes of the copy reached the destination before the transcode finished";
  EXPECT_GT(pieces.load(), 1) << "more of the copy was made after that";
  auto t = transcoder_->Lookup(Sha256Of(gz));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto [mt, bytes] = reg_->ManifestOf("team/app", "v1");
  auto m = ParseManifest(mt, bytes);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->blobs.size(), 2u);
  EXPECT_EQ(m->blobs[1].digest, t->digest);
  EXPECT_EQ(m->blobs[1].media_type, kOciLayerZstdType);
  const std::string z = reg_->BlobBytes(t->digest.str());
  EXPECT_EQ(Sha256Of(z), t->digest) << "the destination verified the digest";
  EXPECT_TRUE(z == StoredCopy(t->digest)) << "the destination holds the finished copy";
  EXPECT_EQ(Sha256Of(Unzstd(z)), Sha256Of(tar));
  EXPECT_GE(reg_->calls("UploadChunk"), 1);
  EXPECT_EQ(reg_->open_sessions(), 0u);
  EXPECT_EQ(observer_->saved.load(), t->source_size - t->size);
  EXPECT_FALSE(progress_->GetUpload(dest_.id, Sha256Of(gz).str() + "/zstd-3")) << "the stream's record is gone";
  EXPECT_FALSE(progress_->GetUpload(dest_.id, t->digest.str()));
  EXPECT_TRUE(progress_->IsKnown(dest_.id, t->digest.str(), "team/app"));
}

TEST_F(TranscodePushTest, AStreamCutMidwayResumesAtTheDestinationsOffset) {
  StartEngine(256 << 10);
  constexpr uint64_t kChunk = 256 << 10, kCutAfter = 100 << 10;
  const std::string tar = DocBytes(6 << 20);
  const std::string gz = Gzip(tar);
  std::atomic<int> patches{0};
  Latch resumed;
  reg_->fail = [&](std::string_view op, std::string_view) -> std::optional<testing::Failure> {
    if (op != "UploadChunk") return std::nullopt;
    int n = ++patches;
    if (n == 2) return testing::Failure(client::ErrorKind::kNetwork, 0, std::nullopt, kCutAfter);
    if (n == 3) resumed.Open();
    return std::nullopt;
  };
  // Held after its first output until the upload was cut and resumed: the
  // cut comes while the copy is still being made.
  std::atomic<int> pieces{0};
  std::atomic<bool> midway{false};
  on_output_ = [&](const Digest&, uint64_t readable) {
    if (readable > 0 && pieces++ == 0) midway = resumed.Wait();
  };
  PushDockerImage("team/app", "v1", "{}", {{kDockerGzip, gz}});
  Policy p = AddPolicy(3);
  Execution e = RunOnce(p.id);
  ASSERT_EQ(e.status, kStatusSucceed) << e.status_text;
  EXPECT_TRUE(midway) << "cut and resumed before the transcode finished";
  const std::vector<uint64_t> offsets = reg_->chunk_offsets();
  ASSERT_GE(offsets.size(), 3u);
  EXPECT_EQ(offsets[0], 0u);
  EXPECT_EQ(offsets[1], kChunk);
  EXPECT_EQ(offsets[2], kChunk + kCutAfter) << "continued where the destination's session was, not at byte 0";
  EXPECT_EQ(std::count(offsets.begin(), offsets.end(), 0u), 1);
  EXPECT_GE(observer_->resumed.load(), kChunk + kCutAfter);
  auto t = transcoder_->Lookup(Sha256Of(gz));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(reg_->ManifestOf("team/app", "v1").second.find(t->digest.str()) != std::string::npos, true);
  const std::string z = reg_->BlobBytes(t->digest.str());
  EXPECT_EQ(Sha256Of(z), t->digest);
  EXPECT_TRUE(z == StoredCopy(t->digest));
  EXPECT_EQ(reg_->open_sessions(), 0u);
}

TEST_F(TranscodePushTest, AStreamThatFailedIsContinuedByTheNextRunOnceTheCopyIsMade) {
  StartEngine(256 << 10);
  constexpr uint64_t kChunk = 256 << 10;
  const std::string tar = DocBytes(6 << 20);
  const std::string gz = Gzip(tar);
  std::atomic<int> patches{0};
  Latch refused;
  std::atomic<bool> refuse{true};
  reg_->fail = [&](std::string_view op, std::string_view) -> std::optional<testing::Failure> {
    if (op != "UploadChunk" || !refuse) return std::nullopt;
    if (++patches == 3) {
      refused.Open();
      return testing::Failure(client::ErrorKind::kRemote4xx, 400);  // not retried: the task fails
    }
    return std::nullopt;
  };
  std::atomic<int> pieces{0};
  std::atomic<bool> midway{false};
  on_output_ = [&](const Digest&, uint64_t readable) {
    if (readable > 0 && pieces++ == 0) midway = refused.Wait();
  };
  PushDockerImage("team/app", "v1", "{}", {{kDockerGzip, gz}});
  Policy p = AddPolicy(3);
  Execution e = RunOnce(p.id);
  ASSERT_EQ(e.status, kStatusFailed);
  ASSERT_TRUE(TranscoderIdle());
  EXPECT_TRUE(midway) << "refused while the copy was being made";  // set before the transcode went on
  auto t = transcoder_->Lookup(Sha256Of(gz));
  ASSERT_TRUE(t.ok()) << "the copy was finished and recorded: " << t.status().ToString();
  auto kept = progress_->GetUpload(dest_.id, Sha256Of(gz).str() + "/zstd-3");
  ASSERT_TRUE(kept) << "the stream's session is kept under the gzip digest";
  EXPECT_EQ(kept->offset, 2 * kChunk);
  const size_t before = reg_->chunk_offsets().size();

  refuse = false;
  Execution again = RunOnce(p.id);
  ASSERT_EQ(again.status, kStatusSucceed) << again.status_text;
  const std::vector<uint64_t> offsets = reg_->chunk_offsets();
  ASSERT_GT(offsets.size(), before);
  EXPECT_EQ(offsets[before], 2 * kChunk) << "the next run continued at the acknowledged offset";
  EXPECT_EQ(std::count(offsets.begin() + static_cast<std::ptrdiff_t>(before), offsets.end(), 0u), 0);
  const std::string z = reg_->BlobBytes(t->digest.str());
  EXPECT_EQ(Sha256Of(z), t->digest);
  EXPECT_TRUE(z == StoredCopy(t->digest));
  EXPECT_FALSE(progress_->GetUpload(dest_.id, Sha256Of(gz).str() + "/zstd-3"));
  EXPECT_FALSE(progress_->GetUpload(dest_.id, t->digest.str()));
  EXPECT_EQ(observer_->saved.load(), t->source_size - t->size);
}

TEST_F(TranscodePushTest, AStreamedCopyThatIsNotSmallerIsCancelledAndTheGzipLayerSent) {
  std::string noise(3 << 20, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : noise) {  // xorshift: incompressible
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  const std::string gz = Gzip(noise);
  Latch body;
  reg_->on_body = [&](std::string_view op, std::string_view, const std::stop_token&) {
    if (op == "UploadChunk") body.Open();
  };
  std::atomic<int> pieces{0};
  std::atomic<bool> streamed{false};
  on_output_ = [&](const Digest&, uint64_t readable) {
    if (readable > 0 && pieces++ == 0) streamed = body.Wait();
  };
  PushDockerImage("team/noise", "v1", "{}", {{kDockerGzip, gz}});
  Policy p = AddPolicy(3);
  Execution e = RunOnce(p.id);
  ASSERT_EQ(e.status, kStatusSucceed) << e.status_text;
  EXPECT_TRUE(streamed) << "the copy was being streamed";
  auto t = transcoder_->Lookup(Sha256Of(gz));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_GT(t->size + t->source_size / 100, t->source_size) << "not worth it, as the test means";
  auto [mt, bytes] = reg_->ManifestOf("team/noise", "v1");
  auto m = ParseManifest(mt, bytes);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->blobs.size(), 2u);
  EXPECT_EQ(m->blobs[1].digest, Sha256Of(gz)) << "the gzip layer is kept";
  EXPECT_TRUE(reg_->HasBlob("team/noise", Sha256Of(gz).str()));
  EXPECT_EQ(reg_->BlobBytes(t->digest.str()), "") << "the zstd copy was never committed there";
  EXPECT_GE(reg_->calls("CancelUpload"), 1) << "the streamed upload was cancelled";
  EXPECT_EQ(reg_->open_sessions(), 0u);
  EXPECT_EQ(observer_->saved.load(), 0u);
  EXPECT_FALSE(progress_->GetUpload(dest_.id, Sha256Of(gz).str() + "/zstd-3"));
}

TEST_F(TranscodePushTest, ACorruptGzipLayerEndsItsStreamAndFailsTheTaskLeavingNothingAtTheDestination) {
  std::string bad = Gzip(DocBytes(6 << 20));
  for (size_t i = bad.size() / 2; i < bad.size() / 2 + 64; ++i) bad[i] = static_cast<char>(bad[i] ^ 0x21);
  // The transcode starts only once its stream opened a session (the
  // config's session, opened by the checks, is the first).
  std::atomic<bool> streaming{false};
  on_output_ = [&](const Digest&, uint64_t readable) {
    if (readable == 0) streaming = WaitFor([&] { return reg_->calls("StartUpload") >= 2; });
  };
  PushDockerImage("team/bad", "v1", "{}", {{kDockerGzip, bad}});
  // Known to take zstd: no probe blobs in the repository.
  ASSERT_TRUE(progress_->PutZstdVerdict(dest_.id, "").ok());
  Policy p = AddPolicy(3);
  Execution e = RunOnce(p.id);
  EXPECT_EQ(e.status, kStatusFailed);
  EXPECT_TRUE(streaming);
  auto tasks = Tasks(e.id);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_NE(tasks[0].status_text.find("gzip stream is corrupt"), std::string::npos) << tasks[0].status_text;
  EXPECT_EQ(reg_->ManifestDigest("team/bad", "v1"), "");
  EXPECT_EQ(reg_->BlobsOf("team/bad"), std::set<std::string>{Sha256Of("{}").str()}) << "only the config";
  EXPECT_EQ(reg_->open_sessions(), 0u) << "the stream's session was cancelled";
  EXPECT_GE(reg_->calls("CancelUpload"), 1);
  EXPECT_FALSE(progress_->GetUpload(dest_.id, Sha256Of(bad).str() + "/zstd-3"));
  EXPECT_EQ(observer_->saved.load(), 0u);
}

TEST_F(TranscodePushTest, ARefusalWhileACopyStreamsCancelsItAfterAtMostFourMiB) {
  const std::string tar = DocBytes(16 << 20);
  const std::string gz = Gzip(tar);
  // The probe's manifest is answered (refused) once the stream sent what it
  // may before the verdict and the copy is finished (all of it readable).
  std::atomic<bool> held{false};
  reg_->fail = [&](std::string_view op, std::string_view) -> std::optional<testing::Failure> {
    if (op != "PutManifest") return std::nullopt;
    // (A last PATCH under 256 KiB waits: the stream may stop short of 4 MiB.)
    held = WaitFor([&] {
      return reg_->body_bytes() >= (4u << 20) - (256u << 10) && transcoder_->Stats().transcodes == 1;
    });
    return testing::Failure(client::ErrorKind::kRemote4xx, 400);
  };
  // The transcode waits after its first output for the stream's first
  // bytes (it must not be finished before the stream starts).
  Latch body;
  reg_->on_body = [&](std::string_view op, std::string_view, const std::stop_token&) {
    if (op == "UploadChunk") body.Open();
  };
  std::atomic<int> pieces{0};
  on_output_ = [&](const Digest&, uint64_t readable) {
    if (readable > 0 && pieces++ == 0) (void)body.Wait();
  };
  PushDockerImage("team/app", "v1", "{}", {{kDockerGzip, gz}});
  Policy p = AddPolicy(3);
  Execution e = RunOnce(p.id);
  EXPECT_EQ(e.status, kStatusFailed);
  EXPECT_TRUE(held) << "the copy streamed while the probe ran";
  auto tasks = Tasks(e.id);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_NE(tasks[0].status_text.find("does not take zstd images"), std::string::npos) << tasks[0].status_text;
  auto t = transcoder_->Lookup(Sha256Of(gz));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_GT(t->size, 5u << 20) << "a copy larger than what may go before the verdict";
  EXPECT_LE(reg_->body_bytes(), (4u << 20) + (64u << 10)) << "at most 4 MiB (and the probe's bytes) went out";
  EXPECT_EQ(reg_->BlobBytes(t->digest.str()), "") << "the copy was not committed there";
  EXPECT_GE(reg_->calls("CancelUpload"), 1);
  EXPECT_EQ(reg_->open_sessions(), 0u) << "the stream's and the config's sessions were dropped";
  EXPECT_EQ(reg_->ManifestDigest("team/app", "v1"), "");
  EXPECT_FALSE(progress_->GetUpload(dest_.id, Sha256Of(gz).str() + "/zstd-3"));
  EXPECT_EQ(observer_->saved.load(), 0u);
}

}  // namespace
}  // namespace pier::replication
