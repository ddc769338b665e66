#pragma once
// The on-disk layout of a Pier data folder. Every path the store touches
// comes from this class; nothing else builds paths.
//
//   <root>/meta/                           RocksDB (all metadata, see keys.h)
//   <root>/blobs/sha256/<hex[0:2]>/<hex>   blob bytes, immutable, named by digest;
//                                          one file per digest for the whole store
//   <root>/uploads/<uuid>                  bytes of an upload in progress
//   <root>/token/token.key, token.crt     the token realm's signing key (auth.token)
//   <root>/STORAGE                         where the blob bytes live: "filesystem" or
//                                          "s3 BUCKET/PREFIX" (storage_marker.h)
//   <root>/LOCK-pier                       (RocksDB's LOCK lives under meta/)
//
// Blob bytes are written to uploads/<uuid> while hashing, fsync'ed,
// verified against the digest, then renamed into blobs/. A file under blobs/
// therefore always holds exactly the bytes its name promises.
#include <filesystem>
#include <string>
#include <string_view>

#include "base/digest.h"

namespace pier {

class Layout {
 public:
  explicit Layout(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path MetaDir() const { return root_ / "meta"; }
  std::filesystem::path BlobsDir() const { return root_ / "blobs" / "sha256"; }
  std::filesystem::path UploadsDir() const { return root_ / "uploads"; }
  std::filesystem::path TokenDir() const { return root_ / "token"; }
  // Where the folder's blob bytes live (storage_marker.h).
  std::filesystem::path StorageMarker() const { return root_ / "STORAGE"; }
  // <root>/blobs/sha256/ab/abcdef...  (digest must be a parsed sha256 Digest)
  std::filesystem::path BlobPath(const Digest& d) const { return BlobsDir() / d.hex.substr(0, 2) / d.hex; }
  // <root>/uploads/<uuid>  (uuid must satisfy IsValidUploadId)
  std::filesystem::path UploadPath(std::string_view uuid) const { return UploadsDir() / std::string(uuid); }

 private:
  std::filesystem::path root_;
};

// Upload ids are random version-4 UUIDs in lower case (36 chars).
bool IsValidUploadId(std::string_view id);
std::string NewUploadId();

}  // namespace pier
