#include "cmd/pier/storage_backend.h"

#include "base/file.h"
#include "base/log.h"
#include "cache/pg/db.h"
#include "cache/s3/storage.h"

namespace pier {

Result<std::shared_ptr<BlobStorage>> OpenBlobStorage(const StorageConfig& storage) {
  if (storage.type != "s3") return std::shared_ptr<BlobStorage>();
  const S3StorageConfig& c = storage.s3;
  s3::StorageOptions o;
  o.client.endpoint = c.endpoint;
  o.client.region = c.region;
  o.client.bucket = c.bucket;
  o.client.path_style = c.path_style;
  o.client.access_key = c.access_key;
  o.client.secret_key = c.secret_key;
  if (!c.ca.empty()) {
    auto pem = ReadSmallFile(c.ca);
    if (!pem.ok()) return Status::InvalidArgument("storage.s3.ca: cannot read " + c.ca + ": " + pem.status().message());
    o.client.ca_pem = std::move(*pem);
  }
  o.prefix = c.prefix;
  o.redirect = c.redirect;
  auto s3 = s3::S3BlobStorage::Create(o);
  if (!s3.ok()) return s3.status();
  std::shared_ptr<s3::S3BlobStorage> shared = std::move(*s3);
  if (Status s = shared->CheckBucket(); !s.ok()) {
    return Status(s.code(), "S3 bucket " + c.bucket + " at " + c.endpoint + ": " + s.message());
  }
  log::Info("blob storage: s3", {{"endpoint", c.endpoint},
                                 {"bucket", c.bucket},
                                 {"prefix", c.prefix},
                                 {"path_style", c.path_style ? "true" : "false"},
                                 {"redirect", c.redirect ? "true" : "false"}});
  return std::shared_ptr<BlobStorage>(std::move(shared));
}

DbOpener MetadataOpener(const MetadataConfig& metadata) {
  if (metadata.type != "postgres") return {};
  pg::PgDbOptions o;
  o.connection.dsn = metadata.postgres_dsn;
  o.connection.password = metadata.postgres_password;
  o.pool_size = static_cast<size_t>(metadata.postgres_pool_size);
  return [o]() -> Result<std::unique_ptr<Db>> {
    auto db = pg::OpenPgDb(o);
    if (!db.ok()) return Status(db.status().code(), "metadata.postgres: " + db.status().message());
    log::Info("metadata: postgres", {{"dsn", o.connection.dsn}});
    return db;
  };
}

}  // namespace pier
