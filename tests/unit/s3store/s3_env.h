#pragma once
// An S3BlobStorage on the test process's radosgw (tests/unit/common/rgw.h):
// one shared bucket, a fresh key prefix per storage so tests never see each
// other's objects.
#include <atomic>
#include <memory>
#include <random>
#include <string>

#include "cache/s3/storage.h"
#include "tests/unit/common/rgw.h"

namespace pier::testing {

inline constexpr const char* kS3TestBucket = "pier-store-tests";

// Null, with *why set, when no radosgw can run here.
inline std::shared_ptr<s3::S3BlobStorage> TestS3Storage(std::string* why, uint64_t part_size = 5ull << 20,
                                                        bool redirect = false) {
  auto& rgw = rgw_internal::Shared();
  if (rgw.info == nullptr) {
    *why = rgw.why.empty() ? "no radosgw" : rgw.why;
    return nullptr;
  }
  static std::atomic<int> counter{0};
  s3::StorageOptions o;
  o.client.endpoint = rgw.info->endpoint;
  o.client.region = rgw.info->region.empty() ? "us-east-1" : rgw.info->region;
  o.client.bucket = kS3TestBucket;
  o.client.access_key = rgw.info->access_key;
  o.client.secret_key = rgw.info->secret_key;
  o.prefix = "t" + std::to_string(std::random_device{}()) + "-" + std::to_string(counter++) + "/";
  o.part_size = part_size;
  o.redirect = redirect;
  auto s = s3::S3BlobStorage::Create(o);
  if (!s.ok()) {
    *why = "S3BlobStorage::Create: " + s.status().ToString();
    return nullptr;
  }
  std::shared_ptr<s3::S3BlobStorage> shared = std::move(*s);
  if (Status c = shared->CheckBucket(); !c.ok()) {
    *why = "CheckBucket: " + c.ToString();
    return nullptr;
  }
  return shared;
}

}  // namespace pier::testing
