#pragma once
// Opens the blob storage the configuration names: null for the default
// (local files under --data, made by the store itself), or an S3 bucket
// checked at start (the bucket is created when missing; wrong credentials
// or an unreachable endpoint stop the start with the store's answer).
#include <memory>

#include "base/status.h"
#include "cache/blob_storage.h"
#include "cmd/pier/config.h"

namespace pier {

Result<std::shared_ptr<BlobStorage>> OpenBlobStorage(const StorageConfig& storage);

}  // namespace pier
