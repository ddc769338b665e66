// Project quotas: usage counts a blob or manifest once per project, checks
// at commit, mount and manifest put refuse with Harbor's message and leave
// nothing behind, and usage follows deletes, GC and restarts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace pier {
namespace {

using testing::Bytes;
using testing::PushBlob;
using testing::PushImage;
using testing::StoreTest;

class QuotaTest : public StoreTest {
 protected:
  uint64_t Used(const std::string& project) {
    auto all = store_->ListQuotas();
    EXPECT_TRUE(all.ok());
    for (const auto& q : *all) {
      if (q.project == project) return q.used;
    }
    return 0;
  }
  std::string Sized(char c, size_t n) { return std::string(n, c); }
};

TEST_F(QuotaTest, ABlobCountsOncePerProjectHoweverManyRepositoriesHoldIt) {
  ASSERT_TRUE(PushBlob(*store_, "team/a", Sized('x', 1000)).ok());
  ASSERT_TRUE(PushBlob(*store_, "team/b", Sized('x', 1000)).ok());
  ASSERT_TRUE(store_->MountBlob("team/c", "team/a", Sha256Of(Sized('x', 1000))).ok());
  ASSERT_TRUE(PushBlob(*store_, "other/a", Sized('x', 1000)).ok());
  EXPECT_EQ(Used("team"), 1000u);
  EXPECT_EQ(Used("other"), 1000u);
  ASSERT_TRUE(store_->DeleteBlob("team/a", Sha256Of(Sized('x', 1000))).ok());
  ASSERT_TRUE(store_->DeleteBlob("team/b", Sha256Of(Sized('x', 1000))).ok());
  EXPECT_EQ(Used("team"), 1000u);  // team/c still holds it
  ASSERT_TRUE(store_->DeleteBlob("team/c", Sha256Of(Sized('x', 1000))).ok());
  EXPECT_EQ(Used("team"), 0u);
}

TEST_F(QuotaTest, CommitOverTheLimitIsRefusedWithHarborsMessageAndLeavesNothing) {
  ASSERT_TRUE(store_->SetQuota("team", 1500).ok());
  ASSERT_TRUE(PushBlob(*store_, "team/a", Sized('a', 1000)).ok());
  auto refused = PushBlob(*store_, "team/a", Sized('b', 1000));
  ASSERT_EQ(refused.status().code(), Code::kQuotaExceeded);
  EXPECT_NE(refused.status().message().find("Quota exceeded when processing the request of adding 1000 B of "
                                            "storage resource, which when updated to current usage of 1000 B "
                                            "will exceed the configured upper limit of 1.5 KiB"),
            std::string::npos)
      << refused.status().message();
  EXPECT_FALSE(store_->BlobStored(Sha256Of(Sized('b', 1000))));
  EXPECT_EQ(store_->GetStats().uploads, 0u);  // the refused session is gone
  EXPECT_EQ(testing::CountFiles(root() / "uploads"), 0u);
  // Bytes the project already holds are free; another project is not limited.
  EXPECT_TRUE(PushBlob(*store_, "team/b", Sized('a', 1000)).ok());
  EXPECT_TRUE(PushBlob(*store_, "other/a", Sized('b', 1000)).ok());
  // The mount of a blob new to the project is refused the same way.
  EXPECT_EQ(store_->MountBlob("team/c", "other/a", Sha256Of(Sized('b', 1000))).status().code(),
            Code::kQuotaExceeded);
  EXPECT_EQ(store_->CheckQuota("team/x", 600).code(), Code::kQuotaExceeded);
  EXPECT_TRUE(store_->CheckQuota("team/x", 500).ok());
  // Raising the limit lets it through.
  ASSERT_TRUE(store_->SetQuota("team", -1).ok());
  EXPECT_TRUE(PushBlob(*store_, "team/a", Sized('b', 1000)).ok());
}

TEST_F(QuotaTest, ManifestPutCountsItsBytesAndIsRefusedOverTheLimit) {
  PushImage(*store_, "team/a", "v1", "cfg", {"layer"});
  const uint64_t with_one = Used("team");
  EXPECT_GT(with_one, 8u);  // blobs + manifest bytes
  ASSERT_TRUE(store_->SetQuota("team", static_cast<int64_t>(with_one + 20)).ok());
  ASSERT_TRUE(PushBlob(*store_, "team/a", "c2").ok());
  const std::string bytes = nlohmann::json{{"schemaVersion", 2},
                                           {"mediaType", media::kOciManifest},
                                           {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                                                       {"digest", Sha256Of("c2").str()},
                                                       {"size", 2}}},
                                           {"layers", nlohmann::json::array()}}
                                .dump();
  auto parsed = ParseManifest(media::kOciManifest, bytes);
  ASSERT_TRUE(parsed.ok());
  auto put = store_->PutManifest("team/a", "v2", parsed->media_type, bytes, *parsed);
  EXPECT_EQ(put.status().code(), Code::kQuotaExceeded);
  EXPECT_FALSE(store_->GetManifest("team/a", "v2").ok());
  // A pull-through copy is counted, never refused.
  auto cached = store_->PutCachedManifest("team/a", "v2", parsed->media_type, bytes, *parsed);
  EXPECT_TRUE(cached.ok());
  EXPECT_EQ(Used("team"), with_one + 2 + bytes.size());
}

TEST_F(QuotaTest, UsageFollowsGcAndLimitsAndIdsSurviveARestart) {
  ASSERT_TRUE(store_->SetQuota("team", 10000).ok());
  const Digest m = PushImage(*store_, "team/a", "v1", "cfg", {"layer"});
  PushImage(*store_, "proj/a", "v1", "cfg2", {"layer2"});
  const uint64_t team = Used("team");
  auto list = store_->ListQuotas();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].project, "team");
  EXPECT_EQ((*list)[0].id, 1);
  EXPECT_EQ((*list)[0].hard, 10000);
  EXPECT_EQ((*list)[1].project, "proj");
  EXPECT_EQ((*list)[1].hard, -1);
  Reopen();
  EXPECT_EQ(Used("team"), team);  // rebuilt from the records
  auto q = store_->GetQuota(1);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->project, "team");
  EXPECT_EQ(q->hard, 10000);
  ASSERT_TRUE(store_->DeleteManifest("team/a", m).ok());
  GcOptions o;
  o.grace_seconds = 0;
  ASSERT_TRUE(store_->CollectGarbage(o).ok());
  EXPECT_EQ(Used("team"), 0u);
  EXPECT_EQ(store_->SetQuota("team/a", 1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->SetQuota("team", -2).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->GetQuota(99).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace pier
