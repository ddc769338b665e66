// Store: blob upload, commit, stat/read, dedup, delete and mount.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "cache/layout.h"
#include "test_util.h"

namespace pier {
namespace {

using testing::Bytes;
using testing::CountFiles;
using testing::PushBlob;
using testing::StoreTest;

using BlobStoreTest = StoreTest;

TEST_F(BlobStoreTest, UploadCommitStatOpenRead) {
  const std::string content = "hello blob";
  auto info = PushBlob(*store_, "app/web", content);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->digest, Sha256Of(content));
  EXPECT_EQ(info->size, content.size());
  EXPECT_GT(info->created_unix, 0);

  auto stat = store_->StatBlob("app/web", info->digest);
  ASSERT_TRUE(stat.ok()) << stat.status().ToString();
  EXPECT_EQ(stat->size, content.size());

  BlobInfo opened;
  auto fd = store_->OpenBlob("app/web", info->digest, &opened);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  EXPECT_EQ(testing::ReadFd(fd->get()), content);
  EXPECT_EQ(opened.size, content.size());

  EXPECT_EQ(testing::ReadFile(Layout(root()).BlobPath(info->digest)), content);
  EXPECT_EQ(store_->StatBlob("app/other", info->digest).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->OpenBlob("app/other", info->digest, nullptr).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->RepositoryExists("app/web"));
  EXPECT_FALSE(store_->RepositoryExists("app/other"));

  auto stats = store_->GetStats();
  EXPECT_EQ(stats.blobs, 1u);
  EXPECT_EQ(stats.blob_bytes, content.size());
  EXPECT_EQ(stats.uploads, 0u);
  EXPECT_EQ(CountFiles(root() / "uploads"), 0u);
}

TEST_F(BlobStoreTest, SurvivesReopen) {
  auto info = PushBlob(*store_, "a", "persist me");
  ASSERT_TRUE(info.ok());
  Reopen();
  auto stat = store_->StatBlob("a", info->digest);
  ASSERT_TRUE(stat.ok()) << stat.status().ToString();
  EXPECT_EQ(store_->GetStats().blobs, 1u);
  EXPECT_EQ(store_->GetStats().blob_bytes, 10u);
}

TEST_F(BlobStoreTest, EmptyBlob) {
  auto info = PushBlob(*store_, "a", "");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 0u);
  EXPECT_EQ(info->digest.hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_TRUE(store_->StatBlob("a", info->digest).ok());
}

TEST_F(BlobStoreTest, GlobalDedupKeepsOneFile) {
  const std::string content = "shared base layer";
  ASSERT_TRUE(PushBlob(*store_, "team/a", content).ok());
  ASSERT_TRUE(PushBlob(*store_, "team/b", content).ok());
  ASSERT_TRUE(PushBlob(*store_, "team/b", content).ok());  // again in the same repo
  EXPECT_EQ(CountFiles(root() / "blobs"), 1u);
  EXPECT_EQ(CountFiles(root() / "uploads"), 0u);
  EXPECT_TRUE(store_->StatBlob("team/a", Sha256Of(content)).ok());
  EXPECT_TRUE(store_->StatBlob("team/b", Sha256Of(content)).ok());
  EXPECT_EQ(store_->GetStats().blobs, 1u);
  EXPECT_EQ(store_->GetStats().blob_bytes, content.size());
  // The two duplicate uploads were not stored again.
  EXPECT_EQ(store_->GetStats().dedup_saved_bytes, 2 * content.size());
}

TEST_F(BlobStoreTest, PushRepairsAMissingFile) {
  const std::string content = "damaged";
  ASSERT_TRUE(PushBlob(*store_, "a", content).ok());
  const auto path = Layout(root()).BlobPath(Sha256Of(content));
  ASSERT_TRUE(std::filesystem::remove(path));
  ASSERT_TRUE(PushBlob(*store_, "b", content).ok());
  EXPECT_EQ(testing::ReadFile(path), content);
  EXPECT_EQ(store_->GetStats().blobs, 1u);
  EXPECT_EQ(store_->GetStats().dedup_saved_bytes, 0u);  // the bytes were stored again
}

TEST_F(BlobStoreTest, DigestMismatchLeavesNothing) {
  auto up = store_->StartUpload("a");
  ASSERT_TRUE(up.ok());
  auto w = store_->OpenWriter("a", up->uuid, 0);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(Bytes("actual bytes")).ok());
  auto r = (*w)->Commit(Sha256Of("claimed bytes"));
  EXPECT_EQ(r.status().code(), Code::kDigestMismatch);
  w->reset();
  EXPECT_EQ(store_->StatBlob("a", Sha256Of("claimed bytes")).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->StatBlob("a", Sha256Of("actual bytes")).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetUpload("a", up->uuid).status().code(), Code::kNotFound);
  EXPECT_EQ(CountFiles(root() / "uploads") + CountFiles(root() / "blobs"), 0u);
  EXPECT_EQ(store_->GetStats().uploads, 0u);
  EXPECT_EQ(store_->GetStats().blobs, 0u);
}

TEST_F(BlobStoreTest, UnsupportedDigestKeepsSession) {
  auto up = store_->StartUpload("a");
  ASSERT_TRUE(up.ok());
  auto w = store_->OpenWriter("a", up->uuid, 0);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(Bytes("x")).ok());
  Digest sha512{"sha512", std::string(128, 'a')};
  EXPECT_EQ((*w)->Commit(sha512).status().code(), Code::kUnsupported);
  EXPECT_TRUE((*w)->Commit(Sha256Of("x")).ok());
}

TEST_F(BlobStoreTest, DeleteReclaimsFileOnlyWithLastLink) {
  const std::string content = "layer";
  const Digest d = Sha256Of(content);
  ASSERT_TRUE(PushBlob(*store_, "a", content).ok());
  ASSERT_TRUE(PushBlob(*store_, "b", content).ok());
  const auto path = Layout(root()).BlobPath(d);

  ASSERT_TRUE(store_->DeleteBlob("a", d).ok());
  EXPECT_EQ(store_->StatBlob("a", d).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->StatBlob("b", d).ok());
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(store_->GetStats().blobs, 1u);

  EXPECT_EQ(store_->DeleteBlob("a", d).code(), Code::kNotFound);
  ASSERT_TRUE(store_->DeleteBlob("b", d).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(store_->GetStats().blobs, 0u);
  EXPECT_EQ(store_->GetStats().blob_bytes, 0u);

  // Pushing again after full deletion stores it anew.
  ASSERT_TRUE(PushBlob(*store_, "a", content).ok());
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST_F(BlobStoreTest, MountLinksWithoutCopy) {
  const std::string content = "mount me";
  const Digest d = Sha256Of(content);
  ASSERT_TRUE(PushBlob(*store_, "src", content).ok());
  auto m = store_->MountBlob("dst", "src", d);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->size, content.size());
  EXPECT_TRUE(store_->StatBlob("dst", d).ok());
  EXPECT_TRUE(store_->RepositoryExists("dst"));
  EXPECT_EQ(CountFiles(root() / "blobs"), 1u);
  EXPECT_EQ(store_->GetStats().dedup_saved_bytes, content.size());
  EXPECT_EQ(store_->MountBlob("x", "nowhere", d).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->MountBlob("x", "src", Sha256Of("other")).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetStats().dedup_saved_bytes, content.size());  // failed mounts save nothing
  EXPECT_FALSE(store_->RepositoryExists("x"));
  // Deleting from the source keeps the mounted copy readable.
  ASSERT_TRUE(store_->DeleteBlob("src", d).ok());
  EXPECT_TRUE(store_->StatBlob("dst", d).ok());
}

TEST_F(BlobStoreTest, RejectsBadNames) {
  EXPECT_EQ(store_->StartUpload("../etc").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->StatBlob("Upper", Sha256Of("x")).status().code(), Code::kInvalidArgument);
  Digest sneaky{"sha256", "../../../../etc/passwd"};
  EXPECT_NE(store_->StatBlob("a", sneaky).status().code(), Code::kOk);
  EXPECT_NE(store_->DeleteBlob("a", sneaky).code(), Code::kOk);
}

TEST_F(BlobStoreTest, LargeBlobStreamsInChunks) {
  // 20 MiB in 1 MiB appends crosses the writeback interval twice.
  std::string chunk(1 << 20, '\0');
  Sha256 expected;
  auto up = store_->StartUpload("big");
  ASSERT_TRUE(up.ok());
  auto w = store_->OpenWriter("big", up->uuid, std::nullopt);
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 20; ++i) {
    for (size_t j = 0; j < chunk.size(); j += 4096) chunk[j] = static_cast<char>(i + j);
    expected.Update(chunk);
    ASSERT_TRUE((*w)->Append(Bytes(chunk)).ok());
  }
  EXPECT_EQ((*w)->size(), 20u << 20);
  const Digest d = expected.Finish();
  auto info = (*w)->Commit(d);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 20u << 20);
  EXPECT_EQ(std::filesystem::file_size(Layout(root()).BlobPath(d)), 20u << 20);
}

TEST_F(BlobStoreTest, ConcurrentPushesAndDeletes) {
  const std::string shared = "common layer";
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const std::string repo = "r" + std::to_string(t);
      for (int i = 0; i < 10; ++i) {
        if (!PushBlob(*store_, repo, shared).ok()) ++failures;
        if (!PushBlob(*store_, repo, repo + "-" + std::to_string(i)).ok()) ++failures;
        if (i % 3 == 1 && !store_->DeleteBlob(repo, Sha256Of(shared)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  // Each repo pushed `shared` again after its last delete (i=7).
  for (int t = 0; t < 8; ++t) EXPECT_TRUE(store_->StatBlob("r" + std::to_string(t), Sha256Of(shared)).ok());
  EXPECT_EQ(store_->GetStats().blobs, 81u);
  EXPECT_EQ(CountFiles(root() / "blobs"), 81u);
  EXPECT_EQ(store_->GetStats().uploads, 0u);
}

}  // namespace
}  // namespace pier
