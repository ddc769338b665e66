// The Transcoder on a real store: each gzip layer transcoded once (callers
// at the same time included), its copy derived (no repository link, no
// quota), collected by GC unless held, made again byte-identical, and a
// corrupt source failing with the reason and leaving nothing behind.
#include "cache/transcode/transcoder.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "tests/unit/cache/test_util.h"
#include "tests/unit/transcode/gzip_util.h"

namespace pier::transcode {
namespace {

using pier::testing::DocBytes;
using pier::testing::Gzip;
using pier::testing::PushBlob;
using pier::testing::ReadFd;
using pier::testing::Unzstd;

class TranscoderTest : public pier::testing::StoreTest {
 protected:
  TranscoderTest() { clock_ = &fake_; }

  void SetUp() override {
    StoreTest::SetUp();
    shared_ = std::shared_ptr<Store>(store_.get(), [](Store*) {});
    tar_ = DocBytes(2 << 20);
    gz_ = Gzip(tar_);
    // Referenced by a tagged image, so GC keeps the source.
    pier::testing::PushImage(*store_, "proj/app", "v1", "config", {gz_});
    layer_ = Sha256Of(gz_);
    ASSERT_TRUE(store_->StatBlob("proj/app", layer_).ok());
    OpenTranscoder();
  }
  void TearDown() override {
    t_.reset();
    shared_.reset();
    StoreTest::TearDown();
  }
  void OpenTranscoder() {
    Transcoder::Options o;
    o.clock = &fake_;
    auto t = Transcoder::Open(shared_, o);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    t_ = *t;
  }
  GcReport Gc(std::function<bool(std::string_view, const Digest&)> pinned = nullptr) {
    GcOptions o;
    o.grace_seconds = 0;
    o.pinned = std::move(pinned);
    auto r = store_->CollectGarbage(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : GcReport{};
  }

  FakeClock fake_{std::chrono::system_clock::now()};
  std::shared_ptr<Store> shared_;
  std::shared_ptr<Transcoder> t_;
  std::string tar_, gz_;
  Digest layer_;
};

TEST_F(TranscoderTest, TranscodesOnceThenReusesAndTheCopyIsDerived) {
  auto quota_before = store_->ListQuotas();
  ASSERT_TRUE(quota_before.ok());
  auto a = t_->Ensure("proj/app", layer_, 3);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->source, layer_);
  EXPECT_EQ(a->diff_id, Sha256Of(tar_));
  EXPECT_EQ(a->source_size, gz_.size());
  EXPECT_EQ(a->level, 3);
  BlobInfo info;
  auto fd = store_->OpenStoredBlob(a->digest, &info);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  EXPECT_EQ(info.size, a->size);
  const std::string z = ReadFd(fd->get());
  EXPECT_EQ(Sha256Of(z), a->digest);
  EXPECT_EQ(Unzstd(z), tar_);
  // Derived: no repository links it, no project counts it.
  EXPECT_EQ(store_->StatBlob("proj/app", a->digest).status().code(), Code::kNotFound);
  auto quota_after = store_->ListQuotas();
  ASSERT_TRUE(quota_after.ok());
  ASSERT_EQ(quota_after->size(), quota_before->size());
  for (size_t i = 0; i < quota_after->size(); ++i) EXPECT_EQ((*quota_after)[i].used, (*quota_before)[i].used);
  EXPECT_EQ(store_->GetStats().uploads, 0u);

  auto b = t_->Ensure("proj/app", layer_, 9);  // another level: the first copy wins
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->digest, a->digest);
  EXPECT_EQ(b->level, 3);
  auto s = t_->Stats();
  EXPECT_EQ(s.transcodes, 1u);
  EXPECT_EQ(s.reused, 1u);
  EXPECT_EQ(s.gzip_bytes, gz_.size());
  EXPECT_EQ(s.zstd_bytes, a->size);

  // The record survives a restart.
  t_.reset();
  shared_.reset();
  Reopen();
  shared_ = std::shared_ptr<Store>(store_.get(), [](Store*) {});
  OpenTranscoder();
  auto known = t_->Lookup(layer_);
  ASSERT_TRUE(known.ok()) << known.status().ToString();
  EXPECT_EQ(known->digest, a->digest);
  EXPECT_EQ(known->diff_id, a->diff_id);
  auto again = t_->Ensure("proj/app", layer_, 3);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(t_->Stats().transcodes, 0u);
}

TEST_F(TranscoderTest, CallersAtTheSameTimeShareOneTranscode) {
  std::vector<std::thread> threads;
  std::vector<Result<Transcoded>> results(4, Status::Internal("not run"));
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = t_->Ensure("proj/app", layer_, 3); });
  }
  for (auto& t : threads) t.join();
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->digest, results[0]->digest);
  }
  auto s = t_->Stats();
  EXPECT_EQ(s.transcodes, 1u);
  EXPECT_EQ(s.reused, 3u);
}

TEST_F(TranscoderTest, GcTakesAnUnheldCopyAndItComesBackByteIdentical) {
  auto a = t_->Ensure("proj/app", layer_, 3);
  ASSERT_TRUE(a.ok());
  fake_.Advance(std::chrono::seconds(10));
  {
    auto lease = t_->Hold(a->digest);
    EXPECT_TRUE(t_->Held(a->digest));
    auto pinned = [this](std::string_view repo, const Digest& d) { return repo.empty() && t_->Held(d); };
    GcReport kept = Gc(pinned);
    EXPECT_TRUE(store_->BlobStored(a->digest)) << "a held copy stays";
    EXPECT_GE(kept.pinned_blobs, 1u);
  }
  EXPECT_FALSE(t_->Held(a->digest));
  GcReport r = Gc();
  EXPECT_EQ(r.blobs_deleted, 1u);
  EXPECT_FALSE(store_->BlobStored(a->digest));
  EXPECT_TRUE(store_->StatBlob("proj/app", layer_).ok()) << "the source is linked: it stays";
  // The record stays; the copy is made again with the same digest.
  auto b = t_->Ensure("proj/app", layer_, 3);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->digest, a->digest);
  EXPECT_EQ(t_->Stats().transcodes, 2u);
  EXPECT_TRUE(store_->BlobStored(b->digest));
}

TEST_F(TranscoderTest, CorruptSourceFailsWithTheReasonAndLeavesNothing) {
  std::string bad = gz_;
  for (size_t i = bad.size() / 2; i < bad.size() / 2 + 64; ++i) bad[i] = static_cast<char>(bad[i] ^ 0x33);
  auto b = PushBlob(*store_, "proj/app", bad);
  ASSERT_TRUE(b.ok());
  const auto before = store_->GetStats();
  auto r = t_->Ensure("proj/app", b->digest, 3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find(b->digest.str()), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("corrupt at byte"), std::string::npos) << r.status().message();
  const auto after = store_->GetStats();
  EXPECT_EQ(after.blobs, before.blobs);
  EXPECT_EQ(after.uploads, 0u);
  EXPECT_EQ(t_->Lookup(b->digest).status().code(), Code::kNotFound);
  EXPECT_EQ(t_->Stats().failures, 1u);
}

TEST_F(TranscoderTest, OnlyABlobTheRepositoryLinks) {
  EXPECT_EQ(t_->Ensure("other/app", layer_, 3).status().code(), Code::kNotFound);
  EXPECT_EQ(t_->Stats().transcodes, 0u);
}

TEST_F(TranscoderTest, ACopyBeingMadeCanBeFollowedAndEndsWithEnsuresResult) {
  const std::string tar = DocBytes(6 << 20);
  const std::string gz = Gzip(tar);
  pier::testing::PushImage(*store_, "proj/big", "v1", "config", {gz});
  const Digest src = Sha256Of(gz);
  EXPECT_EQ(t_->Follow(src).status().code(), Code::kNotFound) << "nothing runs yet";
  // The transcode stops after its first output until the follower read it.
  std::promise<void> read;
  std::shared_future<void> was_read = read.get_future().share();
  std::atomic<int> pieces{0};
  Transcoder::Options o;
  o.clock = &fake_;
  o.on_output = [&](const Digest&, uint64_t readable) {
    if (readable > 0 && pieces++ == 0) was_read.wait_for(std::chrono::seconds(60));
  };
  auto t = Transcoder::Open(shared_, o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  Result<Transcoded> made = Status::Internal("not run");
  std::thread maker([&] { made = (*t)->Ensure("proj/big", src, 3); });
  std::shared_ptr<GrowingCopy> g;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!g && std::chrono::steady_clock::now() < until) {
    auto f = (*t)->Follow(src);
    if (f.ok()) g = *f;
    else std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling interval, not a guess
  }
  ASSERT_TRUE(g) << "the running transcode can be followed";
  EXPECT_EQ(g->level(), 3);
  auto first = g->Wait(0, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->ended) << "held after its first output";
  ASSERT_GT(first->readable, 0u);
  std::string prefix(first->readable, '\0');
  ASSERT_EQ(::pread(g->fd(), prefix.data(), prefix.size(), 0), static_cast<ssize_t>(prefix.size()));
  EXPECT_EQ(g->result().status().code(), Code::kFailedPrecondition) << "no result while it runs";
  read.set_value();
  uint64_t at = first->readable;
  for (;;) {
    auto s = g->Wait(at, {});
    ASSERT_TRUE(s.ok());
    ASSERT_GE(s->readable, at);
    at = s->readable;
    if (s->ended) break;
  }
  maker.join();
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  auto r = g->result();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->digest, made->digest);
  EXPECT_EQ(at, made->size) << "all of it readable at the end";
  EXPECT_GT(pieces.load(), 1);
  std::string all(made->size, '\0');
  ASSERT_EQ(::pread(g->fd(), all.data(), all.size(), 0), static_cast<ssize_t>(all.size()))
      << "the descriptor reads the copy after its commit";
  EXPECT_EQ(Sha256Of(all), made->digest);
  EXPECT_TRUE(all.compare(0, prefix.size(), prefix) == 0) << "bytes read early never changed";
  EXPECT_TRUE(store_->BlobStored(made->digest)) << "the follower did not hold up the commit";
  EXPECT_EQ((*t)->Follow(src).status().code(), Code::kNotFound) << "finished: Lookup, not Follow";
  // A stop request ends a wait for bytes that will not come.
  std::stop_source stop;
  stop.request_stop();
  auto stopped = std::make_shared<GrowingCopy>(src, 3)->Wait(0, stop.get_token());
  EXPECT_EQ(stopped.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace pier::transcode
