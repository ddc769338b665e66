// NotePull batching (at most one RocksDB write per 30 s, flushed at close)
// and ListArtifacts (tags, push and pull times, sizes, index children).
#include <gtest/gtest.h>

#include "cache/db.h"
#include "cache/keys.h"
#include "cache/layout.h"
#include "tests/unit/cache/test_util.h"

namespace pier::testing {
namespace {

class PullTimesTest : public StoreTest {
 protected:
  PullTimesTest() { clock_ = &fake_; }

  // The pull time RocksDB holds for (repo, digest), read by a second,
  // read-only instance: 0 when nothing is written yet.
  int64_t Flushed(const std::string& repo, const Digest& d) {
    auto db = metadata_ ? metadata_() : OpenRocksDb(Layout(root()).MetaDir(), /*read_only=*/true);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return -1;
    auto cf = (*db)->ExtraFamily(keys::kPulls);
    if (!cf.ok()) return 0;
    auto got = (*db)->Get(*cf, keys::Join(repo, d.str()));
    if (!got.ok() || got->size() != 8) return 0;
    const std::string& v = *got;
    int64_t t = 0;
    for (int i = 7; i >= 0; --i) t = (t << 8) | static_cast<unsigned char>(v[i]);
    return t;
  }

  int64_t PulledOf(const std::string& repo, const Digest& d) {
    auto list = store_->ListArtifacts(repo);
    EXPECT_TRUE(list.ok());
    for (const auto& a : *list)
      if (a.digest == d) return a.pulled_unix;
    return -1;
  }

  FakeClock fake_;
};

TEST_F(PullTimesTest, PullsAreBatchedEvery30SecondsAndFlushedAtClose) {
  const Digest a = PushImage(*store_, "p/app", "a", "config-a");
  const Digest b = PushImage(*store_, "p/app", "b", "config-b");
  const int64_t t0 = fake_.UnixSeconds();
  store_->NotePull("p/app", a);
  EXPECT_EQ(PulledOf("p/app", a), t0);  // visible at once
  EXPECT_EQ(Flushed("p/app", a), 0);    // but not written
  fake_.Advance(std::chrono::seconds(29));
  store_->NotePull("p/app", b);
  EXPECT_EQ(Flushed("p/app", a), 0);
  fake_.Advance(std::chrono::seconds(1));
  store_->NotePull("p/app", b);  // 30 s after the period began: one batch with both
  EXPECT_EQ(Flushed("p/app", a), t0);
  EXPECT_EQ(Flushed("p/app", b), t0 + 30);
  fake_.Advance(std::chrono::seconds(5));
  store_->NotePull("p/app", a);
  EXPECT_EQ(Flushed("p/app", a), t0);
  Reopen();  // the close writes what is pending
  EXPECT_EQ(PulledOf("p/app", a), t0 + 35);
  EXPECT_EQ(PulledOf("p/app", b), t0 + 30);
}

TEST_F(PullTimesTest, ListArtifactsGivesTagsTimesAndSizes) {
  const Digest a = PushImage(*store_, "p/app", "1.0", "config-a", {"layer-one"});
  ASSERT_TRUE(store_->PutManifest("p/app", "latest", "", store_->GetManifest("p/app", "1.0")->bytes,
                                  *ParseManifest("", store_->GetManifest("p/app", "1.0")->bytes))
                  .ok());
  fake_.Advance(std::chrono::seconds(100));
  const Digest b = PushImage(*store_, "p/app", "2.0", "config-b");
  store_->NotePull("p/app", b);
  auto list = store_->ListArtifacts("p/app");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  for (const auto& art : *list) {
    const std::string bytes = store_->GetManifest("p/app", art.digest.str())->bytes;
    if (art.digest == a) {
      EXPECT_EQ(art.tags, (std::vector<std::string>{"1.0", "latest"}));
      EXPECT_EQ(art.size, bytes.size() + 8 + 9);
      EXPECT_EQ(art.pulled_unix, 0);
    } else {
      EXPECT_EQ(art.digest, b);
      EXPECT_EQ(art.tags, std::vector<std::string>{"2.0"});
      EXPECT_EQ(art.pushed_unix, fake_.UnixSeconds());
      EXPECT_EQ(art.pulled_unix, fake_.UnixSeconds());
    }
  }
  EXPECT_TRUE(store_->ListArtifacts("p/none")->empty());
}

TEST_F(PullTimesTest, DeletingAManifestDropsItsPullTime) {
  const Digest a = PushImage(*store_, "p/app", "a", "config-a");
  store_->NotePull("p/app", a);
  ASSERT_TRUE(store_->DeleteManifest("p/app", a).ok());
  const Digest again = PushImage(*store_, "p/app", "a", "config-a");
  ASSERT_EQ(again, a);
  EXPECT_EQ(PulledOf("p/app", a), 0);
}

TEST_F(PullTimesTest, PullsSpaceIsTheStoresOwn) {
  EXPECT_EQ(store_->OpenKeySpace(keys::kPulls).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace pier::testing
