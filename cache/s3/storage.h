#pragma once
// S3BlobStorage: blob bytes in an S3-compatible bucket (AWS S3, Aliyun OSS,
// MinIO, Ceph RGW), shared by every replica of a cluster (issue 14). Keys,
// under the configured prefix:
//
//   blobs/sha256/<hex[0:2]>/<hex>          a blob; written only by Promote, a
//                                          server-side copy of a verified upload
//   uploads/<uuid>/data                     the upload's bytes once assembled
//   uploads/<uuid>/tail-<start>-<length>    bytes past the last full part
//   uploads/<uuid>/multipart-<upload id>    marks the session's multipart
//                                          upload, so RemoveUpload can abort it
//                                          knowing only the uuid
//
// Why a copy at Promote and not the final key from the start: the digest is
// known only once every byte was hashed, after the parts went out. RGW and
// S3 copy server-side (RGW shares the tail objects), and registry:2's S3
// driver moves its uploads the same way.
//
// Reads are ranged GETs through a read-ahead window (Open), or one streamed
// GET per client request (OpenStream); `redirect` hands clients a presigned
// URL instead. Idempotent requests are retried on transient failures
// (5xx, SlowDown, network) up to three times with a short backoff.
#include <cstdint>
#include <memory>
#include <string>

#include "cache/blob_storage.h"
#include "cache/s3/client.h"

namespace pier::s3 {

struct StorageOptions {
  Config client;
  std::string prefix;     // "" or ending in '/'
  bool redirect = false;  // RedirectUrl gives presigned URLs
  // Multipart part size (S3: at least 5 MiB; at most 10000 parts, so 8 MiB
  // parts allow 80 GiB blobs). Smaller only for tests against a lenient store.
  uint64_t part_size = 8ull << 20;
  // Bytes fetched per ranged GET by Open()'s readers.
  uint64_t read_window = 4ull << 20;
};

class S3BlobStorage final : public BlobStorage,
                            public RemoteUploads,
                            public std::enable_shared_from_this<S3BlobStorage> {
 public:
  // Checks the options and creates the client; `CheckBucket` reaches the store.
  static Result<std::unique_ptr<S3BlobStorage>> Create(const StorageOptions& options);
  // Creates the bucket when missing (OK when it is ours), then lists it:
  // readiness (the credentials work, the store answers).
  Status CheckBucket();
  // One listing request, no retries: the bucket answers now.
  Status Ping() override;

  const char* kind() const override { return "s3"; }
  bool shared() const override { return true; }
  std::string identity() const override { return "s3 " + options_.client.bucket + "/" + options_.prefix; }
  Result<std::unique_ptr<BlobReader>> Open(const Digest& d) override;
  Result<std::optional<StoredObject>> Stat(const Digest& d) override;
  Status Remove(const Digest& d) override;
  Status ListBlobs(const std::function<bool(const StoredObject&)>& fn) override;
  Status Promote(std::string_view uuid, const Digest& d) override;
  Status Unpromote(const Digest& d, std::string_view uuid) override;
  Status RemoveUpload(std::string_view uuid) override;
  Result<std::optional<StoredObject>> StatUpload(std::string_view uuid) override;
  Status ListUploads(const std::function<bool(const StoredObject&)>& fn) override;
  RemoteUploads* remote_uploads() override { return this; }
  std::optional<std::string> RedirectUrl(const Digest& d, int ttl_seconds) const override;

  uint64_t part_size() const override { return options_.part_size; }
  Result<std::string> BeginParts(std::string_view uuid) override;
  Result<std::string> PutPart(std::string_view uuid, std::string_view upload_id, int number,
                              std::string_view bytes) override;
  Status PutTail(std::string_view uuid, uint64_t start, std::string_view bytes) override;
  Result<std::string> GetTail(std::string_view uuid, uint64_t start, uint64_t length) override;
  Status DeleteTail(std::string_view uuid, uint64_t start, uint64_t length) override;
  Status Assemble(std::string_view uuid, std::string_view upload_id, const std::vector<UploadPart>& parts,
                  std::string_view last) override;

  // Object keys (exposed for tests and `pier fsck`).
  std::string BlobKey(const Digest& d) const;
  std::string UploadPrefix(std::string_view uuid) const;
  Client& client() { return *client_; }

 private:
  S3BlobStorage(StorageOptions options, std::unique_ptr<Client> client)
      : options_(std::move(options)), client_(std::move(client)) {}
  // Runs `op` with a fresh Call, again on a transient failure.
  Status Retry(const std::function<Status(client::Call&)>& op);
  // Every object under `prefix`, page by page.
  Status ListAll(const std::string& prefix, const std::function<bool(const ObjectInfo&)>& fn);
  Status CopyLarge(const std::string& from, const std::string& to, uint64_t size);

  StorageOptions options_;
  std::unique_ptr<Client> client_;
};

}  // namespace pier::s3
