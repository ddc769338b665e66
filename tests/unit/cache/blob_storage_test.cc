// The BlobStorage contract on local files (LocalBlobStorage).
#include <gtest/gtest.h>

#include "base/file.h"
#include "cache/local_blob_storage.h"
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
