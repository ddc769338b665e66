// Store::Open recovery: orphans and stale sessions left by crashes go away,
// everything acknowledged stays.
#include <gtest/gtest.h>

#include "cache/layout.h"
#include "test_util.h"

namespace pier {
namespace {

using testing::Bytes;
using testing::CountFiles;
using testing::PushBlob;
using testing::StoreTest;
using testing::WriteFile;

using RecoveryTest = StoreTest;

TEST_F(RecoveryTest, RemovesOrphanFiles) {
  auto kept = PushBlob(*store_, "a", "kept blob");
  ASSERT_TRUE(kept.ok());
  store_.reset();
  Layout layout(root());
  const Digest orphan = Sha256Of("renamed but never recorded");
  WriteFile(layout.BlobPath(orphan), "renamed but never recorded");
  WriteFile(layout.BlobsDir() / "ab" / "not-a-digest.tmp", "x");
  WriteFile(layout.BlobsDir() / "tmp-123", "x");
  WriteFile(layout.UploadPath(NewUploadId()), "session never recorded");
  WriteFile(layout.UploadsDir() / "junk.partial", "x");
  Reopen();
  EXPECT_FALSE(std::filesystem::exists(layout.BlobPath(orphan)));
  EXPECT_EQ(CountFiles(layout.BlobsDir()), 1u);
  EXPECT_EQ(CountFiles(layout.UploadsDir()), 0u);
  EXPECT_TRUE(store_->StatBlob("a", kept->digest).ok());
  EXPECT_EQ(testing::ReadFile(layout.BlobPath(kept->digest)), "kept blob");
}

TEST_F(RecoveryTest, ExpiresStaleSessions) {
  auto up = store_->StartUpload("a");
  ASSERT_TRUE(up.ok());
  {
    auto w = store_->OpenWriter("a", up->uuid, 0);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(Bytes("abc")).ok());
    ASSERT_TRUE((*w)->Flush().ok());
  }
  Reopen(/*upload_max_age_seconds=*/3600);
  EXPECT_TRUE(store_->GetUpload("a", up->uuid).ok());
  Reopen(/*upload_max_age_seconds=*/-1);  // everything counts as idle too long
  EXPECT_EQ(store_->GetUpload("a", up->uuid).status().code(), Code::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(Layout(root()).UploadPath(up->uuid)));
  EXPECT_EQ(store_->GetStats().uploads, 0u);
}

TEST_F(RecoveryTest, DropsSessionsWhoseAcknowledgedBytesAreGone) {
  auto up = store_->StartUpload("a");
  ASSERT_TRUE(up.ok());
  {
    auto w = store_->OpenWriter("a", up->uuid, 0);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(Bytes("abc")).ok());
    ASSERT_TRUE((*w)->Flush().ok());
  }
  store_.reset();
  ASSERT_TRUE(std::filesystem::remove(Layout(root()).UploadPath(up->uuid)));
  Reopen();
  EXPECT_EQ(store_->GetUpload("a", up->uuid).status().code(), Code::kNotFound);
}

TEST_F(RecoveryTest, StatsCountedAtOpen) {
  ASSERT_TRUE(PushBlob(*store_, "a", "one").ok());
  ASSERT_TRUE(PushBlob(*store_, "b", "three").ok());
  ASSERT_TRUE(store_->StartUpload("a").ok());
  Reopen();
  auto s = store_->GetStats();
  EXPECT_EQ(s.blobs, 2u);
  EXPECT_EQ(s.blob_bytes, 8u);
  EXPECT_EQ(s.uploads, 1u);
}

}  // namespace
}  // namespace pier
