// The BlobStorage contract on local files (LocalBlobStorage).
#include <gtest/gtest.h>

#include "base/file.h"
#include "cache/local_blob_storage.h"
#include "cache/storage_marker.h"
#include "cache/store.h"
#include "tests/unit/common/blob_storage_contract.h"

namespace pier::testing {
namespace {

Backend LocalBackend() {
  return Backend{
      "local",
      [](const std::filesystem::path& dir, std::string*) -> std::shared_ptr<BlobStorage> {
        Layout layout(dir);
        EXPECT_TRUE(MakeDirs(layout.BlobsDir()).ok());
        EXPECT_TRUE(MakeDirs(layout.UploadsDir()).ok());
        return std::make_shared<LocalBlobStorage>(layout);
      },
      [](BlobStorage& s, const std::string& uuid, const std::string& bytes) {
        auto& local = dynamic_cast<LocalBlobStorage&>(s);
        auto fd = OpenForWrite(local.layout().UploadPath(uuid));
        ASSERT_TRUE(fd.ok());
        ASSERT_TRUE(WriteAt(fd->get(), 0, std::span<const char>(bytes.data(), bytes.size())).ok());
      }};
}

INSTANTIATE_TEST_SUITE_P(Local, BlobStorageContract, ::testing::Values(LocalBackend()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace pier::testing

namespace pier {
namespace {

// A store refuses a data folder whose blobs live in another storage, and
// names both; the folder's own storage opens it.
class ElsewhereStorage final : public LocalBlobStorage {
 public:
  using LocalBlobStorage::LocalBlobStorage;
  std::string identity() const override { return "s3 bucket/prefix/"; }
};

TEST(StorageMarker, AFolderOpensOnlyWithTheStorageItWasMadeWith) {
  testing::TempDir dir("pier-marker");
  Store::Options local;
  local.root = dir.path();
  local.warm_upload_bytes = 0;
  ASSERT_TRUE(Store::Open(local).ok());
  EXPECT_EQ(*ReadStorageMarker(Layout(dir.path())), "filesystem");
  Store::Options other = local;
  other.blob_storage = std::make_shared<ElsewhereStorage>(Layout(dir.path()));
  auto refused = Store::Open(other);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("\"filesystem\", not \"s3 bucket/prefix/\""), std::string::npos)
      << refused.status().message();
  ASSERT_TRUE(Store::Open(local).ok());

  // And the other way round: a folder made for S3 is not opened as local files.
  testing::TempDir dir2("pier-marker");
  other.root = dir2.path();
  other.blob_storage = std::make_shared<ElsewhereStorage>(Layout(dir2.path()));
  ASSERT_TRUE(Store::Open(other).ok());
  local.root = dir2.path();
  EXPECT_EQ(Store::Open(local).status().code(), Code::kFailedPrecondition);
  // fsck too: without the storage the folder names it refuses; with it, it checks.
  EXPECT_EQ(Fsck(dir2.path()).status().code(), Code::kFailedPrecondition);
  auto checked = Fsck(dir2.path(), FsckOptions{{}, other.blob_storage});
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_TRUE(checked->problems.empty());
}

}  // namespace
}  // namespace pier
