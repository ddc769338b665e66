#pragma once
// BlobStorage: where blob bytes live. Local files under the data folder
// (LocalBlobStorage, the default) or an S3-compatible bucket (issue 14, for
// several replicas). The store keeps every record (links, sizes, sessions)
// in its metadata; a storage only holds bytes: blobs named by digest, and
// the bytes of upload sessions in progress named by their uuid.
//
// Promises (every implementation):
//  - A blob object holds exactly the bytes its digest names. It appears only
//    through Promote, which the store calls after verifying the upload's
//    hash, and it never changes afterwards.
//  - Promote, Remove and RemoveUpload are durable when they return and
//    idempotent (removing what is absent is OK).
//  - ListBlobs and ListUploads see every object, orphans a crash left
//    included: garbage collection removes those, judged by their age.
//  - A reader opened before a Remove keeps reading the same bytes, or fails
//    (a remote store may lose them); it never reads other bytes.
//  - Thread-safe.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/file.h"
#include "base/status.h"

namespace pier {

// One object as a listing sees it.
struct StoredObject {
  std::string name;  // a blob's digest hex, or an upload's uuid
  uint64_t size = 0;
  int64_t mtime_unix = 0;  // last write
};

// Random-access reads of one stored blob.
class BlobReader {
 public:
  virtual ~BlobReader() = default;
  virtual uint64_t size() const = 0;
  // Reads up to data.size() bytes at `offset`; fewer only at the end (0 past
  // it). Sequential reads are cheap (remote readers read ahead).
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<char> data) = 0;
  // The descriptor holding the bytes, for sendfile(2) and pread(2); -1 when
  // the bytes are remote.
  virtual int fd() const = 0;
  // Hands the descriptor over (local readers); Unsupported for remote bytes.
  virtual Result<UniqueFd> TakeFd() = 0;
};

// How an upload writer keeps a session's bytes in a remote storage, so the
// session continues on any replica after any flush: full parts of a
// multipart upload, plus the short tail past the last part as a small
// object of its own, rewritten at each flush under a new name (the record
// names the tail it vouches for; a flush whose record write failed leaves
// the old tail intact).
struct UploadPart {
  int number = 0;
  std::string etag;
};

class RemoteUploads {
 public:
  virtual ~RemoteUploads() = default;
  // Every part but the last has exactly this many bytes (S3: at least 5 MiB).
  virtual uint64_t part_size() const = 0;
  // Starts the session's multipart upload; returns its id.
  virtual Result<std::string> BeginParts(std::string_view uuid) = 0;
  // Stores part `number` (1-based; sending a number again replaces it).
  virtual Result<std::string> PutPart(std::string_view uuid, std::string_view upload_id, int number,
                                      std::string_view bytes) = 0;
  // The tail: the session's bytes [start, start + bytes.size()).
  virtual Status PutTail(std::string_view uuid, uint64_t start, std::string_view bytes) = 0;
  virtual Result<std::string> GetTail(std::string_view uuid, uint64_t start, uint64_t length) = 0;
  virtual Status DeleteTail(std::string_view uuid, uint64_t start, uint64_t length) = 0;
  // Makes the session's data object hold the parts followed by `last`
  // (just `last` when there are no parts), ready for BlobStorage::Promote.
  virtual Status Assemble(std::string_view uuid, std::string_view upload_id, const std::vector<UploadPart>& parts,
                          std::string_view last) = 0;
};

class BlobStorage {
 public:
  virtual ~BlobStorage() = default;
  // "filesystem" or "s3": for logs, metrics and `pier fsck`.
  virtual const char* kind() const = 0;
  // Whether other processes (replicas) share these bytes. A shared storage's
  // leftovers may be another replica's commit in progress: only garbage
  // collection removes them, by age, never the startup pass.
  virtual bool shared() const = 0;
  // What a data folder records as the home of its blobs ("filesystem",
  // "s3 BUCKET/PREFIX"): a store refuses to open a folder whose blobs live
  // elsewhere (storage_marker.h).
  virtual std::string identity() const = 0;

  // --- blobs ---
  // NotFound when the blob object is absent.
  virtual Result<std::unique_ptr<BlobReader>> Open(const Digest& d) = 0;
  // The blob object's size, nullopt when absent.
  virtual Result<std::optional<StoredObject>> Stat(const Digest& d) = 0;
  virtual Status Remove(const Digest& d) = 0;
  // Calls fn for every blob object (name: the digest hex) until fn returns false.
  virtual Status ListBlobs(const std::function<bool(const StoredObject&)>& fn) = 0;

  // --- upload sessions ---
  // Makes the verified bytes of upload `uuid` the blob `d` (replacing a
  // damaged or leftover object of that digest). Afterwards the upload's own
  // object may be gone (a rename) or not (a copy): RemoveUpload cleans up.
  virtual Status Promote(std::string_view uuid, const Digest& d) = 0;
  // Undoes a Promote whose record could not be written, so the session
  // still holds its bytes and a retried commit finds them.
  virtual Status Unpromote(const Digest& d, std::string_view uuid) = 0;
  virtual Status RemoveUpload(std::string_view uuid) = 0;
  // The upload object's size and last write, nullopt when it has none yet.
  virtual Result<std::optional<StoredObject>> StatUpload(std::string_view uuid) = 0;
  // Calls fn for every upload object (name: the uuid, or another name a
  // crash left; the caller judges) until fn returns false.
  virtual Status ListUploads(const std::function<bool(const StoredObject&)>& fn) = 0;
  // How a remote storage takes upload bytes; null: sessions are local files
  // (layout.h) written by the store's file writer.
  virtual RemoteUploads* remote_uploads() { return nullptr; }
  // A URL a client may GET the blob from directly for `ttl_seconds`
  // (storage.s3.redirect); nullopt: serve the bytes through Pier.
  // Whether the storage answers now (readiness): one cheap request for a
  // remote store; local files are always there.
  virtual Status Ping() { return Status::OK(); }
  virtual std::optional<std::string> RedirectUrl(const Digest& d, int ttl_seconds) const {
    (void)d;
    (void)ttl_seconds;
    return std::nullopt;
  }
};

}  // namespace pier
