// SendBlob and FetchBlob against the in-memory registry: only missing bytes
// move, cuts resume from the persisted offset and teach the link's limit
// (only when they prove it), Retry-After is honoured; CheckBlobs hands each
// blob over as soon as its own check ends.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "../cache/test_util.h"
#include "replication/blob_fetcher.h"
#include "replication/blob_sender.h"
#include "replication/progress_store.h"
#include "tests/unit/replication/fake_client.h"

namespace pier::replication {
namespace {

using pier::testing::PushBlob;
using testing::FakeClient;
using testing::FakeRegistry;
using testing::Failure;

constexpr int64_t kDest = 1;

class TransferTest : public pier::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto p = ProgressStore::Open(*store_);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    progress_ = std::move(*p);
    client_ = std::make_unique<FakeClient>(reg_);
  }

  SendEnv Env(uint64_t chunk_size = 256 << 10, int attempts = 4) {
    SendEnv env;
    env.store = store_.get();
    env.client = client_.get();
    env.progress = progress_.get();
    env.observer = &observer_;
    env.link = &link_;
    env.dest_id = kDest;
    env.dest_name = "fake";
    env.policy_name = "p";
    env.chunk_size = chunk_size;
    env.retry.max_attempts_without_progress = attempts;
    env.retry.initial = std::chrono::milliseconds(1);
    env.retry.max = std::chrono::milliseconds(1);
    env.retry.sleep = [this](std::chrono::milliseconds d, const std::stop_token&) {
      std::lock_guard lock(mu_);
      waits_.push_back(d);
      return true;
    };
    return env;
  }

  // A local blob in `repo` and the job that sends it to the same repository.
  BlobJob Local(const std::string& repo, const std::string& content) {
    EXPECT_TRUE(PushBlob(*store_, repo, content).ok());
    return BlobJob{repo, repo, Sha256Of(content), content.size()};
  }

  std::shared_ptr<FakeRegistry> reg_ = std::make_shared<FakeRegistry>();
  std::unique_ptr<FakeClient> client_;
  std::unique_ptr<ProgressStore> progress_;
  NullObserver observer_;
  LinkState link_;
  std::mutex mu_;
  std::vector<std::chrono::milliseconds> waits_;
};

TEST_F(TransferTest, ABlobTheDestinationHasIsNotSent) {
  BlobJob job = Local("app", "layer bytes");
  reg_->AddBlob("app", "layer bytes");
  auto r = SendBlob(Env(), job);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, BlobOutcome::kSkipped);
  EXPECT_EQ(reg_->calls("HeadBlob"), 1);
  EXPECT_EQ(reg_->calls("UploadBlob") + reg_->calls("StartUpload"), 0);
  EXPECT_EQ(reg_->body_bytes(), 0u);
  // Remembered: the next time not even a HEAD goes out.
  EXPECT_TRUE(progress_->IsKnown(kDest, job.digest.str(), "app"));
  ASSERT_TRUE(SendBlob(Env(), job).ok());
  EXPECT_EQ(reg_->calls("HeadBlob"), 1);
}

TEST_F(TransferTest, ABlobInAnotherRepositoryIsMounted) {
  BlobJob job = Local("app", "shared base layer");
  reg_->AddBlob("base", "shared base layer");
  ASSERT_TRUE(progress_->AddKnown(kDest, job.digest.str(), "base").ok());
  auto r = SendBlob(Env(), job);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, BlobOutcome::kMounted);
  EXPECT_EQ(reg_->calls("MountBlob"), 1);
  EXPECT_EQ(reg_->body_bytes(), 0u);
  EXPECT_TRUE(reg_->HasBlob("app", job.digest.str()));
}

TEST_F(TransferTest, AnUploadCutMidwayResumesFromThePersistedOffset) {
  const uint64_t chunk = 256 << 10;
  std::string content(4 * chunk + 1000, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 % 251);
  BlobJob job = Local("app", content);
  // The second chunk breaks; no retry in this attempt (as if the process died).
  int chunks = 0;
  reg_->fail = [&](std::string_view op, std::string_view) -> std::optional<Failure> {
    if (op == "UploadChunk" && ++chunks == 2) return Failure{client::ErrorKind::kNetwork};
    return std::nullopt;
  };
  // What each sender reports: acknowledged bytes, and bytes found already there.
  uint64_t acked = 0, present = 0;
  auto counting = [&](SendEnv env) {
    env.on_bytes = [&](uint64_t n) { acked += n; };
    env.on_present = [&](uint64_t n) { present += n; };
    return env;
  };
  auto first = SendBlob(counting(Env(chunk, /*attempts=*/1)), job);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(acked, chunk);  // the first chunk's PATCH was answered; the cut one was not
  EXPECT_EQ(present, 0u);
  acked = 0;
  auto saved = progress_->GetUpload(kDest, job.digest.str());
  ASSERT_TRUE(saved.has_value());
  EXPECT_EQ(saved->offset, chunk);
  EXPECT_EQ(reg_->body_bytes(), chunk);

  reg_->fail = nullptr;
  auto second = SendBlob(counting(Env(chunk)), job);  // a fresh sender: only the store remembers
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(present, chunk);                   // from the earlier run: not sent by this one
  EXPECT_EQ(acked, content.size() - chunk);    // the rest, as it was acknowledged
  EXPECT_EQ(*second, BlobOutcome::kUploaded);
  // Asked twice: a session an earlier writer left must hold still for a
  // second before this one continues it (its last bytes may be in flight).
  EXPECT_EQ(reg_->calls("GetUploadStatus"), 2);
  EXPECT_EQ(reg_->calls("StartUpload"), 1);      // the session was continued, not restarted
  EXPECT_EQ(reg_->body_bytes(), content.size());  // no byte sent twice
  EXPECT_EQ(reg_->uploads(job.digest.str()), 1);
  EXPECT_TRUE(reg_->HasBlob("app", job.digest.str()));
}

// On a slow link one chunk lasts seconds: what the destination's TCP stack
// acknowledged within it is reported as it comes (the fake acknowledges
// half of each body before answering), each offset once.
TEST_F(TransferTest, AcknowledgedBytesAreReportedWithinAChunk) {
  const uint64_t chunk = 256 << 10;
  std::string content(3 * chunk, 'x');
  BlobJob job = Local("app", content);
  std::vector<uint64_t> reports;
  SendEnv env = Env(chunk);
  env.on_bytes = [&](uint64_t n) { reports.push_back(n); };
  auto r = SendBlob(env, job);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(reports.size(), 6u);  // half of each of the three chunks, then its answer
  uint64_t sum = 0;
  for (uint64_t n : reports) {
    EXPECT_EQ(n, chunk / 2);
    sum += n;
  }
  EXPECT_EQ(sum, content.size());
}

std::string Pattern(size_t n) {
  std::string content(n, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 % 251);
  return content;
}

// Parallel workers on a fresh link are cut together: the first to fail
// learns the limit, and the cuts of requests that went out before it did
// (under no budget) say nothing about that estimate. Taken as "still too
// high" they halved it once per worker (issue 10 §6, the 262-connection run).
TEST_F(TransferTest, ACutOfARequestSentBeforeTheEstimateDoesNotShrinkIt) {
  constexpr uint64_t kMiB = 1 << 20;
  BlobJob job = Local("app", Pattern(10 * kMiB));
  int chunks = 0;
  reg_->fail = [&](std::string_view op, std::string_view) -> std::optional<Failure> {
    if (op == "UploadChunk" && ++chunks == 1) return Failure{client::ErrorKind::kNetwork, 0, std::nullopt, 5 * kMiB};
    return std::nullopt;
  };
  // While the first chunk is on its way, another worker's cut teaches 4 MiB.
  reg_->on_body = [&](std::string_view op, std::string_view, const std::stop_token&) {
    if (op == "UploadChunk" && chunks == 1) link_.cut_after_bytes = 4 * kMiB;
  };
  auto r = SendBlob(Env(/*chunk_size=*/8 * kMiB), job);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, BlobOutcome::kUploaded);
  EXPECT_EQ(link_.cut_after_bytes.load(), 4 * kMiB);
  EXPECT_GE(chunks, 3);  // the rest went in chunks that fit half of 4 MiB
  EXPECT_EQ(reg_->body_bytes(), job.size);  // the cut session kept its bytes: none sent twice
}

// The other side of it: a request that went out under the estimate's budget
// and was still cut proves the estimate high.
TEST_F(TransferTest, ACutUnderTheEstimatesBudgetShrinksIt) {
  constexpr uint64_t kMiB = 1 << 20;
  BlobJob job = Local("app", Pattern(6 * kMiB));
  link_.cut_after_bytes = 4 * kMiB;
  int chunks = 0;
  reg_->fail = [&](std::string_view op, std::string_view) -> std::optional<Failure> {
    if (op == "UploadChunk" && ++chunks == 1) {
      return Failure{client::ErrorKind::kNetwork, 0, std::nullopt, 3 * kMiB / 2};
    }
    return std::nullopt;
  };
  auto r = SendBlob(Env(/*chunk_size=*/8 * kMiB), job);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(link_.cut_after_bytes.load(), 3 * kMiB / 2);
}

// The image's checks all go at once; a blob whose own HEAD and POST are
// answered is handed over (its body can start) while another blob's check
// is still out. Here the small blob's HEAD is held until the large blob was
// reported, or a deadline passes.
TEST_F(TransferTest, ABlobsCheckEndsWithoutWaitingForTheOthers) {
  BlobJob small = Local("slow", "config bytes");
  BlobJob large = Local("app", std::string(300000, 'l'));
  std::vector<BlobJob> jobs{small, large};
  std::mutex m;
  std::condition_variable cv;
  bool large_reported = false;
  bool held_until_reported = false;
  reg_->fail = [&](std::string_view op, std::string_view repo) -> std::optional<Failure> {
    if (op == "HeadBlob" && repo == "slow") {
      std::unique_lock lock(m);
      held_until_reported = cv.wait_for(lock, std::chrono::seconds(10), [&] { return large_reported; });
    }
    return std::nullopt;
  };
  std::vector<size_t> reported;
  auto checks = CheckBlobs(Env(), jobs, /*open_sessions=*/true, [&](size_t i) {
    std::lock_guard lock(m);
    reported.push_back(i);
    if (i == 1) large_reported = true;
    cv.notify_all();
  });
  EXPECT_TRUE(held_until_reported) << "the large blob was reported only after every check ended";
  EXPECT_EQ(reported, (std::vector<size_t>{1, 0}));
  EXPECT_EQ(checks, (std::vector<BlobCheck>{BlobCheck::kMissing, BlobCheck::kMissing}));
  EXPECT_TRUE(jobs[1].checked_missing);
  EXPECT_TRUE(jobs[1].session.has_value());  // its upload session, opened beside the HEAD
}

TEST_F(TransferTest, ThrottledRequestsWaitForRetryAfter) {
  BlobJob job = Local("app", "small layer");
  int heads = 0;
  reg_->fail = [&](std::string_view op, std::string_view) -> std::optional<Failure> {
    if (op == "HeadBlob" && ++heads == 1) return Failure{client::ErrorKind::kThrottled, 429, 7};
    return std::nullopt;
  };
  auto r = SendBlob(Env(), job);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, BlobOutcome::kUploaded);
  EXPECT_EQ(heads, 2);
  ASSERT_EQ(waits_.size(), 1u);
  // The backoff alone would wait a millisecond; the registry asked for 7 s.
  EXPECT_GE(waits_[0], std::chrono::seconds(7));
}

TEST_F(TransferTest, FetchSkipsABlobAlreadyHere) {
  BlobJob job = Local("app", "already local");
  reg_->AddBlob("app", "already local");
  auto r = FetchBlob(Env(), job);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, BlobOutcome::kSkipped);
  EXPECT_EQ(reg_->calls("GetBlob"), 0);
}

TEST_F(TransferTest, AFetchCutMidwayContinuesFromTheCommittedOffset) {
  std::string content(40000, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 13 % 241);
  reg_->AddBlob("upstream", content);
  BlobJob job{"upstream", "app", Sha256Of(content), content.size()};
  int gets = 0;
  reg_->fail = [&](std::string_view op, std::string_view) -> std::optional<Failure> {
    if (op == "GetBlob" && ++gets == 1) return Failure{client::ErrorKind::kNetwork, 0, std::nullopt, 8192};
    return std::nullopt;
  };
  auto r = FetchBlob(Env(/*chunk_size=*/4096), job);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, BlobOutcome::kUploaded);
  EXPECT_EQ(reg_->get_offsets(), (std::vector<uint64_t>{0, 8192}));
  BlobInfo info;
  auto fd = store_->OpenBlob("app", job.digest, &info);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  EXPECT_EQ(pier::testing::ReadFd(fd->get()), content);
}

// A blob the test writes while StreamBlob sends it: a file in the test's
// folder, its readable prefix published as it is written.
class TestGrowing final : public GrowingBlob {
 public:
  TestGrowing(const std::filesystem::path& path, std::string content) : content_(std::move(content)) {
    fd_ = UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600));
  }
  // Writes the content up to `n` and publishes it.
  void Grow(uint64_t n) {
    std::lock_guard lock(mu_);
    EXPECT_EQ(::pwrite(fd_.get(), content_.data() + readable_, n - readable_, static_cast<off_t>(readable_)),
              static_cast<ssize_t>(n - readable_));
    readable_ = n;
    cv_.notify_all();
  }
  void End(Status failure = Status::OK()) {
    if (failure.ok()) Grow(content_.size());
    std::lock_guard lock(mu_);
    ended_ = true;
    failure_ = failure;
    cv_.notify_all();
  }
  Result<Seen> Wait(uint64_t offset, std::stop_token stop) override {
    std::unique_lock lock(mu_);
    if (!cv_.wait(lock, stop, [&] { return ended_ || readable_ > offset; })) return Status::Unavailable("stopped");
    return Seen{readable_, ended_};
  }
  int fd() override { return fd_.get(); }
  Result<std::pair<Digest, uint64_t>> Final() override {
    std::lock_guard lock(mu_);
    if (!failure_.ok()) return failure_;
    return std::make_pair(Sha256Of(content_), uint64_t{content_.size()});
  }
 private:
  std::string content_;
  UniqueFd fd_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  uint64_t readable_ = 0;
  bool ended_ = false;
  Status failure_ = Status::OK();
};

// Waits (up to a minute) until `done` holds.
bool Eventually(const std::function<bool()>& done) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling interval, not a guess
  }
  return true;
}

TEST_F(TransferTest, AGrowingBlobGoesOutAsItIsWrittenAndEndsWithItsDigest) {
  const std::string content = Pattern(1500 << 10);
  TestGrowing blob(root() / "growing", content);
  GrowingJob job{"app", "stream-key", "the growing blob", nullptr};
  std::atomic<uint64_t> acked{0};
  SendEnv env = Env(8 << 20);
  env.on_bytes = [&](uint64_t n) { acked += n; };
  blob.Grow(300 << 10);
  Result<BlobOutcome> r = Status::Internal("not run");
  std::thread sender([&] { r = StreamBlob(env, job, blob); });
  // Bytes reach the destination before the blob is finished...
  EXPECT_TRUE(Eventually([&] { return reg_->body_bytes() >= (256u << 10); }));
  EXPECT_TRUE(progress_->GetUpload(kDest, "stream-key")) << "its session is kept under its key";
  blob.End();
  sender.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, BlobOutcome::kUploaded);
  // ...and it ends with the whole blob under its digest.
  EXPECT_TRUE(reg_->BlobBytes(Sha256Of(content).str()) == content);
  EXPECT_EQ(acked.load(), content.size()) << "every byte counted once";
  EXPECT_EQ(reg_->chunk_offsets().front(), 0u);
  EXPECT_FALSE(progress_->GetUpload(kDest, "stream-key"));
  EXPECT_TRUE(progress_->IsKnown(kDest, Sha256Of(content).str(), "app"));
  EXPECT_EQ(reg_->open_sessions(), 0u);
}

TEST_F(TransferTest, AGrowingBlobRefusedAtItsEndCancelsItsSession) {
  const std::string content = Pattern(700 << 10);
  TestGrowing blob(root() / "growing", content);
  bool asked = false;
  GrowingJob job{"app", "stream-key", "the growing blob", [&](const Digest& d, uint64_t size) {
                   asked = true;
                   EXPECT_EQ(d, Sha256Of(content));
                   EXPECT_EQ(size, content.size());
                   return Status::FailedPrecondition("not wanted");
                 }};
  blob.Grow(400 << 10);
  Result<BlobOutcome> r = Status::Internal("not run");
  std::thread sender([&] { r = StreamBlob(Env(), job, blob); });
  EXPECT_TRUE(Eventually([&] { return reg_->body_bytes() >= (256u << 10); }));
  blob.End();
  sender.join();
  EXPECT_TRUE(asked);
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status().ToString();
  EXPECT_EQ(reg_->calls("CancelUpload"), 1);
  EXPECT_EQ(reg_->open_sessions(), 0u);
  EXPECT_EQ(reg_->BlobBytes(Sha256Of(content).str()), "");
  EXPECT_FALSE(progress_->GetUpload(kDest, "stream-key"));
}

TEST_F(TransferTest, AGrowingBlobThatCouldNotBeMadeIsCancelledNotRetried) {
  const std::string content = Pattern(700 << 10);
  TestGrowing blob(root() / "growing", content);
  GrowingJob job{"app", "stream-key", "the growing blob", nullptr};
  blob.Grow(400 << 10);
  Result<BlobOutcome> r = Status::Internal("not run");
  std::thread sender([&] { r = StreamBlob(Env(), job, blob); });
  EXPECT_TRUE(Eventually([&] { return reg_->body_bytes() >= (256u << 10); }));
  blob.End(Status::Corruption("gzip stream is corrupt at byte 12"));
  sender.join();
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find("gzip stream is corrupt"), std::string::npos);
  EXPECT_EQ(reg_->calls("StartUpload"), 1) << "not retried";
  EXPECT_EQ(reg_->open_sessions(), 0u) << "cancelled";
  EXPECT_FALSE(progress_->GetUpload(kDest, "stream-key"));
}

TEST_F(TransferTest, AGrowingBlobCutMidwayTeachesTheLinkAndResumesAtTheDestinationsOffset) {
  const std::string content = Pattern(6 << 20);
  TestGrowing blob(root() / "growing", content);
  GrowingJob job{"app", "stream-key", "the growing blob", nullptr};
  int chunks = 0;
  reg_->fail = [&](std::string_view op, std::string_view) -> std::optional<Failure> {
    if (op == "UploadChunk" && ++chunks == 1) return Failure{client::ErrorKind::kNetwork, 0, std::nullopt, 2 << 20};
    return std::nullopt;
  };
  blob.Grow(4 << 20);
  Result<BlobOutcome> r = Status::Internal("not run");
  std::thread sender([&] { r = StreamBlob(Env(8 << 20), job, blob); });
  // Cut after 2 MiB of the first PATCH, then continued from there.
  EXPECT_TRUE(Eventually([&] { return reg_->chunk_offsets().size() >= 2; }));
  blob.End();
  sender.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(link_.cut_after_bytes.load(), 2u << 20) << "the cut taught the link's limit";
  const auto offsets = reg_->chunk_offsets();
  ASSERT_GE(offsets.size(), 2u);
  EXPECT_EQ(offsets[0], 0u);
  EXPECT_EQ(offsets[1], 2u << 20) << "resumed at the destination's offset";
  for (size_t i = 2; i < offsets.size(); ++i) EXPECT_LE(offsets[i] - offsets[i - 1], 1u << 20) << "chunks fit the budget";
  EXPECT_TRUE(reg_->BlobBytes(Sha256Of(content).str()) == content);
}

}  // namespace
}  // namespace pier::replication
