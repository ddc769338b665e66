// Capacity eviction (Store::Evict and the Evictor's watermarks): what goes
// first, what never goes, and that what stays is whole. Time moves on a
// FakeClock.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cache/evict/evictor.h"
#include "test_util.h"

namespace pier {
namespace {

using nlohmann::json;
using testing::Bytes;
using testing::ImageBytes;
using testing::PushBlob;
using testing::StoreTest;

constexpr int64_t kIdle = 600;

class EvictTest : public StoreTest {
 protected:
  EvictTest() { clock_ = &fake_; }

  Result<Digest> Put(std::string_view repo, std::optional<std::string_view> tag, const std::string& bytes,
                     bool cached = false) {
    auto parsed = ParseManifest("", bytes);
    if (!parsed.ok()) return parsed.status();
    return cached ? store_->PutCachedManifest(repo, tag, parsed->media_type, bytes, *parsed)
                  : store_->PutManifest(repo, tag, parsed->media_type, bytes, *parsed);
  }
  // A pull-through fill: the blob is recorded as cached.
  void CachedBlob(std::string_view repo, const std::string& content) {
    auto up = store_->StartUpload(repo);
    ASSERT_TRUE(up.ok());
    auto w = store_->OpenWriter(repo, up->uuid, 0);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(Bytes(content)).ok());
    (*w)->MarkCached();
    ASSERT_TRUE((*w)->Commit(Sha256Of(content)).ok());
  }
  Digest Image(const std::string& repo, std::optional<std::string_view> tag, const std::string& config,
               const std::vector<std::string>& layers, bool cached = false) {
    std::vector<std::string> blobs{config};
    blobs.insert(blobs.end(), layers.begin(), layers.end());
    for (const auto& b : blobs) {
      if (cached) {
        CachedBlob(repo, b);
      } else {
        EXPECT_TRUE(PushBlob(*store_, repo, b).ok());
      }
    }
    auto d = Put(repo, tag, ImageBytes(config, layers), cached);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : Digest();
  }
  EvictReport Evict(EvictOptions o) {
    o.min_idle_seconds = kIdle;
    o.log = [this](const std::string& line) { log_.push_back(line); };
    auto r = store_->Evict(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : EvictReport{};
  }
  void Idle() { fake_.Advance(std::chrono::seconds(kIdle + 1)); }
  bool Stored(const std::string& content) { return store_->BlobStored(Sha256Of(content)); }
  bool Linked(std::string_view repo, const std::string& content) {
    return store_->StatBlob(repo, Sha256Of(content)).ok();
  }
  // Without reading the manifest (a GET counts as use).
  bool HasTag(std::string_view repo, std::string_view tag) {
    auto tags = store_->ListTags(repo, "", 0);
    return tags.ok() && std::find(tags->items.begin(), tags->items.end(), tag) != tags->items.end();
  }
  void ExpectFsckClean() {
    store_.reset();
    auto report = Fsck(root(), FsckOptions{metadata_, nullptr});
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->problems.empty()) << report->problems.front();
    Reopen();
  }

  FakeClock fake_{std::chrono::system_clock::now()};
  std::vector<std::string> log_;
};

TEST_F(EvictTest, PullThroughCopiesGoFirstLeastRecentlyUsedFirst) {
  Image("hosted/app", "v1", "hosted-config", {"hosted-layer-0123456789"});
  Idle();
  Image("hub/library/old", "1", "old-config", {"old-layer-0123456789"}, /*cached=*/true);
  Idle();
  Image("hub/library/new", "1", "new-config", {"new-layer-0123456789"}, /*cached=*/true);
  Idle();
  EvictOptions o;
  o.evict_hosted = true;
  o.replicated = [](std::string_view, const Digest&, const std::vector<std::string>&) { return true; };
  o.bytes_to_free = 1;  // the least recently used image is enough
  EvictReport r = Evict(o);
  EXPECT_EQ(r.images_evicted, 1u);
  EXPECT_EQ(r.cached_bytes, std::string("old-config").size() + std::string("old-layer-0123456789").size());
  EXPECT_EQ(r.replicated_bytes, 0u);
  EXPECT_FALSE(HasTag("hub/library/old", "1"));
  EXPECT_FALSE(Stored("old-layer-0123456789"));
  EXPECT_TRUE(HasTag("hub/library/new", "1"));
  EXPECT_TRUE(HasTag("hosted/app", "v1"));  // older, but hosted: after every cached copy
  ASSERT_EQ(log_.size(), 1u);
  EXPECT_NE(log_[0].find("hub/library/old"), std::string::npos);

  o.bytes_to_free = 1000;
  r = Evict(o);
  EXPECT_EQ(r.images_evicted, 2u);  // the other cached copy, then the hosted image
  EXPECT_GT(r.cached_bytes, 0u);
  EXPECT_GT(r.replicated_bytes, 0u);
  EXPECT_EQ(store_->GetStats().blobs, 0u);
  ExpectFsckClean();
}

TEST_F(EvictTest, HostedImagesOnlyWhenOptedInAndSafeAtEveryDestination) {
  const Digest safe = Image("team/safe", "v1", "safe-config", {"safe-layer"});
  Image("team/unsafe", "v1", "unsafe-config", {"unsafe-layer"});
  Idle();
  std::vector<std::string> asked;
  EvictOptions o;
  o.bytes_to_free = 1 << 20;
  o.replicated = [&](std::string_view repo, const Digest& d, const std::vector<std::string>& tags) {
    asked.push_back(std::string(repo) + "@" + d.str() + ":" + (tags.empty() ? "" : tags[0]));
    return repo == "team/safe";
  };
  EvictReport r = Evict(o);  // not opted in
  EXPECT_EQ(r.images_evicted, 0u);
  EXPECT_TRUE(asked.empty());
  EXPECT_TRUE(HasTag("team/safe", "v1"));

  o.evict_hosted = true;
  r = Evict(o);
  EXPECT_EQ(r.images_evicted, 1u);
  EXPECT_EQ(r.unsafe_images, 1u);
  EXPECT_FALSE(HasTag("team/safe", "v1"));
  EXPECT_FALSE(Stored("safe-layer"));
  EXPECT_TRUE(HasTag("team/unsafe", "v1"));
  EXPECT_TRUE(Stored("unsafe-layer"));
  EXPECT_TRUE(std::find(asked.begin(), asked.end(), "team/safe@" + safe.str() + ":v1") != asked.end());
  ExpectFsckClean();
}

TEST_F(EvictTest, TheGuardsOwnReadIsNotAUseEvenWhenTheSecondTurns) {
  Image("team/safe", "v1", "safe-config", {"safe-layer"});
  Idle();
  EvictOptions o;
  o.bytes_to_free = 1;
  o.evict_hosted = true;
  // As replication's guard does: it reads the manifest (recorded as a use),
  // and here the clock moves on to the next second meanwhile.
  o.replicated = [&](std::string_view repo, const Digest& d, const std::vector<std::string>&) {
    fake_.Advance(std::chrono::seconds(1));
    return store_->GetManifest(repo, d.str()).ok();
  };
  EvictReport r = Evict(o);
  EXPECT_EQ(r.in_use_images, 0u);
  EXPECT_EQ(r.images_evicted, 1u);
  EXPECT_FALSE(HasTag("team/safe", "v1"));
}

TEST_F(EvictTest, BlobsAnotherImageUsesStayAndItsTagsStillPull) {
  Image("hub/app", "1", "config-1", {"shared-layer", "own-layer-1"}, true);
  Idle();
  Image("hub/app", "2", "config-2", {"shared-layer", "own-layer-2"}, true);
  Image("hub/other", "x", "config-x", {"own-layer-1"}, true);  // the same blob in another repository
  Idle();
  EvictOptions o;
  o.bytes_to_free = 1;
  EvictReport r = Evict(o);
  EXPECT_EQ(r.images_evicted, 1u);
  EXPECT_FALSE(HasTag("hub/app", "1"));
  EXPECT_FALSE(Linked("hub/app", "own-layer-1"));
  EXPECT_TRUE(Stored("own-layer-1"));           // hub/other still links it
  EXPECT_TRUE(Linked("hub/app", "shared-layer"));  // tag 2 uses it
  EXPECT_FALSE(Stored("config-1"));
  auto m = store_->GetManifest("hub/app", "2");
  ASSERT_TRUE(m.ok());
  auto parsed = ParseManifest(m->media_type, m->bytes);
  ASSERT_TRUE(parsed.ok());
  for (const auto& b : parsed->blobs) EXPECT_TRUE(store_->StatBlob("hub/app", b.digest).ok()) << b.digest.str();
  ExpectFsckClean();
}

TEST_F(EvictTest, PinnedAndRecentlyUsedImagesStay) {
  const Digest pinned = Image("hub/pinned", "1", "pinned-config", {"pinned-layer"}, true);
  const Digest pulled = Image("hub/pulled", "1", "pulled-config", {"pulled-layer"}, true);
  Image("hub/relinked", "1", "relinked-config", {"relinked-layer"}, true);
  Idle();
  store_->NotePull("hub/pulled", pulled);
  ASSERT_TRUE(store_->GetManifest("hub/pulled", "1").ok());
  // A push of the same layer again: the link is renewed, the bytes in use.
  ASSERT_TRUE(PushBlob(*store_, "hub/relinked", "relinked-layer").ok());
  EvictOptions o;
  o.bytes_to_free = 1 << 20;
  o.pinned = [&](std::string_view repo, const Digest& d) { return repo == "hub/pinned" && d == pinned; };
  EvictReport r = Evict(o);
  EXPECT_EQ(r.pinned_images, 1u);
  EXPECT_EQ(r.in_use_images, 1u);
  EXPECT_TRUE(HasTag("hub/pinned", "1"));
  EXPECT_TRUE(Stored("pinned-layer"));
  EXPECT_TRUE(HasTag("hub/pulled", "1"));
  // The relinked image goes, its freshly linked layer stays.
  EXPECT_EQ(r.images_evicted, 1u);
  EXPECT_FALSE(HasTag("hub/relinked", "1"));
  EXPECT_FALSE(Stored("relinked-config"));
  EXPECT_TRUE(Linked("hub/relinked", "relinked-layer"));
  ExpectFsckClean();
}

TEST_F(EvictTest, AnIndexGoesWithItsChildrenAndReferrers) {
  const Digest amd = Image("hub/multi", std::nullopt, "amd-config", {"amd-layer"}, true);
  const Digest arm = Image("hub/multi", std::nullopt, "arm-config", {"arm-layer"}, true);
  json idx{{"schemaVersion", 2},
           {"mediaType", media::kOciIndex},
           {"manifests", json::array({{{"mediaType", media::kOciManifest}, {"digest", amd.str()}, {"size", 1}},
                                      {{"mediaType", media::kOciManifest}, {"digest", arm.str()}, {"size", 1}}})}};
  auto index = Put("hub/multi", "1", idx.dump(), true);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  CachedBlob("hub/multi", "sig-config");
  ASSERT_TRUE(Put("hub/multi", std::nullopt, ImageBytes("sig-config", {}, *index), true).ok());
  Idle();
  EvictOptions o;
  o.bytes_to_free = 1 << 20;
  EvictReport r = Evict(o);
  EXPECT_EQ(r.images_evicted, 1u);
  auto left = store_->ListArtifacts("hub/multi");
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
  EXPECT_EQ(store_->GetStats().blobs, 0u);
  ExpectFsckClean();
}

// The Evictor measures, compares with its marks and asks for the difference.
TEST_F(EvictTest, EvictorFreesDownToTheLowMarkAndSaysWhenBlocked) {
  for (int i = 0; i < 10; ++i) {
    Image("hub/img" + std::to_string(i), "1", "config-" + std::to_string(i), {std::string(1000, char('a' + i))},
          true);
    fake_.Advance(std::chrono::seconds(1));
  }
  Image("team/mine", "1", "mine-config", {std::string(1000, 'z')});
  Idle();
  const uint64_t used = store_->GetStats().blob_bytes;  // 11 images of ~1008 bytes
  std::shared_ptr<Store> shared(store_.get(), [](Store*) {});
  evict::EvictorOptions vo;
  vo.max_bytes = used * 100 / 85;  // used is 85 %: above a high mark of 80 %
  vo.high_watermark_percent = 80;
  vo.low_watermark_percent = 50;
  vo.min_idle_seconds = kIdle;
  evict::Evictor evictor(shared, vo);
  auto r = evictor.CheckNow();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto stats = evictor.GetStats();
  EXPECT_TRUE(stats.known);
  EXPECT_EQ(stats.high_bytes, vo.max_bytes * 80 / 100);
  EXPECT_LE(store_->GetStats().blob_bytes, stats.low_bytes);
  EXPECT_GE(r->images_evicted, 4u);
  EXPECT_FALSE(stats.blocked);
  EXPECT_EQ(stats.evicted_cached_bytes, r->cached_bytes);
  EXPECT_TRUE(HasTag("hub/img9", "1"));   // the most recent stays
  EXPECT_FALSE(HasTag("hub/img0", "1"));  // the oldest went
  EXPECT_TRUE(HasTag("team/mine", "1"));

  // Below the high mark: nothing to do.
  r = evictor.CheckNow();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->images_evicted, 0u);

  // Only hosted, unreplicated content above the mark: blocked, nothing lost.
  evict::EvictorOptions tight = vo;
  tight.max_bytes = 1500;
  evict::Evictor blocked(shared, tight);
  r = blocked.CheckNow();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(blocked.GetStats().blocked);
  EXPECT_TRUE(HasTag("team/mine", "1"));
  store_.reset();  // `shared` aliases it; the evictors no longer run
}

TEST_F(EvictTest, FileSystemMarksWhenNoMaxBytes) {
  std::shared_ptr<Store> shared(store_.get(), [](Store*) {});
  evict::EvictorOptions vo;
  vo.dir = root();
  vo.probe = [](const std::filesystem::path&) { return std::optional<evict::FsUsage>({1000, 50}); };
  evict::Evictor evictor(shared, vo);
  auto r = evictor.CheckNow();
  ASSERT_TRUE(r.ok());
  const auto stats = evictor.GetStats();
  EXPECT_EQ(stats.used_bytes, 950u);
  EXPECT_EQ(stats.capacity_bytes, 1000u);
  EXPECT_EQ(stats.high_bytes, 900u);
  EXPECT_EQ(stats.low_bytes, 800u);
  EXPECT_TRUE(stats.blocked);  // nothing in the store to evict
}

}  // namespace
}  // namespace pier
