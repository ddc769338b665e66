// The BlobStorage contract on a real S3 (Ceph radosgw): S3BlobStorage.
#include <gtest/gtest.h>

#include "tests/unit/common/blob_storage_contract.h"
#include "tests/unit/s3store/s3_env.h"

namespace pier::testing {
namespace {

Backend S3Backend() {
  return Backend{"s3",
                 [](const std::filesystem::path&, std::string* why) -> std::shared_ptr<BlobStorage> {
                   return TestS3Storage(why);
                 },
                 [](BlobStorage& s, const std::string& uuid, const std::string& bytes) {
                   // A session without full parts: its bytes become the data object.
                   ASSERT_NE(s.remote_uploads(), nullptr);
                   ASSERT_TRUE(s.remote_uploads()->Assemble(uuid, "", {}, bytes).ok());
                 }};
}

INSTANTIATE_TEST_SUITE_P(S3, BlobStorageContract, ::testing::Values(S3Backend()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace pier::testing
