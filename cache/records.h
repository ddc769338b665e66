#pragma once
// Value encodings of the RocksDB records named in keys.h. Binary, versioned
// by a leading byte so a later layout can be told apart:
//
//   BlobRecord      0x01 | size u64le | created i64le | origin u8
//   UploadRecord    0x01 | offset u64le | started i64le | repo (rest)
//                   0x02 | offset u64le | started i64le | u32le len | repo | remote (rest)
//   ManifestRecord  0x01 | u32le len | media type | u32le len | subject | bytes (rest)
//                   0x02 | flags u8 | (then as 0x01)  flags bit 0: cached from
//                   a pull-through upstream (its blobs arrive on demand)
//                   0x03 | flags u8 | pushed i64le | (then as 0x01)
//   link time       "" (written before link times existed) | i64le unix seconds
//
// Manifests are written as version 3 (the push time is what the grace
// period, delete_untagged and retention read); 1 and 2 still decode, with a
// push time of 0 (long ago).
// (subject is "" when the manifest has none). Decode returns false on any
// value that is not exactly one of these.
#include <cstdint>
#include <string>
#include <string_view>

namespace pier::records {

// kDerived: made here from another blob (a zstd transcode of a gzip layer,
// cache/transcode): linked by no repository, counted in no quota, collected
// by GC like any unlinked blob once its grace period is over.
enum class Origin : uint8_t { kLocal = 0, kCached = 1, kDerived = 2 };

struct BlobRecord {
  uint64_t size = 0;
  int64_t created_unix = 0;
  Origin origin = Origin::kLocal;
};

struct UploadRecord {
  std::string repo;
  uint64_t offset = 0;  // committed (fsync'ed and acknowledged) bytes
  int64_t started_unix = 0;
  // A remote storage's state of the session (remote_upload_state.h); empty
  // for a local file.
  std::string remote = {};
};

struct ManifestRecord {
  std::string media_type;
  std::string subject;  // digest string, or empty
  std::string bytes;
  // Fetched from a pull-through upstream: the blobs and child manifests it
  // names are fetched when a client asks for them, so they may be absent.
  bool cached = false;
  int64_t pushed_unix = 0;  // when it was last put (0: before push times were kept)
};

std::string Encode(const BlobRecord& r);
std::string Encode(const UploadRecord& r);
std::string Encode(const ManifestRecord& r);
bool Decode(std::string_view in, BlobRecord* r);
bool Decode(std::string_view in, UploadRecord* r);
bool Decode(std::string_view in, ManifestRecord* r);

// The value of a links entry (keys.h): when the repository got the blob.
std::string EncodeLinkTime(int64_t unix_seconds);
// 0 for a link written before link times were kept; false when malformed.
bool DecodeLinkTime(std::string_view in, int64_t* unix_seconds);

int64_t NowUnix();

}  // namespace pier::records
