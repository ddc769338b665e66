#pragma once
// Opens the blob storage the configuration names: null for the default
// (local files under --data, made by the store itself), or an S3 bucket
// checked at start (the bucket is created when missing; wrong credentials
// or an unreachable endpoint stop the start with the store's answer).
#include <memory>

#include "base/status.h"
#include "cache/blob_storage.h"
#include "cache/db.h"
#include "cmd/pier/config.h"

namespace pier {

Result<std::shared_ptr<BlobStorage>> OpenBlobStorage(const StorageConfig& storage);

// How the store opens its records: empty for the default (RocksDB under
// --data), else a PostgreSQL opener (login checked and schema migrated when
// the store opens).
DbOpener MetadataOpener(const MetadataConfig& metadata);

}  // namespace pier
